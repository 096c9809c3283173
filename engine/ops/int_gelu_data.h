// The prepared data of an int_gelu step (engine/ops/int_gelu.cc), shared
// with the step fusion that runs it together with its requantize
// (engine/ops/fusion.cc).
#pragma once

#include <cstdint>
#include <vector>

#include "kernels/int_gelu/int_gelu.h"
#include "kernels/int_gelu/int_gelu_vec.h"

namespace dyad {

struct IntGeluData {
  kernels::IntGeluParams params;  // pointers set at run time
  std::vector<int64_t> b_int, c_int, shift_int;
  kernels::IntGeluVecPlan vec;  // for the vector variants

  kernels::IntGeluParams with_constants() const {
    kernels::IntGeluParams p = params;
    p.b_int = b_int.data();
    p.c_int = c_int.data();
    p.shift_int = shift_int.data();
    return p;
  }
};

}  // namespace dyad
