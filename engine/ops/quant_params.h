// Quantization helpers shared by the CNN op builders: dyadic constants (read
// from attrs or derived from scales, docs/format.md "Integer constants"), the
// fused activation's clamp range, zero points, weights and biases.
//
// This is load-time code: it may use double (DESIGN.md principle 1). It is
// compiled with -ffp-contract=off so the derivations are the exact IEEE
// sequences of numerics.md 2.1.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "engine/core/status.h"
#include "engine/ops/op.h"
#include "kernels/common/int_elements.h"
#include "kernels/common/output_stage.h"
#include "kernels/common/requant.h"

namespace dyad {

// Range of stored constants (docs/format.md).
inline constexpr int64_t kMinMultiplier = -(int64_t{1} << 31);
inline constexpr int64_t kMaxMultiplier = int64_t{1} << 31;
inline constexpr int64_t kMinShift = -62;
inline constexpr int64_t kMaxShift = 255;

// numerics.md 2.1 (HF/HAWQ batch_frexp): r = frac * 2^E with 0.5 <= |frac| < 1,
// m = round_half_away(frac * 2^31), e = 31 - E. m = 2^31 is returned as
// (2^30, e - 1), the same value; r = 0 gives (0, 31). `r` must be finite.
kernels::Dyadic frexp_dyadic(double r);

// Per-channel requant ratios, computed when a model gives scales instead of
// constants. Fills `channels` ratios or returns an error naming `field`.
using RatioFn = std::function<Status(const std::string& field, std::vector<double>* ratios)>;

// conv2d, fully_connected: r[c] = f64(f32(S_x * S_w[c])) / f64(f32(S_y[c])),
// with x = inputs[x_index], w = inputs[w_index], y = outputs[0].
RatioFn accumulator_ratios(const BuildContext& ctx, int x_index, int w_index, size_t channels);
// add, requantize: r[c] = S_in[c] / f64(f32(S_y[c])), in = inputs[in_index].
RatioFn rescale_ratios(const BuildContext& ctx, int in_index, size_t channels);

// The requant constants of one branch: attrs `multiplier_attr` and `shift_attr`
// (each an int or a list of 1 or `channels` entries; m in [-2^31, 2^31], e in
// [-62, 255]), or, when both are absent, frexp_dyadic of `derive`'s ratios.
// Always returns `channels` entries.
Status read_requant(BuildContext& ctx, const std::string& multiplier_attr,
                    const std::string& shift_attr, size_t channels, const RatioFn& derive,
                    std::vector<kernels::Dyadic>* out);

// The clamp range of the fused activation (attrs "activation" and "clamp")
// for output tensor `y` with zero point `z_y`, intersected with y's dtype range.
Status read_activation(BuildContext& ctx, const TensorDesc& y, int64_t z_y, int64_t* min,
                       int64_t* max);

// The output stage of an accumulating op (conv2d, fully_connected; x is
// inputs[0], w is inputs[1]). An int32 output is the raw accumulator: no
// multiplier, shift, activation or clamp attrs, zero point 0. Otherwise the
// requant constants (attrs, or derived from the scales) and the activation's
// clamp range. stage->requant is left null: it points into `requant`, which
// the caller keeps.
Status read_output_stage(BuildContext& ctx, size_t channels, kernels::OutputStage* stage,
                         std::vector<kernels::Dyadic>* requant);

// The one zero point of a tensor (a per-channel list is accepted when all its
// entries are equal). `field` is "inputs[i]" or "outputs[i]".
Status single_zero_point(const BuildContext& ctx, const std::string& field, const TensorDesc& t,
                         int64_t* out);

// Input `index` is an activation of one of `allowed` dtypes. A constant is
// accepted unless it is 4-bit (its packed layout is not the activation layout).
Status expect_activation_input(const BuildContext& ctx, int index,
                               std::initializer_list<DType> allowed);

// The same for ops that take every integer dtype (add, requantize, reshape, ...).
Status expect_any_int_activation(const BuildContext& ctx, int index);

// The output has the input's dtype and quantization (pools, concat, reshape).
Status expect_same_quantization(const BuildContext& ctx, int in_index, int out_index);

// The activation container of a dtype.
kernels::IntType int_type_of(DType t);

// Unpacks `count` int4 values (two per byte, low nibble first, two's complement).
std::vector<int8_t> unpack_int4(const uint8_t* packed, size_t count);

// Input `index` is a constant int8 or int4 weight tensor with zero point 0 and
// per-channel quantization (if any) along axis 0; returns its values as int8
// (a V:N:M sparse weight unpacked to its dense, pruned matrix).
Status read_weights(const BuildContext& ctx, int index, std::vector<int8_t>* out);

// Input `index`, when present, is a constant int32 bias of shape [channels].
// Leaves `out` empty when the input is omitted.
Status read_bias(const BuildContext& ctx, int index, int64_t channels, std::vector<int32_t>* out);

// Proves that conv2d / fully_connected accumulators fit int32 for every input:
// for each output channel o, |b[o]| + max|x - z_x| * sum_k |w[o, k]| < 2^31,
// where channel o's weights are weights[o * per_channel, (o + 1) * per_channel).
// Kernel variants rely on it to accumulate in int32.
Status check_accumulator_range(const BuildContext& ctx, DType x_dtype, int64_t z_x,
                               const std::vector<int8_t>& weights, const std::vector<int32_t>& bias,
                               int64_t channels);

// For a V:N:M sparse weight (input `index`), records the MACs on its kept
// weights for `dyad info`: rows x out_channels x kept_per_row.
void set_sparse_macs(BuildContext& ctx, int index, int64_t rows);

// The largest |rne((x - z) * m / 2^e)| over every x of `dtype` is below 2^bits.
bool requant_fits_bits(DType dtype, int64_t z, kernels::Dyadic d, int bits);

}  // namespace dyad
