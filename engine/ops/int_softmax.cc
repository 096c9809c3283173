// int_softmax (docs/format.md "int_softmax"): I-BERT integer softmax over the
// last axis, x [..., L] int32 with an optional attention mask -> y int16 in
// [0, 256], scale 2^-8.
#include "kernels/int_softmax/int_softmax.h"
#include "kernels/int_softmax/int_softmax_vec.h"

#include <memory>
#include <vector>

#include "engine/ops/ibert_constants.h"
#include "engine/ops/kernel_select.h"
#include "engine/ops/int_softmax_data.h"
#include "engine/ops/op.h"
#include "engine/ops/quant_params.h"

namespace dyad {

namespace {

constexpr const char* kConstantAttrs[] = {"x0_int", "b_int", "c_int", "act_multiplier",
                                          "act_shift"};


kernels::IntSoftmaxParams run_params(const IntSoftmaxData& d, const StepIO& io) {
  kernels::IntSoftmaxParams p = d.params;
  if (d.has_mask) p.mask.data = io.inputs[1];
  return p;
}

void run_ref(const void* op_data, const StepIO& io) {
  const auto* d = static_cast<const IntSoftmaxData*>(op_data);
  kernels::int_softmax_s32__ref(run_params(*d, io), static_cast<const int32_t*>(io.inputs[0]),
                                static_cast<int16_t*>(io.outputs[0]), io.pool);
}

void run_avx2(const void* op_data, const StepIO& io) {
  const auto* d = static_cast<const IntSoftmaxData*>(op_data);
  kernels::int_softmax_s32__avx2(run_params(*d, io), d->vec, static_cast<const int32_t*>(io.inputs[0]),
                                 static_cast<int16_t*>(io.outputs[0]), io.pool);
}

void run_avx512(const void* op_data, const StepIO& io) {
  const auto* d = static_cast<const IntSoftmaxData*>(op_data);
  kernels::int_softmax_s32__avx512(run_params(*d, io), d->vec, static_cast<const int32_t*>(io.inputs[0]),
                                   static_cast<int16_t*>(io.outputs[0]), io.pool);
}

#if defined(__aarch64__)
void run_neon(const void* op_data, const StepIO& io) {
  const auto* d = static_cast<const IntSoftmaxData*>(op_data);
  kernels::int_softmax_s32__neon(run_params(*d, io), d->vec, static_cast<const int32_t*>(io.inputs[0]),
                                 static_cast<int16_t*>(io.outputs[0]), io.pool);
}
#endif

Status read_constants(BuildContext& ctx, kernels::IntSoftmaxParams* p) {
  int given = 0;
  for (const char* a : kConstantAttrs) given += ctx.has_attr(a);
  if (given == 0) {
    // Derived from x's scale and the internal QuantAct(16) scale (numerics.md 5.3).
    double act16 = 0;
    DYAD_RETURN_IF_ERROR(ctx.attr_number("act16_scale", &act16, std::nullopt));
    const TensorDesc& x = ctx.input(0);
    if (x.quant.scales.size() != 1)
      return ctx.error("attrs.x0_int", "the constants are not given, and input '" + x.name +
                                           "' has " + std::to_string(x.quant.scales.size()) +
                                           " scales; deriving them needs exactly one");
    SoftmaxConstants k;
    std::string why;
    if (!derive_softmax_constants(x.quant.scales[0], act16, &k, &why))
      return ctx.error("attrs.act16_scale", "the constants cannot be derived: " + why);
    p->x0_int = k.x0_int;
    p->b_int = k.b_int;
    p->c_int = k.c_int;
    p->act_m = k.act_multiplier;
    p->act_e = static_cast<int32_t>(k.act_shift);
    // The same ranges as stored constants, reported on the derived values.
    const auto outside = [&](const char* name, int64_t v, int64_t lo, int64_t hi) {
      return ctx.error(std::string("attrs.") + name,
                       "derived from the scales as " + std::to_string(v) + ", outside [" +
                           std::to_string(lo) + ", " + std::to_string(hi) + "]");
    };
    if (k.x0_int < kernels::kIntSoftmaxMinX0 || k.x0_int > -1)
      return outside("x0_int", k.x0_int, kernels::kIntSoftmaxMinX0, -1);
    if (k.b_int < -kernels::kIntSoftmaxMaxAbsB || k.b_int > kernels::kIntSoftmaxMaxAbsB)
      return outside("b_int", k.b_int, -kernels::kIntSoftmaxMaxAbsB, kernels::kIntSoftmaxMaxAbsB);
    if (k.c_int < -kernels::kIntSoftmaxMaxAbsC || k.c_int > kernels::kIntSoftmaxMaxAbsC)
      return outside("c_int", k.c_int, -kernels::kIntSoftmaxMaxAbsC, kernels::kIntSoftmaxMaxAbsC);
    if (k.act_shift < 0 || k.act_shift > kernels::kIntSoftmaxMaxE)
      return outside("act_shift", k.act_shift, 0, kernels::kIntSoftmaxMaxE);
    return Status::ok();
  }
  for (const char* a : kConstantAttrs)
    if (!ctx.has_attr(a))
      return ctx.error(std::string("attrs.") + a,
                       "missing; x0_int, b_int, c_int, act_multiplier and act_shift are given "
                       "together or not at all");
  if (ctx.has_attr("act16_scale"))
    return ctx.error("attrs.act16_scale", "not allowed together with the stored constants");
  int64_t e = 0;
  DYAD_RETURN_IF_ERROR(
      ctx.attr_int("x0_int", &p->x0_int, std::nullopt, kernels::kIntSoftmaxMinX0, -1));
  DYAD_RETURN_IF_ERROR(ctx.attr_int("b_int", &p->b_int, std::nullopt, -kernels::kIntSoftmaxMaxAbsB,
                                    kernels::kIntSoftmaxMaxAbsB));
  DYAD_RETURN_IF_ERROR(ctx.attr_int("c_int", &p->c_int, std::nullopt, -kernels::kIntSoftmaxMaxAbsC,
                                    kernels::kIntSoftmaxMaxAbsC));
  DYAD_RETURN_IF_ERROR(ctx.attr_int("act_multiplier", &p->act_m, std::nullopt, 0, INT64_MAX));
  DYAD_RETURN_IF_ERROR(ctx.attr_int("act_shift", &e, std::nullopt, 0, kernels::kIntSoftmaxMaxE));
  p->act_e = static_cast<int32_t>(e);
  return Status::ok();
}

// The mask has x's rank; each leading axis is 1 (broadcast) or x's size, the
// last axis is L. Fills the kernel's strided view of it.
Status read_mask(const BuildContext& ctx, kernels::IntSoftmaxMask* mask) {
  DYAD_RETURN_IF_ERROR(expect_any_int_activation(ctx, 1));
  const TensorDesc& x = ctx.input(0);
  const TensorDesc& m = ctx.input(1);
  const std::string expected = "; expected rank " + std::to_string(x.shape.size()) +
                               ", each leading axis 1 or equal to scores '" + x.name + "' " +
                               shape_to_string(x.shape) + ", and last axis " +
                               std::to_string(x.shape.back());
  if (m.shape.size() != x.shape.size())
    return ctx.error("inputs[1]",
                     "mask '" + m.name + "' has shape " + shape_to_string(m.shape) + expected);
  const int k = static_cast<int>(x.shape.size()) - 1;
  if (m.shape[k] != x.shape[k])
    return ctx.error("inputs[1]",
                     "mask '" + m.name + "' has shape " + shape_to_string(m.shape) + expected);
  mask->elem_bytes = dtype_storage_bytes(m.dtype);
  mask->rank = k;
  int64_t stride = m.shape[k];
  for (int a = k - 1; a >= 0; --a) {
    if (m.shape[a] != 1 && m.shape[a] != x.shape[a])
      return ctx.error("inputs[1]",
                       "mask '" + m.name + "' has shape " + shape_to_string(m.shape) + expected);
    mask->dims[a] = x.shape[a];
    mask->row_strides[a] = m.shape[a] == 1 ? 0 : stride;
    stride *= m.shape[a];
  }
  return Status::ok();
}

}  // namespace

Status build_int_softmax(BuildContext& ctx) {
  DYAD_RETURN_IF_ERROR(ctx.expect_io(1, 2, 1));
  DYAD_RETURN_IF_ERROR(expect_activation_input(ctx, 0, {DType::kInt32}));
  DYAD_RETURN_IF_ERROR(ctx.expect_output_dtype(0, {DType::kInt16}));
  const TensorDesc& x = ctx.input(0);
  if (x.shape.empty())
    return ctx.error("inputs[0]", "tensor '" + x.name + "' is a scalar; expected [..., L]");
  if (x.shape.size() > kernels::kIntSoftmaxMaxMaskRank + 1)
    return ctx.error("inputs[0]", "tensor '" + x.name + "' has rank " +
                                      std::to_string(x.shape.size()) + "; at most " +
                                      std::to_string(kernels::kIntSoftmaxMaxMaskRank + 1) +
                                      " is supported");
  int64_t z_x = 0;
  DYAD_RETURN_IF_ERROR(single_zero_point(ctx, "inputs[0]", x, &z_x));
  if (z_x != 0)
    return ctx.error("inputs[0]", "tensor '" + x.name + "' has zero point " + std::to_string(z_x) +
                                      "; int_softmax takes raw int32 scores (zero point 0)");
  DYAD_RETURN_IF_ERROR(ctx.set_output_shape(0, x.shape));
  const TensorDesc& y = ctx.output(0);
  if (y.quant.zero_point() != 0 || y.quant.zero_points.size() > 1 ||
      (y.quant.has_scale() && (y.quant.scales.size() != 1 || y.quant.scales[0] != 1.0 / 256)))
    return ctx.error("outputs[0]", "tensor '" + y.name +
                                       "' must have scale 2^-8 (0.00390625) "
                                       "and zero point 0, the int_softmax output's");

  auto d = std::make_shared<IntSoftmaxData>();
  kernels::IntSoftmaxParams& p = d->params;
  DYAD_RETURN_IF_ERROR(read_constants(ctx, &p));
  d->has_mask = ctx.has_input(1);
  if (d->has_mask) DYAD_RETURN_IF_ERROR(read_mask(ctx, &p.mask));
  p.length = x.shape.back();
  p.rows = shape_elements(x.shape) / p.length;
  // The kernel's own check of the constants and of the mask view (its data
  // pointer is set at run time; any non-null value stands for it here).
  kernels::IntSoftmaxParams check = p;
  if (d->has_mask) check.mask.data = &check;
  if (!kernels::int_softmax_params_valid(check))
    return ctx.error("attrs", "the constants or the mask do not meet the kernel's ranges");
  // Variants, best first: AVX-512, AVX2, NEON (all need int_softmax_vec_plan's
  // ranges), reference.
  const char* why = "";
  const bool any_vec = avx2_kernels_allowed() || avx512_kernels_allowed() || neon_kernels_allowed();
  const bool vec = any_vec && kernels::int_softmax_vec_plan(p, &d->vec, &why);
  if (vec && avx512_kernels_allowed()) {
    ctx.set_kernel("int_softmax_s32__avx512", run_avx512, std::move(d));
  } else if (vec && avx2_kernels_allowed()) {
    ctx.set_kernel("int_softmax_s32__avx2", run_avx2, std::move(d));
#if defined(__aarch64__)
  } else if (vec && neon_kernels_allowed()) {
    ctx.set_kernel("int_softmax_s32__neon", run_neon, std::move(d));
#endif
  } else {
    if (any_vec) log_reference_reason(ctx, why);
    ctx.set_kernel("int_softmax_s32__ref", run_ref, std::move(d));
  }
  return Status::ok();
}

}  // namespace dyad
