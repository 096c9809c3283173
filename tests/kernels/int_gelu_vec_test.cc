// The vector int_gelu (AVX2, AVX-512 and NEON variants) against the reference, bit
// for bit: constants derived from real scales (1e-2 .. 1e-6, per channel) and
// at the edges of the vector plan (factors erf_i + shift_int up to 2^32 - 1),
// int32 inputs over the whole range (INT32_MIN/MAX, 0, +-b_int +- 1, the
// clip point), int8/uint8/int16 inputs, channel counts that are not
// multiples of the vector width, 1 to 4 threads. A variant the CPU cannot
// run is skipped with the ISA named.
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "engine/ops/ibert_constants.h"
#include "kernels/common/cpu.h"
#include "tests/kernels/elementwise_variants.h"
#include "kernels/common/thread_pool.h"
#include "kernels/int_gelu/int_gelu.h"
#include "kernels/int_gelu/int_gelu_vec.h"

namespace dyad::kernels {
namespace {

struct Constants {
  std::vector<int64_t> b, c, shift;
};

Constants from_scales(size_t channels, std::mt19937_64& rng, double lo_exp, double hi_exp) {
  Constants k;
  for (size_t ch = 0; ch < channels; ++ch) {
    const double scale = std::pow(10.0, std::uniform_real_distribution<double>(lo_exp, hi_exp)(rng));
    GeluConstants g;
    std::string why;
    EXPECT_TRUE(derive_gelu_constants(scale, &g, &why)) << why;
    k.b.push_back(g.b_int);
    k.c.push_back(g.c_int);
    k.shift.push_back(g.shift_int);
  }
  return k;
}

class IntGeluVec : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    const std::string missing = elementwise_variant_missing(GetParam());
    if (!missing.empty()) GTEST_SKIP() << missing << "; the " << GetParam() << " int_gelu is not tested";
  }

  void expect_same(IntType type, int64_t rows, const Constants& k, int threads, std::mt19937_64& rng) {
    IntGeluParams p;
    p.x_type = type;
    p.rows = rows;
    p.channels = static_cast<int64_t>(k.b.size());
    p.b_int = k.b.data();
    p.c_int = k.c.data();
    p.shift_int = k.shift.data();
    ASSERT_TRUE(int_gelu_constants_valid(p));
    IntGeluVecPlan plan;
    const char* why = "";
    ASSERT_TRUE(int_gelu_vec_plan(p, &plan, &why)) << why;
    const size_t count = static_cast<size_t>(rows * p.channels);
    std::vector<int64_t> values(count);
    const int64_t lo = int_type_min(type), hi = int_type_max(type);
    for (size_t i = 0; i < count; ++i) {
      const int64_t limit = -k.b[i % k.b.size()];
      int64_t v;
      switch (rng() % 6) {
        case 0: v = rng() % 2 ? lo : hi; break;
        case 1: v = static_cast<int64_t>(rng() % 5) - 2; break;
        case 2: v = (rng() % 2 ? limit : -limit) + static_cast<int64_t>(rng() % 3) - 1; break;
        case 3: v = static_cast<int64_t>(rng() % static_cast<uint64_t>(2 * limit + 1)) - limit; break;
        default: v = std::uniform_int_distribution<int64_t>(lo, hi)(rng); break;
      }
      values[i] = v < lo ? lo : (v > hi ? hi : v);
    }
    std::vector<uint8_t> x(count * int_type_bytes(type) + 8);
    store_ints(values.data(), count, type, x.data(), 0);
    std::vector<int64_t> want(count + 1, 0x5a), got(count + 1, 0x3c);
    std::unique_ptr<ThreadPool> pool;
    if (threads > 1) pool = std::make_unique<ThreadPool>(threads);
    int_gelu__ref(p, x.data(), want.data(), pool.get());
    if (GetParam() == "avx2")
      int_gelu__avx2(p, plan, x.data(), got.data(), pool.get());
    else if (GetParam() == "avx512")
      int_gelu__avx512(p, plan, x.data(), got.data(), pool.get());
#if defined(__aarch64__)
    else if (GetParam() == "neon")
      int_gelu__neon(p, plan, x.data(), got.data(), pool.get());
#endif
    for (size_t i = 0; i < count; ++i)
      if (want[i] != got[i]) {
        const size_t c = i % k.b.size();
        ADD_FAILURE() << GetParam() << ": element " << i << " x=" << values[i] << " b/c/shift " << k.b[c] << "/"
                      << k.c[c] << "/" << k.shift[c] << " want " << want[i] << " got " << got[i] << " (channels "
                      << p.channels << ", threads " << threads << ")";
        return;
      }
    EXPECT_EQ(got[count], 0x3c) << "wrote past the end";
  }
};

