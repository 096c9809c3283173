// Requantization of any integer dtype to any integer dtype
// (docs/format.md "requantize"):
//   y = clamp(z_y + rne((x - z_x) * m[c] / 2^e[c]), min, max)
// with c the index along the last axis (channels == 1 for one pair).
// Computed in 128 bits, exact for every int64 input, zero point and constant.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/common/int_elements.h"
#include "kernels/common/requant.h"

namespace dyad::kernels {

inline constexpr int128_t kWideLimit = static_cast<int128_t>(1) << 126;

// rne(d * m / 2^e), exact for |d| <= 2^65, saturated to +-2^126. Any int64
// zero point can then be added without overflow, and when the value saturated
// the sum still lies outside the int64 range, so a final clamp is exact.
inline int128_t dyadic_rne_wide(int128_t d, int32_t m, int e) {
  const int128_t t = d * m;  // |t| <= 2^96
  if (e > 0) return shift_rne_128(t, e);
  if (t == 0) return 0;
  const int k = -e;  // a left shift
  const int128_t magnitude = t > 0 ? t : -t;
  if (k >= 126 || magnitude >= (kWideLimit >> k)) return t > 0 ? kWideLimit : -kWideLimit;
  return t * (static_cast<int128_t>(1) << k);
}

inline int64_t clamp_wide(int128_t v, int64_t lo, int64_t hi) {
  return v < lo ? lo : (v > hi ? hi : static_cast<int64_t>(v));
}

struct RequantizeParams {
  size_t count = 0;     // elements
  size_t channels = 1;  // length of the requant array; count is a multiple of it
  IntType src_type = IntType::kS32;
  IntType dst_type = IntType::kS8;
  int64_t src_zero_point = 0;
  int64_t dst_zero_point = 0;
  int64_t dst_min = -128, dst_max = 127;  // activation clamp within the dst dtype
};

void requantize__ref(const RequantizeParams& p, const Dyadic* requant, const void* src,
                     void* dst);

}  // namespace dyad::kernels
