// The 64-bit-lane requantize (AVX2, AVX-512 and NEON variants, requantize_wide.h)
// against the reference, bit for bit: int64 inputs over their whole range
// (INT64_MIN/MAX, every magnitude 2^k +- 1, rounding ties), every input type
// with any zero point (int64 ones included), multipliers and shifts at and
// beyond the normalization limits, both byte outputs with clamps at the ends,
// per-tensor and per-channel constants with channel counts that are not
// multiples of the vector width, counts with every tail, 1 to 4 threads.
// Also the AVX-512 variant's int32 path (16 lanes), for the narrow inputs,
// and the floor form of the 64-bit lanes at every output threshold.
// A variant the CPU cannot run is skipped with the missing ISA named.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "kernels/common/cpu.h"
#include "kernels/common/thread_pool.h"
#include "kernels/requantize/requantize.h"
#include "kernels/requantize/requantize_wide.h"
#include "tests/kernels/elementwise_variants.h"

namespace dyad::kernels {
namespace {

// Runs the named variant; false when its plan refuses p.
bool run_variant(const std::string& name, const RequantizeParams& p, const std::vector<Dyadic>& requant,
                 const void* src, void* dst, ThreadPool* pool) {
  if (name == "avx2") {
    RequantizeAvx2PlanPtr plan = requantize_avx2_plan(p, requant.data());
    if (!plan) return false;
    requantize__avx2(p, *plan, src, dst, pool);
    return true;
  }
#if defined(__aarch64__)
  if (name == "neon") {
    RequantizeNeonPlanPtr plan = requantize_neon_plan(p, requant.data());
    if (!plan) return false;
    requantize__neon(p, *plan, src, dst, pool);
    return true;
  }
#endif
  RequantizeAvx512PlanPtr plan = requantize_avx512_plan(p, requant.data());
  if (!plan) return false;
  requantize__avx512(p, *plan, src, dst, pool);
  return true;
}

int64_t random_value(IntType t, std::mt19937_64& rng) {
  const int64_t lo = int_type_min(t), hi = int_type_max(t);
  switch (rng() % 6) {
    case 0: return rng() % 2 ? lo : hi;
    case 1: return static_cast<int64_t>(rng() % 9) - 4;
    case 2: {  // +-2^k +- 1 within the type
      const int bits = static_cast<int>(int_type_bytes(t) * 8) - 1;
      const int64_t v = (int64_t{1} << (rng() % static_cast<uint64_t>(bits))) + static_cast<int64_t>(rng() % 3) - 1;
      const int64_t s = rng() % 2 ? -v : v;
      return s < lo ? lo : (s > hi ? hi : s);
    }
    case 3: {  // any magnitude: a random value shifted right by 0..63
      const int64_t v = static_cast<int64_t>(rng()) >> (rng() % 64);
      return v < lo ? lo : (v > hi ? hi : v);
    }
    default: return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  }
}

class RequantizeWide : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    const std::string missing = elementwise_variant_missing(GetParam());
    if (!missing.empty()) GTEST_SKIP() << missing << "; the " << GetParam() << " requantize is not tested";
  }

  // Random inputs around z_x (so both clamp sides and the middle occur);
  // returns false when the plan refused.
  bool expect_same(const RequantizeParams& p, const std::vector<Dyadic>& requant, int threads,
                   std::mt19937_64& rng, const std::vector<int64_t>* given = nullptr) {
    std::vector<int64_t> values(p.count);
    for (size_t i = 0; i < p.count; ++i) {
      if (given != nullptr) {
        values[i] = (*given)[i % given->size()];
        continue;
      }
      int64_t v = random_value(p.src_type, rng);
      if (rng() % 3 == 0) {  // near the zero point
        __extension__ const __int128 near = static_cast<__int128>(p.src_zero_point) + (v >> (rng() % 64));
        v = near < int_type_min(p.src_type) ? int_type_min(p.src_type)
            : near > int_type_max(p.src_type) ? int_type_max(p.src_type) : static_cast<int64_t>(near);
      }
      values[i] = v;
    }
    std::vector<uint8_t> src(p.count * int_type_bytes(p.src_type) + 8);
    store_ints(values.data(), p.count, p.src_type, src.data(), 0);
    std::vector<uint8_t> want(p.count + 1, 0xa5), got(p.count + 1, 0x5a);
    std::unique_ptr<ThreadPool> pool;
    if (threads > 1) pool = std::make_unique<ThreadPool>(threads);
    requantize__ref(p, requant.data(), src.data(), want.data());
    if (!run_variant(GetParam(), p, requant, src.data(), got.data(), pool.get())) return false;
    for (size_t i = 0; i < p.count; ++i) {
      if (want[i] == got[i]) continue;
      const Dyadic d = requant[i % p.channels];
      ADD_FAILURE() << GetParam() << ": element " << i << " x=" << values[i] << " m/e=" << d.m << "/" << d.e
                    << " zx=" << p.src_zero_point << " zy=" << p.dst_zero_point << " clamp [" << p.dst_min
                    << ", " << p.dst_max << "] channels " << p.channels << " threads " << threads << ": want "
                    << int{want[i]} << " got " << int{got[i]};
      return true;
    }
    EXPECT_EQ(got[p.count], 0x5a) << "wrote past the end";
    return true;
  }
};

