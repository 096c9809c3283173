// requantize reference kernel: ties to even, negative m, m = INT32_MIN,
// e >= 64, e <= 0, zero points, per-channel constants, saturation, and the
// wide (int64 in, int64 out) edge cases. Hand-computed goldens.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "kernels/requantize/requantize.h"

namespace dyad::kernels {
namespace {

constexpr int32_t kHalf = 1 << 30;

template <typename In, typename Out>
std::vector<Out> run(const std::vector<In>& x, IntType in_type, IntType out_type,
                     const std::vector<Dyadic>& rq, int64_t z_x, int64_t z_y, int64_t lo,
                     int64_t hi) {
  RequantizeParams p;
  p.count = x.size();
  p.channels = rq.size();
  p.src_type = in_type;
  p.dst_type = out_type;
  p.src_zero_point = z_x;
  p.dst_zero_point = z_y;
  p.dst_min = lo;
  p.dst_max = hi;
  std::vector<Out> y(x.size(), 0);
  requantize__ref(p, rq.data(), x.data(), y.data());
  return y;
}

std::vector<int32_t> run32(const std::vector<int32_t>& x, Dyadic d) {
  return run<int32_t, int32_t>(x, IntType::kS32, IntType::kS32, {d}, 0, 0, INT32_MIN, INT32_MAX);
}

std::vector<int64_t> run64(const std::vector<int64_t>& x, Dyadic d, int64_t z_x = 0,
                           int64_t z_y = 0) {
  return run<int64_t, int64_t>(x, IntType::kS64, IntType::kS64, {d}, z_x, z_y, INT64_MIN,
                               INT64_MAX);
}

TEST(RequantizeRef, TiesToEven) {
  // By 0.5: 0.5 -> 0, 1.5 -> 2, 2.5 -> 2, 3.5 -> 4, and the negatives mirror.
  EXPECT_EQ(run32({1, 3, 5, 7, -1, -3, -5, -7}, {kHalf, 31}),
            (std::vector<int32_t>{0, 2, 2, 4, 0, -2, -2, -4}));
  // By 0.25: 0.25 -> 0, 0.75 -> 1, 1.25 -> 1, -0.75 -> -1, 2.5 -> 2 (10/4), -2.5 -> -2.
  EXPECT_EQ(run32({1, 3, 5, -3, 10, -10}, {kHalf, 32}),
            (std::vector<int32_t>{0, 1, 1, -1, 2, -2}));
}

TEST(RequantizeRef, NegativeMultipliers) {
  // m = -2^30, e = 31 (-0.5): 3 -> -1.5 -> -2; 5 -> -2.5 -> -2; -7 -> 3.5 -> 4.
  EXPECT_EQ(run32({3, 5, -7}, {-kHalf, 31}), (std::vector<int32_t>{-2, -2, 4}));
  // m = INT32_MIN = -2^31, e = 32 (-0.5): 3 -> -2; 1 -> -0.5 -> 0; -5 -> 2.5 -> 2;
  // and x = INT32_MIN: 2^31 * 0.5 = 2^30.
  EXPECT_EQ(run32({3, 1, -5, INT32_MIN}, {INT32_MIN, 32}),
            (std::vector<int32_t>{-2, 0, 2, 1 << 30}));
}

TEST(RequantizeRef, LargeShifts) {
  // e = 93, m = 2^30: x / 2^63.
  //   x = 2^62      -> 0.5 exactly: tie, to even -> 0
  //   x = 2^62 + 1  -> just above 0.5 -> 1
  //   x = -2^62     -> -0.5 -> 0
  //   x = 2^63 - 1  -> 0.99999... -> 1
  //   x = -2^63     -> -1 exactly
  const int64_t p62 = int64_t{1} << 62;
  EXPECT_EQ(run64({p62, p62 + 1, -p62, INT64_MAX, INT64_MIN}, {kHalf, 93}),
            (std::vector<int64_t>{0, 1, 0, 1, -1}));
  // e = 64 with int32 input: |x * m| <= 2^62 < 2^63, always below one half.
  EXPECT_EQ(run32({INT32_MAX, INT32_MIN}, {INT32_MIN, 64}), (std::vector<int32_t>{0, 0}));
  // e = 255: everything rounds to 0.
  EXPECT_EQ(run64({INT64_MAX, INT64_MIN}, {INT32_MIN, 255}), (std::vector<int64_t>{0, 0}));
}

TEST(RequantizeRef, LeftShifts) {
  // e = 0: x * m. e = -2: x * m * 4. 3 * 2^30 * 4 = 3 * 2^32 = 12884901888.
  EXPECT_EQ(run64({-5}, {3, 0}), (std::vector<int64_t>{-15}));
  EXPECT_EQ(run64({3, -3}, {kHalf, -2}), (std::vector<int64_t>{12884901888, -12884901888}));
  // Saturation of a left shift: 2^63-1 * 2^30 * 2^62 is far above int64. With
  // z_y = -5 the exact value is still above 2^63 - 1, so the output is
  // INT64_MAX (saturating to int64 before adding z_y would give INT64_MAX - 5).
  EXPECT_EQ(run64({INT64_MAX, -1}, {kHalf, -62}, 0, -5),
            (std::vector<int64_t>{INT64_MAX, INT64_MIN}));
}

TEST(RequantizeRef, ZeroPointsAndInt64Differences) {
  // uint8 in, z_x = 128; by 0.5; int16 out with z_y = 10:
  //   0 -> -128 -> -64 -> -54;  255 -> 127 -> 63.5 -> 64 -> 74;  129 -> 0.5 -> 0 -> 10
  EXPECT_EQ((run<uint8_t, int16_t>({0, 255, 129}, IntType::kU8, IntType::kS16, {{kHalf, 31}}, 128,
                                   10, INT16_MIN, INT16_MAX)),
            (std::vector<int16_t>{-54, 74, 10}));
  // int64 x - z_x overflows int64: x = -2^63, z_x = 2^63 - 1, d = -(2^64 - 1).
  // m = 1, e = 60: d / 2^60 = -16 + 2^-60 -> -16.
  EXPECT_EQ(run64({INT64_MIN}, {1, 60}, INT64_MAX), (std::vector<int64_t>{-16}));
}

TEST(RequantizeRef, SaturationPerChannelAndActivations) {
  // int32 -> int8, two channels: channel 0 by 1, channel 1 by 0.5.
  //   1000 (c0) -> 127;  -1000 (c1) -> -500 -> -128;  -1000 (c0) -> -128;  9 (c1) -> 4.5 -> 4
  EXPECT_EQ((run<int32_t, int8_t>({1000, -1000, -1000, 9}, IntType::kS32, IntType::kS8,
                                  {{kHalf, 30}, {kHalf, 31}}, 0, 0, -128, 127)),
            (std::vector<int8_t>{127, -128, -128, 4}));
  // int4 in an int8 container, z_y = -1, ReLU6-like clamp [-1, 5]:
  //   by 1: 3 -> 2;  10 -> 9 -> 5;  -4 -> -5 -> -1
  EXPECT_EQ((run<int16_t, int8_t>({3, 10, -4}, IntType::kS16, IntType::kS8, {{kHalf, 30}}, 0, -1,
                                  -1, 5)),
            (std::vector<int8_t>{2, 5, -1}));
  // uint4 output (uint8 container, [0, 15]): by 1, z_y = 8: -20 -> 0, 3 -> 11, 100 -> 15.
  EXPECT_EQ((run<int32_t, uint8_t>({-20, 3, 100}, IntType::kS32, IntType::kU8, {{kHalf, 30}}, 0, 8,
                                   0, 15)),
            (std::vector<uint8_t>{0, 11, 15}));
}

TEST(RequantizeRef, LongTensorCrossesBlocks) {
  // 1000 elements, 3 channels (constants by 1, by 2, by -1): crosses the
  // kernel's 256-element blocks with channel phases that do not align.
  std::vector<int32_t> x(999);
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<int32_t>(i);
  const auto y = run<int32_t, int32_t>(x, IntType::kS32, IntType::kS32,
                                       {{kHalf, 30}, {kHalf, 29}, {-kHalf, 30}}, 0, 0, INT32_MIN,
                                       INT32_MAX);
  for (size_t i = 0; i < x.size(); ++i) {
    const int64_t factor = i % 3 == 0 ? 1 : (i % 3 == 1 ? 2 : -1);
    ASSERT_EQ(y[i], factor * static_cast<int64_t>(i)) << i;
  }
}

}  // namespace
}  // namespace dyad::kernels
