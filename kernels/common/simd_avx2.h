// The integer vector operations the element-wise SIMD kernels are written in
// (requantize's 64-bit path, int_softmax, int_gelu), on AVX2 (include only
// from *_avx2.cc files). kernels/common/simd_avx512.h has the same names on
// zmm registers, kernels/common/simd_neon.h on pairs of 128-bit ARM NEON
// registers; each kernel's algorithm is one template over `Simd`, compiled
// once per ISA. Every operation is exact, with the wrap-around (mod 2^n)
// semantics of the instructions; shifts by a vector count give 0 for counts
// of 64 or more (vpsrlvq/vpsllvq).
#pragma once

#include <immintrin.h>

#include <cstdint>

#include "kernels/common/isa_namespace.h"

namespace dyad::kernels {
inline namespace DYAD_ISA_NAMESPACE {

struct Simd {
  using V = __m256i;
  using M32 = __m256i;  // comparison results: all-ones lanes
  using M64 = __m256i;
  static constexpr int kLanes32 = 8;
  static constexpr int kLanes64 = 4;

  static V zero() { return _mm256_setzero_si256(); }
  static V set1_32(int32_t v) { return _mm256_set1_epi32(v); }
  static V set1_64(int64_t v) { return _mm256_set1_epi64x(v); }
  static V load(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }
  static void store(void* p, V v) { _mm256_storeu_si256(static_cast<__m256i*>(p), v); }

  static V and_(V a, V b) { return _mm256_and_si256(a, b); }
  static V or_(V a, V b) { return _mm256_or_si256(a, b); }
  static V xor_(V a, V b) { return _mm256_xor_si256(a, b); }

  // 32-bit lanes.
  static V add32(V a, V b) { return _mm256_add_epi32(a, b); }
  static V sub32(V a, V b) { return _mm256_sub_epi32(a, b); }
  static V min32(V a, V b) { return _mm256_min_epi32(a, b); }
  static V max32(V a, V b) { return _mm256_max_epi32(a, b); }
  static V srav32(V a, V count) { return _mm256_srav_epi32(a, count); }
  static V mullo32(V a, V b) { return _mm256_mullo_epi32(a, b); }
  static M32 nonzero32(V a) { return _mm256_xor_si256(_mm256_cmpeq_epi32(a, zero()), set1_32(-1)); }
  static V select32(M32 m, V if_true, V if_false) { return _mm256_blendv_epi8(if_false, if_true, m); }
  static bool any32(M32 m) { return !_mm256_testz_si256(m, m); }
  static int64_t hsum32(V a) {
    alignas(32) int32_t lanes[8];
    _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), a);
    int64_t s = 0;
    for (int32_t v : lanes) s += v;
    return s;
  }
  static int32_t hmax32(V a) {
    alignas(32) int32_t lanes[8];
    _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), a);
    int32_t m = lanes[0];
    for (int32_t v : lanes) m = v > m ? v : m;
    return m;
  }

  // 64-bit lanes.
  static V add64(V a, V b) { return _mm256_add_epi64(a, b); }
  static V sub64(V a, V b) { return _mm256_sub_epi64(a, b); }
  static M64 gt64(V a, V b) { return _mm256_cmpgt_epi64(a, b); }
  static V select64(M64 m, V if_true, V if_false) { return _mm256_blendv_epi8(if_false, if_true, m); }
  static V min64(V a, V b) { return select64(gt64(a, b), b, a); }
  static V max64(V a, V b) { return select64(gt64(a, b), a, b); }
  // All-ones in the negative lanes (the arithmetic shift by 63).
  static V sign64(V a) { return _mm256_cmpgt_epi64(zero(), a); }
  static V srai64_14(V a) {  // floor(a / 2^14): ~(~a >>> 14) for negative a
    const V s = sign64(a);
    return xor_(_mm256_srli_epi64(xor_(a, s), 14), s);
  }
  template <int k>
  static V srli64(V a) { return _mm256_srli_epi64(a, k); }
  template <int k>
  static V slli64(V a) { return _mm256_slli_epi64(a, k); }
  static V srlv64(V a, V count) { return _mm256_srlv_epi64(a, count); }
  static V sllv64(V a, V count) { return _mm256_sllv_epi64(a, count); }
  // `v` where `w` is nonzero, else 0.
  static V where_nonzero64(V w, V v) { return _mm256_andnot_si256(_mm256_cmpeq_epi64(w, zero()), v); }
  // Unsigned product of the low 32 bits of each lane: exact, 64 bits.
  static V mul_u32(V a, V b) { return _mm256_mul_epu32(a, b); }
  // Signed product of the low 32 bits of each lane: exact, 64 bits.
  static V mul_s32(V a, V b) { return _mm256_mul_epi32(a, b); }
  // The low 64 bits of a * b (mod 2^64), from three 32x32 products.
  static V mullo64(V a, V b) {
    const V cross = add64(mul_u32(srli64<32>(a), b), mul_u32(a, srli64<32>(b)));
    return add64(mul_u32(a, b), slli64<32>(cross));
  }

  // int32 lanes <-> int64 lanes. widen_lo/hi: lanes [0, 4) / [4, 8) sign
  // extended; narrow: the low 32 bits of a's lanes, then of b's.
  // The even 32-bit lanes from `even` (the low halves of its 64-bit lanes)
  // and the odd ones from the low halves of `odd`'s 64-bit lanes.
  static V interleave32(V even, V odd) { return _mm256_blend_epi32(even, _mm256_slli_epi64(odd, 32), 0xAA); }
  // kLanes64 64-bit values from 32 bytes at `lo` (`hi` is for the wider ISAs).
  // The high 32 bits of each 64-bit lane of even (to the even int32 lanes)
  // and of odd (to the odd ones).
  static V high_halves64(V even, V odd) { return _mm256_blend_epi32(_mm256_srli_epi64(even, 32), odd, 0xAA); }
  static V load_64x4s(const void* lo, const void* /*hi*/) { return load(lo); }

  static V widen_lo(V a) { return _mm256_cvtepi32_epi64(_mm256_castsi256_si128(a)); }
  static V widen_hi(V a) { return _mm256_cvtepi32_epi64(_mm256_extracti128_si256(a, 1)); }
  static V narrow(V a, V b) {
    const V low_halves = _mm256_setr_epi32(0, 2, 4, 6, 0, 2, 4, 6);
    return _mm256_set_m128i(_mm256_castsi256_si128(_mm256_permutevar8x32_epi32(b, low_halves)),
                            _mm256_castsi256_si128(_mm256_permutevar8x32_epi32(a, low_halves)));
  }

  // kLanes32 integers of type T, sign extended to int32 lanes.
  static V load_s32(const int8_t* p) { return _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p))); }
  static V load_s32(const uint8_t* p) { return _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p))); }
  static V load_s32(const int16_t* p) { return _mm256_cvtepi16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))); }
  static V load_s32(const int32_t* p) { return load(p); }

  // int32 lanes already within the destination's range, stored narrowed.
  static void store_s16(int16_t* p, V a) {
    const V packed = _mm256_permute4x64_epi64(_mm256_packs_epi32(a, a), 0x08);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(p), _mm256_castsi256_si128(packed));
  }
  static void store_bytes(uint8_t* p, V a, bool is_signed) {
    const V words = _mm256_packs_epi32(a, a);
    const V bytes = is_signed ? _mm256_packs_epi16(words, words) : _mm256_packus_epi16(words, words);
    const __m128i joined = _mm_unpacklo_epi32(_mm256_castsi256_si128(bytes), _mm256_extracti128_si256(bytes, 1));
    _mm_storel_epi64(reinterpret_cast<__m128i*>(p), joined);
  }
};

}  // namespace DYAD_ISA_NAMESPACE
}  // namespace dyad::kernels