TEST_P(RequantizeWide, Int64EveryMultiplierShiftAndZeroPoint) {
  std::mt19937_64 rng(11);
  const int32_t multipliers[] = {INT32_MIN, INT32_MAX, 1 << 30, -(1 << 30), (1 << 30) + 1, 3, -3, 1, -1, 0,
                                 1518500250, -1518500250};
  const int32_t shifts[] = {-100, -40, -31, -1, 0, 1, 2, 9, 10, 11, 20, 31, 32, 33, 34, 40, 52, 62, 63, 64,
                            80, 93, 94, 95, 96, 97, 100, 200};
  const int64_t zero_points[] = {0, 0, 1, -1, 1000, INT64_MIN, INT64_MAX, -(int64_t{1} << 40)};
  int index = 0, refused = 0;
  for (int32_t m : multipliers) {
    for (int32_t e : shifts) {
      RequantizeParams p;
      p.src_type = IntType::kS64;
      p.dst_type = index % 2 ? IntType::kU8 : IntType::kS8;
      p.count = 16 * 3 + static_cast<size_t>(index % 17);  // tails 0..16
      p.src_zero_point = zero_points[index % 8];
      const int64_t dmin = int_type_min(p.dst_type), dmax = int_type_max(p.dst_type);
      p.dst_zero_point = index % 5 == 0 ? dmin : index % 5 == 1 ? dmax : 7;
      p.dst_min = dmin + (index % 3);
      p.dst_max = dmax - (index % 4);
      const bool ran = expect_same(p, {Dyadic{m, e}}, 1 + index % 2, rng);
      // Only a tiny factor (below 2^-53) with a nonzero z_x may be refused.
      if (!ran) {
        ++refused;
        EXPECT_NE(p.src_zero_point, 0) << "m/e " << m << "/" << e;
      }
      ++index;
    }
  }
  EXPECT_LT(refused, index / 4);
}

TEST_P(RequantizeWide, Int64ExtremesAndTies) {
  std::mt19937_64 rng(3);
  std::vector<int64_t> xs = {INT64_MIN, INT64_MIN + 1, INT64_MAX, INT64_MAX - 1, 0, 1, -1, 2, -2, 3, -3};
  for (int k = 1; k < 63; ++k)
    for (int64_t delta : {-1, 0, 1}) {
      xs.push_back((int64_t{1} << k) + delta);
      xs.push_back(-(int64_t{1} << k) + delta);
    }
  // m a power of two: x * m / 2^e is a tie for every odd multiple of 2^(e-1-log m).
  const Dyadic pairs[] = {{1 << 30, 31}, {1 << 30, 40}, {-(1 << 30), 62}, {1, 1}, {1, 2}, {INT32_MIN, 63},
                          {INT32_MIN, 94}, {3, 33}, {3, 2}, {-(1 << 30), 93}, {1 << 30, 37}, {5, 45}};
  for (const Dyadic& d : pairs)
    for (int64_t zx : {int64_t{0}, int64_t{1}, int64_t{-7}}) {
      RequantizeParams p;
      p.src_type = IntType::kS64;
      p.count = xs.size();
      p.src_zero_point = zx;
      p.dst_zero_point = 0;
      // Refused only for a factor below 2^-53 with a nonzero zero point.
      if (!expect_same(p, {d}, 1, rng, &xs)) {
        EXPECT_NE(zx, 0) << d.m << "/" << d.e;
      }
    }
}

