// The prepared data of an int_layernorm step (engine/ops/int_layernorm.cc),
// shared with the step fusion (engine/ops/fusion.cc).
#pragma once

#include <cstdint>
#include <vector>

#include "kernels/int_layernorm/int_layernorm.h"

namespace dyad {

struct IntLayerNormData {
  kernels::IntLayerNormParams params;  // params.bias_int is set at run time
  std::vector<int64_t> bias_int;
};

}  // namespace dyad
