// fully_connected (docs/format.md "fully_connected"): x [..., K], w [N, K],
// optional b [N] -> y [..., N].
#include <memory>
#include <vector>

#include "engine/ops/fully_connected_data.h"
#include "engine/ops/gemm_select.h"
#include "engine/ops/op.h"
#include "engine/ops/quant_params.h"
#include "kernels/fully_connected/fully_connected.h"

namespace dyad {

namespace {

struct FullyConnectedData {
  kernels::FullyConnectedParams params;  // params.out.requant is set at run time
  std::vector<int8_t> weights;           // [N, K], unpacked
  std::vector<int32_t> bias;             // empty: no bias
  std::vector<kernels::Dyadic> requant;  // empty: raw int32 output
};

template <typename Src,
          void (*Kernel)(const kernels::FullyConnectedParams&, const Src*, const int8_t*,
                         const int32_t*, void*, kernels::ThreadPool*)>
void run(const void* op_data, const StepIO& io) {
  const auto* d = static_cast<const FullyConnectedData*>(op_data);
  kernels::FullyConnectedParams p = d->params;
  p.out.requant = d->requant.empty() ? nullptr : d->requant.data();
  Kernel(p, static_cast<const Src*>(io.inputs[0]), d->weights.data(),
         d->bias.empty() ? nullptr : d->bias.data(), io.outputs[0], io.pool);
}

void run_gemm(const void* op_data, const StepIO& io) {
  const auto* d = static_cast<const FullyConnectedGemmData*>(op_data);
  d->gemm.run(io.inputs[0], static_cast<size_t>(d->rows), static_cast<size_t>(d->in_features),
              io.outputs[0], static_cast<size_t>(d->out_features), io.pool, io.scratch);
}

// The one place a fully_connected kernel is chosen: the V:N:M sparse GEMM for
// a sparse weight, the exact AVX2 GEMM/GEMV when it supports the operands
// (kernels/gemm/gemm.inc), else the reference (on the dense, pruned weights).
Status select_kernel(BuildContext& ctx, bool unsigned_input,
                     std::shared_ptr<const FullyConnectedData> data) {
  ctx.set_op_data_bytes(owned_bytes(data->weights, data->bias, data->requant));  // or their packing
  GemmOperands ops;
  ops.src_dtype = ctx.input(0).dtype;
  ops.src_zero_point = data->params.src_zero_point;
  ops.weight = &ctx.input(1);
  ops.M = data->params.rows;
  ops.N = data->params.out_features;
  ops.K = data->params.in_features;
  ops.weights = &data->weights;
  ops.bias = &data->bias;
  ops.requant = &data->requant;
  ops.out = data->params.out;
  auto gemm = std::make_shared<FullyConnectedGemmData>();
  DYAD_RETURN_IF_ERROR(plan_gemm(ctx, ops, &gemm->gemm));
  if (!gemm->gemm.empty()) {
    gemm->rows = ops.M;
    gemm->in_features = ops.K;
    gemm->out_features = ops.N;
    DYAD_RETURN_IF_ERROR(
        ctx.set_scratch_bytes_per_thread("inputs[1]", gemm->gemm.scratch_bytes_per_thread()));
    const std::string name = "fully_connected:" + gemm->gemm.name();
    ctx.set_kernel(name, run_gemm, std::move(gemm));
    return Status::ok();
  }
  if (unsigned_input)
    ctx.set_kernel("fully_connected_u8_qc8w__ref",
                   run<uint8_t, kernels::fully_connected_u8_qc8w__ref>, data);
  else
    ctx.set_kernel("fully_connected_s8_qc8w__ref",
                   run<int8_t, kernels::fully_connected_s8_qc8w__ref>, data);
  return Status::ok();
}

}  // namespace

Status build_fully_connected(BuildContext& ctx) {
  DYAD_RETURN_IF_ERROR(ctx.expect_io(2, 3, 1));
  const DType x_dtype = ctx.input(0).dtype;
  DYAD_RETURN_IF_ERROR(expect_activation_input(
      ctx, 0, {DType::kInt8, DType::kUint8, DType::kInt4, DType::kUint4}));
  DYAD_RETURN_IF_ERROR(ctx.expect_output_dtype(
      0, {DType::kInt8, DType::kUint8, DType::kInt4, DType::kUint4, DType::kInt32}));
  const Shape& xs = ctx.input(0).shape;
  if (xs.empty())
    return ctx.error("inputs[0]", "tensor '" + ctx.input(0).name +
                                      "' is a scalar; expected shape [..., in_features]");

  auto data = std::make_shared<FullyConnectedData>();
  DYAD_RETURN_IF_ERROR(read_weights(ctx, 1, &data->weights));
  DYAD_RETURN_IF_ERROR(ctx.expect_input_rank(1, 2));
  const Shape& ws = ctx.input(1).shape;  // [N, K]
  const int64_t out_features = ws[0], in_features = ws[1];
  if (xs.back() != in_features)
    return ctx.error("inputs[1]", "weight '" + ctx.input(1).name + "' has shape " +
                                      shape_to_string(ws) + ", but input '" + ctx.input(0).name +
                                      "' has " + std::to_string(xs.back()) +
                                      " features (shape " + shape_to_string(xs) + ")");
  Shape ys = xs;
  ys.back() = out_features;
  DYAD_RETURN_IF_ERROR(ctx.set_output_shape(0, ys));
  DYAD_RETURN_IF_ERROR(read_bias(ctx, 2, out_features, &data->bias));

  int64_t z_x = 0;
  DYAD_RETURN_IF_ERROR(single_zero_point(ctx, "inputs[0]", ctx.input(0), &z_x));
  DYAD_RETURN_IF_ERROR(
      check_accumulator_range(ctx, x_dtype, z_x, data->weights, data->bias, out_features));

  kernels::FullyConnectedParams& p = data->params;
  p.rows = shape_elements(xs) / in_features;
  p.in_features = in_features;
  p.out_features = out_features;
  p.src_zero_point = static_cast<int32_t>(z_x);
  DYAD_RETURN_IF_ERROR(
      read_output_stage(ctx, static_cast<size_t>(out_features), &p.out, &data->requant));

  int64_t macs = 0;
  DYAD_RETURN_IF_ERROR(ctx.add_work("inputs[1]", "multiply-accumulates",
                                    {p.rows, out_features, in_features}, &macs));
  ctx.set_macs(macs);
  set_sparse_macs(ctx, 1, p.rows);
  return select_kernel(ctx, dtype_is_unsigned(x_dtype), std::move(data));
}

}  // namespace dyad
