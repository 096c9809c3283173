#include "kernels/common/requant_block8.h"

#include <algorithm>
#include <cstdlib>

namespace dyad::kernels {

Dyadic normalize_requant_s32(Dyadic d) {
  // e >= 63: |acc * m| <= 2^62, so rne(t / 2^e) = 0 for every e >= 63 (at e =
  // 63 the only tie, |t| = 2^62, rounds to the even 0). The kernel's shifts are
  // then in range.
  if (d.e >= 63) return {d.m, 63};
  if (d.e >= 1) return d;
  if (d.m == 0) return {0, 1};
  // e <= 0: the exact value is acc * m * 2^s, s = -e. If m * 2^(s+1) fits
  // int32, (m * 2^(s+1), 1) is the same value with no rounding.
  const int64_t s = -int64_t{d.e};
  if (s <= 30) {
    const int64_t m2 = int64_t{d.m} * (int64_t{1} << (s + 1));
    if (m2 >= INT32_MIN && m2 <= INT32_MAX) return {static_cast<int32_t>(m2), 1};
  }
  // Otherwise |m| * 2^s >= 2^30: every acc != 0 lands at least 2^30 from 0,
  // beyond any clamp bound (|q - zp| < 2^9), on the side of sign(acc * m).
  // (+-2^30, 1) gives acc * +-2^29: the same side, the same clamped output,
  // and 0 for acc = 0.
  return {d.m > 0 ? (1 << 30) : -(1 << 30), 1};
}

bool floor_wide_lane_allowed(Dyadic r, int32_t dst_zp) {
  if (std::abs(int64_t{dst_zp}) > 255) return false;
  if (r.m == 0) return true;
  // The constant 2^(e-1) + dst_zp * 2^e added to |t| <= 2^62 stays inside
  // int64 for e <= 54 (255.5 * 2^54 < 2^62), and being a multiple of 2^e,
  // dst_zp * 2^e adds exactly dst_zp after the floor division.
  if (r.e > 54) return false;
  // floor((t + 2^(e-1)) / 2^e) is rne(t / 2^e) except at ties, t / 2^e =
  // h + 1/2, where it rounds up and rne to even. A tie changes a clamped
  // output only when zp + h and zp + h + 1 both lie in [qmin, qmax], so h in
  // [-383, 382]. With m = m_odd * 2^s (s <= 30), a tie needs s < e and
  // acc * m = (2h + 1) * 2^(e-1), so m_odd divides the odd 2h + 1,
  // |2h + 1| <= 765: impossible when |m_odd| > 765. Lanes with a small odd
  // part (m a power of two times a small number) keep the exact path.
  int64_t m_odd = r.m;
  while (m_odd % 2 == 0) m_odd /= 2;
  return std::abs(m_odd) > 765;
}

bool floor_lane_allowed(Dyadic r, int32_t dst_zp) {
  // hi32 then an arithmetic shift by e - 32 needs e >= 32.
  return floor_wide_lane_allowed(r, dst_zp) && (r.m == 0 || r.e >= 32);
}

void set_requant_lane(RequantBlock8& b, int lane, Dyadic d, int32_t dst_zp) {
  // m = 0 (output dst_zp) with shift 32, so that every floor lane's shift
  // works for both floor forms (the exact path takes any shift).
  const Dyadic normalized = normalize_requant_s32(d);
  const Dyadic r = normalized.m == 0 ? Dyadic{0, 32} : normalized;
  b.mult[lane] = r.m;
  if (lane % 2 == 1) b.mult_odd[lane - 1] = r.m;
  // |acc| >= acc_hi gives |acc * m / 2^e| >= 2^10, beyond every clamp
  // bound (|q - zp| <= 383), on the side of sign(acc * m): clamping acc
  // there changes no output, and bounds |q| by 2^10 + 2^30 < 2^31.
  const int128_t limit = ((int128_t{1} << (10 + r.e)) + (std::abs(int64_t{r.m}) - 1)) /
                         std::max<int64_t>(std::abs(int64_t{r.m}), 1);
  // When no int32 acc reaches the limit the clamp must change nothing, not
  // even -2^31 (moving it to -(2^31 - 1) can cross a rounding tie:
  // -2^31 * 3 / 2^32 = -1.5 rounds to -2, the neighbour to -1); then
  // |t| <= 2^31 * 2^31 = 2^62, which round_shift takes exactly.
  const bool no_limit = r.m == 0 || limit > INT32_MAX;
  b.acc_hi[lane] = no_limit ? INT32_MAX : static_cast<int32_t>(limit);
  b.acc_lo[lane] = no_limit ? INT32_MIN : -static_cast<int32_t>(limit);
  // x + 2^63 >= 0 as an unsigned 64-bit value, so a logical shift gives
  // floor(x / 2^e) + 2^(63 - e); the offset removes that term again.
  const uint64_t round = (uint64_t{1} << (r.e - 1)) - 1 + (uint64_t{1} << 63);
  const uint32_t bias_low = static_cast<uint32_t>(uint64_t{1} << (63 - r.e));
  b.offset[lane] = static_cast<int32_t>(static_cast<uint32_t>(dst_zp) - bias_low);
  int64_t* shift = lane % 2 == 0 ? b.shift_even : b.shift_odd;
  int64_t* rnd = lane % 2 == 0 ? b.round_even : b.round_odd;
  shift[lane / 2] = r.e;
  rnd[lane / 2] = static_cast<int64_t>(round);

  const bool floor_ok = floor_lane_allowed(r, dst_zp);
  const bool floor_wide_ok = floor_wide_lane_allowed(r, dst_zp);
  int64_t* floor_rnd = lane % 2 == 0 ? b.floor_round_even : b.floor_round_odd;
  floor_rnd[lane / 2] =
      floor_wide_ok ? (r.m == 0 ? 0 : int64_t{1} << (r.e - 1)) + int64_t{dst_zp} * (int64_t{1} << r.e) : 0;
  b.floor_shift[lane] = floor_ok ? r.e - 32 : 0;
  auto set_bit = [lane](uint32_t& lanes, bool on) { lanes = on ? lanes | (1u << lane) : lanes & ~(1u << lane); };
  set_bit(b.floor_lanes, floor_ok);
  set_bit(b.floor_wide_lanes, floor_wide_ok);
}

}  // namespace dyad::kernels
