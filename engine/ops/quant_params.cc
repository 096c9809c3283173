#include "engine/ops/quant_params.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "engine/format/sparsity.h"

namespace dyad {

namespace {

using kernels::Dyadic;
using kernels::int128_t;

std::string input_field(int i) { return "inputs[" + std::to_string(i) + "]"; }

// Round half to even of a finite double (exact: v - floor(v) is exact).
double round_half_even(double v) {
  const double f = std::floor(v);
  const double diff = v - f;
  if (diff > 0.5 || (diff == 0.5 && std::fmod(f, 2.0) != 0.0)) return f + 1.0;
  return f;
}

// The scales of `t` broadcast to `channels` entries. A list must lie along
// `axis`. `field` is the attribute being derived, `role` says which tensor.
Status channel_scales(const BuildContext& ctx, const std::string& field, const TensorDesc& t,
                      const std::string& role, size_t channels, int axis,
                      std::vector<double>* out) {
  const Quantization& q = t.quant;
  if (!q.has_scale())
    return ctx.error(field, "not given, and tensor '" + t.name + "' (" + role +
                                ") has no scale to derive it from");
  if (q.scales.size() == 1) {
    out->assign(channels, q.scales[0]);
    return Status::ok();
  }
  if (q.axis != axis || q.scales.size() != channels)
    return ctx.error(field, "not given, and it cannot be derived: tensor '" + t.name + "' (" + role +
                                ") has " + std::to_string(q.scales.size()) +
                                " scales along axis " + std::to_string(q.axis) + "; expected 1, or " +
                                std::to_string(channels) + " along axis " + std::to_string(axis));
  *out = q.scales;
  return Status::ok();
}

// f64(f32(v)), refusing values float32 cannot hold (0, inf). `what` names the
// value, with "[channel]" appended when channel >= 0; the message is only built
// on failure, since this runs once per channel of up to a million channels.
Status to_f32(const BuildContext& ctx, const std::string& field, std::string_view what,
              int64_t channel, double v, double* out) {
  const float f = static_cast<float>(v);
  if (!std::isfinite(f) || f == 0.0f) {
    std::string name(what);
    if (channel >= 0) {  // appended in steps: GCC 12 warns falsely on "[" + to_string(...)
      name += '[';
      name += std::to_string(channel);
      name += ']';
    }
    return ctx.error(field, "cannot be derived: " + name + " (" + std::to_string(v) +
                                ") is not a finite nonzero float32");
  }
  *out = static_cast<double>(f);
  return Status::ok();
}

int output_channel_axis(const BuildContext& ctx) {
  return static_cast<int>(ctx.output(0).shape.size()) - 1;
}

// Reads one constant list: an int, or a list of 1 or `channels` entries.
Status read_constant_list(BuildContext& ctx, const std::string& name, size_t channels,
                          int64_t min_value, int64_t max_value, std::vector<int64_t>* out) {
  const nlohmann::json& v = ctx.node().attrs.at(name);
  if (v.is_array() && v.size() != 1 && v.size() != channels)
    return ctx.error("attrs." + name, "has " + std::to_string(v.size()) +
                                          " entries; expected 1 or " + std::to_string(channels) +
                                          " (one per channel)");
  if (v.is_array() && v.size() == 1) {
    DYAD_RETURN_IF_ERROR(ctx.attr_ints(name, out, std::nullopt, 1, min_value, max_value));
    out->assign(channels, (*out)[0]);
    return Status::ok();
  }
  return ctx.attr_int_or_ints(name, out, channels, std::nullopt, min_value, max_value);
}

// max |x - z| over every x of the dtype; for int64 it may need 65 bits.
int128_t max_abs_difference(DType dtype, int64_t z) {
  const int128_t below = static_cast<int128_t>(z) - dtype_min(dtype);
  const int128_t above = static_cast<int128_t>(dtype_max(dtype)) - z;
  return std::max(below, above);
}

}  // namespace

Dyadic frexp_dyadic(double r) {
  if (r == 0.0) return {0, 31};
  int exponent = 0;
  const double frac = std::frexp(r, &exponent);  // 0.5 <= |frac| < 1
  // frac * 2^31 is exact; std::round rounds half away from zero (Decimal HALF_UP).
  int64_t m = static_cast<int64_t>(std::round(std::ldexp(frac, 31)));
  int64_t e = 31 - static_cast<int64_t>(exponent);
  if (m == (int64_t{1} << 31)) {  // does not fit int32: the same value as (2^30, e - 1)
    m = int64_t{1} << 30;
    e -= 1;
  }
  return {static_cast<int32_t>(m), static_cast<int32_t>(e)};
}

RatioFn accumulator_ratios(const BuildContext& ctx, int x_index, int w_index, size_t channels) {
  return [&ctx, x_index, w_index, channels](const std::string& field,
                                            std::vector<double>* ratios) -> Status {
    const TensorDesc& x = ctx.input(x_index);
    std::vector<double> sx, sw, sy;
    DYAD_RETURN_IF_ERROR(channel_scales(ctx, field, x, input_field(x_index), 1, -1, &sx));
    DYAD_RETURN_IF_ERROR(
        channel_scales(ctx, field, ctx.input(w_index), input_field(w_index), channels, 0, &sw));
    DYAD_RETURN_IF_ERROR(channel_scales(ctx, field, ctx.output(0), "outputs[0]", channels,
                                        output_channel_axis(ctx), &sy));
    ratios->resize(channels);
    for (size_t c = 0; c < channels; ++c) {
      double acc_scale = 0, out_scale = 0;
      DYAD_RETURN_IF_ERROR(to_f32(ctx, field, "the accumulator scale S_x * S_w",
                                  static_cast<int64_t>(c), sx[0] * sw[c], &acc_scale));
      DYAD_RETURN_IF_ERROR(to_f32(ctx, field, "the output scale", -1, sy[c], &out_scale));
      (*ratios)[c] = acc_scale / out_scale;
    }
    return Status::ok();
  };
}

RatioFn rescale_ratios(const BuildContext& ctx, int in_index, size_t channels) {
  return [&ctx, in_index, channels](const std::string& field,
                                    std::vector<double>* ratios) -> Status {
    const TensorDesc& in = ctx.input(in_index);
    std::vector<double> sin, sy;
    DYAD_RETURN_IF_ERROR(channel_scales(ctx, field, in, input_field(in_index), channels,
                                        static_cast<int>(in.shape.size()) - 1, &sin));
    DYAD_RETURN_IF_ERROR(channel_scales(ctx, field, ctx.output(0), "outputs[0]", channels,
                                        output_channel_axis(ctx), &sy));
    ratios->resize(channels);
    for (size_t c = 0; c < channels; ++c) {
      double out_scale = 0;
      DYAD_RETURN_IF_ERROR(to_f32(ctx, field, "the output scale", -1, sy[c], &out_scale));
      (*ratios)[c] = sin[c] / out_scale;
    }
    return Status::ok();
  };
}

Status read_requant(BuildContext& ctx, const std::string& multiplier_attr,
                    const std::string& shift_attr, size_t channels, const RatioFn& derive,
                    std::vector<Dyadic>* out) {
  DYAD_RETURN_IF_ERROR(
      ctx.expect_channel_count("attrs." + multiplier_attr, static_cast<int64_t>(channels)));
  const bool has_m = ctx.has_attr(multiplier_attr);
  const bool has_e = ctx.has_attr(shift_attr);
  if (has_m != has_e) {
    const std::string& missing = has_m ? shift_attr : multiplier_attr;
    const std::string& given = has_m ? multiplier_attr : shift_attr;
    return ctx.error("attrs." + missing, "missing; required because attrs." + given + " is given");
  }
  out->resize(channels);
  if (has_m) {
    std::vector<int64_t> m, e;
    DYAD_RETURN_IF_ERROR(
        read_constant_list(ctx, multiplier_attr, channels, kMinMultiplier, kMaxMultiplier, &m));
    DYAD_RETURN_IF_ERROR(read_constant_list(ctx, shift_attr, channels, kMinShift, kMaxShift, &e));
    for (size_t c = 0; c < channels; ++c) {
      if (m[c] == kMaxMultiplier) (*out)[c] = {int32_t{1} << 30, static_cast<int32_t>(e[c] - 1)};
      else (*out)[c] = {static_cast<int32_t>(m[c]), static_cast<int32_t>(e[c])};
    }
    return Status::ok();
  }
  const std::string field = "attrs." + multiplier_attr;
  std::vector<double> ratios;
  DYAD_RETURN_IF_ERROR(derive(field, &ratios));
  for (size_t c = 0; c < channels; ++c) {
    if (!std::isfinite(ratios[c]))
      return ctx.error(field, "cannot be derived: the scale ratio of channel " + std::to_string(c) +
                                  " is not finite");
    (*out)[c] = frexp_dyadic(ratios[c]);
    if ((*out)[c].e < kMinShift || (*out)[c].e > kMaxShift)
      return ctx.error(field, "cannot be derived: the scale ratio " + std::to_string(ratios[c]) +
                                  " of channel " + std::to_string(c) + " needs shift " +
                                  std::to_string((*out)[c].e) + ", outside [" +
                                  std::to_string(kMinShift) + ", " + std::to_string(kMaxShift) +
                                  "]");
  }
  return Status::ok();
}

Status read_activation(BuildContext& ctx, const TensorDesc& y, int64_t z_y, int64_t* min,
                       int64_t* max) {
  std::string act;
  DYAD_RETURN_IF_ERROR(
      ctx.attr_string("activation", &act, "none", {"none", "relu", "relu6", "clamp"}));
  int64_t lo = dtype_min(y.dtype), hi = dtype_max(y.dtype);
  const std::string range = std::string(dtype_name(y.dtype)) + " range [" + std::to_string(lo) +
                            ", " + std::to_string(hi) + "]";
  if (act == "clamp") {
    std::vector<int64_t> c;
    DYAD_RETURN_IF_ERROR(ctx.attr_ints("clamp", &c, std::nullopt, 2));
    if (c[0] > c[1])
      return ctx.error("attrs.clamp", "lower bound " + std::to_string(c[0]) +
                                          " is above the upper bound " + std::to_string(c[1]));
    lo = std::max(lo, c[0]);
    hi = std::min(hi, c[1]);
    if (lo > hi)
      return ctx.error("attrs.clamp", "[" + std::to_string(c[0]) + ", " + std::to_string(c[1]) +
                                          "] does not meet the output's " + range);
  } else if (ctx.has_attr("clamp")) {
    return ctx.error("attrs.clamp", "only allowed with activation 'clamp', got '" + act + "'");
  }
  if (act == "relu" || act == "relu6") lo = std::max(lo, z_y);
  if (act == "relu6") {
    const Quantization& q = y.quant;
    if (!q.has_scale() || q.scales.size() != 1 || !(q.scales[0] > 0))
      return ctx.error("attrs.activation",
                       "relu6 needs one positive output scale; tensor '" + y.name +
                           (q.has_scale() ? "' has " + std::to_string(q.scales.size()) +
                                                " scale(s), first " + std::to_string(q.scales[0])
                                          : std::string("' has none")));
    const double six = round_half_even(6.0 / q.scales[0]);  // rne(6 / S_y) >= 0
    if (static_cast<double>(z_y) + six < static_cast<double>(hi))
      hi = z_y + static_cast<int64_t>(six);  // below hi <= 2^63, so it converts exactly
  }
  *min = lo;
  *max = hi;
  return Status::ok();
}

Status read_output_stage(BuildContext& ctx, size_t channels, kernels::OutputStage* stage,
                         std::vector<Dyadic>* requant) {
  const TensorDesc& y = ctx.output(0);
  int64_t z_y = 0;
  DYAD_RETURN_IF_ERROR(single_zero_point(ctx, "outputs[0]", y, &z_y));
  requant->clear();
  if (y.dtype == DType::kInt32) {
    for (const char* a : {"multiplier", "shift", "activation", "clamp"})
      if (ctx.has_attr(a))
        return ctx.error(std::string("attrs.") + a,
                         "not allowed: output '" + y.name +
                             "' is int32, the raw accumulator (no constants, no activation)");
    if (z_y != 0)
      return ctx.error("outputs[0]", "tensor '" + y.name + "' is the raw int32 accumulator; its "
                                     "zero point must be 0, got " + std::to_string(z_y));
    *stage = {nullptr, 0, INT32_MIN, INT32_MAX, kernels::IntType::kS32};
    return Status::ok();
  }
  DYAD_RETURN_IF_ERROR(read_requant(ctx, "multiplier", "shift", channels,
                                    accumulator_ratios(ctx, 0, 1, channels), requant));
  int64_t lo = 0, hi = 0;
  DYAD_RETURN_IF_ERROR(read_activation(ctx, y, z_y, &lo, &hi));
  *stage = {nullptr, static_cast<int32_t>(z_y), lo, hi, int_type_of(y.dtype)};
  return Status::ok();
}

Status single_zero_point(const BuildContext& ctx, const std::string& field, const TensorDesc& t,
                         int64_t* out) {
  const std::vector<int64_t>& z = t.quant.zero_points;
  if (!z.empty() && std::any_of(z.begin(), z.end(), [&](int64_t v) { return v != z[0]; }))
    return ctx.error(field, "tensor '" + t.name +
                                "' has per-channel zero points; this op takes one zero point");
  *out = z.empty() ? 0 : z[0];
  return Status::ok();
}

Status expect_activation_input(const BuildContext& ctx, int index,
                               std::initializer_list<DType> allowed) {
  DYAD_RETURN_IF_ERROR(ctx.expect_input_dtype(index, allowed));
  const TensorDesc& t = ctx.input(index);
  if (t.is_constant && dtype_is_4bit(t.dtype))
    return ctx.error(input_field(index), "tensor '" + t.name + "' is a packed " +
                                             std::string(dtype_name(t.dtype)) +
                                             " constant; this input must be an activation");
  return Status::ok();
}

Status expect_any_int_activation(const BuildContext& ctx, int index) {
  return expect_activation_input(ctx, index,
                                 {DType::kInt8, DType::kUint8, DType::kInt4, DType::kUint4,
                                  DType::kInt16, DType::kInt32, DType::kInt64});
}

Status expect_same_quantization(const BuildContext& ctx, int in_index, int out_index) {
  const TensorDesc& in = ctx.input(in_index);
  const TensorDesc& out = ctx.output(out_index);
  const std::string field = "outputs[" + std::to_string(out_index) + "]";
  if (out.dtype != in.dtype)
    return ctx.error(field, "tensor '" + out.name + "' has dtype " +
                                std::string(dtype_name(out.dtype)) + ", but this op passes " +
                                std::string(dtype_name(in.dtype)) + " of '" + in.name +
                                "' through");
  // Compare zero points as per-channel lists (empty means 0 everywhere).
  auto uniform = [](const Quantization& q) {
    return std::all_of(q.zero_points.begin(), q.zero_points.end(),
                       [&](int64_t v) { return v == q.zero_points[0]; });
  };
  const bool same_zero_points =
      uniform(in.quant) && uniform(out.quant)
          ? in.quant.zero_point() == out.quant.zero_point()
          : in.quant.zero_points == out.quant.zero_points && in.quant.axis == out.quant.axis;
  if (!same_zero_points)
    return ctx.error(field, "tensor '" + out.name + "' has a different zero point from '" +
                                in.name + "'; this op passes quantization through");
  if (out.quant.has_scale() && in.quant.has_scale() &&
      (out.quant.scales != in.quant.scales ||
       (in.quant.scales.size() > 1 && out.quant.axis != in.quant.axis)))
    return ctx.error(field, "tensor '" + out.name + "' has a different scale from '" + in.name +
                                "'; this op passes quantization through");
  return Status::ok();
}

kernels::IntType int_type_of(DType t) {
  switch (t) {
    case DType::kInt8:
    case DType::kInt4:
      return kernels::IntType::kS8;
    case DType::kUint8:
    case DType::kUint4:
      return kernels::IntType::kU8;
    case DType::kInt16:
      return kernels::IntType::kS16;
    case DType::kInt32:
      return kernels::IntType::kS32;
    case DType::kInt64:
      break;
  }
  return kernels::IntType::kS64;
}

std::vector<int8_t> unpack_int4(const uint8_t* packed, size_t count) {
  std::vector<int8_t> out(count);
  for (size_t i = 0; i < count; ++i) {
    const uint8_t nibble = (i % 2 == 0) ? (packed[i / 2] & 0x0F) : (packed[i / 2] >> 4);
    out[i] = static_cast<int8_t>(nibble >= 8 ? nibble - 16 : nibble);  // two's complement
  }
  return out;
}

Status read_weights(const BuildContext& ctx, int index, std::vector<int8_t>* out) {
  DYAD_RETURN_IF_ERROR(ctx.expect_constant(index));
  DYAD_RETURN_IF_ERROR(ctx.expect_input_dtype(index, {DType::kInt8, DType::kInt4}));
  const TensorDesc& w = ctx.input(index);
  for (int64_t z : w.quant.zero_points)
    if (z != 0)
      return ctx.error(input_field(index), "weight tensor '" + w.name + "' has zero point " +
                                               std::to_string(z) + "; weights must be symmetric (0)");
  if (w.quant.scales.size() > 1 && w.quant.axis != 0)
    return ctx.error(input_field(index), "weight tensor '" + w.name +
                                             "' is quantized per channel along axis " +
                                             std::to_string(w.quant.axis) + "; expected axis 0");
  const size_t count = static_cast<size_t>(shape_elements(w.shape));
  if (w.sparsity.vnm) {  // validated by the loader; the dense matrix feeds the checks
    if (w.data == nullptr)
      return ctx.error(input_field(index), "weight tensor '" + w.name + "' has no data");
    return unpack_sparse(ctx.graph().source + ": tensor '" + w.name + "'", w, out);
  }
  if (w.data == nullptr || w.data_bytes < dtype_packed_bytes(w.dtype, count))
    return ctx.error(input_field(index), "weight tensor '" + w.name + "' has no data");
  if (w.dtype == DType::kInt4) {
    *out = unpack_int4(w.data, count);
  } else {
    out->resize(count);
    std::memcpy(out->data(), w.data, count);
  }
  return Status::ok();
}

void set_sparse_macs(BuildContext& ctx, int index, int64_t rows) {
  const TensorDesc& w = ctx.input(index);
  if (w.sparsity.vnm) ctx.set_kept_macs(rows * w.shape[0] * kept_per_row(w));
}

Status read_bias(const BuildContext& ctx, int index, int64_t channels, std::vector<int32_t>* out) {
  out->clear();
  if (!ctx.has_input(index)) return Status::ok();
  DYAD_RETURN_IF_ERROR(ctx.expect_constant(index));
  DYAD_RETURN_IF_ERROR(ctx.expect_input_dtype(index, {DType::kInt32}));
  const TensorDesc& b = ctx.input(index);
  if (b.shape != Shape{channels})
    return ctx.error(input_field(index), "bias '" + b.name + "' has shape " +
                                             shape_to_string(b.shape) + ", expected [" +
                                             std::to_string(channels) + "]");
  if (b.data == nullptr || b.data_bytes < static_cast<size_t>(channels) * 4)
    return ctx.error(input_field(index), "bias '" + b.name + "' has no data");
  out->resize(static_cast<size_t>(channels));
  std::memcpy(out->data(), b.data, static_cast<size_t>(channels) * 4);
  return Status::ok();
}

Status check_accumulator_range(const BuildContext& ctx, DType x_dtype, int64_t z_x,
                               const std::vector<int8_t>& weights, const std::vector<int32_t>& bias,
                               int64_t channels) {
  const int128_t max_dx = max_abs_difference(x_dtype, z_x);
  const size_t per_channel = weights.size() / static_cast<size_t>(channels);
  for (int64_t o = 0; o < channels; ++o) {
    int128_t sum_abs = 0;
    for (size_t k = 0; k < per_channel; ++k) {
      const int8_t w = weights[static_cast<size_t>(o) * per_channel + k];
      sum_abs += w < 0 ? -w : w;
    }
    const int128_t b = bias.empty() ? 0 : bias[static_cast<size_t>(o)];
    const int128_t bound = (b < 0 ? -b : b) + max_dx * sum_abs;
    if (bound > INT32_MAX)
      return ctx.error("inputs[1]",
                       "output channel " + std::to_string(o) + " could overflow its int32 "
                       "accumulator: |bias| + max|x - z_x| * sum|w| = " +
                           std::to_string(static_cast<int64_t>(bound)) + " > 2^31 - 1");
  }
  return Status::ok();
}

bool requant_fits_bits(DType dtype, int64_t z, Dyadic d, int bits) {
  const int128_t m = d.m < 0 ? -static_cast<int128_t>(d.m) : d.m;
  const int128_t t = max_abs_difference(dtype, z) * m;  // < 2^64 * 2^31
  const int128_t limit = static_cast<int128_t>(1) << bits;
  if (d.e > 0) {
    // |rne(v / 2^e)| <= floor(|v| / 2^e) + 1
    const int128_t bound = d.e >= 127 ? 1 : (t >> d.e) + 1;
    return bound < limit;
  }
  const int k = -d.e;
  if (t == 0) return true;
  if (k >= bits) return false;
  return t < (limit >> k);
}

}  // namespace dyad
