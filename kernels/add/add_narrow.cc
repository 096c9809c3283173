// Plan-time constants of the add's narrow path (AddVecPlan::narrow): each
// branch in int32 lanes instead of the exact 64-bit form, when the plan can
// show that the output is the same for every input value.
//   - An 8-bit input (d = x - z takes at most 511 values): (d * mult +
//     round) >> shift in int32, mult about m * 2^(shift - e), checked
//     against the exact branch for every d.
//   - A 16- or 32-bit input next to an 8-bit one (a conv's int32 sums plus
//     the identity of a residual block): the GEMM epilogue's floor path,
//     hi32(d * m + 2^(e-1)) >> (e - 32), for e in [32, 62] and an odd part
//     of m too large for any tie to reach the clamp window. Otherwise, when
//     the clamp window plus the 8-bit branch stays within 2^30
//     (narrow_exact_wide): the exact 64-bit branch of the wide path,
//     unbiased and clamped to +-2^30 (beyond that bound the output
//     saturates on the same side whatever the 8-bit branch), in int32.
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
  bool split = false;   // the split form: mult_lo, round_lo below
  int32_t mult_lo = 0, round_lo = 0;
};

// The split form of rne(d * m / 2^e) for every d in [d_min, d_max], when the
// one-product form has no exact candidate: m = mh * 2^16 + ml (0 <= ml <
// 2^16) and C = Ch * 2^16 + Cl for C = 2^(e-1) or one less, then
//   floor((d m + C) / 2^e) = (d mh + Ch + ((d ml + Cl) >> 16)) >> (e - 16)
// (nested floor divisions; e in [16, 46]), every term within int32 for |d| <= 510:
// |d mh| < 2^24, d ml < 2^25, Ch < 2^30 for e <= 46. Checked against the
// exact branch for every d; the branch must stay below 2^28.
bool narrow8_split(Dyadic r, int64_t d_min, int64_t d_max, const int128_t* exact, Narrow8* out) {
  if (r.e < 16 || r.e > 46 || out->max_abs >= (int64_t{1} << 28)) return false;
  const int64_t mh = r.m >> 16, ml = r.m - mh * 65536;
  for (int64_t c : {int64_t{1} << (r.e - 1), (int64_t{1} << (r.e - 1)) - 1}) {
    const int64_t ch = c >> 16, cl = c & 0xffff;
    bool same = true;
    for (int64_t d = d_min; d <= d_max && same; ++d)
      same = ((d * mh + ch + ((d * ml + cl) >> 16)) >> (r.e - 16)) == exact[d - d_min];
    if (same) {
      out->split = true;
      out->mult = static_cast<int32_t>(mh), out->round = static_cast<int32_t>(ch);
      out->mult_lo = static_cast<int32_t>(ml), out->round_lo = static_cast<int32_t>(cl);
      out->shift = r.e - 16;
      return true;
    }
  }
  return false;
}

