// Plan-time constants of the 64-bit-lane requantize (requantize_wide.h).
//
// Exactness. Let B = 1024 > |dst_min - z_y|, |dst_max - z_y| (checked), and
// write v = d * m / 2^e for the exact value, q = rne(v).
//  1. Normalization. m = 0, or e >= 95 after the steps below (|d * m| <= 2^94
//     <= 2^(e-1), the only tie rounding to the even 0; with z_x != 0, |d| <=
//     2^64 and e >= 97): q = 0 for every d; mag = 0 gives it. (e in {95, 96}
//     with z_x != 0 has D > 2^63 in step 2 and is refused.) Otherwise m * 2^k, e + k with |m| 2^k in [2^30, 2^31]
//     is the same value. If then e < 10, |v| >= 2^20 > B for every d != 0,
//     on the side of sign(d * m); (sign(m) 2^30, 20) gives |v| = 2^10 |d|,
//     the same side, the same clamped output, and 0 for d = 0.
//     Now e is in [10, 94] and mag in [2^30, 2^31].
//  2. Clamp. D = ceil(2^(10+e) / mag). |d| >= D gives |v| >= 2^10 = B: the
//     output is dst_min or dst_max by the sign of d * m alone, so d may be
//     replaced by +-D (x by z_x +- D, limited to the int64 range, where no x
//     lies beyond anyway). After the clamp |v| < 2^10 + mag / 2^e <= 2^10 +
//     2^21, so q fits int32. When D > 2^63 - 1 no int64 d reaches it and x is
//     not clamped; then z_x must be 0 (otherwise d would need 65 bits).
//  3. Width. a = |d| 2^pre with pre = max(0, 33 - e): for e < 33, D <= 2^12 +
//     1, so a < 2^36; else a <= 2^63. u = a * mag <= 2^94, computed as
//     A 2^32 + B from two 32x32-bit products: A = ah * mag + floor(al * mag /
//     2^32) < 2^62 + 2^32. With e' = e + pre >= 33 and s = e' - 31 in [2, 63]:
//     floor(u / 2^e') = floor(A / 2^(s-1)) = floor(u' / 2^s), the rounding bit
//     (bit e'-1 of u) is bit s-1 of u', and the bits below it are zero in u
//     iff they are in u' = 2A + (B != 0). So rne(u / 2^e') = rne(u' / 2^s),
//     computed as (u' + 2^(s-1) - 1 + bit_s(u')) >> s with u' + 2^(s-1) <
//     2^63 + 2^33 + 2^62 < 2^64: no overflow. rne is odd-symmetric, so the
//     sign of d * m is applied last.
//
// Floor form (requantize_wide.h), when every channel allows it:
//  - With z_x = 0 and the clamp above, |v| < 2^10 + 2^21 (step 2), and a
//    clamped d gives the same saturated output under the floor form too
//    (|v| >= 2^10 there, and floor(v + 1/2) is then beyond the clamp bound
//    on the same side). y' = -d where m < 0 makes y' * n = d * m; the clamp
//    bound D < 2^63 keeps -d in int64.
//  - floor((y' n + 2^(e-1)) / 2^e) = floor((floor(y' n / 2^32) + 2^(s-1)) / 2^s)
//    with s = e - 32 >= 1 (2^(e-1) is a multiple of 2^32; nested floors),
//    and y' = h 2^32 + l, h = y' >> 32 (its low 32 bits are those of the
//    logical shift, and |h| <= 2^31), l = y' mod 2^32:
//    floor(y' n / 2^32) = h n + floor(l n / 2^32), one signed and one
//    unsigned 32x32-bit product, |T| < 2^62 + 2^31 + 2^30 for the sum T.
//    q = floor(T / 2^s) fits int32, so the low 32 bits of the logical shift
//    (bits s .. s + 31 of T, s <= 31) are q's.
//  - floor(v + 1/2) is rne(v) except at ties v = k + 1/2, which it rounds up.
//    Those change the clamped output only when z_y + k and z_y + k + 1 both
//    lie in [dst_min, dst_max], so |2k + 1| <= W (floor_tie_window), and
//    d m = (2k + 1) 2^(e-1) with n = n_odd 2^j needs n_odd to divide 2k + 1
//    (when j <= e - 1; otherwise the left side has too many factors of 2).
//    floor_pair refuses n_odd <= W.
#include "kernels/requantize/requantize_wide.h"

