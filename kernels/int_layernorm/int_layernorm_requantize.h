// int_layernorm followed by a requantize of its int64 output to int8/uint8,
// row by row: each LayerNorm row goes into a per-task int64 row buffer (in L1)
// and is requantized from there, so the int64 tensor between the two ops is
// never stored. The engine fuses the two steps when the LayerNorm output has
// no other reader (engine/ops/fusion.cc). Bit for bit int_layernorm__ref then
// requantize__ref: the row is computed by the vector LayerNorm row code
// (int_layernorm_simd.h) or the reference row, and requantized by the
// 64-bit-lane requantize, each exact on its own (int_layernorm_requantize_simd.h).
#pragma once

#include "kernels/int_layernorm/int_layernorm.h"
#include "kernels/requantize/requantize_wide.h"

namespace dyad::kernels {

class ThreadPool;

// x [ln.rows, ln.channels] -> y (requant.dst_type); requant.count is the
// element count, requant.channels 1 or ln.channels, requant.src_type int64.
void int_layernorm_requantize__avx512(const IntLayerNormParams& ln, const RequantizeParams& requant,
                                      const RequantizeWidePlan& requant_plan, const void* x, void* y,
                                      ThreadPool* pool);
// 64-bit ARM (int_layernorm_requantize_neon.cc, built on aarch64 only).
void int_layernorm_requantize__neon(const IntLayerNormParams& ln, const RequantizeParams& requant,
                                    const RequantizeWidePlan& requant_plan, const void* x, void* y,
                                    ThreadPool* pool);

}  // namespace dyad::kernels
