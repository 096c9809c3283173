// The vector matmuls (AVX2, AVX-512 VNNI; SDOT/SMLAL on ARM) against the reference, bit for bit:
// every dtype combination, both B layouts, sizes around the 4-row tile, the
// 16-column panel, the 64-column register tile and K not a multiple of the
// k group, extreme values and zero points, raw and requantized outputs
// (extreme multipliers, shifts and zero points), 1-4 threads; and the bound
// that selects them. A variant whose ISA the CPU lacks is skipped, naming it.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "kernels/common/cpu.h"
#include "kernels/common/thread_pool.h"
#include "kernels/matmul/matmul.h"

namespace dyad::kernels {
namespace {

struct Range {
  int64_t lo, hi;
};

Range range_of(IntType t) { return {int_type_min(t), int_type_max(t)}; }

// Random values of type t in bytes; a third of them at the ends of the range.
std::vector<uint8_t> random_values(IntType t, size_t count, std::mt19937& rng) {
  const Range r = range_of(t);
  std::vector<uint8_t> bytes(count * int_type_bytes(t) + 1);
  std::vector<int64_t> values(count);
  for (int64_t& v : values) {
    const int pick = static_cast<int>(rng() % 6);
    v = pick == 0 ? r.lo : pick == 1 ? r.hi : std::uniform_int_distribution<int64_t>(r.lo, r.hi)(rng);
  }
  store_ints(values.data(), count, t, bytes.data(), 0);
  return bytes;
}

// One vector variant: its ISA, its entry points.
struct Variant {
  const char* name;
  KernelIsa isa;
  bool (*applies)(const MatmulParams&);
  size_t (*scratch_bytes)(const MatmulParams&);
  void (*run)(const MatmulParams&, const void*, const void*, void*, ThreadPool*, uint8_t*, size_t);
};

const Variant kVariants[] = {
    {"avx512vnni", KernelIsa::kAvx512Vnni, matmul_avx512vnni_applies, matmul_avx512vnni_scratch_bytes,
     matmul__avx512vnni},
    {"avx2", KernelIsa::kAvx2, matmul_avx2_applies, matmul_avx2_scratch_bytes, matmul__avx2},
#if defined(__aarch64__)
    {"dotprod", KernelIsa::kDotprod, matmul_dotprod_applies, matmul_dotprod_scratch_bytes, matmul__dotprod},
#endif
};

void PrintTo(const Variant& v, std::ostream* os) { *os << v.name; }

void expect_same(const Variant& v, const MatmulParams& p, int threads, std::mt19937& rng) {
  ASSERT_TRUE(v.applies(p));
  const auto a = random_values(p.a_type, size_t(p.batch * p.m * p.k), rng);
  const auto b = random_values(p.b_type, size_t(p.batch * p.k * p.n), rng);
  const size_t y_bytes = size_t(p.batch * p.m * p.n) * int_type_bytes(p.y_type);
  std::vector<uint8_t> want(y_bytes, 0xa5), got(y_bytes, 0x5a);
  std::unique_ptr<ThreadPool> pool;
  if (threads > 1) pool = std::make_unique<ThreadPool>(threads);
  matmul__ref(p, a.data(), b.data(), want.data(), pool.get());
  const size_t stride = v.scratch_bytes(p);
  std::vector<uint8_t> scratch(stride * size_t(threads) + 64);
  uint8_t* aligned = reinterpret_cast<uint8_t*>((reinterpret_cast<uintptr_t>(scratch.data()) + 63) & ~uintptr_t{63});
  v.run(p, a.data(), b.data(), got.data(), pool.get(), aligned, stride);
  ASSERT_EQ(0, std::memcmp(want.data(), got.data(), y_bytes))
      << v.name << ": batch " << p.batch << " m " << p.m << " k " << p.k << " n " << p.n << " bt " << p.transpose_b
      << " za " << p.a_zero_point << " zb " << p.b_zero_point << " requant " << p.requantize << " m/e "
      << p.multiplier << "/" << p.shift << " threads " << threads;
}

class MatmulSimdTest : public ::testing::TestWithParam<Variant> {
 protected:
  void SetUp() override {
    if (!kernel_isa_present(GetParam().isa))
      GTEST_SKIP() << "this CPU lacks " << kernel_isa_name(GetParam().isa) << "; the " << GetParam().name
                   << " matmul cannot run here";
  }
  void expect_same(const MatmulParams& p, int threads, std::mt19937& rng) {
    ::dyad::kernels::expect_same(GetParam(), p, threads, rng);
  }
};

TEST_P(MatmulSimdTest, EveryTypeLayoutAndShapeRaw) {
  std::mt19937 rng(7);
  const IntType a_types[] = {IntType::kS8, IntType::kU8, IntType::kS16};
  const IntType b_types[] = {IntType::kS8, IntType::kU8};
  for (IntType at : a_types) {
    for (IntType bt : b_types) {
      for (bool transpose : {false, true}) {
        for (int64_t m : {1, 3, 4, 5, 9}) {
          for (int64_t k : {1, 2, 7, 64, 65}) {
            for (int64_t n : {1, 15, 16, 17, 40, 64, 80, 130}) {
              MatmulParams p;
              p.a_type = at;
              p.b_type = bt;
              p.batch = 2;
              p.m = m;
              p.k = k;
              p.n = n;
              p.transpose_b = transpose;
              const Range ra = range_of(at), rb = range_of(bt);
              p.a_zero_point = static_cast<int32_t>((m + k) % 2 ? ra.lo : ra.hi);  // both ends
              p.b_zero_point = static_cast<int32_t>(n % 2 ? rb.hi : rb.lo);
              if (at == IntType::kS16) p.a_zero_point = 0;  // keeps K * 65535 * 255 in int32 at k = 64
              expect_same(p, 1, rng);
            }
          }
        }
      }
    }
  }
}

TEST_P(MatmulSimdTest, RequantizedOutputsWithExtremeMultipliersAndThreads) {
  std::mt19937 rng(11);
  const int32_t multipliers[] = {INT32_MIN, INT32_MAX, 1 << 30, -1, 0, 1, 1518500250, -77777};
  const int32_t shifts[] = {-40, 0, 1, 15, 31, 40, 62, 63, 200};
  const IntType outputs[] = {IntType::kS8, IntType::kU8, IntType::kS16, IntType::kS32};
  int case_index = 0;
  for (int32_t mult : multipliers) {
    for (int32_t shift : shifts) {
      MatmulParams p;
      p.a_type = case_index % 3 == 2 ? IntType::kS16 : case_index % 2 ? IntType::kU8 : IntType::kS8;
      p.b_type = case_index % 2 ? IntType::kS8 : IntType::kU8;
      p.y_type = outputs[case_index % 4];
      p.requantize = true;
      p.multiplier = mult;
      p.shift = shift;
      const Range ry = range_of(p.y_type);
      p.y_zero_point = static_cast<int32_t>(case_index % 5 == 0 ? ry.lo : 3);
      p.y_min = static_cast<int32_t>(ry.lo + (case_index % 3));
      p.y_max = static_cast<int32_t>(ry.hi - (case_index % 2));
      p.batch = 3;
      p.m = 6;
      p.k = 33;
      p.n = 19;
      p.transpose_b = case_index % 2 == 0;
      p.a_zero_point = p.a_type == IntType::kS16 ? 0 : 5;
      p.b_zero_point = -3;
      expect_same(p, 1 + case_index % 4, rng);
      ++case_index;
    }
  }
}

TEST_P(MatmulSimdTest, AttentionShapesAtEveryThreadCount) {
  std::mt19937 rng(3);
  for (int threads = 1; threads <= 4; ++threads) {
    for (int64_t seq : {37, 128}) {  // an odd length and BERT's 128
      MatmulParams scores;  // Q * K^T, raw int32 scores
      scores.batch = 4;
      scores.m = seq;
      scores.k = 64;
      scores.n = seq;
      scores.transpose_b = true;
      expect_same(scores, threads, rng);
      MatmulParams context;  // P (int16 in [0, 256]) * V, requantized to int8
      context.a_type = IntType::kS16;
      context.batch = 4;
      context.m = seq;
      context.k = seq;
      context.n = 64;
      context.requantize = true;
      context.y_type = IntType::kS8;
      context.multiplier = 1518500250;
      context.shift = 45;
      context.y_min = INT8_MIN;
      context.y_max = INT8_MAX;
      expect_same(context, threads, rng);
    }
  }
}

TEST_P(MatmulSimdTest, ExtremeZeroPointsWrapButStayExact) {
  // Zero points far outside the dtype: the corrections wrap mod 2^32, the
  // result is exact while K * max|a - z_a| * max|b - z_b| fits int32.
  std::mt19937 rng(5);
  MatmulParams p;
  p.a_type = IntType::kU8;
  p.b_type = IntType::kS8;
  p.batch = 2;
  p.m = 5;
  p.n = 33;
  p.k = 3;
  p.a_zero_point = -100000;
  p.b_zero_point = 1000;
  p.transpose_b = true;
  if (!GetParam().applies(p)) GTEST_SKIP() << GetParam().name << " keeps b - z_b in int16";
  expect_same(p, 2, rng);
  p.transpose_b = false;
  p.requantize = true;
  p.y_type = IntType::kS8;
  p.multiplier = 1 << 30;
  p.shift = 40;
  p.y_zero_point = -300;  // clamp bounds beyond the vector requant's 383: scalar output stage
  p.y_min = -128;
  p.y_max = 127;
  expect_same(p, 1, rng);
}

INSTANTIATE_TEST_SUITE_P(Variants, MatmulSimdTest, ::testing::ValuesIn(kVariants),
                         [](const ::testing::TestParamInfo<Variant>& param_info) { return std::string(param_info.param.name); });

TEST(MatmulAvx512VnniBound, NoInt16LimitOnTheZeroPointOfB) {
#if !defined(__x86_64__)
  GTEST_SKIP() << "the x86 matmul kernels (and their bounds) are built on x86-64 only";
#endif
  MatmulParams p;
  p.batch = p.m = p.n = 1;
  p.k = 4;
  p.b_zero_point = 40000;  // 4 * 128 * 40127 < 2^31
  EXPECT_TRUE(matmul_avx512vnni_applies(p));
  EXPECT_FALSE(matmul_avx2_applies(p));
  p.a_type = IntType::kS16;
  p.b_zero_point = 0;
  p.k = INT32_MAX / (32768 * 128);
  EXPECT_TRUE(matmul_avx512vnni_applies(p));
  p.k += 1;
  EXPECT_FALSE(matmul_avx512vnni_applies(p));
}

TEST(MatmulAvx2Bound, AppliesExactlyWhileTheAccumulatorFitsInt32) {
#if !defined(__x86_64__)
  GTEST_SKIP() << "the x86 matmul kernels (and their bounds) are built on x86-64 only";
#endif
  MatmulParams p;  // int16 a, z = 0: max|a| = 32768; int8 b, z = 0: max|b| = 128
  p.a_type = IntType::kS16;
  p.b_type = IntType::kS8;
  p.batch = p.m = p.n = 1;
  p.k = INT32_MAX / (32768 * 128);  // 511: 511 * 2^22 < 2^31
  EXPECT_TRUE(matmul_avx2_applies(p));
  p.k += 1;  // 512 * 2^22 = 2^31
  EXPECT_FALSE(matmul_avx2_applies(p));
  p.k = 4;
  p.b_zero_point = 40000;  // b - z_b no longer fits int16
  EXPECT_FALSE(matmul_avx2_applies(p));
}

#if defined(__aarch64__)
// The ARM variant stores b - o_b as a byte for any z_b (an int16 a as two
// byte planes), so only the int32 bound limits it.
TEST(MatmulDotprodBound, AppliesExactlyWhileTheAccumulatorFitsInt32) {
  MatmulParams p;
  p.batch = p.m = p.n = 1;
  p.k = 4;
  p.b_zero_point = 40000;  // 4 * 128 * 40127 < 2^31
  EXPECT_TRUE(matmul_dotprod_applies(p));
  p.a_type = IntType::kS16;
  p.k = 1;  // 32768 * 40127 < 2^31
  EXPECT_TRUE(matmul_dotprod_applies(p));
  p.k = 2;
  EXPECT_FALSE(matmul_dotprod_applies(p));
  p.b_zero_point = 0;
  p.k = INT32_MAX / (32768 * 128);
  EXPECT_TRUE(matmul_dotprod_applies(p));
  p.k += 1;
  EXPECT_FALSE(matmul_dotprod_applies(p));
}
#endif

}  // namespace
}  // namespace dyad::kernels
