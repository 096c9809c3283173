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

#include <cstddef>
#include <cstdint>
#include <vector>

#include "kernels/int_gelu/int_gelu_vec.h"
#include "kernels/requantize/requantize_wide.h"

namespace dyad::kernels {

class ThreadPool;

// The floor path of the fused kernel (int_gelu_requantize_floor.cc has the
// exactness argument): the GELU factor negated,
//   f = -(erf_i + shift_int),  y' = x * f = -y   (one 32x32-bit product)
// and the requantize as a floor division of y' * |m| with half added,
//   q = floor((y' * |m| + 2^(e-1)) / 2^e)
//     = (hi32(y') * |m| + floor(lo32(y') * |m| / 2^32) + 2^(s-1)) >> s,  s = e - 32
// then dst_zp, clamp: 7 vector operations per 64-bit lane group where the
// 64-bit-lane requantize (requantize_wide_simd.h) takes 25. Taken when every
// channel's factor fits int32, every multiplier is negative (as I-BERT's GELU
// output scale makes it) with e in [33, 63] after normalizing, and no tie of
// the rounding can reach the clamp window.
struct IntGeluRequantizeFloorPlan {
  // gelu.channels + kIntGeluVecPad entries each; entry j is channel j % channels.
  std::vector<int64_t> neg_shift;  // -shift_int
  FloorConstants floor;            // from -m of the requantize pairs
};

// False (and *out untouched) when the floor path does not apply; *why then
// names the failed condition. `requant` has requant.channels pairs.
bool int_gelu_requantize_floor_plan(const IntGeluParams& gelu, const RequantizeParams& requant,
                                    const Dyadic* pairs, IntGeluRequantizeFloorPlan* out, const char** why);

// x [gelu.rows, gelu.channels] (gelu.x_type, at most 32 bits) -> y int8/uint8
// (requant.dst_type). requant.count is the element count, requant.channels
// its own channel count (1 or gelu.channels), requant.src_type int64 with zero
// point 0. `gelu_plan` from int_gelu_vec_plan, `requant_plan` from
// requantize_wide_plan.
void int_gelu_requantize__avx512(const IntGeluParams& gelu, const IntGeluVecPlan& gelu_plan,
                                 const RequantizeParams& requant, const RequantizeWidePlan& requant_plan,
                               const IntGeluRequantizeFloorPlan* floor_plan,
                                 const void* x, void* y, ThreadPool* pool);
void int_gelu_requantize__avx2(const IntGeluParams& gelu, const IntGeluVecPlan& gelu_plan,
                               const RequantizeParams& requant, const RequantizeWidePlan& requant_plan,
                               const IntGeluRequantizeFloorPlan* floor_plan,
                               const void* x, void* y, ThreadPool* pool);
// 64-bit ARM (int_gelu_requantize_neon.cc, built on aarch64 only).
void int_gelu_requantize__neon(const IntGeluParams& gelu, const IntGeluVecPlan& gelu_plan,
                               const RequantizeParams& requant, const RequantizeWidePlan& requant_plan,
                               const IntGeluRequantizeFloorPlan* floor_plan,
                               const void* x, void* y, ThreadPool* pool);

// The same per-element function on a block of a GEMM's int32 output (the
// fused epilogue of fully_connected + int_gelu + requantize, engine/ops/
// fusion.cc): rows x count values, row t at x + t * x_stride, of channels
// c0 .. c0 + count - 1 (gelu.x_type int32), written to y + t * y_stride.
struct IntGeluRequantizeRows {
  const IntGeluParams* gelu = nullptr;
  const IntGeluVecPlan* gelu_plan = nullptr;
  const RequantizeParams* requant = nullptr;
  const RequantizeWidePlan* requant_plan = nullptr;
  const IntGeluRequantizeFloorPlan* floor_plan = nullptr;  // null: the general path
};
void int_gelu_requantize_rows__avx512(const IntGeluRequantizeRows& args, const int32_t* x, size_t x_stride,
                                      size_t rows, size_t c0, size_t count, uint8_t* y, size_t y_stride);
void int_gelu_requantize_rows__avx2(const IntGeluRequantizeRows& args, const int32_t* x, size_t x_stride,
                                    size_t rows, size_t c0, size_t count, uint8_t* y, size_t y_stride);
void int_gelu_requantize_rows__neon(const IntGeluRequantizeRows& args, const int32_t* x, size_t x_stride,
                                    size_t rows, size_t c0, size_t count, uint8_t* y, size_t y_stride);

}  // namespace dyad::kernels
