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
// Requantize as a floor division. The reference is
//   clamp(dst_zp + rne(y * m / 2^e), lo, hi),  src_zp = 0.
// With m < 0, y * m = y' * n for n = -m > 0 (n = 0 is allowed). n and e are
// normalized (n doubled while below 2^30 and e < 33; n = 2^31 halved) to
// e in [33, 63] and n < 2^31, which leaves n / 2^e and n's odd part unchanged.
//  - floor((y' n + 2^(e-1)) / 2^e) = floor((floor(y' n / 2^32) + 2^(s-1)) / 2^s),
//    s = e - 32 >= 1, since 2^(e-1) = 2^(s-1) * 2^32 (nested floor divisions).
//  - y' = h * 2^32 + l with h = y' >> 32 (arithmetic, |h| < 2^30; the low 32
//    bits of a logical shift are the same) and l = y' mod 2^32;
//    floor(y' n / 2^32) = h * n + floor(l * n / 2^32), where l * n < 2^63 is
//    one unsigned 32x32-bit product and h * n one signed one.
//  - The quotient q is bounded by (2^31 * F * n + 2^(e-1)) / 2^e + 1 with F
//    the channel's bound on |f|, checked with |dst_zp| below 2^31: q and
//    q + dst_zp fit int32, and the low 32 bits of the logical shift T >> s
//    (bits s .. s + 31 of T, s <= 31) are q's two's complement.
//  - floor(v + 1/2) equals rne(v) except at ties v = k + 1/2, where it rounds
//    up. A tie changes the clamped output only when dst_zp + k and
//    dst_zp + k + 1 both lie in [lo, hi], so |2k + 1| <= W =
//    max(|2 (lo - dst_zp) + 1|, |2 (hi - dst_zp) - 1|), and y' n =
//    (2k + 1) * 2^(e-1) needs n's odd part to divide 2k + 1. The check
//    odd(n) > W (or n = 0) rules out every such x.
#include <algorithm>
#include <cstdlib>

#include "kernels/common/requant.h"  // int128_t
#include "kernels/int_gelu/int_gelu_requantize.h"

namespace dyad::kernels {

namespace {

int128_t abs128(int128_t v) { return v < 0 ? -v : v; }

constexpr int128_t kInt32Limit = int128_t{1} << 31;

struct FloorRequant {
  int64_t n = 0;  // -m, normalized
  int32_t e = 0;
};

// The normalized (n, e) of a pair, or false when the floor path cannot take it.
bool normalize_pair(Dyadic pair, FloorRequant* out) {
  if (pair.m > 0) return false;
  int64_t n = -static_cast<int64_t>(pair.m);
  int64_t e = pair.e;
  if (n == 0) {
    *out = {0, 33};
    return true;
  }
  if (n == (int64_t{1} << 31)) {
    n >>= 1;
    --e;
  }
  while (e < 33 && n < (int64_t{1} << 30)) {
    n <<= 1;
    ++e;
  }
  if (e < 33 || e > 63) return false;
  *out = {n, static_cast<int32_t>(e)};
  return true;
}

int64_t odd_part(int64_t n) {
  while (n % 2 == 0) n /= 2;
  return n;
}

}  // namespace

bool int_gelu_requantize_floor_plan(const IntGeluParams& gelu, const RequantizeParams& requant,
                                    const Dyadic* pairs, IntGeluRequantizeFloorPlan* out, const char** why) {
  const char* unused;
  if (why == nullptr) why = &unused;
  if (gelu.x_type == IntType::kS64) {
    *why = "int64 inputs";
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
  const int128_t tie_window = std::max(abs128(2 * (requant.dst_min - zp) + 1), abs128(2 * (requant.dst_max - zp) - 1));

  const size_t channels = static_cast<size_t>(gelu.channels);
  std::vector<FloorRequant> floor(channels);
  for (size_t c = 0; c < channels; ++c) {
    const int128_t b = gelu.b_int[c], cc = gelu.c_int[c], shift = gelu.shift_int[c];
    const int128_t top = b * b + cc;
    const int128_t factor = (std::max(abs128(cc), abs128(top)) + 16383) / 16384 + abs128(shift);
    if (factor >= kInt32Limit) {
      *why = "a channel's erf_i + shift_int can leave int32";
      return false;
    }
    FloorRequant& f = floor[c];
    if (!normalize_pair(pairs[requant.channels == 1 ? 0 : c], &f)) {
      *why = "a multiplier is positive, or its shift leaves [33, 63] after normalizing";
      return false;
    }
    if (f.n != 0 && odd_part(f.n) <= tie_window) {
      *why = "a multiplier's odd part is small enough for a rounding tie inside the clamp window";
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
  for (auto* v : {&k.neg_shift, &k.m, &k.round, &k.shift}) v->resize(n);
  for (size_t j = 0; j < n; ++j) {
    const size_t c = j % channels;
    const int64_t s = floor[c].e - 32;
    k.neg_shift[j] = -gelu.shift_int[c];
    k.m[j] = floor[c].n;
    k.round[j] = int64_t{1} << (s - 1);
    k.shift[j] = s;
  }
  *out = std::move(k);
  return true;
}

}  // namespace dyad::kernels
