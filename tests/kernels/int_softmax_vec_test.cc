// The vector int_softmax (AVX2, AVX-512 and NEON variants) against the reference,
// bit for bit: constants derived from real scales (well and badly calibrated
// acts) and at the edges of the vector plan's ranges (largest divisor, b_int
// at the int32 limit, z just below 2^32, E = 33 and 255, M = 0 and 2^63 - 1),
// scores over the whole int32 range and at every multiple of x0_int +- 1 (the
// division), masks of every element width (broadcast, random, fully masked
// rows), the 256 output, row lengths around the vector widths, 1 to 4
// threads. A variant the CPU cannot run is skipped with the ISA named.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "engine/ops/ibert_constants.h"
#include "kernels/common/cpu.h"
#include "tests/kernels/elementwise_variants.h"
#include "kernels/common/thread_pool.h"
#include "kernels/int_softmax/int_softmax.h"
#include "kernels/int_softmax/int_softmax_vec.h"

namespace dyad::kernels {
namespace {

IntSoftmaxParams from_scale(double scale, double act_factor) {
  // The act's range tracks the row maximum exp = c_int * 2^30 (numerics.md 5.3).
  const double c_int = std::floor(1.0 / (scale * scale) * 2.792114744077415);
  SoftmaxConstants k;
  std::string why;
  EXPECT_TRUE(derive_softmax_constants(scale, act_factor * c_int * 1073741824.0 / 32767.0, &k, &why)) << why;
  IntSoftmaxParams p;
  p.x0_int = k.x0_int;
  p.b_int = k.b_int;
  p.c_int = k.c_int;
  p.act_m = k.act_multiplier;
  p.act_e = static_cast<int32_t>(k.act_shift);
  return p;
}

// "what" + number, built in steps (GCC 12's -Wrestrict misfires on
// "literal" + std::to_string(...)).
template <typename N>
std::string label(const char* what, N number) {
  std::string s(what);
  s += std::to_string(number);
  return s;
}

class IntSoftmaxVec : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    const std::string missing = elementwise_variant_missing(GetParam());
    if (!missing.empty()) GTEST_SKIP() << missing << "; the " << GetParam() << " int_softmax is not tested";
  }

  // Both kernels on x; the plan must accept p.
  void expect_same(const IntSoftmaxParams& p, const std::vector<int32_t>& x, int threads, const std::string& what) {
    ASSERT_TRUE(int_softmax_params_valid(p)) << what;
    IntSoftmaxVecPlan plan;
    const char* why = "";
    ASSERT_TRUE(int_softmax_vec_plan(p, &plan, &why)) << what << ": " << why;
    std::vector<int16_t> want(x.size() + 1, 0x5a5a), got(x.size() + 1, 0x3c3c);
    std::unique_ptr<ThreadPool> pool;
    if (threads > 1) pool = std::make_unique<ThreadPool>(threads);
    int_softmax_s32__ref(p, x.data(), want.data(), pool.get());
    if (GetParam() == "avx2")
      int_softmax_s32__avx2(p, plan, x.data(), got.data(), pool.get());
    else if (GetParam() == "avx512")
      int_softmax_s32__avx512(p, plan, x.data(), got.data(), pool.get());
#if defined(__aarch64__)
    else if (GetParam() == "neon")
      int_softmax_s32__neon(p, plan, x.data(), got.data(), pool.get());
#endif
    for (size_t i = 0; i < x.size(); ++i)
      if (want[i] != got[i]) {
        const int64_t row = static_cast<int64_t>(i) / p.length;
        ADD_FAILURE() << GetParam() << " " << what << ": row " << row << " col " << static_cast<int64_t>(i) % p.length
                      << " x=" << x[i] << " want " << want[i] << " got " << got[i] << " (L " << p.length
                      << ", x0 " << p.x0_int << ", b " << p.b_int << ", c " << p.c_int << ", M " << p.act_m
                      << ", E " << p.act_e << ", threads " << threads << ")";
        return;
      }
    EXPECT_EQ(got[x.size()], 0x3c3c) << "wrote past the end";
  }
};

// Scores of one row: near its maximum at multiples of x0_int +- 1, spread
// over the clamp, and anywhere in int32.
std::vector<int32_t> random_scores(const IntSoftmaxParams& p, std::mt19937_64& rng) {
  std::vector<int32_t> x(static_cast<size_t>(p.rows * p.length));
  for (int64_t r = 0; r < p.rows; ++r) {
    const int pick_row = static_cast<int>(rng() % 4);
    const int64_t top = pick_row == 0 ? INT32_MAX : pick_row == 1 ? INT32_MIN + 31 * -p.x0_int / 2
                                                                  : static_cast<int32_t>(rng());
    for (int64_t j = 0; j < p.length; ++j) {
      int64_t v;
      switch (rng() % 5) {
        case 0: v = top - static_cast<int64_t>(rng() % 31) * -p.x0_int + static_cast<int64_t>(rng() % 3) - 1; break;
        case 1: v = top - static_cast<int64_t>(rng() % static_cast<uint64_t>(32 * -p.x0_int + 1)); break;
        case 2: v = rng() % 2 ? INT32_MIN : INT32_MAX; break;
        case 3: v = top; break;
        default: v = static_cast<int32_t>(rng()); break;
      }
      x[static_cast<size_t>(r * p.length + j)] = static_cast<int32_t>(v < INT32_MIN ? INT32_MIN : (v > INT32_MAX ? INT32_MAX : v));
    }
  }
  return x;
}

