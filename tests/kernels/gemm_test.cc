// GEMM: the reference pinned by hand-computed goldens, then every variant of
// gemm.inc compared with the reference bit for bit over swept shapes (1 to
// beyond each tile in M, N and K, odd K for nibble tails), every activation
// and weight width, zero points at both ends, extreme values, saturating
// outputs, extreme multipliers and shifts, int32 outputs, strides, and thread
// counts 1..4.
#include "kernels/gemm/gemm.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "kernels/common/cpu.h"
#include "kernels/common/requant_block8.h"
#include "kernels/common/thread_pool.h"
#include "tests/kernels/inverting_rows_epilogue.h"
#include "tests/kernels/scoped_env.h"

namespace dyad::kernels {
namespace {

// ---- problem construction ---------------------------------------------------

struct Problem {
  GemmDesc desc;
  std::vector<int8_t> wei;
  std::vector<int32_t> bias;  // empty: no bias
  std::vector<Dyadic> requant;

  GemmWeights weights() const {
    return {wei.data(), bias.empty() ? nullptr : bias.data(),
            requant.empty() ? nullptr : requant.data()};
  }
};

// Activation formats: container and the range of values it holds.
struct SrcFormat {
  const char* name;
  bool is_signed;
  int32_t min, max;
};
constexpr SrcFormat kS8{"s8", true, -128, 127};
constexpr SrcFormat kU8{"u8", false, 0, 255};
constexpr SrcFormat kS4{"s4", true, -8, 7};
constexpr SrcFormat kU4{"u4", false, 0, 15};
constexpr SrcFormat kSrcFormats[] = {kS8, kU8, kS4, kU4};

size_t dst_elem_bytes(GemmDstType t) { return t == GemmDstType::kInt32 ? 4 : 1; }

int32_t uniform(std::mt19937& rng, int32_t lo, int32_t hi) {
  return std::uniform_int_distribution<int32_t>(lo, hi)(rng);
}

// A value in [lo, hi], at one end of the range one time in `edge_one_in`.
int32_t value(std::mt19937& rng, int32_t lo, int32_t hi, int edge_one_in = 8) {
  const int32_t pick = uniform(rng, 0, 2 * edge_one_in - 1);
  if (pick == 0) return lo;
  if (pick == 1) return hi;
  return uniform(rng, lo, hi);
}

int bit_length(uint64_t v) { return v == 0 ? 0 : 64 - __builtin_clzll(v); }

// A random problem. Requant shifts are set so typical accumulators land in
// the output range, with some columns at extreme (m, e).
Problem make_problem(std::mt19937& rng, int32_t N, int32_t K, const SrcFormat& src, int wbits,
                     GemmDstType dst, bool extreme_requant = false) {
  Problem p;
  GemmDesc& d = p.desc;
  d.N = N;
  d.K = K;
  d.src_signed = src.is_signed;
  d.src_min = src.min;
  d.src_max = src.max;
  const int32_t clo = src.is_signed ? -128 : 0, chi = src.is_signed ? 127 : 255;
  d.src_zp = uniform(rng, 0, 3) == 0 ? value(rng, clo, chi, 1) : value(rng, src.min, src.max);
  d.weight_bits = wbits;
  d.dst_type = dst;
  const int32_t wlo = wbits == 4 ? -8 : -128, whi = wbits == 4 ? 7 : 127;
  p.wei.resize(size_t(N) * K);
  for (int8_t& w : p.wei) w = static_cast<int8_t>(value(rng, wlo, whi));
  if (uniform(rng, 0, 3) != 0) {
    p.bias.resize(N);
    for (int32_t& b : p.bias) b = uniform(rng, -(1 << 20), 1 << 20);
  }
  if (dst != GemmDstType::kInt32) {
    const int32_t dlo = dst == GemmDstType::kInt8 ? -128 : 0;
    const int32_t dhi = dst == GemmDstType::kInt8 ? 127 : 255;
    d.dst_zp = value(rng, dlo, dhi, 2);
    d.qmin = value(rng, dlo, d.dst_zp, 2);
    d.qmax = value(rng, d.dst_zp, dhi, 2);
    const int64_t typical = int64_t(std::max(std::abs(src.max - src.min), 1)) *
                            (wbits == 4 ? 8 : 128) * (bit_length(K) + 1);
    const int e_base = 31 + bit_length(typical) - 7;
    p.requant.resize(N);
    for (Dyadic& r : p.requant) {
      r.m = uniform(rng, 1 << 30, INT32_MAX) * (uniform(rng, 0, 1) ? 1 : -1);
      r.e = e_base + uniform(rng, -2, 2);
      if (extreme_requant || uniform(rng, 0, 15) == 0) {
        static constexpr int32_t kMults[] = {INT32_MIN, INT32_MAX, -1, 0, 1, 3, 1 << 30,
                                             -(1 << 30), 12345, -98765};
        static constexpr int32_t kShifts[] = {-1000, -40, -31, -30, -5, -1, 0, 1, 2, 3,
                                              31, 40, 62, 63, 64, 65, 100, 1000};
        r.m = kMults[uniform(rng, 0, std::size(kMults) - 1)];
        r.e = kShifts[uniform(rng, 0, std::size(kShifts) - 1)];
      }
    }
  }
  return p;
}

std::vector<uint8_t> make_src(std::mt19937& rng, const GemmDesc& d, size_t M, size_t stride) {
  std::vector<uint8_t> src(M * stride);
  for (size_t m = 0; m < M; ++m)
    for (size_t k = 0; k < stride; ++k)
      src[m * stride + k] = static_cast<uint8_t>(
          k < size_t(d.K) ? value(rng, d.src_min, d.src_max) : uniform(rng, 0, 255));
  return src;
}

// Runs a plan; the destination is pre-filled with a sentinel so writes into
// the stride gap show up as differences.
std::vector<uint8_t> run(const GemmPlan& plan, const GemmDesc& d, const std::vector<uint8_t>& src,
                         size_t M, size_t src_stride, size_t dst_stride, int threads) {
  std::vector<uint8_t> dst(M * dst_stride * dst_elem_bytes(d.dst_type), 0xA5);
  std::unique_ptr<ThreadPool> pool;
  if (threads > 1) pool = std::make_unique<ThreadPool>(threads);
  EXPECT_TRUE(gemm_run(plan, src.data(), M, src_stride, dst.data(), dst_stride, pool.get()));
  return dst;
}

GemmPlanPtr plan_for(const Problem& p, std::string_view variant) {
  std::string error;
  GemmPlanPtr plan = gemm_plan_variant(p.desc, p.weights(), variant, &error);
  EXPECT_TRUE(plan != nullptr || !error.empty());
  return plan;
}

std::vector<uint8_t> reference(const Problem& p, const std::vector<uint8_t>& src, size_t M,
                               size_t src_stride, size_t dst_stride) {
  std::string error;
  GemmPlanPtr plan = gemm_plan_variant(p.desc, p.weights(), "gemm_x8_qc8w__ref", &error);
  EXPECT_NE(plan, nullptr) << error;
  if (!plan) return {};
  return run(*plan, p.desc, src, M, src_stride, dst_stride, 1);
}

// ---- reference goldens (computed by hand) -----------------------------------

std::vector<uint8_t> ref_run(const Problem& p, const std::vector<uint8_t>& src, size_t M) {
  return reference(p, src, M, p.desc.K, p.desc.N);
}

std::vector<int32_t> as_i32(const std::vector<uint8_t>& bytes) {
  std::vector<int32_t> out(bytes.size() / 4);
  std::memcpy(out.data(), bytes.data(), bytes.size());
  return out;
}

TEST(GemmReference, Int32AccumulatorGolden) {
  Problem p;
  p.desc = {.N = 2, .K = 3, .src_signed = true, .src_zp = 1, .weight_bits = 8,
            .dst_type = GemmDstType::kInt32};
  p.wei = {1, 2, 3, -1, 0, 4};
  p.bias = {5, -3};
  // src row 0 = [1, -2, 3] -> src - zp = [0, -3, 2]
  //   n0: 0*1 - 3*2 + 2*3 + 5 = 5;   n1: 0 - 0 + 2*4 - 3 = 5
  // src row 1 = [-128, 127, 0] -> [-129, 126, -1]
  //   n0: -129 + 252 - 3 + 5 = 125;  n1: 129 + 0 - 4 - 3 = 122
  const std::vector<uint8_t> src = {1, static_cast<uint8_t>(-2), 3, 0x80, 127, 0};
  EXPECT_EQ(as_i32(ref_run(p, src, 2)), (std::vector<int32_t>{5, 5, 125, 122}));
}

TEST(GemmReference, RequantGoldenTiesToEven) {
  // acc = w * (src - zp) with K = 1; m = 2^30, e = 31 halves the acc, rounding
  // ties to even; dst = clamp(zp + y, qmin, qmax).
  Problem p;
  p.desc = {.N = 5, .K = 1, .src_signed = false, .src_zp = 0, .src_min = 0, .src_max = 255,
            .weight_bits = 8, .dst_type = GemmDstType::kInt8, .dst_zp = 10, .qmin = -20,
            .qmax = 100};
  p.wei = {5, 7, -5, -7, 127};
  p.requant.assign(5, Dyadic{1 << 30, 31});
  const std::vector<uint8_t> src = {1, 255};
  // row 0: acc = 5, 7, -5, -7, 127 -> 2.5->2, 3.5->4, -2.5->-2, -3.5->-4, 63.5->64
  //   + 10 = 12, 14, 8, 6, 74
  // row 1: acc = 1275, 1785, -1275, -1785, 32385 -> 637.5->638, 892.5->892,
  //   -637.5->-638, -892.5->-892, 16192.5->16192; + 10, clamp [-20, 100]
  EXPECT_EQ(ref_run(p, src, 2),
            (std::vector<uint8_t>{12, 14, 8, 6, 74, 100, 100, static_cast<uint8_t>(-20),
                                  static_cast<uint8_t>(-20), 100}));
}

TEST(GemmReference, ShiftEdgesGolden) {
  // acc = 3 in every column (src 3, weight 1, zp 0), uint8 output, zp 100.
  Problem p;
  p.desc = {.N = 6, .K = 1, .src_signed = true, .src_zp = 0, .weight_bits = 4,
            .dst_type = GemmDstType::kUint8, .dst_zp = 100, .qmin = 0, .qmax = 255};
  p.wei.assign(6, 1);
  p.requant = {
      {5, 0},           // 3 * 5 = 15                    -> 115
      {-5, -2},         // 3 * -5 * 4 = -60              -> 40
      {1 << 30, -1},    // 3 * 2^31: saturates high      -> 255
      {INT32_MIN, 64},  // e >= 64: 0                    -> 100
      {INT32_MIN, 33},  // 3 * -2^31 / 2^33 = -0.75 -> -1 -> 99
      {3, 2},           // 9 / 4 = 2.25 -> 2             -> 102
  };
  EXPECT_EQ(ref_run(p, {3}, 1), (std::vector<uint8_t>{115, 40, 255, 100, 99, 102}));
}

TEST(GemmReference, Int4ActivationsAndWeightsGolden) {
  // uint4 activations (0..15) with zp 8, int4 weights, K = 3, no bias.
  Problem p;
  p.desc = {.N = 2, .K = 3, .src_signed = false, .src_zp = 8, .src_min = 0, .src_max = 15,
            .weight_bits = 4, .dst_type = GemmDstType::kInt32};
  p.wei = {-8, 7, 1, 7, 7, -8};
  // src [15, 0, 9] - 8 = [7, -8, 1]: n0 = -56 - 56 + 1 = -111; n1 = 49 - 56 - 8 = -15
  EXPECT_EQ(as_i32(ref_run(p, {15, 0, 9}, 1)), (std::vector<int32_t>{-111, -15}));
}

TEST(GemmReference, Int32OutputSaturatesBeyondInt32) {
  // K = 2^17 terms of 255 * -128 = -4278190080 < INT32_MIN: saturates.
  Problem p;
  const int32_t K = 1 << 17;
  p.desc = {.N = 1, .K = K, .src_signed = false, .src_zp = 0, .src_min = 0, .src_max = 255,
            .weight_bits = 8, .dst_type = GemmDstType::kInt32};
  p.wei.assign(K, -128);
  std::vector<uint8_t> src(K, 255);
  EXPECT_EQ(as_i32(ref_run(p, src, 1)), (std::vector<int32_t>{INT32_MIN}));
}

// ---- variants vs reference --------------------------------------------------

std::vector<std::string> variant_names() {
  return {
#define DYAD_GEMM_VARIANT(name, isa, family, wbits, min_chunk, mr, nr) #name,
#include "kernels/gemm/gemm.inc"
#undef DYAD_GEMM_VARIANT
  };
}

class GemmVariantTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    for (const GemmVariantInfo& v : gemm_variants()) {
      if (GetParam() == v.name && !v.cpu_supported)
        GTEST_SKIP() << "this CPU lacks " << v.isa << ", needed by " << v.name;
    }
  }

