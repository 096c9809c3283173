// i-GELU reference kernel (numerics.md 4): hand-computed values, saturation,
// constant checks, and the simulator's golden vectors bit for bit.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "kernels/common/thread_pool.h"
#include "kernels/int_gelu/int_gelu.h"
#include "tests/kernels/ibert_goldens.h"

namespace dyad::kernels {
namespace {

// numerics.md 4 example, S = 1e-3: b_int = -2502, c_int = -6925075, shift_int = -423.
constexpr int64_t kB = -2502, kC = -6925075, kShift = -423;

TEST(IntGeluRef, HandComputedS1e3) {
  // x = 1000 (X = 1.0): t = min(1000, 2502) - 2502 = -1502, t^2 = 2256004,
  //   poly = 2256004 - 6925075 = -4669071, floor(-4669071 / 16384) = -285
  //   (16384 * 285 = 4669440), y = 1000 * (-285 - 423) = -708000.
  EXPECT_EQ(int_gelu_element(1000, kB, kC, kShift), -708000);
  // x = -1000: s * poly = 4669071, floor(/16384) = 284, y = -1000 * (284 - 423) = 139000.
  EXPECT_EQ(int_gelu_element(-1000, kB, kC, kShift), 139000);
  // x = 5000 (beyond the clip 2502): t = 0, poly = c_int,
  //   floor(-6925075 / 16384) = -423 (16384 * 423 = 6930432), y = 5000 * -846 = -4230000.
  EXPECT_EQ(int_gelu_element(5000, kB, kC, kShift), -4230000);
  // x = -5000: floor(6925075 / 16384) = 422, y = -5000 * (422 - 423) = 5000.
  EXPECT_EQ(int_gelu_element(-5000, kB, kC, kShift), 5000);
  // x = 0: sign 0, erf_i = 0, y = 0.
  EXPECT_EQ(int_gelu_element(0, kB, kC, kShift), 0);
  // x = 1: t = -2501, t^2 = 6255001, poly = -670074, floor(-670074/16384) = -41
  //   (16384 * 41 = 671744 > 670074 > 16384 * 40), y = 1 * (-41 - 423) = -464.
  EXPECT_EQ(int_gelu_element(1, kB, kC, kShift), -464);
  // x = -1: s * poly = 670074, floor = 40, y = -1 * (40 - 423) = 383.
  EXPECT_EQ(int_gelu_element(-1, kB, kC, kShift), 383);
}

TEST(IntGeluRef, PerChannelConstantsAndRows) {
  // Two channels: S = 1e-3 and a made-up small set b = -4, c = -100, shift = -3.
  // Channel 1, x = 2: t = 2 - 4 = -2, poly = 4 - 100 = -96, floor(-96/16384) = -1,
  //   y = 2 * (-1 - 3) = -8. x = -3: t = -1, poly = -99, s*poly = 99, floor = 0,
  //   y = -3 * (0 - 3) = 9.
  const std::vector<int64_t> b = {kB, -4}, c = {kC, -100}, sh = {kShift, -3};
  const std::vector<int32_t> x = {1000, 2, -1000, -3};
  std::vector<int64_t> y(4, 7);
  IntGeluParams p;
  p.rows = 2;
  p.channels = 2;
  p.b_int = b.data();
  p.c_int = c.data();
  p.shift_int = sh.data();
  ASSERT_TRUE(int_gelu_constants_valid(p));
  int_gelu__ref(p, x.data(), y.data(), nullptr);
  EXPECT_EQ(y, (std::vector<int64_t>{-708000, -8, 139000, 9}));
}

TEST(IntGeluRef, SaturatesToInt64) {
  // b = -1, c = -2^62, shift = -2^62 (the extreme valid constants), int64 input.
  // x = INT64_MAX: t = 0, poly = -2^62, erf_i = -2^48, factor = -2^48 - 2^62:
  //   the product is far below INT64_MIN. x = INT64_MIN: erf_i = 2^48,
  //   factor = 2^48 - 2^62 < 0, product positive -> INT64_MAX.
  const int64_t c = -(int64_t{1} << 62);
  EXPECT_EQ(int_gelu_element(INT64_MAX, -1, c, c), INT64_MIN);
  EXPECT_EQ(int_gelu_element(INT64_MIN, -1, c, c), INT64_MAX);
  // Exactly representable neighbour: x = 2, factor = -2^48 - 2^62 -> -2^49 - 2^63
  // is below INT64_MIN as well; x = 1 gives factor itself.
  EXPECT_EQ(int_gelu_element(1, -1, c, c), -(int64_t{1} << 48) + c);
  EXPECT_EQ(int_gelu_element(2, -1, c, c), INT64_MIN);
}

TEST(IntGeluRef, ConstantRanges) {
  int64_t b = -1, c = -1, sh = -1;
  IntGeluParams p;
  p.channels = 1;
  p.b_int = &b;
  p.c_int = &c;
  p.shift_int = &sh;
  EXPECT_TRUE(int_gelu_constants_valid(p));
  b = 1;
  EXPECT_FALSE(int_gelu_constants_valid(p));
  b = kIntGeluMinB - 1;
  EXPECT_FALSE(int_gelu_constants_valid(p));
  b = kIntGeluMinB;
  c = kIntGeluMinC - 1;
  EXPECT_FALSE(int_gelu_constants_valid(p));
  c = 0;
  sh = 5;
  EXPECT_FALSE(int_gelu_constants_valid(p));
}

TEST(IntGeluRef, SimulatorGoldens) {
  ThreadPool pool(3);
  for (const auto& tc : test::load_ibert_goldens("int_gelu")) {
    SCOPED_TRACE(tc.at("name").get<std::string>());
    const auto b = test::json_ints<int64_t>(tc.at("b_int"));
    const auto c = test::json_ints<int64_t>(tc.at("c_int"));
    const auto sh = test::json_ints<int64_t>(tc.at("shift_int"));
    const auto expected = test::json_ints<int64_t>(tc.at("y"));
    IntGeluParams p;
    p.rows = tc.at("rows").get<int64_t>();
    p.channels = tc.at("channels").get<int64_t>();
    p.b_int = b.data();
    p.c_int = c.data();
    p.shift_int = sh.data();
    ASSERT_TRUE(int_gelu_constants_valid(p));
    const bool wide = tc.at("input_dtype") == "int64";
    const auto x64 = test::json_ints<int64_t>(tc.at("x"));
    const auto x32 = wide ? std::vector<int32_t>() : test::json_ints<int32_t>(tc.at("x"));
    p.x_type = wide ? IntType::kS64 : IntType::kS32;
    const void* x = wide ? static_cast<const void*>(x64.data()) : x32.data();
    for (ThreadPool* tp : {static_cast<ThreadPool*>(nullptr), &pool}) {
      std::vector<int64_t> y(expected.size(), 0x5a5a);
      int_gelu__ref(p, x, y.data(), tp);
      EXPECT_EQ(y, expected);
    }
    if (!wide) {  // the same values through the int64 path
      std::vector<int64_t> y(expected.size(), 0);
      p.x_type = IntType::kS64;
      int_gelu__ref(p, x64.data(), y.data(), nullptr);
      EXPECT_EQ(y, expected);
    }
  }
}

}  // namespace
}  // namespace dyad::kernels
