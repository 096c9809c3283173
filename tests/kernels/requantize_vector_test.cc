// The vector requantize variants against the reference, bit for bit: AVX2
// (x86-64) and NEON (64-bit ARM), each named and run directly. Every input
// type, both byte outputs, per-tensor and per-channel constants with extreme
// multipliers and shifts (including the INT32_MIN input at a rounding tie),
// zero points and clamps at the ends, counts around the vector width and the
// task chunk, 1-4 threads; and what each refuses.
#include <gtest/gtest.h>

#include <cstring>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "kernels/common/cpu.h"
#include "kernels/common/thread_pool.h"
#include "kernels/requantize/requantize.h"

namespace dyad::kernels {
namespace {

int64_t lowest(IntType t) { return int_type_min(t); }
int64_t highest(IntType t) { return int_type_max(t); }

std::vector<uint8_t> random_input(IntType t, size_t count, std::mt19937& rng) {
  std::vector<int64_t> values(count);
  for (int64_t& v : values) {
    const int pick = static_cast<int>(rng() % 8);
    v = pick == 0 ? lowest(t) : pick == 1 ? highest(t) : pick == 2 ? static_cast<int64_t>(rng() % 7) - 3
                                                                   : std::uniform_int_distribution<int64_t>(lowest(t), highest(t))(rng);
    // int64 (always the 64-bit-lane path now): mostly values within int32, INT32_MIN included,
    // with a few beyond it.
    if (t == IntType::kS64 && rng() % 16 != 0)
      v = pick == 3 ? INT32_MIN : std::uniform_int_distribution<int64_t>(INT32_MIN, INT32_MAX)(rng);
  }
  std::vector<uint8_t> bytes(count * int_type_bytes(t) + 1);
  store_ints(values.data(), count, t, bytes.data(), 0);
  return bytes;
}

// One vector variant: plans and runs p (false: the variant refuses p).
struct Variant {
  const char* name;
  KernelIsa isa;
  // Whether the variant takes every byte-output p (AVX2: its 64-bit-lane
  // path takes what the int32 path cannot), or only the int32 path's.
  bool takes_every_byte_output;
  std::function<bool(const RequantizeParams&, const Dyadic*, const void*, void*, ThreadPool*)> run;
};

const std::vector<Variant>& variants() {
  static const std::vector<Variant> list = {
#if defined(__x86_64__)
      {"avx2", KernelIsa::kAvx2, true,
       [](const RequantizeParams& p, const Dyadic* rq, const void* src, void* dst, ThreadPool* pool) {
         RequantizeAvx2PlanPtr plan = requantize_avx2_plan(p, rq);
         if (plan) requantize__avx2(p, *plan, src, dst, pool);
         return plan != nullptr;
       }},
#endif
#if defined(__aarch64__)
      {"neon", KernelIsa::kNeon, false,
       [](const RequantizeParams& p, const Dyadic* rq, const void* src, void* dst, ThreadPool* pool) {
         RequantizeNeonPlanPtr plan = requantize_neon_plan(p, rq);
         if (plan) requantize__neon(p, *plan, src, dst, pool);
         return plan != nullptr;
       }},
#endif
  };
  return list;
}

std::vector<std::string> variant_names() {
  std::vector<std::string> names;
  for (const Variant& v : variants()) names.push_back(v.name);
  return names;
}

class RequantizeVector : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    for (const Variant& v : variants())
      if (v.name == GetParam()) variant_ = &v;
    ASSERT_NE(variant_, nullptr);
    if (!kernel_isa_present(variant_->isa))
      GTEST_SKIP() << "this CPU lacks " << kernel_isa_name(variant_->isa) << "; requantize__" << GetParam()
                   << " cannot run here";
  }

  // Compares the variant with the reference on random input; a refusal must
  // be one the variant documents.
  void expect_same(const RequantizeParams& p, const std::vector<Dyadic>& requant, int threads, std::mt19937& rng) {
    const auto src = random_input(p.src_type, p.count, rng);
    std::vector<uint8_t> want(p.count + 1, 0xa5), got(p.count + 1, 0x5a);
    std::unique_ptr<ThreadPool> pool;
    if (threads > 1) pool = std::make_unique<ThreadPool>(threads);
    requantize__ref(p, requant.data(), src.data(), want.data());
    if (!variant_->run(p, requant.data(), src.data(), got.data(), pool.get())) {
      EXPECT_FALSE(variant_->takes_every_byte_output || requantize_int32_path_applies(p))
          << GetParam() << " refused a desc it takes";
      return;
    }
    ++compared_;
    ASSERT_EQ(0, std::memcmp(want.data(), got.data(), p.count))
        << GetParam() << " count " << p.count << " channels " << p.channels << " m/e " << requant[0].m << "/"
        << requant[0].e << " zx " << p.src_zero_point << " zy " << p.dst_zero_point << " threads " << threads;
  }

  const Variant* variant_ = nullptr;
  int compared_ = 0;
};

