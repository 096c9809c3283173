// Every vector depthwise variant (depthwise_conv2d__avx2 and, on 64-bit ARM,
// __neon, 16-channel blocks; __avx512vnni, 32-channel blocks) against conv2d_*__ref, bit for bit: 3x3 and
// 5x5 windows, channel counts around the 16- and 32-channel blocks, sizes from
// 1 past a vector, strides 1 and 2 in each direction, every padding up to 3,
// int8 / uint8 sources with zero points at both ends,
// extreme values and weights, extreme multipliers and shifts, requantized
// int8 / uint8 / 4-bit clamps and raw int32 outputs, 1-4 threads.
#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "kernels/common/cpu.h"
#include "kernels/common/thread_pool.h"
#include "kernels/conv2d/conv2d.h"
#include "kernels/conv2d/depthwise.h"

namespace dyad::kernels {
namespace {

struct Variant {
  const char* name;
  KernelIsa isa;
  int width;
  void (*run)(const DepthwisePlan&, const void*, void*, ThreadPool*, uint8_t*);
};
void PrintTo(const Variant& v, std::ostream* os) { *os << v.name; }
const Variant kVariants[] = {
    {"avx2", KernelIsa::kAvx2, 16, depthwise_conv2d__avx2},
    {"avx512vnni", KernelIsa::kAvx512Vnni, 32, depthwise_conv2d__avx512vnni},
#if defined(__aarch64__)
    {"neon", KernelIsa::kNeon, 16, depthwise_conv2d__neon},
#endif
};

struct Case {
  int64_t kernel, c, h, w, stride_h, stride_w, pad_top, pad_left, pad_bottom, pad_right;
  bool src_signed;
  IntType out;
};

void check(const Variant& var, const Case& k, std::mt19937_64& rng, const std::vector<ThreadPool*>& pools) {
  Conv2dParams p;
  p.batch = 1 + static_cast<int64_t>(rng() % 2);
  p.in_h = k.h;
  p.in_w = k.w;
  p.in_c = p.out_c = p.groups = k.c;
  p.kernel_h = p.kernel_w = k.kernel;
  p.stride_h = k.stride_h;
  p.stride_w = k.stride_w;
  p.pad_top = k.pad_top;
  p.pad_left = k.pad_left;
  if (k.h + k.pad_top + k.pad_bottom < k.kernel || k.w + k.pad_left + k.pad_right < k.kernel) return;
  p.out_h = (k.h + k.pad_top + k.pad_bottom - k.kernel) / k.stride_h + 1;
  p.out_w = (k.w + k.pad_left + k.pad_right - k.kernel) / k.stride_w + 1;
  const int lo = k.src_signed ? -128 : 0, hi = k.src_signed ? 127 : 255;
  switch (rng() % 3) {
    case 0: p.src_zero_point = lo; break;
    case 1: p.src_zero_point = hi; break;
    default: p.src_zero_point = std::uniform_int_distribution<int>(lo, hi)(rng);
  }
  const size_t in = static_cast<size_t>(p.batch * k.h * k.w * k.c);
  std::vector<uint8_t> x(in);
  for (uint8_t& v : x) {
    const int r = static_cast<int>(rng() % 5);
    v = static_cast<uint8_t>(r == 0 ? lo : r == 1 ? hi : std::uniform_int_distribution<int>(lo, hi)(rng));
  }
  std::vector<int8_t> w(static_cast<size_t>(k.c * k.kernel * k.kernel));
  for (int8_t& v : w) {
    const int r = static_cast<int>(rng() % 4);
    v = static_cast<int8_t>(r == 0 ? -128 : r == 1 ? 127 : static_cast<int>(rng() % 256) - 128);
  }
  std::vector<int32_t> bias(static_cast<size_t>(k.c));
  for (int32_t& b : bias) b = static_cast<int32_t>(rng() % 2000001) - 1000000;
  std::vector<Dyadic> rq(static_cast<size_t>(k.c));
  static const int32_t kMults[] = {INT32_MIN, INT32_MAX, 1 << 30, -(1 << 30), 1, 0, 1518500250};
  static const int32_t kShifts[] = {-40, -1, 0, 1, 2, 20, 31, 38, 45, 62, 63, 64, 1000};
  for (Dyadic& d : rq) {
    d.m = rng() % 2 ? kMults[rng() % std::size(kMults)] : static_cast<int32_t>(rng() >> 33);
    d.e = rng() % 2 ? kShifts[rng() % std::size(kShifts)] : static_cast<int32_t>(28 + rng() % 16);
  }
  p.out.type = k.out;
  if (k.out != IntType::kS32) {
    p.out.requant = rq.data();
    const bool s = k.out == IntType::kS8;
    // 8-bit, 4-bit (within the container) or ReLU-like clamps.
    switch (rng() % 3) {
      case 0: p.out.min = s ? -128 : 0; p.out.max = s ? 127 : 255; break;
      case 1: p.out.min = s ? -8 : 0; p.out.max = s ? 7 : 15; break;
      default: p.out.min = s ? -20 : 20; p.out.max = s ? 127 : 255; break;
    }
    p.out.zero_point = static_cast<int32_t>(rng() % 2 ? p.out.min : p.out.max);
  }
  DepthwisePlan plan;
  std::string why;
  ASSERT_TRUE(depthwise_plan(p, k.src_signed, w.data(), bias.data(), rq.data(), var.width, &plan, &why)) << why;
  const size_t out_bytes = static_cast<size_t>(p.batch * p.out_h * p.out_w * k.c) * int_type_bytes(k.out);
  std::vector<uint8_t> want(out_bytes);
  if (k.src_signed)
    conv2d_s8_qc8w__ref(p, reinterpret_cast<const int8_t*>(x.data()), w.data(), bias.data(), want.data(), nullptr);
  else
    conv2d_u8_qc8w__ref(p, x.data(), w.data(), bias.data(), want.data(), nullptr);
  for (ThreadPool* pool : pools) {
    std::vector<uint8_t> got(out_bytes, 0xA5);
    var.run(plan, x.data(), got.data(), pool, nullptr);
    ASSERT_EQ(got, want) << var.name << " " << k.kernel << "x" << k.kernel << " C " << k.c << " " << k.h << "x" << k.w << " stride " << k.stride_h
                         << "," << k.stride_w << " pad " << k.pad_top << k.pad_left << k.pad_bottom
                         << k.pad_right << " signed " << k.src_signed << " out " << int(k.out)
                         << " threads " << (pool ? pool->num_threads() : 1);
  }
}

class DepthwiseSimd : public ::testing::TestWithParam<Variant> {
 protected:
  void SetUp() override {
    if (!kernel_isa_present(GetParam().isa))
      GTEST_SKIP() << "CPU lacks " << kernel_isa_name(GetParam().isa) << ": depthwise_conv2d__"
                   << GetParam().name << " not tested";
  }
};

TEST_P(DepthwiseSimd, EqualsReference) {
  const Variant& v = GetParam();
  std::mt19937_64 rng(21);
  ThreadPool two(2), three(3), four(4);
  const std::vector<ThreadPool*> pools = {nullptr, &two, &three, &four};
  for (int64_t kernel : {3, 5})
    for (int64_t c : {1, 5, 15, 16, 17, 31, 32, 33, 48, 63, 64, 70, 100})
      for (int64_t stride : {1, 2})
        for (int trial = 0; trial < 8; ++trial) {
          Case k;
          k.kernel = kernel;
          k.c = c;
          k.h = 1 + static_cast<int64_t>(rng() % 12);
          k.w = 1 + static_cast<int64_t>(rng() % 20);
          k.stride_h = stride;
          k.stride_w = rng() % 4 == 0 ? 3 - stride : stride;
          k.pad_top = static_cast<int64_t>(rng() % 4);
          k.pad_left = static_cast<int64_t>(rng() % 4);
          k.pad_bottom = static_cast<int64_t>(rng() % 4);
          k.pad_right = static_cast<int64_t>(rng() % 4);
          k.src_signed = rng() % 2;
          static const IntType kOut[] = {IntType::kS8, IntType::kU8, IntType::kS32};
          k.out = kOut[rng() % 3];
          check(v, k, rng, pools);
        }
}

// Paddings wider than the kernel's reach into the row (4-7 columns), where
// the first quad-row entries past entry 0 still take padding columns.
TEST_P(DepthwiseSimd, WidePadding) {
  const Variant& v = GetParam();
  std::mt19937_64 rng(23);
  ThreadPool two(2);
  const std::vector<ThreadPool*> pools = {nullptr, &two};
  for (int64_t kernel : {3, 5})
    for (int64_t c : {16, 17, 40})
      for (int64_t stride : {1, 2})
        for (int64_t pad = 4; pad <= 7; ++pad) {
          Case k{kernel, c, 1 + static_cast<int64_t>(rng() % 6), 1 + static_cast<int64_t>(rng() % 12),
                 stride, stride, pad, pad, static_cast<int64_t>(rng() % 8), static_cast<int64_t>(rng() % 8),
                 rng() % 2 == 0, IntType::kU8};
          check(v, k, rng, pools);
        }
}

TEST_P(DepthwiseSimd, MobileNetShapes) {
  const Variant& v = GetParam();
  std::mt19937_64 rng(22);
  ThreadPool two(2);
  const std::vector<ThreadPool*> pools = {nullptr, &two};
  check(v, {3, 32, 28, 28, 1, 1, 1, 1, 1, 1, false, IntType::kU8}, rng, pools);
  check(v, {3, 96, 28, 28, 2, 2, 0, 0, 1, 1, false, IntType::kU8}, rng, pools);
  check(v, {3, 144, 14, 14, 2, 2, 1, 1, 1, 1, true, IntType::kS8}, rng, pools);
  check(v, {3, 960, 7, 7, 1, 1, 1, 1, 1, 1, true, IntType::kS8}, rng, pools);
  // MobileNetV3 / EfficientNet 5x5 layers (padding 2; TF "same" pads 1 / 2 at stride 2).
  check(v, {5, 72, 28, 28, 2, 2, 2, 2, 2, 2, false, IntType::kU8}, rng, pools);
  check(v, {5, 120, 14, 14, 1, 1, 2, 2, 2, 2, true, IntType::kS8}, rng, pools);
  check(v, {5, 240, 14, 14, 2, 2, 1, 1, 2, 2, false, IntType::kU8}, rng, pools);
  check(v, {5, 672, 7, 7, 1, 1, 2, 2, 2, 2, true, IntType::kS32}, rng, pools);
}

std::string variant_name(const ::testing::TestParamInfo<Variant>& tp) { return tp.param.name; }
INSTANTIATE_TEST_SUITE_P(Variants, DepthwiseSimd, ::testing::ValuesIn(kVariants), variant_name);

TEST(DepthwisePlan, RefusesOtherShapes) {
  Conv2dParams p;
  p.in_c = p.out_c = p.groups = 8;
  p.kernel_h = p.kernel_w = 3;
  p.out.type = IntType::kS32;
  const std::vector<int8_t> w(8 * 7 * 7, 1);
  DepthwisePlan plan;
  std::string why;
  EXPECT_TRUE(depthwise_avx2_plan(p, true, w.data(), nullptr, nullptr, &plan, &why)) << why;
  p.stride_h = 3;
  EXPECT_FALSE(depthwise_avx2_plan(p, true, w.data(), nullptr, nullptr, &plan, &why));
  p.stride_h = 1;
  p.dilation_w = 2;
  EXPECT_FALSE(depthwise_avx2_plan(p, true, w.data(), nullptr, nullptr, &plan, &why));
  p.dilation_w = 1;
  p.out_c = 16;  // channel multiplier 2
  EXPECT_FALSE(depthwise_avx2_plan(p, true, w.data(), nullptr, nullptr, &plan, &why));
  p.out_c = 8;
  p.kernel_w = 5;  // not square
  EXPECT_FALSE(depthwise_avx2_plan(p, true, w.data(), nullptr, nullptr, &plan, &why));
  p.kernel_h = 5;
  EXPECT_TRUE(depthwise_avx2_plan(p, true, w.data(), nullptr, nullptr, &plan, &why)) << why;
  EXPECT_EQ(plan.kernel, 5);
  for (int k : {1, 4, 7}) {
    p.kernel_h = p.kernel_w = k;
    EXPECT_FALSE(depthwise_avx2_plan(p, true, w.data(), nullptr, nullptr, &plan, &why)) << k;
  }
  p.kernel_h = p.kernel_w = 3;
  EXPECT_TRUE(depthwise_avx512vnni_plan(p, true, w.data(), nullptr, nullptr, &plan, &why)) << why;
  EXPECT_FALSE(depthwise_plan(p, true, w.data(), nullptr, nullptr, 8, &plan, &why));
}

}  // namespace
}  // namespace dyad::kernels
