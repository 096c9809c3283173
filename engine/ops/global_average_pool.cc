// global_average_pool (docs/format.md "global_average_pool"):
// y[n, c] = floor(sum over H, W / (H * W)); [N, 1, 1, C], or [N, C] with
// keepdims false.
#include <memory>

#include "engine/ops/kernel_select.h"
#include "engine/ops/op.h"
#include "engine/ops/quant_params.h"
#include "engine/ops/window2d.h"
#include "kernels/global_average_pool/global_average_pool.h"

namespace dyad {

namespace {
void run(const void* op_data, const StepIO& io) {
  kernels::global_average_pool__ref(
      *static_cast<const kernels::GlobalAveragePoolParams*>(op_data), io.inputs[0], io.outputs[0]);
}

void run_avx2(const void* op_data, const StepIO& io) {
  kernels::global_average_pool__avx2(
      *static_cast<const kernels::GlobalAveragePoolParams*>(op_data), io.inputs[0], io.outputs[0]);
}

#if defined(__aarch64__)
void run_neon(const void* op_data, const StepIO& io) {
  kernels::global_average_pool__neon(
      *static_cast<const kernels::GlobalAveragePoolParams*>(op_data), io.inputs[0], io.outputs[0]);
}
#endif

void run_avx512(const void* op_data, const StepIO& io) {
  kernels::global_average_pool__avx512(
      *static_cast<const kernels::GlobalAveragePoolParams*>(op_data), io.inputs[0], io.outputs[0]);
}
}  // namespace

Status build_global_average_pool(BuildContext& ctx) {
  DYAD_RETURN_IF_ERROR(ctx.expect_io(1, 1, 1));
  // int64 is excluded: the kernel sums in int64.
  DYAD_RETURN_IF_ERROR(expect_activation_input(ctx, 0,
                                               {DType::kInt8, DType::kUint8, DType::kInt4,
                                                DType::kUint4, DType::kInt16, DType::kInt32}));
  Nhwc in;
  DYAD_RETURN_IF_ERROR(read_nhwc(ctx, 0, &in));
  if (in.h * in.w > (int64_t{1} << 31))
    return ctx.error("inputs[0]", "more than 2^31 pixels could overflow the int64 sum");
  DYAD_RETURN_IF_ERROR(expect_same_quantization(ctx, 0, 0));
  bool keepdims = true;
  DYAD_RETURN_IF_ERROR(ctx.attr_bool("keepdims", &keepdims, true));
  DYAD_RETURN_IF_ERROR(
      ctx.set_output_shape(0, keepdims ? Shape{in.n, 1, 1, in.c} : Shape{in.n, in.c}));
  auto p = std::make_shared<kernels::GlobalAveragePoolParams>();
  p->batch = in.n;
  p->pixels = in.h * in.w;
  p->channels = in.c;
  p->type = int_type_of(ctx.input(0).dtype);
  if (avx512_kernels_allowed() && kernels::average_avx2_fits(p->type, p->pixels)) {
    ctx.set_kernel("global_average_pool__avx512", run_avx512, std::move(p));
    return Status::ok();
  }
  if (avx2_kernels_allowed() || neon_kernels_allowed()) {
    if (kernels::average_avx2_fits(p->type, p->pixels)) {
      if (avx2_kernels_allowed())
        ctx.set_kernel("global_average_pool__avx2", run_avx2, std::move(p));
#if defined(__aarch64__)
      else
        ctx.set_kernel("global_average_pool__neon", run_neon, std::move(p));
#endif
      return Status::ok();
    }
    log_reference_reason(ctx, "int32 elements, or windows too large for int32 sums");
  }
  ctx.set_kernel("global_average_pool__ref", run, std::move(p));
  return Status::ok();
}

}  // namespace dyad