  // Compares the variant with the reference on one problem; returns false
  // when the variant refuses the desc.
  bool check(const Problem& p, size_t M, size_t src_pad = 0, size_t dst_pad = 0,
             std::initializer_list<int> thread_counts = {1}, std::mt19937* rng_in = nullptr) {
    GemmPlanPtr plan = plan_for(p, GetParam());
    if (!plan) return false;
    std::mt19937 local(1234);
    std::mt19937& rng = rng_in ? *rng_in : local;
    const size_t src_stride = p.desc.K + src_pad, dst_stride = p.desc.N + dst_pad;
    const std::vector<uint8_t> src = make_src(rng, p.desc, M, src_stride);
    const std::vector<uint8_t> want = reference(p, src, M, src_stride, dst_stride);
    for (int threads : thread_counts) {
      const std::vector<uint8_t> got = run(*plan, p.desc, src, M, src_stride, dst_stride, threads);
      EXPECT_EQ(got, want) << GetParam() << " M=" << M << " N=" << p.desc.N << " K=" << p.desc.K
                           << " threads=" << threads << " src[" << p.desc.src_min << ","
                           << p.desc.src_max << "] zp=" << p.desc.src_zp
                           << " w" << p.desc.weight_bits;
      if (got != want) return true;
    }
    return true;
  }
};

