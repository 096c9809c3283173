// The fusion rules of engine/ops/fusion.h.
#include "engine/ops/fusion.h"

#include <algorithm>
#include <memory>
#include <string>

#include "engine/ops/int_gelu_data.h"
#include "engine/ops/requantize_data.h"
#include "kernels/int_gelu/int_gelu_requantize.h"
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

}  // namespace

bool fuse_int_gelu_requantize(const Step& gelu, const Step& requant, Step* fused) {
  if (gelu.op != OpType::kIntGelu || requant.op != OpType::kRequantize) return false;
  // Only the vector GELU (the reference keeps DYAD_KERNELS=ref and
  // unsupported constants on the reference path) and a vector requantize.
  const bool avx512 = gelu.kernel_name == "int_gelu__avx512";
  if (!avx512 && gelu.kernel_name != "int_gelu__avx2") return false;
  if (requant.kernel_name != "requantize__avx512" && requant.kernel_name != "requantize__avx2") return false;
  auto data = std::make_shared<IntGeluRequantizeData>();
  data->gelu_owner = gelu.op_data;
  data->requant_owner = requant.op_data;
  data->gelu = static_cast<const IntGeluData*>(gelu.op_data.get());
  data->requant = static_cast<const RequantizeData*>(requant.op_data.get());
  const kernels::RequantizeParams& r = data->requant->params;
  if (r.src_type != kernels::IntType::kS64 || r.src_zero_point != 0) return false;
  if (r.channels != 1 && r.channels != static_cast<size_t>(data->gelu->params.channels)) return false;
  if (!kernels::requantize_wide_plan(r, data->requant->requant.data(), &data->wide)) return false;
  const size_t bytes = (data->wide.x_lo.size() * 7) * sizeof(int64_t);
  *fused = avx512 ? fused_step(gelu, requant, "int_gelu_requantize__avx512",
                               run_fused<kernels::int_gelu_requantize__avx512>, data, bytes)
                  : fused_step(gelu, requant, "int_gelu_requantize__avx2",
                               run_fused<kernels::int_gelu_requantize__avx2>, data, bytes);
  return true;
}

}  // namespace dyad
