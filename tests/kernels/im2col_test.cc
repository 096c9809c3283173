// im2col_x8 against a tap-by-tap definition: random windows, strides,
// dilations and paddings (including padding wider than the kernel and whole
// rows or columns of padding), 1 and 2 threads.
#include "kernels/conv2d/im2col.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
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

TEST(Im2col, MatchesTapByTapDefinition) {
  std::mt19937 rng(20261207);
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  for (int threads : {1, 2}) {
    ThreadPool pool(threads);
    for (int trial = 0; trial < 300; ++trial) {
      Conv2dParams p;
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
      if (room_h < 0 || room_w < 0) continue;
      p.out_h = room_h / p.stride_h + 1;
      p.out_w = room_w / p.stride_w + 1;
      std::vector<uint8_t> src(static_cast<size_t>(p.batch * p.in_h * p.in_w * p.in_c));
      for (auto& v : src) v = static_cast<uint8_t>(pick(0, 255));
      const auto zp = static_cast<uint8_t>(pick(0, 255));
      const std::vector<uint8_t> want = im2col_by_tap(p, src, zp);
      std::vector<uint8_t> got(want.size(), 0xAB);
      im2col_x8(p, src.data(), zp, got.data(), &pool);
      ASSERT_EQ(got, want) << "trial " << trial << ", threads " << threads << ": in " << p.in_h << "x"
                           << p.in_w << "x" << p.in_c << ", kernel " << p.kernel_h << "x" << p.kernel_w
                           << ", stride " << p.stride_h << "," << p.stride_w << ", dilation "
                           << p.dilation_h << "," << p.dilation_w << ", pad " << p.pad_top << ","
                           << p.pad_left;
    }
  }
}

}  // namespace
}  // namespace dyad::kernels