TEST_P(GemmVariantTest, ShapeSweep) {
  std::mt19937 rng(42);
  const size_t Ms[] = {1, 2, 3, 4, 5, 7, 8, 9, 13};
  const int32_t Ns[] = {1, 7, 8, 9, 23, 24, 25, 47, 48, 49};
  const int32_t Ks[] = {1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 129, 300};
  int accepted = 0;
  for (const SrcFormat& f : kSrcFormats) {
    for (int wbits : {4, 8}) {
      for (int32_t K : Ks) {
        for (int32_t N : Ns) {
          const size_t M = Ms[(K + N) % std::size(Ms)];
          const Problem p = make_problem(rng, N, K, f, wbits, GemmDstType::kInt8);
          accepted += check(p, M, 0, 0, {1}, &rng);
        }
        // Every M once per K.
        for (size_t M : Ms) {
          const Problem p = make_problem(rng, 25, K, f, wbits, GemmDstType::kUint8);
          accepted += check(p, M, 0, 0, {1}, &rng);
        }
      }
    }
  }
  EXPECT_GT(accepted, 0) << GetParam() << " accepted no desc";
}

// Every row count of a register tile and of its tail (up to two 12-row
// tiles and a partial one) against every K residue mod 16 around the
// activation packing's 16-k blocks.
TEST_P(GemmVariantTest, RowTileTailsAndKTails) {
  std::mt19937 rng(11);
  for (const SrcFormat& f : {kU8, kS8}) {
    for (int wbits : {4, 8}) {
      for (int32_t K = 1; K <= 48; K += (K < 33 ? 1 : 5)) {
        const Problem p = make_problem(rng, 9, K, f, wbits, GemmDstType::kInt32);
        for (size_t M = 1; M <= 27; ++M) check(p, M, M % 3, 0, {1}, &rng);
      }
    }
  }
}

TEST_P(GemmVariantTest, DstTypesAndExtremeRequant) {
  std::mt19937 rng(7);
  for (const SrcFormat& f : kSrcFormats) {
    for (int wbits : {4, 8}) {
      for (GemmDstType dst : {GemmDstType::kInt8, GemmDstType::kUint8, GemmDstType::kInt32}) {
        for (int32_t K : {1, 37, 200}) {
          const Problem p = make_problem(rng, 53, K, f, wbits, dst, /*extreme_requant=*/true);
          check(p, 6, 0, 0, {1}, &rng);
        }
      }
    }
  }
}

TEST_P(GemmVariantTest, ZeroPointsAtBothEnds) {
  std::mt19937 rng(11);
  for (const SrcFormat& f : kSrcFormats) {
    const int32_t zps[] = {f.is_signed ? -128 : 0, f.is_signed ? 127 : 255, 0, f.min, f.max};
    for (int32_t zp : zps) {
      for (int wbits : {4, 8}) {
        Problem p = make_problem(rng, 30, 77, f, wbits, GemmDstType::kInt8);
        p.desc.src_zp = zp;
        check(p, 5, 0, 0, {1}, &rng);
        p.desc.dst_type = GemmDstType::kInt32;
        check(p, 5, 0, 0, {1}, &rng);
      }
    }
  }
}

// All activations and weights at their extremes, the longest K the int32
// proof allows for the fast variants, outputs saturating both ways.
TEST_P(GemmVariantTest, ExtremeValuesAndSaturation) {
  for (const SrcFormat& f : kSrcFormats) {
    for (int wbits : {4, 8}) {
      const int32_t wlo = wbits == 4 ? -8 : -128, whi = wbits == 4 ? 7 : 127;
      for (int32_t K : {8, 1000, 16384}) {
        for (int32_t zp : {f.min, f.max}) {
          Problem p;
          p.desc = {.N = 26, .K = K, .src_signed = f.is_signed, .src_zp = zp, .src_min = f.min,
                    .src_max = f.max, .weight_bits = wbits, .dst_type = GemmDstType::kInt8,
                    .dst_zp = -3, .qmin = -128, .qmax = 127};
          p.wei.resize(size_t(26) * K);
          for (size_t i = 0; i < p.wei.size(); ++i) {
            const size_t n = i / K;  // column patterns: all low, all high, alternating
            p.wei[i] = static_cast<int8_t>(n % 3 == 0 ? wlo : n % 3 == 1 ? whi : (i % 2 ? wlo : whi));
          }
          p.requant.assign(26, Dyadic{1 << 30, 20});
          // Rows: all min, all max, alternating; 15 rows put each pattern
          // in every row position of a 12-row register tile and its tail.
          const size_t M = 15;
          std::vector<uint8_t> src(M * K);
          for (size_t m = 0; m < M; ++m) {
            for (int32_t k = 0; k < K; ++k) {
              const int32_t v = m % 3 == 0 ? f.min : m % 3 == 1 ? f.max : (k % 2 ? f.min : f.max);
              src[m * K + k] = static_cast<uint8_t>(v);
            }
          }
          GemmPlanPtr plan = plan_for(p, GetParam());
          if (!plan) continue;
          const std::vector<uint8_t> want = reference(p, src, M, K, 26);
          EXPECT_EQ(run(*plan, p.desc, src, M, K, 26, 1), want) << GetParam() << " K=" << K;
          p.desc.dst_type = GemmDstType::kInt32;
          GemmPlanPtr plan32 = plan_for(p, GetParam());
          ASSERT_NE(plan32, nullptr);
          EXPECT_EQ(run(*plan32, p.desc, src, M, K, 26, 1), reference(p, src, M, K, 26))
              << GetParam() << " int32 K=" << K;
        }
      }
    }
  }
}

