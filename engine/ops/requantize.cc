// requantize (docs/format.md "requantize"): any integer dtype to any integer
// dtype, y = clamp(z_y + rne((x - z_x) * m[c] / 2^e[c])).
#include <cstring>
#include <memory>
#include <vector>

#include "engine/ops/kernel_select.h"
#include "engine/ops/op.h"
#include "engine/ops/quant_params.h"
#include "engine/ops/requantize_data.h"
#include "kernels/common/cpu.h"
#include "kernels/requantize/requantize.h"

namespace dyad {

namespace {

void run_ref(const void* op_data, const StepIO& io) {
  const auto* d = static_cast<const RequantizeData*>(op_data);
  kernels::requantize__ref(d->params, d->requant.data(), io.inputs[0], io.outputs[0]);
}

void run_avx512(const void* op_data, const StepIO& io) {
  const auto* d = static_cast<const RequantizeData*>(op_data);
  kernels::requantize__avx512(d->params, *d->avx512, io.inputs[0], io.outputs[0], io.pool);
}

void run_avx2(const void* op_data, const StepIO& io) {
  const auto* d = static_cast<const RequantizeData*>(op_data);
  kernels::requantize__avx2(d->params, *d->avx2, io.inputs[0], io.outputs[0], io.pool);
}

void run_copy(const void* op_data, const StepIO& io) {
  const auto* d = static_cast<const RequantizeData*>(op_data);
  std::memcpy(io.outputs[0], io.inputs[0], d->params.count * kernels::int_type_bytes(d->params.src_type));
}

// y = x for every x the input dtype holds: the same container, the same zero
// point, a factor of exactly 1 in every channel (m = 2^e, so rne(d * m / 2^e)
// = d), and a clamp that keeps the whole container. I-BERT exports such
// requantizes between two QuantAct nodes of equal scale.
bool is_identity(const kernels::RequantizeParams& p, const std::vector<kernels::Dyadic>& requant) {
  if (p.src_type != p.dst_type || p.src_zero_point != p.dst_zero_point) return false;
  if (p.dst_min > kernels::int_type_min(p.src_type) || p.dst_max < kernels::int_type_max(p.src_type))
    return false;
  for (const kernels::Dyadic& d : requant)
    if (d.e < 0 || d.e > 30 || d.m != (int32_t{1} << d.e)) return false;
  return true;
}

#if defined(__aarch64__)
void run_neon(const void* op_data, const StepIO& io) {
  const auto* d = static_cast<const RequantizeData*>(op_data);
  kernels::requantize__neon(d->params, *d->neon, io.inputs[0], io.outputs[0], io.pool);
}
#endif

}  // namespace

Status build_requantize(BuildContext& ctx) {
  DYAD_RETURN_IF_ERROR(ctx.expect_io(1, 1, 1));
  DYAD_RETURN_IF_ERROR(expect_any_int_activation(ctx, 0));
  const TensorDesc& x = ctx.input(0);
  DYAD_RETURN_IF_ERROR(ctx.set_output_shape(0, x.shape));
  const TensorDesc& y = ctx.output(0);

  auto data = std::make_shared<RequantizeData>();
  kernels::RequantizeParams& p = data->params;
  p.count = static_cast<size_t>(shape_elements(x.shape));
  p.channels = x.shape.empty() ? 1 : static_cast<size_t>(x.shape.back());
  p.src_type = int_type_of(x.dtype);
  p.dst_type = int_type_of(y.dtype);
  DYAD_RETURN_IF_ERROR(single_zero_point(ctx, "inputs[0]", x, &p.src_zero_point));
  DYAD_RETURN_IF_ERROR(single_zero_point(ctx, "outputs[0]", y, &p.dst_zero_point));
  DYAD_RETURN_IF_ERROR(read_requant(ctx, "multiplier", "shift", p.channels,
                                    rescale_ratios(ctx, 0, p.channels), &data->requant));
  DYAD_RETURN_IF_ERROR(read_activation(ctx, y, p.dst_zero_point, &p.dst_min, &p.dst_max));
  // Variants, best first: a plain copy for an identity, AVX-512, AVX2 (x86-64),
  // NEON (64-bit ARM), reference.
  if (!kernels::force_reference_kernels() && is_identity(p, data->requant)) {
    ctx.set_kernel("requantize__copy", run_copy, std::move(data));
    return Status::ok();
  }
  if (avx512_kernels_allowed()) data->avx512 = kernels::requantize_avx512_plan(p, data->requant.data());
  if (!data->avx512 && avx2_kernels_allowed()) data->avx2 = kernels::requantize_avx2_plan(p, data->requant.data());
#if defined(__aarch64__)
  if (kernels::kernel_isa_usable(kernels::KernelIsa::kNeon)) {
    data->neon = kernels::requantize_neon_plan(p, data->requant.data());
    if (data->neon) {
      ctx.set_kernel("requantize__neon", run_neon, std::move(data));
      return Status::ok();
    }
    log_reference_reason(ctx, "the NEON variant takes int8/uint8 outputs with clamp bounds within 1023 of "
                              "the zero point (and, for requant factors below 2^-53, input zero point 0)");
  }
#endif
  if (data->avx512) {
    ctx.set_kernel("requantize__avx512", run_avx512, std::move(data));
  } else if (data->avx2) {
    ctx.set_kernel("requantize__avx2", run_avx2, std::move(data));
  } else {
    if (avx2_kernels_allowed())
      log_reference_reason(ctx, "the vector variants take int8/uint8 outputs with clamp bounds "
                                "within 1023 of the zero point (and, for requant factors below 2^-53, "
                                "input zero point 0)");
    ctx.set_kernel("requantize__ref", run_ref, std::move(data));
  }
  return Status::ok();
}

}  // namespace dyad