#include <algorithm>

#include <cstdlib>

namespace dyad::kernels {

namespace {

struct Lane {
  int64_t x_lo = INT64_MIN, x_hi = INT64_MAX, pre = 0, mag = 0, neg = 0, shift = 2, round = 1;
};

constexpr int kBoundBits = 10;  // B = 2^10

// False when the lane needs 65 bits (a nonzero zero point and no clamp).
bool make_lane(Dyadic d, int64_t zx, Lane* lane) {
  int64_t m = d.m;
  int64_t e = d.e;
  *lane = Lane{};
  // |d| <= 2^63 when z_x = 0, else up to 2^64: q = 0 from e = 95 (97).
  const int64_t zero_from = zx == 0 ? 95 : 97;
  if (m == 0 || e >= zero_from) return true;  // q = 0 (normalization only raises e)
  const bool negative = m < 0;
  int64_t mag = std::llabs(m);
  while (mag < (int64_t{1} << 30)) {
    mag <<= 1;
    ++e;
  }
  if (e >= zero_from) return true;
  if (e < kBoundBits) {
    mag = int64_t{1} << 30;
    e = 20;
  }
  lane->mag = mag;
  lane->neg = negative ? -1 : 0;
  const int128_t limit = ((int128_t{1} << (kBoundBits + e)) + (mag - 1)) / mag;  // D
  if (limit <= INT64_MAX) {
    const int128_t lo = int128_t{zx} - limit, hi = int128_t{zx} + limit;
    lane->x_lo = lo < INT64_MIN ? INT64_MIN : static_cast<int64_t>(lo);
    lane->x_hi = hi > INT64_MAX ? INT64_MAX : static_cast<int64_t>(hi);
  } else if (zx != 0) {
    return false;
  }
  lane->pre = e < 33 ? 33 - e : 0;
  lane->shift = e + lane->pre - 31;
  lane->round = (int64_t{1} << (lane->shift - 1)) - 1;
  return true;
}

}  // namespace

bool floor_pair(int64_t abs_m, int64_t e, int64_t tie_window, FloorPair* out) {
  if (abs_m < 0 || abs_m > (int64_t{1} << 31)) return false;
  if (abs_m == 0) {
    *out = FloorPair{};  // q = floor(2^(s-1) / 2^s) = 0 = rne(0)
    return true;
  }
  if (abs_m == (int64_t{1} << 31)) {
    abs_m >>= 1;
    --e;
  }
  while (e < 33 && abs_m < (int64_t{1} << 30)) {
    abs_m <<= 1;
    ++e;
  }
  if (e < 33 || e > 63) return false;
  int64_t odd = abs_m;
  while (odd % 2 == 0) odd /= 2;
  if (odd <= tie_window) return false;
  *out = FloorPair{abs_m, static_cast<int32_t>(e)};
  return true;
}

int64_t floor_tie_window(const RequantizeParams& p) {
  return std::max(std::llabs(2 * (p.dst_min - p.dst_zero_point) + 1),
                  std::llabs(2 * (p.dst_max - p.dst_zero_point) - 1));
}

void fill_floor_constants(const std::vector<FloorPair>& pairs, size_t entries, FloorConstants* out) {
  for (auto* v : {&out->n, &out->round, &out->shift}) v->resize(entries);
  for (size_t j = 0; j < entries; ++j) {
    const FloorPair& f = pairs[j % pairs.size()];
    const int64_t s = f.e - 32;
    out->n[j] = f.n;
    out->round[j] = int64_t{1} << (s - 1);
    out->shift[j] = s;
  }
}

namespace {

// Whether every channel allows the floor form, and its pairs.
bool plan_floor(const RequantizeParams& p, const Dyadic* requant, const RequantizeWidePlan& w,
                std::vector<FloorPair>* pairs) {
  if (p.src_zero_point != 0) return false;
  const int64_t window = floor_tie_window(p);
  pairs->resize(p.channels);
  for (size_t c = 0; c < p.channels; ++c) {
    if (w.mag[c] == 0) {  // q = 0 for every input
      (*pairs)[c] = FloorPair{};
      continue;
    }
    if (w.x_lo[c] == INT64_MIN || w.x_hi[c] == INT64_MAX) return false;  // no clamp: -d may overflow
    if (!floor_pair(std::llabs(static_cast<int64_t>(requant[c].m)), requant[c].e, window, &(*pairs)[c]))
      return false;
  }
  return true;
}

}  // namespace

bool requantize_wide_plan(const RequantizeParams& p, const Dyadic* requant, RequantizeWidePlan* out) {
  if (p.dst_type != IntType::kS8 && p.dst_type != IntType::kU8) return false;
  if (p.channels == 0 || p.count % p.channels != 0) return false;
  const int64_t bound = int64_t{1} << kBoundBits;
  if (p.dst_zero_point < -(int64_t{1} << 20) || p.dst_zero_point > (int64_t{1} << 20)) return false;
  if (std::llabs(p.dst_min - p.dst_zero_point) >= bound || std::llabs(p.dst_max - p.dst_zero_point) >= bound)
    return false;
  const size_t n = p.channels + kRequantizeWidePad;
  RequantizeWidePlan w;
  for (auto* v : {&w.x_lo, &w.x_hi, &w.pre, &w.mag, &w.neg, &w.shift, &w.round}) v->resize(n);
  w.requant.assign(requant, requant + p.channels);
  for (size_t j = 0; j < n; ++j) {
    Lane lane;
    if (!make_lane(requant[j % p.channels], p.src_zero_point, &lane)) return false;
    w.x_lo[j] = lane.x_lo;
    w.x_hi[j] = lane.x_hi;
    w.pre[j] = lane.pre;
    w.mag[j] = lane.mag;
    w.neg[j] = lane.neg;
    w.shift[j] = lane.shift;
    w.round[j] = lane.round;
  }
  std::vector<FloorPair> pairs;
  w.has_floor = plan_floor(p, requant, w, &pairs);
  if (w.has_floor) fill_floor_constants(pairs, n, &w.floor);
  *out = std::move(w);
  return true;
}

void requantize_scalar_range(const RequantizeParams& p, const Dyadic* requant, const void* src,
                             uint8_t* dst, size_t begin, size_t end) {
  size_t c = begin % p.channels;
  for (size_t i = begin; i < end; ++i) {
    int64_t x;
    load_ints(src, p.src_type, i, 1, &x);
    dst[i] = static_cast<uint8_t>(requantize_value(p, x, requant[c]));
    if (++c == p.channels) c = 0;
  }
}

uint8_t requantize_wide_element(const RequantizeParams& p, int64_t x, Dyadic d) {
  return static_cast<uint8_t>(requantize_value(p, x, d));
}

bool requantize_int32_path_applies(const RequantizeParams& p) {
  if (p.dst_type != IntType::kS8 && p.dst_type != IntType::kU8) return false;
  bool fits = false;
  switch (p.src_type) {
    case IntType::kS8:
    case IntType::kU8:
    case IntType::kS16:
      fits = p.src_zero_point >= -(int64_t{1} << 30) && p.src_zero_point <= (int64_t{1} << 30);
      break;
    case IntType::kS32: fits = p.src_zero_point == 0; break;
    case IntType::kS64: fits = false; break;
  }
  return fits && p.channels != 0 && (p.channels == 1 || p.channels % 8 == 0) && p.dst_zero_point >= -1024 &&
         p.dst_zero_point <= 1024 && std::llabs(p.dst_min - p.dst_zero_point) <= 383 &&
         std::llabs(p.dst_max - p.dst_zero_point) <= 383;
}

}  // namespace dyad::kernels
