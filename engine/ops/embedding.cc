// embedding (docs/format.md "embedding"): a row gather, ids (int32 or int64,
// any shape) into a constant table [vocab, dim] -> [*ids.shape, dim] with the
// table's dtype and quantization. Ids come from the caller, so an id outside
// [0, vocab) is a run-time error (Session::run returns it, naming the node).
#include "kernels/embedding/embedding.h"

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "engine/ops/op.h"
#include "engine/ops/quant_params.h"

namespace dyad {

namespace {

struct EmbeddingData {
  kernels::EmbeddingParams params;
  bool ids_int64 = false;
  bool constant_ids = false;
  std::vector<int64_t> ids;  // the ids when they are a constant, checked at build time
  std::string ids_name;
};

template <typename TI>
int64_t gather(const EmbeddingData& d, const void* table, const void* ids, void* out,
               int64_t* bad_id) {
  const TI* typed = static_cast<const TI*>(ids);
  const int64_t bad = kernels::embedding_gather__ref(d.params, table, typed, out);
  if (bad >= 0) *bad_id = static_cast<int64_t>(typed[bad]);
  return bad;
}

void run(const void* op_data, const StepIO& io) {
  const auto* d = static_cast<const EmbeddingData*>(op_data);
  int64_t bad_id = 0;
  const int64_t bad =
      d->constant_ids ? gather<int64_t>(*d, io.inputs[1], d->ids.data(), io.outputs[0], &bad_id)
      : d->ids_int64  ? gather<int64_t>(*d, io.inputs[1], io.inputs[0], io.outputs[0], &bad_id)
                      : gather<int32_t>(*d, io.inputs[1], io.inputs[0], io.outputs[0], &bad_id);
  if (bad >= 0 && io.status != nullptr)
    *io.status = invalid_argument("input '" + d->ids_name + "': id " + std::to_string(bad_id) +
                                  " at position " + std::to_string(bad) + " is outside [0, " +
                                  std::to_string(d->params.vocab) + ")");
}

// Constant ids are read (and range checked) once, at build time.
Status read_constant_ids(const BuildContext& ctx, int64_t vocab, EmbeddingData* d) {
  const TensorDesc& t = ctx.input(0);
  const size_t count = static_cast<size_t>(shape_elements(t.shape));
  const size_t width = dtype_storage_bytes(t.dtype);
  if (t.data == nullptr || t.data_bytes < count * width)
    return ctx.error("inputs[0]", "constant ids '" + t.name + "' have no data");
  d->ids.resize(count);
  for (size_t i = 0; i < count; ++i) {
    if (width == 4) {
      int32_t v;
      std::memcpy(&v, t.data + 4 * i, 4);
      d->ids[i] = v;
    } else {
      std::memcpy(&d->ids[i], t.data + 8 * i, 8);
    }
    if (d->ids[i] < 0 || d->ids[i] >= vocab)
      return ctx.error("inputs[0]", "constant ids '" + t.name + "': id " +
                                        std::to_string(d->ids[i]) + " at position " +
                                        std::to_string(i) + " is outside [0, " +
                                        std::to_string(vocab) + ")");
  }
  d->constant_ids = true;
  return Status::ok();
}

}  // namespace

Status build_embedding(BuildContext& ctx) {
  DYAD_RETURN_IF_ERROR(ctx.expect_io(2, 2, 1));
  DYAD_RETURN_IF_ERROR(ctx.expect_input_dtype(0, {DType::kInt32, DType::kInt64}));
  DYAD_RETURN_IF_ERROR(ctx.expect_constant(1));
  DYAD_RETURN_IF_ERROR(ctx.expect_input_dtype(
      1, {DType::kInt8, DType::kUint8, DType::kInt16, DType::kInt32, DType::kInt64}));
  DYAD_RETURN_IF_ERROR(ctx.expect_input_rank(1, 2));
  const TensorDesc& ids = ctx.input(0);
  const TensorDesc& table = ctx.input(1);
  if (table.quant.scales.size() > 1 || table.quant.zero_points.size() > 1)
    return ctx.error("inputs[1]", "table '" + table.name +
                                      "' is quantized per channel; embedding tables are "
                                      "quantized per tensor");
  const int64_t vocab = table.shape[0], dim = table.shape[1];
  const size_t row_bytes = static_cast<size_t>(dim) * dtype_storage_bytes(table.dtype);
  if (table.data == nullptr || table.data_bytes < static_cast<size_t>(vocab) * row_bytes)
    return ctx.error("inputs[1]", "table '" + table.name + "' has no data");

  Shape ys = ids.shape;
  ys.push_back(dim);
  DYAD_RETURN_IF_ERROR(ctx.set_output_shape(0, ys));
  DYAD_RETURN_IF_ERROR(expect_same_quantization(ctx, 1, 0));

  auto data = std::make_shared<EmbeddingData>();
  data->params.num_ids = shape_elements(ids.shape);
  data->params.vocab = vocab;
  data->params.row_bytes = row_bytes;
  data->ids_int64 = ids.dtype == DType::kInt64;
  data->ids_name = ids.name;
  if (ids.is_constant) DYAD_RETURN_IF_ERROR(read_constant_ids(ctx, vocab, data.get()));
  const char* kernel = data->ids_int64 || data->constant_ids ? "embedding_gather_s64__ref"
                                                             : "embedding_gather_s32__ref";
  ctx.set_kernel(kernel, run, std::move(data));
  return Status::ok();
}

}  // namespace dyad
