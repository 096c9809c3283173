// int_layernorm through the loader, planner and session: hand-computed rows,
// ties-to-even means, constant rows (std 0), variance beyond 2^32 and 2^64,
// and one error per invalid field.
#include <gtest/gtest.h>

#include "kernels/common/cpu.h"
#include "tests/ops/op_test_util.h"

namespace dyad::test {
namespace {

json model(const json& attrs, const Shape& shape, const std::string& x_dtype = "int32") {
  const json tensors = {{{"name", "x"}, {"dtype", x_dtype}, {"shape", shape}},
                        {{"name", "y"}, {"dtype", "int64"}}};
  return one_node_model("int_layernorm", tensors, {"x"}, {"y"}, attrs, {"x"});
}

TEST(IntLayerNormBuild, HandComputedRows) {
  // Row [1 2 3 6]: mean 3, y = -2 -1 0 3, var 14, std 3, factor floor(2^31 / 3) = 715827882,
  //   out = (y * factor) >> 1 + bias = -715827882 -357913941 0 1073741823 + (0 10 -10 5).
  // Row [0 1 0 1]: mean rne(0.5) = 0 (ties to even), y = 0 1 0 1, var 2, std 1,
  //   factor 2^31 -> 0 2^30 0 2^30, + bias.
  // Row [1 2 1 2]: mean rne(1.5) = 2, y = -1 0 -1 0 -> -2^30 0 -2^30 0, + bias.
  // Row [7 7 7 7]: std 0 -> bias.
  const std::vector<int16_t> x = {1, 2, 3, 6, 0, 1, 0, 1, 1, 2, 1, 2, 7, 7, 7, 7};
  const int64_t g = int64_t{1} << 30;
  // clang-format off
  const std::vector<int64_t> want = {-715827882, -357913931, -10,     1073741828,
                                     0,          g + 10,     -10,     g + 5,
                                     -g,         10,         -g - 10, 5,
                                     0,          10,         -10,     5};
  // clang-format on
  const json attrs = {{"shift", 0}, {"bias_int", {0, 10, -10, 5}}};
  EXPECT_EQ(run_model<int64_t>(model(attrs, {4, 4}, "int16"), {bytes_of(x)}), want);
  EXPECT_EQ(run_model<int64_t>(model(attrs, {4, 4}, "int16"), {bytes_of(x)}, 3), want);
  const std::string want_kernel = kernels::kernel_isa_usable(kernels::KernelIsa::kAvx512Vnni) ? "int_layernorm__avx512vnni"
                                  : kernels::kernel_isa_usable(kernels::KernelIsa::kNeon)     ? "int_layernorm__neon"
                                                                                               : "int_layernorm__ref";
  EXPECT_EQ(kernel_of(model(attrs, {4, 4}, "int16")), want_kernel);
}

TEST(IntLayerNormBuild, ShiftFloorsNegativesAndCanZeroTheStd) {
  // shift 1, row [0 -1 0 -1]: sum -2, mean rne(-0.5) = 0; ys = y >> 1 = 0 -1 0 -1 (floor),
  //   var 2, std 1 << 1 = 2, factor 2^30 -> 0 -2^29 0 -2^29.
  // Row [0 1 0 1]: ys = 0 0 0 0, std 0 -> bias (a single int, broadcast).
  const std::vector<int8_t> x = {0, -1, 0, -1, 0, 1, 0, 1};
  const int64_t h = int64_t{1} << 29;
  EXPECT_EQ(
      run_model<int64_t>(model({{"shift", 1}, {"bias_int", 3}}, {1, 2, 4}, "int8"), {bytes_of(x)}),
      (std::vector<int64_t>{3, 3 - h, 3, 3 - h, 3, 3, 3, 3}));
}

TEST(IntLayerNormBuild, VarianceBeyond2To32And2To64) {
  // 22-bit residual sums [-2^21, 2^21 - 1] with shift 0: mean rne(-0.5) = 0,
  //   var = 2^42 + (2^21 - 1)^2 > 2^32 (kept exact), std = isqrt(var) = 2965819,
  //   factor 724 -> -759169024 759168662 (models/ibert_sim).
  const std::vector<int32_t> x = {-(1 << 21), (1 << 21) - 1};
  EXPECT_EQ(run_model<int64_t>(model({{"shift", 0}, {"bias_int", 0}}, {1, 2}), {bytes_of(x)}),
            (std::vector<int64_t>{-759169024, 759168662}));
  // Full int32 range: var = 3 * 2^62 + 3 * (2^31 - 1)^2 > 2^64 (the 128-bit path);
  // std > 2^31, so factor = 0 and the output is bias_int.
  const std::vector<int32_t> wide = {INT32_MIN, INT32_MAX, INT32_MIN,
                                     INT32_MAX, INT32_MIN, INT32_MAX};
  EXPECT_EQ(run_model<int64_t>(model({{"shift", 0}, {"bias_int", {1, 2, 3, 4, 5, 6}}}, {1, 6}),
                               {bytes_of(wide)}),
            (std::vector<int64_t>{1, 2, 3, 4, 5, 6}));
}

TEST(IntLayerNormBuild, ZeroPointIsSubtractedFirst) {
  // uint8 with zero point 100: v = x - 100 = 1 2 1 2, mean rne(1.5) = 2, y = -1 0 -1 0.
  json m = model({{"shift", 0}, {"bias_int", 0}}, {1, 4}, "uint8");
  m["tensors"][0]["zero_point"] = 100;
  EXPECT_EQ(run_model<int64_t>(m, {bytes_of(std::vector<uint8_t>{101, 102, 101, 102})}),
            (std::vector<int64_t>{-(int64_t{1} << 30), 0, -(int64_t{1} << 30), 0}));
  // An odd zero point does not cancel in x - mean: with 101, v = 0 1 0 1, mean rne(0.5) = 0,
  // y = 0 1 0 1; rounding x's own mean instead (rne(101.5) = 102) would give y = -1 0 -1 0.
  m["tensors"][0]["zero_point"] = 101;
  EXPECT_EQ(run_model<int64_t>(m, {bytes_of(std::vector<uint8_t>{101, 102, 101, 102})}),
            (std::vector<int64_t>{0, int64_t{1} << 30, 0, int64_t{1} << 30}));
}

TEST(IntLayerNormBuild, Errors) {
  const Shape s = {2, 4};
  expect_build_error(model({{"bias_int", 0}}, s), "attrs.shift", {"missing"});
  expect_build_error(model({{"shift", 63}, {"bias_int", 0}}, s), "attrs.shift", {"outside"});
  expect_build_error(model({{"shift", -1}, {"bias_int", 0}}, s), "attrs.shift", {"outside"});
  expect_build_error(model({{"shift", 0}}, s), "attrs.bias_int", {"missing"});
  expect_build_error(model({{"shift", 0}, {"bias_int", {1, 2, 3}}}, s), "attrs.bias_int",
                     {"expected 4 integers"});
  expect_build_error(model({{"shift", 0}, {"bias_int", {0, 0, 0, (int64_t{1} << 62) + 1}}}, s),
                     "attrs.bias_int[3]", {"outside"});
  expect_build_error(model({{"shift", 0}, {"bias_int", 0}}, s, "int64"), "inputs[0]", {"int64"});
  json out32 = model({{"shift", 0}, {"bias_int", 0}}, s);
  out32["tensors"][1]["dtype"] = "int32";
  expect_build_error(out32, "outputs[0]", {"int64"});
  json zp = model({{"shift", 0}, {"bias_int", 0}}, s);
  zp["tensors"][1]["zero_point"] = 1;
  expect_build_error(zp, "outputs[0]", {"zero point"});
  json zp32 = model({{"shift", 0}, {"bias_int", 0}}, s);
  zp32["tensors"][0]["zero_point"] = 1;
  expect_build_error(zp32, "inputs[0]", {"int32", "zero point 1"});
}

}  // namespace
}  // namespace dyad::test
