// max_pool through the loader, planner and session, and its errors.
#include <gtest/gtest.h>

#include "tests/ops/op_test_util.h"

namespace dyad::test {
namespace {

json model(const json& attrs, const std::string& dtype = "int8") {
  json tensors = json::parse(R"([
    {"name": "x", "dtype": "int8", "shape": [1, 3, 3, 1], "scale": 0.1, "zero_point": 2},
    {"name": "y", "dtype": "int8", "scale": 0.1, "zero_point": 2}])");
  tensors[0]["dtype"] = tensors[1]["dtype"] = dtype;
  return one_node_model("max_pool", tensors, {"x"}, {"y"}, attrs, {"x"});
}

TEST(MaxPoolBuild, WindowsAndPadding) {
  // tests/kernels/max_pool_test.cc: 2x2 windows with stride 1 -> 5 5 7 9.
  EXPECT_EQ(run_model<int8_t>(model({{"kernel", 2}, {"stride", 1}}),
                              {bytes_of<int8_t>({1, -2, 3, -4, 5, -6, 7, -8, 9})}),
            (std::vector<int8_t>{5, 5, 7, 9}));
  // stride defaults to the kernel; padding 1 is ignored: -1 -2 -4 -5.
  EXPECT_EQ(run_model<int8_t>(model({{"kernel", {2, 2}}, {"padding", 1}}),
                              {bytes_of<int8_t>({-1, -2, -3, -4, -5, -6, -7, -8, -9})}),
            (std::vector<int8_t>{-1, -2, -4, -5}));
  expect_vector_kernel_choice(model({{"kernel", 2}}), "max_pool__avx512", "max_pool__avx2", "max_pool__ref");
}

TEST(MaxPoolBuild, Int16) {
  // One 3x3 window over int16 values: the max is 300.
  EXPECT_EQ(run_model<int16_t>(model({{"kernel", 3}}, "int16"),
                               {bytes_of<int16_t>({-500, 300, 2, 1, 0, -1, 299, 7, -32768})}),
            (std::vector<int16_t>{300}));
}

TEST(MaxPoolBuild, Errors) {
  expect_build_error(model(json::object()), "attrs.kernel", {"required"});
  expect_build_error(model({{"kernel", 0}}), "attrs.kernel");
  expect_build_error(model({{"kernel", 2}, {"padding", 2}}), "attrs.padding", {"smaller"});
  expect_build_error(model({{"kernel", 4}}), "inputs[0]", {"smaller than"});
  expect_build_error(model({{"kernel", 2}, {"dilation", 2}}), "attrs.dilation",
                     {"unknown attribute"});
  json m = model({{"kernel", 2}});
  m["tensors"][1]["dtype"] = "int16";
  expect_build_error(m, "outputs[0]", {"passes int8"});
  m = model({{"kernel", 2}});
  m["tensors"][1]["zero_point"] = 3;
  expect_build_error(m, "outputs[0]", {"zero point"});
  m = model({{"kernel", 2}});
  m["tensors"][1]["scale"] = 0.2;
  expect_build_error(m, "outputs[0]", {"scale"});
  m = model({{"kernel", 2}});
  m["tensors"][0]["shape"] = {3, 3, 1};
  expect_build_error(m, "inputs[0]", {"rank 4"});
}

}  // namespace
}  // namespace dyad::test
