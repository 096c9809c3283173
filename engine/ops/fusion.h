// Step fusion: pairs of planned steps that one kernel runs together, so the
// tensor between them is never written to memory. The planner
// (engine/plan/planner.cc, fuse_steps) offers each pair of adjacent steps
// where the second alone reads the first's output; a rule either returns the
// fused step or declines (false), and the two steps then run as planned.
#pragma once

#include "engine/plan/plan.h"

namespace dyad {

// Tries every rule on `first` then `second`:
//  - int_gelu (vector variant) + requantize of its int64 output to int8/uint8
//    (kernels/int_gelu/int_gelu_requantize.h);
//  - int_layernorm (AVX-512 variant) + requantize of its int64 output to
//    int8/uint8 (kernels/int_layernorm/int_layernorm_requantize.h).
bool fuse_steps_pair(const Step& first, const Step& second, Step* fused);

}  // namespace dyad
