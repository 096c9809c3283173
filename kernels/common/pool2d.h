// Shared by the pooling kernels (max_pool, average_pool, global_average_pool).
#pragma once

#include <cstdint>

#include "kernels/common/int_elements.h"
#include "kernels/common/isa_namespace.h"

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

// The valid input positions [begin, end) of output position `o` along one
// axis: the window o * stride - pad + [0, kernel), clipped to [0, size).
struct PoolSpan {
  int64_t begin, end;
};
// The inline functions below are compiled into the AVX2 and AVX-512 files
// too: each ISA keeps its own copies (kernels/common/isa_namespace.h).
inline namespace DYAD_ISA_NAMESPACE {
inline PoolSpan pool_span(int64_t o, int64_t stride, int64_t pad, int64_t kernel, int64_t size) {
  const int64_t first = o * stride - pad;
  return {first > 0 ? first : 0, first + kernel < size ? first + kernel : size};
}

// floor(a / b) for b > 0 (C++ `/` truncates toward zero).
inline int64_t floor_div(int64_t a, int64_t b) {
  const int64_t q = a / b;
  return (a % b != 0 && a < 0) ? q - 1 : q;
}

}  // namespace DYAD_ISA_NAMESPACE

// floor(n / d) = (n * mult) >> shift for every 0 <= n < 2^31 and 1 <= d < 2^31
// (the average pools' AVX2 variants; docs/kernels.md "Pools"). With
// 2^(L-1) < d <= 2^L, shift = 31 + L and mult = ceil(2^shift / d) < 2^32:
// n * mult / 2^shift = n / d + n * err / (d * 2^shift), err = mult * d - 2^shift
// < d <= 2^L, so the excess is below 1/d whenever n < 2^31, and a
// fraction k/d plus less than 1/d does not reach the next integer.
struct ExactDivisor {
  uint32_t mult = 1;
  int shift = 0;
};

inline namespace DYAD_ISA_NAMESPACE {

inline ExactDivisor exact_divisor(uint32_t d) {
  int L = 0;
  while ((uint64_t{1} << L) < d) ++L;
  const int shift = 31 + L;
  const uint64_t mult = ((uint64_t{1} << shift) + d - 1) / d;
  return {static_cast<uint32_t>(mult), shift};
}

// Whether the vector average pools are exact for windows of up to
// `max_count` values of type t: int8, uint8, int16 with (max - min) * count
// below 2^31 (sums in int32 lanes, exact_divisor's range).
inline bool average_avx2_fits(IntType t, int64_t max_count) {
  const int64_t span = t == IntType::kS16 ? 65535 : 255;
  if (t != IntType::kS8 && t != IntType::kU8 && t != IntType::kS16) return false;
  return max_count >= 1 && max_count < (int64_t{1} << 31) / span;
}

}  // namespace DYAD_ISA_NAMESPACE
}  // namespace dyad::kernels