// Accumulators near +-2^31 with shifts around 62..64, where |acc * m| comes
// close to 2^62 and the e >= 63 shortcut and the rounding carry matter.
TEST_P(GemmVariantTest, HugeAccumulatorsWithExtremeShifts) {
  const int32_t K = 65793;  // the longest K with |acc| provably < 2^31 here
  static constexpr int32_t kShifts[] = {29, 31, 32, 33, 60, 61, 62, 63, 64, 65, 100, 0, -3};
  static constexpr int32_t kMults[] = {INT32_MIN, INT32_MAX, -(1 << 30), 1 << 30};
  for (int wbits : {4, 8}) {
    Problem p;
    const int32_t N = std::size(kShifts) * std::size(kMults);
    p.desc = {.N = N, .K = K, .src_signed = false, .src_zp = 0, .src_min = 0, .src_max = 255,
              .weight_bits = wbits, .dst_type = GemmDstType::kInt8, .dst_zp = 1, .qmin = -128,
              .qmax = 127};
    p.wei.resize(size_t(N) * K);
    for (int32_t n = 0; n < N; ++n)
      for (int32_t k = 0; k < K; ++k)
        p.wei[size_t(n) * K + k] = static_cast<int8_t>(
            n % 2 ? (wbits == 4 ? -8 : -128) : (wbits == 4 ? 7 : 127) - (k % 97 == 0));
    for (int32_t n = 0; n < N; ++n) {
      p.requant.push_back({kMults[n % std::size(kMults)], kShifts[n / std::size(kMults)]});
    }
    GemmPlanPtr plan = plan_for(p, GetParam());
    if (!plan) continue;
    std::vector<uint8_t> src(size_t(2) * K, 255);
    for (int32_t k = 0; k < K; k += 3) src[K + k] = 254;
    EXPECT_EQ(run(*plan, p.desc, src, 2, K, N, 1), reference(p, src, 2, K, N)) << GetParam();
  }
}

// The floor path of the requant epilogue (requant_block8.h): accumulators
// on both sides of every output threshold of every column, and at the int32
// extremes, with multipliers whose every lane allows the path: shifts of 38
// to 44 (its high-half form), of 22 to 31 (its 64-bit form on AVX-512,
// which clamps acc first; the exact path elsewhere), and of 28 to 35 (both
// forms within 16 columns).
enum class FloorForm { kHighHalf, kWide, kBoth };
void floor_path_at_every_output_threshold(const std::string& variant, int32_t mult_lo, int32_t mult_hi,
                                          int32_t shift_lo, int32_t shift_hi, FloorForm form) {
  std::mt19937 rng(31);
  const int32_t N = 64, M = 256;
  Problem p;
  p.desc = {.N = N, .K = 1, .src_signed = false, .src_zp = 0, .src_min = 0, .src_max = 255, .weight_bits = 8,
            .dst_type = GemmDstType::kUint8, .dst_zp = 100, .qmin = 0, .qmax = 255};
  p.wei.assign(N, 1);
  for (int32_t n = 0; n < N; ++n) {
    const Dyadic d{uniform(rng, mult_lo, mult_hi) * (n % 3 == 0 ? -1 : 1), uniform(rng, shift_lo, shift_hi)};
    ASSERT_TRUE(floor_wide_lane_allowed(d, p.desc.dst_zp));
    if (form != FloorForm::kBoth) {
      ASSERT_EQ(floor_lane_allowed(d, p.desc.dst_zp), form == FloorForm::kHighHalf);
    }
    p.requant.push_back(d);
  }
  std::vector<uint8_t> src(M);
  for (int32_t r = 0; r < M; ++r) src[r] = static_cast<uint8_t>(r);  // acc = r + bias
  // Rounds 0-3: column n's rows straddle the threshold between outputs h and
  // h + 1, h = 64 * round + n - 101 covering [-101, 154]; round 4: the
  // extremes (the accumulators nearest -2^31 and 2^31 - 1 the planner admits).
  for (int round = 0; round <= 4; ++round) {
    p.bias.assign(N, 0);
    for (int32_t n = 0; n < N; ++n) {
      const Dyadic d = p.requant[n];
      const int64_t h = 64 * round + n - 101;
      const int128_t edge = (int128_t{2 * h + 1} << (d.e - 1)) / d.m;
      p.bias[n] = round < 4 ? static_cast<int32_t>(edge - M / 2) : (n % 2 ? INT32_MAX - (M - 1) : INT32_MIN + M);
    }
    GemmPlanPtr plan = plan_for(p, variant);
    if (!plan) {  // a nibble-weight variant: the same columns as 4-bit weights
      p.desc.weight_bits = 4;
      plan = plan_for(p, variant);
    }
    if (!plan) {
      ASSERT_EQ(round, 0) << variant << " refused round " << round;
      return;  // 4-bit sources only (the x4 variants)
    }
    for (int threads : {1, 2})
      EXPECT_EQ(run(*plan, p.desc, src, M, 1, N, threads), reference(p, src, M, 1, N))
          << variant << " round " << round << " shifts " << shift_lo << ".." << shift_hi;
  }
}

TEST_P(GemmVariantTest, FloorPathAtEveryOutputThreshold) {
  floor_path_at_every_output_threshold(GetParam(), 1 << 30, INT32_MAX, 38, 44, FloorForm::kHighHalf);
}

