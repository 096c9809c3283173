// Stores of 8 output channels shared by the AVX2 GEMM epilogues (kernels/gemm,
// kernels/vnm_gemm; include only from *_avx2.cc files): the raw int32
// accumulators, or requantized values narrowed to 8-bit containers. A partial
// store (count < 8, the last channels of a row) goes through a stack buffer,
// so nothing is written past the row.
#pragma once

#include <immintrin.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "kernels/common/isa_namespace.h"

namespace dyad::kernels {
inline namespace DYAD_ISA_NAMESPACE {

// out[0, count) = the first `count` (1..8) int32 lanes of a.
inline void store_s32_lanes(int32_t* out, __m256i a, size_t count) {
  if (count == 8) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out), a);
    return;
  }
  alignas(32) int32_t tmp[8];
  _mm256_store_si256(reinterpret_cast<__m256i*>(tmp), a);
  std::memcpy(out, tmp, count * sizeof(int32_t));
}

// out[0, count) = the first `count` lanes of q as int8 (is_signed) or uint8.
// q must already be clamped into the container's range, so the saturating
// packs only narrow.
inline void store_x8_lanes(uint8_t* out, __m256i q, bool is_signed, size_t count) {
  const __m128i w16 = _mm_packs_epi32(_mm256_castsi256_si128(q), _mm256_extracti128_si256(q, 1));
  const __m128i b8 = is_signed ? _mm_packs_epi16(w16, w16) : _mm_packus_epi16(w16, w16);
  if (count == 8) {
    _mm_storel_epi64(reinterpret_cast<__m128i*>(out), b8);
    return;
  }
  alignas(16) uint8_t tmp[16];
  _mm_store_si128(reinterpret_cast<__m128i*>(tmp), b8);
  std::memcpy(out, tmp, count);
}

}  // namespace DYAD_ISA_NAMESPACE
}  // namespace dyad::kernels
