// reshape through the loader, planner and session, and its errors.
#include <gtest/gtest.h>

#include "tests/ops/op_test_util.h"

namespace dyad::test {
namespace {

json model(const json& attrs) {
  const json tensors = json::parse(R"([
    {"name": "x", "dtype": "int16", "shape": [1, 2, 3]},
    {"name": "y", "dtype": "int16"}])");
  return one_node_model("reshape", tensors, {"x"}, {"y"}, attrs, {"x"});
}

Shape output_shape(const json& attrs) {
  std::shared_ptr<const Model> m;
  const Status s = load(model(attrs), &m);
  EXPECT_TRUE(s.is_ok()) << s.message();
  return s.is_ok() ? m->output(0).shape : Shape{};
}

TEST(ReshapeBuild, ShapesAndData) {
  EXPECT_EQ(output_shape({{"shape", {-1}}}), (Shape{6}));
  EXPECT_EQ(output_shape({{"shape", {3, -1}}}), (Shape{3, 2}));
  EXPECT_EQ(output_shape({{"shape", {1, 6, 1}}}), (Shape{1, 6, 1}));
  const std::vector<int16_t> x = {1, -2, 3, -4, 5, -300};
  EXPECT_EQ(run_model<int16_t>(model({{"shape", {1, 6}}}), {bytes_of(x)}), x);
  EXPECT_EQ(kernel_of(model({{"shape", {6}}})), "reshape__ref");
}

TEST(ReshapeBuild, Errors) {
  expect_build_error(model(nullptr), "attrs.shape", {"required"});
  expect_build_error(model({{"shape", {-1, -1}}}), "attrs.shape[1]", {"one dimension"});
  expect_build_error(model({{"shape", {0, 6}}}), "attrs.shape[0]", {"positive"});
  expect_build_error(model({{"shape", {-2, 3}}}), "attrs.shape[0]");
  expect_build_error(model({{"shape", {4, 2}}}), "attrs.shape", {"6"});
  expect_build_error(model({{"shape", {4, -1}}}), "attrs.shape", {"multiple of 4"});
  expect_build_error(model({{"shape", 6}}), "attrs.shape", {"list"});
  json m = model({{"shape", {6}}});
  m["tensors"][1]["dtype"] = "int32";
  expect_build_error(m, "outputs[0]", {"passes int16"});
}

}  // namespace
}  // namespace dyad::test
