// Matmul of two activations: hand-computed batches, transposed B, zero
// points, int16 softmax probabilities, int32 saturation, requantized outputs,
// and the simulator's golden vectors.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "kernels/common/thread_pool.h"
#include "kernels/matmul/matmul.h"
#include "tests/kernels/ibert_goldens.h"

namespace dyad::kernels {
namespace {

template <typename TY, typename TA, typename TB>
std::vector<TY> run(const MatmulParams& p, const std::vector<TA>& a, const std::vector<TB>& b,
                    ThreadPool* pool = nullptr) {
  EXPECT_TRUE(matmul_params_valid(p));
  std::vector<TY> y(p.batch * p.m * p.n, 0x5a);
  matmul__ref(p, a.data(), b.data(), y.data(), pool);
  return y;
}

MatmulParams shape(int64_t batch, int64_t m, int64_t k, int64_t n) {
  MatmulParams p;
  p.batch = batch;
  p.m = m;
  p.k = k;
  p.n = n;
  return p;
}

TEST(MatmulRef, HandComputedBatch) {
  // Batch 0: [[1, 2], [3, 4]] x [[5, 6], [7, 8]] = [[19, 22], [43, 50]].
  // Batch 1: [[-1, 0], [2, -128]] x [[127, 1], [1, -1]] = [[-127, -1], [126, 130]].
  const std::vector<int8_t> a = {1, 2, 3, 4, -1, 0, 2, -128};
  const std::vector<int8_t> b = {5, 6, 7, 8, 127, 1, 1, -1};
  MatmulParams p = shape(2, 2, 2, 2);
  EXPECT_EQ(run<int32_t>(p, a, b), (std::vector<int32_t>{19, 22, 43, 50, -127, -1, 126, 130}));
  // transpose_b reads b[t] as [n, k]: batch 0 becomes [[1,2],[3,4]] x [[5,7],[6,8]]
  //   = [[17, 23], [39, 53]]; batch 1: [[-1,0],[2,-128]] x [[127,1],[1,-1]]^T = [[-127,-1],[126,130]]...
  //   b[1] as [n, k] = [[127, 1], [1, -1]], transposed = [[127, 1], [1, -1]] (symmetric).
  p.transpose_b = true;
  EXPECT_EQ(run<int32_t>(p, a, b), (std::vector<int32_t>{17, 23, 39, 53, -127, -1, 126, 130}));
}

TEST(MatmulRef, ZeroPointsAndUnsigned) {
  // a uint8 [1, 1, 3] = [130, 128, 0] with z_a = 128 -> [2, 0, -128];
  // b uint8 [1, 3, 1] = [10, 255, 11] with z_b = 10 -> [0, 245, 1]: acc = -128.
  MatmulParams p = shape(1, 1, 3, 1);
  p.a_type = IntType::kU8;
  p.b_type = IntType::kU8;
  p.a_zero_point = 128;
  p.b_zero_point = 10;
  EXPECT_EQ(run<int32_t>(p, std::vector<uint8_t>{130, 128, 0}, std::vector<uint8_t>{10, 255, 11}),
            (std::vector<int32_t>{-128}));
}

TEST(MatmulRef, Int16ProbabilitiesTimesValues) {
  // P = [[256, 0, 0], [85, 85, 86]] (rows of a softmax), V = [[1, -2], [3, 4], [-128, 127]]:
  // row 0: [256, -512]; row 1: 85 + 255 - 11008 = -10668, -170 + 340 + 10922 = 11092.
  MatmulParams p = shape(1, 2, 3, 2);
  p.a_type = IntType::kS16;
  EXPECT_EQ(run<int32_t>(p, std::vector<int16_t>{256, 0, 0, 85, 85, 86},
                         std::vector<int8_t>{1, -2, 3, 4, -128, 127}),
            (std::vector<int32_t>{256, -512, -10668, 11092}));
  // Requantized by 2^-8 (m = 2^30, e = 38) to int8: 1, -2, rne(-41.67) = -42, 43.33 -> 43.
  p.requantize = true;
  p.y_type = IntType::kS8;
  p.multiplier = 1 << 30;
  p.shift = 38;
  p.y_min = -128;
  p.y_max = 127;
  EXPECT_EQ(run<int8_t>(p, std::vector<int16_t>{256, 0, 0, 85, 85, 86},
                        std::vector<int8_t>{1, -2, 3, 4, -128, 127}),
            (std::vector<int8_t>{1, -2, -42, 43}));
}

TEST(MatmulRef, RequantTiesZeroPointAndClamp) {
  // a [1, 4, 1] = [1, 3, 5, 127], b [1, 1, 1] = [1]: acc = a. m = 2^30, e = 31 (x 0.5):
  // 0.5 -> 0, 1.5 -> 2, 2.5 -> 2, 63.5 -> 64; + z_y = 100, clamp [0, 150]: [100, 102, 102, 150].
  MatmulParams p = shape(1, 4, 1, 1);
  p.requantize = true;
  p.y_type = IntType::kU8;
  p.multiplier = 1 << 30;
  p.shift = 31;
  p.y_zero_point = 100;
  p.y_min = 0;
  p.y_max = 150;
  EXPECT_EQ(run<uint8_t>(p, std::vector<int8_t>{1, 3, 5, 127}, std::vector<int8_t>{1}),
            (std::vector<uint8_t>{100, 102, 102, 150}));
}

TEST(MatmulRef, RawOutputSaturatesToInt32) {
  // int16 a = 32767 (outside the softmax range, still well defined) times -128, K = 1000:
  // acc = -4194176000 < INT32_MIN. K = 2: -2 * 32767 * 128 = -8388352 fits.
  MatmulParams p = shape(1, 1, 1000, 1);
  p.a_type = IntType::kS16;
  EXPECT_EQ(run<int32_t>(p, std::vector<int16_t>(1000, 32767), std::vector<int8_t>(1000, -128)),
            (std::vector<int32_t>{INT32_MIN}));
  p.k = 2;
  EXPECT_EQ(run<int32_t>(p, std::vector<int16_t>(2, 32767), std::vector<int8_t>(2, -128)),
            (std::vector<int32_t>{-8388352}));
}

TEST(MatmulRef, WideRowsSpanSeveralChunks) {
  // n = 150 columns (beyond the kernel's 64-column store chunk), k = 1, a = 2:
  // y[j] = 2 * b[j] for b[j] = (j % 255) - 127.
  MatmulParams p = shape(1, 1, 1, 150);
  std::vector<int8_t> b(150);
  std::vector<int32_t> expected(150);
  for (int j = 0; j < 150; ++j) {
    b[j] = static_cast<int8_t>((j % 255) - 127);
    expected[j] = 2 * b[j];
  }
  EXPECT_EQ(run<int32_t>(p, std::vector<int8_t>{2}, b), expected);
}

TEST(MatmulRef, ParamsValidation) {
  MatmulParams p = shape(1, 1, 1, 1);
  EXPECT_TRUE(matmul_params_valid(p));
  p.y_type = IntType::kS8;  // raw output must be int32
  EXPECT_FALSE(matmul_params_valid(p));
  p.requantize = true;
  p.y_min = -128;
  p.y_max = 127;
  EXPECT_TRUE(matmul_params_valid(p));
  p.b_type = IntType::kS16;
  EXPECT_FALSE(matmul_params_valid(p));
  p.b_type = IntType::kS8;
  p.a_type = IntType::kS32;
  EXPECT_FALSE(matmul_params_valid(p));
}

IntType int_type_of(const std::string& name) {
  if (name == "int8") return IntType::kS8;
  if (name == "uint8") return IntType::kU8;
  if (name == "int16") return IntType::kS16;
  return IntType::kS32;
}

// Packs JSON ints into a byte buffer of the given element type.
std::vector<uint8_t> pack(const nlohmann::json& values, IntType t) {
  std::vector<int64_t> v = test::json_ints<int64_t>(values);
  std::vector<uint8_t> bytes(v.size() * int_type_bytes(t));
  store_ints(v.data(), v.size(), t, bytes.data(), 0);
  return bytes;
}

TEST(MatmulRef, SimulatorGoldens) {
  ThreadPool pool(2);
  for (const auto& tc : test::load_ibert_goldens("matmul")) {
    SCOPED_TRACE(tc.at("name").get<std::string>());
    MatmulParams p = shape(tc.at("batch"), tc.at("m"), tc.at("k"), tc.at("n"));
    p.a_type = int_type_of(tc.at("a_dtype"));
    p.b_type = int_type_of(tc.at("b_dtype"));
    p.y_type = int_type_of(tc.at("y_dtype"));
    p.transpose_b = tc.at("transpose_b");
    p.a_zero_point = tc.at("a_zero_point");
    p.b_zero_point = tc.at("b_zero_point");
    p.requantize = tc.contains("multiplier");
    if (p.requantize) {
      p.multiplier = tc.at("multiplier");
      p.shift = tc.at("shift");
      p.y_zero_point = tc.at("y_zero_point");
      p.y_min = tc.at("y_min");
      p.y_max = tc.at("y_max");
    }
    ASSERT_TRUE(matmul_params_valid(p));
    const auto a = pack(tc.at("a"), p.a_type);
    const auto b = pack(tc.at("b"), p.b_type);
    const auto expected = test::json_ints<int64_t>(tc.at("y"));
    for (ThreadPool* tp : {static_cast<ThreadPool*>(nullptr), &pool}) {
      std::vector<uint8_t> y(expected.size() * int_type_bytes(p.y_type), 0x5a);
      matmul__ref(p, a.data(), b.data(), y.data(), tp);
      std::vector<int64_t> got(expected.size());
      load_ints(y.data(), p.y_type, 0, got.size(), got.data());
      EXPECT_EQ(got, expected);
    }
  }
}

}  // namespace
}  // namespace dyad::kernels
