// The prepared data of a fully_connected step on the exact GEMM
// (engine/ops/fully_connected.cc), shared with the step fusion that runs it
// together with the int_gelu and requantize after it (engine/ops/fusion.cc).
#pragma once

#include <cstdint>

#include "engine/ops/gemm_select.h"

namespace dyad {

struct FullyConnectedGemmData {
  GemmKernel gemm;
  int64_t rows = 0, in_features = 0, out_features = 0;
};

}  // namespace dyad
