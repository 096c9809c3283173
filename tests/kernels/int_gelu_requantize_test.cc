// The fused int_gelu + requantize (AVX2, AVX-512, NEON) against int_gelu__ref
// then requantize__ref, bit for bit: GELU constants from real scales, the
// requantize multipliers of I-BERT's GELU output (negative, large shifts) and
// random ones, per-tensor and per-channel requant, int8/uint8 outputs with
// zero points and activation clamps, int8/int16/int32 inputs, channel counts
// that are not multiples of the vector width, 1-4 threads; the 64-bit-lane
// path always, and the floor path wherever its plan takes the case (its erf_i
// in 32-bit lanes where the GELU plan allows, else 64-bit ones). A variant
// the CPU cannot run is skipped with the ISA named.
#include <gtest/gtest.h>

#include <algorithm>
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

struct Case {
  IntType x_type = IntType::kS32;
  size_t channels = 1;
  bool per_channel_requant = false;
  IntType dst_type = IntType::kS8;
  int threads = 1;
  double log10_scale_lo = -6.0, log10_scale_hi = -2.0;  // the GELU input scales
  bool ibert_multipliers_only = false;  // no random requantize pairs
  bool require_floor = false;           // the floor plan must take the case
};

void run_variant(const std::string& isa, const IntGeluParams& g, const IntGeluVecPlan& gplan,
                 const RequantizeParams& r, const RequantizeWidePlan& wplan,
                 const IntGeluRequantizeFloorPlan* floor, const void* x, uint8_t* y, ThreadPool* pool) {
  if (isa == "avx2")
    int_gelu_requantize__avx2(g, gplan, r, wplan, floor, x, y, pool);
  else if (isa == "avx512")
    int_gelu_requantize__avx512(g, gplan, r, wplan, floor, x, y, pool);
#if defined(__aarch64__)
  else if (isa == "neon")
    int_gelu_requantize__neon(g, gplan, r, wplan, floor, x, y, pool);
#endif
}

void run_rows_variant(const std::string& isa, const IntGeluRequantizeRows& a, const int32_t* x, size_t x_stride,
                      size_t rows, size_t c0, size_t count, uint8_t* y, size_t y_stride) {
  if (isa == "avx2")
    int_gelu_requantize_rows__avx2(a, x, x_stride, rows, c0, count, y, y_stride);
  else if (isa == "avx512")
    int_gelu_requantize_rows__avx512(a, x, x_stride, rows, c0, count, y, y_stride);
#if defined(__aarch64__)
  else if (isa == "neon")
    int_gelu_requantize_rows__neon(a, x, x_stride, rows, c0, count, y, y_stride);
#endif
}

// Plans whose erf_i runs in 32-bit lanes (int_gelu_vec.h erf32) and in
// 64-bit ones, over the cases so far.
int erf32_plans = 0, erf64_plans = 0;