TEST_P(IntSoftmaxVec, RealScalesEveryLengthAndThreads) {
  std::mt19937_64 rng(1);
  for (double scale : {0.05, 0.01, 1e-3, 3e-4, 1e-4})
    for (double act : {1.0, 0.5, 2.0})
      for (int64_t length : {1, 2, 7, 8, 9, 15, 16, 17, 31, 33, 128, 129, 300})
        for (int threads : {1, 2, 3, 4}) {
          IntSoftmaxParams p = from_scale(scale, act);
          p.rows = 1 + static_cast<int64_t>(rng() % 40);
          p.length = length;
          const std::string what = label("scale ", scale);
          expect_same(p, random_scores(p, rng), threads, what);
        }
}

TEST_P(IntSoftmaxVec, ConstantsAtTheEdgesOfThePlan) {
  std::mt19937_64 rng(2);
  struct Case {
    int64_t x0, b, c, m;
    int32_t e;
  };
  const int64_t d_max = kIntSoftmaxVecMaxDivisor;
  const std::vector<Case> cases = {
      {-d_max, d_max - 1, 1000, (int64_t{1} << 62) + 12345, 33},  // largest divisor
      {-d_max, INT32_MAX - 0, 1000, INT64_MAX, 120},              // b at the int32 limit, z small
      {-1, 0, (int64_t{1} << 32) - 1, INT64_MAX, 33},             // z just below 2^32, huge products
      {-1, 0, (int64_t{1} << 32) - 1, INT64_MAX, 255},            // shifts far beyond 64
      {-70, 270, 27921, 0, 63},                                   // M = 0: every sum 0
      {-70, 270, 27921, int64_t{1} << 62, 63},                    // the reference's hand constants
      {-70, 270, -5000000, int64_t{1} << 62, 40},                 // z < 0 somewhere
      {-3, -5, 100, int64_t{1} << 40, 33},                        // tiny divisor, negative b
      {-694, 2707, 2792114, (int64_t{1} << 62) + 987654321, 72},  // S = 1e-3
      {-2, INT32_MIN + 2, int64_t{1} << 31, INT64_MAX, 64},  // r + b at INT32_MIN + 1, z up to 2^32 - 1
  };
  int index = 0;
  for (const Case& k : cases)
    for (int64_t length : {5, 16, 37, 128}) {
      IntSoftmaxParams p;
      p.x0_int = k.x0;
      p.b_int = k.b;
      p.c_int = k.c;
      p.act_m = k.m;
      p.act_e = k.e;
      p.rows = 9;
      p.length = length;
      expect_same(p, random_scores(p, rng), 1 + index % 2, label("edge case ", index / 4));
      ++index;
    }
}

TEST_P(IntSoftmaxVec, EveryE16AndTheDivisionAtEachMultiple) {
  // One row per (q, r): x = max - (q D + rem) for every q in [0, 31] and rem
  // in {0, 1, D - 1}, at several divisors; plus the output 256 (one e16 a
  // power of two, the rest 0: a row of one entry) and sum == 1.
  for (int64_t divisor : std::initializer_list<int64_t>{1, 2, 3, 7, 70, 694, 69315, 1 << 20, kIntSoftmaxVecMaxDivisor}) {
    IntSoftmaxParams p;
    p.x0_int = -divisor;
    p.b_int = 3 * divisor;
    p.c_int = 2 * divisor * (divisor > 30000 ? 1 : divisor) + 7;
    p.act_m = (int64_t{1} << 62) + 99;
    p.act_e = 60;
    std::vector<int32_t> x;
    for (int64_t q = 0; q <= 31; ++q)
      for (int64_t rem : {int64_t{0}, int64_t{1}, divisor - 1}) {
        const int64_t v = INT32_MAX - (q * divisor + rem);
        x.push_back(static_cast<int32_t>(v < INT32_MIN ? INT32_MIN : v));
      }
    x.push_back(INT32_MAX);
    while (x.size() % 40 != 0) x.push_back(INT32_MIN);
    p.length = 40;
    p.rows = static_cast<int64_t>(x.size()) / 40;
    expect_same(p, x, 1, label("divisor ", divisor));
  }
  IntSoftmaxParams one;
  one.x0_int = -70;
  one.b_int = 270;
  one.c_int = 16384;
  one.act_m = int64_t{1} << 62;
  one.act_e = 62;  // e16 = 16384 at the maximum, 0 at the clamp: y = 256
  one.rows = 3;
  for (int64_t length : {1, 16, 21}) {
    one.length = length;
    std::vector<int32_t> x(static_cast<size_t>(3 * length), -1000000);
    for (int64_t r = 0; r < 3; ++r) x[static_cast<size_t>(r * length + (r * 7) % length)] = 5;
    expect_same(one, x, 1, label("y = 256, length ", length));
  }
  one.c_int = 1;  // e16 = 1 at the maximum: sum == 1, factor 2^32
  one.length = 16;
  std::vector<int32_t> x(48, -1000000);
  x[3] = 0;
  x[20] = 7;
  x[47] = -999999;
  expect_same(one, x, 1, "sum == 1");
  one.act_e = 33;  // e16 = min(z 2^29, 32767): 32767 for every entry near the maximum
  one.c_int = 27921;
  expect_same(one, x, 2, "e16 clamped at 32767");
}

