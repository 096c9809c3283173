// The vector integer LayerNorms (int_layernorm__avx512vnni; on 64-bit ARM
// int_layernorm__neon) against the reference, bit for bit: every input dtype
// and zero point, row lengths around the vector widths, shifts 0..62, rows
// that take the vector path and rows that must fall back (values beyond 2^31
// of the mean, variance beyond 2^64, factor 2^31, constant rows, biases
// beyond 2^62 that saturate), the simulator's goldens, 1 to 4 threads; and
// the fused LayerNorm + requantize of each. A variant the CPU cannot run is
// skipped with the reason.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "kernels/common/cpu.h"
#include "kernels/common/thread_pool.h"
#include "kernels/int_layernorm/int_layernorm.h"
#include "kernels/int_layernorm/int_layernorm_requantize.h"
#include "tests/kernels/ibert_goldens.h"

namespace dyad::kernels {
namespace {

// The variants: "avx512vnni" (the LayerNorm needs AVX-512 F/BW only, the
// fused one also DQ) and, where it is built, "neon".
std::vector<std::string> layernorm_variants() {
#if defined(__aarch64__)
  return {"avx512vnni", "neon"};
#else
  return {"avx512vnni"};
#endif
}

class IntLayerNormVec : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "avx512vnni" && !kernel_isa_present(KernelIsa::kAvx512Vnni))
      GTEST_SKIP() << "this CPU lacks avx512vnni (AVX-512 F/BW/VL); the AVX-512 int_layernorm cannot run here";
    if (GetParam() == "neon" && !kernel_isa_present(KernelIsa::kNeon))
      GTEST_SKIP() << "this CPU lacks Advanced SIMD (NEON); the neon int_layernorm cannot run here";
  }
};

void run_variant(const std::string& isa, const IntLayerNormParams& p, const void* x, int64_t* out,
                 ThreadPool* pool) {
  if (isa == "avx512vnni") int_layernorm__avx512vnni(p, x, out, pool);
#if defined(__aarch64__)
  if (isa == "neon") int_layernorm__neon(p, x, out, pool);
#endif
}

// Runs the variant and the reference on x (bytes of p.x_type) at 1 to 4
// threads; they must agree.
void expect_same(const std::string& isa, IntLayerNormParams p, const std::vector<uint8_t>& x,
                 const std::vector<int64_t>& bias, const std::string& what) {
  p.bias_int = bias.data();
  ASSERT_TRUE(int_layernorm_params_valid(p)) << what;
  const size_t count = size_t(p.rows * p.channels);
  std::vector<int64_t> want(count, 0x5a5a), got(count, 0x3c3c);
  int_layernorm__ref(p, x.data(), want.data(), nullptr);
  for (int threads = 1; threads <= 4; ++threads) {
    std::unique_ptr<ThreadPool> pool;
    if (threads > 1) pool = std::make_unique<ThreadPool>(threads);
    std::fill(got.begin(), got.end(), 0x3c3c);
    run_variant(isa, p, x.data(), got.data(), pool.get());
    ASSERT_EQ(want, got) << isa << " " << what << " threads " << threads;
  }
}

// One row of n values of type t: kind 0 random over the dtype, 1 a narrow
// band around a random centre, 2 constant, 3 two values one apart, 4 the
// dtype's extremes alternating.
std::vector<int64_t> row_values(IntType t, int64_t n, int kind, std::mt19937& rng) {
  const int64_t lo = int_type_min(t), hi = int_type_max(t);
  std::uniform_int_distribution<int64_t> any(lo, hi);
  std::vector<int64_t> v(static_cast<size_t>(n));
  const int64_t centre = any(rng);
  for (int64_t c = 0; c < n; ++c) {
    int64_t x = 0;
    switch (kind) {
      case 0: x = any(rng); break;
      case 1: x = std::clamp<int64_t>(centre + int64_t(rng() % 201) - 100, lo, hi); break;
      case 2: x = centre; break;
      case 3: x = c % 3 == 0 ? centre : (centre < hi ? centre + 1 : centre - 1); break;
      default: x = c % 2 ? lo : hi; break;
    }
    v[size_t(c)] = x;
  }
  return v;
}

// p.rows rows of p.channels values of p.x_type, cycling through the kinds of
// row_values, as bytes (8 spare at the end).
std::vector<uint8_t> rows_of_every_kind(const IntLayerNormParams& p, std::mt19937& rng) {
  std::vector<int64_t> values;
  for (int64_t r = 0; r < p.rows; ++r) {
    const auto row = row_values(p.x_type, p.channels, int(r % 5), rng);
    values.insert(values.end(), row.begin(), row.end());
  }
  std::vector<uint8_t> x(values.size() * int_type_bytes(p.x_type) + 8);
  store_ints(values.data(), values.size(), p.x_type, x.data(), 0);
  return x;
}

