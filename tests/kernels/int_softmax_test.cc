// i-softmax reference kernel (numerics.md 5.2-5.5): hand-computed rows, the
// fused 16-bit step's edges, masks (broadcast, any dtype, fully masked), the
// 256 output, sum == 0, and the simulator's golden vectors bit for bit.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "kernels/common/thread_pool.h"
#include "kernels/int_softmax/int_softmax.h"
#include "tests/kernels/ibert_goldens.h"

namespace dyad::kernels {
namespace {

constexpr int64_t kTwo62 = int64_t{1} << 62;

// S = 0.01 constants (numerics.md 5.1): x0_int = -70, b_int = 270, c_int = 27921,
// with a made-up act: M = 2^62, E = 63, so e16 = rne(z / 2^(1 + q)).
IntSoftmaxParams hand_params(int64_t rows, int64_t length) {
  IntSoftmaxParams p;
  p.rows = rows;
  p.length = length;
  p.x0_int = -70;
  p.b_int = 270;
  p.c_int = 27921;
  p.act_m = kTwo62;
  p.act_e = 63;
  return p;
}

std::vector<int16_t> run(const IntSoftmaxParams& p, const std::vector<int32_t>& x,
                         ThreadPool* pool = nullptr) {
  EXPECT_TRUE(int_softmax_params_valid(p));
  std::vector<int16_t> y(x.size(), 0x5a5a);
  int_softmax_s32__ref(p, x.data(), y.data(), pool);
  return y;
}

TEST(IntSoftmaxRef, HandComputedRow) {
  // x = [0, -70, -35, -3000], max 0:
  //   j0: d = 0,     q = 0,  r = 0,   z = 27921,                 e16 = rne(13960.5) = 13960 (tie, even)
  //   j1: d = -70,   q = 1,  r = 0,   z = 27921,                 e16 = rne(6980.25) = 6980
  //   j2: d = -35,   q = 0,  r = -35, z = 235 * -35 + 27921 = 19696, e16 = 9848
  //   j3: d = -3000 -> clamp -2100, q = 30, r = 0, e16 = rne(27921 / 2^31) = 0
  // sum = 30788, factor = floor(2^32 / 30788) = 139501,
  // y = floor(e16 * 139501 / 2^24) = [116, 58, 81, 0].
  EXPECT_EQ(run(hand_params(1, 4), {0, -70, -35, -3000}), (std::vector<int16_t>{116, 58, 81, 0}));
  // The same row shifted by a constant gives the same output (max subtraction).
  EXPECT_EQ(run(hand_params(1, 4), {1000, 930, 965, -2000}), (std::vector<int16_t>{116, 58, 81, 0}));
}

TEST(IntSoftmaxRef, MaskTakesMaxOverUnmaskedEntries) {
  // Same row, entry 0 masked: max over the rest is -35.
  //   j0: masked -> d = -2100, e16 = 0;  j1: d = -35 -> 9848;  j2: d = 0 -> 13960;
  //   j3: d = -2965 -> clamp -> 0.  sum = 23808, factor = 180400, y = [0, 105, 150, 0].
  IntSoftmaxParams p = hand_params(1, 4);
  const uint8_t mask[4] = {0, 1, 1, 1};
  p.mask.data = mask;
  p.mask.rank = 1;
  p.mask.dims[0] = 1;
  p.mask.row_strides[0] = 4;
  EXPECT_EQ(run(p, {0, -70, -35, -3000}), (std::vector<int16_t>{0, 105, 150, 0}));
  // Fully masked row: all zeros (documented choice).
  const uint8_t none[4] = {0, 0, 0, 0};
  p.mask.data = none;
  EXPECT_EQ(run(p, {0, -70, -35, -3000}), (std::vector<int16_t>(4, 0)));
}

TEST(IntSoftmaxRef, OutputOf256) {
  // c_int = 2^14 with M = 2^62, E = 62: e16 = rne(z / 2^q). x = [0, -5000]:
  //   j0: z = 16384, e16 = 16384 = 2^14;  j1: clamp, q = 30, e16 = rne(2^14 / 2^30) = 0.
  //   sum = 2^14, factor = 2^18, y = 2^32 >> 24 = 256.
  IntSoftmaxParams p = hand_params(1, 2);
  p.c_int = 16384;
  p.act_e = 62;
  EXPECT_EQ(run(p, {0, -5000}), (std::vector<int16_t>{256, 0}));
}

TEST(IntSoftmaxRef, Act16ClampsAt32767) {
  // c_int = 40000, M = 2^62, E = 62: the row maximum gives rne(40000) -> 32767.
  //   x = [0, 0]: sum = 65534, factor = floor(2^32 / 65534) = 65538 (65534 * 65538 = 2^32 - 4),
  //   y = floor(32767 * 65538 / 2^24) = floor(2147483646 / 16777216) = 127.
  IntSoftmaxParams p = hand_params(1, 2);
  p.c_int = 40000;
  p.act_e = 62;
  EXPECT_EQ(run(p, {0, 0}), (std::vector<int16_t>{127, 127}));
}

TEST(IntSoftmaxRef, ClampAt30X0) {
  // The clamp d >= 30 * x0_int is visible only when the act saturates: c_int = 2^46,
  // M = 2^62, E = 62, so e16 = min(rne(z / 2^q), 32767). x = [0, -2240]:
  //   j0: q = 0, e16 = 32767;  j1: d = -2240 -> clamp -2100, q = 30, r = 0,
  //   e16 = min(2^16, 32767) = 32767 (unclamped, q = 32 would give 2^14).
  //   sum 65534, factor 65538, y = floor(32767 * 65538 / 2^24) = 127 each.
  IntSoftmaxParams p = hand_params(1, 2);
  p.c_int = int64_t{1} << 46;
  p.act_e = 62;
  EXPECT_EQ(run(p, {0, -2240}), (std::vector<int16_t>{127, 127}));
}

TEST(IntSoftmaxRef, SumZeroGivesZeros) {
  IntSoftmaxParams p = hand_params(1, 3);
  p.act_m = 0;  // every e16 is 0
  EXPECT_EQ(run(p, {5, 1, -9}), (std::vector<int16_t>(3, 0)));
  p = hand_params(1, 3);
  p.act_e = 200;  // every z * M / 2^(E + q) < 1/2
  EXPECT_EQ(run(p, {5, 1, -9}), (std::vector<int16_t>(3, 0)));
}

TEST(IntSoftmaxRef, FusedStepEdges) {
  // z <= 0 gives 0.
  EXPECT_EQ(int_softmax_e16(0, kTwo62, 10), 0);
  EXPECT_EQ(int_softmax_e16(-5, kTwo62, 10), 0);
  // Ties to even: 3 * 2^62 / 2^63 = 1.5 -> 2; 5 * 2^62 / 2^63 = 2.5 -> 2; 7/2 -> 4.
  EXPECT_EQ(int_softmax_e16(3, kTwo62, 63), 2);
  EXPECT_EQ(int_softmax_e16(5, kTwo62, 63), 2);
  EXPECT_EQ(int_softmax_e16(7, kTwo62, 63), 4);
  // At a 127-bit shift: z * M = 2^64 * 2^62 = 2^126 is exactly one half -> 0 (even).
  EXPECT_EQ(int_softmax_e16(static_cast<int128_t>(1) << 64, kTwo62, 127), 0);
  // (2^63 + 2^62) * (2^63 - 1) > 2^126: above one half at shift 127 -> 1.
  const int128_t z = (static_cast<int128_t>(1) << 63) + kTwo62;
  EXPECT_EQ(int_softmax_e16(z, INT64_MAX, 127), 1);
  EXPECT_EQ(int_softmax_e16(z, INT64_MAX, 128), 0);  // below one half of 2^128
  EXPECT_EQ(int_softmax_e16(z, INT64_MAX, 1000), 0);
  // Shift 0: no rounding, saturates at 32767; 32767 itself passes.
  EXPECT_EQ(int_softmax_e16(32767, 1, 0), 32767);
  EXPECT_EQ(int_softmax_e16(32768, 1, 0), 32767);
  // A large product rounds exactly: 40000 * 2^62 / 2^62 = 40000 -> clamp.
  EXPECT_EQ(int_softmax_e16(40000, kTwo62, 62), 32767);
}

TEST(IntSoftmaxRef, ExtremeScoresAndEqualRows) {
  // INT32_MIN and INT32_MAX in one row: the difference 2^32 - 1 is clamped.
  // x = [INT32_MAX, INT32_MIN]: e16 = [13960, 0] -> factor = floor(2^32 / 13960) = 307662
  //   (13960 * 307662 = 4294961520), y = [floor(4294961520 / 2^24), 0] = [255, 0].
  EXPECT_EQ(run(hand_params(1, 2), {INT32_MAX, INT32_MIN}), (std::vector<int16_t>{255, 0}));
  // All equal: e16 = 13960 each, sum = 4 * 13960 = 55840, factor = 76915
  //   (55840 * 76915 = 4294933600), y = floor(13960 * 76915 / 2^24) = floor(1073733400 / 16777216) = 63.
  EXPECT_EQ(run(hand_params(1, 4), {-7, -7, -7, -7}), (std::vector<int16_t>(4, 63)));
}

TEST(IntSoftmaxRef, BroadcastMaskMatchesExpandedMask) {
  // Scores [B=2, H=2, Lq=3, L=4] with HF's padding mask [B, L] (dims {B, H, Lq},
  // strides {L, 0, 0}), against the same mask written out per row; also with
  // the mask stored as int32 and int64 (a value is nonzero iff a byte is).
  constexpr int B = 2, H = 2, Lq = 3, L = 4, rows = B * H * Lq;
  std::vector<int32_t> x(rows * L);
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<int32_t>((i * 37) % 101) - 50;
  const uint8_t pad[B * L] = {1, 1, 1, 0, 1, 0, 0, 0};
  std::vector<uint8_t> full(rows * L);
  for (int r = 0; r < rows; ++r)
    for (int j = 0; j < L; ++j) full[r * L + j] = pad[(r / (H * Lq)) * L + j];

  IntSoftmaxParams p = hand_params(rows, L);
  p.mask.data = full.data();
  p.mask.rank = 1;
  p.mask.dims[0] = rows;
  p.mask.row_strides[0] = L;
  const std::vector<int16_t> expected = run(p, x);

  p.mask.data = pad;
  p.mask.rank = 3;
  p.mask.dims[0] = B;
  p.mask.dims[1] = H;
  p.mask.dims[2] = Lq;
  p.mask.row_strides[0] = L;
  p.mask.row_strides[1] = 0;
  p.mask.row_strides[2] = 0;
  EXPECT_EQ(run(p, x), expected);

  std::vector<int32_t> pad32(pad, pad + B * L);
  pad32[0] = 0x100;  // nonzero only in its second byte
  p.mask.data = pad32.data();
  p.mask.elem_bytes = 4;
  EXPECT_EQ(run(p, x), expected);
  std::vector<int64_t> pad64(pad, pad + B * L);
  pad64[1] = int64_t{1} << 40;
  p.mask.data = pad64.data();
  p.mask.elem_bytes = 8;
  EXPECT_EQ(run(p, x), expected);

  // Masked entries are 0 and each row with a kept entry sums to about 256.
  for (int r = 0; r < rows; ++r) {
    for (int j = 0; j < L; ++j) {
      if (full[r * L + j] == 0) {
        EXPECT_EQ(expected[r * L + j], 0);
      }
    }
  }
}

TEST(IntSoftmaxRef, ParamsValidation) {
  IntSoftmaxParams p = hand_params(2, 3);
  EXPECT_TRUE(int_softmax_params_valid(p));
  p.x0_int = 0;
  EXPECT_FALSE(int_softmax_params_valid(p));
  p = hand_params(2, 3);
  p.act_m = -1;
  EXPECT_FALSE(int_softmax_params_valid(p));
  p = hand_params(2, 3);
  p.c_int = kIntSoftmaxMaxAbsC + 1;
  EXPECT_FALSE(int_softmax_params_valid(p));
  p = hand_params(2, 3);
  uint8_t m[6] = {};
  p.mask.data = m;
  p.mask.rank = 1;
  p.mask.dims[0] = 3;  // 3 != rows
  EXPECT_FALSE(int_softmax_params_valid(p));
  p.mask.dims[0] = 2;
  EXPECT_TRUE(int_softmax_params_valid(p));
  p.mask.elem_bytes = 3;
  EXPECT_FALSE(int_softmax_params_valid(p));
}

TEST(IntSoftmaxRef, SimulatorGoldens) {
  ThreadPool pool(2);
  int count256 = 0;
  for (const auto& tc : test::load_ibert_goldens("int_softmax")) {
    SCOPED_TRACE(tc.at("name").get<std::string>());
    IntSoftmaxParams p;
    p.rows = tc.at("rows").get<int64_t>();
    p.length = tc.at("length").get<int64_t>();
    p.x0_int = tc.at("x0_int").get<int64_t>();
    p.b_int = tc.at("b_int").get<int64_t>();
    p.c_int = tc.at("c_int").get<int64_t>();
    p.act_m = tc.at("M").get<int64_t>();
    p.act_e = tc.at("E").get<int32_t>();
    std::vector<uint8_t> mask;
    if (tc.contains("mask")) {
      mask = test::json_ints<uint8_t>(tc.at("mask"));
      p.mask.data = mask.data();
      p.mask.rank = 1;
      p.mask.dims[0] = p.rows;
      p.mask.row_strides[0] = p.length;
    }
    const auto x = test::json_ints<int32_t>(tc.at("x"));
    const auto expected = test::json_ints<int16_t>(tc.at("y"));
    EXPECT_EQ(run(p, x), expected);
    EXPECT_EQ(run(p, x, &pool), expected);
    for (int16_t v : expected) count256 += v == 256;
  }
  EXPECT_GT(count256, 0);  // the goldens do reach 256
}

}  // namespace
}  // namespace dyad::kernels
