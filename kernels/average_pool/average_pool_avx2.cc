// AVX2 average pooling: window sums of 8 channels in int32 lanes, then the
// exact floor division of kernels/common/pool2d_avx2.h. Channels past the
// last multiple of 8 use the reference arithmetic. Same split over threads
// as the reference (one task per output row).
#include <algorithm>

#include "kernels/average_pool/average_pool.h"
#include "kernels/common/pool2d_avx2.h"
#include "kernels/common/thread_pool.h"

namespace dyad::kernels {

namespace {

template <typename T>
void average_pool_typed(const Pool2dParams& p, const T* x, T* y, ThreadPool* pool) {
  parallel_for(pool, static_cast<size_t>(p.batch * p.out_h), [&](size_t task) {
    const int64_t n = static_cast<int64_t>(task) / p.out_h;
    const int64_t oh = static_cast<int64_t>(task) % p.out_h;
    const PoolSpan rows = pool_span(oh, p.stride_h, p.pad_top, p.kernel_h, p.in_h);
    const int64_t h0 = rows.begin, h1 = rows.end;
    const int64_t row_stride = p.in_w * p.channels;
    int64_t last_count = 0;
    ExactDivisor div;
    for (int64_t ow = 0; ow < p.out_w; ++ow) {
      if (stop_requested(pool)) return;  // a cancelled run discards this step
      const PoolSpan cols = pool_span(ow, p.stride_w, p.pad_left, p.kernel_w, p.in_w);
      const int64_t w0 = cols.begin, w1 = cols.end;
      const int64_t count = (h1 - h0) * (w1 - w0);  // valid positions only
      if (count != last_count) {
        div = exact_divisor(static_cast<uint32_t>(count));
        last_count = count;
      }
      const T* first = x + ((n * p.in_h + h0) * p.in_w + w0) * p.channels;
      T* out = y + ((n * p.out_h + oh) * p.out_w + ow) * p.channels;
      int64_t c = 0;
      for (; c + 8 <= p.channels; c += 8) {
        __m256i sum = _mm256_setzero_si256();
        for (int64_t h = 0; h < h1 - h0; ++h)
          for (int64_t w = 0; w < w1 - w0; ++w)
            sum = _mm256_add_epi32(sum, load8_as_s32(first + h * row_stride + w * p.channels + c));
        store8_from_s32(floor_div8<T>(sum, count, div), out + c);
      }
      for (; c < p.channels; ++c) {
        int64_t sum = 0;
        for (int64_t h = 0; h < h1 - h0; ++h)
          for (int64_t w = 0; w < w1 - w0; ++w) sum += first[h * row_stride + w * p.channels + c];
        out[c] = static_cast<T>(floor_div(sum, count));
      }
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
