// matmul (docs/format.md "matmul"): a [..., M, K] times b [..., K, N] (or
// b [..., N, K] with transpose_b), batched over equal leading axes. The
// output is the raw int32 accumulator or requantized with one dyadic pair.
#include "kernels/matmul/matmul.h"

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "engine/ops/kernel_select.h"
#include "engine/ops/matmul_data.h"
#include "engine/ops/op.h"
#include "engine/ops/quant_params.h"
#include "kernels/common/cpu.h"

namespace dyad {

namespace {


void run_ref(const void* op_data, const StepIO& io) {
  const auto* d = static_cast<const MatmulData*>(op_data);
  kernels::matmul__ref(d->params, io.inputs[0], io.inputs[1], io.outputs[0], io.pool);
}

void run_avx2(const void* op_data, const StepIO& io) {
  const auto* d = static_cast<const MatmulData*>(op_data);
  kernels::matmul__avx2(d->params, io.inputs[0], io.inputs[1], io.outputs[0], io.pool, io.scratch,
                        io.scratch_bytes_per_thread);
}

void run_avx512vnni(const void* op_data, const StepIO& io) {
  const auto* d = static_cast<const MatmulData*>(op_data);
  kernels::matmul__avx512vnni(d->params, io.inputs[0], io.inputs[1], io.outputs[0], io.pool, io.scratch,
                              io.scratch_bytes_per_thread);
}

#if defined(__aarch64__)
void run_dotprod(const void* op_data, const StepIO& io) {
  const auto* d = static_cast<const MatmulData*>(op_data);
  kernels::matmul__dotprod(d->params, io.inputs[0], io.inputs[1], io.outputs[0], io.pool, io.scratch,
                           io.scratch_bytes_per_thread);
}
bool dotprod_allowed() { return kernels::kernel_isa_usable(kernels::KernelIsa::kDotprod); }
#endif

// The vector variants, best first (the reference follows when none applies).
struct MatmulVariant {
  const char* suffix;
  bool (*allowed)();
  bool (*applies)(const kernels::MatmulParams&);
  size_t (*scratch_bytes)(const kernels::MatmulParams&);
  void (*run)(const void*, const StepIO&);
};
bool avx512vnni_allowed() { return kernels::kernel_isa_usable(kernels::KernelIsa::kAvx512Vnni); }
constexpr MatmulVariant kVariants[] = {
    {"__avx512vnni", avx512vnni_allowed, kernels::matmul_avx512vnni_applies,
     kernels::matmul_avx512vnni_scratch_bytes, run_avx512vnni},
    {"__avx2", avx2_kernels_allowed, kernels::matmul_avx2_applies, kernels::matmul_avx2_scratch_bytes, run_avx2},
#if defined(__aarch64__)
    {"__dotprod", dotprod_allowed, kernels::matmul_dotprod_applies, kernels::matmul_dotprod_scratch_bytes,
     run_dotprod},
#endif
};

std::string shapes_text(const TensorDesc& a, const TensorDesc& b) {
  return "a '" + a.name + "' " + shape_to_string(a.shape) + ", b '" + b.name + "' " +
         shape_to_string(b.shape);
}

// max |v - z| over the dtype's values.
int64_t max_abs_offset(DType t, int64_t z) { return std::max(z - dtype_min(t), dtype_max(t) - z); }

}  // namespace

Status build_matmul(BuildContext& ctx) {
  DYAD_RETURN_IF_ERROR(ctx.expect_io(2, 2, 1));
  DYAD_RETURN_IF_ERROR(
      expect_activation_input(ctx, 0, {DType::kInt8, DType::kUint8, DType::kInt16}));
  DYAD_RETURN_IF_ERROR(expect_activation_input(ctx, 1, {DType::kInt8, DType::kUint8}));
  DYAD_RETURN_IF_ERROR(
      ctx.expect_output_dtype(0, {DType::kInt32, DType::kInt8, DType::kUint8, DType::kInt16}));
  bool transpose_b = false;
  DYAD_RETURN_IF_ERROR(ctx.attr_bool("transpose_b", &transpose_b, false));

  const TensorDesc& a = ctx.input(0);
  const TensorDesc& b = ctx.input(1);
  const size_t rank = a.shape.size();
  if (rank < 2)
    return ctx.error("inputs[0]", "tensor '" + a.name + "' has shape " + shape_to_string(a.shape) +
                                      "; expected [..., M, K]");
  if (b.shape.size() != rank)
    return ctx.error("inputs[1]", "ranks differ: " + shapes_text(a, b) +
                                      " (leading axes must be equal; no broadcasting)");
  for (size_t i = 0; i + 2 < rank; ++i)
    if (a.shape[i] != b.shape[i])
      return ctx.error("inputs[1]", "leading axis " + std::to_string(i) +
                                        " differs: " + shapes_text(a, b) + " (no broadcasting)");
  const int64_t m = a.shape[rank - 2], k = a.shape[rank - 1];
  const int64_t bk = transpose_b ? b.shape[rank - 1] : b.shape[rank - 2];
  const int64_t n = transpose_b ? b.shape[rank - 2] : b.shape[rank - 1];
  if (bk != k)
    return ctx.error("inputs[1]", "inner dimensions differ: " + shapes_text(a, b) +
                                      (transpose_b ? " with transpose_b (b is [..., N, K])"
                                                   : " (b is [..., K, N])"));
  Shape ys(a.shape.begin(), a.shape.end() - 2);
  ys.push_back(m);
  ys.push_back(n);
  DYAD_RETURN_IF_ERROR(ctx.set_output_shape(0, ys));

  auto data = std::make_shared<MatmulData>();
  kernels::MatmulParams& p = data->params;
  int64_t z_a = 0, z_b = 0;
  DYAD_RETURN_IF_ERROR(single_zero_point(ctx, "inputs[0]", a, &z_a));
  DYAD_RETURN_IF_ERROR(single_zero_point(ctx, "inputs[1]", b, &z_b));
  // One requant pair (or the raw accumulator), derived from
  // f64(f32(S_a * S_b)) / f64(f32(S_y)) when not stored.
  kernels::OutputStage stage;
  std::vector<kernels::Dyadic> requant;
  DYAD_RETURN_IF_ERROR(read_output_stage(ctx, 1, &stage, &requant));
  if (requant.empty()) {
    // The int32 accumulator must not saturate for any input.
    const __int128 bound =
        static_cast<__int128>(k) * max_abs_offset(a.dtype, z_a) * max_abs_offset(b.dtype, z_b);
    if (bound > INT32_MAX)
      return ctx.error("outputs[0]",
                       "the raw int32 output could overflow: K * max|a - z_a| * max|b - z_b| = " +
                           std::to_string(static_cast<int64_t>(bound)) +
                           " > 2^31 - 1; requantize the output instead");
  } else {
    p.requantize = true;
    p.multiplier = requant[0].m;
    p.shift = requant[0].e;
    p.y_zero_point = stage.zero_point;
    p.y_min = static_cast<int32_t>(stage.min);
    p.y_max = static_cast<int32_t>(stage.max);
  }
  p.a_type = int_type_of(a.dtype);
  p.b_type = int_type_of(b.dtype);
  p.y_type = int_type_of(ctx.output(0).dtype);
  p.batch = shape_elements(ys) / (m * n);
  p.m = m;
  p.k = k;
  p.n = n;
  p.transpose_b = transpose_b;
  p.a_zero_point = static_cast<int32_t>(z_a);
  p.b_zero_point = static_cast<int32_t>(z_b);
  int64_t macs = 0;
  DYAD_RETURN_IF_ERROR(
      ctx.add_work("inputs[1]", "multiply-accumulates", {p.batch, m, n, k}, &macs));
  ctx.set_macs(macs);
  const std::string name = transpose_b ? "matmul_bt" : "matmul";
  for (const MatmulVariant& v : kVariants) {
    if (!v.allowed() || !v.applies(p)) continue;
    DYAD_RETURN_IF_ERROR(ctx.set_scratch_bytes_per_thread("inputs[1]", v.scratch_bytes(p)));
    ctx.set_kernel(name + v.suffix, v.run, std::move(data));
    return Status::ok();
  }
  if (avx2_kernels_allowed())
    log_reference_reason(ctx, "K * max|a - z_a| * max|b - z_b| over the dtype ranges exceeds 2^31 - 1");
  ctx.set_kernel(name + "__ref", run_ref, std::move(data));
  return Status::ok();
}

}  // namespace dyad
