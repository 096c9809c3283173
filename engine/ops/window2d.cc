#include "engine/ops/window2d.h"

#include <optional>
#include <string>
#include <vector>

#include "engine/core/checked_math.h"
#include "engine/core/limits.h"

#include "engine/ops/quant_params.h"

namespace dyad {

namespace {
constexpr int64_t kMaxWindowValue = limits::kMaxWindowAttribute;

// (in + before + after - dilated) / stride + 1, or an error when the padded
// input is smaller than the dilated kernel. The kernel may come from a weight
// shape, so the arithmetic is checked rather than trusted to the attribute
// bounds.
Status output_size(const BuildContext& ctx, const char* dim, int64_t in, int64_t before,
                   int64_t after, int64_t kernel, int64_t dilation, int64_t stride,
                   int64_t* out) {
  std::optional<int64_t> padded = checked_add(in, before);
  if (padded) padded = checked_add(*padded, after);
  std::optional<int64_t> dilated = checked_mul(kernel - 1, dilation);
  if (dilated) dilated = checked_add(*dilated, int64_t{1});
  if (!padded) return ctx.error("attrs.padding", std::string("padded input ") + dim + " overflows");
  if (!dilated)
    return ctx.error("attrs.dilation", std::string("dilated kernel ") + dim + " overflows");
  if (*padded < *dilated)
    return ctx.error("inputs[0]", std::string("padded input ") + dim + " " +
                                      std::to_string(*padded) + " is smaller than the (dilated) " +
                                      "kernel " + dim + " " + std::to_string(*dilated));
  *out = (*padded - *dilated) / stride + 1;
  return Status::ok();
}

// Padding is the one window attribute that grows the output beyond the input;
// name it when the output breaks the tensor limits (set_output_shape would
// report the same shape, but only as "outputs[0]").
Status check_padded_output(const BuildContext& ctx, const Nhwc& in, int64_t out_channels,
                           const Window2d& win) {
  if (win.pad_top == 0 && win.pad_left == 0 && win.pad_bottom == 0 && win.pad_right == 0)
    return Status::ok();
  const std::string too_large =
      shape_limit_violation({in.n, win.out_h, win.out_w, out_channels}, ctx.output(0).dtype);
  if (too_large.empty()) return Status::ok();
  return ctx.error("attrs.padding", "output height " + std::to_string(win.out_h) + " and width " +
                                        std::to_string(win.out_w) + ": " + too_large);
}
}  // namespace

Status read_nhwc(const BuildContext& ctx, int index, Nhwc* out) {
  DYAD_RETURN_IF_ERROR(ctx.expect_input_rank(index, 4));
  const Shape& s = ctx.input(index).shape;
  *out = {s[0], s[1], s[2], s[3]};
  return Status::ok();
}

Status read_window2d(BuildContext& ctx, const Nhwc& in, int64_t default_stride_h,
                     int64_t default_stride_w, bool with_dilation, int64_t out_channels,
                     Window2d* win) {
  std::vector<int64_t> stride, dilation = {1, 1}, padding;
  if (ctx.has_attr("stride")) {
    DYAD_RETURN_IF_ERROR(
        ctx.attr_int_or_ints("stride", &stride, 2, std::nullopt, 1, kMaxWindowValue));
  } else {
    stride = {default_stride_h, default_stride_w};
  }
  if (with_dilation)
    DYAD_RETURN_IF_ERROR(ctx.attr_int_or_ints("dilation", &dilation, 2, 1, 1, kMaxWindowValue));
  DYAD_RETURN_IF_ERROR(ctx.attr_int_or_ints("padding", &padding, 4, 0, 0, kMaxWindowValue));
  win->stride_h = stride[0];
  win->stride_w = stride[1];
  win->dilation_h = dilation[0];
  win->dilation_w = dilation[1];
  win->pad_top = padding[0];
  win->pad_left = padding[1];
  win->pad_bottom = padding[2];
  win->pad_right = padding[3];
  DYAD_RETURN_IF_ERROR(output_size(ctx, "height", in.h, win->pad_top, win->pad_bottom,
                                   win->kernel_h, win->dilation_h, win->stride_h, &win->out_h));
  DYAD_RETURN_IF_ERROR(output_size(ctx, "width", in.w, win->pad_left, win->pad_right,
                                   win->kernel_w, win->dilation_w, win->stride_w, &win->out_w));
  return check_padded_output(ctx, in, out_channels, *win);
}

Status prepare_pool2d(BuildContext& ctx, std::initializer_list<DType> allowed,
                      kernels::Pool2dParams* p) {
  DYAD_RETURN_IF_ERROR(ctx.expect_io(1, 1, 1));
  DYAD_RETURN_IF_ERROR(expect_activation_input(ctx, 0, allowed));
  Nhwc in;
  DYAD_RETURN_IF_ERROR(read_nhwc(ctx, 0, &in));
  DYAD_RETURN_IF_ERROR(expect_same_quantization(ctx, 0, 0));
  std::vector<int64_t> kernel;
  DYAD_RETURN_IF_ERROR(
      ctx.attr_int_or_ints("kernel", &kernel, 2, std::nullopt, 1, kMaxWindowValue));
  Window2d win;
  win.kernel_h = kernel[0];
  win.kernel_w = kernel[1];
  DYAD_RETURN_IF_ERROR(read_window2d(ctx, in, kernel[0], kernel[1], false, in.c, &win));
  const int64_t pads[4] = {win.pad_top, win.pad_left, win.pad_bottom, win.pad_right};
  for (int i = 0; i < 4; ++i) {
    const int64_t k = i % 2 == 0 ? win.kernel_h : win.kernel_w;
    if (pads[i] >= k)
      return ctx.error("attrs.padding", "padding " + std::to_string(pads[i]) +
                                            " must be smaller than the kernel (" +
                                            std::to_string(k) + ") so no window is all padding");
  }
  DYAD_RETURN_IF_ERROR(ctx.set_output_shape(0, {in.n, win.out_h, win.out_w, in.c}));
  // Each output element reads its whole window (a comparison or an addition).
  DYAD_RETURN_IF_ERROR(ctx.add_work("attrs.kernel", "window reads",
                                    {in.n, win.out_h, win.out_w, in.c, win.kernel_h, win.kernel_w}));
  p->batch = in.n;
  p->in_h = in.h;
  p->in_w = in.w;
  p->channels = in.c;
  p->out_h = win.out_h;
  p->out_w = win.out_w;
  p->kernel_h = win.kernel_h;
  p->kernel_w = win.kernel_w;
  p->stride_h = win.stride_h;
  p->stride_w = win.stride_w;
  p->pad_top = win.pad_top;
  p->pad_left = win.pad_left;
  p->type = int_type_of(ctx.input(0).dtype);
  return Status::ok();
}

}  // namespace dyad