// One random case, through the 64-bit-lane path and (where its plan takes the
// case) the floor path. Returns whether the floor path ran.
bool expect_same(const std::string& isa, std::mt19937_64& rng, const Case& k) {
  const IntType x_type = k.x_type, dst_type = k.dst_type;
  const size_t channels = k.channels;
  const bool per_channel_requant = k.per_channel_requant;
  const int threads = k.threads;
  std::vector<int64_t> b, c, shift;
  std::vector<double> scales;
  for (size_t ch = 0; ch < channels; ++ch) {
    const double scale = std::pow(10.0, std::uniform_real_distribution<double>(k.log10_scale_lo, k.log10_scale_hi)(rng));
    GeluConstants g;
    std::string why;
    EXPECT_TRUE(derive_gelu_constants(scale, &g, &why)) << why;
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
  if (!int_gelu_vec_plan(g, &gplan, &why)) {
    ADD_FAILURE() << why;
    return false;
  }
  ++(gplan.erf32 ? erf32_plans : erf64_plans);

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
    if (k.ibert_multipliers_only) {
      // As a model has them: about S^3 * 1.5e4 (out scale S^3 * 1183 over a
      // next scale of about 0.08), within a factor of two.
      const double s = scales[ch];
      int e2 = 0;
      const double mantissa = std::frexp(s * s * s * 1.5e4 * std::uniform_real_distribution<double>(0.5, 2.0)(rng), &e2);
      requant.push_back({-static_cast<int32_t>(std::ldexp(mantissa, 31) - 1), 31 - e2});
    } else if (rng() % 4 != 0)
      requant.push_back({-static_cast<int32_t>((1u << 30) + rng() % (1u << 30)), 50 + static_cast<int>(rng() % 12)});
    else
      requant.push_back({static_cast<int32_t>(rng()), static_cast<int>(rng() % 70) - 2});
  }
  RequantizeWidePlan wplan;
  if (!requantize_wide_plan(r, requant.data(), &wplan)) {
    ADD_FAILURE() << "requantize_wide_plan refused the case";
    return false;
  }
  IntGeluRequantizeFloorPlan floor;
  const char* floor_why = "";
  const bool has_floor = int_gelu_requantize_floor_plan(g, r, requant.data(), &floor, &floor_why);
  if (k.require_floor && !has_floor) {
    ADD_FAILURE() << "the floor plan refused the case: " << floor_why;
    return false;
  }

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
  std::vector<uint8_t> want(count + 1, 0x5a);
  requantize__ref(r, requant.data(), gelu.data(), want.data());
  for (const IntGeluRequantizeFloorPlan* path : {static_cast<const IntGeluRequantizeFloorPlan*>(nullptr),
                                                 static_cast<const IntGeluRequantizeFloorPlan*>(&floor)}) {
    if (path != nullptr && !has_floor) break;
    const char* path_name = path != nullptr ? "floor path" : "64-bit-lane path";
    std::vector<uint8_t> got(count + 1, 0x3c);
    run_variant(isa, g, gplan, r, wplan, path, x.data(), got.data(), pool.get());
    for (size_t i = 0; i < count; ++i)
      if (want[i] != got[i]) {
        ADD_FAILURE() << isa << " " << path_name << ": element " << i << " of " << count << " x=" << values[i]
                      << " gelu=" << gelu[i] << " want " << int(want[i]) << " got " << int(got[i]) << " (channels "
                      << channels << ", requant channels " << r.channels << ", threads " << threads << ")";
        break;
      }
    EXPECT_EQ(got[count], 0x3c) << path_name << " wrote past the end";
    // The GEMM epilogue's entry (int32 inputs): the tensor as column blocks
    // of 8 and of 16 channels (one vector's on AVX2 and AVX-512: the floor
    // path keeps their constants in registers), the last ones shorter.
    if (x_type != IntType::kS32) continue;
    const IntGeluRequantizeRows args{&g, &gplan, &r, &wplan, path};
    for (size_t width : {8, 16}) {
      std::vector<uint8_t> blocks(count + 1, 0x3c);
      for (size_t c0 = 0; c0 < channels; c0 += width)
        run_rows_variant(isa, args, reinterpret_cast<const int32_t*>(x.data()) + c0, channels, rows, c0,
                         std::min(width, channels - c0), blocks.data() + c0, channels);
      for (size_t i = 0; i < count; ++i)
        if (want[i] != blocks[i]) {
          ADD_FAILURE() << isa << " " << path_name << " in column blocks of " << width << ": element " << i
                        << " (channels " << channels << ") want " << int(want[i]) << " got " << int(blocks[i]);
          break;
        }
      EXPECT_EQ(blocks[count], 0x3c) << path_name << " in column blocks wrote past the end";
    }
  }
  return has_floor;
}

TEST_P(IntGeluRequantize, MatchesGeluThenRequantize) {
  std::mt19937_64 rng(21);
  const IntType x_types[] = {IntType::kS32, IntType::kS8, IntType::kS16};
  int index = 0;
  for (size_t channels : {1, 5, 8, 16, 17, 31, 768, 3072})
    for (bool per_channel : {false, true})
      for (IntType dst : {IntType::kS8, IntType::kU8}) {
        expect_same(GetParam(), rng, {x_types[index % 3], channels, per_channel, dst, 1 + index % 4});
        ++index;
      }
}