TEST_P(IntSoftmaxVec, MasksOfEveryWidthBroadcastAndFullyMasked) {
  std::mt19937_64 rng(4);
  for (size_t elem_bytes : {1, 2, 4, 8})
    for (int64_t length : {3, 16, 45, 128})
      for (int threads : {1, 2, 3, 4}) {
        IntSoftmaxParams p = from_scale(3e-4, 1.0);
        const int64_t batch = 2, heads = 3, queries = 5;
        p.rows = batch * heads * queries;
        p.length = length;
        // A padding mask [B, L] broadcast over heads and queries; batch 1 is
        // fully masked. Nonzero values use every byte position.
        std::vector<uint8_t> mask(static_cast<size_t>(batch * length) * elem_bytes, 0);
        for (int64_t j = 0; j < length; ++j) {
          if (rng() % 3 == 0) continue;
          mask[static_cast<size_t>(j) * elem_bytes + rng() % elem_bytes] = static_cast<uint8_t>(1 + rng() % 255);
        }
        p.mask.data = mask.data();
        p.mask.elem_bytes = elem_bytes;
        p.mask.rank = 3;
        p.mask.dims[0] = batch;
        p.mask.dims[1] = heads;
        p.mask.dims[2] = queries;
        p.mask.row_strides[0] = length;
        expect_same(p, random_scores(p, rng), threads, label("broadcast mask, bytes ", elem_bytes));
        // A full mask [rows, L] with random entries.
        std::vector<uint8_t> full(static_cast<size_t>(p.rows * length) * elem_bytes, 0);
        for (size_t i = 0; i < full.size(); ++i)
          if (rng() % (2 * elem_bytes) == 0) full[i] = static_cast<uint8_t>(rng());
        p.mask.data = full.data();
        p.mask.rank = 1;
        p.mask.dims[0] = p.rows;
        p.mask.row_strides[0] = length;
        expect_same(p, random_scores(p, rng), threads, label("full mask, bytes ", elem_bytes));
      }
}

TEST(IntSoftmaxVecPlan, RefusesOutsideItsRanges) {
  IntSoftmaxParams p;
  p.x0_int = -70;
  p.b_int = 270;
  p.c_int = 27921;
  p.act_m = int64_t{1} << 62;
  p.act_e = 63;
  p.rows = 1;
  p.length = 8;
  IntSoftmaxVecPlan plan;
  EXPECT_TRUE(int_softmax_vec_plan(p, &plan, nullptr));
  IntSoftmaxParams q = p;
  q.x0_int = -kIntSoftmaxVecMaxDivisor - 1;
  EXPECT_FALSE(int_softmax_vec_plan(q, &plan, nullptr));
  q = p;
  q.c_int = int64_t{1} << 32;  // z = c at r = 0
  EXPECT_FALSE(int_softmax_vec_plan(q, &plan, nullptr));
  q = p;
  q.act_e = 32;
  EXPECT_FALSE(int_softmax_vec_plan(q, &plan, nullptr));
  q = p;
  q.b_int = int64_t{INT32_MAX} + 1;
  EXPECT_FALSE(int_softmax_vec_plan(q, &plan, nullptr));
  q = p;
  q.length = kIntSoftmaxVecMaxLength + 1;
  EXPECT_FALSE(int_softmax_vec_plan(q, &plan, nullptr));
}

INSTANTIATE_TEST_SUITE_P(Variants, IntSoftmaxVec, ::testing::ValuesIn(elementwise_variants()),
                         [](const ::testing::TestParamInfo<std::string>& param) { return param.param; });

}  // namespace
}  // namespace dyad::kernels
