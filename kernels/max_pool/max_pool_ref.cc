#include "kernels/max_pool/max_pool.h"

#include <algorithm>

#include "kernels/common/thread_pool.h"

namespace dyad::kernels {

void max_pool__ref(const Pool2dParams& p, const void* src, void* dst, ThreadPool* pool) {
  with_int_type(p.type, [&](auto zero) {
    using T = decltype(zero);
    const T* x = static_cast<const T*>(src);
    T* y = static_cast<T*>(dst);
    parallel_for(pool, static_cast<size_t>(p.batch * p.out_h), [&](size_t task) {
      const int64_t n = static_cast<int64_t>(task) / p.out_h;
      const int64_t oh = static_cast<int64_t>(task) % p.out_h;
      const PoolSpan rows = pool_span(oh, p.stride_h, p.pad_top, p.kernel_h, p.in_h);
      const int64_t h0 = rows.begin, h1 = rows.end;
      for (int64_t ow = 0; ow < p.out_w; ++ow) {
        if (stop_requested(pool)) return;  // a cancelled run discards this step
        const PoolSpan cols = pool_span(ow, p.stride_w, p.pad_left, p.kernel_w, p.in_w);
        const int64_t w0 = cols.begin, w1 = cols.end;
        for (int64_t c = 0; c < p.channels; ++c) {
          T best = x[((n * p.in_h + h0) * p.in_w + w0) * p.channels + c];
          for (int64_t h = h0; h < h1; ++h)
            for (int64_t w = w0; w < w1; ++w)
              best = std::max(best, x[((n * p.in_h + h) * p.in_w + w) * p.channels + c]);
          y[((n * p.out_h + oh) * p.out_w + ow) * p.channels + c] = best;
        }
      }
    });
  });
}

}  // namespace dyad::kernels
