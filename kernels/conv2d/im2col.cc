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

// Kernel rows a run-wise image row (below) keeps pointers for on the stack;
// taller kernels take window_row per pixel.
constexpr int64_t kMaxRunKernelRows = 16;

// Windows of `count` output pixels (n, oh, ow0 ..), all channels, dilation_w
// 1 (each kernel row's taps are one run of kernel_w * in_c bytes). The
// pixels whose taps all lie inside the image horizontally copy their runs
// from input rows found once per image row, so a stem conv (in_c = 3, runs
// of 9 or 21 bytes) no longer pays window_row's bounds arithmetic per run
// (it was 7 % of MobileNetV2's time, the stem's window 57 % of its step).
void image_row_windows(const Conv2dParams& p, const uint8_t* src, uint8_t zero_point_byte, int64_t n,
                       int64_t oh, int64_t ow0, int64_t count, uint8_t* dst, size_t dst_stride) {
  const int64_t end = ow0 + count;
  // Interior columns [lo, hi): ow * stride_w - pad_left in [0, in_w - kernel_w].
  int64_t lo = (p.pad_left + p.stride_w - 1) / p.stride_w;
  const int64_t last_start = p.in_w + p.pad_left - p.kernel_w;
  int64_t hi = last_start >= 0 ? last_start / p.stride_w + 1 : 0;
  lo = std::clamp(lo, ow0, end);
  hi = std::clamp(hi, lo, end);
  if (p.kernel_h > kMaxRunKernelRows) lo = hi = end;
  auto per_pixel = [&](int64_t from, int64_t to) {
    for (int64_t ow = from; ow < to; ++ow)
      window_row(p, src, zero_point_byte, n, oh, ow, 0, p.in_c, dst + static_cast<size_t>(ow - ow0) * dst_stride);
  };
  per_pixel(ow0, lo);
  if (lo < hi) {
    const size_t run = static_cast<size_t>(p.kernel_w * p.in_c);
    const uint8_t* in_rows[kMaxRunKernelRows];  // null: a row of padding
    for (int64_t kh = 0; kh < p.kernel_h; ++kh) {
      const int64_t ih = oh * p.stride_h - p.pad_top + kh * p.dilation_h;
      in_rows[kh] = ih < 0 || ih >= p.in_h ? nullptr : src + (n * p.in_h + ih) * p.in_w * p.in_c;
    }
    for (int64_t ow = lo; ow < hi; ++ow) {
      uint8_t* out = dst + static_cast<size_t>(ow - ow0) * dst_stride;
      const int64_t at = (ow * p.stride_w - p.pad_left) * p.in_c;
      for (int64_t kh = 0; kh < p.kernel_h; ++kh, out += run) {
        if (in_rows[kh] != nullptr)
          copy_run(out, in_rows[kh] + at, run);
        else
          std::memset(out, zero_point_byte, run);
      }
    }
  }
  per_pixel(hi, end);
}

// Rows [m0, m0 + rows) of windows over input channels [c0, c0 + cg), one
// output image row (or the part of one in range) at a time.
void window_rows(const Conv2dParams& p, const uint8_t* src, uint8_t zero_point_byte, int64_t c0, int64_t cg,
                 size_t m0, size_t rows, uint8_t* dst, size_t dst_stride) {
  const int64_t pixels = p.out_h * p.out_w;
  const bool runs = p.dilation_w == 1 && cg == p.in_c;
  int64_t m = static_cast<int64_t>(m0);
  int64_t n = m / pixels, oh = m % pixels / p.out_w, ow = m % p.out_w;
  for (size_t r = 0; r < rows;) {
    const int64_t count = std::min<int64_t>(static_cast<int64_t>(rows - r), p.out_w - ow);
    uint8_t* out = dst + r * dst_stride;
    if (runs) {
      image_row_windows(p, src, zero_point_byte, n, oh, ow, count, out, dst_stride);
    } else {
      for (int64_t i = 0; i < count; ++i)
        window_row(p, src, zero_point_byte, n, oh, ow + i, c0, cg, out + static_cast<size_t>(i) * dst_stride);
    }
    r += static_cast<size_t>(count);
    ow += count;
    if (ow == p.out_w) {
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
