// conv2d through the loader, planner and session: stored and derived
// constants, int4 weights, fused activations, and one error per invalid field
// (each message names the file, the node and the field).
#include <gtest/gtest.h>

#include <cstdlib>

#include "kernels/common/cpu.h"

#include "tests/ops/op_test_util.h"

namespace dyad::test {
namespace {

// x (3x3, z_x = 1) = 1..9, w (2x2) = [1 -1; 2 0], b = 10: accumulators 15 17 21 23
// (tests/kernels/conv2d_test.cc). By 0.5 with z_y = -3: 5 5 7 9.
// Scales: S_x * S_w = 0.5 * 0.25 = 0.125, S_y = 0.25, so r = 0.5 = (2^30, 31).
json model(const json& attrs = {{"multiplier", 1073741824}, {"shift", 31}}) {
  const json tensors = json::parse(R"([
    {"name": "x", "dtype": "int8", "shape": [1, 3, 3, 1], "scale": 0.5, "zero_point": 1},
    {"name": "w", "dtype": "int8", "shape": [1, 2, 2, 1], "scale": 0.25, "values": [1, -1, 2, 0]},
    {"name": "b", "dtype": "int32", "shape": [1], "values": [10]},
    {"name": "y", "dtype": "int8", "scale": 0.25, "zero_point": -3}])");
  return one_node_model("conv2d", tensors, {"x", "w", "b"}, {"y"}, attrs, {"x"});
}

const std::vector<std::vector<uint8_t>> kInput = {{1, 2, 3, 4, 5, 6, 7, 8, 9}};

TEST(Conv2dBuild, StoredConstants) {
  EXPECT_EQ(run_model<int8_t>(model(), kInput), (std::vector<int8_t>{5, 5, 7, 9}));
  // An exact vector GEMM (AVX2, or VNNI where present) where the CPU has
  // AVX2; the reference when forced.
  if (kernels::cpu_features().avx2) {
    EXPECT_NE(kernel_of(model()).find("__avx"), std::string::npos) << kernel_of(model());
  }
  setenv("DYAD_KERNELS", "ref", 1);
  EXPECT_EQ(kernel_of(model()), "conv2d_s8_qc8w__ref");
  unsetenv("DYAD_KERNELS");
}

TEST(Conv2dBuild, MultiplierTwoToThe31IsAccepted) {
  // (2^31, 32) is the same value as (2^30, 31).
  EXPECT_EQ(run_model<int8_t>(model({{"multiplier", 2147483648}, {"shift", 32}}), kInput),
            (std::vector<int8_t>{5, 5, 7, 9}));
}

TEST(Conv2dBuild, ConstantsDerivedFromScales) {
  EXPECT_EQ(run_model<int8_t>(model(json::object()), kInput), (std::vector<int8_t>{5, 5, 7, 9}));
}

TEST(Conv2dBuild, Int4WeightsAreUnpacked) {
  json m = model();
  m["tensors"][1]["dtype"] = "int4";  // -1 is the nibble 0xF
  EXPECT_EQ(run_model<int8_t>(m, kInput), (std::vector<int8_t>{5, 5, 7, 9}));
}

TEST(Conv2dBuild, FusedActivations) {
  // relu6 with S_y = 0.25: upper bound z_y + rne(6 / 0.25) = -3 + 24 = 21; lower -3.
  // So 5 5 7 9 pass. With S_y = 2 (and m, e stored): -3 + rne(3) = 0 -> 0 0 0 0.
  json m = model({{"multiplier", 1073741824}, {"shift", 31}, {"activation", "relu6"}});
  EXPECT_EQ(run_model<int8_t>(m, kInput), (std::vector<int8_t>{5, 5, 7, 9}));
  m["tensors"][3]["scale"] = 2.0;
  EXPECT_EQ(run_model<int8_t>(m, kInput), (std::vector<int8_t>{0, 0, 0, 0}));
  // clamp [-100, 6]: 5 5 6 6.
  m = model({{"multiplier", 1073741824}, {"shift", 31}, {"activation", "clamp"},
             {"clamp", {-100, 6}}});
  EXPECT_EQ(run_model<int8_t>(m, kInput), (std::vector<int8_t>{5, 5, 6, 6}));
  // relu clamps below at z_y = -3: a bias of -40 gives accumulators -25 -23 -19 -17,
  // by 0.5 -> -12 -12 (-11.5 -> -12) -10 (-9.5 -> -10) -8 (-8.5 -> -8), + -3 -> all below -3.
  m = model({{"multiplier", 1073741824}, {"shift", 31}, {"activation", "relu"}});
  m["tensors"][2]["values"] = {-40};
  EXPECT_EQ(run_model<int8_t>(m, kInput), (std::vector<int8_t>{-3, -3, -3, -3}));
}

TEST(Conv2dBuild, RawInt32OutputPaddingStrideAndThreads) {
  // tests/kernels/conv2d_test.cc PaddingIsTheZeroPointAndStride: z_x = 2,
  // 3x3 ones, padding 1, stride 2 -> 4 8 16 20.
  const json tensors = json::parse(R"([
    {"name": "x", "dtype": "int8", "shape": [1, 3, 3, 1], "zero_point": 2},
    {"name": "w", "dtype": "int8", "shape": [1, 3, 3, 1], "values": [1, 1, 1, 1, 1, 1, 1, 1, 1]},
    {"name": "y", "dtype": "int32", "shape": [1, 2, 2, 1]}])");
  const json m = one_node_model("conv2d", tensors, {"x", "w", ""}, {"y"},
                                {{"stride", {2, 2}}, {"padding", 1}}, {"x"});
  EXPECT_EQ(run_model<int32_t>(m, kInput, 2), (std::vector<int32_t>{4, 8, 16, 20}));
}

