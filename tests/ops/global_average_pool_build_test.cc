// global_average_pool through the loader, planner and session, and its errors.
#include <gtest/gtest.h>

#include "tests/ops/op_test_util.h"

namespace dyad::test {
namespace {

json model(const json& attrs) {
  const json tensors = json::parse(R"([
    {"name": "x", "dtype": "int8", "shape": [2, 2, 2, 2], "scale": 0.5},
    {"name": "y", "dtype": "int8", "scale": 0.5}])");
  return one_node_model("global_average_pool", tensors, {"x"}, {"y"}, attrs, {"x"});
}

// tests/kernels/global_average_pool_test.cc: 2 -3 -4 -1.
const std::vector<std::vector<uint8_t>> kInput = {
    bytes_of<int8_t>({1, -1, 2, -2, 3, -3, 5, -5, -4, 0, -4, 0, -4, 0, -3, -1})};

TEST(GlobalAveragePoolBuild, KeepdimsAndShapes) {
  std::shared_ptr<const Model> m;
  ASSERT_TRUE(load(model(nullptr), &m).is_ok());
  EXPECT_EQ(m->output(0).shape, (Shape{2, 1, 1, 2}));
  ASSERT_TRUE(load(model({{"keepdims", false}}), &m).is_ok());
  EXPECT_EQ(m->output(0).shape, (Shape{2, 2}));
  EXPECT_EQ(run_model<int8_t>(model({{"keepdims", false}}), kInput),
            (std::vector<int8_t>{2, -3, -4, -1}));
  expect_vector_kernel_choice(model(nullptr), "global_average_pool__avx512", "global_average_pool__avx2",
                              "global_average_pool__ref");
}

TEST(GlobalAveragePoolBuild, Errors) {
  expect_build_error(model({{"keepdims", 0}}), "attrs.keepdims", {"true or false"});
  expect_build_error(model({{"kernel", 2}}), "attrs.kernel", {"unknown attribute"});
  json m = model(nullptr);
  m["tensors"][1]["shape"] = {2, 2};
  expect_build_error(m, "outputs[0]", {"[2, 1, 1, 2]"});
  m = model(nullptr);
  m["tensors"][1]["dtype"] = "uint8";
  expect_build_error(m, "outputs[0]", {"passes int8"});
}

}  // namespace
}  // namespace dyad::test
