// concat (docs/format.md "concat"): inputs of one dtype and quantization,
// equal except along `axis`.
#include <climits>
#include <memory>
#include <optional>
#include <vector>

#include "engine/core/checked_math.h"

#include "engine/ops/op.h"
#include "engine/ops/quant_params.h"
#include "kernels/concat/concat.h"

namespace dyad {

namespace {

struct ConcatData {
  size_t outer = 1;                // product of the dims before the axis
  std::vector<size_t> slice_bytes; // per input: dims from the axis on, in bytes
};

void run(const void* op_data, const StepIO& io) {
  const auto* d = static_cast<const ConcatData*>(op_data);
  kernels::concat__ref(d->outer, d->slice_bytes.size(), d->slice_bytes.data(), io.inputs,
                       io.outputs[0]);
}

}  // namespace

Status build_concat(BuildContext& ctx) {
  DYAD_RETURN_IF_ERROR(ctx.expect_io(1, INT_MAX, 1));
  const TensorDesc& first = ctx.input(0);
  const int64_t rank = static_cast<int64_t>(first.shape.size());
  if (rank == 0) return ctx.error("inputs[0]", "tensor '" + first.name + "' is a scalar");
  int64_t axis = 0;
  DYAD_RETURN_IF_ERROR(ctx.attr_int("axis", &axis, std::nullopt, -rank, rank - 1));
  if (axis < 0) axis += rank;

  Shape out_shape = first.shape;
  out_shape[axis] = 0;
  for (int i = 0; i < ctx.num_inputs(); ++i) {
    const std::string field = "inputs[" + std::to_string(i) + "]";
    if (!ctx.has_input(i)) return ctx.error(field, "concat inputs cannot be omitted");
    DYAD_RETURN_IF_ERROR(expect_any_int_activation(ctx, i));
    const TensorDesc& t = ctx.input(i);
    if (t.dtype != first.dtype)
      return ctx.error(field, "tensor '" + t.name + "' has dtype " +
                                  std::string(dtype_name(t.dtype)) + ", but '" + first.name +
                                  "' has " + std::string(dtype_name(first.dtype)));
    bool same_dims = t.shape.size() == first.shape.size();
    for (int64_t d = 0; same_dims && d < rank; ++d)
      same_dims = d == axis || t.shape[d] == first.shape[d];
    if (!same_dims)
      return ctx.error(field, "tensor '" + t.name + "' has shape " + shape_to_string(t.shape) +
                                  ", which differs from " + shape_to_string(first.shape) +
                                  " of '" + first.name + "' outside axis " +
                                  std::to_string(axis));
    if (t.quant.zero_points != first.quant.zero_points || t.quant.scales != first.quant.scales ||
        t.quant.axis != first.quant.axis)
      return ctx.error(field, "tensor '" + t.name + "' is quantized differently from '" +
                                  first.name + "'; insert a requantize");
    const std::optional<int64_t> sum = checked_add(out_shape[axis], t.shape[axis]);
    if (!sum) return ctx.error(field, "the concatenated axis " + std::to_string(axis) + " overflows");
    out_shape[axis] = *sum;
  }
  DYAD_RETURN_IF_ERROR(expect_same_quantization(ctx, 0, 0));
  DYAD_RETURN_IF_ERROR(ctx.set_output_shape(0, out_shape));

  auto data = std::make_shared<ConcatData>();
  for (int64_t d = 0; d < axis; ++d) data->outer *= static_cast<size_t>(first.shape[d]);
  for (int i = 0; i < ctx.num_inputs(); ++i) {
    const Shape& s = ctx.input(i).shape;
    size_t slice = dtype_storage_bytes(first.dtype);
    for (int64_t d = axis; d < rank; ++d) slice *= static_cast<size_t>(s[d]);
    data->slice_bytes.push_back(slice);
  }
  ctx.set_kernel("concat__ref", run, std::move(data));
  return Status::ok();
}

}  // namespace dyad
