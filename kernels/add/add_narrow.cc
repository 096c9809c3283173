// Plan-time constants of the add's narrow path (AddVecPlan::narrow): each
// branch in int32 lanes instead of the exact 64-bit form, when the plan can
// show that the output is the same for every input value.
//   - An 8-bit input (d = x - z takes at most 511 values): (d * mult +
//     round) >> shift in int32, mult about m * 2^(shift - e), checked
//     against the exact branch for every d.
//   - A 16- or 32-bit input next to an 8-bit one (a conv's int32 sums plus
//     the identity of a residual block): the GEMM epilogue's floor path,
//     hi32(d * m + 2^(e-1)) >> (e - 32), for e in [32, 62] and an odd part
//     of m too large for any tie to reach the clamp window.
// docs/kernels.md ("add") has the argument.
#include <algorithm>
#include <cstdlib>
#include <vector>

#include "kernels/add/add.h"
#include "kernels/requantize/requantize.h"

namespace dyad::kernels {

namespace {

struct Narrow8 {
  int32_t mult = 0, round = 0, shift = 1;
  int64_t max_abs = 0;  // the largest |branch| over every input value
};

// The 32-bit form of rne(d * m / 2^e) for every d in [d_min, d_max]: the
// largest shift that keeps |d * mult| + 2^shift below 2^31, then two
// smaller ones in case rounding mult itself moved a value across a
// rounding edge; each with round 2^(shift-1) and one less (which way exact
// ties go). shift >= 3 keeps each branch below 2^28, so z_y plus two
// branches (|z_y| <= 2^29) cannot wrap int32.
bool narrow8(Dyadic r, int64_t d_min, int64_t d_max, Narrow8* out) {
  // The exact branch of every d, computed once for every candidate below
  // (d_max - d_min <= 255 for an 8-bit container).
  int128_t exact[256];
  if (d_max - d_min >= 256) return false;
  for (int64_t d = d_min; d <= d_max; ++d) {
    exact[d - d_min] = dyadic_rne_wide(d, r.m, r.e);
    // Capped: a branch this large fails every later test anyway, and the
    // window sum in plan_narrow stays far from overflow.
    const int128_t v = exact[d - d_min] < 0 ? -exact[d - d_min] : exact[d - d_min];
    out->max_abs = std::max<int64_t>(out->max_abs, v > INT32_MAX ? INT32_MAX : static_cast<int64_t>(v));
  }
  if (r.m == 0) return true;
  const int64_t max_d = std::max(-d_min, d_max);
  int tries = 0;
  for (int s = 30; s >= 3 && tries < 3; --s) {
    if (int64_t{s} - r.e > 40) continue;  // |m| * 2^(s - e) >= 2^41
    const int128_t m = s >= r.e ? static_cast<int128_t>(r.m) << (s - r.e) : dyadic_rne_wide(r.m, 1, r.e - s);
    const int128_t abs_m = m < 0 ? -m : m;
    if (abs_m > INT32_MAX || max_d * abs_m + (int128_t{1} << s) >= (int128_t{1} << 31)) continue;
    ++tries;
    for (int64_t half : {int64_t{1} << (s - 1), (int64_t{1} << (s - 1)) - 1}) {
      bool same = true;
      for (int64_t d = d_min; d <= d_max && same; ++d)
        same = ((d * static_cast<int64_t>(m) + half) >> s) == exact[d - d_min];
      if (same) {
        out->mult = static_cast<int32_t>(m), out->round = static_cast<int32_t>(half), out->shift = s;
        return true;
      }
    }
  }
  return false;
}

// Whether the floor form of a wide branch gives the same clamped output:
// it differs from rne only at ties d * m / 2^e = h + 1/2 (by one), which
// matter only when z_y + other + h and z_y + other + h + 1 both lie in
// [dst_min, dst_max], so |2h + 1| <= 2 * window + 1 with window =
// max(|dst_min - z_y|, |dst_max - z_y|) + max|other branch|. With
// m = m_odd * 2^s (s <= 30 < e - 1) a tie needs m_odd to divide 2h + 1.
bool floor_wide_allowed(Dyadic r, int64_t window) {
  if (r.m == 0) return true;
  if (r.e < 32 || r.e > 62) return false;
  int64_t m_odd = r.m;
  while (m_odd % 2 == 0) m_odd /= 2;
  return std::abs(m_odd) > 2 * window + 1;
}

bool is_8bit(IntType t) { return t == IntType::kS8 || t == IntType::kU8; }

void set_narrow8(AddBlock8::NarrowBranch& k, int lane, const Narrow8& c, int64_t z) {
  k.mult[lane] = c.mult;
  // x * mult + (round - z * mult) = d * mult + round, mod 2^32 (the true
  // value fits int32), so the kernel needs no subtraction of z.
  k.round[lane] = static_cast<int32_t>(static_cast<uint32_t>(c.round) -
                                       static_cast<uint32_t>(z) * static_cast<uint32_t>(c.mult));
  k.shift[lane] = c.shift;
}

void set_floor_wide(AddBlock8::NarrowBranch& k, int lane, Dyadic r) {
  k.mult[lane] = r.m;
  if (lane % 2 == 1) k.mult_odd[lane - 1] = r.m;
  k.shift[lane] = r.m == 0 ? 0 : r.e - 32;
  k.round64[lane % 2][lane / 2] = r.m == 0 ? 0 : int64_t{1} << (r.e - 1);
}

}  // namespace

void plan_narrow(const AddParams& p, const Dyadic* a_requant, const Dyadic* b_requant, AddVecPlan* plan) {
  plan->narrow = false;
  const bool a8 = is_8bit(p.a_type), b8 = is_8bit(p.b_type);
  if ((!a8 && !b8) || p.dst_zero_point < -(1 << 29) || p.dst_zero_point > (1 << 29)) return;
  // The wide branch (int16 or int32 input, any zero point that planned) may
  // reach 2^30; with the 8-bit one below 2^28 and z_y the sum stays in int32.
  const int64_t dst_window =
      std::max(std::abs(p.dst_min - p.dst_zero_point), std::abs(p.dst_max - p.dst_zero_point));
  std::vector<Narrow8> a(p.channels), b(p.channels);
  for (size_t c = 0; c < p.channels; ++c) {
    if (a8 && !narrow8(a_requant[c], int_type_min(p.a_type) - p.a_zero_point,
                       int_type_max(p.a_type) - p.a_zero_point, &a[c]))
      return;
    if (b8 && !narrow8(b_requant[c], int_type_min(p.b_type) - p.b_zero_point,
                       int_type_max(p.b_type) - p.b_zero_point, &b[c]))
      return;
    if (!a8 && !floor_wide_allowed(a_requant[c], dst_window + b[c].max_abs)) return;
    if (!b8 && !floor_wide_allowed(b_requant[c], dst_window + a[c].max_abs)) return;
  }
  for (size_t i = 0; i < plan->period; ++i) {
    AddBlock8& blk = plan->blocks[i / 8];
    const size_t c = i % p.channels;
    const int lane = static_cast<int>(i % 8);
    if (a8) set_narrow8(blk.narrow_a, lane, a[c], p.a_zero_point);
    else set_floor_wide(blk.narrow_a, lane, a_requant[c]);
    if (b8) set_narrow8(blk.narrow_b, lane, b[c], p.b_zero_point);
    else set_floor_wide(blk.narrow_b, lane, b_requant[c]);
  }
  plan->narrow = true;
}

}  // namespace dyad::kernels
