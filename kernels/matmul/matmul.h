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

#include <cstddef>
#include <cstdint>

#include "kernels/common/int_elements.h"
#include "kernels/common/requant.h"

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

// The output value of an exact accumulator: the raw int32 (saturated) or the
// requantized one. Every variant ends with this, so they agree by construction.
inline int64_t matmul_output_value(const MatmulParams& p, int64_t acc) {
  if (!p.requantize) return clamp_int64(acc, INT32_MIN, INT32_MAX);
  const int64_t v = add_saturate(p.y_zero_point, dyadic_rne(acc, p.multiplier, p.shift));
  return clamp_int64(v, p.y_min, p.y_max);
}

// a [batch, m, k], b [batch, k, n] (or [batch, n, k]), y [batch, m, n].
// Output rows are split over `pool` (may be null); the result does not depend on it.
void matmul__ref(const MatmulParams& p, const void* a, const void* b, void* y, ThreadPool* pool);

// AVX2 variant (matmul_avx2.cc): B is packed per batch entry into int16
// (b - z_b) panels and multiplied with vpmaddwd; a is used as is (int16 or
// widened bytes) and z_a * colsum(b - z_b) is subtracted at the end. Every
// product pair fits int32 and the int32 sums wrap; the final value is exact
// whenever the true accumulator fits int32, which matmul_avx2_applies checks
// from the dtype ranges: K * max|a - z_a| * max|b - z_b| <= 2^31 - 1.
bool matmul_avx2_applies(const MatmulParams& p);
// Scratch one task needs (the engine provides it per thread).
size_t matmul_avx2_scratch_bytes(const MatmulParams& p);
// Work is split into at most pool->num_threads() tasks (whole batch entries),
// task i using scratch + i * scratch_stride.
void matmul__avx2(const MatmulParams& p, const void* a, const void* b, void* y, ThreadPool* pool,
                  uint8_t* scratch, size_t scratch_stride);

// AVX-512 VNNI variant (matmul_avx512vnni.cc): vpdpbusd (8-bit a) or
// vpdpwssd (int16 a) on zmm, 4 rows x 64 columns per register tile; the
// operands are shifted to u8 x s8 (or s16 x s16) and the zero points applied
// as row and column corrections, all mod 2^32. Exact under the same bound as
// AVX2 (no int16 limit on z_b). Scratch and task split as for AVX2.
bool matmul_avx512vnni_applies(const MatmulParams& p);
size_t matmul_avx512vnni_scratch_bytes(const MatmulParams& p);
void matmul__avx512vnni(const MatmulParams& p, const void* a, const void* b, void* y, ThreadPool* pool,
                        uint8_t* scratch, size_t scratch_stride);

// 64-bit ARM variant (matmul_dotprod.cc; built only for aarch64, needs
// asimddp): SDOT on a and b shifted to int8 bytes (an int16 a as two byte
// planes, 256 hi + lo), the zero points applied as row and column
// corrections, 8 byte rows x 8 columns per register tile, all mod 2^32. Exact
// under the same bound as AVX-512 VNNI (no int16 limit on z_b). Scratch and
// task split as for AVX2.
bool matmul_dotprod_applies(const MatmulParams& p);
size_t matmul_dotprod_scratch_bytes(const MatmulParams& p);
void matmul__dotprod(const MatmulParams& p, const void* a, const void* b, void* y, ThreadPool* pool,
                     uint8_t* scratch, size_t scratch_stride);

}  // namespace dyad::kernels
