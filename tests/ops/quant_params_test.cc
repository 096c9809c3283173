// Load-time helpers of the CNN ops: frexp_dyadic (numerics.md 2.1), int4
// unpacking, and the requant range proof used by add.
#include <gtest/gtest.h>

#include <cmath>

#include "engine/ops/quant_params.h"

namespace dyad {
namespace {

using kernels::Dyadic;

void expect_dyadic(double r, int32_t m, int32_t e) {
  const Dyadic d = frexp_dyadic(r);
  EXPECT_EQ(d.m, m) << "r = " << r;
  EXPECT_EQ(d.e, e) << "r = " << r;
}

TEST(FrexpDyadic, HandComputed) {
  expect_dyadic(0.0, 0, 31);                  // r = 0 -> (0, 31)
  expect_dyadic(0.5, 1 << 30, 31);            // frac 0.5, E = 0
  expect_dyadic(1.0, 1 << 30, 30);            // frac 0.5, E = 1
  expect_dyadic(0.75, 3 << 29, 31);           // frac 0.75, E = 0
  expect_dyadic(-0.75, -(3 << 29), 31);       // the sign goes into m
  expect_dyadic(-1.0, -(1 << 30), 30);
  expect_dyadic(6.0, 3 << 29, 28);            // 6 = 0.75 * 2^3
  expect_dyadic(std::ldexp(1.0, -40), 1 << 30, 70);  // 2^-40 = 0.5 * 2^-39: e = 31 + 39
}

TEST(FrexpDyadic, RoundsHalfAwayFromZero) {
  // r = 0.5 + 2^-32: frac * 2^31 = 2^30 + 0.5, a tie: half away -> 2^30 + 1
  // (half to even would give 2^30).
  const double tie = 0.5 + std::ldexp(1.0, -32);
  expect_dyadic(tie, (1 << 30) + 1, 31);
  expect_dyadic(-tie, -((1 << 30) + 1), 31);
  // r = 0.5 + 2^-33: 2^30 + 0.25 -> 2^30.
  expect_dyadic(0.5 + std::ldexp(1.0, -33), 1 << 30, 31);
}

TEST(FrexpDyadic, TwoToThe31IsRenormalized) {
  // r = 1 - 2^-40: frac * 2^31 = 2^31 - 2^-9 rounds to 2^31, stored as (2^30, e - 1).
  expect_dyadic(1.0 - std::ldexp(1.0, -40), 1 << 30, 30);
  // Negative: -2^31 fits int32 and is kept.
  expect_dyadic(-(1.0 - std::ldexp(1.0, -40)), INT32_MIN, 31);
}

TEST(UnpackInt4, LowNibbleFirstTwosComplement) {
  // 0xF1: low 1, high -1. 0x87: low 7, high -8. 0x08 (odd count): low -8, high ignored.
  const uint8_t packed[] = {0xF1, 0x87, 0x08};
  EXPECT_EQ(unpack_int4(packed, 5), (std::vector<int8_t>{1, -1, 7, -8, -8}));
}

TEST(RequantFitsBits, Bounds) {
  // int8, z = 0: max |x| = 128. By 1 (2^30, 30): 128 < 2^8, not < 2^7.
  EXPECT_TRUE(requant_fits_bits(DType::kInt8, 0, {1 << 30, 30}, 8));
  EXPECT_FALSE(requant_fits_bits(DType::kInt8, 0, {1 << 30, 30}, 7));
  // int64 with z = 2^63 - 1: max |x - z| = 2^64 - 1; by 2^30 * 2^62 -> ~2^156.
  EXPECT_FALSE(requant_fits_bits(DType::kInt64, INT64_MAX, {1 << 30, -62}, 125));
  // int32 by 2^31 * 2^30 (m = INT32_MIN, e = -30): 2^31 * 2^61 = 2^92 < 2^125.
  EXPECT_TRUE(requant_fits_bits(DType::kInt32, 0, {INT32_MIN, -30}, 125));
  // Large right shifts always fit.
  EXPECT_TRUE(requant_fits_bits(DType::kInt64, 0, {INT32_MIN, 200}, 2));
}

}  // namespace
}  // namespace dyad
