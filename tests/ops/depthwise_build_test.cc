// conv2d with groups == channels, 3x3: the AVX2 depthwise kernel where the
// CPU has it, the reference under DYAD_KERNELS=ref, the same output bytes
// through the whole engine (scratch, threads), and the reference for a
// window the vector kernel does not cover.
#include <gtest/gtest.h>

#include <cstdlib>
#include <random>

#include "tests/ops/op_test_util.h"

namespace dyad::test {
namespace {

// 20 channels (one full 16-channel block and a tail), 9 x 7 input, 3x3
// depthwise with stride `stride`, padding 1, uint8 in (z = 130), int8 out.
json model(int stride, int kernel = 3) {
  std::mt19937 rng(5);
  json w = json::array(), b = json::array();
  for (int i = 0; i < 20 * kernel * kernel; ++i) w.push_back(static_cast<int>(rng() % 256) - 128);
  for (int i = 0; i < 20; ++i) b.push_back(static_cast<int>(rng() % 20001) - 10000);
  const json tensors = {
      {{"name", "x"}, {"dtype", "uint8"}, {"shape", {1, 9, 7, 20}}, {"scale", 0.5}, {"zero_point", 130}},
      {{"name", "w"}, {"dtype", "int8"}, {"shape", {20, kernel, kernel, 1}}, {"scale", 0.25}, {"values", w}},
      {{"name", "b"}, {"dtype", "int32"}, {"shape", {20}}, {"values", b}},
      {{"name", "y"}, {"dtype", "int8"}, {"scale", 64.0}, {"zero_point", -5}}};
  return one_node_model("conv2d", tensors, {"x", "w", "b"}, {"y"},
                        {{"groups", 20}, {"stride", stride}, {"padding", 1}, {"activation", "relu"}},
                        {"x"});
}

std::vector<uint8_t> input() {
  std::mt19937 rng(6);
  std::vector<uint8_t> x(9 * 7 * 20);
  for (uint8_t& v : x) v = static_cast<uint8_t>(rng());
  return x;
}

TEST(DepthwiseBuild, Avx2KernelEqualsReferenceThroughTheEngine) {
  for (int stride : {1, 2}) {
    const json m = model(stride);
    expect_kernel_choice(m, "depthwise_conv2d_3x3__avx2", "conv2d_u8_qc8w__ref");
    setenv("DYAD_KERNELS", "ref", 1);
    const std::vector<int8_t> want = run_model<int8_t>(m, {input()});
    unsetenv("DYAD_KERNELS");
    for (int threads : {1, 2, 3})
      EXPECT_EQ(run_model<int8_t>(m, {input()}, threads), want) << stride << " " << threads;
  }
}

TEST(DepthwiseBuild, OtherWindowsKeepTheReference) {
  EXPECT_EQ(kernel_of(model(1, 5)), "conv2d_u8_qc8w__ref");
}

}  // namespace
}  // namespace dyad::test
