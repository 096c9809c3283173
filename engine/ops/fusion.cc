// The fusion rules of engine/ops/fusion.h.
#include "engine/ops/fusion.h"

#include <algorithm>
#include <memory>
#include <string>

#include "engine/ops/int_gelu_data.h"
#include "engine/ops/int_layernorm_data.h"
#include "engine/ops/requantize_data.h"
#include "kernels/int_gelu/int_gelu_requantize.h"
#include "kernels/int_layernorm/int_layernorm_requantize.h"
#include "kernels/requantize/requantize_wide.h"

namespace dyad {

namespace {

struct IntGeluRequantizeData {
  std::shared_ptr<const void> gelu_owner, requant_owner;  // keep both steps' data alive
  const IntGeluData* gelu = nullptr;
  const RequantizeData* requant = nullptr;
  kernels::RequantizeWidePlan wide;
};

template <auto Kernel>
void run_fused(const void* op_data, const StepIO& io) {
  const auto* d = static_cast<const IntGeluRequantizeData*>(op_data);
  Kernel(d->gelu->with_constants(), d->gelu->vec, d->requant->params, d->wide, io.inputs[0], io.outputs[0],
         io.pool);
}

// The step that runs `first` then `second` as one kernel `fn`.
Step fused_step(const Step& first, const Step& second, const std::string& kernel, KernelFn fn,
                std::shared_ptr<const void> data, size_t data_bytes) {
  Step s;
  s.node_name = first.node_name + "+" + second.node_name;
  s.op = first.op;
  s.kernel_name = kernel;
  s.fn = fn;
  s.op_data = std::move(data);
  s.inputs = first.inputs;
  s.outputs = second.outputs;
  s.scratch_bytes_per_thread = std::max(first.scratch_bytes_per_thread, second.scratch_bytes_per_thread);
  s.macs = first.macs + second.macs;
  s.work = first.work + second.work;
  s.op_data_bytes = first.op_data_bytes + second.op_data_bytes + data_bytes;
  return s;
}

// The requantize half of a fusion: a vector requantize of an int64 input
// with zero point 0 (what int_gelu and int_layernorm write) whose channels
// are 1 or `channels`, and its 64-bit-lane plan.
bool wide_requantize(const Step& requant, int64_t channels, kernels::RequantizeWidePlan* wide) {
  if (requant.kernel_name != "requantize__avx512" && requant.kernel_name != "requantize__avx2") return false;
  const auto* d = static_cast<const RequantizeData*>(requant.op_data.get());
  const kernels::RequantizeParams& r = d->params;
  if (r.src_type != kernels::IntType::kS64 || r.src_zero_point != 0) return false;
  if (r.channels != 1 && r.channels != static_cast<size_t>(channels)) return false;
  return kernels::requantize_wide_plan(r, d->requant.data(), wide);
}

size_t wide_plan_bytes(const kernels::RequantizeWidePlan& w) {
  return w.x_lo.size() * 7 * sizeof(int64_t) + w.requant.size() * sizeof(kernels::Dyadic);
}

bool fuse_int_gelu_requantize(const Step& gelu, const Step& requant, Step* fused) {
  // Only the vector GELU (the reference keeps DYAD_KERNELS=ref and
  // unsupported constants on the reference path) and a vector requantize.
  const bool avx512 = gelu.kernel_name == "int_gelu__avx512";
  if (!avx512 && gelu.kernel_name != "int_gelu__avx2") return false;
  auto data = std::make_shared<IntGeluRequantizeData>();
  data->gelu_owner = gelu.op_data;
  data->requant_owner = requant.op_data;
  data->gelu = static_cast<const IntGeluData*>(gelu.op_data.get());
  data->requant = static_cast<const RequantizeData*>(requant.op_data.get());
  if (!wide_requantize(requant, data->gelu->params.channels, &data->wide)) return false;
  const size_t bytes = wide_plan_bytes(data->wide);
  *fused = avx512 ? fused_step(gelu, requant, "int_gelu_requantize__avx512",
                               run_fused<kernels::int_gelu_requantize__avx512>, data, bytes)
                  : fused_step(gelu, requant, "int_gelu_requantize__avx2",
                               run_fused<kernels::int_gelu_requantize__avx2>, data, bytes);
  return true;
}

struct IntLayerNormRequantizeData {
  std::shared_ptr<const void> ln_owner, requant_owner;
  kernels::IntLayerNormParams ln;  // bias_int points into ln_owner's data
  const RequantizeData* requant = nullptr;
  kernels::RequantizeWidePlan wide;
};

void run_layernorm_requantize(const void* op_data, const StepIO& io) {
  const auto* d = static_cast<const IntLayerNormRequantizeData*>(op_data);
  kernels::int_layernorm_requantize__avx512(d->ln, d->requant->params, d->wide, io.inputs[0], io.outputs[0],
                                            io.pool);
}

bool fuse_int_layernorm_requantize(const Step& ln, const Step& requant, Step* fused) {
  // The AVX-512 LayerNorm only (the row code the fused kernel shares), and
  // the AVX-512 requantize (the fused kernel's other half needs F/BW/VL/DQ).
  if (ln.kernel_name != "int_layernorm__avx512vnni" || requant.kernel_name != "requantize__avx512") return false;
  auto data = std::make_shared<IntLayerNormRequantizeData>();
  data->ln_owner = ln.op_data;
  data->requant_owner = requant.op_data;
  const auto* ln_data = static_cast<const IntLayerNormData*>(ln.op_data.get());
  data->ln = ln_data->params;
  data->ln.bias_int = ln_data->bias_int.data();
  data->requant = static_cast<const RequantizeData*>(requant.op_data.get());
  if (!wide_requantize(requant, data->ln.channels, &data->wide)) return false;
  const size_t bytes = wide_plan_bytes(data->wide);
  *fused = fused_step(ln, requant, "int_layernorm_requantize__avx512", run_layernorm_requantize, data, bytes);
  return true;
}

}  // namespace

bool fuse_steps_pair(const Step& first, const Step& second, Step* fused) {
  if (second.op != OpType::kRequantize) return false;
  if (first.op == OpType::kIntGelu) return fuse_int_gelu_requantize(first, second, fused);
  if (first.op == OpType::kIntLayerNorm) return fuse_int_layernorm_requantize(first, second, fused);
  return false;
}

}  // namespace dyad
