// Shared by the pooling kernels (max_pool, average_pool, global_average_pool).
#pragma once

#include <cstdint>

#include "kernels/common/int_elements.h"

namespace dyad::kernels {

// An NHWC pooling window sweep. Padded positions are ignored; the builder
// guarantees every window holds at least one valid position (padding < kernel).
struct Pool2dParams {
  int64_t batch = 1, in_h = 1, in_w = 1, channels = 1;
  int64_t out_h = 1, out_w = 1;
  int64_t kernel_h = 1, kernel_w = 1;
  int64_t stride_h = 1, stride_w = 1;
  int64_t pad_top = 0, pad_left = 0;
  IntType type = IntType::kS8;  // of both input and output
};

// floor(a / b) for b > 0 (C++ `/` truncates toward zero).
inline int64_t floor_div(int64_t a, int64_t b) {
  const int64_t q = a / b;
  return (a % b != 0 && a < 0) ? q - 1 : q;
}

}  // namespace dyad::kernels
