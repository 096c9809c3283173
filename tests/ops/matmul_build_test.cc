// matmul through the loader, planner and session: raw and requantized
// outputs, transpose_b, batches, zero points, int16 softmax operands, and one
// error per invalid field.
#include <gtest/gtest.h>

#include "kernels/common/cpu.h"
#include "tests/ops/op_test_util.h"

namespace dyad::test {
namespace {

json model(const Shape& a_shape, const Shape& b_shape, const json& attrs,
           const std::string& y_dtype = "int32", const std::string& a_dtype = "int8",
           const std::string& b_dtype = "int8") {
  const json tensors = {{{"name", "a"}, {"dtype", a_dtype}, {"shape", a_shape}, {"scale", 0.5}},
                        {{"name", "b"}, {"dtype", b_dtype}, {"shape", b_shape}, {"scale", 0.25}},
                        {{"name", "y"}, {"dtype", y_dtype}, {"scale", 0.25}}};
  return one_node_model("matmul", tensors, {"a", "b"}, {"y"}, attrs, {"a", "b"});
}

// [[1 2 3] [4 5 6]] x [[1 2] [3 4] [5 6]] = [[22 28] [49 64]].
const std::vector<int8_t> kA = {1, 2, 3, 4, 5, 6};
const std::vector<int8_t> kB = {1, 2, 3, 4, 5, 6};
const std::vector<int8_t> kBt = {1, 3, 5, 2, 4, 6};  // the same matrix as [N, K]

// The kernel the planner picks: the AVX2 variant where the CPU has it (on
// ARM the SDOT one).
std::string expected_kernel(const std::string& op) {
  if (kernels::kernel_isa_usable(kernels::KernelIsa::kAvx512Vnni)) return op + "__avx512vnni";
  if (kernels::kernel_isa_usable(kernels::KernelIsa::kDotprod)) return op + "__dotprod";
  return op + (kernels::cpu_features().avx2 ? "__avx2" : "__ref");
}

TEST(MatmulBuild, RawAccumulator) {
  EXPECT_EQ(
      run_model<int32_t>(model({1, 2, 3}, {1, 3, 2}, json::object()), {bytes_of(kA), bytes_of(kB)}),
      (std::vector<int32_t>{22, 28, 49, 64}));
  EXPECT_EQ(kernel_of(model({1, 2, 3}, {1, 3, 2}, json::object())), expected_kernel("matmul"));
  const json t = model({2, 3}, {2, 3}, {{"transpose_b", true}});
  EXPECT_EQ(run_model<int32_t>(t, {bytes_of(kA), bytes_of(kBt)}),
            (std::vector<int32_t>{22, 28, 49, 64}));
  EXPECT_EQ(kernel_of(t), expected_kernel("matmul_bt"));
}

TEST(MatmulBuild, BatchedHeadsWithZeroPoints) {
  // [1, 2, 1, 2] x [1, 2, 2, 1]: head 0 [1 2].[3 4] = 11, head 1 [-1 0].[5 -6] = -5.
  // With z_a = 1 and z_b = -1: head 0 [0 1].[4 5] = 5, head 1 [-2 -1].[6 -5] = -7.
  json m = model({1, 2, 1, 2}, {1, 2, 2, 1}, json::object());
  const std::vector<int8_t> a = {1, 2, -1, 0}, b = {3, 4, 5, -6};
  EXPECT_EQ(run_model<int32_t>(m, {bytes_of(a), bytes_of(b)}), (std::vector<int32_t>{11, -5}));
  m["tensors"][0]["zero_point"] = 1;
  m["tensors"][1]["zero_point"] = -1;
  EXPECT_EQ(run_model<int32_t>(m, {bytes_of(a), bytes_of(b)}, 2), (std::vector<int32_t>{5, -7}));
}

TEST(MatmulBuild, RequantizedOutput) {
  // By 0.5, ties to even: 11 14 24.5 -> 24 32; with z_y = 3: 14 17 27 35.
  const json stored = {{"multiplier", 1073741824}, {"shift", 31}};
  json m = model({1, 2, 3}, {1, 3, 2}, stored, "int8");
  EXPECT_EQ(run_model<int8_t>(m, {bytes_of(kA), bytes_of(kB)}),
            (std::vector<int8_t>{11, 14, 24, 32}));
  m["tensors"][2]["zero_point"] = 3;
  EXPECT_EQ(run_model<int8_t>(m, {bytes_of(kA), bytes_of(kB)}),
            (std::vector<int8_t>{14, 17, 27, 35}));
  // Derived from the scales: f32(0.5 * 0.25) / f32(0.25) = 0.5, the same pair.
  EXPECT_EQ(run_model<int8_t>(model({1, 2, 3}, {1, 3, 2}, json::object(), "int8"),
                              {bytes_of(kA), bytes_of(kB)}),
            (std::vector<int8_t>{11, 14, 24, 32}));
  // Activation clamp [0, 20]: 11 14 20 20.
  EXPECT_EQ(run_model<int8_t>(model({1, 2, 3}, {1, 3, 2},
                                    {{"multiplier", 1073741824},
                                     {"shift", 31},
                                     {"activation", "clamp"},
                                     {"clamp", {0, 20}}},
                                    "int8"),
                              {bytes_of(kA), bytes_of(kB)}),
            (std::vector<int8_t>{11, 14, 20, 20}));
}

TEST(MatmulBuild, Int16SoftmaxOperand) {
  // P (int16, up to 256) . V: [256 0; 64 192] x [[100] [-100]] = 25600, -12800;
  // by 2^-8 -> 100, -50.
  const std::vector<int16_t> p = {256, 0, 64, 192};
  const std::vector<int8_t> v = {100, -100};
  EXPECT_EQ(run_model<int8_t>(model({1, 2, 2}, {1, 2, 1},
                                    {{"multiplier", 1073741824}, {"shift", 38}}, "int8", "int16"),
                              {bytes_of(p), bytes_of(v)}),
            (std::vector<int8_t>{100, -50}));
}

TEST(MatmulBuild, Errors) {
  expect_build_error(model({1, 2, 3}, {2, 3, 2}, json::object()), "inputs[1]",
                     {"leading axis 0", "no broadcasting"});
  expect_build_error(model({1, 2, 3}, {3, 2}, json::object()), "inputs[1]", {"ranks differ"});
  expect_build_error(model({1, 2, 3}, {1, 2, 2}, json::object()), "inputs[1]", {"inner"});
  expect_build_error(model({1, 2, 3}, {1, 3, 2}, {{"transpose_b", true}}), "inputs[1]",
                     {"inner", "transpose_b"});
  expect_build_error(model({3}, {3}, json::object()), "inputs[0]", {"[..., M, K]"});
  expect_build_error(model({1, 2, 3}, {1, 3, 2}, {{"transpose_b", 1}}), "attrs.transpose_b",
                     {"true or false"});
  expect_build_error(model({1, 2, 3}, {1, 3, 2}, {{"multiplier", 1}, {"shift", 1}}),
                     "attrs.multiplier", {"raw accumulator"});
  expect_build_error(model({1, 2, 3}, {1, 3, 2}, {{"multiplier", 1}}, "int8"), "attrs.shift",
                     {"missing"});
  expect_build_error(model({1, 2, 3}, {1, 3, 2}, json::object(), "int64"), "outputs[0]", {"int64"});
  expect_build_error(model({1, 2, 3}, {1, 3, 2}, json::object(), "int32", "int8", "int16"),
                     "inputs[1]", {"int16"});
  expect_build_error(model({1, 2, 3}, {1, 3, 2}, json::object(), "int32", "int32"), "inputs[0]",
                     {"int32"});
  // int16 a, K = 512: 512 * 32768 * 128 = 2^31 does not fit the raw int32 output.
  expect_build_error(model({1, 1, 512}, {1, 512, 1}, json::object(), "int32", "int16"),
                     "outputs[0]", {"could overflow"});
}

}  // namespace
}  // namespace dyad::test
