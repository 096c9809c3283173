// average_pool reference kernel: floor of the average over valid positions
// (negative averages floor downwards), padding excluded from the count.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "kernels/average_pool/average_pool.h"
#include "kernels/common/thread_pool.h"

namespace dyad::kernels {
namespace {

Pool2dParams params(int64_t h, int64_t w, int64_t k, int64_t s, int64_t pad, int64_t o,
                    IntType type) {
  Pool2dParams p;
  p.in_h = h;
  p.in_w = w;
  p.kernel_h = p.kernel_w = k;
  p.stride_h = p.stride_w = s;
  p.pad_top = p.pad_left = pad;
  p.out_h = p.out_w = o;
  p.type = type;
  return p;
}

TEST(AveragePoolRef, FloorOfNegativeAverages) {
  // One 2x2 window, two channels: channel 0 [-1 -2 0 0] sums to -3, -3/4 = -0.75
  // floors to -1 (truncation would give 0); channel 1 [1 2 2 2] = 7/4 -> 1.
  const std::vector<int8_t> x = {-1, 1, -2, 2, 0, 2, 0, 2};
  Pool2dParams p = params(2, 2, 2, 2, 0, 1, IntType::kS8);
  p.channels = 2;
  std::vector<int8_t> y(2, 0);
  average_pool__ref(p, x.data(), y.data(), nullptr);
  EXPECT_EQ(y, (std::vector<int8_t>{-1, 1}));
}

TEST(AveragePoolRef, PaddingIsNotCounted) {
  // x = [1 2 3; 4 5 6; 7 8 9], 3x3 windows, stride 1, padding 1: out 3x3.
  //   (0,0) 1+2+4+5 = 12/4 = 3        (0,1) 1+..+6 = 21/6 = 3.5 -> 3   (0,2) 2+3+5+6 = 16/4 = 4
  //   (1,0) 27/6 = 4.5 -> 4           (1,1) 45/9 = 5                   (1,2) 33/6 = 5.5 -> 5
  //   (2,0) 4+5+7+8 = 24/4 = 6        (2,1) 39/6 = 6.5 -> 6            (2,2) 28/4 = 7
  std::vector<int8_t> x = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  std::vector<int8_t> y(9, 0);
  const Pool2dParams p = params(3, 3, 3, 1, 1, 3, IntType::kS8);
  average_pool__ref(p, x.data(), y.data(), nullptr);
  EXPECT_EQ(y, (std::vector<int8_t>{3, 3, 4, 4, 5, 5, 6, 6, 7}));
  // Negated input: the exact averages negate, and floor moves the halves down:
  //   -3, -3.5 -> -4, -4, -4.5 -> -5, -5, -5.5 -> -6, -6, -6.5 -> -7, -7.
  for (auto& v : x) v = static_cast<int8_t>(-v);
  average_pool__ref(p, x.data(), y.data(), nullptr);
  EXPECT_EQ(y, (std::vector<int8_t>{-3, -4, -4, -5, -5, -6, -6, -7, -7}));
}

TEST(AveragePoolRef, WideContainersAndThreads) {
  // int32, 1x4, 1x2 windows with stride 2: [2^31-1, 2^31-1] -> 2^31-1 (the sum
  // needs 33 bits); [-2^31, -2^31+1] -> (-2^32+1)/2 = -2^31 + 0.5 -> -2^31.
  const std::vector<int32_t> x = {INT32_MAX, INT32_MAX, INT32_MIN, INT32_MIN + 1};
  Pool2dParams p = params(1, 4, 1, 2, 0, 1, IntType::kS32);
  p.kernel_w = 2;
  p.stride_w = 2;
  p.out_w = 2;
  std::vector<int32_t> y(2, 0);
  average_pool__ref(p, x.data(), y.data(), nullptr);
  EXPECT_EQ(y, (std::vector<int32_t>{INT32_MAX, INT32_MIN}));
  ThreadPool pool(2);
  std::vector<int32_t> y2(2, 0);
  average_pool__ref(p, x.data(), y2.data(), &pool);
  EXPECT_EQ(y2, y);
}

}  // namespace
}  // namespace dyad::kernels
