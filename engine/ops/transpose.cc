// transpose (docs/format.md "transpose"): attr `perm`, a permutation of
// [0, rank) with rank <= 6; output axis i is input axis perm[i]. Dtype and
// quantization pass through; a per-channel axis moves with the permutation.
#include "kernels/transpose/transpose.h"

#include <memory>
#include <vector>

#include "engine/ops/op.h"
#include "engine/ops/quant_params.h"
#include "kernels/common/cpu.h"

namespace dyad {

namespace {

void run_ref(const void* op_data, const StepIO& io) {
  kernels::transpose__ref(*static_cast<const kernels::TransposeParams*>(op_data), io.inputs[0],
                          io.outputs[0], io.pool);
}

void run_blocked(const void* op_data, const StepIO& io) {
  kernels::transpose__blocked(*static_cast<const kernels::TransposeParams*>(op_data), io.inputs[0],
                              io.outputs[0], io.pool);
}

// The output's quantization is the input's, with a per-channel axis moved to
// its new position `axis`.
Status check_quantization(const BuildContext& ctx, int axis) {
  const TensorDesc& x = ctx.input(0);
  const TensorDesc& y = ctx.output(0);
  if (!x.quant.per_channel()) return expect_same_quantization(ctx, 0, 0);
  if (y.dtype != x.dtype)
    return ctx.error("outputs[0]",
                     "tensor '" + y.name + "' has dtype " + std::string(dtype_name(y.dtype)) +
                         ", but transpose passes " + std::string(dtype_name(x.dtype)) + " of '" +
                         x.name + "' through");
  const int64_t channels = x.shape[static_cast<size_t>(x.quant.axis)];
  bool same = y.quant.axis == axis && (!y.quant.has_scale() || y.quant.scales == x.quant.scales);
  for (int64_t c = 0; same && c < channels; ++c)
    same = y.quant.zero_point(c) == x.quant.zero_point(c);
  if (!same)
    return ctx.error("outputs[0]", "tensor '" + y.name +
                                       "' must carry the per-channel "
                                       "quantization of '" +
                                       x.name + "' along axis " + std::to_string(axis) +
                                       " (input axis " + std::to_string(x.quant.axis) +
                                       " moved by perm)");
  return Status::ok();
}

}  // namespace

Status build_transpose(BuildContext& ctx) {
  DYAD_RETURN_IF_ERROR(ctx.expect_io(1, 1, 1));
  DYAD_RETURN_IF_ERROR(expect_any_int_activation(ctx, 0));
  const TensorDesc& x = ctx.input(0);
  const size_t rank = x.shape.size();
  if (rank > static_cast<size_t>(kernels::kTransposeMaxRank))
    return ctx.error("inputs[0]", "tensor '" + x.name + "' has rank " + std::to_string(rank) +
                                      "; transpose supports at most " +
                                      std::to_string(kernels::kTransposeMaxRank));
  std::vector<int64_t> perm;
  DYAD_RETURN_IF_ERROR(ctx.attr_ints("perm", &perm, std::nullopt, 0));
  if (perm.size() != rank)
    return ctx.error("attrs.perm", "has " + std::to_string(perm.size()) + " entries, but input '" +
                                       x.name + "' has rank " + std::to_string(rank));
  std::vector<bool> seen(rank, false);
  for (size_t i = 0; i < rank; ++i) {
    if (perm[i] < 0 || perm[i] >= static_cast<int64_t>(rank))
      return ctx.error("attrs.perm[" + std::to_string(i) + "]",
                       std::to_string(perm[i]) + " is outside [0, " + std::to_string(rank) + ")");
    if (seen[static_cast<size_t>(perm[i])])
      return ctx.error("attrs.perm[" + std::to_string(i) + "]",
                       "axis " + std::to_string(perm[i]) +
                           " appears twice; perm must be a "
                           "permutation of [0, " +
                           std::to_string(rank) + ")");
    seen[static_cast<size_t>(perm[i])] = true;
  }

  auto p = std::make_shared<kernels::TransposeParams>();
  p->rank = static_cast<int>(rank);
  p->elem_bytes = dtype_storage_bytes(x.dtype);
  Shape ys(rank);
  int moved_axis = -1;
  for (size_t i = 0; i < rank; ++i) {
    p->in_shape[i] = x.shape[i];
    p->perm[i] = static_cast<int>(perm[i]);
    ys[i] = x.shape[static_cast<size_t>(perm[i])];
    if (perm[i] == x.quant.axis) moved_axis = static_cast<int>(i);
  }
  DYAD_RETURN_IF_ERROR(ctx.set_output_shape(0, ys));
  DYAD_RETURN_IF_ERROR(check_quantization(ctx, moved_axis));
  if (kernels::force_reference_kernels())
    ctx.set_kernel("transpose__ref", run_ref, std::move(p));
  else
    ctx.set_kernel("transpose__blocked", run_blocked, std::move(p));
  return Status::ok();
}

}  // namespace dyad
