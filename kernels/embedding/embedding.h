// Embedding lookup: out[i, :] = table[ids[i], :], a row gather.
//
// The table is the stored 8-bit tensor (QuantEmbedding is per tensor, so the
// output has the table's scale and zero point). The kernel copies raw rows of
// `row_bytes` bytes, so it serves any element type. The I-BERT embeddings sum
// (numerics.md 8: word + token type, then + position, each a two-branch
// QuantAct(16)) is built from three gathers and two `add` nodes in the graph.
//
// Ids come from the caller at run time, so they are checked here: an id
// outside [0, vocab) gets a row of zero bytes (never an out-of-bounds read)
// and the kernel returns the position of the first such id, or -1 when every
// id is valid. The engine turns a result >= 0 into an error.
#pragma once

#include <cstddef>
#include <cstdint>

namespace dyad::kernels {

struct EmbeddingParams {
  int64_t num_ids = 0;   // number of ids (the product of the ids tensor's shape)
  int64_t vocab = 0;     // rows of the table
  size_t row_bytes = 0;  // bytes of one table row (dim * element size)
};

// table [vocab, row_bytes], ids [num_ids], out [num_ids, row_bytes].
// Instantiated for TI in {int32_t, int64_t}.
template <typename TI>
int64_t embedding_gather__ref(const EmbeddingParams& p, const void* table, const TI* ids, void* out);

}  // namespace dyad::kernels
