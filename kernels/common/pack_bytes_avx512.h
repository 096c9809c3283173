// Requantized int32 values to their 8-bit outputs on AVX-512 (include only
// from *_avx512*.cc files), 32 or 64 at a time: the values of G = 2 or 4
// consecutive 16-column groups of one output row become G * 16 bytes in
// column order, clamped to [qmin, qmax], for one store. Saturating packs
// (int32 -> int16 -> int8 or uint8, within 128-bit lanes) and one dword
// permute replace a clamp, a vpmovdb and a store per 16 values: 7
// operations per 64 outputs instead of 16-20, in epilogues that take a
// quarter of MobileNetV2's time.
//
// Exact: the packs saturate to the container's range, which holds [qmin,
// qmax], and clamping a saturated value to a range inside the saturation
// range equals clamping the value itself.
#pragma once

#include <immintrin.h>

#include <cstddef>
#include <cstdint>

#include "kernels/common/isa_namespace.h"

namespace dyad::kernels {
inline namespace DYAD_ISA_NAMESPACE {

template <bool kSigned>
struct BytePacker {
  __m512i qmin, qmax;
  BytePacker(int32_t lo, int32_t hi)
      : qmin(_mm512_set1_epi8(static_cast<char>(lo))), qmax(_mm512_set1_epi8(static_cast<char>(hi))) {}

  // Bytes 16 * g + c hold q[g] lane c (the rest of the vector for G = 2 is
  // unspecified).
  template <int G>
  __attribute__((always_inline)) inline __m512i pack(const __m512i (&q)[G]) const {
    static_assert(G == 2 || G == 4);
    __m512i b;
    if constexpr (G == 4) {
      const __m512i lo = _mm512_packs_epi32(q[0], q[1]), hi = _mm512_packs_epi32(q[2], q[3]);
      b = kSigned ? _mm512_packs_epi16(lo, hi) : _mm512_packus_epi16(lo, hi);
      // Lane i's dword g holds group g's lanes 4i .. 4i + 3: dword 4g + i
      // of the result takes dword 4i + g.
      b = _mm512_permutexvar_epi32(_mm512_set_epi32(15, 11, 7, 3, 14, 10, 6, 2, 13, 9, 5, 1, 12, 8, 4, 0), b);
    } else {
      const __m512i w = _mm512_packs_epi32(q[0], q[1]);
      b = kSigned ? _mm512_packs_epi16(w, w) : _mm512_packus_epi16(w, w);
      b = _mm512_permutexvar_epi32(_mm512_set_epi32(0, 0, 0, 0, 0, 0, 0, 0, 13, 9, 5, 1, 12, 8, 4, 0), b);
    }
    return kSigned ? _mm512_min_epi8(_mm512_max_epi8(b, qmin), qmax) : _mm512_min_epu8(_mm512_max_epu8(b, qmin), qmax);
  }
};

// The byte mask of the first `count` of 64 bytes.
inline __mmask64 first_bytes(size_t count) {
  return count >= 64 ? ~__mmask64{0} : (__mmask64{1} << count) - 1;
}

}  // namespace DYAD_ISA_NAMESPACE
}  // namespace dyad::kernels