// Multipliers of 2^14..2^24 over 2^22..2^31: scales of 2^-17 to 4, as 4-bit
// layers have (MobileNetV2's mixed-precision 1x1 convs: shifts of 29-31).
TEST_P(GemmVariantTest, FloorPathBelowShift32AtEveryOutputThreshold) {
  floor_path_at_every_output_threshold(GetParam(), 1 << 14, 1 << 24, 22, 31, FloorForm::kWide);
  // Scales of 1 to 2^10: the int32 extremes give quotients beyond int32,
  // which only the acc clamp keeps from wrapping.
  floor_path_at_every_output_threshold(GetParam(), 1 << 24, 1 << 30, 20, 24, FloorForm::kWide);
}

// Both forms among the 16 columns of a zmm group: the column constant goes
// into the floor constants only of groups that take the high-half form.
TEST_P(GemmVariantTest, FloorPathFormsMixedAtEveryOutputThreshold) {
  floor_path_at_every_output_threshold(GetParam(), 1 << 20, 1 << 28, 28, 35, FloorForm::kBoth);
}

// A K long enough that the kernel's raw sum of (src - src_min) * w leaves
// int32 while the true accumulator (zero point 128) stays inside it: the zmm
// epilogue must not fold the column constant into the floor path's constant
// then (GemmPlan::col_in_floor_round), and must where the raw sum fits.
TEST_P(GemmVariantTest, FloorPathColumnConstantWithLongK) {
  std::mt19937 rng(41);
  for (int32_t K : {70000, 4096}) {
    Problem p;
    const int32_t N = 16;
    p.desc = {.N = N, .K = K, .src_signed = false, .src_zp = 128, .src_min = 0, .src_max = 255,
              .weight_bits = 8, .dst_type = GemmDstType::kInt8, .dst_zp = 3, .qmin = -128, .qmax = 127};
    p.wei.assign(size_t(N) * K, 0);
    for (int32_t n = 0; n < N; ++n)
      for (int32_t k = 0; k < K; ++k) p.wei[size_t(n) * K + k] = static_cast<int8_t>(n % 2 ? 127 : -127 + (k % 7 == 0));
    for (int32_t n = 0; n < N; ++n) {
      // Outputs of about +-100 for accumulators of about 128 * 127 * K.
      const int e = 30 + bit_length(uint64_t{128} * 127 * K) - 7;  // 54 at most: the floor path
      p.requant.push_back({uniform(rng, 1 << 30, INT32_MAX), e});
    }
    std::vector<uint8_t> src(size_t(3) * K, 255);
    for (int32_t k = 0; k < K; ++k) src[K + k] = static_cast<uint8_t>(k % 2 ? 255 : 0);
    for (int32_t k = 0; k < K; ++k) src[2 * K + k] = static_cast<uint8_t>(uniform(rng, 120, 136));
    GemmPlanPtr plan = plan_for(p, GetParam());
    if (!plan) continue;
    EXPECT_EQ(run(*plan, p.desc, src, 3, K, N, 1), reference(p, src, 3, K, N)) << GetParam() << " K " << K;
  }
}

TEST_P(GemmVariantTest, StridesAndThreadCounts) {
  std::mt19937 rng(99);
  for (const SrcFormat& f : kSrcFormats) {
    for (int wbits : {4, 8}) {
      // GEMV, small M, and several M blocks and panel groups.
      for (size_t M : {1, 3, 37, 130}) {
        const Problem p = make_problem(rng, 203, M > 100 ? 130 : 301, f, wbits, GemmDstType::kInt8);
        check(p, M, 5, 3, {1, 2, 3, 4}, &rng);
      }
    }
  }
}

// gemm_run_rows: the same bits as gemm_run on the matrix the row source
// describes, at 1-4 threads, with M across several activation blocks; every
// row the GEMM asks for is one the source has.
TEST_P(GemmVariantTest, RowSourceMatchesMatrix) {
  std::mt19937 rng(77);
  struct Rows {
    const std::vector<uint8_t>* matrix;
    size_t K, M;
    std::atomic<bool> out_of_range{false};
  };
  auto fill = [](const void* ctx, size_t m0, size_t rows, uint8_t* out, size_t out_stride) {
    auto* r = static_cast<Rows*>(const_cast<void*>(ctx));
    if (m0 + rows > r->M) r->out_of_range = true;
    for (size_t i = 0; i < rows && m0 + i < r->M; ++i)
      std::memcpy(out + i * out_stride, r->matrix->data() + (m0 + i) * r->K, r->K);
  };
  for (const SrcFormat& f : kSrcFormats) {
    for (int wbits : {4, 8}) {
      // K = 256 with a [0, 255] source: the VNNI byte-panel variants read
      // the gathered rows in place (plan.rows_in_place), the others pack them.
      for (size_t M : {1, 5, 77, 1500, 700}) {
        const int32_t N = M == 1500 ? 40 : 70, K = M == 1500 ? 250 : M == 700 ? 256 : 37;
        const Problem p = make_problem(rng, N, K, f, wbits, GemmDstType::kInt8);
        GemmPlanPtr plan = plan_for(p, GetParam());
        if (!plan) continue;
        const std::vector<uint8_t> src = make_src(rng, p.desc, M, K);
        const std::vector<uint8_t> want = reference(p, src, M, K, N);
        Rows rows{&src, size_t(K), M};
        for (int threads : {1, 2, 3, 4}) {
          std::unique_ptr<ThreadPool> pool;
          if (threads > 1) pool = std::make_unique<ThreadPool>(threads);
          std::vector<uint8_t> got(M * N, 0xA5);
          ASSERT_TRUE(gemm_run_rows(*plan, {fill, &rows}, M, got.data(), N, pool.get()));
          EXPECT_EQ(got, want) << GetParam() << " M=" << M << " threads=" << threads;
        }
        EXPECT_FALSE(rows.out_of_range) << GetParam() << " asked for rows past M";
      }
    }
  }
}

TEST_P(GemmVariantTest, LongKManyBlocks) {
  // K beyond the activation block size: several m blocks per run.
  std::mt19937 rng(5);
  for (const SrcFormat& f : {kU8, kS4}) {
    const Problem p = make_problem(rng, 50, 4000, f, 4, GemmDstType::kInt32);
    check(p, 70, 0, 0, {1, 2}, &rng);
  }
}

