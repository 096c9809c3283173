// conv2d reference kernel: hand-computed goldens (worked out in the comments)
// for zero points, padding, stride, dilation, groups, depthwise, requant
// ties, per-channel constants, negative multipliers, activation clamps and
// saturation; and thread-count independence.
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <vector>

#include "kernels/common/thread_pool.h"
#include "kernels/conv2d/conv2d.h"

namespace dyad::kernels {
namespace {

constexpr int32_t kHalf = 1 << 30;  // with e = 31: multiply by 0.5; e = 30: by 1

Conv2dParams raw_params(int64_t h, int64_t w, int64_t c, int64_t o, int64_t kh, int64_t kw) {
  Conv2dParams p;
  p.in_h = h;
  p.in_w = w;
  p.in_c = c;
  p.out_c = o;
  p.kernel_h = kh;
  p.kernel_w = kw;
  p.out_h = h - kh + 1;
  p.out_w = w - kw + 1;
  p.out.type = IntType::kS32;  // raw accumulator
  return p;
}

TEST(Conv2dRef, ZeroPointAndBiasRawAccumulator) {
  // x (3x3, one channel), z_x = 1, so x - z_x = [0 1 2; 3 4 5; 6 7 8].
  // w (2x2) = [1 -1; 2 0], bias 10. acc at (oh, ow):
  //   (0,0): 0*1 + 1*-1 + 3*2 + 4*0 = 5   -> 15
  //   (0,1): 1*1 + 2*-1 + 4*2 + 5*0 = 7   -> 17
  //   (1,0): 3*1 + 4*-1 + 6*2 + 7*0 = 11  -> 21
  //   (1,1): 4*1 + 5*-1 + 7*2 + 8*0 = 13  -> 23
  const std::vector<int8_t> x = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  const std::vector<int8_t> w = {1, -1, 2, 0};
  const std::vector<int32_t> bias = {10};
  Conv2dParams p = raw_params(3, 3, 1, 1, 2, 2);
  p.src_zero_point = 1;
  std::vector<int32_t> y(4, -1);
  conv2d_s8_qc8w__ref(p, x.data(), w.data(), bias.data(), y.data(), nullptr);
  EXPECT_EQ(y, (std::vector<int32_t>{15, 17, 21, 23}));

  // Requantized by 0.5 (m = 2^30, e = 31), ties to even, z_y = -3:
  //   7.5 -> 8, 8.5 -> 8, 10.5 -> 10, 11.5 -> 12; plus -3 -> 5, 5, 7, 9.
  const std::vector<Dyadic> rq = {{kHalf, 31}};
  p.out = {rq.data(), -3, -128, 127, IntType::kS8};
  std::vector<int8_t> y8(4, 0);
  conv2d_s8_qc8w__ref(p, x.data(), w.data(), bias.data(), y8.data(), nullptr);
  EXPECT_EQ(y8, (std::vector<int8_t>{5, 5, 7, 9}));
}

TEST(Conv2dRef, PaddingIsTheZeroPointAndStride) {
  // x = [1 2 3; 4 5 6; 7 8 9], z_x = 2, so x - z_x = [-1 0 1; 2 3 4; 5 6 7].
  // 3x3 kernel of ones, padding 1 on every side, stride 2: out 2x2.
  // Windows cover rows/cols {0,1} (first) and {1,2} (second); padding adds 0:
  //   (0,0): -1+0+2+3 = 4     (0,1): 0+1+3+4 = 8
  //   (1,0):  2+3+5+6 = 16    (1,1): 3+4+6+7 = 20
  // (Had padding been the value 0 instead of z_x, each would be lower by 2 * 5.)
  const std::vector<int8_t> x = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  const std::vector<int8_t> w(9, 1);
  Conv2dParams p = raw_params(3, 3, 1, 1, 3, 3);
  p.src_zero_point = 2;
  p.pad_top = p.pad_left = 1;
  p.stride_h = p.stride_w = 2;
  p.out_h = p.out_w = 2;
  std::vector<int32_t> y(4, -1);
  conv2d_s8_qc8w__ref(p, x.data(), w.data(), nullptr, y.data(), nullptr);
  EXPECT_EQ(y, (std::vector<int32_t>{4, 8, 16, 20}));
}

TEST(Conv2dRef, AsymmetricPaddingAndStride) {
  // x (2x3) = [1 2 3; 4 5 6], z_x = 0; 2x2 kernel [1 2; 3 4]; padding top 0,
  // left 1, bottom 1, right 0; stride (1, 2). Padded input is 3 rows x 4 cols:
  //   [0 1 2 3; 0 4 5 6; 0 0 0 0] (the zeros are padding).
  // out_h = (2 + 0 + 1 - 2)/1 + 1 = 2, out_w = (3 + 1 + 0 - 2)/2 + 1 = 2.
  //   (0,0): cols -1,0 rows 0,1: 0*1 + 1*2 + 0*3 + 4*4 = 18
  //   (0,1): cols  1,2 rows 0,1: 2*1 + 3*2 + 5*3 + 6*4 = 47
  //   (1,0): cols -1,0 rows 1,2: 0 + 4*2 + 0 + 0 = 8
  //   (1,1): cols  1,2 rows 1,2: 5*1 + 6*2 + 0 + 0 = 17
  const std::vector<int8_t> x = {1, 2, 3, 4, 5, 6};
  const std::vector<int8_t> w = {1, 2, 3, 4};
  Conv2dParams p = raw_params(2, 3, 1, 1, 2, 2);
  p.pad_left = 1;
  p.stride_w = 2;
  p.out_h = 2;
  p.out_w = 2;
  std::vector<int32_t> y(4, -1);
  conv2d_s8_qc8w__ref(p, x.data(), w.data(), nullptr, y.data(), nullptr);
  EXPECT_EQ(y, (std::vector<int32_t>{18, 47, 8, 17}));
}

TEST(Conv2dRef, Dilation) {
  // x (5x5) with x[h][w] = 5h + w; 2x2 kernel [1 2; 4 8] with dilation 2
  // (an effective 3x3 window), out 3x3. With v = x[oh][ow] = 5 oh + ow:
  //   acc = 1*v + 2*(v+2) + 4*(v+10) + 8*(v+12) = 15 v + 140
  //   v = 0,1,2,5,6,7,10,11,12 -> 140,155,170,215,230,245,290,305,320
  std::vector<int8_t> x(25);
  for (int i = 0; i < 25; ++i) x[i] = static_cast<int8_t>(i);
  const std::vector<int8_t> w = {1, 2, 4, 8};
  Conv2dParams p = raw_params(5, 5, 1, 1, 2, 2);
  p.dilation_h = p.dilation_w = 2;
  p.out_h = p.out_w = 3;
  std::vector<int32_t> y(9, -1);
  conv2d_s8_qc8w__ref(p, x.data(), w.data(), nullptr, y.data(), nullptr);
  EXPECT_EQ(y, (std::vector<int32_t>{140, 155, 170, 215, 230, 245, 290, 305, 320}));
}

TEST(Conv2dRef, Groups) {
  // x (1x1, 4 channels) = [1 2 3 4]; groups 2, 4 outputs (2 per group), each
  // weight row has 2 entries (in_c / groups):
  //   o0 (group 0, inputs 1 2): [1  1] -> 3     o1 (group 0): [1 -1] -> -1
  //   o2 (group 1, inputs 3 4): [1  1] -> 7     o3 (group 1): [2  0] -> 6
  const std::vector<int8_t> x = {1, 2, 3, 4};
  const std::vector<int8_t> w = {1, 1, 1, -1, 1, 1, 2, 0};
  Conv2dParams p = raw_params(1, 1, 4, 4, 1, 1);
  p.groups = 2;
  std::vector<int32_t> y(4, -1);
  conv2d_s8_qc8w__ref(p, x.data(), w.data(), nullptr, y.data(), nullptr);
  EXPECT_EQ(y, (std::vector<int32_t>{3, -1, 7, 6}));
}

TEST(Conv2dRef, DepthwisePerChannelRequant) {
  // x (2x2, 2 channels): pixel (0,0) = [1 10], (0,1) = [2 20], (1,0) = [3 30],
  // (1,1) = [4 40]. Depthwise (groups = C = O = 2), 2x2 kernels:
  //   channel 0: [1 1; 1 1]  -> 1+2+3+4 = 10
  //   channel 1: [1 0; 0 -1] -> 10 - 40 = -30
  const std::vector<int8_t> x = {1, 10, 2, 20, 3, 30, 4, 40};
  const std::vector<int8_t> w = {1, 1, 1, 1, 1, 0, 0, -1};
  Conv2dParams p = raw_params(2, 2, 2, 2, 2, 2);
  p.groups = 2;
  std::vector<int32_t> raw(2, -1);
  conv2d_s8_qc8w__ref(p, x.data(), w.data(), nullptr, raw.data(), nullptr);
  EXPECT_EQ(raw, (std::vector<int32_t>{10, -30}));

  // Per-channel requant: channel 0 by 0.25 (2^30 / 2^32): 2.5 -> 2 (tie to even);
  // channel 1 by -0.5 (m = -2^30, e = 31): -30 * -0.5 = 15.
  std::vector<Dyadic> rq = {{kHalf, 32}, {-kHalf, 31}};
  p.out = {rq.data(), 0, -128, 127, IntType::kS8};
  std::vector<int8_t> y(2, 0);
  conv2d_s8_qc8w__ref(p, x.data(), w.data(), nullptr, y.data(), nullptr);
  EXPECT_EQ(y, (std::vector<int8_t>{2, 15}));

  // Channel 1 by +0.5 gives -15; a ReLU (clamp below at z_y = 0) makes it 0.
  rq[1] = {kHalf, 31};
  p.out.min = 0;
  conv2d_s8_qc8w__ref(p, x.data(), w.data(), nullptr, y.data(), nullptr);
  EXPECT_EQ(y, (std::vector<int8_t>{2, 0}));
}

TEST(Conv2dRef, Uint8InputSaturatingOutput) {
  // x (uint8) = [255 0], z_x = 128 -> [127 -128]; w = [127 -128]; bias -13:
  //   acc = 127*127 + (-128)*(-128) - 13 = 16129 + 16384 - 13 = 32500.
  // By 0.5: 16250, saturates to 127 (int8) and to 255 (uint8, z_y = 10).
  // By 2^-20 (m = 2^30, e = 50): 32500 / 2^20 = 0.031 -> 0, so y = z_y.
  const std::vector<uint8_t> x = {255, 0};
  const std::vector<int8_t> w = {127, -128};
  const std::vector<int32_t> bias = {-13};
  Conv2dParams p = raw_params(1, 1, 2, 1, 1, 1);
  p.src_zero_point = 128;
  std::vector<int32_t> raw(1);
  conv2d_u8_qc8w__ref(p, x.data(), w.data(), bias.data(), raw.data(), nullptr);
  EXPECT_EQ(raw[0], 32500);

  std::vector<Dyadic> rq = {{kHalf, 31}};
  p.out = {rq.data(), 0, -128, 127, IntType::kS8};
  int8_t y8 = 0;
  conv2d_u8_qc8w__ref(p, x.data(), w.data(), bias.data(), &y8, nullptr);
  EXPECT_EQ(y8, 127);

  p.out = {rq.data(), 10, 0, 255, IntType::kU8};
  uint8_t yu = 0;
  conv2d_u8_qc8w__ref(p, x.data(), w.data(), bias.data(), &yu, nullptr);
  EXPECT_EQ(yu, 255);

  rq[0] = {kHalf, 50};
  conv2d_u8_qc8w__ref(p, x.data(), w.data(), bias.data(), &yu, nullptr);
  EXPECT_EQ(yu, 10);

  // int4 output (int8 container, [-8, 7]): -13 + 0 = -13 by 0.5 -> -6.5 -> -6;
  // with x = z_x the acc is the bias alone.
  const std::vector<uint8_t> x_zero = {128, 128};
  rq[0] = {kHalf, 31};
  p.out = {rq.data(), 0, -8, 7, IntType::kS8};
  conv2d_u8_qc8w__ref(p, x_zero.data(), w.data(), bias.data(), &y8, nullptr);
  EXPECT_EQ(y8, -6);
}

TEST(Conv2dRef, ThreadCountDoesNotChangeTheResult) {
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> byte(-128, 127);
  Conv2dParams p;
  p.batch = 2;
  p.in_h = 9;
  p.in_w = 7;
  p.in_c = 6;
  p.out_c = 4;
  p.groups = 2;
  p.kernel_h = p.kernel_w = 3;
  p.stride_h = 2;
  p.pad_top = p.pad_left = 1;
  p.out_h = (9 + 2 - 3) / 2 + 1;
  p.out_w = (7 + 1 - 3) / 1 + 1;
  p.src_zero_point = -3;
  std::vector<int8_t> x(2 * 9 * 7 * 6), w(4 * 3 * 3 * 3);
  for (auto& v : x) v = static_cast<int8_t>(byte(rng));
  for (auto& v : w) v = static_cast<int8_t>(byte(rng));
  const std::vector<int32_t> bias = {5, -7, 1000, -1000};
  const std::vector<Dyadic> rq = {{kHalf, 40}, {-kHalf, 38}, {1518500250, 41}, {kHalf, 39}};
  p.out = {rq.data(), 1, -128, 127, IntType::kS8};
  const size_t n = static_cast<size_t>(2 * p.out_h * p.out_w * 4);
  std::vector<int8_t> y1(n), y3(n);
  conv2d_s8_qc8w__ref(p, x.data(), w.data(), bias.data(), y1.data(), nullptr);
  ThreadPool pool(3);
  conv2d_s8_qc8w__ref(p, x.data(), w.data(), bias.data(), y3.data(), &pool);
  EXPECT_EQ(y1, y3);
}

}  // namespace
}  // namespace dyad::kernels
