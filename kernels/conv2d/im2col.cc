#include "kernels/conv2d/im2col.h"

#include <algorithm>
#include <cstring>

#include "kernels/common/thread_pool.h"

namespace dyad::kernels {

namespace {

// memcpy for the short runs of a stem conv's window rows (7 taps x 3
// channels = 21 bytes): two overlapping fixed-size copies, which the compiler
// inlines as two unaligned loads and stores, instead of a library call per
// kernel row (7 per output pixel, 88 K per ResNet-18 image). Longer runs
// (every other conv: 3 x C >= 192 bytes) still go to memcpy.
inline void copy_run(uint8_t* dst, const uint8_t* src, size_t n) {
  if (n >= 16 && n <= 32) {
    std::memcpy(dst, src, 16);
    std::memcpy(dst + n - 16, src + n - 16, 16);
  } else if (n >= 8 && n < 16) {
    std::memcpy(dst, src, 8);
    std::memcpy(dst + n - 8, src + n - 8, 8);
  } else {
    std::memcpy(dst, src, n);
  }
}

// The window of output pixel (n, oh, ow) over input channels [c0, c0 + cg)
// into `row` (kernel_h * kernel_w * cg bytes).
void window_row(const Conv2dParams& p, const uint8_t* src, uint8_t zero_point_byte, int64_t n,
                int64_t oh, int64_t ow, int64_t c0, int64_t cg, uint8_t* row) {
  const size_t c_bytes = static_cast<size_t>(cg);
  const int64_t iw0 = ow * p.stride_w - p.pad_left;
  for (int64_t kh = 0; kh < p.kernel_h; ++kh) {
    const int64_t ih = oh * p.stride_h - p.pad_top + kh * p.dilation_h;
    uint8_t* out = row + kh * p.kernel_w * cg;
    if (ih < 0 || ih >= p.in_h) {
      std::memset(out, zero_point_byte, c_bytes * static_cast<size_t>(p.kernel_w));
      continue;
    }
    const uint8_t* in_row = src + (n * p.in_h + ih) * p.in_w * p.in_c + c0;
    if (p.dilation_w == 1 && cg == p.in_c) {
      // The in-bounds taps of one kernel row are adjacent pixels: one copy
      // of (taps * in_c) bytes (for the stem convs, in_c = 3, one memcpy of
      // 21 bytes instead of seven of 3). Taps [lo, hi) are inside the image.
      const int64_t lo = std::clamp<int64_t>(-iw0, 0, p.kernel_w);
      const int64_t hi = std::clamp<int64_t>(p.in_w - iw0, lo, p.kernel_w);
      // Interior pixels have no padding: skip the empty memsets (calls that
      // were 6 % of ResNet-18's time).
      if (lo > 0) std::memset(out, zero_point_byte, c_bytes * static_cast<size_t>(lo));
      if (hi > lo)
        copy_run(out + lo * p.in_c, in_row + (iw0 + lo) * p.in_c, c_bytes * static_cast<size_t>(hi - lo));
      if (hi < p.kernel_w)
        std::memset(out + hi * p.in_c, zero_point_byte, c_bytes * static_cast<size_t>(p.kernel_w - hi));
    } else {
      for (int64_t kw = 0; kw < p.kernel_w; ++kw) {
        const int64_t iw = iw0 + kw * p.dilation_w;
        if (iw < 0 || iw >= p.in_w)
          std::memset(out + kw * cg, zero_point_byte, c_bytes);
        else
          std::memcpy(out + kw * cg, in_row + iw * p.in_c, c_bytes);
      }
    }
  }
}

// Rows [m0, m0 + rows) of windows over input channels [c0, c0 + cg).
void window_rows(const Conv2dParams& p, const uint8_t* src, uint8_t zero_point_byte, int64_t c0, int64_t cg,
                 size_t m0, size_t rows, uint8_t* dst, size_t dst_stride) {
  const int64_t pixels = p.out_h * p.out_w;
  int64_t m = static_cast<int64_t>(m0);
  int64_t n = m / pixels, oh = m % pixels / p.out_w, ow = m % p.out_w;
  for (size_t r = 0; r < rows; ++r) {
    window_row(p, src, zero_point_byte, n, oh, ow, c0, cg, dst + r * dst_stride);
    if (++ow == p.out_w) {
      ow = 0;
      if (++oh == p.out_h) {
        oh = 0;
        ++n;
      }
    }
  }
}

}  // namespace

void im2col_rows_x8(const Conv2dParams& p, const uint8_t* src, uint8_t zero_point_byte, size_t m0,
                    size_t rows, uint8_t* dst, size_t dst_stride) {
  window_rows(p, src, zero_point_byte, 0, p.in_c, m0, rows, dst, dst_stride);
}

void im2col_group_rows_x8(const Conv2dParams& p, const uint8_t* src, uint8_t zero_point_byte,
                          int64_t group, size_t m0, size_t rows, uint8_t* dst, size_t dst_stride) {
  const int64_t cg = p.in_c / p.groups;
  window_rows(p, src, zero_point_byte, group * cg, cg, m0, rows, dst, dst_stride);
}

void im2col_x8(const Conv2dParams& p, const uint8_t* src, uint8_t zero_point_byte, uint8_t* dst,
               ThreadPool* pool) {
  const size_t row_bytes = static_cast<size_t>(p.kernel_h * p.kernel_w * p.in_c);
  const size_t out_w = static_cast<size_t>(p.out_w);
  // One task per output image row: independent destination rows.
  parallel_for(pool, static_cast<size_t>(p.batch * p.out_h), [&](size_t task) {
    im2col_rows_x8(p, src, zero_point_byte, task * out_w, out_w, dst + task * out_w * row_bytes,
                   row_bytes);
  });
}

}  // namespace dyad::kernels
