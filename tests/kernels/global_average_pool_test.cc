// global_average_pool reference kernel: floor(sum / (H * W)) per channel.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "kernels/global_average_pool/global_average_pool.h"

namespace dyad::kernels {
namespace {

TEST(GlobalAveragePoolRef, FloorPerChannelAndBatch) {
  // Two images of 2x2 pixels, 2 channels.
  //   image 0: channel 0 [1 2 3 5] = 11/4 = 2.75 -> 2; channel 1 [-1 -2 -3 -5] -> -2.75 -> -3
  //   image 1: channel 0 [-4 -4 -4 -3] = -15/4 = -3.75 -> -4; channel 1 [0 0 0 -1] -> -0.25 -> -1
  const std::vector<int8_t> x = {1, -1, 2, -2, 3, -3, 5, -5,  //
                                 -4, 0, -4, 0, -4, 0, -3, -1};
  GlobalAveragePoolParams p;
  p.batch = 2;
  p.pixels = 4;
  p.channels = 2;
  p.type = IntType::kS8;
  std::vector<int8_t> y(4, 0);
  global_average_pool__ref(p, x.data(), y.data());
  EXPECT_EQ(y, (std::vector<int8_t>{2, -3, -4, -1}));
}

TEST(GlobalAveragePoolRef, Uint8AndInt16) {
  // uint8 [255 255 255 254] = 1019/4 = 254.75 -> 254 (no wrap to negative).
  const std::vector<uint8_t> xu = {255, 255, 255, 254};
  GlobalAveragePoolParams p;
  p.pixels = 4;
  p.type = IntType::kU8;
  uint8_t yu = 0;
  global_average_pool__ref(p, xu.data(), &yu);
  EXPECT_EQ(yu, 254);
  // int16, 3 pixels: [-32768 -32768 1] = -65535/3 = -21845 exactly.
  const std::vector<int16_t> xs = {-32768, -32768, 1};
  p.pixels = 3;
  p.type = IntType::kS16;
  int16_t ys = 0;
  global_average_pool__ref(p, xs.data(), &ys);
  EXPECT_EQ(ys, -21845);
}

}  // namespace
}  // namespace dyad::kernels
