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

struct RequantizeWidePlan {
  // channels + kRequantizeWidePad entries each; entry j is channel j % channels.
  std::vector<int64_t> x_lo, x_hi;  // input clamp
  std::vector<int64_t> pre;         // left shift of |d|, 0..23
  std::vector<int64_t> mag;         // |m| normalized into [2^30, 2^31], or 0
  std::vector<int64_t> neg;         // -1 where m < 0, else 0
  std::vector<int64_t> shift;       // s, in [2, 63]
  std::vector<int64_t> round;       // 2^(s-1) - 1
  std::vector<Dyadic> requant;      // the original pairs, for the scalar tail
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
