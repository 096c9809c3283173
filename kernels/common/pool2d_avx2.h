// AVX2 pieces of the average pools (include only from *_avx2.cc files).
#pragma once

#include <immintrin.h>

#include <limits>
#include <type_traits>

#include "kernels/common/pool2d.h"

namespace dyad::kernels {

// 8 elements of T (int8, uint8 or int16) widened to int32 lanes.
template <typename T>
inline __m256i load8_as_s32(const T* p) {
  if constexpr (std::is_same_v<T, int8_t>)
    return _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)));
  else if constexpr (std::is_same_v<T, uint8_t>)
    return _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)));
  else
    return _mm256_cvtepi16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}

// floor(sum / d) for 8 int32 sums of `d` values of T each (d < 2^31 and
// (max(T) - min(T)) * d < 2^31, checked by the caller): n = sum - d * min(T)
// lies in [0, 2^31), so exact_divisor applies, and floor(sum / d) =
// floor(n / d) + min(T).
template <typename T>
inline __m256i floor_div8(__m256i sum, int64_t d, ExactDivisor div) {
  constexpr int32_t kMin = std::numeric_limits<T>::min();
  const __m256i n = _mm256_sub_epi32(sum, _mm256_set1_epi32(static_cast<int32_t>(d * kMin)));
  const __m256i m = _mm256_set1_epi64x(div.mult);
  const __m128i s = _mm_cvtsi32_si128(div.shift);
  const __m256i q_even = _mm256_srl_epi64(_mm256_mul_epu32(n, m), s);
  const __m256i q_odd = _mm256_srl_epi64(_mm256_mul_epu32(_mm256_srli_epi64(n, 32), m), s);
  const __m256i q = _mm256_blend_epi32(q_even, _mm256_slli_epi64(q_odd, 32), 0xAA);
  return _mm256_add_epi32(q, _mm256_set1_epi32(kMin));
}

// Stores 8 int32 lanes that lie in T's range as T.
template <typename T>
inline void store8_from_s32(__m256i v, T* p) {
  const __m128i w = _mm_packs_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  if constexpr (std::is_same_v<T, int16_t>) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(p), w);
  } else {
    const __m128i b = std::is_same_v<T, int8_t> ? _mm_packs_epi16(w, w) : _mm_packus_epi16(w, w);
    _mm_storel_epi64(reinterpret_cast<__m128i*>(p), b);
  }
}

}  // namespace dyad::kernels
