// int_softmax through the loader, planner and session: masks (broadcast,
// fully masked rows), outputs of exactly 256, extreme scores, derived
// constants, and one error per invalid field.
#include <gtest/gtest.h>

#include <string>

#include "tests/ops/op_test_util.h"
#include "engine/ops/kernel_select.h"

namespace dyad::test {
namespace {

// The variant dispatch picks on this CPU (the vector plans take these
// operands): AVX-512, else AVX2, else NEON, else the reference.
std::string expected_kernel() {
  if (avx512_kernels_allowed()) return "int_softmax_s32__avx512";
  if (neon_kernels_allowed()) return "int_softmax_s32__neon";
  return avx2_kernels_allowed() ? "int_softmax_s32__avx2" : "int_softmax_s32__ref";
}

// Base-2 constants that make every step hand-computable: x0_int = -1 gives
// q = min(max - x, 30) and r = 0, so z = c_int = 1, and with M = 2^62,
// E = 48: e16 = rne(2^62 / 2^(48 + q)) = 2^(14 - q) (0 from q = 15 on: 1/2 ties
// to even). Then y = (e16 * floor(2^32 / sum)) >> 24.
const json kBase2 = {{"x0_int", -1},
                     {"b_int", 0},
                     {"c_int", 1},
                     {"act_multiplier", int64_t{1} << 62},
                     {"act_shift", 48}};

json model(const json& attrs, const Shape& x_shape, const Shape& mask_shape = {},
           const std::string& mask_dtype = "int32") {
  json tensors = {{{"name", "x"}, {"dtype", "int32"}, {"shape", x_shape}, {"scale", 0.05}},
                  {{"name", "y"}, {"dtype", "int16"}, {"scale", 0.00390625}}};
  std::vector<std::string> inputs = {"x"};
  if (!mask_shape.empty()) {
    tensors.push_back({{"name", "mask"}, {"dtype", mask_dtype}, {"shape", mask_shape}});
    inputs.push_back("mask");
  }
  return one_node_model("int_softmax", tensors, inputs, {"y"}, attrs, inputs);
}

TEST(IntSoftmaxBuild, HandComputedRows) {
  // Row 0: all equal: e16 = 16384 x 4, sum 2^16, factor 2^16 -> 64 each.
  // Row 1: [5 3 5 -100]: q = 0 2 0 30 -> e16 = 16384 4096 16384 0, sum 36864,
  //   factor floor(2^32 / 36864) = 116508 -> 113 28 113 0.
  // Row 2: [0 -20 -20 -20]: e16 = 16384 0 0 0, factor 2^18 -> exactly 256.
  // Row 3: extremes [MAX MIN MAX 0]: e16 = 16384 0 16384 0, factor 2^17 -> 128 0 128 0.
  const std::vector<int32_t> x = {0, 0,   0,   0,   5,         3,         5,         -100,
                                  0, -20, -20, -20, INT32_MAX, INT32_MIN, INT32_MAX, 0};
  const std::vector<int16_t> want = {64, 64, 64, 64, 113, 28, 113, 0, 256, 0, 0, 0, 128, 0, 128, 0};
  EXPECT_EQ(run_model<int16_t>(model(kBase2, {4, 4}), {bytes_of(x)}), want);
  EXPECT_EQ(run_model<int16_t>(model(kBase2, {4, 4}), {bytes_of(x)}, 3), want);
  EXPECT_EQ(kernel_of(model(kBase2, {4, 4})), expected_kernel());
}

TEST(IntSoftmaxBuild, MaskExcludesEntriesFromTheMaxAndZeroesFullyMaskedRows) {
  // scores [2, 2, 1, 4] with a padding mask [2, 1, 1, 4] broadcast over heads and rows.
  // Batch 0 mask 1 1 0 1: the masked 100 is not the max; e16 = 16384 16384 0 16384,
  //   sum 49152, factor 87381 -> 85 85 0 85 (both heads).
  // Batch 1 mask all 0: every row is 0.
  const std::vector<int32_t> x = {0, 0, 100, 0, 0, 0, 100, 0, 1, 2, 3, 4, 5, 6, 7, 8};
  const std::vector<int32_t> mask = {1, 1, 0, 1, 0, 0, 0, 0};
  const std::vector<int16_t> want = {85, 85, 0, 85, 85, 85, 0, 85, 0, 0, 0, 0, 0, 0, 0, 0};
  EXPECT_EQ(
      run_model<int16_t>(model(kBase2, {2, 2, 1, 4}, {2, 1, 1, 4}), {bytes_of(x), bytes_of(mask)}),
      want);
  // Any integer dtype: an int8 mask, nonzero = attend (-1 attends).
  const std::vector<int8_t> mask8 = {-1, 7, 0, 1, 0, 0, 0, 0};
  EXPECT_EQ(run_model<int16_t>(model(kBase2, {2, 2, 1, 4}, {2, 1, 1, 4}, "int8"),
                               {bytes_of(x), bytes_of(mask8)}),
            want);
}

TEST(IntSoftmaxBuild, PerRowMask) {
  // A mask as large as the scores ([1, 2, 4]): row 0 keeps only entry 3 -> 256 there.
  const std::vector<int32_t> x = {9, 9, 9, 0, 1, 1, 1, 1};
  const std::vector<int32_t> mask = {0, 0, 0, 1, 1, 1, 1, 1};
  const std::vector<int16_t> want = {0, 0, 0, 256, 64, 64, 64, 64};
  EXPECT_EQ(run_model<int16_t>(model(kBase2, {1, 2, 4}, {1, 2, 4}), {bytes_of(x), bytes_of(mask)}),
            want);
}

TEST(IntSoftmaxBuild, ZeroSumRowIsZero) {
  // c_int = 0: every e16 is 0 (HF: NaN); defined as zeros.
  json attrs = kBase2;
  attrs["c_int"] = 0;
  EXPECT_EQ(run_model<int16_t>(model(attrs, {1, 3}), {bytes_of(std::vector<int32_t>{1, 2, 3})}),
            (std::vector<int16_t>{0, 0, 0}));
}

TEST(IntSoftmaxBuild, RealisticConstantsStoredAndDerived) {
  // S = 0.05, act16_scale = 36570204 (~ c_int * 2^30 / 32767): constants from
  // models/ibert_sim; the row is real [0 -0.3 -2 -10 -100 0.5], and the expected
  // output (ibert_sim.softmax.int_softmax_row) is softmax * 256, about 72.6 53.8
  // 9.8 0 0 119.8.
  const std::vector<int32_t> x = {0, -6, -40, -200, -2000, 10};
  const std::vector<int16_t> want = {72, 54, 10, 0, 0, 119};
  const json stored = {{"x0_int", -14},
                       {"b_int", 54},
                       {"c_int", 1116},
                       {"act_multiplier", 8462764109925862988},
                       {"act_shift", 58}};
  EXPECT_EQ(run_model<int16_t>(model(stored, {1, 6}), {bytes_of(x)}), want);
  EXPECT_EQ(run_model<int16_t>(model({{"act16_scale", 36570204.0}}, {1, 6}), {bytes_of(x)}), want);
}

TEST(IntSoftmaxBuild, ConstantErrors) {
  const auto with = [](const std::string& key, const json& value) {
    json a = kBase2;
    a[key] = value;
    return model(a, {2, 4});
  };
  expect_build_error(with("x0_int", 0), "attrs.x0_int", {"outside"});
  expect_build_error(with("x0_int", -(int64_t{1} << 31) - 1), "attrs.x0_int", {"outside"});
  expect_build_error(with("b_int", (int64_t{1} << 31) + 1), "attrs.b_int", {"outside"});
  expect_build_error(with("c_int", (int64_t{1} << 62) + 1), "attrs.c_int", {"outside"});
  expect_build_error(with("act_multiplier", -1), "attrs.act_multiplier", {"outside"});
  expect_build_error(with("act_shift", 256), "attrs.act_shift", {"outside"});
  expect_build_error(with("act16_scale", 1.0), "attrs.act16_scale", {"not allowed"});
  json partial = kBase2;
  partial.erase("c_int");
  expect_build_error(model(partial, {2, 4}), "attrs.c_int", {"together"});
  expect_build_error(model(json::object(), {2, 4}), "attrs.act16_scale", {"missing"});
  expect_build_error(model({{"act16_scale", "big"}}, {2, 4}), "attrs.act16_scale", {"number"});
  expect_build_error(model({{"act16_scale", -1.0}}, {2, 4}), "attrs.act16_scale", {"derived"});
  json no_scale = model({{"act16_scale", 1.0}}, {2, 4});
  no_scale["tensors"][0].erase("scale");
  expect_build_error(no_scale, "attrs.x0_int", {"0 scales"});
  // A tiny scale makes b_int = floor(2.7073 / S) exceed 2^31 (c_int ~ 1.9e18 still
  // fits), and a tinier one c_int ~ 2.8e20 not even int64.
  json tiny = model({{"act16_scale", 1.0}}, {2, 4});
  tiny["tensors"][0]["scale"] = 1.2e-9;
  expect_build_error(tiny, "attrs.b_int", {"derived"});
  tiny["tensors"][0]["scale"] = 1e-10;
  expect_build_error(tiny, "attrs.act16_scale", {"c_int"});
}

TEST(IntSoftmaxBuild, ShapeAndDtypeErrors) {
  expect_build_error(model(kBase2, {2, 4}, {2, 1, 4}), "inputs[1]", {"expected rank 2"});
  expect_build_error(model(kBase2, {2, 4}, {2, 3}), "inputs[1]", {"last axis 4"});
  expect_build_error(model(kBase2, {2, 3, 4}, {2, 2, 4}), "inputs[1]", {"each leading axis"});
  json x8 = model(kBase2, {2, 4});
  x8["tensors"][0]["dtype"] = "int8";
  expect_build_error(x8, "inputs[0]", {"int32"});
  json y8 = model(kBase2, {2, 4});
  y8["tensors"][1]["dtype"] = "int8";
  expect_build_error(y8, "outputs[0]", {"int16"});
  json bad_scale = model(kBase2, {2, 4});
  bad_scale["tensors"][1]["scale"] = 0.01;
  expect_build_error(bad_scale, "outputs[0]", {"2^-8"});
  json zp = model(kBase2, {2, 4});
  zp["tensors"][0]["zero_point"] = 1;
  expect_build_error(zp, "inputs[0]", {"zero point"});
  expect_build_error(model(kBase2, {1, 1, 1, 1, 1, 1, 4}), "inputs[0]", {"rank 7"});
}

}  // namespace
}  // namespace dyad::test