// GELU input scales as BERT's (s_w * S_x, 3e-5 .. 1e-2) with the requantize
// multipliers they imply: the floor path must take every case, and agree
// with the reference.
TEST_P(IntGeluRequantize, FloorPathMatchesGeluThenRequantize) {
  std::mt19937_64 rng(22);
  const IntType x_types[] = {IntType::kS32, IntType::kS8, IntType::kS16};
  int index = 0;
  int floor_cases = 0;
  for (size_t channels : {1, 5, 16, 17, 31, 300, 768, 3072})
    for (bool per_channel : {false, true})
      for (IntType dst : {IntType::kS8, IntType::kU8}) {
        Case k{x_types[index % 3], channels, per_channel, dst, 1 + index % 4};
        k.log10_scale_lo = -4.5 + 0.2 * (index % 12);  // 3e-5 .. 1e-2, each case within 2x
        k.log10_scale_hi = k.log10_scale_lo + 0.3;
        k.ibert_multipliers_only = true;
        k.require_floor = true;
        floor_cases += expect_same(GetParam(), rng, k);
        ++index;
      }
  EXPECT_EQ(floor_cases, index) << "cases the floor plan never took";
  // Scales below about 3.8e-5 give |b_int| > 46340: both erf forms ran.
  EXPECT_GT(erf32_plans, 0);
  EXPECT_GT(erf64_plans, 0);
}

// The floor plan refuses what it cannot compute exactly, naming why.
TEST(IntGeluRequantizeFloorPlan, RefusesWhatItCannotComputeExactly) {
  GeluConstants gc;
  std::string derive_why;
  ASSERT_TRUE(derive_gelu_constants(1e-3, &gc, &derive_why)) << derive_why;
  int64_t b = gc.b_int, c = gc.c_int, shift = gc.shift_int;
  IntGeluParams g;
  g.rows = 1;
  g.channels = 1;
  g.b_int = &b;
  g.c_int = &c;
  g.shift_int = &shift;
  RequantizeParams r;
  r.count = 1;
  r.src_type = IntType::kS64;
  IntGeluRequantizeFloorPlan plan;
  const char* why = "";
  const Dyadic ibert{-1234567891, 58};
  EXPECT_TRUE(int_gelu_requantize_floor_plan(g, r, &ibert, &plan, &why)) << why;
  ASSERT_EQ(plan.floor.n.size(), 1 + kIntGeluVecPad);
  EXPECT_EQ(plan.floor.n[0], 1234567891);
  EXPECT_EQ(plan.floor.shift[0], 58 - 32);

  const Dyadic positive{1234567891, 58};
  EXPECT_FALSE(int_gelu_requantize_floor_plan(g, r, &positive, &plan, &why));
  EXPECT_NE(std::string(why).find("positive"), std::string::npos) << why;
  // -3 * 2^28: odd part 3, so y * m can be an exact tie inside the clamp window.
  const Dyadic tie{-3 * (1 << 28), 58};
  EXPECT_FALSE(int_gelu_requantize_floor_plan(g, r, &tie, &plan, &why));
  EXPECT_NE(std::string(why).find("tie"), std::string::npos) << why;
  const Dyadic small_shift{-1234567891, 20};
  EXPECT_FALSE(int_gelu_requantize_floor_plan(g, r, &small_shift, &plan, &why));
  EXPECT_NE(std::string(why).find("shift"), std::string::npos) << why;
  // A scale of 3e-7 makes erf_i + shift_int about 9.4e9.
  ASSERT_TRUE(derive_gelu_constants(3e-7, &gc, &derive_why)) << derive_why;
  b = gc.b_int, c = gc.c_int, shift = gc.shift_int;
  EXPECT_FALSE(int_gelu_requantize_floor_plan(g, r, &ibert, &plan, &why));
  EXPECT_NE(std::string(why).find("leave int32"), std::string::npos) << why;
  // With scale 1e-3 the GELU values reach about 2^41: a multiplier of
  // 2^-4 leaves int32 before the clamp.
  ASSERT_TRUE(derive_gelu_constants(1e-3, &gc, &derive_why)) << derive_why;
  b = gc.b_int, c = gc.c_int, shift = gc.shift_int;
  const Dyadic large{-((1 << 30) + 12345), 34};
  EXPECT_FALSE(int_gelu_requantize_floor_plan(g, r, &large, &plan, &why));
  EXPECT_NE(std::string(why).find("before the clamp"), std::string::npos) << why;
}

INSTANTIATE_TEST_SUITE_P(Variants, IntGeluRequantize, ::testing::ValuesIn(elementwise_variants()),
                         [](const auto& variant) { return variant.param; });

}  // namespace
}  // namespace dyad::kernels
