// The vector int_gelu (AVX2, AVX-512 and NEON variants): plan-time constants and
// range checks (int_gelu_vec.cc, with the exactness argument). The algorithm
// is int_gelu_simd.h, one template over the ISA's `Simd` operations.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "kernels/int_gelu/int_gelu.h"

namespace dyad::kernels {

// Entries past the channel count repeat the first channels, so 16
// consecutive elements load their constants from one index.
inline constexpr size_t kIntGeluVecPad = 15;

struct IntGeluVecPlan {
  // channels + kIntGeluVecPad entries each; entry j is channel j % channels.
  std::vector<int64_t> limit;  // -b_int
  std::vector<int64_t> b_int, c_int, shift_int;
  // erf_i in 32-bit lanes (twice the lanes of the 64-bit form): when every
  // channel has |b_int| <= 46340 and both ends of the polynomial, c_int and
  // b_int^2 + c_int, within +-(2^31 - 1), so t * t, poly and its negation
  // are exact in int32 (BERT's GELU input scales, 3e-5 .. 1e-2, give
  // |b_int| <= 59000; most layers qualify). The same entries as above.
  bool erf32 = false;
  std::vector<int32_t> limit32, b_int32, c_int32;
};

// False when the vector variants do not apply (the constants must already
// pass int_gelu_constants_valid): inputs wider than int32, or a channel whose
// factor erf_i + shift_int can reach 2^32 in magnitude (then x * factor might
// need the reference's saturation). *why then names the failed condition.
bool int_gelu_vec_plan(const IntGeluParams& p, IntGeluVecPlan* out, const char** why);

// The variants (int_gelu_avx2.cc, int_gelu_avx512.cc): the same results as
// int_gelu__ref for a plan int_gelu_vec_plan made from p, split over `pool`.
void int_gelu__avx2(const IntGeluParams& p, const IntGeluVecPlan& plan, const void* x, int64_t* y,
                    ThreadPool* pool);
void int_gelu__avx512(const IntGeluParams& p, const IntGeluVecPlan& plan, const void* x, int64_t* y,
                      ThreadPool* pool);
// 64-bit ARM (int_gelu_neon.cc, built on aarch64 only).
void int_gelu__neon(const IntGeluParams& p, const IntGeluVecPlan& plan, const void* x, int64_t* y,
                    ThreadPool* pool);

}  // namespace dyad::kernels
