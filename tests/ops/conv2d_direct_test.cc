// Direct convolution (kernels/conv2d/conv_direct.h): a VNNI GEMM variant
// reading each output pixel's window in place from a padded copy of the
// input. Random shapes (stems with 3 channels too), windows, strides,
// dilations, paddings, batches, signed and unsigned inputs (so the copy's
// u = x - src_offset and its zero-point padding both matter; with a zero
// point of 0 the kernel rows and columns that read only padding are skipped), int8 / uint8 /
// int32 outputs, 4-bit weights and 1-3 threads, each against the reference
// conv (DYAD_KERNELS=ref) bit for bit, under each VNNI instruction set the
// CPU has (zmm and ymm tiles), and on AVX2 where the implicit GEMM runs.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "kernels/common/cpu.h"
#include "tests/kernels/scoped_env.h"
#include "tests/ops/op_test_util.h"

namespace dyad::test {
namespace {

struct DirectCase {
  int64_t batch, c, o, h, w, kh, kw, stride, dilation, pad;
  std::string x_dtype, y_dtype, w_dtype;
  // Zero point 0 of a uint8 input: padding is then u = 0, and the tiles
  // skip the kernel rows that read only padding rows.
  bool zero_padding = false;
};

json direct_model(const DirectCase& c, std::mt19937& rng) {
  const int wmax = c.w_dtype == "int4" ? 7 : 127;
  std::vector<int> weights(static_cast<size_t>(c.o * c.kh * c.kw * c.c));
  for (int& v : weights) v = static_cast<int>(rng() % (2 * wmax + 2)) - wmax - 1;
  std::vector<int> bias(static_cast<size_t>(c.o));
  for (int& v : bias) v = static_cast<int>(rng() % 20001) - 10000;
  json x = {{"name", "x"}, {"dtype", c.x_dtype}, {"shape", {c.batch, c.h, c.w, c.c}}, {"scale", 0.05},
            {"zero_point", c.zero_padding ? 0 : c.x_dtype == "uint8" ? 9 : -5}};
  json y = {{"name", "y"}, {"dtype", c.y_dtype}};
  if (c.y_dtype != "int32") {
    y["scale"] = c.w_dtype == "int4" ? 0.05 : 0.9;
    y["zero_point"] = c.y_dtype == "uint8" ? 100 : 4;
  }
  const json tensors = {x,
                        {{"name", "w"}, {"dtype", c.w_dtype}, {"shape", {c.o, c.kh, c.kw, c.c}}, {"scale", 0.01},
                         {"values", weights}},
                        {{"name", "b"}, {"dtype", "int32"}, {"shape", {c.o}}, {"values", bias}},
                        y};
  const json attrs = {{"stride", c.stride}, {"dilation", c.dilation}, {"padding", c.pad}};
  return one_node_model("conv2d", tensors, {"x", "w", "b"}, {"y"}, attrs, {"x"});
}

std::vector<uint8_t> random_input(const DirectCase& c, std::mt19937& rng) {
  std::vector<uint8_t> x(static_cast<size_t>(c.batch * c.h * c.w * c.c));
  for (uint8_t& v : x) v = static_cast<uint8_t>(rng());
  return x;
}

const DirectCase kCases[] = {
    // ResNet's 3x3 stride 1 and 2, a tile spanning output rows (out_w = 7)
    {1, 64, 64, 9, 9, 3, 3, 1, 1, 1, "uint8", "uint8", "int8"},
    {1, 32, 48, 14, 14, 3, 3, 2, 1, 1, "int8", "int8", "int8"},
    {1, 16, 40, 7, 7, 3, 3, 1, 1, 1, "uint8", "int8", "int8"},
    // taps of one quad (C = 4) and of three (C = 12), a 5x3 window, dilation
    {2, 4, 24, 8, 11, 5, 3, 1, 2, 2, "int8", "int32", "int8"},
    {1, 12, 16, 10, 6, 3, 3, 2, 1, 0, "uint8", "uint8", "int8"},
    // a 1x3 window with padding 1 (output rows above and below the input)
    {1, 8, 32, 5, 5, 1, 3, 1, 1, 1, "int8", "int8", "int8"},
    // 4-bit weights (the byte panels of the mixed models), batch 3
    {3, 24, 72, 6, 9, 3, 3, 1, 1, 1, "uint8", "uint8", "int4"},
    // K = 9 * 256, several K blocks that split kernel rows
    {1, 256, 64, 5, 5, 3, 3, 1, 1, 1, "uint8", "uint8", "int8"},
    // stems: kernel rows of 7 x 3 and 3 x 3 bytes padded to whole quads with
    // zero weights; a dilated 6-channel window (taps of 6 bytes padded to 8)
    {1, 3, 16, 23, 21, 7, 7, 2, 1, 3, "int8", "uint8", "int8"},
    {2, 3, 32, 15, 16, 3, 3, 2, 1, 1, "uint8", "int8", "int8"},
    {1, 6, 24, 12, 12, 3, 3, 1, 2, 2, "int8", "int8", "int4"},
    // padding rows skipped: ResNet's 7x7 maps, a stride-2 window; whole-pixel
    // tiles that span output rows where the columns cannot be skipped (a
    // stem, a dilated window, 6 channels with two images in one tile)
    {1, 32, 64, 7, 7, 3, 3, 1, 1, 1, "uint8", "uint8", "int8", true},
    {1, 16, 32, 14, 14, 3, 3, 2, 1, 1, "uint8", "int8", "int8", true},
    {1, 3, 16, 20, 20, 7, 7, 2, 1, 3, "uint8", "uint8", "int8", true},
    {1, 8, 16, 9, 9, 3, 3, 1, 3, 3, "uint8", "int32", "int8", true},
    {3, 8, 16, 3, 5, 3, 3, 1, 1, 2, "uint8", "uint8", "int8", true},
    {3, 6, 16, 3, 5, 3, 3, 1, 1, 2, "uint8", "uint8", "int8", true},
    // padding columns skipped too (channels a multiple of 4, adjacent taps):
    // the edge columns tiled down the column, near-equal tiles (7 as 4 +
    // 3), two images; a 5x5 window (two edge columns a side, each with its
    // own taps) with int32 outputs; a one-column map (no full column); a
    // padding wider than the window (columns and rows of padding only);
    // K blocks that split kernel rows; a 1x3 window; a map tall enough for
    // several M blocks per thread
    {2, 16, 24, 7, 7, 3, 3, 1, 1, 1, "uint8", "uint8", "int8", true},
    {2, 8, 40, 11, 9, 5, 5, 1, 1, 2, "uint8", "int32", "int8", true},
    {1, 4, 16, 6, 1, 3, 3, 1, 1, 1, "uint8", "int8", "int8", true},
    {1, 4, 16, 4, 4, 3, 3, 1, 1, 3, "uint8", "uint8", "int8", true},
    {1, 256, 64, 5, 5, 3, 3, 1, 1, 1, "uint8", "uint8", "int8", true},
    {1, 8, 32, 5, 5, 1, 3, 1, 1, 1, "uint8", "int8", "int8", true},
    {1, 16, 64, 40, 40, 3, 3, 1, 1, 1, "uint8", "uint8", "int8", true},
    {1, 12, 16, 10, 6, 3, 3, 2, 1, 1, "uint8", "int32", "int4", true},
};

// Every case under one dispatch cap; `direct` says whether the direct
// convolution must be the kernel.
void expect_cases_match_the_reference(const char* isa, bool direct) {
  kernels::ScopedEnv cap("DYAD_ISA", isa);
  std::mt19937 rng(21);
  int index = 0;
  for (const DirectCase& c : kCases) {
    const json m = direct_model(c, rng);
    const std::vector<uint8_t> x = random_input(c, rng);
    std::vector<uint8_t> want;
    {
      kernels::ScopedEnv ref("DYAD_KERNELS", "ref");
      want = run_model<uint8_t>(m, {x}, 1);
    }
    const std::string kernel = kernel_of(m);
    if (direct) {
      EXPECT_EQ(kernel.rfind("conv2d_direct:", 0), 0u) << isa << " " << kernel << " case " << index;
    } else {
      EXPECT_EQ(kernel.rfind("conv2d_direct:", 0), std::string::npos) << isa << " " << kernel << " case " << index;
    }
    for (int threads : {1, 2, 3})
      EXPECT_EQ(run_model<uint8_t>(m, {x}, threads), want)
          << isa << " " << kernel << " case " << index << " threads " << threads;
    ++index;
  }
}

TEST(Conv2dDirect, Avx512VnniTilesEqualTheReference) {
  if (!kernels::kernel_isa_present(kernels::KernelIsa::kAvx512Vnni))
    GTEST_SKIP() << "this CPU lacks AVX-512 VNNI: the zmm direct convolution is untested here";
  expect_cases_match_the_reference("avx512vnni", true);
}

TEST(Conv2dDirect, AvxVnniTilesEqualTheReference) {
  if (!kernels::kernel_isa_present(kernels::KernelIsa::kAvxVnni))
    GTEST_SKIP() << "this CPU lacks AVX-VNNI: the ymm direct convolution is untested here";
  expect_cases_match_the_reference("avxvnni", true);
}

TEST(Conv2dDirect, Avx2KeepsTheImplicitGemm) {
  if (!kernels::kernel_isa_present(kernels::KernelIsa::kAvx2)) GTEST_SKIP() << "this CPU lacks AVX2";
  expect_cases_match_the_reference("avx2", false);
}

// Where the copy would not be smaller than the windows it replaces, or the
// window has more than 4096 segments, the implicit GEMM stays.
TEST(Conv2dDirect, OtherConvsKeepTheImplicitGemm) {
  std::mt19937 rng(22);
  const DirectCase cases[] = {
      {1, 16, 32, 12, 12, 1, 1, 2, 1, 0, "int8", "int8", "int8"},  // strided 1x1: windows are a quarter
      {1, 8, 32, 5, 5, 1, 1, 1, 1, 1, "int8", "int8", "int8"},     // padded 1x1: as many bytes
      {1, 4, 8, 140, 140, 65, 65, 1, 2, 0, "uint8", "uint8", "int8"},  // 4225 dilated taps: over 4096
  };
  for (const DirectCase& c : cases) {
    const std::string kernel = kernel_of(direct_model(c, rng));
    EXPECT_EQ(kernel.rfind("conv2d_direct:", 0), std::string::npos) << kernel;
  }
}

}  // namespace
}  // namespace dyad::test
