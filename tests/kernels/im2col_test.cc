// im2col_x8 and im2col_rows_x8 against a tap-by-tap definition: random windows, strides,
// dilations and paddings (including padding wider than the kernel and whole
// rows or columns of padding), 1 and 2 threads.
#include "kernels/conv2d/im2col.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "kernels/common/thread_pool.h"

namespace dyad::kernels {
namespace {

std::vector<uint8_t> im2col_by_tap(const Conv2dParams& p, const std::vector<uint8_t>& src, uint8_t zp) {
  std::vector<uint8_t> out;
  for (int64_t n = 0; n < p.batch; ++n)
    for (int64_t oh = 0; oh < p.out_h; ++oh)
      for (int64_t ow = 0; ow < p.out_w; ++ow)
        for (int64_t kh = 0; kh < p.kernel_h; ++kh)
          for (int64_t kw = 0; kw < p.kernel_w; ++kw)
            for (int64_t c = 0; c < p.in_c; ++c) {
              const int64_t ih = oh * p.stride_h - p.pad_top + kh * p.dilation_h;
              const int64_t iw = ow * p.stride_w - p.pad_left + kw * p.dilation_w;
              const bool inside = ih >= 0 && ih < p.in_h && iw >= 0 && iw < p.in_w;
              out.push_back(inside ? src[((n * p.in_h + ih) * p.in_w + iw) * p.in_c + c] : zp);
            }
  return out;
}

// Random conv params (windows, strides, dilations, paddings up to 8 on each
// side); false when the padded image is smaller than the kernel's span.
bool random_params(std::mt19937& rng, Conv2dParams& p) {
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  p.batch = pick(1, 2);
  p.in_h = pick(1, 9);
  p.in_w = pick(1, 9);
  p.in_c = pick(1, 5);
  p.kernel_h = pick(1, 7);
  p.kernel_w = pick(1, 7);
  p.stride_h = pick(1, 3);
  p.stride_w = pick(1, 3);
  p.dilation_h = pick(1, 2);
  p.dilation_w = pick(1, 3);
  p.pad_top = pick(0, 8);
  p.pad_left = pick(0, 8);
  const int64_t pad_bottom = pick(0, 8), pad_right = pick(0, 8);
  const int64_t span_h = (p.kernel_h - 1) * p.dilation_h + 1, span_w = (p.kernel_w - 1) * p.dilation_w + 1;
  const int64_t room_h = p.in_h + p.pad_top + pad_bottom - span_h;
  const int64_t room_w = p.in_w + p.pad_left + pad_right - span_w;
  if (room_h < 0 || room_w < 0) return false;
  p.out_h = room_h / p.stride_h + 1;
  p.out_w = room_w / p.stride_w + 1;
  return true;
}

std::string describe(const Conv2dParams& p) {
  return "in " + std::to_string(p.in_h) + "x" + std::to_string(p.in_w) + "x" + std::to_string(p.in_c) +
         ", kernel " + std::to_string(p.kernel_h) + "x" + std::to_string(p.kernel_w) + ", stride " +
         std::to_string(p.stride_h) + "," + std::to_string(p.stride_w) + ", dilation " +
         std::to_string(p.dilation_h) + "," + std::to_string(p.dilation_w) + ", pad " +
         std::to_string(p.pad_top) + "," + std::to_string(p.pad_left);
}

std::vector<uint8_t> random_bytes(std::mt19937& rng, size_t n) {
  std::vector<uint8_t> v(n);
  for (auto& b : v) b = static_cast<uint8_t>(std::uniform_int_distribution<int>(0, 255)(rng));
  return v;
}

TEST(Im2col, MatchesTapByTapDefinition) {
  std::mt19937 rng(20261207);
  for (int threads : {1, 2}) {
    ThreadPool pool(threads);
    for (int trial = 0; trial < 300; ++trial) {
      Conv2dParams p;
      if (!random_params(rng, p)) continue;
      const std::vector<uint8_t> src = random_bytes(rng, static_cast<size_t>(p.batch * p.in_h * p.in_w * p.in_c));
      const auto zp = static_cast<uint8_t>(std::uniform_int_distribution<int>(0, 255)(rng));
      const std::vector<uint8_t> want = im2col_by_tap(p, src, zp);
      std::vector<uint8_t> got(want.size(), 0xAB);
      im2col_x8(p, src.data(), zp, got.data(), &pool);
      ASSERT_EQ(got, want) << "trial " << trial << ", threads " << threads << ": " << describe(p);
    }
  }
}

// The implicit GEMM's row source: any range of rows (starting and ending
// inside an output image row, spanning rows and images), into rows of a
// wider stride whose tail bytes stay untouched.
TEST(Im2col, RowRangesMatchTheWholeMatrix) {
  std::mt19937 rng(7);
  int ranges = 0;
  for (int trial = 0; trial < 400; ++trial) {
    Conv2dParams p;
    if (!random_params(rng, p)) continue;
    const std::vector<uint8_t> src = random_bytes(rng, static_cast<size_t>(p.batch * p.in_h * p.in_w * p.in_c));
    const auto zp = static_cast<uint8_t>(std::uniform_int_distribution<int>(0, 255)(rng));
    const std::vector<uint8_t> want = im2col_by_tap(p, src, zp);
    const size_t k = static_cast<size_t>(p.kernel_h * p.kernel_w * p.in_c), m = want.size() / k;
    const size_t m0 = std::uniform_int_distribution<size_t>(0, m - 1)(rng);
    const size_t rows = std::uniform_int_distribution<size_t>(1, m - m0)(rng);
    const size_t stride = k + std::uniform_int_distribution<size_t>(0, 9)(rng);
    std::vector<uint8_t> got(rows * stride, 0xAB);
    im2col_rows_x8(p, src.data(), zp, m0, rows, got.data(), stride);
    for (size_t r = 0; r < rows; ++r) {
      const std::vector<uint8_t> row(got.begin() + static_cast<ptrdiff_t>(r * stride),
                                     got.begin() + static_cast<ptrdiff_t>(r * stride + k));
      const std::vector<uint8_t> expect(want.begin() + static_cast<ptrdiff_t>((m0 + r) * k),
                                        want.begin() + static_cast<ptrdiff_t>((m0 + r + 1) * k));
      ASSERT_EQ(row, expect) << "trial " << trial << ", row " << m0 + r << " of " << m << ": " << describe(p);
      for (size_t b = k; b < stride; ++b) ASSERT_EQ(got[r * stride + b], 0xAB) << "row " << r << " byte " << b;
    }
    ++ranges;
  }
  EXPECT_GT(ranges, 200);
}

// Kernels taller than the run-wise path keeps row pointers for (16 rows)
// take the per-pixel path: the same matrix.
TEST(Im2col, TallKernelsMatchTheTapByTapDefinition) {
  std::mt19937 rng(17);
  for (int64_t kernel_h : {16, 17, 20}) {
    Conv2dParams p;
    p.in_h = 18;
    p.in_w = 6;
    p.in_c = 3;
    p.kernel_h = kernel_h;
    p.kernel_w = 3;
    p.pad_top = 2;
    p.pad_left = 1;
    p.out_h = p.in_h + 2 * p.pad_top - kernel_h + 1;
    p.out_w = p.in_w + 2 * p.pad_left - p.kernel_w + 1;
    const std::vector<uint8_t> src = random_bytes(rng, static_cast<size_t>(p.in_h * p.in_w * p.in_c));
    const std::vector<uint8_t> want = im2col_by_tap(p, src, 7);
    std::vector<uint8_t> got(want.size(), 0xAB);
    im2col_x8(p, src.data(), 7, got.data(), nullptr);
    EXPECT_EQ(got, want) << describe(p);
  }
}

}  // namespace
}  // namespace dyad::kernels