TEST_P(RequantizeWide, EveryInputTypeWithZeroPoints) {
  std::mt19937_64 rng(5);
  const IntType types[] = {IntType::kS8, IntType::kU8, IntType::kS16, IntType::kS32, IntType::kS64};
  int index = 0;
  for (IntType t : types)
    for (int64_t zx : {int64_t{0}, int_type_min(t), int_type_max(t), int64_t{5}})
      for (const Dyadic d : {Dyadic{1518500250, 40}, Dyadic{-(1 << 30), 31}, Dyadic{INT32_MAX, 60}, Dyadic{7, 3}}) {
        RequantizeParams p;
        p.src_type = t;
        p.dst_type = index % 2 ? IntType::kU8 : IntType::kS8;
        p.dst_zero_point = index % 2 ? 128 : -3;
        p.dst_min = int_type_min(p.dst_type);
        p.dst_max = int_type_max(p.dst_type);
        p.count = 200 + static_cast<size_t>(index % 16);
        p.src_zero_point = zx;
        const bool ran = expect_same(p, {d}, 1, rng);
        // The AVX2 and NEON variants take all of these (their int32 path or
        // the wide one).
        EXPECT_TRUE(ran || GetParam() == "avx512") << index;
        ++index;
      }
}

// One requant pair (for 1 or 8 channels) from 8-bit inputs to 8-bit outputs (the AVX-512
// variant's table path where the CPU has VBMI): every input byte, 4-bit and
// full 8-bit clamps, zero points at the ends, counts with every tail of a
// 64-byte vector and more than one task's chunk, 1 and 3 threads.
TEST_P(RequantizeWide, EightBitInputsEveryByte) {
  if (GetParam() == "avx512" && !cpu_features().avx512_vbmi)
    GTEST_SKIP() << "this CPU lacks AVX-512 VBMI: the AVX-512 variant's table path is untested here";
  std::mt19937_64 rng(12);
  int index = 0;
  for (IntType src : {IntType::kS8, IntType::kU8})
    for (IntType dst : {IntType::kS8, IntType::kU8})
      for (const Dyadic d : {Dyadic{1518500250, 31}, Dyadic{-(1 << 30), 33}, Dyadic{INT32_MAX, 36}, Dyadic{7, 1},
                             Dyadic{1 << 30, 30}})
        for (size_t count : {size_t{1}, size_t{63}, size_t{65}, size_t{16384 * 2 + 129}}) {
          RequantizeParams p;
          p.src_type = src;
          p.dst_type = dst;
          p.src_zero_point = index % 3 == 0 ? int_type_min(src) : index % 3 == 1 ? int_type_max(src) : 3;
          p.dst_zero_point = dst == IntType::kU8 ? 8 : 0;
          // 4-bit outputs (the mixed models' requant4 steps) or the full range.
          p.dst_min = index % 2 ? int_type_min(dst) : (dst == IntType::kU8 ? 0 : -8);
          p.dst_max = index % 2 ? int_type_max(dst) : (dst == IntType::kU8 ? 15 : 7);
          p.count = count;
          std::vector<int64_t> every;
          for (int64_t v = int_type_min(src); v <= int_type_max(src); ++v) every.push_back(v);
          std::shuffle(every.begin(), every.end(), rng);
          EXPECT_TRUE(expect_same(p, {d}, index % 2 ? 3 : 1, rng, &every)) << index;
          // The same pair for each of 8 channels (as the engine passes a
          // per-tensor requantize), and once a channel that differs.
          if (count % 8 == 1) {
            p.count = count - 1;
            p.channels = 8;
            std::vector<Dyadic> pairs(8, d);
            EXPECT_TRUE(expect_same(p, pairs, 1, rng, &every)) << index;
            pairs[5] = Dyadic{d.m / 2 + 1, d.e};
            EXPECT_TRUE(expect_same(p, pairs, 1, rng, &every)) << index;
          }
          ++index;
        }
}

TEST_P(RequantizeWide, PerChannelOddCountsAndThreads) {
  // int64 (the 64-bit path) and int8 / int32 (the int32 path where the
  // channel count allows it, else the 64-bit one).
  std::mt19937_64 rng(9);
  for (size_t channels : {1, 3, 8, 13, 24, 768, 3072}) {
    std::vector<Dyadic> requant(channels);
    for (size_t c = 0; c < channels; ++c)
      requant[c] = Dyadic{static_cast<int32_t>(rng()), static_cast<int32_t>(rng() % 100) - 3};
    for (int threads : {1, 2, 3, 4}) {
      RequantizeParams p;
      p.src_type = threads % 2 == 1 ? IntType::kS64 : (channels % 2 ? IntType::kS8 : IntType::kS32);
      p.channels = channels;
      p.count = channels * (1 + 40000 / channels);  // several task chunks
      p.dst_zero_point = -5;
      EXPECT_TRUE(expect_same(p, requant, threads, rng)) << channels;
    }
  }
}

