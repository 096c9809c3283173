// max_pool (docs/format.md "max_pool"): the integers pass through.
#include <memory>

#include "engine/ops/kernel_select.h"
#include "engine/ops/op.h"
#include "engine/ops/window2d.h"
#include "kernels/max_pool/max_pool.h"

namespace dyad {

namespace {
void run(const void* op_data, const StepIO& io) {
  kernels::max_pool__ref(*static_cast<const kernels::Pool2dParams*>(op_data), io.inputs[0],
                         io.outputs[0], io.pool);
}

void run_avx2(const void* op_data, const StepIO& io) {
  kernels::max_pool__avx2(*static_cast<const kernels::Pool2dParams*>(op_data), io.inputs[0],
                          io.outputs[0], io.pool);
}

#if defined(__aarch64__)
void run_neon(const void* op_data, const StepIO& io) {
  kernels::max_pool__neon(*static_cast<const kernels::Pool2dParams*>(op_data), io.inputs[0],
                          io.outputs[0], io.pool);
}
#endif

void run_avx512(const void* op_data, const StepIO& io) {
  kernels::max_pool__avx512(*static_cast<const kernels::Pool2dParams*>(op_data), io.inputs[0], io.outputs[0], io.pool);
}
}  // namespace

Status build_max_pool(BuildContext& ctx) {
  auto p = std::make_shared<kernels::Pool2dParams>();
  DYAD_RETURN_IF_ERROR(prepare_pool2d(ctx,
                                      {DType::kInt8, DType::kUint8, DType::kInt4, DType::kUint4,
                                       DType::kInt16, DType::kInt32, DType::kInt64},
                                      p.get()));
  if (avx512_kernels_allowed() && kernels::max_pool_avx2_supports(*p)) {
    ctx.set_kernel("max_pool__avx512", run_avx512, std::move(p));
    return Status::ok();
  }
  if (avx2_kernels_allowed() || neon_kernels_allowed()) {
    if (kernels::max_pool_avx2_supports(*p)) {
      if (avx2_kernels_allowed())
        ctx.set_kernel("max_pool__avx2", run_avx2, std::move(p));
#if defined(__aarch64__)
      else
        ctx.set_kernel("max_pool__neon", run_neon, std::move(p));
#endif
      return Status::ok();
    }
    log_reference_reason(ctx, "int64 elements");
  }
  ctx.set_kernel("max_pool__ref", run, std::move(p));
  return Status::ok();
}

}  // namespace dyad
