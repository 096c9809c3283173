// Requantization edge cases (numerics.md 2.2): ties to even, negative m,
// m = 2^31 stored as (2^30, e - 1), shifts >= 63 and <= 0, saturation.
#include <gtest/gtest.h>

#include <random>

#include "kernels/common/requant.h"

namespace dyad::kernels {
namespace {

// Exact rne(x * m / 2^e) by a different route: compare 2*remainder with the
// divisor instead of the half, on 128-bit magnitudes.
int64_t slow_rne(int64_t x, int64_t m, int e) {
  int128_t t = static_cast<int128_t>(x) * m;
  if (e <= 0) {
    int128_t v = t;
    for (int i = 0; i <= -e; ++i) {
      if (v > INT64_MAX) return INT64_MAX;
      if (v < INT64_MIN) return INT64_MIN;
      if (i < -e) v *= 2;
    }
    return static_cast<int64_t>(v);
  }
  if (e >= 120) return 0;
  const bool negative = t < 0;
  int128_t mag = negative ? -t : t;
  const int128_t divisor = static_cast<int128_t>(1) << e;
  int128_t q = mag / divisor;
  const int128_t r = mag % divisor;
  if (2 * r > divisor || (2 * r == divisor && (q % 2 == 1))) q += 1;
  const int128_t v = negative ? -q : q;
  if (v > INT64_MAX) return INT64_MAX;  // the engine saturates to int64
  if (v < INT64_MIN) return INT64_MIN;
  return static_cast<int64_t>(v);
}

TEST(Requant, HandComputedTies) {
  // 5 * 1 / 2 = 2.5 -> 2 ; 7 / 2 = 3.5 -> 4 ; -5 / 2 = -2.5 -> -2 ; -7/2 -> -4
  EXPECT_EQ(dyadic_rne(5, 1, 1), 2);
  EXPECT_EQ(dyadic_rne(7, 1, 1), 4);
  EXPECT_EQ(dyadic_rne(-5, 1, 1), -2);
  EXPECT_EQ(dyadic_rne(-7, 1, 1), -4);
  // Not a tie: 11 / 4 = 2.75 -> 3 ; -11 / 4 -> -3 ; 9 / 4 = 2.25 -> 2
  EXPECT_EQ(dyadic_rne(11, 1, 2), 3);
  EXPECT_EQ(dyadic_rne(-11, 1, 2), -3);
  EXPECT_EQ(dyadic_rne(9, 1, 2), 2);
  // The same through the int32 fast path.
  EXPECT_EQ(dyadic_rne_s32(5, 1, 1), 2);
  EXPECT_EQ(dyadic_rne_s32(-7, 1, 1), -4);
  EXPECT_EQ(dyadic_rne_s32(-11, 1, 2), -3);
}

TEST(Requant, NegativeMultiplier) {
  // 10 * -3 / 4 = -7.5 -> -8 (even) ; 6 * -3 / 4 = -4.5 -> -4
  EXPECT_EQ(dyadic_rne(10, -3, 2), -8);
  EXPECT_EQ(dyadic_rne(6, -3, 2), -4);
  EXPECT_EQ(dyadic_rne_s32(10, -3, 2), -8);
}

TEST(Requant, MultiplierTwoToThe31AsRenormalizedPair) {
  // m = 2^31, e = 40 equals m = 2^30, e = 39 for every x.
  std::mt19937_64 rng(1);
  for (int i = 0; i < 10000; ++i) {
    const int32_t x = static_cast<int32_t>(rng());
    EXPECT_EQ(dyadic_rne_s32(x, 1 << 30, 39), slow_rne(x, int64_t{1} << 31, 40)) << x;
  }
  // m = INT32_MIN (= -2^31) with the extreme accumulator: 2^62 fits int64.
  EXPECT_EQ(dyadic_rne_s32(INT32_MIN, INT32_MIN, 62), 1);
  EXPECT_EQ(dyadic_rne_s32(INT32_MIN, INT32_MIN, 1), int64_t{1} << 61);
}

TEST(Requant, LargeShifts) {
  EXPECT_EQ(dyadic_rne_s32(INT32_MAX, INT32_MAX, 63), 0);   // (2^31-1)^2 / 2^63 ~ 0.4999999995
  EXPECT_EQ(dyadic_rne_s32(INT32_MIN, INT32_MIN, 63), 0);   // 2^62 / 2^63 = 0.5 -> 0 (even)
  EXPECT_EQ(dyadic_rne_s32(INT32_MIN, INT32_MAX, 63), 0);   // just above -0.5 -> 0
  EXPECT_EQ(dyadic_rne_s32(INT32_MAX, INT32_MAX, 64), 0);
  EXPECT_EQ(dyadic_rne_s32(-1, 1, 200), 0);
  EXPECT_EQ(dyadic_rne(INT64_MAX, INT32_MAX, 94), 1);       // ~ (2^63)(2^31)/2^94 = 1
  EXPECT_EQ(dyadic_rne(INT64_MIN, INT32_MIN, 94), 1);       // exactly 2^94 / 2^94
  EXPECT_EQ(dyadic_rne(INT64_MIN, INT32_MIN, 95), 0);       // exactly 1/2 -> 0
  EXPECT_EQ(dyadic_rne(INT64_MIN, INT32_MIN, 127), 0);
  EXPECT_EQ(dyadic_rne(INT64_MIN, INT32_MIN, 255), 0);
}

TEST(Requant, NonPositiveShiftsAndSaturation) {
  EXPECT_EQ(dyadic_rne(3, 5, 0), 15);
  EXPECT_EQ(dyadic_rne(3, 5, -4), 240);
  EXPECT_EQ(dyadic_rne_s32(-3, 5, -4), -240);
  EXPECT_EQ(dyadic_rne(INT64_MAX, 2, 1), INT64_MAX);   // exact, no overflow
  EXPECT_EQ(dyadic_rne(INT64_MAX, 4, 1), INT64_MAX);   // saturates
  EXPECT_EQ(dyadic_rne(INT64_MIN, 4, 1), INT64_MIN);
  EXPECT_EQ(dyadic_rne(1, 1, -62), int64_t{1} << 62);
  EXPECT_EQ(dyadic_rne(1, 1, -63), INT64_MAX);
  EXPECT_EQ(dyadic_rne(-1, 1, -63), INT64_MIN);        // -2^63 is representable
  EXPECT_EQ(dyadic_rne(-2, 1, -63), INT64_MIN);
  EXPECT_EQ(dyadic_rne(0, INT32_MIN, -62), 0);
  EXPECT_EQ(add_saturate(INT64_MAX, 1), INT64_MAX);
  EXPECT_EQ(add_saturate(INT64_MIN, -1), INT64_MIN);
  EXPECT_EQ(clamp_int64(300, -128, 127), 127);
}

TEST(Requant, RandomAgainstSlowReference) {
  std::mt19937_64 rng(42);
  for (int i = 0; i < 200000; ++i) {
    const int e = static_cast<int>(rng() % 140) - 10;
    const int32_t m = static_cast<int32_t>(rng());
    const int32_t x32 = static_cast<int32_t>(rng() >> (rng() % 32));
    const int64_t x64 = static_cast<int64_t>(rng()) >> (rng() % 64);
    ASSERT_EQ(dyadic_rne_s32(x32, m, e), slow_rne(x32, m, e)) << x32 << " " << m << " " << e;
    ASSERT_EQ(dyadic_rne(x64, m, e), slow_rne(x64, m, e)) << x64 << " " << m << " " << e;
  }
  // Tie-heavy: x * m a multiple of 2^(e-1).
  for (int i = 0; i < 100000; ++i) {
    const int e = 1 + static_cast<int>(rng() % 30);
    const int32_t m = 1;
    const int32_t x = static_cast<int32_t>((static_cast<int64_t>(rng() % 2001) - 1000) << (e - 1));
    ASSERT_EQ(dyadic_rne_s32(x, m, e), slow_rne(x, m, e));
  }
}

}  // namespace
}  // namespace dyad::kernels