// The 32-bit form of rne(d * m / 2^e) for every d in [d_min, d_max]: the
// largest shift that keeps |d * mult| + 2^shift below 2^31, then two
// smaller ones in case rounding mult itself moved a value across a
// rounding edge; each with round 2^(shift-1) and one less (which way exact
// ties go). shift >= 3 keeps each branch below 2^28, so z_y plus two
// branches (|z_y| <= 2^29) cannot wrap int32.
bool narrow8(Dyadic r, int64_t d_min, int64_t d_max, bool split_only, Narrow8* out) {
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
  if (r.m == 0) return true;  // every form gives 0 with zero constants
  if (split_only) return narrow8_split(r, d_min, d_max, exact, out);
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
  return narrow8_split(r, d_min, d_max, exact, out);
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

// x * mult + (round - z * mult) = d * mult + round, mod 2^32 (the true
// value fits int32), so the kernel needs no subtraction of z.
int32_t fold_zero_point(int32_t round, int32_t mult, int64_t z) {
  return static_cast<int32_t>(static_cast<uint32_t>(round) - static_cast<uint32_t>(z) * static_cast<uint32_t>(mult));
}

void set_narrow8(AddBlock8::NarrowBranch& k, int lane, const Narrow8& c, int64_t z) {
  k.mult[lane] = c.mult;
  k.round[lane] = fold_zero_point(c.round, c.mult, z);
  k.shift[lane] = c.shift;
  k.mult_lo[lane] = c.mult_lo;
  k.round_lo[lane] = fold_zero_point(c.round_lo, c.mult_lo, z);
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
  plan->narrow_exact_wide = false;
  plan->split8[0] = plan->split8[1] = false;
  const bool a8 = is_8bit(p.a_type), b8 = is_8bit(p.b_type);
  if ((!a8 && !b8) || p.dst_zero_point < -(1 << 29) || p.dst_zero_point > (1 << 29)) return;
  // The wide branch (int16 or int32 input, any zero point that planned) may
  // reach 2^30; with the 8-bit one below 2^28 and z_y the sum stays in int32.
  const int64_t dst_window =
      std::max(std::abs(p.dst_min - p.dst_zero_point), std::abs(p.dst_max - p.dst_zero_point));
  std::vector<Narrow8> a(p.channels), b(p.channels);
  bool exact_wide = false;
  int64_t eight_bit_max = 0;
  // Each 8-bit branch in one form for all its channels (a vector mixes
  // channels): the one-product form, or the split form when any channel
  // needs it.
  auto plan8 = [&](bool is8, const Dyadic* requant, IntType type, int64_t z, std::vector<Narrow8>& out) {
    if (!is8) return true;
    for (bool split_only : {false, true}) {
      bool ok = true, any_split = false;
      for (size_t c = 0; c < p.channels && ok; ++c) {
        out[c] = Narrow8{};
        ok = narrow8(requant[c], int_type_min(type) - z, int_type_max(type) - z, split_only, &out[c]);
        any_split = any_split || out[c].split;
      }
      if (!ok) return false;
      if (split_only || !any_split) return true;
    }
    return false;
  };
  if (!plan8(a8, a_requant, p.a_type, p.a_zero_point, a) || !plan8(b8, b_requant, p.b_type, p.b_zero_point, b))
    return;
  for (size_t c = 0; c < p.channels; ++c) {
    if (!a8 && !floor_wide_allowed(a_requant[c], dst_window + b[c].max_abs)) exact_wide = true;
    if (!b8 && !floor_wide_allowed(b_requant[c], dst_window + a[c].max_abs)) exact_wide = true;
    eight_bit_max = std::max(eight_bit_max, a8 ? a[c].max_abs : b[c].max_abs);
  }
  // Exact wide branch: |A| >= L = 2^30 saturates the output on A's side for
  // every 8-bit branch B when L - max|B| exceeds the window, so A may be
  // clamped to +-L; then |L + B + z_y| < 2^31.
  if (exact_wide && dst_window + eight_bit_max >= kNarrowExactLimit) return;
  for (size_t i = 0; i < plan->period; ++i) {
    AddBlock8& blk = plan->blocks[i / 8];
    const size_t c = i % p.channels;
    const int lane = static_cast<int>(i % 8);
    // The exact wide branch reads blocks[].a or .b and exact_bias; the floor
    // constants exist only where floor_wide_allowed holds for every channel.
    if (a8) set_narrow8(blk.narrow_a, lane, a[c], p.a_zero_point);
    else if (!exact_wide) set_floor_wide(blk.narrow_a, lane, a_requant[c]);
    if (b8) set_narrow8(blk.narrow_b, lane, b[c], p.b_zero_point);
    else if (!exact_wide) set_floor_wide(blk.narrow_b, lane, b_requant[c]);
    const AddBlock8::Branch& wide = a8 ? blk.b : blk.a;
    blk.exact_bias[lane % 2][lane / 2] = int64_t{1} << (63 - wide.rshift[lane % 2][lane / 2]);
  }
  plan->narrow = true;
  plan->narrow_exact_wide = exact_wide;
  plan->split8[0] = a8 && std::any_of(a.begin(), a.end(), [](const Narrow8& n) { return n.split; });
  plan->split8[1] = b8 && std::any_of(b.begin(), b.end(), [](const Narrow8& n) { return n.split; });
}

}  // namespace dyad::kernels
