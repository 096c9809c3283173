// Magnitude pruning to V:2:M (docs/vnm.md "Pruning rule"): the C++ twin of
// models/vnm/prune.py with |w| scores, used by `dyad prune`. For every V x M
// block (N padded to V, K to 2M with zero scores) it chooses the 4 kept
// columns and, per row, the 2 kept values among them; everything else is
// zeroed. The result satisfies V:2:M, so vnm_pack accepts it.
#pragma once

#include <cstdint>
#include <string>

#include "kernels/vnm_gemm/vnm_format.h"

namespace dyad::kernels {

enum class VnmPruneMethod : uint8_t {
  // All C(M, 4) column subsets; a subset scores the sum over the block's rows
  // of each row's two largest |w| among its 4 columns; the best wins (ties:
  // the first subset in lexicographic order). VENOM's magnitude pruner.
  kExact,
  // The 4 columns with the largest sums of |w| over the block (ties: the
  // lower column). The seed paper's description; O(V*M) per block.
  kGreedy,
};

// Writes the pruned N x K matrix (row-major, int8 containers) of `dense` to
// `pruned` (may equal `dense`). Each row keeps its two largest |w| among the
// block's kept columns (ties: the lower column). Returns "" or why the shape
// is not a V:N:M shape.
std::string vnm_prune_magnitude(const VnmShape& shape, const int8_t* dense, int8_t* pruned,
                                VnmPruneMethod method = VnmPruneMethod::kExact);

}  // namespace dyad::kernels
