// Transpose (permute) of a tensor of rank <= 6, e.g. splitting heads
// [B, L, H, dh] -> [B, H, L, dh] with perm {0, 2, 1, 3} and merging them back.
// Output axis i is input axis perm[i]: out_shape[i] = in_shape[perm[i]].
// Elements are copied as raw bytes, so any dtype works.
#pragma once

#include <cstddef>
#include <cstdint>

namespace dyad::kernels {

class ThreadPool;

inline constexpr int kTransposeMaxRank = 6;

struct TransposeParams {
  int rank = 0;
  int64_t in_shape[kTransposeMaxRank] = {};
  int perm[kTransposeMaxRank] = {};
  size_t elem_bytes = 1;  // 1, 2, 4 or 8
};

// rank in [0, 6], perm a permutation of [0, rank), shape entries >= 0,
// elem_bytes in {1, 2, 4, 8}.
bool transpose_params_valid(const TransposeParams& p);

// x in_shape -> y out_shape. Output rows (all axes but the last) are split
// over `pool` (may be null); the result does not depend on it.
void transpose__ref(const TransposeParams& p, const void* x, void* y, ThreadPool* pool);

// Portable variant (transpose_blocked.cc): drops size-1 axes and merges axes
// that stay adjacent, then copies whole rows with memcpy when the last
// output axis is contiguous in the input (attention's {0, 2, 1, 3}), 8 x 8
// tiles for a batched 2-D transpose, and gathers rows otherwise. Same
// contract and result as the reference.
void transpose__blocked(const TransposeParams& p, const void* x, void* y, ThreadPool* pool);

}  // namespace dyad::kernels
