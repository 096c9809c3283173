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
