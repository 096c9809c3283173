// AVX2 average pooling: window sums of 8 channels in int32 lanes, then the
// exact floor division of kernels/common/pool2d_avx2.h. Channels past the
// last multiple of 8 use the reference arithmetic. Same split over threads
// as the reference (one task per output row).
#include "kernels/average_pool/average_pool.h"
#include "kernels/common/pool2d_avx2.h"
#include "kernels/common/pool2d_sweep.h"

namespace dyad::kernels {

namespace {

template <typename T>
void average_pool_typed(const Pool2dParams& p, const T* x, T* y, ThreadPool* pool) {
  pool2d_sweep<PoolDivisorCache>(p, pool, [&](const PoolWindow& win, PoolDivisorCache& cache) {
    const int64_t count = win.rows * win.cols;  // valid positions only
    const ExactDivisor div = cache.of(count);
    const T* first = x + win.in;
    T* out = y + win.out;
    int64_t c = 0;
    for (; c + 8 <= p.channels; c += 8) {
      __m256i sum = _mm256_setzero_si256();
      for (int64_t h = 0; h < win.rows; ++h)
        for (int64_t w = 0; w < win.cols; ++w)
          sum = _mm256_add_epi32(sum, load8_as_s32(first + h * win.row_stride + w * p.channels + c));
      store8_from_s32(floor_div8<T>(sum, count, div), out + c);
    }
    for (; c < p.channels; ++c) {
      int64_t sum = 0;
      for (int64_t h = 0; h < win.rows; ++h)
        for (int64_t w = 0; w < win.cols; ++w) sum += first[h * win.row_stride + w * p.channels + c];
      out[c] = static_cast<T>(floor_div(sum, count));
    }
  });
}

}  // namespace

void average_pool__avx2(const Pool2dParams& p, const void* src, void* dst, ThreadPool* pool) {
  switch (p.type) {
    case IntType::kS8:
      return average_pool_typed(p, static_cast<const int8_t*>(src), static_cast<int8_t*>(dst), pool);
    case IntType::kU8:
      return average_pool_typed(p, static_cast<const uint8_t*>(src), static_cast<uint8_t*>(dst), pool);
    case IntType::kS16:
      return average_pool_typed(p, static_cast<const int16_t*>(src), static_cast<int16_t*>(dst), pool);
    default:
      return average_pool__ref(p, src, dst, pool);  // not selected for these (average_avx2_fits)
  }
}

}  // namespace dyad::kernels
