// requantize through the loader, planner and session, and its errors.
#include <gtest/gtest.h>

#include <string>

#include "kernels/common/cpu.h"
#include "tests/ops/op_test_util.h"
#include "engine/ops/kernel_select.h"

namespace dyad::test {
namespace {

// The variant dispatch picks on this CPU (the vector plans take these
// operands, byte outputs, by their int32 path or the 64-bit-lane one):
// AVX-512, else AVX2, else NEON, else the reference. `int32_path` (which of
// the two) is documentation: every variant takes both.
std::string expected_kernel(bool int32_path) {
  (void)int32_path;
  if (avx512_kernels_allowed()) return "requantize__avx512";
  if (neon_kernels_allowed()) return "requantize__neon";
  return avx2_kernels_allowed() ? "requantize__avx2" : "requantize__ref";
}

// x int32 [1 3 5 -7] by 0.5 (ties to even): 0 2 2 -4; z_y = 10: 10 12 12 6.
// S_x = 0.5, S_y = 1: r = 0.5 = (2^30, 31).
json model(const json& attrs = {{"multiplier", 1073741824}, {"shift", 31}}) {
  const json tensors = json::parse(R"([
    {"name": "x", "dtype": "int32", "shape": [1, 4], "scale": 0.5},
    {"name": "y", "dtype": "int8", "scale": 1.0, "zero_point": 10}])");
  return one_node_model("requantize", tensors, {"x"}, {"y"}, attrs, {"x"});
}

const std::vector<std::vector<uint8_t>> kInput = {bytes_of<int32_t>({1, 3, 5, -7})};

TEST(RequantizeBuild, StoredDerivedAndActivation) {
  EXPECT_EQ(run_model<int8_t>(model(), kInput), (std::vector<int8_t>{10, 12, 12, 6}));
  EXPECT_EQ(run_model<int8_t>(model(json::object()), kInput), (std::vector<int8_t>{10, 12, 12, 6}));
  // relu6 with S_y = 1: [10, 16]; clamp [11, 11]: all 11.
  EXPECT_EQ(run_model<int8_t>(model({{"multiplier", 1073741824}, {"shift", 30},
                                     {"activation", "relu6"}}),
                              kInput),
            (std::vector<int8_t>{11, 13, 15, 10}));  // by 1: 11 13 15 3 -> [10, 16]
  EXPECT_EQ(run_model<int8_t>(model({{"multiplier", 1073741824}, {"shift", 31},
                                     {"activation", "clamp"}, {"clamp", {11, 11}}}),
                              kInput),
            (std::vector<int8_t>{11, 11, 11, 11}));
  EXPECT_EQ(kernel_of(model()), expected_kernel(false));  // 4 channels: the 64-bit path
}

TEST(RequantizeBuild, WholeChannelGroupsTakeAVectorVariant) {
  json m = model();
  m["tensors"][0]["shape"] = {2, 8};
  std::vector<int32_t> x;
  std::vector<int8_t> y;
  for (int i = 0; i < 16; ++i) {
    x.push_back(2 * i - 15);  // by 0.5, ties to even, + 10
    const int half = (2 * i - 15) / 2, odd = (2 * i - 15) % 2 != 0;
    y.push_back(static_cast<int8_t>(10 + (odd ? (half % 2 == 0 ? half : half + ((2 * i - 15) > 0 ? 1 : -1)) : half)));
  }
  EXPECT_EQ(run_model<int8_t>(m, {bytes_of(x)}), y);
  EXPECT_EQ(kernel_of(m), expected_kernel(true));
}

TEST(RequantizeBuild, PerChannelConstants) {
  // Channels along the last axis: by 1, 2, -1, 0.5 -> 1 6 -5 -3.5 -> -4; + 10.
  json m = model({{"multiplier", {1073741824, 1073741824, -1073741824, 1073741824}},
                  {"shift", {30, 29, 30, 31}}});
  EXPECT_EQ(run_model<int8_t>(m, kInput), (std::vector<int8_t>{11, 16, 5, 6}));
}

// An exact identity (int8 -> int8, equal zero points, factor 2^e / 2^e in
// every channel, full-range clamp) is a copy; anything short of that is not.
TEST(RequantizeBuild, IdentityIsACopy) {
  auto identity = [](const json& attrs, int y_zero_point) {
    const json tensors = json::parse(R"([
      {"name": "x", "dtype": "int8", "shape": [2, 3], "scale": 0.5, "zero_point": 3},
      {"name": "y", "dtype": "int8", "scale": 0.5, "zero_point": 3}])");
    json m = one_node_model("requantize", tensors, {"x"}, {"y"}, attrs, {"x"});
    m["tensors"][1]["zero_point"] = y_zero_point;
    return m;
  };
  const std::vector<int8_t> x = {-128, -1, 0, 3, 126, 127};
  const json by_one = {{"multiplier", 1073741824}, {"shift", 30}};
  EXPECT_EQ(kernel_of(identity(by_one, 3)), "requantize__copy");
  EXPECT_EQ(run_model<int8_t>(identity(by_one, 3), {bytes_of(x)}), x);
  EXPECT_EQ(kernel_of(identity({{"multiplier", {1, 2, 4}}, {"shift", {0, 1, 2}}}, 3)), "requantize__copy");
  // Not identities: another zero point, a factor of 1 + 2^-30, a narrower clamp.
  EXPECT_NE(kernel_of(identity(by_one, 4)), "requantize__copy");
  EXPECT_EQ(run_model<int8_t>(identity(by_one, 4), {bytes_of(x)}),
            (std::vector<int8_t>{-127, 0, 1, 4, 127, 127}));
  EXPECT_NE(kernel_of(identity({{"multiplier", 1073741825}, {"shift", 30}}, 3)), "requantize__copy");
  EXPECT_NE(kernel_of(identity({{"multiplier", 1073741824}, {"shift", 30}, {"activation", "relu"}}, 3)),
            "requantize__copy");
}

TEST(RequantizeBuild, Errors) {
  expect_build_error(model({{"multiplier", {1, 2, 3}}, {"shift", 31}}), "attrs.multiplier",
                     {"expected 1 or 4"});
  expect_build_error(model({{"multiplier", 1}, {"shift", {1, 2}}}), "attrs.shift");
  expect_build_error(model({{"multiplier", 1}, {"shift", 1}, {"activation", "clamp"}}),
                     "attrs.clamp", {"required"});
  expect_build_error(model({{"multiplier", 1}, {"shift", 1}, {"axis", 0}}), "attrs.axis",
                     {"unknown attribute"});
  json m = model();
  m["tensors"][1]["shape"] = {4};
  expect_build_error(m, "outputs[0]", {"[1, 4]"});
  m = model();
  m["tensors"][1]["zero_point"] = {1, 2, 3, 4};
  m["tensors"][1]["axis"] = 1;
  expect_build_error(m, "outputs[0]", {"per-channel zero points"});
  m = model(json::object());
  m["tensors"][1]["scale"] = 1e-300;  // 0 as a float32
  expect_build_error(m, "attrs.multiplier", {"float32"});
}

}  // namespace
}  // namespace dyad::test
