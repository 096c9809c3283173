// 2-D convolution, NHWC input, OHWI int8 weights, per-channel dyadic requant
// (docs/format.md "conv2d"):
//   acc[n,oh,ow,o] = bias[o] + sum (x - z_x) * w[o,kh,kw,ci]   (padding adds 0)
//   y = clamp(z_y + rne(acc * m[o] / 2^e[o]), min, max)
// or y = acc as int32 when out.requant is null (the raw accumulator).
//
// The builder proves |acc| < 2^31 for every input (engine/ops/conv2d.cc), so a
// variant may accumulate in int32; the reference uses int64.
#pragma once

#include <cstdint>

#include "kernels/common/output_stage.h"

namespace dyad::kernels {

class ThreadPool;

struct Conv2dParams {
  int64_t batch = 1, in_h = 1, in_w = 1, in_c = 1;
  int64_t out_h = 1, out_w = 1, out_c = 1;
  int64_t kernel_h = 1, kernel_w = 1;
  int64_t stride_h = 1, stride_w = 1;
  int64_t dilation_h = 1, dilation_w = 1;
  int64_t pad_top = 0, pad_left = 0;  // bottom/right padding only shape out_h/out_w
  int64_t groups = 1;                 // in_c and out_c are multiples of it
  int32_t src_zero_point = 0;
  OutputStage out;                    // out.type: kS8, kU8, or kS32 (raw)
};

// src: [batch, in_h, in_w, in_c]; wei: [out_c, kernel_h, kernel_w, in_c / groups];
// bias: [out_c] or null; dst: [batch, out_h, out_w, out_c].
// Output rows (n, oh) are split over `pool` (may be null).
void conv2d_s8_qc8w__ref(const Conv2dParams& p, const int8_t* src, const int8_t* wei,
                         const int32_t* bias, void* dst, ThreadPool* pool);
void conv2d_u8_qc8w__ref(const Conv2dParams& p, const uint8_t* src, const int8_t* wei,
                         const int32_t* bias, void* dst, ThreadPool* pool);

}  // namespace dyad::kernels
