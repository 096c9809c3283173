// Spatial helpers shared by conv2d and the 2-D pools: NHWC dims, and the
// stride / dilation / padding attributes with the output size they give.
#pragma once

#include <cstdint>

#include "engine/core/status.h"
#include "engine/ops/op.h"
#include "kernels/common/pool2d.h"

namespace dyad {

struct Nhwc {
  int64_t n = 0, h = 0, w = 0, c = 0;
};

// Input `index` has rank 4; returns its dims.
Status read_nhwc(const BuildContext& ctx, int index, Nhwc* out);

struct Window2d {
  int64_t kernel_h = 1, kernel_w = 1;
  int64_t stride_h = 1, stride_w = 1;
  int64_t dilation_h = 1, dilation_w = 1;
  int64_t pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0;
  int64_t out_h = 1, out_w = 1;
};

// Reads "stride" (int or [sh, sw], >= 1, default `default_stride`),
// "dilation" (only when `with_dilation`; default 1) and "padding" (int or
// [top, left, bottom, right], >= 0, default 0) for a kernel already in `win`,
// checks that the padded input holds the dilated kernel, and sets out_h/out_w:
//   out = (in + pad_before + pad_after - ((k - 1) * dilation + 1)) / stride + 1.
// An output [n, out_h, out_w, out_channels] beyond the tensor limits is an
// error naming the padding.
Status read_window2d(BuildContext& ctx, const Nhwc& in, int64_t default_stride_h,
                     int64_t default_stride_w, bool with_dilation, int64_t out_channels,
                     Window2d* win);

// Everything max_pool and average_pool share: input 0 is an NHWC activation
// of a dtype in `allowed`; attrs "kernel" (required), "stride" (default =
// kernel), "padding" (each side below the kernel, so every window holds a
// real position); output 0 has the input's dtype and quantization. Sets the
// output shape and fills `p`.
Status prepare_pool2d(BuildContext& ctx, std::initializer_list<DType> allowed,
                      kernels::Pool2dParams* p);

}  // namespace dyad
