// int_gelu (docs/format.md "int_gelu"): I-BERT integer GELU, x [..., C] of
// any integer dtype -> y [..., C] int64, constants per channel (last axis).
#include "kernels/int_gelu/int_gelu.h"
#include "kernels/int_gelu/int_gelu_vec.h"

#include <memory>
#include <vector>

#include "engine/ops/ibert_constants.h"
#include "engine/ops/int_gelu_data.h"
#include "engine/ops/kernel_select.h"
#include "engine/ops/op.h"
#include "engine/ops/quant_params.h"

namespace dyad {

namespace {

void run_ref(const void* op_data, const StepIO& io) {
  const auto* d = static_cast<const IntGeluData*>(op_data);
  kernels::int_gelu__ref(d->with_constants(), io.inputs[0], static_cast<int64_t*>(io.outputs[0]), io.pool);
}

void run_avx2(const void* op_data, const StepIO& io) {
  const auto* d = static_cast<const IntGeluData*>(op_data);
  kernels::int_gelu__avx2(d->with_constants(), d->vec, io.inputs[0], static_cast<int64_t*>(io.outputs[0]),
                          io.pool);
}

void run_avx512(const void* op_data, const StepIO& io) {
  const auto* d = static_cast<const IntGeluData*>(op_data);
  kernels::int_gelu__avx512(d->with_constants(), d->vec, io.inputs[0], static_cast<int64_t*>(io.outputs[0]),
                            io.pool);
}

#if defined(__aarch64__)
void run_neon(const void* op_data, const StepIO& io) {
  const auto* d = static_cast<const IntGeluData*>(op_data);
  kernels::int_gelu__neon(d->with_constants(), d->vec, io.inputs[0], static_cast<int64_t*>(io.outputs[0]),
                          io.pool);
}
#endif

// numerics.md 4 for each channel's input scale (one scale, or one per channel
// along the last axis).
Status derive_constants(const BuildContext& ctx, size_t channels, IntGeluData* d) {
  const TensorDesc& x = ctx.input(0);
  const Quantization& q = x.quant;
  const std::string field = "attrs.b_int";
  if (!q.has_scale())
    return ctx.error(field, "b_int, c_int and shift_int are not given, and input '" + x.name +
                                "' has no scale to derive them from");
  const int last = static_cast<int>(x.shape.size()) - 1;
  if (q.scales.size() != 1 && (q.axis != last || q.scales.size() != channels))
    return ctx.error(field, "b_int, c_int and shift_int are not given, and input '" + x.name +
                                "' has " + std::to_string(q.scales.size()) +
                                " scales; expected 1, or " + std::to_string(channels) +
                                " along the last axis");
  d->b_int.resize(channels);
  d->c_int.resize(channels);
  d->shift_int.resize(channels);
  for (size_t c = 0; c < channels; ++c) {
    GeluConstants k;
    std::string why;
    if (!derive_gelu_constants(q.scale(static_cast<int64_t>(c)), &k, &why))
      return ctx.error(field, "cannot be derived for channel " + std::to_string(c) + ": " + why);
    d->b_int[c] = k.b_int;
    d->c_int[c] = k.c_int;
    d->shift_int[c] = k.shift_int;
  }
  return Status::ok();
}

// Every constant of every channel inside the kernel's ranges (a derived one
// may fall outside for extreme scales).
Status check_ranges(const BuildContext& ctx, const IntGeluData& d) {
  struct Field {
    const char* name;
    const std::vector<int64_t>* values;
    int64_t min;
  };
  for (const Field& f : {Field{"b_int", &d.b_int, kernels::kIntGeluMinB},
                         Field{"c_int", &d.c_int, kernels::kIntGeluMinC},
                         Field{"shift_int", &d.shift_int, kernels::kIntGeluMinShift}})
    for (size_t c = 0; c < f.values->size(); ++c)
      if ((*f.values)[c] < f.min || (*f.values)[c] > 0)
        return ctx.error(std::string("attrs.") + f.name,
                         "channel " + std::to_string(c) + ": " + std::to_string((*f.values)[c]) +
                             " is outside [" + std::to_string(f.min) + ", 0]");
  return Status::ok();
}

}  // namespace

Status build_int_gelu(BuildContext& ctx) {
  DYAD_RETURN_IF_ERROR(ctx.expect_io(1, 1, 1));
  DYAD_RETURN_IF_ERROR(expect_any_int_activation(ctx, 0));
  DYAD_RETURN_IF_ERROR(ctx.expect_output_dtype(0, {DType::kInt64}));
  const TensorDesc& x = ctx.input(0);
  if (x.shape.empty())
    return ctx.error("inputs[0]", "tensor '" + x.name + "' is a scalar; expected [..., channels]");
  int64_t z_x = 0;
  DYAD_RETURN_IF_ERROR(single_zero_point(ctx, "inputs[0]", x, &z_x));
  if (z_x != 0)
    return ctx.error("inputs[0]", "tensor '" + x.name + "' has zero point " + std::to_string(z_x) +
                                      "; int_gelu takes symmetric inputs (0)");
  DYAD_RETURN_IF_ERROR(ctx.set_output_shape(0, x.shape));
  int64_t z_y = 0;
  DYAD_RETURN_IF_ERROR(single_zero_point(ctx, "outputs[0]", ctx.output(0), &z_y));
  if (z_y != 0)
    return ctx.error("outputs[0]", "tensor '" + ctx.output(0).name + "' has zero point " +
                                       std::to_string(z_y) + "; the int_gelu output has 0");

  auto data = std::make_shared<IntGeluData>();
  DYAD_RETURN_IF_ERROR(ctx.expect_channel_count("inputs[0]", x.shape.back()));
  const size_t channels = static_cast<size_t>(x.shape.back());
  const int given = ctx.has_attr("b_int") + ctx.has_attr("c_int") + ctx.has_attr("shift_int");
  if (given == 0) {
    DYAD_RETURN_IF_ERROR(derive_constants(ctx, channels, data.get()));
  } else {
    for (const char* name : {"b_int", "c_int", "shift_int"})
      if (!ctx.has_attr(name))
        return ctx.error(std::string("attrs.") + name,
                         "missing; b_int, c_int and shift_int are given together or not at all");
    DYAD_RETURN_IF_ERROR(ctx.attr_int_or_ints("b_int", &data->b_int, channels, std::nullopt));
    DYAD_RETURN_IF_ERROR(ctx.attr_int_or_ints("c_int", &data->c_int, channels, std::nullopt));
    DYAD_RETURN_IF_ERROR(
        ctx.attr_int_or_ints("shift_int", &data->shift_int, channels, std::nullopt));
  }
  DYAD_RETURN_IF_ERROR(check_ranges(ctx, *data));

  kernels::IntGeluParams& p = data->params;
  p.x_type = int_type_of(x.dtype);
  p.channels = static_cast<int64_t>(channels);
  p.rows = shape_elements(x.shape) / p.channels;
  // Variants, best first: AVX-512, AVX2, NEON (all need int_gelu_vec_plan's
  // ranges), reference.
  const char* why = "";
  const bool any_vec = avx2_kernels_allowed() || avx512_kernels_allowed() || neon_kernels_allowed();
  const bool vec = any_vec && kernels::int_gelu_vec_plan(data->with_constants(), &data->vec, &why);
  if (vec && avx512_kernels_allowed()) {
    ctx.set_kernel("int_gelu__avx512", run_avx512, std::move(data));
  } else if (vec && avx2_kernels_allowed()) {
    ctx.set_kernel("int_gelu__avx2", run_avx2, std::move(data));
#if defined(__aarch64__)
  } else if (vec && neon_kernels_allowed()) {
    ctx.set_kernel("int_gelu__neon", run_neon, std::move(data));
#endif
  } else {
    if (any_vec) log_reference_reason(ctx, why);
    ctx.set_kernel("int_gelu__ref", run_ref, std::move(data));
  }
  return Status::ok();
}

}  // namespace dyad
