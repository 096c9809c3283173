// Integer LayerNorm of I-BERT over the last axis, numerics.md 6.2 (run time).
//
// Per row of n values, v = x - zero_point (the input's zero point is taken off
// first: rne's ties-to-even would not cancel an odd zero point in v - mean):
//   sum    = sum of v                               (int64)
//   mean   = rne(sum / n)                           exact, ties to even
//   y      = v - mean
//   ys     = y >> shift                             floor
//   var    = sum of ys*ys                           (unsigned, see below)
//   std    = isqrt(var) << shift                    isqrt = floor(sqrt), Newton
//   factor = floor(2^31 / std)
//   out    = ((y * factor) >> 1) + bias_int[c]      int64; std == 0 -> bias_int[c]
//
// `var` is designed to stay below 2^32 but a calibrated `shift` does not
// guarantee it (numerics.md 6.2). It is accumulated in 128 bits, so it is
// exact for every int32 input, and its square root is exact at any size
// (uint64 Newton when var < 2^64, which covers every 22-bit input, else the
// same iteration on 128 bits). The output scale (base * gamma) is per channel
// and may be negative; the requant after absorbs it.
#pragma once

#include <cstdint>

#include "kernels/common/int_elements.h"

namespace dyad::kernels {

class ThreadPool;

inline constexpr int32_t kIntLayerNormMaxShift = 62;  // shift in [0, 62]

struct IntLayerNormParams {
  IntType x_type = IntType::kS32;     // int8, uint8, int16 or int32 (not int64)
  int64_t rows = 0;
  int64_t channels = 0;               // n, the last axis
  int32_t shift = 0;                  // the checkpoint's `shift` buffer
  // The input's zero point. 0 for int32 inputs, so |v| <= 2^31 as the bounds
  // below assume; an 8- or 16-bit input's v stays within 17 bits.
  int64_t zero_point = 0;
  const int64_t* bias_int = nullptr;  // [n]
};

bool int_layernorm_params_valid(const IntLayerNormParams& p);

// x [rows, n] of p.x_type -> out [rows, n] (int64). |y * factor| < 2^63 always; the final
// `+ bias_int` saturates to int64, which cannot happen for |bias_int| < 2^62.
// Rows are split over `pool` (may be null); the result does not depend on it.
void int_layernorm__ref(const IntLayerNormParams& p, const void* x, int64_t* out, ThreadPool* pool);

// Row `row` of the reference (for the vector variants' rows outside their
// fast path): x and out are the whole tensors.
void int_layernorm_row(const IntLayerNormParams& p, const void* x, int64_t row, int64_t* out);
// The same row into out_row (n values).
void int_layernorm_row_to(const IntLayerNormParams& p, const void* x, int64_t row, int64_t* out_row);

// Vector variants (int_layernorm_simd.h over the ISA's `Simd`): the sum, the
// variance and the output in int64 lanes. A row takes the vector path when
// its values lie within 2^31 - 1 of the mean, n * max|y|^2 < 2^64 (so the
// variance is an exact uint64 sum of exact 32 x 32-bit squares), factor <
// 2^31 and every |bias_int| <= 2^62 (so nothing saturates); any other row is
// int_layernorm_row. Same result as the reference.
// AVX-512 (int_layernorm_avx512vnni.cc; AVX-512 F/BW only): 8 int64 lanes.
void int_layernorm__avx512vnni(const IntLayerNormParams& p, const void* x, int64_t* out, ThreadPool* pool);
// 64-bit ARM (int_layernorm_neon.cc, built on aarch64 only): 2 x 2 int64 lanes.
void int_layernorm__neon(const IntLayerNormParams& p, const void* x, int64_t* out, ThreadPool* pool);

// rne(sum / n) for n >= 1, exact: floor quotient, then +1 when the remainder
// is above one half, or exactly one half and the floor quotient is odd.
int64_t int_layernorm_mean(int64_t sum, int64_t n);

}  // namespace dyad::kernels
