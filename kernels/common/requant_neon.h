// The int32-accumulator requant of RequantBlock8 (kernels/common/requant_block8.h)
// on 64-bit ARM NEON, 4 lanes at a time (include only from ARM kernel files:
// *_neon.cc, *_dotprod.cc, *_i8mm.cc). The same steps as the AVX2 requant8
// (requant_avx2.h), lane for lane, so the same exactness argument holds
// (docs/kernels.md, "Requant epilogue"):
//   acc' = clamp(acc, acc_lo, acc_hi); t = acc' * m (64-bit, SMULL);
//   x = t + round + bit_shift(t) (mod 2^64); q = (x >>> shift) + offset (low 32 bits)
// NEON shifts by a register count (USHL) shift right for negative counts, so
// the per-lane shift is applied as -shift.
#pragma once

#include <arm_neon.h>

#include "kernels/common/isa_namespace.h"
#include "kernels/common/requant_block8.h"

namespace dyad::kernels {
inline namespace DYAD_ISA_NAMESPACE {

// rne(t / 2^shift) + 2^(63 - shift) for two 64-bit lanes (round includes
// 2^(shift-1) - 1 + 2^63, neg_shift = -shift in [-63, -1]).
inline uint64x2_t round_shift_neon(int64x2_t t, int64x2_t neg_shift, uint64x2_t round) {
  const uint64x2_t u = vreinterpretq_u64_s64(t);
  const uint64x2_t bit = vandq_u64(vshlq_u64(u, neg_shift), vdupq_n_u64(1));
  return vshlq_u64(vaddq_u64(vaddq_u64(u, round), bit), neg_shift);
}

// dst_zp + rne(acc * m / 2^e) for lanes [4 * half, 4 * half + 4) of block b,
// before the [qmin, qmax] clamp.
inline int32x4_t requant4(int32x4_t acc, const RequantBlock8& b, int half) {
  const int lane0 = 4 * half;
  acc = vmaxq_s32(vminq_s32(acc, vld1q_s32(b.acc_hi + lane0)), vld1q_s32(b.acc_lo + lane0));
  const int32x4_t m = vld1q_s32(b.mult + lane0);
  const int64x2_t t01 = vmull_s32(vget_low_s32(acc), vget_low_s32(m));
  const int64x2_t t23 = vmull_high_s32(acc, m);
  // Lanes 0..3 of the half: shifts and rounds of lanes (0, 1) and (2, 3)
  // from the even/odd arrays (lane 2i is even[i], lane 2i + 1 is odd[i]).
  const int64x2_t se = vld1q_s64(b.shift_even + 2 * half), so = vld1q_s64(b.shift_odd + 2 * half);
  const int64x2_t re = vld1q_s64(b.round_even + 2 * half), ro = vld1q_s64(b.round_odd + 2 * half);
  const uint64x2_t q01 = round_shift_neon(t01, vnegq_s64(vzip1q_s64(se, so)), vreinterpretq_u64_s64(vzip1q_s64(re, ro)));
  const uint64x2_t q23 = round_shift_neon(t23, vnegq_s64(vzip2q_s64(se, so)), vreinterpretq_u64_s64(vzip2q_s64(re, ro)));
  const int32x4_t q = vreinterpretq_s32_u32(vcombine_u32(vmovn_u64(q01), vmovn_u64(q23)));
  return vaddq_s32(q, vld1q_s32(b.offset + lane0));
}

}  // namespace DYAD_ISA_NAMESPACE
}  // namespace dyad::kernels
