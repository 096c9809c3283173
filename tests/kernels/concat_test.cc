// concat reference kernel: byte-exact interleaved copies.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "kernels/concat/concat.h"

namespace dyad::kernels {
namespace {

TEST(ConcatRef, MiddleAxis) {
  // a [2,1,2] = [1 2 | 3 4], b [2,2,2] = [5 6 7 8 | 9 10 11 12], axis 1:
  // y [2,3,2] = [1 2 5 6 7 8 | 3 4 9 10 11 12].
  const std::vector<int8_t> a = {1, 2, 3, 4};
  const std::vector<int8_t> b = {5, 6, 7, 8, 9, 10, 11, 12};
  const void* src[] = {a.data(), b.data()};
  const size_t slice[] = {2, 4};
  std::vector<int8_t> y(12, 0);
  concat__ref(2, 2, slice, src, y.data());
  EXPECT_EQ(y, (std::vector<int8_t>{1, 2, 5, 6, 7, 8, 3, 4, 9, 10, 11, 12}));
}

TEST(ConcatRef, LastAxisInt32ThreeInputs) {
  // [2,1] ++ [2,2] ++ [2,1] along axis 1 (int32, 4 bytes per element):
  // rows [10 | 20 21 | 30] and [11 | 22 23 | 31].
  const std::vector<int32_t> a = {10, 11}, b = {20, 21, 22, 23}, c = {30, 31};
  const void* src[] = {a.data(), b.data(), c.data()};
  const size_t slice[] = {4, 8, 4};
  std::vector<int32_t> y(8, 0);
  concat__ref(2, 3, slice, src, y.data());
  EXPECT_EQ(y, (std::vector<int32_t>{10, 20, 21, 30, 11, 22, 23, 31}));
}

}  // namespace
}  // namespace dyad::kernels
