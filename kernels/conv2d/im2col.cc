#include "kernels/conv2d/im2col.h"

#include <cstring>

#include "kernels/common/thread_pool.h"

namespace dyad::kernels {

void im2col_x8(const Conv2dParams& p, const uint8_t* src, uint8_t zero_point_byte, uint8_t* dst,
               ThreadPool* pool) {
  const int64_t row_bytes = p.kernel_h * p.kernel_w * p.in_c;
  // One task per output image row: independent destination rows.
  parallel_for(pool, static_cast<size_t>(p.batch * p.out_h), [&](size_t task) {
    const int64_t n = static_cast<int64_t>(task) / p.out_h;
    const int64_t oh = static_cast<int64_t>(task) % p.out_h;
    for (int64_t ow = 0; ow < p.out_w; ++ow) {
      uint8_t* row = dst + ((n * p.out_h + oh) * p.out_w + ow) * row_bytes;
      for (int64_t kh = 0; kh < p.kernel_h; ++kh) {
        const int64_t ih = oh * p.stride_h - p.pad_top + kh * p.dilation_h;
        for (int64_t kw = 0; kw < p.kernel_w; ++kw) {
          const int64_t iw = ow * p.stride_w - p.pad_left + kw * p.dilation_w;
          uint8_t* out = row + (kh * p.kernel_w + kw) * p.in_c;
          if (ih < 0 || ih >= p.in_h || iw < 0 || iw >= p.in_w)
            std::memset(out, zero_point_byte, static_cast<size_t>(p.in_c));
          else
            std::memcpy(out, src + ((n * p.in_h + ih) * p.in_w + iw) * p.in_c,
                        static_cast<size_t>(p.in_c));
        }
      }
    }
  });
}

}  // namespace dyad::kernels
