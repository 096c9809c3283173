// The vector int_softmax (AVX2, AVX-512 and NEON variants): plan-time constants and
// range checks (int_softmax_vec.cc, with the exactness argument), and the
// generic helpers the vector rows call for masks and tails. The algorithm is
// int_softmax_simd.h, one template over the ISA's `Simd` operations.
#pragma once

#include <cstdint>

#include "kernels/int_softmax/int_softmax.h"

namespace dyad::kernels {

struct IntSoftmaxVecPlan {
  int32_t divisor = 1;      // D = -x0_int, in [1, kIntSoftmaxVecMaxDivisor]
  int32_t floor_d = -30;    // 30 * x0_int (fits int32)
  int64_t magic = 32;       // ceil(2^magic_shift / D) < 2^32: floor(n / D) = (n * magic) >> magic_shift
  int64_t magic_shift = 5;  //   for 0 <= n <= 30 D
  int32_t b_int = 0;
  int64_t c_int = 0;
  int64_t m_lo = 0, m_hi = 0;  // M mod 2^32, M >> 32
  int64_t act_e = 33;          // E
  int64_t rows_per_task = 1;
};

// 30 * x0_int must fit int32.
inline constexpr int64_t kIntSoftmaxVecMaxDivisor = 71582788;  // floor(2^31 / 30)
// Row length bound: int32 lane sums of e16 <= 32767 cannot overflow.
inline constexpr int64_t kIntSoftmaxVecMaxLength = int64_t{1} << 19;

// False when the vector variants do not apply (p must already pass
// int_softmax_params_valid): |x0_int| > 71582788, r + b_int outside int32,
// z = (r + b_int) r + c_int reaching 2^32 for some r in (x0_int, 0], E < 33,
// or L > 2^19. *why then names the failed condition.
bool int_softmax_vec_plan(const IntSoftmaxParams& p, IntSoftmaxVecPlan* out, const char** why);

// Offset of row `row`'s mask (elements), and keep[j] = -1 where mask element
// (offset + j) is nonzero, else 0, for j in [0, n).
int64_t int_softmax_mask_offset(const IntSoftmaxMask& m, int64_t row);
void int_softmax_mask_keep(const IntSoftmaxMask& m, int64_t offset, int64_t n, int32_t* keep);

// The variants (int_softmax_avx2.cc, int_softmax_avx512.cc): the same
// results as int_softmax_s32__ref for a plan that int_softmax_vec_plan made
// from p; rows split over `pool` (may be null) in blocks of rows.
void int_softmax_s32__avx2(const IntSoftmaxParams& p, const IntSoftmaxVecPlan& plan, const int32_t* x,
                           int16_t* y, ThreadPool* pool);
void int_softmax_s32__avx512(const IntSoftmaxParams& p, const IntSoftmaxVecPlan& plan, const int32_t* x,
                             int16_t* y, ThreadPool* pool);
// 64-bit ARM (int_softmax_neon.cc, built on aarch64 only).
void int_softmax_s32__neon(const IntSoftmaxParams& p, const IntSoftmaxVecPlan& plan, const int32_t* x,
                           int16_t* y, ThreadPool* pool);

// e16 of one entry (the reference formula, for vector tails): x with the row
// maximum max_x, masked or not.
int32_t int_softmax_entry_e16(const IntSoftmaxParams& p, int32_t x, int32_t max_x, bool keep);

}  // namespace dyad::kernels