TEST_P(RequantizeVector, ExtremeConstantsEveryTypeAndClamp) {
  std::mt19937 rng(5);
  const int32_t multipliers[] = {INT32_MIN, INT32_MAX, 1 << 30, -(1 << 30), 3, -3, 0, 1, 1518500250};
  const int32_t shifts[] = {-40, -31, -1, 0, 1, 2, 16, 31, 32, 33, 45, 62, 63, 64, 100};
  const IntType inputs[] = {IntType::kS32, IntType::kS8, IntType::kU8, IntType::kS16, IntType::kS64};
  int index = 0;
  for (int32_t m : multipliers) {
    for (int32_t e : shifts) {
      RequantizeParams p;
      p.src_type = inputs[index % 5];
      p.dst_type = index % 2 ? IntType::kU8 : IntType::kS8;
      p.count = 8 * 5 + static_cast<size_t>(index % 9);  // tails of 0..8
      p.channels = 1;
      p.src_zero_point = p.src_type == IntType::kS32 || p.src_type == IntType::kS64 ? 0 : (index % 3 ? lowest(p.src_type) : highest(p.src_type));
      const int64_t dmin = lowest(p.dst_type), dmax = highest(p.dst_type);
      p.dst_zero_point = index % 5 == 0 ? dmin : index % 5 == 1 ? dmax : 7;
      p.dst_min = dmin + (index % 3);
      p.dst_max = dmax - (index % 4);
      expect_same(p, {Dyadic{m, e}}, 1, rng);
      ++index;
    }
  }
  EXPECT_GT(compared_, 100) << GetParam() << " refused most descs";
}

TEST_P(RequantizeVector, Int32MinAtARoundingTie) {
  // -2^31 * 3 / 2^32 = -1.5: rne gives -2; -(2^31 - 1) would give -1.
  RequantizeParams p;
  p.count = 16;
  p.dst_zero_point = 0;
  std::vector<int32_t> x(16, INT32_MIN);
  x[3] = INT32_MIN + 1;
  const std::vector<Dyadic> requant = {Dyadic{3, 32}};
  std::vector<int8_t> want(16), got(16);
  requantize__ref(p, requant.data(), x.data(), want.data());
  ASSERT_TRUE(variant_->run(p, requant.data(), x.data(), got.data(), nullptr));
  EXPECT_EQ(want[0], -2);
  EXPECT_EQ(want[3], -1);
  EXPECT_EQ(want, got);
}

TEST_P(RequantizeVector, PerChannelLargeCountsAndThreads) {
  std::mt19937 rng(9);
  for (size_t channels : {8, 24, 768}) {
    std::vector<Dyadic> requant(channels);
    for (size_t c = 0; c < channels; ++c)
      requant[c] = Dyadic{static_cast<int32_t>(rng()), static_cast<int32_t>(rng() % 70) - 3};
    for (int threads = 1; threads <= 4; ++threads) {
      RequantizeParams p;
      p.channels = channels;
      p.count = channels * (1 + 40000 / channels);  // several task chunks
      p.dst_zero_point = -5;
      p.dst_min = -128;
      p.dst_max = 127;
      expect_same(p, requant, threads, rng);
    }
  }
}

TEST(RequantizeAvx2Plan, RefusesOnlyNonByteOutputs) {
#if !defined(__x86_64__)
  GTEST_SKIP() << "the AVX2 requantize is built on x86-64 only";
#endif
  // Inputs the int32 path cannot take (a zero point on int32 or int64, channel
  // counts that are not multiples of 8) go to the 64-bit-lane path
  // (requantize_wide_test.cc); only outputs wider than a byte are refused.
  const std::vector<Dyadic> one = {Dyadic{1, 1}};
  RequantizeParams p;
  p.count = 8;
  EXPECT_NE(requantize_avx2_plan(p, one.data()), nullptr);
  p.src_zero_point = 1;
  EXPECT_NE(requantize_avx2_plan(p, one.data()), nullptr);
  p.src_zero_point = 0;
  p.dst_type = IntType::kS16;
  p.dst_min = INT16_MIN;
  p.dst_max = INT16_MAX;
  EXPECT_EQ(requantize_avx2_plan(p, one.data()), nullptr);
  p.dst_type = IntType::kS8;
  p.dst_min = -128;
  p.dst_max = 127;
  p.src_type = IntType::kS64;
  p.src_zero_point = -1;
  EXPECT_NE(requantize_avx2_plan(p, one.data()), nullptr);
  p.src_zero_point = 0;
  p.src_type = IntType::kS32;
  p.channels = 4;
  const std::vector<Dyadic> four(4, Dyadic{1, 1});
  EXPECT_NE(requantize_avx2_plan(p, four.data()), nullptr);
}

#if defined(__aarch64__)
TEST(RequantizeNeonPlan, RefusesOnlyNonByteOutputs) {
  // As the AVX2 plan: inputs the int32 path cannot take (a zero point on
  // int32 or int64, channel counts that are not multiples of 8) go to the
  // 64-bit-lane path (requantize_wide_test.cc).
  const std::vector<Dyadic> one = {Dyadic{1, 1}};
  RequantizeParams p;
  p.count = 8;
  EXPECT_NE(requantize_neon_plan(p, one.data()), nullptr);
  p.src_zero_point = 1;  // int32 with a zero point
  EXPECT_NE(requantize_neon_plan(p, one.data()), nullptr);
  p.src_type = IntType::kS64;
  p.src_zero_point = -1;
  EXPECT_NE(requantize_neon_plan(p, one.data()), nullptr);
  p.src_type = IntType::kS32;
  p.src_zero_point = 0;
  p.channels = 4;
  const std::vector<Dyadic> four(4, Dyadic{1, 1});
  EXPECT_NE(requantize_neon_plan(p, four.data()), nullptr);
  p.dst_type = IntType::kS16;
  p.dst_min = INT16_MIN;
  p.dst_max = INT16_MAX;
  EXPECT_EQ(requantize_neon_plan(p, four.data()), nullptr);
}
#endif

INSTANTIATE_TEST_SUITE_P(Variants, RequantizeVector, ::testing::ValuesIn(variant_names()),
                         [](const ::testing::TestParamInfo<std::string>& param_info) { return param_info.param; });
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(RequantizeVector);

}  // namespace
}  // namespace dyad::kernels