TEST_P(IntGeluVec, RealScalesEveryTypeChannelCountAndThreads) {
  std::mt19937_64 rng(7);
  const IntType types[] = {IntType::kS32, IntType::kS8, IntType::kU8, IntType::kS16};
  int index = 0;
  for (size_t channels : {1, 3, 8, 13, 16, 17, 768, 3072})
    for (int threads : {1, 2, 3, 4}) {
      const Constants k = from_scales(channels, rng, -6.0, -2.0);
      const int64_t rows = 1 + static_cast<int64_t>(40000 / channels) / (1 + index % 3);
      expect_same(types[index % 4], rows, k, threads, rng);
      expect_same(IntType::kS32, 3, k, threads, rng);
      ++index;
    }
}

TEST_P(IntGeluVec, ConstantsAtTheEdgesOfThePlan) {
  std::mt19937_64 rng(8);
  // |erf_i + shift_int| up to 2^32 - 1, the plan's limit: |erf_i| <=
  // ceil(max(|c|, |b^2 + c|) / 2^14) plus |shift_int|. (A larger clip such as
  // b_int = -2^31 makes erf_i itself reach 2^47: the reference's saturation
  // range, refused by the plan.)
  Constants k;
  k.b = {-(int64_t{1} << 23), -(int64_t{1} << 22), -1, 0, -2502, -25018};
  k.c = {-(int64_t{1} << 45), 0, 0, 0, -6925075, -692507494};
  k.shift = {-((int64_t{1} << 31) - 1), -((int64_t{1} << 32) - (int64_t{1} << 30) - 1), -((int64_t{1} << 32) - 2), 0,
             -423, -42268};
  for (int threads : {1, 2, 3, 4}) expect_same(IntType::kS32, 5000, k, threads, rng);
}

TEST(IntGeluVecPlan, RefusesWhatNeedsSaturation) {
  std::vector<int64_t> b = {-2502}, c = {-6925075}, shift = {-423};
  IntGeluParams p;
  p.rows = 1;
  p.channels = 1;
  p.b_int = b.data();
  p.c_int = c.data();
  p.shift_int = shift.data();
  IntGeluVecPlan plan;
  EXPECT_TRUE(int_gelu_vec_plan(p, &plan, nullptr));
  p.x_type = IntType::kS64;
  EXPECT_FALSE(int_gelu_vec_plan(p, &plan, nullptr));
  p.x_type = IntType::kS32;
  shift[0] = -(int64_t{1} << 32);
  EXPECT_FALSE(int_gelu_vec_plan(p, &plan, nullptr));
  shift[0] = 0;
  c[0] = -(int64_t{1} << 62);  // |erf_i| up to 2^48
  EXPECT_FALSE(int_gelu_vec_plan(p, &plan, nullptr));
}

INSTANTIATE_TEST_SUITE_P(Variants, IntGeluVec, ::testing::ValuesIn(elementwise_variants()),
                         [](const ::testing::TestParamInfo<std::string>& param) { return param.param; });

}  // namespace
}  // namespace dyad::kernels
