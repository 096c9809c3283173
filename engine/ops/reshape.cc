// reshape (docs/format.md "reshape"): attr `shape` (positive ints, at most one
// -1); the element count, dtype and quantization are unchanged.
#include <memory>
#include <vector>

#include "engine/ops/op.h"
#include "engine/ops/quant_params.h"
#include "kernels/reshape/reshape.h"

namespace dyad {

namespace {
void run(const void* op_data, const StepIO& io) {
  kernels::reshape__ref(*static_cast<const size_t*>(op_data), io.inputs[0], io.outputs[0]);
}
}  // namespace

Status build_reshape(BuildContext& ctx) {
  DYAD_RETURN_IF_ERROR(ctx.expect_io(1, 1, 1));
  DYAD_RETURN_IF_ERROR(expect_any_int_activation(ctx, 0));
  DYAD_RETURN_IF_ERROR(expect_same_quantization(ctx, 0, 0));
  const TensorDesc& x = ctx.input(0);
  std::vector<int64_t> shape;
  DYAD_RETURN_IF_ERROR(ctx.attr_ints("shape", &shape, std::nullopt, 0, -1, INT64_MAX));
  const int64_t count = shape_elements(x.shape);
  int inferred = -1;
  int64_t known = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    const std::string field = "attrs.shape[" + std::to_string(i) + "]";
    if (shape[i] == 0) return ctx.error(field, "dimensions must be positive (or one -1)");
    if (shape[i] == -1) {
      if (inferred >= 0) return ctx.error(field, "only one dimension may be -1");
      inferred = static_cast<int>(i);
      continue;
    }
    if (shape[i] > count || known > count / shape[i])
      return ctx.error("attrs.shape", shape_to_string(shape) + " has more elements than the " +
                                          std::to_string(count) + " of input '" + x.name + "'");
    known *= shape[i];
  }
  if (inferred >= 0) {
    if (count % known != 0)
      return ctx.error("attrs.shape", "cannot infer the -1 of " + shape_to_string(shape) +
                                          ": " + std::to_string(count) + " elements of input '" +
                                          x.name + "' are not a multiple of " +
                                          std::to_string(known));
    shape[inferred] = count / known;
  } else if (known != count) {
    return ctx.error("attrs.shape", shape_to_string(shape) + " has " + std::to_string(known) +
                                        " elements, but input '" + x.name + "' " +
                                        shape_to_string(x.shape) + " has " +
                                        std::to_string(count));
  }
  DYAD_RETURN_IF_ERROR(ctx.set_output_shape(0, shape));
  auto bytes = std::make_shared<size_t>(static_cast<size_t>(count) *
                                        dtype_storage_bytes(x.dtype));
  ctx.set_kernel("reshape__ref", run, std::move(bytes));
  return Status::ok();
}

}  // namespace dyad
