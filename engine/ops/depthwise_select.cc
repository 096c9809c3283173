#include "engine/ops/depthwise_select.h"

#include <memory>
#include <string>

#include "engine/ops/kernel_select.h"
#include "kernels/common/cpu.h"
#include "kernels/conv2d/depthwise.h"

namespace dyad {

namespace {

using DwPlan = kernels::DepthwisePlan;

template <void (*kKernel)(const DwPlan&, const void*, void*, kernels::ThreadPool*, uint8_t*)>
void run(const void* op_data, const StepIO& io) {
  kKernel(*static_cast<const DwPlan*>(op_data), io.inputs[0], io.outputs[0], io.pool, io.scratch);
}

bool avx512vnni_allowed() { return kernels::kernel_isa_usable(kernels::KernelIsa::kAvx512Vnni); }
#if defined(__aarch64__)
bool neon_allowed() { return kernels::kernel_isa_usable(kernels::KernelIsa::kNeon); }
#endif

// The vector variants, best first (the reference follows when none applies).
// The step's kernel is named depthwise_conv2d_KxK__<isa>.
struct DepthwiseVariant {
  const char* isa;
  bool (*allowed)();
  int width;  // channels per block of its plan
  void (*run)(const void*, const StepIO&);
};
constexpr DepthwiseVariant kVariants[] = {
    {"avx512vnni", avx512vnni_allowed, 32, run<kernels::depthwise_conv2d__avx512vnni>},
    {"avx2", avx2_kernels_allowed, 16, run<kernels::depthwise_conv2d__avx2>},
#if defined(__aarch64__)
    {"neon", neon_allowed, 16, run<kernels::depthwise_conv2d__neon>},
#endif
};

}  // namespace

Status select_depthwise(BuildContext& ctx, bool unsigned_input, const kernels::Conv2dParams& p,
                        const std::vector<int8_t>& weights, const std::vector<int32_t>& bias,
                        const std::vector<kernels::Dyadic>& requant, bool* chosen) {
  *chosen = false;
  for (const DepthwiseVariant& v : kVariants) {
    if (!v.allowed()) continue;
    auto plan = std::make_shared<DwPlan>();
    std::string why;
    if (!kernels::depthwise_plan(p, !unsigned_input, weights.data(), bias.empty() ? nullptr : bias.data(),
                                 requant.empty() ? nullptr : requant.data(), v.width, plan.get(), &why)) {
      // The variants accept the same shapes: the first refusal is final.
      log_reference_reason(ctx, why);
      return Status::ok();
    }
    DYAD_RETURN_IF_ERROR(ctx.set_scratch_bytes_per_thread("inputs[0]", plan->scratch_bytes_per_thread));
    ctx.set_op_data_bytes(owned_bytes(plan->weights, plan->bias, plan->requant));
    const std::string k = std::to_string(plan->kernel);
    ctx.set_kernel("depthwise_conv2d_" + k + "x" + k + "__" + v.isa, v.run, std::move(plan));
    *chosen = true;
    return Status::ok();
  }
  return Status::ok();
}

}  // namespace dyad