TEST(Conv2dBuild, DepthwiseUint8) {
  // x uint8 (2x2, 2 channels, z_x = 0) = [1 10 | 2 20 | 3 30 | 4 40]; depthwise
  // kernels [1 1; 1 1] and [1 0; 0 -1]: 10 and -30 (tests/kernels/conv2d_test.cc).
  // Per channel: by 0.25 -> 2.5 -> 2; by -0.5 -> 15. y uint8, z_y = 100: 102 115.
  const json tensors = json::parse(R"([
    {"name": "x", "dtype": "uint8", "shape": [1, 2, 2, 2]},
    {"name": "w", "dtype": "int8", "shape": [2, 2, 2, 1], "values": [1, 1, 1, 1, 1, 0, 0, -1]},
    {"name": "y", "dtype": "uint8", "zero_point": 100}])");
  const json m = one_node_model("conv2d", tensors, {"x", "w"}, {"y"},
                                {{"groups", 2}, {"multiplier", {1073741824, -1073741824}},
                                 {"shift", {32, 31}}},
                                {"x"});
  EXPECT_EQ(run_model<uint8_t>(m, {{1, 10, 2, 20, 3, 30, 4, 40}}),
            (std::vector<uint8_t>{102, 115}));
  EXPECT_EQ(kernel_of(m), "conv2d_u8_qc8w__ref");
}

