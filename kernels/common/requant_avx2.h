// AVX2 dyadic rounding shared by the vector kernels (include only from
// *_avx2.cc files): the ties-to-even shift of 64-bit products, and the
// int32-accumulator requant of 8 lanes (RequantBlock8).
#pragma once

#include <immintrin.h>

#include "kernels/common/isa_namespace.h"

#include "kernels/common/requant_block8.h"

namespace dyad::kernels {
inline namespace DYAD_ISA_NAMESPACE {

// floor((t + 2^(shift-1) - 1 + bit_shift(t)) / 2^shift) + 2^(63-shift), in
// 64-bit lanes, shift in [1, 63]: rne(t / 2^shift) with ties to even (adding
// 2^(shift-1) - 1 plus the lowest kept bit rounds up exactly when the
// remainder is above half, or equal to half with an odd quotient), computed
// with a logical shift because `round` also adds 2^63. Exact when
// t + 2^63 + 2^(shift-1) < 2^64 as unsigned values, e.g. for |t| <= 2^62.
inline __m256i round_shift(__m256i t, __m256i shift, __m256i round) {
  const __m256i bit = _mm256_and_si256(_mm256_srlv_epi64(t, shift), _mm256_set1_epi64x(1));
  return _mm256_srlv_epi64(_mm256_add_epi64(_mm256_add_epi64(t, round), bit), shift);
}

// requant8 on the floor path (RequantBlock8): the high halves of
// t + 2^(e-1) + dst_zp * 2^e, shifted by e - 32.
inline __m256i requant8_floor(__m256i acc, const RequantBlock8& b) {
  auto ld = [](const void* p) { return _mm256_load_si256(static_cast<const __m256i*>(p)); };
  const __m256i t_even = _mm256_add_epi64(_mm256_mul_epi32(acc, ld(b.mult)), ld(b.floor_round_even));
  const __m256i t_odd =
      _mm256_add_epi64(_mm256_mul_epi32(_mm256_srli_epi64(acc, 32), ld(b.mult_odd)), ld(b.floor_round_odd));
  const __m256i hi = _mm256_blend_epi32(_mm256_srli_epi64(t_even, 32), t_odd, 0xAA);
  return _mm256_srav_epi32(hi, ld(b.floor_shift));
}

// dst_zp + rne(acc * m / 2^e) for 8 lanes as int32, before the [qmin, qmax]
// clamp (RequantBlock8 describes the steps).
inline __m256i requant8(__m256i acc, const RequantBlock8& b) {
  if (b.floor_path()) return requant8_floor(acc, b);
  auto ld = [](const void* p) { return _mm256_load_si256(static_cast<const __m256i*>(p)); };
  acc = _mm256_max_epi32(_mm256_min_epi32(acc, ld(b.acc_hi)), ld(b.acc_lo));
  const __m256i t_even = _mm256_mul_epi32(acc, ld(b.mult));
  const __m256i t_odd = _mm256_mul_epi32(_mm256_srli_epi64(acc, 32), ld(b.mult_odd));
  const __m256i q_even = round_shift(t_even, ld(b.shift_even), ld(b.round_even));
  const __m256i q_odd = round_shift(t_odd, ld(b.shift_odd), ld(b.round_odd));
  const __m256i q = _mm256_blend_epi32(q_even, _mm256_slli_epi64(q_odd, 32), 0xAA);
  return _mm256_add_epi32(q, ld(b.offset));
}

}  // namespace DYAD_ISA_NAMESPACE
}  // namespace dyad::kernels
