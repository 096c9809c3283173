// The vector pools (AVX2, AVX-512 and on 64-bit ARM NEON, each called by name) against their
// references, bit for bit: max_pool, average_pool and global_average_pool
// over every container they accept, extreme values, channel counts around
// the vector widths (tails), windows with padding and strides, sizes past a
// vector, and 1-4 threads. A variant the CPU lacks is skipped, naming the
// missing feature.
#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "kernels/average_pool/average_pool.h"
#include "kernels/common/cpu.h"
#include "kernels/common/thread_pool.h"
#include "kernels/global_average_pool/global_average_pool.h"
#include "kernels/max_pool/max_pool.h"

namespace dyad::kernels {
namespace {

// n elements of t as bytes, a third at the container's ends.
std::vector<uint8_t> random_tensor(IntType t, size_t n, std::mt19937_64& rng) {
  int64_t lo = -128, hi = 127;
  if (t == IntType::kU8) lo = 0, hi = 255;
  if (t == IntType::kS16) lo = -32768, hi = 32767;
  if (t == IntType::kS32) lo = INT32_MIN, hi = INT32_MAX;
  std::vector<int64_t> v(n);
  for (int64_t& x : v) {
    const int k = static_cast<int>(rng() % 6);
    x = k == 0 ? lo : k == 1 ? hi : std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  }
  std::vector<uint8_t> bytes(n * int_type_bytes(t));
  store_ints(v.data(), n, t, bytes.data(), 0);
  return bytes;
}

// A random valid pooling geometry (padding below the kernel).
Pool2dParams random_pool(IntType t, std::mt19937_64& rng) {
  static const int64_t kChannels[] = {1, 3, 8, 15, 16, 17, 31, 32, 33, 63, 64, 65, 70, 129};
  Pool2dParams p;
  p.type = t;
  p.batch = 1 + static_cast<int64_t>(rng() % 2);
  p.channels = kChannels[rng() % std::size(kChannels)];
  p.kernel_h = 1 + static_cast<int64_t>(rng() % 4);
  p.kernel_w = 1 + static_cast<int64_t>(rng() % 4);
  p.stride_h = 1 + static_cast<int64_t>(rng() % 3);
  p.stride_w = 1 + static_cast<int64_t>(rng() % 3);
  p.pad_top = static_cast<int64_t>(rng() % p.kernel_h);
  p.pad_left = static_cast<int64_t>(rng() % p.kernel_w);
  const int64_t pad_bottom = static_cast<int64_t>(rng() % p.kernel_h);
  const int64_t pad_right = static_cast<int64_t>(rng() % p.kernel_w);
  p.in_h = p.kernel_h + static_cast<int64_t>(rng() % 12);
  p.in_w = p.kernel_w + static_cast<int64_t>(rng() % 12);
  p.out_h = (p.in_h + p.pad_top + pad_bottom - p.kernel_h) / p.stride_h + 1;
  p.out_w = (p.in_w + p.pad_left + pad_right - p.kernel_w) / p.stride_w + 1;
  return p;
}

using PoolFn = void (*)(const Pool2dParams&, const void*, void*, ThreadPool*);
using GlobalPoolFn = void (*)(const GlobalAveragePoolParams&, const void*, void*);

// One vector variant of the three pools.
struct PoolVariant {
  const char* name;
  const char* missing;  // the feature named when the CPU lacks it
  bool (*present)();
  PoolFn max_pool, average_pool;
  GlobalPoolFn global_average_pool;
};

const PoolVariant kVariants[] = {
    {"avx2", "AVX2", [] { return cpu_features().avx2; }, max_pool__avx2, average_pool__avx2,
     global_average_pool__avx2},
    {"avx512", "AVX-512 F/BW/VL/DQ", avx512_elementwise_present, max_pool__avx512, average_pool__avx512,
     global_average_pool__avx512},
#if defined(__aarch64__)
    {"neon", "Advanced SIMD (NEON)", [] { return kernel_isa_present(KernelIsa::kNeon); }, max_pool__neon,
     average_pool__neon, global_average_pool__neon},
#endif
};

void PrintTo(const PoolVariant& v, std::ostream* os) { *os << v.name; }

class PoolVec : public ::testing::TestWithParam<PoolVariant> {
 protected:
  void SetUp() override {
    if (!GetParam().present()) GTEST_SKIP() << "this CPU lacks " << GetParam().missing << ", needed by " << GetParam().name;
  }
};

void compare_pool(PoolFn ref, PoolFn fast, std::initializer_list<IntType> types, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::unique_ptr<ThreadPool>> pools;
  pools.push_back(nullptr);
  for (int t = 2; t <= 4; ++t) pools.push_back(std::make_unique<ThreadPool>(t));
  for (IntType t : types)
    for (int trial = 0; trial < 60; ++trial) {
      const Pool2dParams p = random_pool(t, rng);
      const size_t in = static_cast<size_t>(p.batch * p.in_h * p.in_w * p.channels);
      const size_t out = static_cast<size_t>(p.batch * p.out_h * p.out_w * p.channels);
      const std::vector<uint8_t> x = random_tensor(t, in, rng);
      std::vector<uint8_t> want(out * int_type_bytes(t));
      ref(p, x.data(), want.data(), nullptr);
      for (const auto& pool : pools) {
        std::vector<uint8_t> got(want.size(), 0xA5);
        fast(p, x.data(), got.data(), pool.get());
        ASSERT_EQ(got, want) << "type " << int(t) << " C " << p.channels << " " << p.in_h << "x"
                             << p.in_w << " k " << p.kernel_h << "x" << p.kernel_w << " s "
                             << p.stride_h << "," << p.stride_w << " threads "
                             << (pool ? pool->num_threads() : 1);
      }
    }
}

TEST_P(PoolVec, MaxPoolEqualsReference) {
  compare_pool(max_pool__ref, GetParam().max_pool,
               {IntType::kS8, IntType::kU8, IntType::kS16, IntType::kS32}, 11);
}

TEST_P(PoolVec, AveragePoolEqualsReference) {
  compare_pool(average_pool__ref, GetParam().average_pool, {IntType::kS8, IntType::kU8, IntType::kS16},
               12);
}

TEST(PoolVecDivisor, ExactDivisorOverItsWholeRange) {
  // floor(n / d) = (n * mult) >> shift for n < 2^31: every d up to 5000 at
  // the n where an error would show first (multiples of d and one below),
  // and n = 2^31 - 1.
  for (uint32_t d = 1; d <= 5000; ++d) {
    const ExactDivisor div = exact_divisor(d);
    for (uint64_t n : {uint64_t{0}, uint64_t{d - 1}, uint64_t{d}, (uint64_t{1} << 31) - 1,
                       (((uint64_t{1} << 31) - 1) / d) * d, (((uint64_t{1} << 31) - 1) / d) * d - 1}) {
      ASSERT_EQ((n * div.mult) >> div.shift, n / d) << n << " / " << d;
    }
  }
  for (uint32_t d : {65535u, 65536u, 1u << 30, (1u << 31) - 1}) {
    const ExactDivisor div = exact_divisor(d);
    for (uint64_t n = (uint64_t{1} << 31) - 1; n > (uint64_t{1} << 31) - 100000; --n)
      ASSERT_EQ((n * div.mult) >> div.shift, n / d) << n << " / " << d;
  }
}

TEST_P(PoolVec, LargestWindowsOfExtremes) {
  // Windows of all-minimum and all-maximum values: the sums' extremes.
  for (IntType t : {IntType::kS8, IntType::kU8, IntType::kS16}) {
    Pool2dParams p;
    p.type = t;
    p.channels = 40;
    p.in_h = p.in_w = p.kernel_h = p.kernel_w = 30;
    const size_t n = static_cast<size_t>(p.in_h * p.in_w * p.channels);
    for (int fill : {0, 1}) {
      int64_t lo = -128, hi = 127;
      if (t == IntType::kU8) lo = 0, hi = 255;
      if (t == IntType::kS16) lo = -32768, hi = 32767;
      // All at one end but one element per channel at the other (so the
      // floor is not the extreme itself).
      std::vector<int64_t> v(n, fill ? hi : lo);
      for (int64_t c = 0; c < p.channels; ++c) v[static_cast<size_t>(c)] = fill ? lo : hi;
      std::vector<uint8_t> x(n * int_type_bytes(t));
      store_ints(v.data(), n, t, x.data(), 0);
      std::vector<uint8_t> want(p.channels * int_type_bytes(t)), got(want.size());
      average_pool__ref(p, x.data(), want.data(), nullptr);
      GetParam().average_pool(p, x.data(), got.data(), nullptr);
      EXPECT_EQ(got, want);
    }
  }
}

TEST_P(PoolVec, GlobalAveragePoolEqualsReference) {
  std::mt19937_64 rng(13);
  for (IntType t : {IntType::kS8, IntType::kU8, IntType::kS16})
    for (int64_t channels : {1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 129})
      for (int64_t pixels : {1, 2, 7, 49, 196, 3000}) {
        GlobalAveragePoolParams p;
        p.batch = 2;
        p.pixels = pixels;
        p.channels = channels;
        p.type = t;
        const std::vector<uint8_t> x =
            random_tensor(t, static_cast<size_t>(p.batch * pixels * channels), rng);
        std::vector<uint8_t> want(static_cast<size_t>(p.batch * channels) * int_type_bytes(t));
        std::vector<uint8_t> got(want.size(), 0xA5);
        global_average_pool__ref(p, x.data(), want.data());
        GetParam().global_average_pool(p, x.data(), got.data());
        ASSERT_EQ(got, want) << int(t) << " C " << channels << " pixels " << pixels;
      }
}

TEST(PoolVecDivisor, ContainersTheAveragesRefuse) {
  EXPECT_TRUE(average_avx2_fits(IntType::kS8, 49));
  EXPECT_TRUE(average_avx2_fits(IntType::kS16, 32767));
  EXPECT_FALSE(average_avx2_fits(IntType::kS16, 32769));  // 65535 * 32769 > 2^31
  EXPECT_FALSE(average_avx2_fits(IntType::kS32, 4));
  EXPECT_FALSE(average_avx2_fits(IntType::kU8, int64_t{1} << 24));
}

INSTANTIATE_TEST_SUITE_P(Variants, PoolVec, ::testing::ValuesIn(kVariants),
                         [](const ::testing::TestParamInfo<PoolVariant>& param) { return std::string(param.param.name); });

}  // namespace
}  // namespace dyad::kernels
