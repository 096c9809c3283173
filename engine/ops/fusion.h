// Step fusion: runs of planned steps that one kernel runs together, so the
// tensors between them are never written to memory. The planner
// (engine/plan/planner.cc, fuse_steps) offers each run of adjacent steps
// where every step after the first alone reads its predecessor's output; a
// rule either returns the fused step or declines (false), and the steps then
// run as planned.
#pragma once

#include "engine/plan/plan.h"

namespace dyad {

// Tries every rule on `first` then `second`:
//  - int_gelu (vector variant) + requantize of its int64 output to int8/uint8
//    (kernels/int_gelu/int_gelu_requantize.h);
//  - int_layernorm (AVX-512 variant) + requantize of its int64 output to
//    int8/uint8 (kernels/int_layernorm/int_layernorm_requantize.h).
bool fuse_steps_pair(const Step& first, const Step& second, Step* fused);

// Tries every rule on three steps, each reading the one before as its first
// input:
//  - matmul (Q·Kᵀ, int32) + int_softmax (+ optional mask) + matmul (·V),
//    vector variants, one head at a time (kernels/attention/attention_fused.h).
//  - fully_connected (int32 out, on the zmm VNNI GEMM or the V:N:M GEMM's
//    AVX-512 VNNI panel path) + int_gelu (AVX-512) + requantize to
//    int8/uint8: the GEMM's epilogue runs the fused GELU on each int32 block
//    (kernels/common/rows_epilogue.h, kernels/int_gelu/int_gelu_requantize.h).
bool fuse_steps_triple(const Step& first, const Step& second, const Step& third, Step* fused);

}  // namespace dyad
