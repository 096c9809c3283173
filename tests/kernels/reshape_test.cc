// reshape reference kernel: a byte-exact copy.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "kernels/reshape/reshape.h"

namespace dyad::kernels {
namespace {

TEST(ReshapeRef, CopiesBytes) {
  const std::vector<int16_t> x = {1, -2, 3, -4, 5, -6};
  std::vector<int16_t> y(6, 0);
  reshape__ref(x.size() * sizeof(int16_t), x.data(), y.data());
  EXPECT_EQ(y, x);
}

}  // namespace
}  // namespace dyad::kernels
