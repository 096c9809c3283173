// fully_connected reference kernel: hand-computed goldens with input zero
// points, bias, per-channel requant ties, 4-bit and uint8 outputs, and thread
// independence.
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <vector>

#include "kernels/common/thread_pool.h"
#include "kernels/fully_connected/fully_connected.h"

namespace dyad::kernels {
namespace {

constexpr int32_t kHalf = 1 << 30;

// x (2x3) = [[0 1 2] [-1 3 -5]], z_x = -1, so x - z_x = [[1 2 3] [0 4 -4]].
// w (2x3) = [[1 0 -1] [2 1 1]], b = [100 -50].
//   row 0: o0 = 1 - 3 + 100 = 98         o1 = 2 + 2 + 3 - 50 = -43
//   row 1: o0 = 0 + 0 + 4 + 100 = 104    o1 = 0 + 4 - 4 - 50 = -50
const std::vector<int8_t> kX = {0, 1, 2, -1, 3, -5};
const std::vector<int8_t> kW = {1, 0, -1, 2, 1, 1};
const std::vector<int32_t> kBias = {100, -50};

FullyConnectedParams params() {
  FullyConnectedParams p;
  p.rows = 2;
  p.in_features = 3;
  p.out_features = 2;
  p.src_zero_point = -1;
  return p;
}

TEST(FullyConnectedRef, RawAccumulator) {
  FullyConnectedParams p = params();
  std::vector<int32_t> y(4, 0);
  fully_connected_s8_qc8w__ref(p, kX.data(), kW.data(), kBias.data(), y.data(), nullptr);
  EXPECT_EQ(y, (std::vector<int32_t>{98, -43, 104, -50}));

  // Without bias: 98 - 100, -43 + 50, 104 - 100, -50 + 50.
  fully_connected_s8_qc8w__ref(p, kX.data(), kW.data(), nullptr, y.data(), nullptr);
  EXPECT_EQ(y, (std::vector<int32_t>{-2, 7, 4, 0}));
}

TEST(FullyConnectedRef, PerChannelRequantTiesAndZeroPoint) {
  // o0 by 0.25 (e = 32): 98/4 = 24.5 -> 24, 104/4 = 26.
  // o1 by 0.5  (e = 31): -43/2 = -21.5 -> -22, -50/2 = -25.
  // z_y = 3: 27, -19, 29, -22.
  FullyConnectedParams p = params();
  const std::vector<Dyadic> rq = {{kHalf, 32}, {kHalf, 31}};
  p.out = {rq.data(), 3, -128, 127, IntType::kS8};
  std::vector<int8_t> y(4, 0);
  fully_connected_s8_qc8w__ref(p, kX.data(), kW.data(), kBias.data(), y.data(), nullptr);
  EXPECT_EQ(y, (std::vector<int8_t>{27, -19, 29, -22}));

  // int4 output (int8 container, [-8, 7]), z_y = 0: 24 -> 7, -22 -> -8, 26 -> 7, -25 -> -8.
  p.out = {rq.data(), 0, -8, 7, IntType::kS8};
  fully_connected_s8_qc8w__ref(p, kX.data(), kW.data(), kBias.data(), y.data(), nullptr);
  EXPECT_EQ(y, (std::vector<int8_t>{7, -8, 7, -8}));

  // A clamp activation [-20, 25] with z_y = 3: 27 -> 25, -19, 29 -> 25, -22 -> -20.
  p.out = {rq.data(), 3, -20, 25, IntType::kS8};
  fully_connected_s8_qc8w__ref(p, kX.data(), kW.data(), kBias.data(), y.data(), nullptr);
  EXPECT_EQ(y, (std::vector<int8_t>{25, -19, 25, -20}));
}

TEST(FullyConnectedRef, Uint8InputAndOutput) {
  // x (uint8, 1x2) = [200 50], z_x = 100 -> [100 -50]; w = [[1 1] [-2 3]]:
  //   o0 = 100 - 50 = 50; o1 = -200 - 150 = -350.
  // By 1 (m = 2^30, e = 30), uint8 with z_y = 128: 178 and -222 -> 0.
  const std::vector<uint8_t> x = {200, 50};
  const std::vector<int8_t> w = {1, 1, -2, 3};
  FullyConnectedParams p;
  p.in_features = 2;
  p.out_features = 2;
  p.src_zero_point = 100;
  const std::vector<Dyadic> rq = {{kHalf, 30}, {kHalf, 30}};
  p.out = {rq.data(), 128, 0, 255, IntType::kU8};
  std::vector<uint8_t> y(2, 7);
  fully_connected_u8_qc8w__ref(p, x.data(), w.data(), nullptr, y.data(), nullptr);
  EXPECT_EQ(y, (std::vector<uint8_t>{178, 0}));
}

TEST(FullyConnectedRef, ThreadCountDoesNotChangeTheResult) {
  std::mt19937 rng(11);
  std::uniform_int_distribution<int> byte(-128, 127);
  FullyConnectedParams p;
  p.rows = 13;
  p.in_features = 37;
  p.out_features = 9;
  p.src_zero_point = 5;
  std::vector<int8_t> x(13 * 37), w(9 * 37);
  for (auto& v : x) v = static_cast<int8_t>(byte(rng));
  for (auto& v : w) v = static_cast<int8_t>(byte(rng));
  std::vector<Dyadic> rq(9, Dyadic{1518500250, 44});
  p.out = {rq.data(), -2, -128, 127, IntType::kS8};
  std::vector<int8_t> y1(13 * 9), y2(13 * 9);
  fully_connected_s8_qc8w__ref(p, x.data(), w.data(), nullptr, y1.data(), nullptr);
  ThreadPool pool(2);
  fully_connected_s8_qc8w__ref(p, x.data(), w.data(), nullptr, y2.data(), &pool);
  EXPECT_EQ(y1, y2);
}

}  // namespace
}  // namespace dyad::kernels
