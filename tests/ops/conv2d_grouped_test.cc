// Grouped conv2d (1 < groups, not the depthwise kernel) as one implicit GEMM
// per group (engine/ops/conv2d.cc, im2col_group_rows_x8): random shapes,
// windows, strides, dilations, paddings, signed and unsigned inputs, int8 /
// uint8 / int32 outputs, 1-3 threads, each against the reference conv
// (DYAD_KERNELS=ref), bit for bit; groups with fewer than 8 outputs keep the
// reference.
#include <gtest/gtest.h>

#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "kernels/common/cpu.h"
#include "tests/ops/op_test_util.h"

namespace dyad::test {
namespace {

struct GroupedCase {
  int64_t groups, cg, og, h, w, kh, kw, stride, dilation, pad;
  std::string x_dtype, y_dtype;
};

json grouped_model(const GroupedCase& c, std::mt19937& rng) {
  const int64_t in_c = c.groups * c.cg, out_c = c.groups * c.og;
  std::vector<int> weights(static_cast<size_t>(out_c * c.kh * c.kw * c.cg));
  for (int& v : weights) v = static_cast<int>(rng() % 255) - 127;
  std::vector<int> bias(static_cast<size_t>(out_c));
  for (int& v : bias) v = static_cast<int>(rng() % 20001) - 10000;
  json x = {{"name", "x"}, {"dtype", c.x_dtype}, {"shape", {1, c.h, c.w, in_c}}, {"scale", 0.05},
            {"zero_point", c.x_dtype == "uint8" ? 7 : -3}};
  json y = {{"name", "y"}, {"dtype", c.y_dtype}};
  if (c.y_dtype != "int32") {
    y["scale"] = 0.7;
    y["zero_point"] = c.y_dtype == "uint8" ? 100 : 4;
  }
  const json tensors = {x,
                        {{"name", "w"}, {"dtype", "int8"}, {"shape", {out_c, c.kh, c.kw, c.cg}},
                         {"scale", 0.01}, {"values", weights}},
                        {{"name", "b"}, {"dtype", "int32"}, {"shape", {out_c}}, {"values", bias}},
                        y};
  const json attrs = {{"groups", c.groups}, {"stride", c.stride}, {"dilation", c.dilation}, {"padding", c.pad}};
  return one_node_model("conv2d", tensors, {"x", "w", "b"}, {"y"}, attrs, {"x"});
}

std::vector<uint8_t> random_input(const GroupedCase& c, std::mt19937& rng) {
  std::vector<uint8_t> x(static_cast<size_t>(c.h * c.w * c.groups * c.cg));
  for (uint8_t& v : x) v = static_cast<uint8_t>(rng());
  return x;
}

std::vector<uint8_t> output_bytes(const json& m, const std::vector<uint8_t>& x, int threads) {
  return run_model<uint8_t>(m, {x}, threads);
}

TEST(Conv2dGrouped, EachGroupAnImplicitGemmEqualToTheReference) {
  const bool gemm = kernels::cpu_features().avx2;
  std::mt19937 rng(11);
  const GroupedCase cases[] = {
      {2, 8, 16, 9, 9, 3, 3, 1, 1, 1, "int8", "int8"},
      {4, 3, 8, 7, 10, 3, 3, 2, 1, 1, "uint8", "uint8"},
      {3, 16, 24, 6, 6, 1, 1, 1, 1, 0, "int8", "int32"},
      {2, 5, 33, 8, 5, 5, 3, 1, 2, 2, "uint8", "int8"},
      {8, 4, 8, 5, 5, 2, 2, 2, 1, 0, "int8", "uint8"},
      {2, 64, 40, 4, 4, 3, 3, 1, 1, 1, "int8", "int8"},
  };
  int index = 0;
  for (const GroupedCase& c : cases) {
    const json m = grouped_model(c, rng);
    const std::vector<uint8_t> x = random_input(c, rng);
    setenv("DYAD_KERNELS", "ref", 1);
    const std::vector<uint8_t> want = output_bytes(m, x, 1);
    unsetenv("DYAD_KERNELS");
    const std::string kernel = kernel_of(m);
    if (gemm) {
      EXPECT_EQ(kernel.rfind("conv2d_grouped:", 0), 0u) << kernel << " case " << index;
    }
    for (int threads : {1, 2, 3})
      EXPECT_EQ(output_bytes(m, x, threads), want) << kernel << " case " << index << " threads " << threads;
    ++index;
  }
}

TEST(Conv2dGrouped, SmallGroupsKeepTheReference) {
  std::mt19937 rng(12);
  const GroupedCase c{4, 4, 7, 5, 5, 3, 3, 1, 1, 1, "int8", "int8"};
  const json m = grouped_model(c, rng);
  EXPECT_EQ(kernel_of(m), "conv2d_s8_qc8w__ref");
}

}  // namespace
}  // namespace dyad::test
