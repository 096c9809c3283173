// Matmul of two activations (attention scores Q*K^T and context P*V),
// batched over the leading axes:
//   acc[t, i, j] = sum_k (a[t, i, k] - z_a) * (B[t, k, j] - z_b)
// where B[t, k, j] = b[t, k, j], or b[t, j, k] when transpose_b is set (so
// Q*K^T needs no explicit transpose of K). The sum is exact (int64).
//
// Two outputs:
//   - raw (requantize = false): y = acc as int32, saturated. The engine proves
//     at build time that K * max|a - z_a| * max|b - z_b| < 2^31, so it never
//     saturates; the scores feed i-softmax as int32 (numerics.md 7.2).
//   - requantized: y = clamp(z_y + rne(acc * m / 2^e), y_min, y_max) with one
//     per-tensor dyadic pair (numerics.md 2.2).
// `a` may be int16 for the softmax output P in [0, 256].
#pragma once

#include <cstdint>

#include "kernels/common/int_elements.h"

namespace dyad::kernels {

class ThreadPool;

struct MatmulParams {
  IntType a_type = IntType::kS8;  // int8, uint8 or int16
  IntType b_type = IntType::kS8;  // int8 or uint8
  IntType y_type = IntType::kS32; // raw: int32; requantized: int8, uint8, int16 or int32
  int64_t batch = 1;  // product of the leading axes (the same for a, b and y)
  int64_t m = 0;      // rows of a and y
  int64_t k = 0;      // the reduction axis
  int64_t n = 0;      // columns of y
  bool transpose_b = false;  // b is [batch, n, k] instead of [batch, k, n]
  int32_t a_zero_point = 0;
  int32_t b_zero_point = 0;
  bool requantize = false;
  // Requantized output only.
  int32_t multiplier = 0;  // m of the dyadic pair
  int32_t shift = 0;       // e of the dyadic pair
  int32_t y_zero_point = 0;
  int32_t y_min = 0;       // clamp range in the output domain (inside y_type's range)
  int32_t y_max = 0;
};

// True for the supported dtype combinations and non-negative sizes.
bool matmul_params_valid(const MatmulParams& p);

// a [batch, m, k], b [batch, k, n] (or [batch, n, k]), y [batch, m, n].
// Output rows are split over `pool` (may be null); the result does not depend on it.
void matmul__ref(const MatmulParams& p, const void* a, const void* b, void* y, ThreadPool* pool);

}  // namespace dyad::kernels
