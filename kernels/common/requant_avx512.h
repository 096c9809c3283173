// The requant of kernels/common/requant_avx2.h on 16 lanes (zmm), for the
// AVX-512 kernels (include only from *_avx512*.cc files): the same steps on
// the same RequantBlock8 constants (two blocks = 16 consecutive channels), so
// the exactness argument of docs/kernels.md ("Requant epilogue") is
// unchanged; only the vector width differs. The constants of a 16-channel
// group are combined once (Requant16) and reused for every row of a tile.
#pragma once

#include <immintrin.h>


#include "kernels/common/isa_namespace.h"
#include "kernels/common/requant_block8.h"

namespace dyad::kernels {
inline namespace DYAD_ISA_NAMESPACE {

// The apply functions are always inlined: called once per row from an
// epilogue loop, an out-of-line call reloads every constant from memory (GCC
// stopped inlining apply_floor_wide when the GEMM drive grew, and 4-bit 1x1
// convs took 25 us instead of 20).
struct Requant16 {
  __m512i mult, mult_odd, acc_lo, acc_hi, offset, shift_even, shift_odd, round_even, round_odd;
  // The floor path (RequantBlock8), taken when both blocks allow it: its
  // high-half form (`floor`), else its 64-bit form (`floor_wide`).
  __m512i floor_round_even, floor_round_odd, floor_shift;
  bool floor = false;
  bool floor_wide = false;

  Requant16() = default;
  // Channels [0, 8) from `lo`, [8, 16) from `hi`.
  __attribute__((always_inline)) Requant16(const RequantBlock8& lo, const RequantBlock8& hi) {
    auto join = [](const void* a, const void* b) {
      return _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_load_si256(static_cast<const __m256i*>(a))),
                                _mm256_load_si256(static_cast<const __m256i*>(b)), 1);
    };
    mult = join(lo.mult, hi.mult);
    mult_odd = join(lo.mult_odd, hi.mult_odd);
    acc_lo = join(lo.acc_lo, hi.acc_lo);
    acc_hi = join(lo.acc_hi, hi.acc_hi);
    offset = join(lo.offset, hi.offset);
    shift_even = join(lo.shift_even, hi.shift_even);
    shift_odd = join(lo.shift_odd, hi.shift_odd);
    round_even = join(lo.round_even, hi.round_even);
    round_odd = join(lo.round_odd, hi.round_odd);
    floor_round_even = join(lo.floor_round_even, hi.floor_round_even);
    floor_round_odd = join(lo.floor_round_odd, hi.floor_round_odd);
    floor_shift = join(lo.floor_shift, hi.floor_shift);
    floor = lo.floor_path() && hi.floor_path();
    floor_wide = lo.floor_wide_path() && hi.floor_wide_path();
  }

  // round_shift of requant_avx2.h on 8 64-bit lanes.
  __attribute__((always_inline)) static inline __m512i round_shift(__m512i t, __m512i shift, __m512i round) {
    const __m512i bit = _mm512_and_si512(_mm512_srlv_epi64(t, shift), _mm512_set1_epi64(1));
    return _mm512_srlv_epi64(_mm512_add_epi64(_mm512_add_epi64(t, round), bit), shift);
  }

  // dst_zp + rne(acc * m / 2^e) for 16 lanes, before the [qmin, qmax] clamp.
  // (The floor path's 64-bit form is the caller's choice: a third branch
  // here slowed the depthwise and register-tile epilogues that never take it.)
  __attribute__((always_inline)) inline __m512i apply(__m512i acc) const {
    return floor ? apply_floor(acc) : apply_exact(acc);
  }

  // The floor path: the high halves of t + 2^(e-1) + dst_zp * 2^e (odd
  // dwords of the even and of the odd products, one two-source permute),
  // shifted by e - 32.
  __attribute__((always_inline)) inline __m512i apply_floor(__m512i acc) const { return floor_form().apply(acc); }

  // The floor path's high-half form alone: its 5 constants, for epilogues
  // that keep several groups' constants in registers.
  struct FloorForm {
    __m512i mult, mult_odd, round_even, round_odd, shift;
    __attribute__((always_inline)) inline __m512i apply(__m512i acc) const {
      const __m512i t_even = _mm512_add_epi64(_mm512_mul_epi32(acc, mult), round_even);
      const __m512i t_odd = _mm512_add_epi64(_mm512_mul_epi32(_mm512_srli_epi64(acc, 32), mult_odd), round_odd);
      const __m512i high = _mm512_set_epi32(31, 15, 29, 13, 27, 11, 25, 9, 23, 7, 21, 5, 19, 3, 17, 1);
      return _mm512_srav_epi32(_mm512_permutex2var_epi32(t_even, high, t_odd), shift);
    }
  };
  __attribute__((always_inline)) inline FloorForm floor_form() const {
    return {mult, mult_odd, floor_round_even, floor_round_odd, floor_shift};
  }

  // The floor path's 64-bit form, for blocks with shifts below 32 (4-bit
  // layers' multipliers, among others): acc clamped as on the exact path
  // (so the quotient fits int32 for any shift), then t + 2^(e-1) +
  // dst_zp * 2^e shifted right by e in 64 bits (vpsravq), and the low halves
  // of the even and odd quotients gathered by one two-source permute: 10
  // operations per 16 lanes against the exact path's 17.
  __attribute__((always_inline)) inline __m512i apply_floor_wide(__m512i acc) const {
    acc = _mm512_max_epi32(_mm512_min_epi32(acc, acc_hi), acc_lo);
    const __m512i t_even = _mm512_add_epi64(_mm512_mul_epi32(acc, mult), floor_round_even);
    const __m512i t_odd = _mm512_add_epi64(_mm512_mul_epi32(_mm512_srli_epi64(acc, 32), mult_odd), floor_round_odd);
    const __m512i low = _mm512_set_epi32(30, 14, 28, 12, 26, 10, 24, 8, 22, 6, 20, 4, 18, 2, 16, 0);
    return _mm512_permutex2var_epi32(_mm512_srav_epi64(t_even, shift_even), low, _mm512_srav_epi64(t_odd, shift_odd));
  }

  // requant8 of requant_avx2.h, step for step.
  __attribute__((always_inline)) inline __m512i apply_exact(__m512i acc) const {
    acc = _mm512_max_epi32(_mm512_min_epi32(acc, acc_hi), acc_lo);
    const __m512i t_even = _mm512_mul_epi32(acc, mult);
    const __m512i t_odd = _mm512_mul_epi32(_mm512_srli_epi64(acc, 32), mult_odd);
    const __m512i q_even = round_shift(t_even, shift_even, round_even);
    const __m512i q_odd = round_shift(t_odd, shift_odd, round_odd);
    const __m512i q = _mm512_mask_blend_epi32(0xAAAA, q_even, _mm512_slli_epi64(q_odd, 32));
    return _mm512_add_epi32(q, offset);
  }
};

}  // namespace DYAD_ISA_NAMESPACE
}  // namespace dyad::kernels
