// average_pool (docs/format.md "average_pool"): floor(sum / count) over the
// valid positions of each window.
#include <memory>

#include "engine/ops/kernel_select.h"
#include "engine/ops/op.h"
#include "engine/ops/window2d.h"
#include "kernels/average_pool/average_pool.h"

namespace dyad {

namespace {
void run(const void* op_data, const StepIO& io) {
  kernels::average_pool__ref(*static_cast<const kernels::Pool2dParams*>(op_data), io.inputs[0],
                             io.outputs[0], io.pool);
}

void run_avx2(const void* op_data, const StepIO& io) {
  kernels::average_pool__avx2(*static_cast<const kernels::Pool2dParams*>(op_data), io.inputs[0],
                              io.outputs[0], io.pool);
}

#if defined(__aarch64__)
void run_neon(const void* op_data, const StepIO& io) {
  kernels::average_pool__neon(*static_cast<const kernels::Pool2dParams*>(op_data), io.inputs[0],
                              io.outputs[0], io.pool);
}
#endif

void run_avx512(const void* op_data, const StepIO& io) {
  kernels::average_pool__avx512(*static_cast<const kernels::Pool2dParams*>(op_data), io.inputs[0], io.outputs[0],
                                io.pool);
}
}  // namespace

Status build_average_pool(BuildContext& ctx) {
  auto p = std::make_shared<kernels::Pool2dParams>();
  // int64 is excluded: the kernel sums a window in int64.
  DYAD_RETURN_IF_ERROR(prepare_pool2d(ctx,
                                      {DType::kInt8, DType::kUint8, DType::kInt4, DType::kUint4,
                                       DType::kInt16, DType::kInt32},
                                      p.get()));
  if (p->kernel_h * p->kernel_w > (int64_t{1} << 31))
    return ctx.error("attrs.kernel", "a window of more than 2^31 positions could overflow the "
                                     "int64 sum");
  if (avx512_kernels_allowed() && kernels::average_avx2_fits(p->type, p->kernel_h * p->kernel_w)) {
    ctx.set_kernel("average_pool__avx512", run_avx512, std::move(p));
    return Status::ok();
  }
  if (avx2_kernels_allowed() || neon_kernels_allowed()) {
    if (kernels::average_avx2_fits(p->type, p->kernel_h * p->kernel_w)) {
      if (avx2_kernels_allowed())
        ctx.set_kernel("average_pool__avx2", run_avx2, std::move(p));
#if defined(__aarch64__)
      else
        ctx.set_kernel("average_pool__neon", run_neon, std::move(p));
#endif
      return Status::ok();
    }
    log_reference_reason(ctx, "int32 elements, or windows too large for int32 sums");
  }
  ctx.set_kernel("average_pool__ref", run, std::move(p));
  return Status::ok();
}

}  // namespace dyad