TEST_P(GemmVariantTest, GemvHintRunWithManyRows) {
  // A plan made for M = 1 streams its weights without panel scratch; running
  // it on more rows must still be exact.
  std::mt19937 rng(3);
  for (const SrcFormat& f : kSrcFormats) {
    for (int wbits : {4, 8}) {
      for (int32_t K : {99, 1500}) {  // one K block, several
        Problem p = make_problem(rng, 70, K, f, wbits, GemmDstType::kUint8);
        p.desc.M_hint = 1;
        check(p, 11, 0, 0, {1, 2}, &rng);
      }
    }
  }
}

// The fused epilogue (gemm_run_rows_epilogue): an epilogue that writes the
// bitwise complements of its int32 blocks to an int32 tensor must give the
// plain run's output complemented (so a path that bypassed it would show),
// over N tails, M tails, short and long K (the
// register-tile path is off with an epilogue), GEMV runs, and 1-3 threads.
// Variants other than the zmm VNNI ones refuse, and so do int8 plans; the
// 4-bit-weight variants run the problems with 4-bit weights.
TEST_P(GemmVariantTest, RowsEpilogueSeesEveryFinalInt32Once) {
  std::mt19937 rng(77);
  const Int32RowsEpilogue epilogue{inverting_rows_epilogue, nullptr};
  bool ran = false;
  for (const SrcFormat& f : {kS8, kU8}) {
    for (int32_t N : {8, 16, 40, 64, 100, 3072}) {
      for (int32_t K : {16, 64, 768}) {
        const int wbits = N % 16 == 0 ? 4 : 8;  // 4-bit weights: the nibble variants' panels too
        Problem p = make_problem(rng, N, K, f, wbits, GemmDstType::kInt32);
        GemmPlanPtr plan = plan_for(p, GetParam());
        if (!plan) continue;
        for (size_t M : {1, 5, 13, 128}) {
          const bool takes = gemm_takes_rows_epilogue(*plan, M);
          EXPECT_EQ(takes, std::string(GetParam()).find("avx512vnni") != std::string::npos) << GetParam();
          std::vector<uint8_t> src(M * (K + 3));
          for (uint8_t& b : src) b = static_cast<uint8_t>(uniform(rng, f.min, f.max));
          const size_t dst_stride = N + 1;
          const std::vector<uint8_t> want = run(*plan, p.desc, src, M, K + 3, dst_stride, 1);
          for (int threads : {1, 3}) {
            std::vector<int32_t> got(M * dst_stride, ~int32_t(0xA5A5A5A5));  // run()'s fill inverted
            ThreadPool pool(threads);
            ASSERT_EQ(gemm_run_rows_epilogue(*plan, epilogue, src.data(), M, K + 3, got.data(), dst_stride, &pool),
                      takes);
            if (!takes) continue;
            ran = true;
            for (int32_t& v : got) v = ~v;
            ASSERT_EQ(std::memcmp(got.data(), want.data(), want.size()), 0)
                << GetParam() << " N " << N << " K " << K << " M " << M << " threads " << threads;
          }
        }
      }
    }
  }
  if (!ran) return;
  Problem q = make_problem(rng, 64, 64, kS8, 4, GemmDstType::kInt8);  // 4-bit weights: every variant plans them
  GemmPlanPtr plan = plan_for(q, GetParam());
  ASSERT_TRUE(plan);
  EXPECT_FALSE(gemm_takes_rows_epilogue(*plan, 128));
}

INSTANTIATE_TEST_SUITE_P(Gemm, GemmVariantTest, ::testing::ValuesIn(variant_names()),
                         [](const auto& param_info) { return param_info.param; });

// ---- selection, validation, limits ------------------------------------------

std::string chosen(const Problem& p) {
  std::string error;
  GemmPlanPtr plan = gemm_plan(p.desc, p.weights(), &error);
  EXPECT_NE(plan, nullptr) << error;
  return plan ? gemm_plan_variant_name(*plan) : "";
}

// The best usable VNNI variant for 8-bit (or 4-bit) weights, or "" on a CPU
// (or cap) without VNNI.
std::string vnni_variant(int weight_bits) {
  const char* w = weight_bits == 4 ? "qc4w" : "qc8w";
  if (kernel_isa_usable(KernelIsa::kAvx512Vnni)) return std::string("gemm_x8_") + w + "_6x64__avx512vnni";
  if (kernel_isa_usable(KernelIsa::kAvxVnni)) return std::string("gemm_x8_") + w + "_6x16__avxvnni";
  return "";
}
std::string vnni_w8a8() { return vnni_variant(8); }

TEST(GemmDispatch, PicksTheExpectedVariant) {
  if (!kernel_isa_usable(KernelIsa::kAvx2)) GTEST_SKIP() << "needs AVX2 dispatch";
  std::mt19937 rng(1);
  auto best = [&](int wbits, const char* avx2) {
    const std::string vnni = vnni_variant(wbits);
    return vnni.empty() ? std::string(avx2) : vnni;
  };
  // 4-bit weights take the nibble variants (VNNI where present) for GEMV
  // and unknown M; the VNNI byte-weight variants refuse them for GEMV, and
  // the VNNI nibble variants give way to them past one register tile of rows.
  Problem gemv = make_problem(rng, 64, 64, kU4, 4, GemmDstType::kInt8);
  gemv.desc.M_hint = 1;
  EXPECT_EQ(chosen(gemv), best(4, "gemm_x4_qc4w_4x24__avx2"));
  gemv = make_problem(rng, 64, 64, kS8, 4, GemmDstType::kInt8);
  gemv.desc.M_hint = 1;
  EXPECT_EQ(chosen(gemv), best(4, "gemm_x8_qc4w_4x24__avx2"));
  EXPECT_EQ(chosen(make_problem(rng, 64, 64, kU4, 4, GemmDstType::kInt8)), best(4, "gemm_x4_qc4w_4x24__avx2"));
  EXPECT_EQ(chosen(make_problem(rng, 64, 64, kS4, 4, GemmDstType::kInt8)), best(4, "gemm_x4_qc4w_4x24__avx2"));
  EXPECT_EQ(chosen(make_problem(rng, 64, 64, kS8, 4, GemmDstType::kInt8)), best(4, "gemm_x8_qc4w_4x24__avx2"));
  EXPECT_EQ(chosen(make_problem(rng, 64, 64, kU4, 8, GemmDstType::kInt8)), best(8, "gemm_x4_qc8w_4x24__avx2"));
  EXPECT_EQ(chosen(make_problem(rng, 64, 64, kU8, 8, GemmDstType::kInt8)), best(8, "gemm_x8_qc8w_12x8__avx2"));
  if (kernel_isa_usable(KernelIsa::kAvx512Vnni)) {
    // The byte-weight VNNI variant refuses GEMV-sized 4-bit weights.
    std::string error;
    EXPECT_EQ(gemm_plan_variant(gemv.desc, gemv.weights(), "gemm_x8_qc8w_6x64__avx512vnni", &error), nullptr);
    EXPECT_NE(error.find("nibble variant"), std::string::npos) << error;
  }
  if (!vnni_variant(8).empty()) {
    Problem tall = make_problem(rng, 64, 64, kS8, 4, GemmDstType::kInt8);
    tall.desc.M_hint = 3136;
    EXPECT_EQ(chosen(tall), vnni_variant(8));
    tall.desc.M_hint = 6;
    EXPECT_EQ(chosen(tall), vnni_variant(4));
  }
}

