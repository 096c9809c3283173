// The prepared data of an int_softmax step (engine/ops/int_softmax.cc),
// shared with the step fusion (engine/ops/fusion.cc).
#pragma once

#include "kernels/int_softmax/int_softmax.h"
#include "kernels/int_softmax/int_softmax_vec.h"

namespace dyad {

struct IntSoftmaxData {
  kernels::IntSoftmaxParams params;  // params.mask.data is set at run time
  bool has_mask = false;
  kernels::IntSoftmaxVecPlan vec;    // for the vector variants
};

}  // namespace dyad
