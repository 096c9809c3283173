// The int32-accumulator requantization of the AVX2 kernels, shared by the
// GEMM (kernels/gemm) and depthwise conv2d epilogues: per-channel constants in
// the form kernels/common/requant_avx2.h reads, and how they are derived.
// docs/kernels.md ("Requant epilogue") has the exactness argument.
#pragma once

#include <cstdint>

#include "kernels/common/requant.h"

namespace dyad::kernels {

// Requant constants of 8 consecutive channels (lanes):
//   acc' = clamp(acc, acc_lo, acc_hi)        changes no output, keeps q in int32
//   t    = acc' * mult                       64-bit, even and odd lanes apart
//   x    = t + round + bit_shift(t)          round = 2^(shift-1) - 1 + 2^63 (mod 2^64)
//   q    = (x >>> shift) + offset  (low 32 bits, logical shift)
//        = rne(acc * m / 2^e) + dst_zp
// with shift in [1, 63] (every (m, e) is first normalized to that range).
// Valid for every int32 acc when the clamp bounds of the output lie within
// 383 of dst_zp (8-bit and 4-bit outputs).
//
// The floor path, a shorter form of the same function that the vector
// epilogues take when every lane of a block allows it (floor_path()):
//   q = hi32(acc * mult + 2^(shift-1) + dst_zp * 2^shift) >> (shift - 32)
// with arithmetic shifts, no clamp and no rounding bit: a floor division
// after adding half, which is rne except at ties, for lanes whose shift is
// in [32, 54] and where no int32 acc is a tie within 383 of dst_zp (so no
// clamped output depends on how ties round). docs/kernels.md ("Requant
// epilogue") has the argument; floor_lane_allowed() is the condition.
struct alignas(32) RequantBlock8 {
  int32_t mult[8];      // m of each lane (even lanes used)
  int32_t mult_odd[8];  // m of lanes 1, 3, 5, 7 in lanes 0, 2, 4, 6
  int32_t acc_lo[8];
  int32_t acc_hi[8];
  int32_t offset[8];    // dst_zp - 2^(63 - shift) mod 2^32
  int64_t shift_even[4];  // lanes 0, 2, 4, 6
  int64_t shift_odd[4];   // lanes 1, 3, 5, 7
  int64_t round_even[4];
  int64_t round_odd[4];
  // The floor paths (lanes with m = 0 have shift 32: the constant is then
  // dst_zp * 2^32, the output dst_zp). The 64-bit form shifts by
  // shift_even / shift_odd.
  int64_t floor_round_even[4];  // 2^(shift-1) + dst_zp * 2^shift, lanes 0, 2, 4, 6
  int64_t floor_round_odd[4];   // lanes 1, 3, 5, 7
  int32_t floor_shift[8];       // shift - 32 (the high-half form, shift >= 32)
  uint32_t floor_lanes = 0;       // bit i: lane i allows the floor path's high-half form
  uint32_t floor_wide_lanes = 0;  // bit i: lane i allows its 64-bit form

  bool floor_path() const { return floor_lanes == 0xFF; }
  bool floor_wide_path() const { return floor_wide_lanes == 0xFF; }
};

// Whether rne(acc * m / 2^e) + dst_zp, clamped to bounds within 383 of
// dst_zp, equals floor((acc * m + 2^(e-1)) / 2^e) + dst_zp, clamped alike,
// for every int32 acc ((m, e) normalized, e in [1, 63]): the floor path's
// 64-bit form (the AVX-512 epilogues' floor_wide, which clamps acc first
// as the exact path does, so the quotient fits int32 for any e).
bool floor_wide_lane_allowed(Dyadic normalized, int32_t dst_zp);

// floor_wide_lane_allowed, and the shift lets the high halves of the 64-bit
// products carry every kept bit (e >= 32): the floor path's high-half form,
// which needs no acc clamp.
bool floor_lane_allowed(Dyadic normalized, int32_t dst_zp);

// An (m, e) with e in [1, 63] giving the same clamped output as (m, e) for
// every int32 acc, when |qmin - zp| and |qmax - zp| are below 2^29.
Dyadic normalize_requant_s32(Dyadic d);

// Sets lane `lane` of `b` to requantize with `d` (any m, e) and add dst_zp.
void set_requant_lane(RequantBlock8& b, int lane, Dyadic d, int32_t dst_zp);

}  // namespace dyad::kernels
