// conv2d with groups == channels, 3x3 and 5x5: the best vector depthwise kernel the
// CPU has (AVX-512 VNNI, else AVX2; DYAD_ISA=avx2 keeps AVX2), the reference under DYAD_KERNELS=ref, the same output bytes
// through the whole engine (scratch, threads), and the reference for a
// window the vector kernel does not cover.
#include <gtest/gtest.h>

#include <cstdlib>
#include <random>
#include <string>

#include "tests/ops/op_test_util.h"

namespace dyad::test {
namespace {

// 20 channels (one full 16-channel block and a tail), 9 x 7 input, KxK
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

std::string kernel_name(int kernel, const char* isa) {
  const std::string k = std::to_string(kernel);
  return "depthwise_conv2d_" + k + "x" + k + "__" + isa;
}

// The kernel automatic dispatch should pick on this CPU.
std::string best_vector_kernel(int kernel) {
#if defined(__aarch64__)
  return kernel_name(kernel, "neon");
#else
  return kernel_name(kernel, kernels::kernel_isa_usable(kernels::KernelIsa::kAvx512Vnni) ? "avx512vnni" : "avx2");
#endif
}

TEST(DepthwiseBuild, VectorKernelEqualsReferenceThroughTheEngine) {
  for (int kernel : {3, 5})
    for (int stride : {1, 2}) {
      const json m = model(stride, kernel);
#if defined(__aarch64__)
      EXPECT_EQ(kernel_of(m), kernels::kernel_isa_usable(kernels::KernelIsa::kNeon) ? best_vector_kernel(kernel)
                                                                                     : "conv2d_u8_qc8w__ref");
#else
      expect_kernel_choice(m, best_vector_kernel(kernel), "conv2d_u8_qc8w__ref");
#endif
      setenv("DYAD_KERNELS", "ref", 1);
      const std::vector<int8_t> want = run_model<int8_t>(m, {input()});
      unsetenv("DYAD_KERNELS");
      for (int threads : {1, 2, 3})
        EXPECT_EQ(run_model<int8_t>(m, {input()}, threads), want) << kernel << " " << stride << " " << threads;
      // Capped at AVX2: the AVX2 variant, same bytes.
      if (!kernels::cpu_features().avx2) continue;
      const char* old = std::getenv("DYAD_ISA");
      const std::string saved = old ? old : "";
      setenv("DYAD_ISA", "avx2", 1);
      EXPECT_EQ(kernel_of(m), kernel_name(kernel, "avx2"));
      for (int threads : {1, 2})
        EXPECT_EQ(run_model<int8_t>(m, {input()}, threads), want)
            << "avx2 " << kernel << " " << stride << " " << threads;
      if (old) setenv("DYAD_ISA", saved.c_str(), 1);
      else unsetenv("DYAD_ISA");
    }
}

TEST(DepthwiseBuild, OtherWindowsKeepTheReference) {
  EXPECT_EQ(kernel_of(model(1, 7)), "conv2d_u8_qc8w__ref");
}

}  // namespace
}  // namespace dyad::test
