// average_pool through the loader, planner and session, and its errors.
#include <gtest/gtest.h>

#include "tests/ops/op_test_util.h"

namespace dyad::test {
namespace {

json model(const json& attrs, const std::string& dtype = "int8") {
  json tensors = json::parse(R"([
    {"name": "x", "dtype": "int8", "shape": [1, 3, 3, 1]},
    {"name": "y", "dtype": "int8"}])");
  tensors[0]["dtype"] = tensors[1]["dtype"] = dtype;
  return one_node_model("average_pool", tensors, {"x"}, {"y"}, attrs, {"x"});
}

TEST(AveragePoolBuild, PaddingNotCountedFloorOfNegatives) {
  // tests/kernels/average_pool_test.cc: -(1..9), 3x3 windows, stride 1, padding 1:
  // -3 -4 -4 -5 -5 -6 -6 -7 -7.
  const json m = model({{"kernel", 3}, {"stride", 1}, {"padding", {1, 1, 1, 1}}});
  EXPECT_EQ(run_model<int8_t>(m, {bytes_of<int8_t>({-1, -2, -3, -4, -5, -6, -7, -8, -9})}, 2),
            (std::vector<int8_t>{-3, -4, -4, -5, -5, -6, -6, -7, -7}));
  expect_vector_kernel_choice(m, "average_pool__avx512", "average_pool__avx2", "average_pool__ref");
}

TEST(AveragePoolBuild, Uint4) {
  // uint4 in uint8 containers; 1x3 windows, stride (1, 3) on 3x3: row averages
  // [15 15 14] = 44/3 -> 14; [0 1 1] -> 0; [7 8 8] = 23/3 -> 7.
  const json m = model({{"kernel", {1, 3}}, {"stride", {1, 3}}}, "uint4");
  EXPECT_EQ(run_model<uint8_t>(m, {{15, 15, 14, 0, 1, 1, 7, 8, 8}}),
            (std::vector<uint8_t>{14, 0, 7}));
}

TEST(AveragePoolBuild, Errors) {
  expect_build_error(model({{"kernel", 2}}, "int64"), "inputs[0]", {"int64"});
  expect_build_error(model({{"kernel", 2}, {"stride", {1, 0}}}), "attrs.stride[1]");
  expect_build_error(model({{"kernel", 2}, {"padding", {0, 0, 0, 2}}}), "attrs.padding",
                     {"smaller"});
  expect_build_error(model({{"kernel", 2}, {"count_include_pad", true}}),
                     "attrs.count_include_pad", {"unknown attribute"});
}

}  // namespace
}  // namespace dyad::test
