// Plan of the vector int_softmax (int_softmax_vec.h). Why the vector steps
// of int_softmax_simd.h equal the reference on every input, given the checks
// below (x int32; m the row maximum over the kept entries):
//  - d: with t = max(m + 30 x0, INT32_MIN), d = max(x, t) - m in int32. When
//    m + 30 x0 >= INT32_MIN this is max(x - m, 30 x0). Otherwise m < 0
//    (30 x0 >= INT32_MIN) and every kept x gives x - m > 30 x0, which the
//    int32 subtraction forms without overflow (x <= m, x - m >= INT32_MIN - m
//    > INT32_MIN). Masked entries are replaced by 30 x0. So d is in [30 x0, 0].
//  - q = floor(n / D), n = -d in [0, 30 D] (n = 2^31 read as unsigned), D =
//    -x0: (n * magic) >> k with magic = ceil(2^k / D), k the least with 2^k >
//    30 D^2. Writing magic D = 2^k + err, 0 <= err < D, and n = q D + rem:
//    n magic / 2^k = q + (rem + n err / 2^k) / D, and n err < 30 D^2 < 2^k,
//    so the fraction stays below (D - 1 + 1) / D = 1. 2^k <= 60 D^2 gives
//    magic <= 60 D + 1 < 2^32 for D <= 71582788, and n magic < 2^63.
//  - r = d + D q in (x0, 0], int32; r + b_int fits int32 (checked over r in
//    [x0 + 1, 0]); (r + b_int) r is one exact 32x32-bit product.
//  - z = (r + b_int) r + c_int in int64; max(z, 0) < 2^32 (z is convex in r,
//    so its maximum over [x0 + 1, 0] is at an end: checked). z M with M = 2^32
//    M_hi + M_lo is A 2^32 + B, A = z M_hi + floor(z M_lo / 2^32) < 2^63, B =
//    (z M_lo) mod 2^32. With s = E + q >= 33: floor(zM / 2^s) = A >> (s - 32),
//    the rounding bit is bit s - 33 of A, and the bits below it are those of
//    B and A's low s - 33 bits (A << (97 - s), zero for s >= 97 where the
//    result is 0 anyway: z M < 2^95). Counts of 64 or more shift to 0.
//  - sum: e16 <= 32767, at most 2^19 / lanes values per lane: int32.
//  - y = (e16 factor) >> 24 with factor = floor(2^32 / sum) < 2^32 when sum
//    >= 2 (one 32x32-bit product); sum == 1 gives factor = 2^32 and is done
//    as e16 << 8 by the scalar code.
#include "kernels/int_softmax/int_softmax_vec.h"

namespace dyad::kernels {

bool int_softmax_vec_plan(const IntSoftmaxParams& p, IntSoftmaxVecPlan* out, const char** why) {
  const char* unused;
  if (why == nullptr) why = &unused;
  if (p.x0_int < -kIntSoftmaxVecMaxDivisor) {
    *why = "x0_int below -71582788 (30 * x0_int must fit int32)";
    return false;
  }
  const int64_t r_min = p.x0_int + 1;  // r in [r_min, 0]
  if (p.b_int > INT32_MAX || r_min + p.b_int < INT32_MIN) {
    *why = "r + b_int does not fit int32";
    return false;
  }
  const int128_t z_end = static_cast<int128_t>(r_min + p.b_int) * r_min + p.c_int;
  const int128_t z_max = z_end > p.c_int ? z_end : static_cast<int128_t>(p.c_int);
  if (z_max >= (int128_t{1} << 32)) {
    *why = "the polynomial z reaches 2^32";
    return false;
  }
  if (p.act_e < 33) {
    *why = "act_shift below 33";
    return false;
  }
  if (p.length > kIntSoftmaxVecMaxLength) {
    *why = "rows longer than 2^19";
    return false;
  }
  IntSoftmaxVecPlan k;
  k.divisor = static_cast<int32_t>(-p.x0_int);
  k.floor_d = static_cast<int32_t>(30 * p.x0_int);
  const int128_t d = k.divisor;
  int shift = 0;
  while ((int128_t{1} << shift) <= 30 * d * d) ++shift;
  k.magic_shift = shift;
  k.magic = static_cast<int64_t>(((int128_t{1} << shift) + d - 1) / d);
  k.b_int = static_cast<int32_t>(p.b_int);
  k.c_int = p.c_int;
  k.m_lo = p.act_m & 0xffffffff;
  k.m_hi = p.act_m >> 32;
  k.act_e = p.act_e;
  // About 16k scores per task: whole rows, enough tasks to balance threads.
  k.rows_per_task = p.length > 0 && p.length < 16384 ? 16384 / p.length : 1;
  *out = k;
  return true;
}

}  // namespace dyad::kernels
