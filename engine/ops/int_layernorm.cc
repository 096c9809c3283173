// int_layernorm (docs/format.md "int_layernorm"): I-BERT integer LayerNorm over
// the last axis, x [..., n] (int8, uint8, int16, int32) -> y [..., n] int64.
#include "kernels/int_layernorm/int_layernorm.h"

#include <memory>
#include <vector>

#include "engine/ops/int_layernorm_data.h"
#include "engine/ops/op.h"
#include "engine/ops/quant_params.h"
#include "kernels/common/cpu.h"

namespace dyad {

namespace {

// |bias_int| <= 2^62 keeps `(y * factor >> 1) + bias_int` inside int64
// (|y * factor >> 1| < 2^62), so the kernel's saturation never acts.
constexpr int64_t kMaxAbsBias = int64_t{1} << 62;

void run_ref(const void* op_data, const StepIO& io) {
  const auto* d = static_cast<const IntLayerNormData*>(op_data);
  kernels::IntLayerNormParams p = d->params;
  p.bias_int = d->bias_int.data();
  kernels::int_layernorm__ref(p, io.inputs[0], static_cast<int64_t*>(io.outputs[0]), io.pool);
}

void run_avx512vnni(const void* op_data, const StepIO& io) {
  const auto* d = static_cast<const IntLayerNormData*>(op_data);
  kernels::IntLayerNormParams p = d->params;
  p.bias_int = d->bias_int.data();
  kernels::int_layernorm__avx512vnni(p, io.inputs[0], static_cast<int64_t*>(io.outputs[0]), io.pool);
}

#if defined(__aarch64__)
void run_neon(const void* op_data, const StepIO& io) {
  const auto* d = static_cast<const IntLayerNormData*>(op_data);
  kernels::IntLayerNormParams p = d->params;
  p.bias_int = d->bias_int.data();
  kernels::int_layernorm__neon(p, io.inputs[0], static_cast<int64_t*>(io.outputs[0]), io.pool);
}
#endif

}  // namespace

Status build_int_layernorm(BuildContext& ctx) {
  DYAD_RETURN_IF_ERROR(ctx.expect_io(1, 1, 1));
  DYAD_RETURN_IF_ERROR(
      expect_activation_input(ctx, 0, {DType::kInt8, DType::kUint8, DType::kInt16, DType::kInt32}));
  DYAD_RETURN_IF_ERROR(ctx.expect_output_dtype(0, {DType::kInt64}));
  const TensorDesc& x = ctx.input(0);
  if (x.shape.empty())
    return ctx.error("inputs[0]", "tensor '" + x.name + "' is a scalar; expected [..., n]");
  DYAD_RETURN_IF_ERROR(ctx.set_output_shape(0, x.shape));
  // The kernel takes the zero point off first (an odd one would not cancel in
  // x - mean under ties-to-even); int32 sums must have 0 to keep its bounds.
  int64_t z_x = 0;
  DYAD_RETURN_IF_ERROR(single_zero_point(ctx, "inputs[0]", x, &z_x));
  if (x.dtype == DType::kInt32 && z_x != 0)
    return ctx.error("inputs[0]", "tensor '" + x.name + "' is int32 with zero point " +
                                      std::to_string(z_x) + "; an int32 int_layernorm input has 0");
  int64_t z_y = 0;
  DYAD_RETURN_IF_ERROR(single_zero_point(ctx, "outputs[0]", ctx.output(0), &z_y));
  if (z_y != 0)
    return ctx.error("outputs[0]", "tensor '" + ctx.output(0).name + "' has zero point " +
                                       std::to_string(z_y) + "; the int_layernorm output has 0");

  auto data = std::make_shared<IntLayerNormData>();
  kernels::IntLayerNormParams& p = data->params;
  const int64_t n = x.shape.back();
  int64_t shift = 0;
  DYAD_RETURN_IF_ERROR(
      ctx.attr_int("shift", &shift, std::nullopt, 0, kernels::kIntLayerNormMaxShift));
  DYAD_RETURN_IF_ERROR(ctx.attr_int_or_ints("bias_int", &data->bias_int, static_cast<size_t>(n),
                                            std::nullopt, -kMaxAbsBias, kMaxAbsBias));
  p.x_type = int_type_of(x.dtype);
  p.channels = n;
  p.rows = shape_elements(x.shape) / n;
  p.shift = static_cast<int32_t>(shift);
  p.zero_point = z_x;
  p.bias_int = data->bias_int.data();
  if (!kernels::int_layernorm_params_valid(p))
    return ctx.error("inputs[0]", "tensor '" + x.name + "' " + shape_to_string(x.shape) +
                                      " does not meet the kernel's limits (n <= 2^31)");
  // Variants, best first: AVX-512, NEON (each row checks its own bounds and
  // falls back to the reference row), reference.
  if (kernels::kernel_isa_usable(kernels::KernelIsa::kAvx512Vnni))
    ctx.set_kernel("int_layernorm__avx512vnni", run_avx512vnni, std::move(data));
#if defined(__aarch64__)
  else if (kernels::kernel_isa_usable(kernels::KernelIsa::kNeon))
    ctx.set_kernel("int_layernorm__neon", run_neon, std::move(data));
#endif
  else
    ctx.set_kernel("int_layernorm__ref", run_ref, std::move(data));
  return Status::ok();
}

}  // namespace dyad
