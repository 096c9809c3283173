// int_gelu through the loader, planner and session: stored, broadcast and
// derived constants, wide inputs, and one error per invalid field.
#include <gtest/gtest.h>

#include <string>

#include "tests/ops/op_test_util.h"
#include "engine/ops/kernel_select.h"

namespace dyad::test {
namespace {

// The variant dispatch picks on this CPU (the vector plans take these
// operands): AVX-512, else AVX2, else NEON, else the reference.
std::string expected_kernel() {
  if (avx512_kernels_allowed()) return "int_gelu__avx512";
  if (neon_kernels_allowed()) return "int_gelu__neon";
  return avx2_kernels_allowed() ? "int_gelu__avx2" : "int_gelu__ref";
}

// S = 1e-3: b_int = -2502, c_int = -6925075, shift_int = -423 (numerics.md 4).
// Hand-computed, erf_i = floor(sign * (t^2 + c_int) / 2^14), y = x * (erf_i + shift_int):
//   x = 1000:  t = -1502, poly = -4669071, erf_i = -285, y = 1000 * -708 = -708000
//   x = -1000: erf_i = floor(4669071 / 16384) = 284, y = -1000 * (284 - 423) = 139000
//   x = 5000:  clipped, t = 0, erf_i = floor(-6925075 / 16384) = -423, y = -4230000
//   x = -5000: erf_i = 422, y = -5000 * -1 = 5000
//   x = 2502:  the clip point, y = 2502 * -846 = -2116692
//   x = 2^31 - 1: y = -846 * (2^31 - 1);  x = -2^31: y = -2^31 * -1
const std::vector<int32_t> kX = {0, 1000, -1000, 5000, -5000, 2502, INT32_MAX, INT32_MIN};
const std::vector<int64_t> kY = {0,    -708000,  139000,         -4230000,
                                 5000, -2116692, -1816771165362, 2147483648};

json model(const json& attrs, const std::string& x_dtype = "int32", const json& x_scale = 0.001,
           int64_t channels = 1) {
  json tensors = {
      {{"name", "x"}, {"dtype", x_dtype}, {"shape", {8 / channels, channels}}, {"scale", x_scale}},
      {{"name", "y"}, {"dtype", "int64"}}};
  if (x_scale.is_array()) tensors[0]["axis"] = 1;
  return one_node_model("int_gelu", tensors, {"x"}, {"y"}, attrs, {"x"});
}

const json kStored = {{"b_int", -2502}, {"c_int", -6925075}, {"shift_int", -423}};

TEST(IntGeluBuild, StoredConstants) {
  EXPECT_EQ(run_model<int64_t>(model(kStored), {bytes_of(kX)}), kY);
  EXPECT_EQ(kernel_of(model(kStored)), expected_kernel());
}

TEST(IntGeluBuild, ConstantsDerivedFromTheScale) {
  EXPECT_EQ(run_model<int64_t>(model(json::object()), {bytes_of(kX)}), kY);
}

TEST(IntGeluBuild, Int64InputAndThreads) {
  const std::vector<int64_t> x(kX.begin(), kX.end());
  EXPECT_EQ(run_model<int64_t>(model(kStored, "int64"), {bytes_of(x)}, 3), kY);
}

TEST(IntGeluBuild, PerChannelConstants) {
  // Channel 0 at S = 1e-3, channel 1 at S = 1e-4 (b -25018, c -692507494, shift -42268).
  // Channel 1, x = 1000 (real 0.1): t = -24018, poly = 576864324 - 692507494 = -115643170,
  // erf_i = floor(-115643170 / 16384) = -7059, y = 1000 * (-7059 - 42268) = -49327000.
  // x = -1000: erf_i = 7058, y = -1000 * (7058 - 42268) = 35210000.
  const std::vector<int32_t> x = {1000, 1000, -1000, -1000, 0, 0, 5000, 0};
  const std::vector<int64_t> want = {-708000, -49327000, 139000, 35210000, 0, 0, -4230000, 0};
  const json lists = {
      {"b_int", {-2502, -25018}}, {"c_int", {-6925075, -692507494}}, {"shift_int", {-423, -42268}}};
  EXPECT_EQ(run_model<int64_t>(model(lists, "int32", 0.001, 2), {bytes_of(x)}), want);
  // The same constants derived from per-channel scales along the last axis.
  EXPECT_EQ(run_model<int64_t>(model(json::object(), "int32", {0.001, 0.0001}, 2), {bytes_of(x)}),
            want);
}

TEST(IntGeluBuild, SmallScaleConstantsBeyondInt32) {
  // S = 1e-5: c_int = -69250749308 does not fit int32; |y| reaches 2^54.
  // Expected values from models/ibert_sim (gelu.int_gelu_element).
  const std::vector<int32_t> x = {0, 100000, -100000, 250172, -250173, INT32_MAX, INT32_MIN, 12345};
  const std::vector<int64_t> want = {0,      -707702000000,      137644300000, -2114819495464,
                                     250173, -18153671405535914, 2147483648,   -61739949795};
  const json stored = {{"b_int", -250172}, {"c_int", -69250749308}, {"shift_int", -4226731}};
  EXPECT_EQ(run_model<int64_t>(model(stored, "int32", 1e-5), {bytes_of(x)}), want);
  EXPECT_EQ(run_model<int64_t>(model(json::object(), "int32", 1e-5), {bytes_of(x)}), want);
}

TEST(IntGeluBuild, Errors) {
  expect_build_error(model({{"b_int", 1}, {"c_int", -1}, {"shift_int", -1}}), "attrs.b_int",
                     {"outside"});
  expect_build_error(model({{"b_int", -1}, {"c_int", -(int64_t{1} << 62) - 1}, {"shift_int", -1}}),
                     "attrs.c_int", {"outside"});
  expect_build_error(
      model({{"b_int", {-1, -1}}, {"c_int", {-1, -1}}, {"shift_int", {-1, 5}}}, "int32", 0.001, 2),
      "attrs.shift_int", {"channel 1"});
  expect_build_error(model({{"b_int", -2502}}), "attrs.c_int", {"together"});
  expect_build_error(model({{"b_int", {-1, -1, -1}}, {"c_int", -1}, {"shift_int", -1}}),
                     "attrs.b_int", {"expected 1 integers"});
  expect_build_error(model({{"b_int", -1}, {"c_int", -1}, {"shift_int", -1}, {"mode", 1}}),
                     "attrs.mode", {"unknown attribute"});
  // Derivation needs a scale whose constants exist in int64.
  json no_scale = model(json::object());
  no_scale["tensors"][0].erase("scale");
  expect_build_error(no_scale, "attrs.b_int", {"no scale"});
  expect_build_error(model(json::object(), "int32", 1e-12), "attrs.b_int", {"c_int"});
  json wrong_axis = model(json::object(), "int32", {0.001, 0.002, 0.003, 0.004}, 2);
  wrong_axis["tensors"][0]["axis"] = 0;
  wrong_axis["tensors"][0]["shape"] = {4, 2};
  expect_build_error(wrong_axis, "attrs.b_int", {"last axis"});
  // Dtypes and zero points.
  json out32 = model(kStored);
  out32["tensors"][1]["dtype"] = "int32";
  expect_build_error(out32, "outputs[0]", {"int64"});
  json zp = model(kStored);
  zp["tensors"][0]["zero_point"] = 3;
  expect_build_error(zp, "inputs[0]", {"zero point 3"});
}

}  // namespace
}  // namespace dyad::test
