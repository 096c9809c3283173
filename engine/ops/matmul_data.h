// The prepared data of a matmul step (engine/ops/matmul.cc), shared with the step fusion
// (engine/ops/fusion.cc).
#pragma once

#include "kernels/matmul/matmul.h"

namespace dyad {

struct MatmulData {
  kernels::MatmulParams params;
};

}  // namespace dyad
