// im2col for NHWC conv2d with groups == 1: one row per output pixel, holding
// its KH x KW x C window in (kh, kw, c) order, the same order as OHWI weights,
// so the convolution becomes a GEMM against the weights viewed as [O, KH*KW*C].
// Positions in the padding get the source zero point, which contributes 0 to
// sum (x - z) * w exactly as in the reference kernel.
#pragma once

#include <cstdint>

#include "kernels/conv2d/conv2d.h"

namespace dyad::kernels {

class ThreadPool;

// dst: [batch * out_h * out_w, kernel_h * kernel_w * in_c] bytes (int8 or uint8
// containers; only the byte pattern matters, so one function serves both).
void im2col_x8(const Conv2dParams& p, const uint8_t* src, uint8_t zero_point_byte, uint8_t* dst,
               ThreadPool* pool);

// Rows [m0, m0 + rows) of that matrix (m = output pixel index over batch,
// out_h, out_w), row r at dst + r * dst_stride; serial. The GEMM's row source
// for implicit-GEMM convolution (engine/ops/conv2d.cc).
void im2col_rows_x8(const Conv2dParams& p, const uint8_t* src, uint8_t zero_point_byte, size_t m0,
                    size_t rows, uint8_t* dst, size_t dst_stride);

// The same rows for group `group` of a grouped conv: each window holds only
// the group's in_c / groups input channels (kh, kw, c order), the matrix a
// GEMM against that group's weights [out_c / groups, kernel_h * kernel_w *
// in_c / groups] multiplies.
void im2col_group_rows_x8(const Conv2dParams& p, const uint8_t* src, uint8_t zero_point_byte,
                          int64_t group, size_t m0, size_t rows, uint8_t* dst, size_t dst_stride);

}  // namespace dyad::kernels
