// The prepared data of a requantize step (engine/ops/requantize.cc), shared
// with the step fusion (engine/ops/fusion.cc).
#pragma once

#include <vector>

#include "kernels/requantize/requantize.h"

namespace dyad {

struct RequantizeData {
  kernels::RequantizeParams params;
  std::vector<kernels::Dyadic> requant;  // params.channels entries
  kernels::RequantizeAvx512PlanPtr avx512;  // set when the AVX-512 variant runs
  kernels::RequantizeAvx2PlanPtr avx2;    // set when the AVX2 variant runs
#if defined(__aarch64__)
  kernels::RequantizeNeonPlanPtr neon;    // set when the NEON variant runs
#endif
};

}  // namespace dyad
