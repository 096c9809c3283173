// Attention without the whole score tensor in memory: for each head, the
// scores Q·Kᵀ go into a per-thread tile, the integer softmax turns them into
// probabilities in a second tile, and those times V give the head's context
// rows. The three kernels are the unfused ones (matmul and int_softmax
// variants) called on one head at a time, so the output is theirs bit for
// bit; only the [heads, M, N] int32 scores and int16 probabilities (786 KB
// and 393 KB for BERT-base at 128 tokens) are never written. The engine
// fuses the three steps when each intermediate has no other reader
// (engine/ops/fusion.cc).
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/int_softmax/int_softmax.h"
#include "kernels/int_softmax/int_softmax_vec.h"
#include "kernels/matmul/matmul.h"

namespace dyad::kernels {

class ThreadPool;

using MatmulFn = void (*)(const MatmulParams&, const void* a, const void* b, void* y, ThreadPool* pool,
                          uint8_t* scratch, size_t scratch_stride);
using IntSoftmaxFn = void (*)(const IntSoftmaxParams&, const IntSoftmaxVecPlan&, const int32_t* x, int16_t* y,
                              ThreadPool* pool);

struct AttentionPlan {
  int64_t heads = 0;         // batch entries of the unfused matmuls (batch x heads)
  MatmulParams scores;       // one head: batch 1, [M, Kd] x [N, Kd]ᵀ -> int32 [M, N]
  IntSoftmaxParams softmax;  // one head: M rows of N; mask: the whole tensor's, rows over heads x M
  IntSoftmaxVecPlan softmax_plan;
  MatmulParams context;      // one head: batch 1, int16 [M, N] x [N, D]
  MatmulFn scores_fn = nullptr, context_fn = nullptr;
  IntSoftmaxFn softmax_fn = nullptr;
  size_t scores_scratch = 0, context_scratch = 0;  // the matmul variants' scratch for one head
};

// Per-thread scratch: the two tiles and the larger matmul scratch.
size_t attention_scratch_bytes(const AttentionPlan& plan);

// q [heads, M, Kd], k [heads, N, Kd], v [heads, N, D] -> ctx [heads, M, D];
// mask as the unfused int_softmax reads it (null: none). Heads are split over
// `pool`; scratch holds num_threads slices of scratch_stride bytes.
void attention_fused(const AttentionPlan& plan, const void* q, const void* k, const void* mask, const void* v,
                     void* ctx, ThreadPool* pool, uint8_t* scratch, size_t scratch_stride);

}  // namespace dyad::kernels
