// Integer GELU of I-BERT, numerics.md section 4 (run time).
//
//   s     = sign(x)
//   t     = min(|x|, -b_int) + b_int          in [b_int, 0]
//   poly  = t*t + c_int                       < 0 for real constants
//   erf_i = (s * poly) >> 14                  floor of the signed value
//   y     = x * (erf_i + shift_int)
//
// The output is NOT negated: y has the opposite sign to GELU(x) and its scale
// out_scale = S * erf_scale / 2 is negative. The requant that follows absorbs
// the sign through a negative multiplier (numerics.md 4; rne is symmetric, so
// negating both y and the scale would give the same requant results).
//
// The constants are per channel (the last axis), because the input is a
// QuantLinear accumulator with scale s_w[c] * S_x. A per-tensor model repeats
// its single value `channels` times.
#pragma once

#include <cstdint>

#include "kernels/common/int_elements.h"

namespace dyad::kernels {

class ThreadPool;

// Ranges every constant must lie in; the engine checks them at build time.
// Real constants: b_int ~ -2.5/S, c_int ~ -6.9/S^2, shift_int ~ -8.5e-4/S^2,
// all far inside these bounds for any S >= 1e-9. Within them every
// intermediate fits int64: t*t <= 2^62, |poly| <= 2^62, |erf_i| <= 2^48.
inline constexpr int64_t kIntGeluMinB = -(int64_t{1} << 31);       // b_int in [kIntGeluMinB, 0]
inline constexpr int64_t kIntGeluMinC = -(int64_t{1} << 62);       // c_int in [kIntGeluMinC, 0]
inline constexpr int64_t kIntGeluMinShift = -(int64_t{1} << 62);   // shift_int in [kIntGeluMinShift, 0]

struct IntGeluParams {
  IntType x_type = IntType::kS32;      // any integer dtype (int32 accumulators, int64)
  int64_t rows = 0;
  int64_t channels = 0;                // C, the last axis
  const int64_t* b_int = nullptr;      // [C]
  const int64_t* c_int = nullptr;      // [C]
  const int64_t* shift_int = nullptr;  // [C]
};

// True when every constant lies in the ranges above.
bool int_gelu_constants_valid(const IntGeluParams& p);

// x [rows, C] of p.x_type -> y [rows, C] (int64). The final product x * (erf_i +
// shift_int) saturates to int64; it cannot for |x| < 2^31 and S >= 1e-6
// (|y| < 2^62), nor for the I-BERT range documented in numerics.md 4.
// Rows are split over `pool` (may be null); the result does not depend on it.
void int_gelu__ref(const IntGeluParams& p, const void* x, int64_t* y, ThreadPool* pool);

// One element, for tests and other kernels: the exact formula above.
int64_t int_gelu_element(int64_t x, int64_t b_int, int64_t c_int, int64_t shift_int);

}  // namespace dyad::kernels
