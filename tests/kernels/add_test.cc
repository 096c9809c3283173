// add reference kernel: each branch is rounded on its own and the sum is
// clamped once (numerics.md 2.2). Hand-computed goldens.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "kernels/add/add.h"

namespace dyad::kernels {
namespace {

constexpr int32_t kHalf = 1 << 30;

TEST(AddRef, BranchesRoundSeparatelyAndClampOnce) {
  // a: int32, z_a = 0; b: int8, z_b = 1; y: int8, z_y = -2; two channels.
  //   channel 0: both branches by 0.5 (m = 2^30, e = 31)
  //   channel 1: both branches by 1   (m = 2^30, e = 30)
  // element (channel): a, b - z_b -> branch a, branch b -> y
  //   e0 (0): 1, 1      -> rne(0.5) = 0, rne(0.5) = 0 -> -2
  //           (rounding the sum would give rne(1.0) = 1 -> -1)
  //   e1 (1): 200, -100 -> 200, -100 -> 98
  //           (clamping each branch to int8 first would give 127 - 100 - 2 = 25)
  //   e2 (0): 3, 3      -> rne(1.5) = 2, rne(1.5) = 2 -> 2
  //           (rounding the sum would give rne(3.0) = 3 -> 1)
  //   e3 (1): -300, 0   -> -302 -> clamps to -128
  const std::vector<int32_t> a = {1, 200, 3, -300};
  const std::vector<int8_t> b = {2, -99, 4, 1};
  const std::vector<Dyadic> rq = {{kHalf, 31}, {kHalf, 30}};
  AddParams p;
  p.count = 4;
  p.channels = 2;
  p.a_type = IntType::kS32;
  p.b_type = IntType::kS8;
  p.dst_type = IntType::kS8;
  p.b_zero_point = 1;
  p.dst_zero_point = -2;
  std::vector<int8_t> y(4, 0);
  add__ref(p, rq.data(), rq.data(), a.data(), b.data(), y.data());
  EXPECT_EQ(y, (std::vector<int8_t>{-2, 98, 2, -128}));
}

TEST(AddRef, DifferentConstantsPerBranchReluAndUint8) {
  // One channel. a (uint8, z_a = 128) by 0.75 (m = 3 * 2^29, e = 31);
  // b (int16, z_b = 0) by -0.25 (m = -2^30, e = 32); y uint8, z_y = 100, ReLU
  // (clamp below at z_y = 100).
  //   a = 130: (2 * 0.75 = 1.5 -> 2);  b = 6:  -1.5 -> -2;  y = 100 + 2 - 2 = 100
  //   a = 138: (10 * .75 = 7.5 -> 8);  b = -2:  0.5 -> 0;   y = 108
  //   a = 0:  (-128 * .75 = -96);      b = 10: -2.5 -> -2;  y = 2 -> ReLU -> 100
  //   a = 255: (127 * .75 = 95.25 -> 95); b = -400: 100;    y = 295 -> 255
  const std::vector<uint8_t> a = {130, 138, 0, 255};
  const std::vector<int16_t> b = {6, -2, 10, -400};
  const std::vector<Dyadic> rqa = {{3 * (1 << 29), 31}};
  const std::vector<Dyadic> rqb = {{-kHalf, 32}};
  AddParams p;
  p.count = 4;
  p.a_type = IntType::kU8;
  p.b_type = IntType::kS16;
  p.dst_type = IntType::kU8;
  p.a_zero_point = 128;
  p.dst_zero_point = 100;
  p.dst_min = 100;
  p.dst_max = 255;
  std::vector<uint8_t> y(4, 0);
  add__ref(p, rqa.data(), rqb.data(), a.data(), b.data(), y.data());
  EXPECT_EQ(y, (std::vector<uint8_t>{100, 108, 100, 255}));
}

TEST(AddRef, WideOutputNoClampInsideRange) {
  // HAWQ's residual requant into a 32-bit accumulator: int32 y, z_y = 0.
  // a = 2^31 - 1 by 1, b = 2^31 - 1 by 1: the sum 2^32 - 2 saturates to 2^31 - 1;
  // a = -2^31 by 1, b = 5 by 1: -2^31 + 5.
  const std::vector<int32_t> a = {INT32_MAX, INT32_MIN};
  const std::vector<int32_t> b = {INT32_MAX, 5};
  const std::vector<Dyadic> rq = {{kHalf, 30}};
  AddParams p;
  p.count = 2;
  p.a_type = p.b_type = p.dst_type = IntType::kS32;
  p.dst_min = INT32_MIN;
  p.dst_max = INT32_MAX;
  std::vector<int32_t> y(2, 0);
  add__ref(p, rq.data(), rq.data(), a.data(), b.data(), y.data());
  EXPECT_EQ(y, (std::vector<int32_t>{INT32_MAX, INT32_MIN + 5}));
}

TEST(AddRef, Int64BranchesAreExact) {
  // int64 inputs: a = 2^62 by 2 (m = 2^30, e = 29) is 2^63, out of int64 on its
  // own; b = -2^62 by 2 is -2^63. Their sum is 0, so y = z_y = 7 exactly
  // (saturating each branch to int64 first would give 2^63-1 - 2^63 + 7 = 6).
  const std::vector<int64_t> a = {int64_t{1} << 62};
  const std::vector<int64_t> b = {-(int64_t{1} << 62)};
  const std::vector<Dyadic> rq = {{kHalf, 29}};
  AddParams p;
  p.count = 1;
  p.a_type = p.b_type = p.dst_type = IntType::kS64;
  p.dst_zero_point = 7;
  p.dst_min = INT64_MIN;
  p.dst_max = INT64_MAX;
  std::vector<int64_t> y(1, 0);
  add__ref(p, rq.data(), rq.data(), a.data(), b.data(), y.data());
  EXPECT_EQ(y[0], 7);
}

}  // namespace
}  // namespace dyad::kernels
