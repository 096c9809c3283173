// add (docs/format.md "add"): residual add of two dyadic branches, each
// rounded on its own, clamped once.
#include <memory>
#include <vector>

#include "engine/ops/kernel_select.h"
#include "engine/ops/op.h"
#include "engine/ops/quant_params.h"
#include "kernels/add/add.h"

namespace dyad {

namespace {

struct AddData {
  kernels::AddParams params;
  std::vector<kernels::Dyadic> a_requant, b_requant;  // params.channels entries each
};

void run(const void* op_data, const StepIO& io) {
  const auto* d = static_cast<const AddData*>(op_data);
  kernels::add__ref(d->params, d->a_requant.data(), d->b_requant.data(), io.inputs[0],
                    io.inputs[1], io.outputs[0]);
}

void run_avx2(const void* op_data, const StepIO& io) {
  kernels::add__avx2(*static_cast<const kernels::AddVecPlan*>(op_data), io.inputs[0], io.inputs[1],
                     io.outputs[0], io.pool);
}

void run_avx512(const void* op_data, const StepIO& io) {
  kernels::add__avx512(*static_cast<const kernels::AddVecPlan*>(op_data), io.inputs[0], io.inputs[1],
                       io.outputs[0], io.pool);
}

#if defined(__aarch64__)
void run_neon(const void* op_data, const StepIO& io) {
  kernels::add__neon(*static_cast<const kernels::AddVecPlan*>(op_data), io.inputs[0], io.inputs[1],
                     io.outputs[0], io.pool);
}
#endif

// The kernel sums the two rounded branches in 128 bits; this proves neither
// can exceed 2^kAddBranchBits for any input of its dtype. Only int64 inputs
// with large left shifts can fail it.
Status check_branch_range(const BuildContext& ctx, const char* prefix, const TensorDesc& t,
                          int64_t z, const std::vector<kernels::Dyadic>& rq) {
  for (size_t c = 0; c < rq.size(); ++c)
    if (!requant_fits_bits(t.dtype, z, rq[c], kernels::kAddBranchBits))
      return ctx.error(std::string("attrs.") + prefix + "shift",
                       "channel " + std::to_string(c) + ": (m, e) = (" + std::to_string(rq[c].m) +
                           ", " + std::to_string(rq[c].e) + ") can scale " +
                           std::string(dtype_name(t.dtype)) + " tensor '" + t.name +
                           "' beyond 2^" + std::to_string(kernels::kAddBranchBits));
  return Status::ok();
}

}  // namespace

Status build_add(BuildContext& ctx) {
  DYAD_RETURN_IF_ERROR(ctx.expect_io(2, 2, 1));
  DYAD_RETURN_IF_ERROR(expect_any_int_activation(ctx, 0));
  DYAD_RETURN_IF_ERROR(expect_any_int_activation(ctx, 1));
  const TensorDesc& a = ctx.input(0);
  const TensorDesc& b = ctx.input(1);
  if (a.shape != b.shape)
    return ctx.error("inputs[1]", "tensor '" + b.name + "' has shape " + shape_to_string(b.shape) +
                                      ", but '" + a.name + "' has " + shape_to_string(a.shape) +
                                      "; add needs equal shapes");
  DYAD_RETURN_IF_ERROR(ctx.set_output_shape(0, a.shape));
  const TensorDesc& y = ctx.output(0);

  auto data = std::make_shared<AddData>();
  kernels::AddParams& p = data->params;
  p.count = static_cast<size_t>(shape_elements(a.shape));
  p.channels = a.shape.empty() ? 1 : static_cast<size_t>(a.shape.back());
  p.a_type = int_type_of(a.dtype);
  p.b_type = int_type_of(b.dtype);
  p.dst_type = int_type_of(y.dtype);
  DYAD_RETURN_IF_ERROR(single_zero_point(ctx, "inputs[0]", a, &p.a_zero_point));
  DYAD_RETURN_IF_ERROR(single_zero_point(ctx, "inputs[1]", b, &p.b_zero_point));
  DYAD_RETURN_IF_ERROR(single_zero_point(ctx, "outputs[0]", y, &p.dst_zero_point));
  DYAD_RETURN_IF_ERROR(read_requant(ctx, "a_multiplier", "a_shift", p.channels,
                                    rescale_ratios(ctx, 0, p.channels), &data->a_requant));
  DYAD_RETURN_IF_ERROR(read_requant(ctx, "b_multiplier", "b_shift", p.channels,
                                    rescale_ratios(ctx, 1, p.channels), &data->b_requant));
  DYAD_RETURN_IF_ERROR(check_branch_range(ctx, "a_", a, p.a_zero_point, data->a_requant));
  DYAD_RETURN_IF_ERROR(check_branch_range(ctx, "b_", b, p.b_zero_point, data->b_requant));
  DYAD_RETURN_IF_ERROR(read_activation(ctx, y, p.dst_zero_point, &p.dst_min, &p.dst_max));
  // Variants, best first: AVX-512, AVX2, NEON (one plan for all), reference.
  if (avx2_kernels_allowed() || avx512_kernels_allowed() || neon_kernels_allowed()) {
    auto plan = std::make_shared<kernels::AddVecPlan>();
    std::string why;
    if (kernels::add_vec_plan(p, data->a_requant.data(), data->b_requant.data(), plan.get(), &why)) {
      if (avx512_kernels_allowed())
        ctx.set_kernel("add__avx512", run_avx512, std::move(plan));
      else if (avx2_kernels_allowed())
        ctx.set_kernel("add__avx2", run_avx2, std::move(plan));
#if defined(__aarch64__)
      else
        ctx.set_kernel("add__neon", run_neon, std::move(plan));
#endif
      return Status::ok();
    }
    log_reference_reason(ctx, why);
  }
  ctx.set_kernel("add__ref", run, std::move(data));
  return Status::ok();
}

}  // namespace dyad
