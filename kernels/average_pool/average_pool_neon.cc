// NEON average pooling (64-bit ARM baseline): window sums of 8 channels in
// int32 lanes (kernels/common/simd_neon.h, a pair of 128-bit registers),
// then the exact floor division of kernels/common/pool2d_simd.h. Channels
// past the last multiple of 8 use the reference arithmetic. The output sweep
// is the x86 kernels' (kernels/common/pool2d_sweep.h: one task per output row).
#include "kernels/common/simd_neon.h"
#include "kernels/average_pool/average_pool.h"
#include "kernels/common/pool2d_simd.h"
#include "kernels/common/pool2d_sweep.h"

namespace dyad::kernels {

namespace {

template <typename T>
void average_pool_typed(const Pool2dParams& p, const T* x, T* y, ThreadPool* pool) {
  using S = Simd;
  constexpr int64_t kLanes = S::kLanes32;
  pool2d_sweep<PoolDivisorCache>(p, pool, [&](const PoolWindow& win, PoolDivisorCache& cache) {
    const int64_t count = win.rows * win.cols;  // valid positions only
    const ExactDivisor div = cache.of(count);
    const T* first = x + win.in;
    T* out = y + win.out;
    int64_t c = 0;
    for (; c + kLanes <= p.channels; c += kLanes) {
      S::V sum = S::zero();
      for (int64_t h = 0; h < win.rows; ++h)
        for (int64_t w = 0; w < win.cols; ++w)
          sum = S::add32(sum, S::load_s32(first + h * win.row_stride + w * p.channels + c));
      pool_store<S>(out + c, pool_floor_div<S, T>(sum, count, div));
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

void average_pool__neon(const Pool2dParams& p, const void* src, void* dst, ThreadPool* pool) {
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
