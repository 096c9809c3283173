// int_gelu followed by a requantize of its int64 result, in one pass: each
// vector of GELU values goes straight into the 64-bit-lane requantize, so the
// int64 tensor between them (8 bytes per element, written and read back) is
// never stored. The engine fuses the two steps when the GELU output has no
// other reader (engine/plan/fuse.cc).
//
// Bit for bit int_gelu__ref then requantize__ref: the vector GELU steps are
// those of int_gelu_simd.h and the requantize steps those of
// requantize_wide_simd.h, applied to the same values; each is exact on its own
// (int_gelu_vec.cc, requantize_wide.cc), and the composition adds no rounding.
#pragma once

#include <cstdint>

#include "kernels/int_gelu/int_gelu_vec.h"
#include "kernels/requantize/requantize_wide.h"

namespace dyad::kernels {

class ThreadPool;

// x [gelu.rows, gelu.channels] (gelu.x_type, at most 32 bits) -> y int8/uint8
// (requant.dst_type). requant.count is the element count, requant.channels
// its own channel count (1 or gelu.channels), requant.src_type int64 with zero
// point 0. `gelu_plan` from int_gelu_vec_plan, `requant_plan` from
// requantize_wide_plan.
void int_gelu_requantize__avx512(const IntGeluParams& gelu, const IntGeluVecPlan& gelu_plan,
                                 const RequantizeParams& requant, const RequantizeWidePlan& requant_plan,
                                 const void* x, void* y, ThreadPool* pool);
void int_gelu_requantize__avx2(const IntGeluParams& gelu, const IntGeluVecPlan& gelu_plan,
                               const RequantizeParams& requant, const RequantizeWidePlan& requant_plan,
                               const void* x, void* y, ThreadPool* pool);
// 64-bit ARM (int_gelu_requantize_neon.cc, built on aarch64 only).
void int_gelu_requantize__neon(const IntGeluParams& gelu, const IntGeluVecPlan& gelu_plan,
                               const RequantizeParams& requant, const RequantizeWidePlan& requant_plan,
                               const void* x, void* y, ThreadPool* pool);

}  // namespace dyad::kernels
