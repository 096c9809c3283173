#include "engine/ops/depthwise_select.h"

#include <memory>
#include <string>

#include "engine/ops/kernel_select.h"
#include "kernels/conv2d/depthwise.h"

namespace dyad {

namespace {
void run(const void* op_data, const StepIO& io) {
  kernels::depthwise_conv2d__avx2(*static_cast<const kernels::DepthwiseAvx2Plan*>(op_data),
                                  io.inputs[0], io.outputs[0], io.pool, io.scratch);
}
}  // namespace

Status select_depthwise(BuildContext& ctx, bool unsigned_input, const kernels::Conv2dParams& p,
                        const std::vector<int8_t>& weights, const std::vector<int32_t>& bias,
                        const std::vector<kernels::Dyadic>& requant, bool* chosen) {
  *chosen = false;
  if (!avx2_kernels_allowed()) return Status::ok();
  auto plan = std::make_shared<kernels::DepthwiseAvx2Plan>();
  std::string why;
  if (!kernels::depthwise_avx2_plan(p, !unsigned_input, weights.data(),
                                    bias.empty() ? nullptr : bias.data(),
                                    requant.empty() ? nullptr : requant.data(), plan.get(), &why)) {
    log_reference_reason(ctx, why);
    return Status::ok();
  }
  DYAD_RETURN_IF_ERROR(ctx.set_scratch_bytes_per_thread("inputs[0]", plan->scratch_bytes_per_thread));
  ctx.set_op_data_bytes(owned_bytes(plan->weights, plan->bias, plan->requant));
  ctx.set_kernel("depthwise_conv2d_3x3__avx2", run, std::move(plan));
  *chosen = true;
  return Status::ok();
}

}  // namespace dyad