// DYAD_ISA caps dispatch: each level picks its best variant, ref forces the
// reference, and an explicitly named variant ignores the cap.
TEST(GemmDispatch, IsaCap) {
  std::mt19937 rng(12);
  const Problem p = make_problem(rng, 64, 64, kS8, 8, GemmDstType::kInt8);
  const bool avx2 = kernel_isa_present(KernelIsa::kAvx2);
  {
    ScopedEnv cap("DYAD_ISA", "ref");
    EXPECT_EQ(chosen(p), "gemm_x8_qc8w__ref");
    EXPECT_TRUE(force_reference_kernels());
  }
#if defined(__aarch64__)
  (void)avx2;
  {
    // No GEMM variant needs only baseline NEON: the reference runs.
    ScopedEnv cap("DYAD_ISA", "neon");
    EXPECT_EQ(chosen(p), "gemm_x8_qc8w__ref");
  }
  {
    ScopedEnv cap("DYAD_ISA", "dotprod");
    EXPECT_EQ(chosen(p), kernel_isa_present(KernelIsa::kDotprod) ? "gemm_x8_qc8w_8x8__dotprod"
                                                                 : "gemm_x8_qc8w__ref");
  }
  if (kernel_isa_present(KernelIsa::kI8mm)) {
    ScopedEnv cap("DYAD_ISA", "i8mm");
    EXPECT_EQ(chosen(p), "gemm_x8_qc8w_8x8__i8mm");
  }
  {
    // An x86 level is not a level of this architecture: ignored (no cap).
    ScopedEnv cap("DYAD_ISA", "avx2");
    EXPECT_EQ(kernel_isa_cap(), KernelIsa::kI8mm);
  }
#else
  {
    ScopedEnv cap("DYAD_ISA", "avx2");
    EXPECT_EQ(chosen(p), avx2 ? "gemm_x8_qc8w_12x8__avx2" : "gemm_x8_qc8w__ref");
    if (kernel_isa_present(KernelIsa::kAvx512Vnni)) {
      std::string error;
      EXPECT_NE(gemm_plan_variant(p.desc, p.weights(), "gemm_x8_qc8w_6x64__avx512vnni", &error), nullptr)
          << error;
    }
  }
  if (kernel_isa_present(KernelIsa::kAvxVnni)) {
    ScopedEnv cap("DYAD_ISA", "avxvnni");
    EXPECT_EQ(chosen(p), "gemm_x8_qc8w_6x16__avxvnni");
  }
  if (kernel_isa_present(KernelIsa::kAvx512Vnni)) {
    ScopedEnv cap("DYAD_ISA", "avx512vnni");
    EXPECT_EQ(chosen(p), "gemm_x8_qc8w_6x64__avx512vnni");
  }
  {
    // An ARM level is not a level of this architecture: ignored (no cap).
    ScopedEnv cap("DYAD_ISA", "dotprod");
    EXPECT_EQ(kernel_isa_cap(), KernelIsa::kI8mm);
  }
#endif
}

TEST(GemmDispatch, ForcedReference) {
  std::mt19937 rng(2);
  const Problem p = make_problem(rng, 16, 16, kS8, 4, GemmDstType::kInt8);
  const char* old = std::getenv("DYAD_KERNELS");
  const std::string saved = old ? old : "";
  setenv("DYAD_KERNELS", "ref", 1);
  EXPECT_EQ(chosen(p), "gemm_x8_qc8w__ref");
  if (old) {
    setenv("DYAD_KERNELS", saved.c_str(), 1);
  } else {
    unsetenv("DYAD_KERNELS");
  }
}

TEST(GemmDispatch, VerboseLogsChoiceAndReasons) {
  if (!cpu_features().avx2 || force_reference_kernels()) GTEST_SKIP() << "needs AVX2 dispatch";
  std::mt19937 rng(8);
  const Problem p = make_problem(rng, 64, 16, kU8, 8, GemmDstType::kInt8);
  const char* old = std::getenv("DYAD_VERBOSE");
  const std::string saved = old ? old : "";
  setenv("DYAD_VERBOSE", "dispatch", 1);
  ::testing::internal::CaptureStderr();
  chosen(p);
  const std::string log = ::testing::internal::GetCapturedStderr();
  if (old) {
    setenv("DYAD_VERBOSE", saved.c_str(), 1);
  } else {
    unsetenv("DYAD_VERBOSE");
  }
  if (vnni_w8a8().empty()) {
    EXPECT_NE(log.find("skipped gemm_x4_qc4w_4x24__avx2: needs 4-bit weights"), std::string::npos) << log;
    EXPECT_NE(log.find("skipped gemm_x4_qc8w_4x24__avx2: int16 pair sums"), std::string::npos) << log;
    EXPECT_NE(log.find("chose gemm_x8_qc8w_12x8__avx2"), std::string::npos) << log;
  } else {
    EXPECT_NE(log.find("chose " + vnni_w8a8()), std::string::npos) << log;
  }
}