// The floor form (RequantizeWidePlan::has_floor): multipliers with a large
// odd part and shifts in [33, 63], both signs, per channel; inputs just
// below, at and above every output threshold x * m / 2^e = k + 1/2 of the
// clamp window, at the clamp bounds and the int64 extremes.
TEST_P(RequantizeWide, FloorFormAtEveryOutputThreshold) {
  std::mt19937_64 rng(13);
  const std::vector<Dyadic> requant = {{1518500250, 33}, {-1234567891, 47}, {INT32_MAX, 63}, {-7654321, 40},
                                       {987654321, 58}};
  for (IntType dst : {IntType::kS8, IntType::kU8}) {
    RequantizeParams p;
    p.src_type = IntType::kS64;
    p.dst_type = dst;
    p.channels = requant.size();
    p.dst_zero_point = dst == IntType::kS8 ? -9 : 131;
    p.dst_min = int_type_min(dst);
    p.dst_max = int_type_max(dst);
    RequantizeWidePlan plan;
    ASSERT_TRUE(requantize_wide_plan(p, requant.data(), &plan));
    ASSERT_TRUE(plan.has_floor);
    // Per channel: the thresholds, as a column of the [rows, channels] input.
    std::vector<std::vector<int64_t>> columns(p.channels);
    for (size_t c = 0; c < p.channels; ++c) {
      const Dyadic d = requant[c];
      for (int64_t k = -300; k <= 300; ++k) {
        __extension__ const __int128 edge = (static_cast<__int128>(2 * k + 1) << (d.e - 1)) / d.m;
        for (int delta = -1; delta <= 1; ++delta) columns[c].push_back(static_cast<int64_t>(edge) + delta);
      }
      for (int64_t x : {plan.x_lo[c], plan.x_hi[c], INT64_MIN, INT64_MAX, int64_t{0}, int64_t{1}, int64_t{-1}})
        for (int delta = -1; delta <= 1; ++delta) {
          __extension__ const __int128 v = static_cast<__int128>(x) + delta;
          if (v >= INT64_MIN && v <= INT64_MAX) columns[c].push_back(static_cast<int64_t>(v));
        }
    }
    size_t rows = 0;
    for (const auto& column : columns) rows = std::max(rows, column.size());
    std::vector<int64_t> values(rows * p.channels);
    for (size_t r = 0; r < rows; ++r)
      for (size_t c = 0; c < p.channels; ++c) values[r * p.channels + c] = columns[c][r % columns[c].size()];
    p.count = values.size();
    for (int threads : {1, 2}) EXPECT_TRUE(expect_same(p, requant, threads, rng, &values));
  }
  // A tie can reach the window: odd part 3, or a power of two.
  RequantizeParams p;
  p.src_type = IntType::kS64;
  p.count = 16;
  RequantizeWidePlan plan;
  for (const Dyadic d : {Dyadic{3 << 20, 40}, Dyadic{1 << 30, 50}, Dyadic{1518500250, 20}}) {
    ASSERT_TRUE(requantize_wide_plan(p, &d, &plan));
    EXPECT_FALSE(plan.has_floor) << d.m << "/" << d.e;
  }
}

TEST_P(RequantizeWide, RefusesOnlyWhatItCannotComputeExactly) {
  const std::vector<Dyadic> one = {Dyadic{1, 1}};
  RequantizeParams p;
  p.src_type = IntType::kS64;
  p.count = 16;
  RequantizeWidePlan plan;
  EXPECT_TRUE(requantize_wide_plan(p, one.data(), &plan));
  p.dst_type = IntType::kS16;  // not a byte output
  p.dst_min = INT16_MIN;
  p.dst_max = INT16_MAX;
  EXPECT_FALSE(requantize_wide_plan(p, one.data(), &plan));
  p.dst_type = IntType::kS8;
  p.dst_min = -128;
  p.dst_max = 127;
  p.src_zero_point = 3;  // a factor below 2^-53 with a zero point: d needs 65 bits
  const std::vector<Dyadic> tiny = {Dyadic{1 << 30, 94}};
  EXPECT_FALSE(requantize_wide_plan(p, tiny.data(), &plan));
  p.src_zero_point = 0;
  EXPECT_TRUE(requantize_wide_plan(p, tiny.data(), &plan));
}

INSTANTIATE_TEST_SUITE_P(Variants, RequantizeWide, ::testing::ValuesIn(elementwise_variants()),
                         [](const ::testing::TestParamInfo<std::string>& param) { return param.param; });

}  // namespace
}  // namespace dyad::kernels
