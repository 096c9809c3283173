// Plan of the fused kernel's floor path (int_gelu_requantize.h). Why its
// steps (int_gelu_requantize_simd.h) equal int_gelu__ref then requantize__ref
// for every x of at most 32 bits, given the checks below, per channel:
//
// GELU factor: erf_i is computed as in int_gelu_simd.h (int_gelu_vec.cc has
// the argument). f = neg_shift - erf_i = -(erf_i + shift_int) with
// |erf_i| <= ceil(P / 2^14), P = max(|c_int|, |b_int^2 + c_int|), and
// |shift_int| + that < 2^31 is checked: f fits int32 (for x = 0, f is
// multiplied by 0), and y' = x * f = -y is one signed 32x32-bit product,
// |y'| < 2^62.
//
// Requantize: with m < 0, y * m = y' * |m|, and the floor form of
// requantize_wide.h applies to y' (requantize_wide.cc, "Floor form", has the
// argument: normalization, the two products, and floor_pair's tie rule) once
// q is known to fit int32 without the input clamp that argument uses: here
// |q| <= (2^31 * F * n + 2^(e-1)) / 2^e + 1 with F the channel's bound on
// |f|, checked below with |dst_zp| below 2^31.
#include <algorithm>
#include <cstdlib>

#include "kernels/common/requant.h"  // int128_t
#include "kernels/int_gelu/int_gelu_requantize.h"

namespace dyad::kernels {

namespace {

int128_t abs128(int128_t v) { return v < 0 ? -v : v; }

constexpr int128_t kInt32Limit = int128_t{1} << 31;

}  // namespace

bool int_gelu_requantize_floor_plan(const IntGeluParams& gelu, const RequantizeParams& requant,
                                    const Dyadic* pairs, IntGeluRequantizeFloorPlan* out, const char** why) {
  const char* unused;
  if (why == nullptr) why = &unused;
  if (gelu.x_type == IntType::kS64) {
    *why = "int64 inputs";
    return false;
  }
  if (requant.dst_type != IntType::kS8 && requant.dst_type != IntType::kU8) {
    *why = "outputs wider than 8 bits";
    return false;
  }
  if (gelu.channels <= 0 || (requant.channels != 1 && requant.channels != static_cast<size_t>(gelu.channels))) {
    *why = "the requantize's channels are neither 1 nor the GELU's";
    return false;
  }
  if (requant.src_zero_point != 0 || requant.dst_zero_point <= -kInt32Limit / 2 ||
      requant.dst_zero_point >= kInt32Limit / 2 || requant.dst_min > requant.dst_max) {
    *why = "a zero point out of range";
    return false;
  }
  const int128_t zp = requant.dst_zero_point;
  const int64_t tie_window = floor_tie_window(requant);

  const size_t channels = static_cast<size_t>(gelu.channels);
  std::vector<FloorPair> floor(channels);
  for (size_t c = 0; c < channels; ++c) {
    const int128_t b = gelu.b_int[c], cc = gelu.c_int[c], shift = gelu.shift_int[c];
    const int128_t top = b * b + cc;
    const int128_t factor = (std::max(abs128(cc), abs128(top)) + 16383) / 16384 + abs128(shift);
    if (factor >= kInt32Limit) {
      *why = "a channel's erf_i + shift_int can leave int32";
      return false;
    }
    FloorPair& f = floor[c];
    const Dyadic pair = pairs[requant.channels == 1 ? 0 : c];
    if (pair.m > 0) {
      *why = "a multiplier is positive";
      return false;
    }
    if (!floor_pair(-static_cast<int64_t>(pair.m), pair.e, tie_window, &f)) {
      *why = "a multiplier's shift leaves [33, 63] after normalizing, or its odd part is small enough for a "
             "rounding tie inside the clamp window";
      return false;
    }
    const int128_t y_max = factor * kInt32Limit;  // |x| <= 2^31
    const int128_t q_max = (y_max * f.n + (int128_t{1} << (f.e - 1))) / (int128_t{1} << f.e) + 1;
    if (q_max + abs128(zp) >= kInt32Limit) {
      *why = "the requantized value can leave int32 before the clamp";
      return false;
    }
  }

  const size_t n = channels + kIntGeluVecPad;
  IntGeluRequantizeFloorPlan k;
  k.neg_shift.resize(n);
  for (size_t j = 0; j < n; ++j) k.neg_shift[j] = -gelu.shift_int[j % channels];
  fill_floor_constants(floor, n, &k.floor);
  *out = std::move(k);
  return true;
}

}  // namespace dyad::kernels
