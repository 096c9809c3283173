#include "engine/ops/gemm_select.h"

#include <string>

#include "kernels/common/cpu.h"

namespace dyad {

Status plan_fast_gemm(const BuildContext& ctx, const GemmOperands& ops,
                      kernels::GemmPlanPtr* plan) {
  plan->reset();
  if (kernels::force_reference_kernels()) return Status::ok();
  if (ops.N > INT32_MAX || ops.K > INT32_MAX) return Status::ok();
  kernels::GemmDesc desc;
  desc.N = static_cast<int32_t>(ops.N);
  desc.K = static_cast<int32_t>(ops.K);
  desc.M_hint = static_cast<int32_t>(ops.M < INT32_MAX ? ops.M : INT32_MAX);
  desc.src_signed = !dtype_is_unsigned(ops.src_dtype);
  desc.src_zp = ops.src_zero_point;
  desc.src_min = static_cast<int32_t>(dtype_min(ops.src_dtype));
  desc.src_max = static_cast<int32_t>(dtype_max(ops.src_dtype));
  desc.weight_bits = ops.weight_dtype == DType::kInt4 ? 4 : 8;
  switch (ops.out.type) {
    case kernels::IntType::kS8: desc.dst_type = kernels::GemmDstType::kInt8; break;
    case kernels::IntType::kU8: desc.dst_type = kernels::GemmDstType::kUint8; break;
    case kernels::IntType::kS32: desc.dst_type = kernels::GemmDstType::kInt32; break;
    default: return Status::ok();  // other containers: the reference kernel handles them
  }
  desc.dst_zp = ops.out.zero_point;
  desc.qmin = static_cast<int32_t>(ops.out.min);
  desc.qmax = static_cast<int32_t>(ops.out.max);
  kernels::GemmWeights w;
  w.wei = ops.weights->data();
  w.bias = ops.bias->empty() ? nullptr : ops.bias->data();
  w.requant = ops.requant->empty() ? nullptr : ops.requant->data();
  std::string error;
  kernels::GemmPlanPtr candidate = kernels::gemm_plan(desc, w, &error);
  if (candidate == nullptr)
    return Status(StatusCode::kInternal, ctx.graph().source + ": node '" + ctx.node().name +
                                             "': GEMM planning failed: " + error);
  for (const kernels::GemmVariantInfo& v : kernels::gemm_variants())
    if (v.is_reference && std::string(v.name) == kernels::gemm_plan_variant_name(*candidate))
      return Status::ok();  // the op's own reference kernel is the oracle; use it
  *plan = std::move(candidate);
  return Status::ok();
}

}  // namespace dyad
