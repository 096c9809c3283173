// conv2d (docs/format.md "conv2d"): checks, shape inference, constants, and
// kernel selection.
#include <algorithm>
#include <memory>
#include <optional>
#include <vector>

#include "engine/core/checked_math.h"

#include "engine/ops/depthwise_select.h"
#include "engine/ops/gemm_select.h"
#include "engine/ops/op.h"
#include "engine/ops/quant_params.h"
#include "engine/ops/window2d.h"
#include "kernels/conv2d/conv2d.h"
#include "kernels/conv2d/conv_direct.h"
#include "kernels/conv2d/im2col.h"

namespace dyad {

namespace {

struct Conv2dData {
  kernels::Conv2dParams params;  // params.out.requant is set from `requant` at run time
  std::vector<int8_t> weights;   // OHWI, unpacked
  std::vector<int32_t> bias;     // empty: no bias
  std::vector<kernels::Dyadic> requant;  // empty: raw int32 output
};

template <typename Src, void (*Kernel)(const kernels::Conv2dParams&, const Src*, const int8_t*,
                                       const int32_t*, void*, kernels::ThreadPool*)>
void run(const void* op_data, const StepIO& io) {
  const auto* d = static_cast<const Conv2dData*>(op_data);
  kernels::Conv2dParams p = d->params;
  p.out.requant = d->requant.empty() ? nullptr : d->requant.data();
  Kernel(p, static_cast<const Src*>(io.inputs[0]), d->weights.data(),
         d->bias.empty() ? nullptr : d->bias.data(), io.outputs[0], io.pool);
}

// conv2d with groups == 1 as a GEMM: a 1x1, stride-1, unpadded conv reads the
// NHWC input directly as [pixels, C]. Any other window is, for a dense
// weight, a direct convolution where the GEMM variant reads windows in place
// (kernels/conv2d/conv_direct.h: a padded copy of the input, no windows
// gathered), else an implicit GEMM (the GEMM gathers each activation
// block's windows with im2col_rows_x8 just before packing it: no M x K
// matrix in memory); a V:N:M sparse weight goes through a whole im2col into
// the step's scratch.
enum class Conv2dGemmSource : uint8_t { kPixels, kImageWindows, kWindows, kIm2col };

struct Conv2dGemmData {
  kernels::Conv2dParams params;
  GemmKernel gemm;
  Conv2dGemmSource source = Conv2dGemmSource::kIm2col;
  size_t im2col_bytes = 0;  // kIm2col: 64-byte multiple; the GEMM's scratch follows it
};

struct WindowSource {
  const kernels::Conv2dParams* params;
  const uint8_t* src;
};

void fill_windows(const void* ctx, size_t m0, size_t rows, uint8_t* out, size_t out_stride) {
  const auto* w = static_cast<const WindowSource*>(ctx);
  kernels::im2col_rows_x8(*w->params, w->src, static_cast<uint8_t>(w->params->src_zero_point), m0,
                          rows, out, out_stride);
}

void run_gemm(const void* op_data, const StepIO& io) {
  const auto* d = static_cast<const Conv2dGemmData*>(op_data);
  const kernels::Conv2dParams& p = d->params;
  const size_t rows = static_cast<size_t>(p.batch * p.out_h * p.out_w);
  const size_t k = static_cast<size_t>(p.kernel_h * p.kernel_w * p.in_c);
  const size_t n = static_cast<size_t>(p.out_c);
  const auto* x = static_cast<const uint8_t*>(io.inputs[0]);
  switch (d->source) {
    case Conv2dGemmSource::kPixels:
      d->gemm.run(x, rows, k, io.outputs[0], n, io.pool, io.scratch);
      return;
    case Conv2dGemmSource::kImageWindows:
      kernels::conv_direct_run(*d->gemm.dense_plan(), p, x, io.outputs[0], io.pool, io.scratch);
      return;
    case Conv2dGemmSource::kWindows: {
      const WindowSource windows{&p, x};
      d->gemm.run_rows({fill_windows, &windows}, rows, io.outputs[0], n, io.pool, io.scratch);
      return;
    }
    case Conv2dGemmSource::kIm2col:
      kernels::im2col_x8(p, x, static_cast<uint8_t>(p.src_zero_point), io.scratch, io.pool);
      d->gemm.run(io.scratch, rows, k, io.outputs[0], n, io.pool, io.scratch + d->im2col_bytes);
      return;
  }
}

// conv2d with groups > 1 that the depthwise kernel does not take: one
// implicit GEMM per group, over the group's input channels
// (im2col_group_rows_x8), writing the group's output channels (dst stride
// out_c). Groups of fewer than kMinGroupOutputs outputs keep the reference
// (a GEMM tile of 16 columns would be mostly padding).
constexpr int64_t kMinGroupOutputs = 8;

struct Conv2dGroupedData {
  kernels::Conv2dParams params;
  std::vector<GemmKernel> gemms;  // one per group
};

struct GroupWindowSource {
  const kernels::Conv2dParams* params;
  const uint8_t* src;
  int64_t group;
};

void fill_group_windows(const void* ctx, size_t m0, size_t rows, uint8_t* out, size_t out_stride) {
  const auto* w = static_cast<const GroupWindowSource*>(ctx);
  kernels::im2col_group_rows_x8(*w->params, w->src, static_cast<uint8_t>(w->params->src_zero_point), w->group,
                                m0, rows, out, out_stride);
}

void run_grouped(const void* op_data, const StepIO& io) {
  const auto* d = static_cast<const Conv2dGroupedData*>(op_data);
  const kernels::Conv2dParams& p = d->params;
  const size_t rows = static_cast<size_t>(p.batch * p.out_h * p.out_w);
  const size_t group_outputs = static_cast<size_t>(p.out_c / p.groups);
  const size_t out_bytes = p.out.type == kernels::IntType::kS32 ? 4 : 1;
  auto* y = static_cast<uint8_t*>(io.outputs[0]);
  for (int64_t g = 0; g < p.groups; ++g) {
    const GroupWindowSource windows{&p, static_cast<const uint8_t*>(io.inputs[0]), g};
    d->gemms[static_cast<size_t>(g)].run_rows({fill_group_windows, &windows}, rows,
                                              y + static_cast<size_t>(g) * group_outputs * out_bytes,
                                              static_cast<size_t>(p.out_c), io.pool, io.scratch);
  }
}

Status select_grouped_gemm(BuildContext& ctx, const Conv2dData& data, bool* chosen) {
  const kernels::Conv2dParams& p = data.params;
  const int64_t og = p.out_c / p.groups, cg = p.in_c / p.groups;
  if (og < kMinGroupOutputs) return Status::ok();
  const size_t k = static_cast<size_t>(p.kernel_h * p.kernel_w * cg);
  auto grouped = std::make_shared<Conv2dGroupedData>();
  grouped->params = p;
  grouped->gemms.resize(static_cast<size_t>(p.groups));
  size_t scratch = 0;
  for (int64_t g = 0; g < p.groups; ++g) {
    const size_t first = static_cast<size_t>(g * og), last = first + static_cast<size_t>(og);
    // The group's rows of the OHWI weights are [og, KH*KW*cg], contiguous.
    const std::vector<int8_t> weights(data.weights.begin() + static_cast<ptrdiff_t>(first * k),
                                      data.weights.begin() + static_cast<ptrdiff_t>(last * k));
    std::vector<int32_t> bias;
    if (!data.bias.empty()) bias.assign(data.bias.begin() + first, data.bias.begin() + last);
    std::vector<kernels::Dyadic> requant;
    if (!data.requant.empty()) requant.assign(data.requant.begin() + first, data.requant.begin() + last);
    GemmOperands ops;
    ops.src_dtype = ctx.input(0).dtype;
    ops.src_zero_point = p.src_zero_point;
    ops.weight = &ctx.input(1);
    ops.M = p.batch * p.out_h * p.out_w;
    ops.N = og;
    ops.K = static_cast<int64_t>(k);
    ops.weights = &weights;
    ops.bias = &bias;
    ops.requant = &requant;
    ops.out = p.out;
    GemmKernel& gemm = grouped->gemms[static_cast<size_t>(g)];
    DYAD_RETURN_IF_ERROR(plan_gemm(ctx, ops, &gemm));
    if (gemm.empty() || !gemm.takes_row_source()) return Status::ok();  // the reference, then
    scratch = std::max(scratch, gemm.row_source_scratch_bytes_per_thread());
  }
  DYAD_RETURN_IF_ERROR(ctx.set_scratch_bytes_per_thread("inputs[1]", scratch));
  const std::string name = "conv2d_grouped:" + grouped->gemms[0].name();
  ctx.set_kernel(name, run_grouped, std::move(grouped));
  *chosen = true;
  return Status::ok();
}

// Whether the dense GEMM planned for ops can run p as a direct convolution
// (kernels/conv2d/conv_direct.h), re-planned with the weights laid out for
// its K where the window's rows are not whole k quads (the stems).
Status plan_direct(const BuildContext& ctx, GemmOperands ops, const kernels::Conv2dParams& p, GemmKernel* gemm,
                   bool* direct) {
  const kernels::GemmPlan* dense = gemm->dense_plan();
  *direct = false;
  if (dense == nullptr || !kernels::conv_direct_suits(*dense, p)) return Status::ok();
  if (kernels::conv_direct_supported(*dense, p)) {
    *direct = true;
    return Status::ok();
  }
  const std::vector<int8_t> weights = kernels::conv_direct_weights(p, *ops.weights);
  ops.weights = &weights;
  ops.K = kernels::conv_direct_k(p);
  GemmKernel padded;
  DYAD_RETURN_IF_ERROR(plan_gemm(ctx, ops, &padded));
  if (padded.dense_plan() == nullptr || !kernels::conv_direct_supported(*padded.dense_plan(), p))
    return Status::ok();
  *gemm = std::move(padded);
  *direct = true;
  return Status::ok();
}

// The one place a conv2d kernel is chosen: for groups == 1 the V:N:M sparse
// GEMM for a sparse weight, the exact AVX2 GEMM when it supports the operands
// (kernels/gemm/gemm.inc), else the reference (on the dense, pruned weights).
Status select_kernel(BuildContext& ctx, bool unsigned_input,
                     std::shared_ptr<const Conv2dData> data) {
  ctx.set_op_data_bytes(owned_bytes(data->weights, data->bias, data->requant));  // or their packing
  const kernels::Conv2dParams& p = data->params;
  if (p.groups == 1) {
    GemmOperands ops;
    ops.src_dtype = ctx.input(0).dtype;
    ops.src_zero_point = p.src_zero_point;
    ops.weight = &ctx.input(1);
    ops.M = p.batch * p.out_h * p.out_w;
    ops.N = p.out_c;
    ops.K = p.kernel_h * p.kernel_w * p.in_c;
    ops.weights = &data->weights;  // OHWI is [O, KH*KW*C] row-major
    ops.bias = &data->bias;
    ops.requant = &data->requant;
    ops.out = p.out;
    auto gemm = std::make_shared<Conv2dGemmData>();
    DYAD_RETURN_IF_ERROR(plan_gemm(ctx, ops, &gemm->gemm));
    if (!gemm->gemm.empty()) {
      gemm->params = p;
      const bool one_by_one = p.kernel_h == 1 && p.kernel_w == 1 && p.stride_h == 1 &&
                              p.stride_w == 1 && p.pad_top == 0 && p.pad_left == 0 &&
                              p.out_h == p.in_h && p.out_w == p.in_w;
      bool direct = false;
      if (!one_by_one) DYAD_RETURN_IF_ERROR(plan_direct(ctx, ops, p, &gemm->gemm, &direct));
      gemm->source = one_by_one                      ? Conv2dGemmSource::kPixels
                     : direct                        ? Conv2dGemmSource::kImageWindows
                     : gemm->gemm.takes_row_source() ? Conv2dGemmSource::kWindows
                                                     : Conv2dGemmSource::kIm2col;
      std::optional<size_t> scratch;
      if (gemm->source == Conv2dGemmSource::kImageWindows) {
        // The shared padded image plus one GEMM slice per thread fits in
        // num_threads slices of this size.
        scratch = checked_add(kernels::conv_direct_shared_scratch_bytes(p), gemm->gemm.scratch_bytes_per_thread());
      } else if (gemm->source == Conv2dGemmSource::kWindows) {
        scratch = gemm->gemm.row_source_scratch_bytes_per_thread();
      } else {
        // The im2col buffer plus one GEMM slice per thread fits in
        // num_threads slices of this size.
        std::optional<size_t> im2col =
            checked_mul(static_cast<size_t>(ops.M), static_cast<size_t>(ops.K));
        if (im2col) im2col = checked_align_up(gemm->source == Conv2dGemmSource::kPixels ? 0 : *im2col, 64);
        if (im2col) gemm->im2col_bytes = *im2col;
        scratch = im2col;
        if (scratch) scratch = checked_add(*scratch, gemm->gemm.scratch_bytes_per_thread());
      }
      DYAD_RETURN_IF_ERROR(ctx.set_scratch_bytes_per_thread("inputs[1]", scratch));
      static constexpr const char* kPrefix[] = {"conv2d_1x1:", "conv2d_direct:", "conv2d_implicit:",
                                                "conv2d_im2col:"};
      const std::string name = kPrefix[static_cast<int>(gemm->source)] + gemm->gemm.name();
      ctx.set_kernel(name, run_gemm, std::move(gemm));
      return Status::ok();
    }
  }
  if (p.groups > 1) {
    bool chosen = false;
    DYAD_RETURN_IF_ERROR(select_depthwise(ctx, unsigned_input, p, data->weights, data->bias,
                                          data->requant, &chosen));
    if (chosen) return Status::ok();
    DYAD_RETURN_IF_ERROR(select_grouped_gemm(ctx, *data, &chosen));
    if (chosen) return Status::ok();
  }
  if (unsigned_input)
    ctx.set_kernel("conv2d_u8_qc8w__ref", run<uint8_t, kernels::conv2d_u8_qc8w__ref>, data);
  else
    ctx.set_kernel("conv2d_s8_qc8w__ref", run<int8_t, kernels::conv2d_s8_qc8w__ref>, data);
  return Status::ok();
}

}  // namespace

Status build_conv2d(BuildContext& ctx) {
  DYAD_RETURN_IF_ERROR(ctx.expect_io(2, 3, 1));
  const DType x_dtype = ctx.input(0).dtype;
  DYAD_RETURN_IF_ERROR(expect_activation_input(
      ctx, 0, {DType::kInt8, DType::kUint8, DType::kInt4, DType::kUint4}));
  DYAD_RETURN_IF_ERROR(ctx.expect_output_dtype(
      0, {DType::kInt8, DType::kUint8, DType::kInt4, DType::kUint4, DType::kInt32}));
  Nhwc in;
  DYAD_RETURN_IF_ERROR(read_nhwc(ctx, 0, &in));

  auto data = std::make_shared<Conv2dData>();
  DYAD_RETURN_IF_ERROR(read_weights(ctx, 1, &data->weights));
  DYAD_RETURN_IF_ERROR(ctx.expect_input_rank(1, 4));
  const Shape& ws = ctx.input(1).shape;  // [O, KH, KW, C / groups]
  const int64_t out_c = ws[0];

  int64_t groups = 1;
  DYAD_RETURN_IF_ERROR(ctx.attr_int("groups", &groups, 1, 1, INT32_MAX));
  if (in.c % groups != 0 || out_c % groups != 0)
    return ctx.error("attrs.groups", "groups " + std::to_string(groups) +
                                         " must divide the input channels (" +
                                         std::to_string(in.c) + ") and the output channels (" +
                                         std::to_string(out_c) + ")");
  if (ws[3] != in.c / groups)
    return ctx.error("inputs[1]", "weight '" + ctx.input(1).name + "' has shape " +
                                      shape_to_string(ws) + "; its last dim must be input "
                                      "channels / groups = " + std::to_string(in.c / groups));

  if (ctx.input(1).sparsity.vnm && groups != 1)
    return ctx.error("attrs.groups", "weight '" + ctx.input(1).name +
                                         "' is V:N:M sparse, which needs groups 1, got " +
                                         std::to_string(groups));

  Window2d win;
  win.kernel_h = ws[1];
  win.kernel_w = ws[2];
  DYAD_RETURN_IF_ERROR(read_window2d(ctx, in, 1, 1, true, out_c, &win));
  DYAD_RETURN_IF_ERROR(ctx.set_output_shape(0, {in.n, win.out_h, win.out_w, out_c}));
  DYAD_RETURN_IF_ERROR(read_bias(ctx, 2, out_c, &data->bias));

  int64_t z_x = 0;
  DYAD_RETURN_IF_ERROR(single_zero_point(ctx, "inputs[0]", ctx.input(0), &z_x));
  DYAD_RETURN_IF_ERROR(check_accumulator_range(ctx, x_dtype, z_x, data->weights, data->bias, out_c));

  kernels::Conv2dParams& p = data->params;
  p.batch = in.n;
  p.in_h = in.h;
  p.in_w = in.w;
  p.in_c = in.c;
  p.out_h = win.out_h;
  p.out_w = win.out_w;
  p.out_c = out_c;
  p.kernel_h = win.kernel_h;
  p.kernel_w = win.kernel_w;
  p.stride_h = win.stride_h;
  p.stride_w = win.stride_w;
  p.dilation_h = win.dilation_h;
  p.dilation_w = win.dilation_w;
  p.pad_top = win.pad_top;
  p.pad_left = win.pad_left;
  p.groups = groups;
  p.src_zero_point = static_cast<int32_t>(z_x);

  DYAD_RETURN_IF_ERROR(
      read_output_stage(ctx, static_cast<size_t>(out_c), &p.out, &data->requant));

  int64_t macs = 0;
  DYAD_RETURN_IF_ERROR(ctx.add_work(
      "inputs[1]", "multiply-accumulates",
      {in.n, win.out_h, win.out_w, out_c, win.kernel_h, win.kernel_w, in.c / groups}, &macs));
  ctx.set_macs(macs);
  set_sparse_macs(ctx, 1, in.n * win.out_h * win.out_w);
  return select_kernel(ctx, dtype_is_unsigned(x_dtype), std::move(data));
}

}  // namespace dyad
