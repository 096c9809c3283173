// Integer softmax of I-BERT over the last axis, numerics.md 5.2-5.5 (run time).
//
// Per row of length L, with m = the maximum over the unmasked entries:
//   d   = max(x - m, 30*x0_int)        masked entries: d = 30*x0_int
//   q   = floor(d / x0_int)            in [0, 30]
//   r   = d - x0_int*q                 in (x0_int, 0]
//   z   = (r + b_int)*r + c_int
//   e16 = clamp(rne(max(z, 0) * M / 2^(E + q)), -32768, 32767)   in [0, 32767]
//   sum = sum of e16
//   y   = (e16 * floor(2^32 / sum)) >> 24                         in [0, 256]
//
// The internal QuantAct(16) is fused with the shift exp = z << (30 - q) into
// one dyadic step with a 63-bit M (numerics.md 5.3, mode `int128`): M/2^E
// approximates R*2^30, R = (m/2^e)/exp_scale. The product z*M (< 2^127) and
// the rounding shift are exact in unsigned 128-bit arithmetic, for any E + q.
//
// Output dtype: int16, because y = 256 is reachable (an e16 that is a power of
// two dividing 2^32 with every other entry 0). Output scale 2^-8.
// Edge cases (documented choices, HF gives NaN for both):
//   - sum == 0 (only with a badly calibrated act): the row is all 0;
//   - every entry of the row masked: the row is all 0.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/common/requant.h"  // int128_t

namespace dyad::kernels {

class ThreadPool;

// Ranges the engine checks at build time. Within them every intermediate is
// exact: |r| < 2^31, |r + b_int| < 2^32, 0 <= z < 2^64, z*M < 2^127.
inline constexpr int64_t kIntSoftmaxMinX0 = -(int64_t{1} << 31);  // x0_int in [min, -1]
inline constexpr int64_t kIntSoftmaxMaxAbsB = int64_t{1} << 31;   // |b_int| <= this
inline constexpr int64_t kIntSoftmaxMaxAbsC = int64_t{1} << 62;   // |c_int| <= this
inline constexpr int32_t kIntSoftmaxMaxE = 255;                   // E in [0, 255]; M >= 0

// Optional attention mask, broadcast over the rows of x. Viewing x as
// [d0, ..., d(k-1), L] (rows = d0*...*d(k-1)), the mask value of element
// (i0, ..., i(k-1), j) is the integer at element offset
//   sum(i_a * row_strides[a]) + j
// of `data`, each element `elem_bytes` wide. A broadcast axis has stride 0.
// E.g. HF's padding mask [B, L] for scores [B, H, Lq, L]: dims {B, H, Lq},
// strides {L, 0, 0}. Nonzero = attend (keep), 0 = masked (HF convention).
// Any integer dtype works: a value is nonzero iff one of its bytes is.
inline constexpr int kIntSoftmaxMaxMaskRank = 5;
struct IntSoftmaxMask {
  const void* data = nullptr;  // null: no mask
  size_t elem_bytes = 1;       // 1, 2, 4 or 8
  int rank = 0;                // k, the number of leading axes of x
  int64_t dims[kIntSoftmaxMaxMaskRank] = {};
  int64_t row_strides[kIntSoftmaxMaxMaskRank] = {};
};

struct IntSoftmaxParams {
  int64_t rows = 0;
  int64_t length = 0;  // L, the last axis
  int64_t x0_int = -1;
  int64_t b_int = 0;
  int64_t c_int = 0;
  int64_t act_m = 0;   // M: 63-bit, >= 0
  int32_t act_e = 0;   // E
  IntSoftmaxMask mask;
};

// True when the constants lie in the ranges above and the mask is well formed
// (rank <= 5, dims multiply to rows, elem_bytes in {1, 2, 4, 8}).
bool int_softmax_params_valid(const IntSoftmaxParams& p);

// The mask of rows [first_row, first_row + rows) of x as a mask of its own
// (row 0 = first_row), for running those rows alone. The rows must lie in one
// run of x's last leading axis (first_row % dims[rank - 1] + rows <=
// dims[rank - 1]), as one attention head's query rows do.
IntSoftmaxMask int_softmax_mask_rows(const IntSoftmaxMask& m, int64_t first_row, int64_t rows);

// x [rows, L] int32 scores -> y [rows, L] int16 in [0, 256]. Rows are split
// over `pool` (may be null); the result does not depend on it.
void int_softmax_s32__ref(const IntSoftmaxParams& p, const int32_t* x, int16_t* y,
                          ThreadPool* pool);

// The fused 16-bit step for one entry: clamp(rne(max(z,0) * M / 2^shift), ., 32767).
// `z` is given as 128 bits because z = (r + b)*r + c can exceed int64.
int32_t int_softmax_e16(int128_t z, int64_t act_m, int shift);

}  // namespace dyad::kernels
