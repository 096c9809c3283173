// AVX-512 (F/BW/VL/DQ) pieces of the average pools (include only from
// *_avx512.cc files): 16 channels per zmm of int32 sums, masked loads and
// stores for the last channels of a row, so no channel needs scalar code.
#pragma once

#include <immintrin.h>

#include <cstdint>
#include <limits>
#include <type_traits>

#include "kernels/common/isa_namespace.h"
#include "kernels/common/pool2d.h"

namespace dyad::kernels {
inline namespace DYAD_ISA_NAMESPACE {

// The mask of the first min(n, 16) lanes.
inline __mmask16 lanes16(int64_t n) {
  return n >= 16 ? __mmask16(0xFFFF) : static_cast<__mmask16>((1u << n) - 1);
}

// The elements of T (int8, uint8 or int16) under `m` widened to int32 lanes,
// 0 elsewhere (masked-off elements are not read). Masked loads are much
// slower than plain ones here (AMD Zen 5), so only a Masked load uses `m`.
template <typename T, bool Masked>
inline __m512i load16_as_s32(const T* p, __mmask16 m) {
  if constexpr (std::is_same_v<T, int16_t>) {
    const __m256i v = Masked ? _mm256_maskz_loadu_epi16(m, p) : _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
    return _mm512_cvtepi16_epi32(v);
  } else {
    const __m128i v = Masked ? _mm_maskz_loadu_epi8(m, p) : _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    return std::is_same_v<T, int8_t> ? _mm512_cvtepi8_epi32(v) : _mm512_cvtepu8_epi32(v);
  }
}

// floor(sum / d) for 16 int32 sums of `d` values of T each: floor_div8 of
// pool2d_avx2.h on zmm (n = sum - d * min(T) in [0, 2^31), exact_divisor).
template <typename T>
inline __m512i floor_div16(__m512i sum, int64_t d, ExactDivisor div) {
  constexpr int32_t kMin = std::numeric_limits<T>::min();
  const __m512i n = _mm512_sub_epi32(sum, _mm512_set1_epi32(static_cast<int32_t>(d * kMin)));
  const __m512i m = _mm512_set1_epi64(div.mult);
  const __m128i s = _mm_cvtsi32_si128(div.shift);
  const __m512i q_even = _mm512_srl_epi64(_mm512_mul_epu32(n, m), s);
  const __m512i q_odd = _mm512_srl_epi64(_mm512_mul_epu32(_mm512_srli_epi64(n, 32), m), s);
  const __m512i q = _mm512_mask_blend_epi32(0xAAAA, q_even, _mm512_slli_epi64(q_odd, 32));
  return _mm512_add_epi32(q, _mm512_set1_epi32(kMin));
}

// Stores the lanes under `m` (each in T's range, so truncation keeps it) as T.
template <typename T, bool Masked>
inline void store16_from_s32(__m512i v, T* p, __mmask16 m) {
  if constexpr (std::is_same_v<T, int16_t>) {
    if (Masked) _mm256_mask_storeu_epi16(p, m, _mm512_cvtepi32_epi16(v));
    else _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), _mm512_cvtepi32_epi16(v));
  } else {
    if (Masked) _mm_mask_storeu_epi8(p, m, _mm512_cvtepi32_epi8(v));
    else _mm_storeu_si128(reinterpret_cast<__m128i*>(p), _mm512_cvtepi32_epi8(v));
  }
}

}  // namespace DYAD_ISA_NAMESPACE
}  // namespace dyad::kernels
