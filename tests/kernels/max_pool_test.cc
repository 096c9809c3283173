// max_pool reference kernel: hand-computed goldens, padding ignored, wider
// containers, thread independence.
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <vector>

#include "kernels/common/thread_pool.h"
#include "kernels/max_pool/max_pool.h"

namespace dyad::kernels {
namespace {

Pool2dParams params(int64_t h, int64_t w, int64_t c, int64_t k, int64_t s, int64_t pad,
                    int64_t oh, int64_t ow, IntType type) {
  Pool2dParams p;
  p.in_h = h;
  p.in_w = w;
  p.channels = c;
  p.kernel_h = p.kernel_w = k;
  p.stride_h = p.stride_w = s;
  p.pad_top = p.pad_left = pad;
  p.out_h = oh;
  p.out_w = ow;
  p.type = type;
  return p;
}

TEST(MaxPoolRef, OverlappingWindows) {
  // x = [1 -2 3; -4 5 -6; 7 -8 9], 2x2 windows, stride 1:
  //   {1,-2,-4,5} -> 5   {-2,3,5,-6} -> 5   {-4,5,7,-8} -> 7   {5,-6,-8,9} -> 9
  const std::vector<int8_t> x = {1, -2, 3, -4, 5, -6, 7, -8, 9};
  std::vector<int8_t> y(4, 0);
  max_pool__ref(params(3, 3, 1, 2, 1, 0, 2, 2, IntType::kS8), x.data(), y.data(), nullptr);
  EXPECT_EQ(y, (std::vector<int8_t>{5, 5, 7, 9}));
}

TEST(MaxPoolRef, PaddingIsIgnored) {
  // x = [-1 -2 -3; -4 -5 -6; -7 -8 -9], 2x2 windows, stride 2, padding 1:
  // window rows/cols are {-1,0} and {1,2}; only real positions count:
  //   {-1} -> -1   {-2,-3} -> -2   {-4,-7} -> -4   {-5,-6,-8,-9} -> -5
  // (a padded value of 0 would make every output 0).
  const std::vector<int8_t> x = {-1, -2, -3, -4, -5, -6, -7, -8, -9};
  std::vector<int8_t> y(4, 0);
  max_pool__ref(params(3, 3, 1, 2, 2, 1, 2, 2, IntType::kS8), x.data(), y.data(), nullptr);
  EXPECT_EQ(y, (std::vector<int8_t>{-1, -2, -4, -5}));
}

TEST(MaxPoolRef, ChannelsAndWideContainers) {
  // x (1x2, 2 channels, int32): pixel 0 = [-70000 5], pixel 1 = [-80000 -5];
  // one 1x2 window: [-70000 5].
  const std::vector<int32_t> x = {-70000, 5, -80000, -5};
  std::vector<int32_t> y(2, 0);
  Pool2dParams p = params(1, 2, 2, 1, 1, 0, 1, 1, IntType::kS32);
  p.kernel_w = 2;
  max_pool__ref(p, x.data(), y.data(), nullptr);
  EXPECT_EQ(y, (std::vector<int32_t>{-70000, 5}));
  // uint8: 200 and 255 are above any int8; the max is 255, not a wrapped -1.
  const std::vector<uint8_t> xu = {200, 0, 255, 1};
  std::vector<uint8_t> yu(2, 0);
  p.type = IntType::kU8;
  max_pool__ref(p, xu.data(), yu.data(), nullptr);
  EXPECT_EQ(yu, (std::vector<uint8_t>{255, 1}));
}

TEST(MaxPoolRef, ThreadCountDoesNotChangeTheResult) {
  std::mt19937 rng(3);
  std::uniform_int_distribution<int> value(-32768, 32767);
  std::vector<int16_t> x(2 * 11 * 10 * 3);
  for (auto& v : x) v = static_cast<int16_t>(value(rng));
  Pool2dParams p = params(11, 10, 3, 3, 2, 1, 6, 5, IntType::kS16);
  p.batch = 2;
  std::vector<int16_t> y1(2 * 6 * 5 * 3), y2(y1.size());
  max_pool__ref(p, x.data(), y1.data(), nullptr);
  ThreadPool pool(3);
  max_pool__ref(p, x.data(), y2.data(), &pool);
  EXPECT_EQ(y1, y2);
}

}  // namespace
}  // namespace dyad::kernels
