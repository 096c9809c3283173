// transpose through the loader, planner and session: head split/merge
// permutations, element sizes, per-channel quantization moving with its axis,
// and one error per invalid field.
#include <gtest/gtest.h>

#include "tests/ops/op_test_util.h"

namespace dyad::test {
namespace {

json model(const json& perm, const Shape& shape, const std::string& dtype = "int8") {
  const json tensors = {{{"name", "x"}, {"dtype", dtype}, {"shape", shape}, {"scale", 0.5}},
                        {{"name", "y"}, {"dtype", dtype}, {"scale", 0.5}}};
  return one_node_model("transpose", tensors, {"x"}, {"y"},
                        perm.is_null() ? json() : json{{"perm", perm}}, {"x"});
}

TEST(TransposeBuild, Permutations) {
  // [[1 2 3] [4 5 6]] -> [[1 4] [2 5] [3 6]].
  EXPECT_EQ(
      run_model<int8_t>(model({1, 0}, {2, 3}), {bytes_of(std::vector<int8_t>{1, 2, 3, 4, 5, 6})}),
      (std::vector<int8_t>{1, 4, 2, 5, 3, 6}));
  EXPECT_EQ(kernel_of(model({1, 0}, {2, 3})), "transpose__blocked");
  // Head split [1, L=2, H=2, dh=2] -> [1, H, L, dh]: element (l, h, d) = 100l + 10h + d.
  const std::vector<int16_t> x = {0, 1, 10, 11, 100, 101, 110, 111};
  EXPECT_EQ(run_model<int16_t>(model({0, 2, 1, 3}, {1, 2, 2, 2}, "int16"), {bytes_of(x)}, 2),
            (std::vector<int16_t>{0, 1, 100, 101, 10, 11, 110, 111}));
  // int64 elements, rank 3 rotation [2, 1, 2] -> perm {2, 0, 1} -> [2, 2, 1].
  const std::vector<int64_t> w = {INT64_MIN, 1, 2, INT64_MAX};
  EXPECT_EQ(run_model<int64_t>(model({2, 0, 1}, {2, 1, 2}, "int64"), {bytes_of(w)}),
            (std::vector<int64_t>{INT64_MIN, 2, 1, INT64_MAX}));
}

TEST(TransposeBuild, PerChannelAxisMoves) {
  json m = model({1, 0}, {2, 3});
  m["tensors"][0]["scale"] = {0.1, 0.2, 0.3};
  m["tensors"][0]["axis"] = 1;
  m["tensors"][1]["scale"] = {0.1, 0.2, 0.3};
  m["tensors"][1]["axis"] = 0;
  EXPECT_EQ(run_model<int8_t>(m, {bytes_of(std::vector<int8_t>{1, 2, 3, 4, 5, 6})}),
            (std::vector<int8_t>{1, 4, 2, 5, 3, 6}));
  m["tensors"][1]["axis"] = 1;
  m["tensors"][1]["shape"] = {3, 2};
  m["tensors"][1]["scale"] = {0.1, 0.2};
  expect_build_error(m, "outputs[0]", {"along axis 0"});
}

TEST(TransposeBuild, Errors) {
  expect_build_error(model(json(), {2, 3}), "attrs.perm", {"missing"});
  expect_build_error(model({0}, {2, 3}), "attrs.perm", {"rank 2"});
  expect_build_error(model({0, 2}, {2, 3}), "attrs.perm[1]", {"outside [0, 2)"});
  expect_build_error(model({1, 1}, {2, 3}), "attrs.perm[1]", {"appears twice"});
  expect_build_error(model({0, 1, 2, 3, 4, 5, 6}, {1, 1, 1, 1, 1, 1, 2}), "inputs[0]",
                     {"at most 6"});
  json dtype = model({1, 0}, {2, 3});
  dtype["tensors"][1]["dtype"] = "int16";
  expect_build_error(dtype, "outputs[0]", {"dtype int16"});
  json scale = model({1, 0}, {2, 3});
  scale["tensors"][1]["scale"] = 0.25;
  expect_build_error(scale, "outputs[0]", {"different scale"});
  json shape = model({1, 0}, {2, 3});
  shape["tensors"][1]["shape"] = {2, 3};
  expect_build_error(shape, "outputs[0]", {"declared with shape [2, 3]"});
}

}  // namespace
}  // namespace dyad::test
