// The floor path of RequantBlock8 (requant_block8.h): which lanes may take
// it, and, on a scalar model of the vector steps that reads the block's own
// constants, that it gives the exact clamped output at every output
// threshold and at the int32 extremes. The vector code itself is checked
// against the reference in gemm_test.cc (FloorPathAtEveryOutputThreshold).
#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "kernels/common/requant.h"
#include "kernels/common/requant_block8.h"

namespace dyad::kernels {
namespace {

int32_t exact_output(int32_t acc, Dyadic d, int32_t zp, int32_t qmin, int32_t qmax) {
  return static_cast<int32_t>(clamp_int64(dyadic_rne_s32(acc, d.m, d.e) + zp, qmin, qmax));
}

// What the vector floor path computes for lane `lane` of `b`.
int32_t floor_path_output(int32_t acc, const RequantBlock8& b, int lane, int32_t qmin, int32_t qmax) {
  const int64_t round = lane % 2 == 0 ? b.floor_round_even[lane / 2] : b.floor_round_odd[lane / 2];
  const int64_t t = int64_t{acc} * b.mult[lane] + round;
  const int32_t hi = static_cast<int32_t>(t >> 32);
  const int64_t q = hi >> b.floor_shift[lane];
  return static_cast<int32_t>(std::clamp<int64_t>(q, qmin, qmax));
}

// What the AVX-512 floor path's 64-bit form (Requant16::apply_floor_wide)
// computes for lane `lane` of `b`.
int32_t floor_wide_path_output(int32_t acc, const RequantBlock8& b, int lane, int32_t qmin, int32_t qmax) {
  const int64_t round = lane % 2 == 0 ? b.floor_round_even[lane / 2] : b.floor_round_odd[lane / 2];
  const int64_t shift = lane % 2 == 0 ? b.shift_even[lane / 2] : b.shift_odd[lane / 2];
  const int32_t clamped = std::clamp(acc, b.acc_lo[lane], b.acc_hi[lane]);
  const int64_t t = int64_t{clamped} * b.mult[lane] + round;
  // The vector keeps the low 32 bits of the 64-bit quotient.
  const int32_t q = static_cast<int32_t>(static_cast<uint32_t>(static_cast<uint64_t>(t >> shift)));
  return std::clamp(q, qmin, qmax);
}

TEST(RequantFloorPath, WhichLanesMayTakeIt) {
  EXPECT_TRUE(floor_lane_allowed({0, 1}, 255));
  EXPECT_TRUE(floor_lane_allowed({0x5A5A5A5B, 40}, -128));
  EXPECT_TRUE(floor_lane_allowed({-0x5A5A5A5B, 32}, 0));
  EXPECT_TRUE(floor_lane_allowed({767 << 20, 54}, 255));
  EXPECT_FALSE(floor_lane_allowed({765 << 20, 40}, 0));  // odd part 765: ties in range
  EXPECT_FALSE(floor_lane_allowed({3 << 28, 40}, 0));
  EXPECT_FALSE(floor_lane_allowed({1 << 30, 40}, 0));
  EXPECT_FALSE(floor_lane_allowed({INT32_MIN, 40}, 0));
  EXPECT_FALSE(floor_lane_allowed({0x5A5A5A5B, 31}, 0));  // shift below 32
  EXPECT_FALSE(floor_lane_allowed({0x5A5A5A5B, 55}, 0));  // t + the constant could leave int64
  EXPECT_FALSE(floor_lane_allowed({0x5A5A5A5B, 40}, 256));  // zero point outside 8 bits
  // The 64-bit form takes any shift up to 54, with the same odd-part and
  // zero-point rules.
  EXPECT_TRUE(floor_wide_lane_allowed({0x5A5A5A5B, 31}, 0));
  EXPECT_TRUE(floor_wide_lane_allowed({0x5A5A5A5B, 1}, -128));
  EXPECT_TRUE(floor_wide_lane_allowed({0x5A5A5A5B, 54}, 255));
  EXPECT_FALSE(floor_wide_lane_allowed({0x5A5A5A5B, 55}, 0));
  EXPECT_FALSE(floor_wide_lane_allowed({765 << 20, 20}, 0));
  EXPECT_FALSE(floor_wide_lane_allowed({0x5A5A5A5B, 20}, 256));
}

// The reason for the odd-part rule: with m = 2^30 every half is a tie, and
// adding half before a floor rounds 2.5 up where rne gives 2.
TEST(RequantFloorPath, SmallOddPartWouldRoundTiesWrongly) {
  const Dyadic d{1 << 30, 33};  // acc / 8
  const int64_t floor_way = (int64_t{20} * d.m + (int64_t{1} << 32)) >> 33;
  EXPECT_EQ(floor_way, 3);
  EXPECT_EQ(dyadic_rne_s32(20, d.m, d.e), 2);
}

TEST(RequantFloorPath, ExactAtEveryThresholdAndExtreme) {
  std::mt19937 rng(5);
  int lanes_checked = 0, wide_lanes_checked = 0;
  for (int trial = 0; trial < 400; ++trial) {
    RequantBlock8 b{};
    Dyadic d[8];
    const int32_t zp = std::uniform_int_distribution<int32_t>(-128, 255)(rng);
    for (int lane = 0; lane < 8; ++lane) {
      d[lane] = {static_cast<int32_t>(rng()), std::uniform_int_distribution<int32_t>(-2, 66)(rng)};
      if (lane == 7 && trial % 4 == 0) d[lane].m = 0;
      set_requant_lane(b, lane, d[lane], zp);
    }
    const int32_t qmin = std::max(zp - 383, -128), qmax = std::min(zp + 383, 255);
    for (int lane = 0; lane < 8; ++lane) {
      const Dyadic r = normalize_requant_s32(d[lane]);
      ASSERT_EQ(((b.floor_lanes >> lane) & 1) != 0, floor_lane_allowed(r, zp));
      ASSERT_EQ(((b.floor_wide_lanes >> lane) & 1) != 0, floor_wide_lane_allowed(r, zp));
      if (!floor_wide_lane_allowed(r, zp)) continue;
      const bool high_half_form = floor_lane_allowed(r, zp);
      ++(high_half_form ? lanes_checked : wide_lanes_checked);
      std::vector<int64_t> accs = {INT32_MIN, INT32_MIN + 1, -1, 0, 1, INT32_MAX - 1, INT32_MAX};
      // Around the acc clamp of the 64-bit form.
      for (int delta = -1; delta <= 1; ++delta) {
        accs.push_back(int64_t{b.acc_lo[lane]} + delta);
        accs.push_back(int64_t{b.acc_hi[lane]} + delta);
      }
      // Around the acc where the exact output passes from h to h + 1.
      for (int32_t h = -384; h <= 383 && r.m != 0; ++h) {
        const int128_t edge = ((int128_t{2 * h + 1}) << (r.e - 1)) / r.m;
        for (int delta = -2; delta <= 2; ++delta) accs.push_back(static_cast<int64_t>(edge + delta));
      }
      for (int64_t a : accs) {
        if (a < INT32_MIN || a > INT32_MAX) continue;
        const int32_t acc = static_cast<int32_t>(a);
        const int32_t exact = exact_output(acc, d[lane], zp, qmin, qmax);
        ASSERT_EQ(floor_wide_path_output(acc, b, lane, qmin, qmax), exact)
            << "64-bit form: acc " << acc << " m " << d[lane].m << " e " << d[lane].e << " zp " << zp;
        if (high_half_form) {
          ASSERT_EQ(floor_path_output(acc, b, lane, qmin, qmax), exact)
              << "acc " << acc << " m " << d[lane].m << " e " << d[lane].e << " zp " << zp;
        }
      }
    }
  }
  EXPECT_GT(lanes_checked, 1000);  // most random multipliers allow the floor path
  EXPECT_GT(wide_lanes_checked, 800);  // and those with shifts below 32 its 64-bit form
}

}  // namespace
}  // namespace dyad::kernels
