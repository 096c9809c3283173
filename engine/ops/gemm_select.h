// Chooses the exact GEMM (kernels/gemm) for conv2d and fully_connected when it
// offers a faster variant than the op's own reference kernel.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/ops/op.h"
#include "kernels/common/output_stage.h"
#include "kernels/gemm/gemm.h"

namespace dyad {

struct GemmOperands {
  DType src_dtype = DType::kInt8;
  int32_t src_zero_point = 0;
  DType weight_dtype = DType::kInt8;  // int8 or int4 (the constant's dtype)
  int64_t M = 1, N = 1, K = 1;
  const std::vector<int8_t>* weights = nullptr;  // [N, K] unpacked
  const std::vector<int32_t>* bias = nullptr;    // empty: none
  const std::vector<kernels::Dyadic>* requant = nullptr;  // empty: raw int32 output
  kernels::OutputStage out;
};

// Returns a plan when a non-reference GEMM variant supports the operands, null
// when the op should use its own reference kernel (DYAD_KERNELS=ref, no AVX2,
// or no variant applies). Errors only for invalid operands.
Status plan_fast_gemm(const BuildContext& ctx, const GemmOperands& ops,
                      kernels::GemmPlanPtr* plan);

}  // namespace dyad
