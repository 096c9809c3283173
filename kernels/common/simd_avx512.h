// The operations of kernels/common/simd_avx2.h on zmm registers (include only
// from *_avx512.cc files, built with AVX-512 F/BW/VL/DQ, or from
// *_avx512vnni.cc files, which lack DQ and so must not call mullo64): same
// names, same exact results per lane, twice the lanes. Comparison results
// are opmasks. sra64, hsum64, hmin64 and hmax64 (the int_layernorm rows) are
// here and in simd_neon.h only.
#pragma once

#include <immintrin.h>

#include <cstdint>

#include "kernels/common/isa_namespace.h"

namespace dyad::kernels {
inline namespace DYAD_ISA_NAMESPACE {

struct Simd {
  using V = __m512i;
  using M32 = __mmask16;
  using M64 = __mmask8;
  static constexpr int kLanes32 = 16;
  static constexpr int kLanes64 = 8;

  static V zero() { return _mm512_setzero_si512(); }
  static V set1_32(int32_t v) { return _mm512_set1_epi32(v); }
  static V set1_64(int64_t v) { return _mm512_set1_epi64(v); }
  static V load(const void* p) { return _mm512_loadu_si512(p); }
  static void store(void* p, V v) { _mm512_storeu_si512(p, v); }

  static V and_(V a, V b) { return _mm512_and_si512(a, b); }
  static V or_(V a, V b) { return _mm512_or_si512(a, b); }
  static V xor_(V a, V b) { return _mm512_xor_si512(a, b); }

  static V add32(V a, V b) { return _mm512_add_epi32(a, b); }
  static V sub32(V a, V b) { return _mm512_sub_epi32(a, b); }
  static V min32(V a, V b) { return _mm512_min_epi32(a, b); }
  static V max32(V a, V b) { return _mm512_max_epi32(a, b); }
  static V srav32(V a, V count) { return _mm512_srav_epi32(a, count); }
  static V mullo32(V a, V b) { return _mm512_mullo_epi32(a, b); }
  static M32 nonzero32(V a) { return _mm512_test_epi32_mask(a, a); }
  static V select32(M32 m, V if_true, V if_false) { return _mm512_mask_blend_epi32(m, if_false, if_true); }
  static bool any32(M32 m) { return m != 0; }
  static int64_t hsum32(V a) {
    return _mm512_reduce_add_epi64(_mm512_add_epi64(_mm512_cvtepi32_epi64(_mm512_castsi512_si256(a)),
                                                    _mm512_cvtepi32_epi64(_mm512_extracti64x4_epi64(a, 1))));
  }
  static int32_t hmax32(V a) { return _mm512_reduce_max_epi32(a); }

  static V add64(V a, V b) { return _mm512_add_epi64(a, b); }
  static V sub64(V a, V b) { return _mm512_sub_epi64(a, b); }
  static M64 gt64(V a, V b) { return _mm512_cmpgt_epi64_mask(a, b); }
  static V select64(M64 m, V if_true, V if_false) { return _mm512_mask_blend_epi64(m, if_false, if_true); }
  static V min64(V a, V b) { return _mm512_min_epi64(a, b); }
  static V max64(V a, V b) { return _mm512_max_epi64(a, b); }
  static V sign64(V a) { return _mm512_srai_epi64(a, 63); }
  static V srai64_14(V a) { return _mm512_srai_epi64(a, 14); }
  // Arithmetic right shift of every lane by `count` in [0, 63] (floor).
  static V sra64(V a, int count) { return _mm512_sra_epi64(a, _mm_cvtsi32_si128(count)); }
  template <int k>
  static V srli64(V a) { return _mm512_srli_epi64(a, k); }
  template <int k>
  static V slli64(V a) { return _mm512_slli_epi64(a, k); }
  static V srlv64(V a, V count) { return _mm512_srlv_epi64(a, count); }
  static V sllv64(V a, V count) { return _mm512_sllv_epi64(a, count); }
  static V where_nonzero64(V w, V v) { return _mm512_maskz_mov_epi64(_mm512_test_epi64_mask(w, w), v); }
  static V mul_u32(V a, V b) { return _mm512_mul_epu32(a, b); }
  static V mul_s32(V a, V b) { return _mm512_mul_epi32(a, b); }
  static V mullo64(V a, V b) { return _mm512_mullo_epi64(a, b); }  // AVX-512 DQ
  // Wrapping sum, minimum and maximum of the int64 lanes.
  static int64_t hsum64(V a) { return _mm512_reduce_add_epi64(a); }
  static int64_t hmin64(V a) { return _mm512_reduce_min_epi64(a); }
  static int64_t hmax64(V a) { return _mm512_reduce_max_epi64(a); }

  // The even 32-bit lanes from `even` (the low halves of its 64-bit lanes)
  // and the odd ones from the low halves of `odd`'s 64-bit lanes.
  static V interleave32(V even, V odd) { return _mm512_mask_blend_epi32(0xAAAA, even, _mm512_slli_epi64(odd, 32)); }
  // 8 64-bit values: 32 bytes at `lo`, then 32 bytes at `hi`.
  // The high 32 bits of each 64-bit lane of even (to the even int32 lanes)
  // and of odd (to the odd ones).
  static V high_halves64(V even, V odd) { return _mm512_mask_blend_epi32(0xAAAA, _mm512_srli_epi64(even, 32), odd); }
  static V load_64x4s(const void* lo, const void* hi) {
    return _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256(static_cast<const __m256i*>(lo))),
                              _mm256_loadu_si256(static_cast<const __m256i*>(hi)), 1);
  }

  static V widen_lo(V a) { return _mm512_cvtepi32_epi64(_mm512_castsi512_si256(a)); }
  static V widen_hi(V a) { return _mm512_cvtepi32_epi64(_mm512_extracti64x4_epi64(a, 1)); }
  static V narrow(V a, V b) {
    return _mm512_inserti64x4(_mm512_castsi256_si512(_mm512_cvtepi64_epi32(a)), _mm512_cvtepi64_epi32(b), 1);
  }

  static V load_s32(const int8_t* p) { return _mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))); }
  static V load_s32(const uint8_t* p) { return _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))); }
  static V load_s32(const int16_t* p) { return _mm512_cvtepi16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))); }
  static V load_s32(const int32_t* p) { return load(p); }

  static void store_s16(int16_t* p, V a) { _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), _mm512_cvtepi32_epi16(a)); }
  // Truncation: the lanes are already within the byte type's range.
  static void store_bytes(uint8_t* p, V a, bool /*is_signed*/) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(p), _mm512_cvtepi32_epi8(a));
  }
};

}  // namespace DYAD_ISA_NAMESPACE
}  // namespace dyad::kernels
