// Plan of the vector int_gelu (int_gelu_vec.h). Why the vector steps of
// int_gelu_simd.h equal the reference, given the checks below (|x| <= 2^31):
//  - min(|x|, -b_int) = |clamp(x, b_int, -b_int)| (no |INT64_MIN| arises),
//    and t = that + b_int is in [b_int, 0], b_int >= -2^31: t fits int32 and
//    t * t is one exact signed 32x32-bit product (<= 2^62).
//  - poly = t*t + c_int, |poly| <= 2^62; s * poly is poly negated for x < 0
//    (for x = 0 the factor is multiplied by 0, so its value does not matter);
//    the floor shift >> 14 is an arithmetic shift.
//  - factor = erf_i + shift_int with |erf_i| <= ceil(P / 2^14), P =
//    max(|c_int|, |b_int^2 + c_int|): checked |factor| < 2^32 per channel, so
//    |x * factor| < 2^63 and the low 64 bits of the product are the exact
//    value (the reference's saturation never triggers).
#include "kernels/int_gelu/int_gelu_vec.h"

#include <cstdint>

#include "kernels/common/requant.h"  // int128_t

namespace dyad::kernels {

bool int_gelu_vec_plan(const IntGeluParams& p, IntGeluVecPlan* out, const char** why) {
  const char* unused;
  if (why == nullptr) why = &unused;
  if (p.x_type == IntType::kS64) {
    *why = "int64 inputs (x * factor could need saturation)";
    return false;
  }
  if (p.channels <= 0) {
    *why = "no channels";
    return false;
  }
  for (int64_t c = 0; c < p.channels; ++c) {
    const int128_t b = p.b_int[c], cc = p.c_int[c];
    const int128_t top = b * b + cc;
    const int128_t poly = (cc < 0 ? -cc : cc) > (top < 0 ? -top : top) ? (cc < 0 ? -cc : cc) : (top < 0 ? -top : top);
    const int128_t factor = (poly + 16383) / 16384 - p.shift_int[c];  // shift_int <= 0
    if (factor >= (int128_t{1} << 32)) {
      *why = "a channel's erf_i + shift_int can reach 2^32";
      return false;
    }
  }
  const size_t n = static_cast<size_t>(p.channels) + kIntGeluVecPad;
  IntGeluVecPlan k;
  for (auto* v : {&k.limit, &k.b_int, &k.c_int, &k.shift_int}) v->resize(n);
  for (size_t j = 0; j < n; ++j) {
    const size_t c = j % static_cast<size_t>(p.channels);
    k.limit[j] = -p.b_int[c];
    k.b_int[j] = p.b_int[c];
    k.c_int[j] = p.c_int[c];
    k.shift_int[j] = p.shift_int[c];
  }
  // The 32-bit erf (int_gelu_erf32 in int_gelu_simd.h): t in [b_int, 0] with
  // |b_int| <= 46340 makes t * t <= 46340^2 < 2^31 one exact int32 product;
  // poly = t * t + c_int lies between c_int and b_int^2 + c_int, so with both
  // ends within +-(2^31 - 1) poly and -poly are exact int32 values, and the
  // arithmetic shift by 14 of the same value is the same in 32 or 64 bits.
  k.erf32 = true;
  for (int64_t c = 0; c < p.channels && k.erf32; ++c) {
    const int64_t b = p.b_int[c], cc = p.c_int[c];
    // b is bounded first, so b * b + cc cannot wrap whatever the constants.
    k.erf32 = b >= -46340 && b <= 0 && cc >= -INT32_MAX && cc <= INT32_MAX && b * b + cc <= INT32_MAX &&
              b * b + cc >= -INT32_MAX;
  }
  if (k.erf32) {
    for (auto* v : {&k.limit32, &k.b_int32, &k.c_int32}) v->resize(n);
    for (size_t j = 0; j < n; ++j) {
      k.limit32[j] = static_cast<int32_t>(k.limit[j]);
      k.b_int32[j] = static_cast<int32_t>(k.b_int[j]);
      k.c_int32[j] = static_cast<int32_t>(k.c_int[j]);
    }
  }
  *out = std::move(k);
  return true;
}

}  // namespace dyad::kernels