TEST_P(IntLayerNormVec, RandomRowsEveryTypeShiftAndLength) {
  std::mt19937 rng(21);
  const IntType types[] = {IntType::kS8, IntType::kU8, IntType::kS16, IntType::kS32};
  for (IntType t : types) {
    for (int64_t n : {1, 2, 7, 8, 9, 15, 16, 17, 33, 768}) {
      for (int shift : {0, 1, 5, 17, 31, 62}) {
        IntLayerNormParams p;
        p.x_type = t;
        p.channels = n;
        p.shift = shift;
        p.rows = 10;
        p.zero_point = t == IntType::kS32 ? 0 : int_type_min(t) + int64_t(rng() % 256);
        const std::vector<uint8_t> x = rows_of_every_kind(p, rng);
        std::vector<int64_t> bias(static_cast<size_t>(n));
        for (auto& b : bias) b = int64_t(rng() % 2000001) - 1000000;
        const std::string what = "type " + std::to_string(int(t)) + " n " + std::to_string(n) + " shift " +
                                 std::to_string(shift);
        expect_same(GetParam(), p, x, bias, what);
        // Biases at and beyond 2^62: the reference saturates; the variant
        // must fall back for them.
        for (size_t c = 0; c < bias.size(); ++c) bias[c] = c % 2 ? INT64_MAX : -(int64_t{1} << 62);
        expect_same(GetParam(), p, x, bias, what + " big bias");
      }
    }
  }
}

// The fused LayerNorm + requantize (int_layernorm_requantize__avx512, which
// needs AVX-512 DQ as well; int_layernorm_requantize__neon) against
// int_layernorm__ref then requantize__ref: vector-path and fall-back rows,
// per-tensor and per-channel requant with I-BERT-like and random
// multipliers, int8/uint8 outputs, 1-4 threads.
TEST_P(IntLayerNormVec, FusedRequantizeMatchesLayerNormThenRequantize) {
  if (GetParam() == "avx512vnni" && !avx512_elementwise_present())
    GTEST_SKIP() << "this CPU lacks AVX-512 DQ; the fused int_layernorm_requantize cannot run here";
  std::mt19937 rng(33);
  int index = 0;
  for (IntType t : {IntType::kS32, IntType::kS8, IntType::kS16}) {
    for (int64_t n : {1, 9, 17, 33, 768}) {
      for (bool per_channel : {false, true}) {
        IntLayerNormParams p;
        p.x_type = t;
        p.channels = n;
        p.shift = int(rng() % 20);
        p.rows = 13;
        p.zero_point = t == IntType::kS32 ? 0 : int_type_min(t) + int64_t(rng() % 256);
        const std::vector<uint8_t> x = rows_of_every_kind(p, rng);
        std::vector<int64_t> bias(static_cast<size_t>(n));
        for (auto& b : bias) b = int64_t(rng() % 2000001) - 1000000;
        if (index % 4 == 3) bias[0] = INT64_MAX;  // a row that must fall back
        p.bias_int = bias.data();

        RequantizeParams r;
        r.count = size_t(p.rows * n);
        r.channels = per_channel ? size_t(n) : 1;
        r.src_type = IntType::kS64;
        r.dst_type = index % 2 ? IntType::kS8 : IntType::kU8;
        r.dst_zero_point = r.dst_type == IntType::kS8 ? int64_t(rng() % 11) - 5 : int64_t(rng() % 30);
        r.dst_min = r.dst_type == IntType::kS8 ? -128 : 0;
        r.dst_max = r.dst_type == IntType::kS8 ? 127 : 255;
        std::vector<Dyadic> requant;
        for (size_t c = 0; c < r.channels; ++c)
          requant.push_back({static_cast<int32_t>(rng()), 20 + int(rng() % 40)});
        RequantizeWidePlan plan;
        ASSERT_TRUE(requantize_wide_plan(r, requant.data(), &plan));

        std::vector<int64_t> ln(r.count);
        int_layernorm__ref(p, x.data(), ln.data(), nullptr);
        std::vector<uint8_t> want(r.count, 0x5a);
        requantize__ref(r, requant.data(), ln.data(), want.data());
        ThreadPool pool(1 + index % 4);
        ThreadPool* tp = index % 4 ? &pool : nullptr;
        std::vector<uint8_t> got(r.count + 1, 0x3c);
        if (GetParam() == "avx512vnni") int_layernorm_requantize__avx512(p, r, plan, x.data(), got.data(), tp);
#if defined(__aarch64__)
        if (GetParam() == "neon") int_layernorm_requantize__neon(p, r, plan, x.data(), got.data(), tp);
#endif
        EXPECT_EQ(got[r.count], 0x3c) << "wrote past the end";
        got.pop_back();
        ASSERT_EQ(want, got) << "type " << int(t) << " n " << n << " per_channel " << per_channel;
        ++index;
      }
    }
  }
}

TEST_P(IntLayerNormVec, SimulatorGoldens) {
  for (const auto& tc : test::load_ibert_goldens("int_layernorm")) {
    const auto bias = test::json_ints<int64_t>(tc.at("bias_int"));
    const auto values = test::json_ints<int64_t>(tc.at("x"));
    IntLayerNormParams p;
    p.x_type = IntType::kS32;
    p.channels = tc.at("channels").get<int64_t>();
    p.rows = static_cast<int64_t>(values.size()) / p.channels;
    p.shift = tc.at("shift").get<int>();
    std::vector<uint8_t> x(values.size() * 4);
    store_ints(values.data(), values.size(), IntType::kS32, x.data(), 0);
    expect_same(GetParam(), p, x, bias, tc.at("name").get<std::string>());
  }
}

INSTANTIATE_TEST_SUITE_P(Variants, IntLayerNormVec, ::testing::ValuesIn(layernorm_variants()),
                         [](const ::testing::TestParamInfo<std::string>& param) { return param.param; });

}  // namespace
}  // namespace dyad::kernels
