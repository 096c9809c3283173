// Dyadic requantization, numerics.md section 2.2: y = rne(x * m / 2^e).
//
// One rounding, ties to even, computed exactly in integers. `m` is a signed
// 32-bit multiplier (the model format stores m = 2^31 as (2^30, e - 1), which
// gives identical results); `e` may be any value: e <= 0 is a left shift, and
// large e rounds everything to 0 or +-1 exactly as the rational value says.
// Results saturate to int64 so callers can add a zero point and clamp.
#pragma once

#include <cstdint>

namespace dyad::kernels {

__extension__ using int128_t = __int128;

// rne(t / 2^e) for e >= 1, exact, for |t| < 2^126 (every caller's product
// is far below that: an int64 times an int32 is below 2^95).
inline int128_t shift_rne_128(int128_t t, int e) {
  if (e >= 127) return 0;  // |t / 2^e| < 1/2
  const int128_t q = t >> e;  // floor
  const int128_t rem = t - q * (static_cast<int128_t>(1) << e);
  const int128_t half = static_cast<int128_t>(1) << (e - 1);
  return q + ((rem > half || (rem == half && (q & 1))) ? 1 : 0);
}

inline int64_t saturate_int64(int128_t v) {
  if (v > INT64_MAX) return INT64_MAX;
  if (v < INT64_MIN) return INT64_MIN;
  return static_cast<int64_t>(v);
}

// rne(x * m / 2^e) saturated to int64. Valid for every int64 x, int32 m, int e.
inline int64_t dyadic_rne(int64_t x, int32_t m, int e) {
  const int128_t t = static_cast<int128_t>(x) * m;  // |t| < 2^94
  if (e <= 0) {
    if (t == 0) return 0;
    if (-e >= 63) return t > 0 ? INT64_MAX : INT64_MIN;  // |t| >= 1: saturates (-2^63 exactly for t = -1)
    const int128_t limit = static_cast<int128_t>(INT64_MAX) >> -e;
    if (t > limit) return INT64_MAX;
    if (t < -limit - 1) return INT64_MIN;
    return static_cast<int64_t>(t * (static_cast<int128_t>(1) << -e));
  }
  return saturate_int64(shift_rne_128(t, e));
}

// Fast path for 32-bit accumulators: |x * m| <= 2^62 fits int64. Same result
// as dyadic_rne for every int32 x and e >= 1.
inline int64_t dyadic_rne_s32(int32_t x, int32_t m, int e) {
  if (e <= 0) return dyadic_rne(x, m, e);
  const int64_t t = static_cast<int64_t>(x) * m;
  if (e >= 64) return 0;  // |t| <= 2^62 < 2^(e-1): below one half
  const int64_t q = t >> e;
  const int64_t rem = t - static_cast<int64_t>(static_cast<uint64_t>(q) << e);
  const int64_t half = static_cast<int64_t>(1) << (e - 1);
  return q + ((rem > half || (rem == half && (q & 1))) ? 1 : 0);
}

inline int64_t clamp_int64(int64_t v, int64_t lo, int64_t hi) {
  return v < lo ? lo : (v > hi ? hi : v);
}

// Saturating add for residual branches (each already saturated to int64).
inline int64_t add_saturate(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_add_overflow(a, b, &r)) return a > 0 ? INT64_MAX : INT64_MIN;
  return r;
}

// One output channel's requant constants.
struct Dyadic {
  int32_t m;
  int32_t e;
};

}  // namespace dyad::kernels
