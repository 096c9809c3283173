// concat through the loader, planner and session, and its errors.
#include <gtest/gtest.h>

#include "tests/ops/op_test_util.h"

namespace dyad::test {
namespace {

json model(const json& attrs) {
  const json tensors = json::parse(R"([
    {"name": "a", "dtype": "int8", "shape": [2, 1, 2], "scale": 0.5, "zero_point": 1},
    {"name": "b", "dtype": "int8", "shape": [2, 2, 2], "scale": 0.5, "zero_point": 1},
    {"name": "y", "dtype": "int8", "scale": 0.5, "zero_point": 1}])");
  return one_node_model("concat", tensors, {"a", "b"}, {"y"}, attrs, {"a", "b"});
}

const std::vector<std::vector<uint8_t>> kInputs = {{1, 2, 3, 4}, {5, 6, 7, 8, 9, 10, 11, 12}};

TEST(ConcatBuild, AxisAndNegativeAxis) {
  // tests/kernels/concat_test.cc: [1 2 5 6 7 8 | 3 4 9 10 11 12].
  const std::vector<uint8_t> expected = {1, 2, 5, 6, 7, 8, 3, 4, 9, 10, 11, 12};
  EXPECT_EQ(run_model<uint8_t>(model({{"axis", 1}}), kInputs), expected);
  EXPECT_EQ(run_model<uint8_t>(model({{"axis", -2}}), kInputs), expected);
  std::shared_ptr<const Model> m;
  ASSERT_TRUE(load(model({{"axis", 1}}), &m).is_ok());
  EXPECT_EQ(m->output(0).shape, (Shape{2, 3, 2}));
  EXPECT_EQ(kernel_of(model({{"axis", 1}})), "concat__ref");
}

TEST(ConcatBuild, Errors) {
  expect_build_error(model(nullptr), "attrs.axis", {"required"});
  expect_build_error(model({{"axis", 3}}), "attrs.axis");
  expect_build_error(model({{"axis", 0}}), "inputs[1]", {"outside axis 0"});
  json m = model({{"axis", 1}});
  m["tensors"][1]["dtype"] = "uint8";
  expect_build_error(m, "inputs[1]", {"uint8"});
  m = model({{"axis", 1}});
  m["tensors"][1]["zero_point"] = 2;
  expect_build_error(m, "inputs[1]", {"requantize"});
  m = model({{"axis", 1}});
  m["tensors"][2]["dtype"] = "int16";
  expect_build_error(m, "outputs[0]", {"int16"});
  expect_build_error(model({{"axis", 1}, {"dim", 1}}), "attrs.dim", {"unknown attribute"});
}

}  // namespace
}  // namespace dyad::test
