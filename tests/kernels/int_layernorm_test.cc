// i-LayerNorm reference kernel (numerics.md 6.2): the exact mean, the Newton
// isqrt against a brute-force floor sqrt, hand-computed rows, std == 0,
// variance beyond 2^32 and 2^64, and the simulator's golden vectors.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <vector>

#include "kernels/common/thread_pool.h"
#include "kernels/int_layernorm/int_layernorm.h"
#include "kernels/int_layernorm/isqrt.h"
#include "tests/kernels/ibert_goldens.h"

namespace dyad::kernels {
namespace {

// floor(sqrt(n)) by bisection on r*r <= n: independent of the Newton iteration.
uint128_t brute_isqrt(uint128_t n) {
  uint128_t lo = 0, hi = static_cast<uint128_t>(1) << 64;  // hi*hi > n for n < 2^128
  while (hi - lo > 1) {
    const uint128_t mid = lo + (hi - lo) / 2;
    if (mid * mid <= n) lo = mid; else hi = mid;
  }
  return lo;
}

TEST(Isqrt, ExhaustiveSmall) {
  for (uint64_t n = 0; n < 200000; ++n) ASSERT_EQ(isqrt_u64(n), brute_isqrt(n)) << n;
}

TEST(Isqrt, NearSquaresAndExtremes) {
  std::mt19937_64 rng(11);
  std::vector<uint64_t> values = {UINT64_MAX, UINT64_MAX - 1, (uint64_t{1} << 63) - 1,
                                  uint64_t{1} << 63, (uint64_t{1} << 63) + 1,
                                  (uint64_t{1} << 32) - 1, uint64_t{1} << 32};
  // r^2 - 1, r^2, r^2 + 1 for r up to 2^32 - 1 (r^2 up to just below 2^64).
  for (uint64_t r : {uint64_t{1}, uint64_t{2}, uint64_t{3}, uint64_t{65535}, uint64_t{65536},
                     uint64_t{3037000499}, uint64_t{3037000500}, uint64_t{4294967295}}) {
    values.push_back(r * r - 1);
    values.push_back(r * r);
    if (r * r != UINT64_MAX) values.push_back(r * r + 1);
  }
  for (int i = 0; i < 20000; ++i) {
    const uint64_t r = rng() >> (32 + rng() % 32);  // roots of every size
    values.push_back(r * r - 1);
    values.push_back(r * r);
    values.push_back(r * r + 1);
    values.push_back(rng() >> (rng() % 64));
  }
  for (uint64_t n : values) {
    int steps = 0;
    ASSERT_EQ(isqrt_u64(n, &steps), brute_isqrt(n)) << n;
    if (n < (uint64_t{1} << 32)) {
      EXPECT_LE(steps, 6) << n;  // numerics.md 6.2
    } else if (n < (uint64_t{1} << 63)) {
      EXPECT_LE(steps, 7) << n;
    }
  }
}

TEST(Isqrt, Wide128) {
  std::mt19937_64 rng(12);
  for (int i = 0; i < 2000; ++i) {
    const uint128_t r = (static_cast<uint128_t>(rng()) << 32 | (rng() >> 32)) >> (rng() % 64);
    for (uint128_t n : {r * r - 1, r * r, r * r + 1}) {
      if (r == 0 && n != 0) continue;
      ASSERT_TRUE(isqrt_u128(n) == brute_isqrt(n));
    }
  }
  const uint128_t big = ~static_cast<uint128_t>(0) >> 1;  // 2^127 - 1
  EXPECT_TRUE(isqrt_u128(big) == brute_isqrt(big));
}

TEST(IntLayerNormRef, MeanRoundsHalfToEven) {
  EXPECT_EQ(int_layernorm_mean(5, 2), 2);     // 2.5
  EXPECT_EQ(int_layernorm_mean(7, 2), 4);     // 3.5
  EXPECT_EQ(int_layernorm_mean(-5, 2), -2);   // -2.5
  EXPECT_EQ(int_layernorm_mean(-7, 2), -4);   // -3.5
  EXPECT_EQ(int_layernorm_mean(-1, 2), 0);    // -0.5
  EXPECT_EQ(int_layernorm_mean(-1, 3), 0);    // -0.33
  EXPECT_EQ(int_layernorm_mean(-2, 3), -1);   // -0.67
  EXPECT_EQ(int_layernorm_mean(2, 3), 1);     // 0.67
  EXPECT_EQ(int_layernorm_mean(-12, 4), -3);  // exact
  EXPECT_EQ(int_layernorm_mean(383, 768), 0);    // 0.4987
  EXPECT_EQ(int_layernorm_mean(384, 768), 0);    // 0.5 -> 0
  EXPECT_EQ(int_layernorm_mean(1152, 768), 2);   // 1.5 -> 2
  EXPECT_EQ(int_layernorm_mean(-1152, 768), -2); // -1.5 -> -2
  // Large sums: (2^62 + 1) / 2 = 2^61 + 0.5 -> 2^61 (even).
  EXPECT_EQ(int_layernorm_mean((int64_t{1} << 62) + 1, 2), int64_t{1} << 61);
  EXPECT_EQ(int_layernorm_mean(-(int64_t{1} << 62) - 1, 2), -(int64_t{1} << 61));
}

std::vector<int64_t> run(const std::vector<int32_t>& x, int64_t n, int shift,
                         const std::vector<int64_t>& bias, ThreadPool* pool = nullptr) {
  IntLayerNormParams p;
  p.rows = static_cast<int64_t>(x.size()) / n;
  p.channels = n;
  p.shift = shift;
  p.bias_int = bias.data();
  EXPECT_TRUE(int_layernorm_params_valid(p));
  std::vector<int64_t> out(x.size(), 0x5a5a);
  int_layernorm__ref(p, x.data(), out.data(), pool);
  return out;
}

// LayerNorm of x with zero point z equals LayerNorm of x - z with zero point 0,
// for every z of the dtype, odd ones included, on rows full of mean ties.
TEST(IntLayerNormRef, ZeroPointEqualsSubtractingItFirst) {
  std::mt19937 rng(7);
  const int64_t n = 6, rows = 64;
  const std::vector<int64_t> bias(n, 3);
  for (int z = -128; z <= 127; z += 5) {
    std::vector<int8_t> x(static_cast<size_t>(rows * n));
    std::vector<int32_t> shifted(x.size());
    for (size_t i = 0; i < x.size(); ++i) {
      // Values near z, so that sums of v = x - z often end in a half.
      const int v = std::clamp(z + static_cast<int>(rng() % 5) - 2, -128, 127);
      x[i] = static_cast<int8_t>(v);
      shifted[i] = v - z;
    }
    IntLayerNormParams p;
    p.x_type = IntType::kS8;
    p.rows = rows;
    p.channels = n;
    p.zero_point = z;
    p.bias_int = bias.data();
    ASSERT_TRUE(int_layernorm_params_valid(p));
    std::vector<int64_t> got(x.size());
    int_layernorm__ref(p, x.data(), got.data(), nullptr);
    EXPECT_EQ(got, run(shifted, n, 0, bias)) << "zero point " << z;
  }
  IntLayerNormParams p32;
  p32.rows = 1;
  p32.channels = 2;
  p32.bias_int = bias.data();
  p32.zero_point = 1;  // int32 inputs must have 0
  EXPECT_FALSE(int_layernorm_params_valid(p32));
}

TEST(IntLayerNormRef, HandComputed) {
  // x = [1, 2, 3, 6], shift 0: sum 12, mean 3, y = [-2, -1, 0, 3], var = 14,
  // isqrt 3, std 3, factor = floor(2^31 / 3) = 715827882,
  // (y * factor) >> 1 = [-715827882, -357913941, 0, 1073741823], + bias [0, 10, -10, 0].
  EXPECT_EQ(run({1, 2, 3, 6}, 4, 0, {0, 10, -10, 0}),
            (std::vector<int64_t>{-715827882, -357913931, -10, 1073741823}));
  // x = [0, 0, 0, 8], shift 2: mean 2, y = [-2, -2, -2, 6], ys = y >> 2 = [-1, -1, -1, 1],
  // var 4, std = 2 << 2 = 8, factor = 2^28, out = y * 2^27 = [-2^28 x3, 3 * 2^28].
  EXPECT_EQ(run({0, 0, 0, 8}, 4, 2, {0, 0, 0, 0}),
            (std::vector<int64_t>{-268435456, -268435456, -268435456, 805306368}));
  // Floor of an odd negative product: x = [0, 1, 1], mean rne(2/3) = 1, y = [-1, 0, 0],
  // var 1, std 1, factor 2^31, (-2^31) >> 1 = -2^30; then x = [0, 0, 3]: mean 1,
  // y = [-1, -1, 2], var 6, isqrt 2, factor 2^30, out = [-2^29, -2^29, 2^30].
  EXPECT_EQ(run({0, 1, 1, 0, 0, 3}, 3, 0, {0, 0, 0}),
            (std::vector<int64_t>{-1073741824, 0, 0, -536870912, -536870912, 1073741824}));
  // x = [0, 0, 5, 0]: mean rne(1.25) = 1, y = [-1, -1, 4, -1], var 19, isqrt 4, factor 2^29,
  // out = [-2^28, -2^28, 2^30, -2^28].
  EXPECT_EQ(run({0, 0, 5, 0}, 4, 0, {0, 0, 0, 0}),
            (std::vector<int64_t>{-268435456, -268435456, 1073741824, -268435456}));
  // x = [0, 0, 1, 1, 1] (n = 5): mean rne(0.6) = 1, y = [-1, -1, 0, 0, 0], var 2,
  // isqrt 1, factor 2^31, out = [-2^30, -2^30, 0, 0, 0].
  EXPECT_EQ(run({0, 0, 1, 1, 1}, 5, 0, {0, 0, 0, 0, 0}),
            (std::vector<int64_t>{-1073741824, -1073741824, 0, 0, 0}));
  // std > 2^31: factor 0, out = bias. x = [-2^31, 2^31 - 1]: sum -1, mean rne(-0.5) = 0,
  // y = x, var = 2^62 + (2^31 - 1)^2 < 2^64, isqrt = 3037000499 > 2^31.
  EXPECT_EQ(run({INT32_MIN, INT32_MAX}, 2, 0, {4, -4}), (std::vector<int64_t>{4, -4}));
}

TEST(IntLayerNormRef, StdZeroGivesBias) {
  // A constant row, and a row whose |y| are all below 2^shift with y >= 0 after the floor:
  // [5, 5, 5, 6], shift 1: mean rne(5.25) = 5, y = [0, 0, 0, 1], ys = [0, 0, 0, 0].
  EXPECT_EQ(run({7, 7, 7, 7, 5, 5, 5, 6}, 4, 1, {1, -2, 3, INT64_MAX}),
            (std::vector<int64_t>{1, -2, 3, INT64_MAX, 1, -2, 3, INT64_MAX}));
  // [5, 5, 5, 4], shift 1: mean rne(4.75) = 5, y = [0, 0, 0, -1], ys = [0, 0, 0, -1]:
  // var 1, std = 1 << 1 = 2, factor 2^30, out[3] = -2^30 >> 1 = -2^29 (not std 0).
  EXPECT_EQ(run({5, 5, 5, 4}, 4, 1, {0, 0, 0, 0}), (std::vector<int64_t>{0, 0, 0, -536870912}));
}

TEST(IntLayerNormRef, VarianceBeyond2To64) {
  // n = 8 of INT32_MAX, INT32_MIN alternating: sum -4, mean rne(-0.5) = 0, y = x,
  // var = 4 (2^31 - 1)^2 + 4 * 2^62 = 2^65 - 2^34 + 4 > 2^64: the 128-bit path.
  std::vector<int32_t> x;
  for (int i = 0; i < 4; ++i) { x.push_back(INT32_MAX); x.push_back(INT32_MIN); }
  const uint128_t var = 4 * static_cast<uint128_t>(uint64_t{INT32_MAX} * INT32_MAX) +
                        4 * (static_cast<uint128_t>(1) << 62);
  ASSERT_TRUE(var > UINT64_MAX);
  const uint64_t root = static_cast<uint64_t>(brute_isqrt(var));  // > 2^31: factor = 0
  ASSERT_GT(root, uint64_t{1} << 31);
  EXPECT_EQ(run(x, 8, 0, std::vector<int64_t>(8, 9)), std::vector<int64_t>(8, 9));
  // With shift 3 the same row: ys = y >> 3, and std = isqrt(var') << 3 is still > 2^31.
  EXPECT_EQ(run(x, 8, 3, std::vector<int64_t>(8, -9)), std::vector<int64_t>(8, -9));
}

TEST(IntLayerNormRef, BiasAddSaturates) {
  // x = [0, 2]: mean 1, y = [-1, 1], var 2, std 1, factor 2^31, (y * factor) >> 1 = -+2^30,
  // which moves INT64_MAX and INT64_MIN inwards; x = [2, 0] pushes them outwards: saturate.
  EXPECT_EQ(run({0, 2}, 2, 0, {INT64_MAX, INT64_MIN}),
            (std::vector<int64_t>{INT64_MAX - (int64_t{1} << 30), INT64_MIN + (int64_t{1} << 30)}));
  EXPECT_EQ(run({2, 0}, 2, 0, {INT64_MAX, INT64_MIN}), (std::vector<int64_t>{INT64_MAX, INT64_MIN}));
}

TEST(IntLayerNormRef, ParamsValidation) {
  const int64_t bias = 0;
  IntLayerNormParams p;
  p.rows = 1;
  p.channels = 1;
  p.bias_int = &bias;
  EXPECT_TRUE(int_layernorm_params_valid(p));
  p.shift = kIntLayerNormMaxShift + 1;
  EXPECT_FALSE(int_layernorm_params_valid(p));
  p.shift = 0;
  p.x_type = IntType::kS64;
  EXPECT_FALSE(int_layernorm_params_valid(p));
  p.x_type = IntType::kS16;
  p.channels = 0;
  EXPECT_FALSE(int_layernorm_params_valid(p));
}

TEST(IntLayerNormRef, SimulatorGoldens) {
  ThreadPool pool(3);
  bool saw_int16 = false;
  for (const auto& tc : test::load_ibert_goldens("int_layernorm")) {
    SCOPED_TRACE(tc.at("name").get<std::string>());
    const auto bias = test::json_ints<int64_t>(tc.at("bias_int"));
    const auto expected = test::json_ints<int64_t>(tc.at("y"));
    const int64_t n = tc.at("channels").get<int64_t>();
    const int shift = tc.at("shift").get<int>();
    const auto x = test::json_ints<int32_t>(tc.at("x"));
    EXPECT_EQ(run(x, n, shift, bias), expected);
    EXPECT_EQ(run(x, n, shift, bias, &pool), expected);
    if (tc.at("input_dtype") == "int16") {  // the embeddings LayerNorm input
      saw_int16 = true;
      const auto x16 = test::json_ints<int16_t>(tc.at("x"));
      IntLayerNormParams p;
      p.x_type = IntType::kS16;
      p.rows = static_cast<int64_t>(x16.size()) / n;
      p.channels = n;
      p.shift = shift;
      p.bias_int = bias.data();
      std::vector<int64_t> out(x16.size(), 0);
      int_layernorm__ref(p, x16.data(), out.data(), &pool);
      EXPECT_EQ(out, expected);
    }
  }
  EXPECT_TRUE(saw_int16);
}

}  // namespace
}  // namespace dyad::kernels
