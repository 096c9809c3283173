#include "kernels/conv2d/im2col.h"

#include <algorithm>
#include <cstring>

#include "kernels/common/thread_pool.h"

namespace dyad::kernels {

void im2col_x8(const Conv2dParams& p, const uint8_t* src, uint8_t zero_point_byte, uint8_t* dst,
               ThreadPool* pool) {
  const int64_t row_bytes = p.kernel_h * p.kernel_w * p.in_c;
  const size_t c_bytes = static_cast<size_t>(p.in_c);
  // With dilation_w == 1 the in-bounds taps of one kernel row are adjacent
  // pixels, so they are one copy of (taps * in_c) bytes. For the stem convs
  // (in_c = 3) that is one memcpy of 21 bytes instead of seven of 3.
  const bool runs = p.dilation_w == 1;
  // One task per output image row: independent destination rows.
  parallel_for(pool, static_cast<size_t>(p.batch * p.out_h), [&](size_t task) {
    const int64_t n = static_cast<int64_t>(task) / p.out_h;
    const int64_t oh = static_cast<int64_t>(task) % p.out_h;
    for (int64_t ow = 0; ow < p.out_w; ++ow) {
      uint8_t* row = dst + ((n * p.out_h + oh) * p.out_w + ow) * row_bytes;
      const int64_t iw0 = ow * p.stride_w - p.pad_left;
      for (int64_t kh = 0; kh < p.kernel_h; ++kh) {
        const int64_t ih = oh * p.stride_h - p.pad_top + kh * p.dilation_h;
        uint8_t* out = row + kh * p.kernel_w * p.in_c;
        if (ih < 0 || ih >= p.in_h) {
          std::memset(out, zero_point_byte, c_bytes * static_cast<size_t>(p.kernel_w));
          continue;
        }
        const uint8_t* in_row = src + (n * p.in_h + ih) * p.in_w * p.in_c;
        if (runs) {
          // Taps [lo, hi) are inside the image; the rest is padding.
          const int64_t lo = std::clamp<int64_t>(-iw0, 0, p.kernel_w);
          const int64_t hi = std::clamp<int64_t>(p.in_w - iw0, lo, p.kernel_w);
          // Interior pixels have no padding: skip the empty memsets (calls
          // that were 6 % of ResNet-18's time).
          if (lo > 0) std::memset(out, zero_point_byte, c_bytes * static_cast<size_t>(lo));
          if (hi > lo)
            std::memcpy(out + lo * p.in_c, in_row + (iw0 + lo) * p.in_c, c_bytes * static_cast<size_t>(hi - lo));
          if (hi < p.kernel_w)
            std::memset(out + hi * p.in_c, zero_point_byte, c_bytes * static_cast<size_t>(p.kernel_w - hi));
        } else {
          for (int64_t kw = 0; kw < p.kernel_w; ++kw) {
            const int64_t iw = iw0 + kw * p.dilation_w;
            if (iw < 0 || iw >= p.in_w)
              std::memset(out + kw * p.in_c, zero_point_byte, c_bytes);
            else
              std::memcpy(out + kw * p.in_c, in_row + iw * p.in_c, c_bytes);
          }
        }
      }
    }
  });
}

}  // namespace dyad::kernels
