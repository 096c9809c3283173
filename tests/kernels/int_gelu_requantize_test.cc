// The fused int_gelu + requantize (AVX2, AVX-512, NEON) against int_gelu__ref
// then requantize__ref, bit for bit: GELU constants from real scales, the
// requantize multipliers of I-BERT's GELU output (negative, large shifts) and
// random ones, per-tensor and per-channel requant, int8/uint8 outputs with
// zero points and activation clamps, int8/int16/int32 inputs, channel counts
// that are not multiples of the vector width, 1-4 threads. A variant the CPU
// cannot run is skipped with the ISA named.
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
#include "kernels/int_gelu/int_gelu_requantize.h"

namespace dyad::kernels {
namespace {

class IntGeluRequantize : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    const std::string missing = elementwise_variant_missing(GetParam());
    if (!missing.empty()) GTEST_SKIP() << missing << "; the " << GetParam() << " int_gelu_requantize is not tested";
  }
};

// One random case; false when a plan refuses it (not expected for these draws).
void expect_same(const std::string& isa, std::mt19937_64& rng, IntType x_type, size_t channels,
                 bool per_channel_requant, IntType dst_type, int threads) {
  std::vector<int64_t> b, c, shift;
  std::vector<double> scales;
  for (size_t ch = 0; ch < channels; ++ch) {
    const double scale = std::pow(10.0, std::uniform_real_distribution<double>(-6.0, -2.0)(rng));
    GeluConstants g;
    std::string why;
    ASSERT_TRUE(derive_gelu_constants(scale, &g, &why)) << why;
    b.push_back(g.b_int);
    c.push_back(g.c_int);
    shift.push_back(g.shift_int);
    scales.push_back(scale);
  }
  const size_t rows = 1 + rng() % (9000 / channels + 2);
  IntGeluParams g;
  g.x_type = x_type;
  g.rows = static_cast<int64_t>(rows);
  g.channels = static_cast<int64_t>(channels);
  g.b_int = b.data();
  g.c_int = c.data();
  g.shift_int = shift.data();
  IntGeluVecPlan gplan;
  const char* why = "";
  ASSERT_TRUE(int_gelu_vec_plan(g, &gplan, &why)) << why;

  RequantizeParams r;
  r.count = rows * channels;
  r.channels = per_channel_requant ? channels : 1;
  r.src_type = IntType::kS64;
  r.dst_type = dst_type;
  const bool s8 = dst_type == IntType::kS8;
  r.dst_zero_point = s8 ? static_cast<int64_t>(rng() % 21) - 10 : static_cast<int64_t>(rng() % 40);
  r.dst_min = s8 ? -128 : 0;
  r.dst_max = s8 ? 127 : 255;
  if (rng() % 3 == 0) r.dst_min = r.dst_zero_point;  // a relu-like clamp
  std::vector<Dyadic> requant;
  for (size_t ch = 0; ch < r.channels; ++ch) {
    // I-BERT: out scale S * erf_scale / 2 < 0 over the next scale: a negative
    // 31-bit multiplier and a shift near 58; sometimes any other pair.
    if (rng() % 4 != 0)
      requant.push_back({-static_cast<int32_t>((1u << 30) + rng() % (1u << 30)), 50 + static_cast<int>(rng() % 12)});
    else
      requant.push_back({static_cast<int32_t>(rng()), static_cast<int>(rng() % 70) - 2});
  }
  RequantizeWidePlan wplan;
  ASSERT_TRUE(requantize_wide_plan(r, requant.data(), &wplan));

  const size_t count = r.count;
  std::vector<int64_t> values(count);
  const int64_t lo = int_type_min(x_type), hi = int_type_max(x_type);
  for (size_t i = 0; i < count; ++i) {
    const int64_t limit = -b[i % channels];
    int64_t v;
    switch (rng() % 5) {
      case 0: v = rng() % 2 ? lo : hi; break;
      case 1: v = static_cast<int64_t>(rng() % 5) - 2; break;
      case 2: v = static_cast<int64_t>(rng() % static_cast<uint64_t>(2 * limit + 1)) - limit; break;
      default: v = std::uniform_int_distribution<int64_t>(lo, hi)(rng); break;
    }
    values[i] = v < lo ? lo : (v > hi ? hi : v);
  }
  std::vector<uint8_t> x(count * int_type_bytes(x_type) + 8);
  store_ints(values.data(), count, x_type, x.data(), 0);
  std::unique_ptr<ThreadPool> pool;
  if (threads > 1) pool = std::make_unique<ThreadPool>(threads);
  std::vector<int64_t> gelu(count);
  int_gelu__ref(g, x.data(), gelu.data(), nullptr);
  std::vector<uint8_t> want(count + 1, 0x5a), got(count + 1, 0x3c);
  requantize__ref(r, requant.data(), gelu.data(), want.data());
  if (isa == "avx2")
    int_gelu_requantize__avx2(g, gplan, r, wplan, x.data(), got.data(), pool.get());
  else if (isa == "avx512")
    int_gelu_requantize__avx512(g, gplan, r, wplan, x.data(), got.data(), pool.get());
#if defined(__aarch64__)
  else if (isa == "neon")
    int_gelu_requantize__neon(g, gplan, r, wplan, x.data(), got.data(), pool.get());
#endif
  for (size_t i = 0; i < count; ++i)
    if (want[i] != got[i]) {
      ADD_FAILURE() << isa << ": element " << i << " of " << count << " x=" << values[i] << " gelu=" << gelu[i]
                    << " want " << int(want[i]) << " got " << int(got[i]) << " (channels " << channels
                    << ", requant channels " << r.channels << ", threads " << threads << ")";
      return;
    }
  EXPECT_EQ(got[count], 0x3c) << "wrote past the end";
}

TEST_P(IntGeluRequantize, MatchesGeluThenRequantize) {
  std::mt19937_64 rng(21);
  const IntType x_types[] = {IntType::kS32, IntType::kS8, IntType::kS16};
  int index = 0;
  for (size_t channels : {1, 5, 8, 16, 17, 31, 768, 3072})
    for (bool per_channel : {false, true})
      for (IntType dst : {IntType::kS8, IntType::kU8}) {
        expect_same(GetParam(), rng, x_types[index % 3], channels, per_channel, dst, 1 + index % 4);
        ++index;
      }
}

INSTANTIATE_TEST_SUITE_P(Variants, IntGeluRequantize, ::testing::ValuesIn(elementwise_variants()),
                         [](const auto& variant) { return variant.param; });

}  // namespace
}  // namespace dyad::kernels