TEST(Conv2dBuild, InputErrors) {
  json m = model();
  m["tensors"][0]["dtype"] = "int16";
  expect_build_error(m, "inputs[0]", {"int16"});

  m = model();
  m["tensors"][0]["shape"] = {3, 3, 1};
  expect_build_error(m, "inputs[0]", {"rank 4"});

  m = model();  // weights must be constants
  m["tensors"][1].erase("values");
  m["tensors"][1]["shape"] = {1, 2, 2, 1};
  m["inputs"] = {"x", "w"};
  expect_build_error(m, "inputs[1]", {"constant"});

  m = model();
  m["tensors"][1]["dtype"] = "uint8";
  m["tensors"][1]["values"] = {1, 1, 2, 0};
  expect_build_error(m, "inputs[1]", {"uint8"});

  m = model();
  m["tensors"][1]["zero_point"] = 1;
  expect_build_error(m, "inputs[1]", {"symmetric"});

  m = model();
  m["tensors"][1]["shape"] = {1, 1, 2, 2};  // last dim 2 != channels 1
  expect_build_error(m, "inputs[1]", {"channels / groups"});

  m = model();
  m["tensors"][2]["shape"] = {2};
  m["tensors"][2]["values"] = {1, 2};
  expect_build_error(m, "inputs[2]", {"[1]"});

  m = model();
  m["tensors"][2]["dtype"] = "int16";
  expect_build_error(m, "inputs[2]", {"int16"});

  // The bound is |b| + max|x - z_x| * sum|w| = |b| + 129 * 4 (z_x = 1, so
  // x - z_x reaches -129): 2147483131 + 516 = 2^31 - 1 fits, one more does not.
  m = model();
  m["tensors"][2]["values"] = {2147483131};
  EXPECT_EQ(run_model<int8_t>(m, kInput).size(), 4u);
  m["tensors"][2]["values"] = {2147483132};
  expect_build_error(m, "inputs[1]", {"int32 accumulator"});

  m = model();
  m["nodes"][0]["inputs"] = {"x"};
  expect_build_error(m, "inputs", {"2 to 3"});
}

TEST(Conv2dBuild, AttributeErrors) {
  auto with = [](const std::string& key, const json& value) {
    json attrs = {{"multiplier", 1073741824}, {"shift", 31}};
    attrs[key] = value;
    return model(attrs);
  };
  expect_build_error(with("stride", 0), "attrs.stride");
  expect_build_error(with("stride", {1, 2, 3}), "attrs.stride");
  expect_build_error(with("dilation", -1), "attrs.dilation");
  expect_build_error(with("padding", {1, 1}), "attrs.padding");
  expect_build_error(with("padding", -1), "attrs.padding");
  expect_build_error(with("groups", 2), "attrs.groups", {"divide"});
  expect_build_error(with("dilation", 3), "inputs[0]", {"smaller than the (dilated) kernel"});
  expect_build_error(with("strides", 1), "attrs.strides", {"unknown attribute"});
  expect_build_error(with("activation", "gelu"), "attrs.activation", {"gelu"});
  expect_build_error(with("clamp", {0, 5}), "attrs.clamp", {"activation 'clamp'"});
  expect_build_error(with("multiplier", {1, 2, 3}), "attrs.multiplier", {"expected 1 or 1"});
  expect_build_error(with("multiplier", 2147483649), "attrs.multiplier");
  expect_build_error(with("shift", 256), "attrs.shift");
  expect_build_error(with("shift", -63), "attrs.shift");
  expect_build_error(model({{"multiplier", 1073741824}}), "attrs.shift", {"missing"});

  json attrs = {{"multiplier", 1073741824}, {"shift", 31}, {"activation", "clamp"}};
  attrs["clamp"] = {5, 0};
  expect_build_error(model(attrs), "attrs.clamp", {"above"});
  attrs["clamp"] = {200, 300};
  expect_build_error(model(attrs), "attrs.clamp", {"int8 range"});
}

TEST(Conv2dBuild, ScaleAndOutputErrors) {
  json m = model(json::object());  // derive constants, but x has no scale
  m["tensors"][0].erase("scale");
  expect_build_error(m, "attrs.multiplier", {"'x'", "no scale"});

  m = model(json::object());
  m["tensors"][3].erase("scale");
  expect_build_error(m, "attrs.multiplier", {"'y'", "no scale"});

  m = model({{"multiplier", 1073741824}, {"shift", 31}, {"activation", "relu6"}});
  m["tensors"][3].erase("scale");
  expect_build_error(m, "attrs.activation", {"relu6"});

  m = model();
  m["tensors"][3]["dtype"] = "int32";  // the raw accumulator takes no constants
  expect_build_error(m, "attrs.multiplier", {"raw accumulator"});

  m = model();
  m["tensors"][3]["dtype"] = "int16";
  expect_build_error(m, "outputs[0]", {"int16"});

  m = model();
  m["tensors"][3]["shape"] = {1, 3, 3, 1};
  expect_build_error(m, "outputs[0]", {"[1, 2, 2, 1]"});
}

}  // namespace
}  // namespace dyad::test
