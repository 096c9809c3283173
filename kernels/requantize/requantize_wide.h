// The 64-bit-lane requantize of the AVX2 and AVX-512 variants: every input
// dtype (int64 included) and zero point, int8/uint8 outputs, any channel
// count. Plan-time constants per channel (requantize_wide.cc, with the
// exactness argument) and the vector algorithm, one template over the ISA's
// `Simd` operations (requantize_wide_simd.h).
//
// Per lane, with d = x - z_x:
//   x'  = clamp(x, x_lo, x_hi)          |d| <= D: changes no output (below)
//   a   = |x' - z_x| << pre             unsigned, < 2^64
//   u   = a * mag                       96 bits: A = floor(u / 2^32), B = u mod 2^32
//   u'  = 2A + (B != 0)                 < 2^64; rne(u / 2^(s+31)) = rne(u' / 2^s)
//   q   = rne(u' / 2^s) with the sign of d * m
//   y   = clamp(z_y + q, dst_min, dst_max)
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "kernels/requantize/requantize.h"

namespace dyad::kernels {

// Entries past the channel count repeat the first channels, so a vector of up
// to kRequantizeWidePad + 1 consecutive elements loads its constants from one
// index (16 int32 lanes on AVX-512).
inline constexpr size_t kRequantizeWidePad = 15;

// The floor form of rne(y * m / 2^e) for int64 y whose output is clamped to
// a small window (requantize_wide.cc, "Floor form"): with n = |m| and e
// normalized to n < 2^31, e in [33, 63], and y' = y negated where m < 0,
//   q = floor((y' n + 2^(e-1)) / 2^e)
//     = (hi32(y') * n + floor(lo32(y') * n / 2^32) + 2^(s-1)) >> s,  s = e - 32,
// two 32x32-bit products, three adds and two shifts per lane, exact when no
// rounding tie can reach the clamp window and q fits int32.
struct FloorConstants {
  // channels + kRequantizeWidePad entries each; entry j is channel j % channels.
  std::vector<int64_t> n;      // |m| normalized, in [0, 2^31)
  std::vector<int64_t> round;  // 2^(s-1)
  std::vector<int64_t> shift;  // s = e - 32, in [1, 31]
};

// (|m|, e) normalized for the floor form; false when e cannot be brought into
// [33, 63] or n's odd part is small enough that y * m = (2k + 1) 2^(e-1) for
// some |2k + 1| <= tie_window (a tie the floor form rounds the other way).
struct FloorPair {
  int64_t n = 0;
  int32_t e = 33;
};
bool floor_pair(int64_t abs_m, int64_t e, int64_t tie_window, FloorPair* out);

// The largest |2k + 1| of a tie k + 1/2 that changes a clamped output:
// max(|2 (dst_min - z_y) + 1|, |2 (dst_max - z_y) - 1|).
int64_t floor_tie_window(const RequantizeParams& p);

// Appends channel pairs' constants (entry j is pairs[j % pairs.size()]).
void fill_floor_constants(const std::vector<FloorPair>& pairs, size_t entries, FloorConstants* out);

struct RequantizeWidePlan {
  // channels + kRequantizeWidePad entries each; entry j is channel j % channels.
  std::vector<int64_t> x_lo, x_hi;  // input clamp
  std::vector<int64_t> pre;         // left shift of |d|, 0..23
  std::vector<int64_t> mag;         // |m| normalized into [2^30, 2^31], or 0
  std::vector<int64_t> neg;         // -1 where m < 0, else 0
  std::vector<int64_t> shift;       // s, in [2, 63]
  std::vector<int64_t> round;       // 2^(s-1) - 1
  std::vector<Dyadic> requant;      // the original pairs, for the scalar tail
  // The floor form, taken when every channel allows it (z_x = 0, a clamp
  // bound D below 2^63, floor_pair): y' = (x' ^ neg) - neg, then `floor`.
  bool has_floor = false;
  FloorConstants floor;
};

// False (and *out untouched) when the 64-bit path does not apply: outputs
// other than int8/uint8, clamp bounds more than 1023 from z_y, |z_y| > 2^20,
// or (only for requant factors below 2^-53) a nonzero input zero point.
bool requantize_wide_plan(const RequantizeParams& p, const Dyadic* requant, RequantizeWidePlan* out);

// The scalar formula for elements [begin, end) (the vector loops' tails; an
// out-of-line function of the generic build, so no ISA-flagged copy of the
// inline reference formula is emitted).
void requantize_scalar_range(const RequantizeParams& p, const Dyadic* requant, const void* src,
                             uint8_t* dst, size_t begin, size_t end);

// One int8/uint8 output byte by the reference formula (out of line for the
// same reason; the fused int_gelu + requantize tail uses it).
uint8_t requantize_wide_element(const RequantizeParams& p, int64_t x, Dyadic d);

}  // namespace dyad::kernels