// AVX-512 VNNI: the widest tile that pads at most N / 8 columns or no more
// than the next narrower one, so MobileNet's 16-32 channel outputs do not
// run a 64-column tile of padding.
TEST(GemmDispatch, NarrowOutputsTakeNarrowerZmmTiles) {
  if (!kernel_isa_usable(KernelIsa::kAvx512Vnni)) GTEST_SKIP() << "needs AVX-512 VNNI dispatch";
  std::mt19937 rng(5);
  auto pick = [&](int32_t N) { return chosen(make_problem(rng, N, 64, kU8, 8, GemmDstType::kInt8)); };
  EXPECT_EQ(pick(1), "gemm_x8_qc8w_12x16__avx512vnni");
  EXPECT_EQ(pick(16), "gemm_x8_qc8w_12x16__avx512vnni");
  EXPECT_EQ(pick(17), "gemm_x8_qc8w_12x32__avx512vnni");
  EXPECT_EQ(pick(32), "gemm_x8_qc8w_12x32__avx512vnni");
  EXPECT_EQ(pick(33), "gemm_x8_qc8w_6x64__avx512vnni");
  EXPECT_EQ(pick(24 * 64), "gemm_x8_qc8w_6x64__avx512vnni");
  EXPECT_EQ(pick(80), "gemm_x8_qc8w_12x16__avx512vnni");   // 12 x 32 pads 16 > 80 / 8
  EXPECT_EQ(pick(96), "gemm_x8_qc8w_12x32__avx512vnni");   // 6 x 64 pads 32 > 96 / 8
  EXPECT_EQ(pick(144), "gemm_x8_qc8w_12x32__avx512vnni");  // pads 16 <= 144 / 8
  EXPECT_EQ(pick(176), "gemm_x8_qc8w_6x64__avx512vnni");   // pads 16 <= 176 / 8
  // A named variant is a request, not a preference: the 6x64 tile still runs N = 16.
  const Problem narrow = make_problem(rng, 16, 64, kU8, 8, GemmDstType::kInt8);
  std::string error;
  EXPECT_NE(gemm_plan_variant(narrow.desc, narrow.weights(), "gemm_x8_qc8w_6x64__avx512vnni", &error),
            nullptr) << error;
}

TEST(GemmDispatch, AccumulatorBoundFallsBackToReference) {
  // |acc| <= K * 255 * 128 must be provably <= 2^31 - 1 for the int32
  // variants: K = 65793 is the longest such K, 65794 is refused and only the
  // reference (int64, saturating int32 output) accepts it.
  const int32_t K = 65794;
  Problem p;
  p.desc = {.N = 3, .K = K, .src_signed = false, .src_zp = 0, .src_min = 0, .src_max = 255,
            .weight_bits = 8, .dst_type = GemmDstType::kInt32};
  p.wei.assign(size_t(3) * K, -128);
  // The widest-accumulating vector variant of this build: AVX2's, or SDOT's on ARM.
#if defined(__aarch64__)
  const char* vector_variant = "gemm_x8_qc8w_8x8__dotprod";
  const bool vector_present = kernel_isa_present(KernelIsa::kDotprod);
#else
  const char* vector_variant = "gemm_x8_qc8w_12x8__avx2";
  const bool vector_present = cpu_features().avx2;
#endif
  std::string error;
  EXPECT_EQ(gemm_plan_variant(p.desc, p.weights(), vector_variant, &error), nullptr);
  if (vector_present) {
    EXPECT_NE(error.find("int32"), std::string::npos) << error;
  }
  EXPECT_EQ(chosen(p), "gemm_x8_qc8w__ref");
  EXPECT_EQ(as_i32(ref_run(p, std::vector<uint8_t>(K, 255), 1)),
            (std::vector<int32_t>(3, INT32_MIN)));  // -2147516160 saturates
  p.desc.K = K - 1;
  p.wei.resize(size_t(3) * (K - 1));
  if (vector_present) {
    GemmPlanPtr plan = gemm_plan_variant(p.desc, p.weights(), vector_variant, &error);
    ASSERT_NE(plan, nullptr) << error;
    const std::vector<uint8_t> src(K - 1, 255);
    EXPECT_EQ(as_i32(run(*plan, p.desc, src, 1, K - 1, 3, 1)),
              (std::vector<int32_t>(3, -2147483520)));  // -65793 * 255 * 128
  }
}

TEST(GemmValidation, RejectsBadDescriptions) {
  std::mt19937 rng(4);
  const Problem good = make_problem(rng, 4, 4, kS8, 4, GemmDstType::kInt8);
  auto error_of = [](const Problem& p) {
    std::string error;
    GemmPlanPtr plan = gemm_plan(p.desc, p.weights(), &error);
    EXPECT_EQ(plan, nullptr);
    return error;
  };
  Problem p = good;
  p.desc.N = 0;
  EXPECT_NE(error_of(p).find("N = 0"), std::string::npos);
  p = good;
  p.wei[5] = 8;  // outside int4
  EXPECT_NE(error_of(p).find("wei[1, 1] = 8"), std::string::npos);
  p = good;
  p.desc.src_max = 200;  // not an int8 range
  EXPECT_NE(error_of(p).find("src range"), std::string::npos);
  p = good;
  p.desc.src_zp = 300;
  EXPECT_NE(error_of(p).find("src_zp"), std::string::npos);
  p = good;
  p.desc.qmin = 10;
  p.desc.qmax = 5;
  EXPECT_NE(error_of(p).find("qmin"), std::string::npos);
  p = good;
  p.requant.clear();
  EXPECT_NE(error_of(p).find("requant"), std::string::npos);
  p = good;
  std::string error;
  EXPECT_EQ(gemm_plan_variant(p.desc, p.weights(), "no_such_variant", &error), nullptr);
  EXPECT_NE(error.find("unknown variant"), std::string::npos);
}

TEST(GemmDispatch, RefusalReasons) {
  if (!cpu_features().avx2) GTEST_SKIP();
  std::mt19937 rng(6);
  const Problem w8a8 = make_problem(rng, 8, 8, kS8, 8, GemmDstType::kInt8);
  std::string error;
  EXPECT_EQ(gemm_plan_variant(w8a8.desc, w8a8.weights(), "gemm_x8_qc4w_4x24__avx2", &error), nullptr);
  EXPECT_NE(error.find("4-bit weights"), std::string::npos) << error;
  EXPECT_EQ(gemm_plan_variant(w8a8.desc, w8a8.weights(), "gemm_x4_qc8w_4x24__avx2", &error), nullptr);
  EXPECT_NE(error.find("int16"), std::string::npos) << error;
}

}  // namespace
}  // namespace dyad::kernels
