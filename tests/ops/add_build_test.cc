// add through the loader, planner and session, and its errors.
#include <gtest/gtest.h>

#include "engine/ops/kernel_select.h"
#include "tests/ops/op_test_util.h"

namespace dyad::test {
namespace {

// tests/kernels/add_test.cc BranchesRoundSeparatelyAndClampOnce: a int32
// [1 200 3 -300], b int8 (z_b = 1) [2 -99 4 1], channel 0 by 0.5, channel 1
// by 1, z_y = -2: y = -2 98 2 -128. Scales S_a = S_b = [0.5 1] along the last
// axis and S_y = 1 give the same constants.
json model(const json& attrs = {{"a_multiplier", 1073741824}, {"a_shift", {31, 30}},
                                {"b_multiplier", {1073741824, 1073741824}}, {"b_shift", {31, 30}}}) {
  const json tensors = json::parse(R"([
    {"name": "a", "dtype": "int32", "shape": [1, 2, 2], "scale": [0.5, 1.0], "axis": 2},
    {"name": "b", "dtype": "int8", "shape": [1, 2, 2], "scale": [0.5, 1.0], "axis": 2,
     "zero_point": 1},
    {"name": "y", "dtype": "int8", "scale": 1.0, "zero_point": -2}])");
  return one_node_model("add", tensors, {"a", "b"}, {"y"}, attrs, {"a", "b"});
}

const std::vector<std::vector<uint8_t>> kInputs = {bytes_of<int32_t>({1, 200, 3, -300}),
                                                   bytes_of<int8_t>({2, -99, 4, 1})};

TEST(AddBuild, StoredAndDerivedConstants) {
  EXPECT_EQ(run_model<int8_t>(model(), kInputs), (std::vector<int8_t>{-2, 98, 2, -128}));
  EXPECT_EQ(run_model<int8_t>(model(json::object()), kInputs),
            (std::vector<int8_t>{-2, 98, 2, -128}));
  expect_kernel_choice(model(), avx512_kernels_allowed() ? "add__avx512" : "add__" + vector_isa(), "add__ref");
}

TEST(AddBuild, ReluAndInt16Output) {
  // relu clamps below at z_y = -2: -2 98 2 -302 -> -2 98 2 -2 (int16 holds -302 otherwise).
  json m = model(json::object());
  m["tensors"][2]["dtype"] = "int16";
  EXPECT_EQ(run_model<int16_t>(m, kInputs), (std::vector<int16_t>{-2, 98, 2, -302}));
  m["nodes"][0]["attrs"] = {{"activation", "relu"}};
  EXPECT_EQ(run_model<int16_t>(m, kInputs), (std::vector<int16_t>{-2, 98, 2, -2}));
}

TEST(AddBuild, Errors) {
  json m = model();
  m["tensors"][1]["shape"] = {1, 1, 4};
  m["tensors"][1]["scale"] = 0.5;
  m["tensors"][1].erase("axis");
  expect_build_error(m, "inputs[1]", {"equal shapes"});

  m = model({{"a_multiplier", 1073741824}});
  expect_build_error(m, "attrs.a_shift", {"missing"});

  m = model(json::object());
  m["tensors"][1].erase("scale");
  m["tensors"][1].erase("axis");
  expect_build_error(m, "attrs.b_multiplier", {"'b'", "no scale"});

  m = model({{"a_multiplier", {1, 2, 3}}, {"a_shift", 31}, {"b_multiplier", 1}, {"b_shift", 1}});
  expect_build_error(m, "attrs.a_multiplier", {"expected 1 or 2"});

  m = model({{"multiplier", 1}, {"shift", 1}});  // add's constants are per branch
  expect_build_error(m, "attrs.multiplier", {"unknown attribute"});

  // int64 branch scaled by 2^30 * 2^62: beyond what the kernel sums exactly.
  m = model({{"a_multiplier", 1073741824}, {"a_shift", -62}, {"b_multiplier", 1}, {"b_shift", 1}});
  m["tensors"][0]["dtype"] = "int64";
  expect_build_error(m, "attrs.a_shift", {"2^125"});

  m = model();  // a packed 4-bit constant cannot be an activation
  m["tensors"][1] = {{"name", "b"}, {"dtype", "int4"}, {"shape", {1, 2, 2}},
                     {"values", {1, 2, 3, 4}}};
  m["inputs"] = {"a"};
  expect_build_error(m, "inputs[1]", {"packed"});
}

}  // namespace
}  // namespace dyad::test
