// Documented limits on the sizes a model may ask for (docs/format.md
// "Limits"). They sit far above every real model the engine targets and far
// below the point where any size computation could overflow int64, so a
// hostile file gets a clear error instead of a wrapped size, a heap overflow
// or an hour-long inference. Sizes are checked with engine/core/checked_math.h.
#pragma once

#include <cstdint>

namespace dyad::limits {

// Dimensions of a tensor. The ops that index by rank (transpose, int_softmax)
// allow 6; 8 leaves room and bounds per-dimension loops.
inline constexpr int64_t kMaxRank = 8;

// Elements of one non-constant tensor: 2^32 (BERT-large's largest activation
// at sequence 512 has 2^22, a [2048, 16384] FC output 2^25).
inline constexpr int64_t kMaxTensorElements = int64_t{1} << 32;

// Bytes of one non-constant tensor in the arena: 16 GiB.
inline constexpr int64_t kMaxTensorBytes = int64_t{1} << 34;

// Bytes of the whole activation arena: 64 GiB. What a process may actually
// allocate is the caller's memory budget; this only bounds the arithmetic.
inline constexpr int64_t kMaxArenaBytes = int64_t{1} << 36;

// Scratch bytes one thread of one step may need (conv2d's im2col buffer plus
// a GEMM slice): 16 GiB.
inline constexpr int64_t kMaxScratchBytesPerThread = int64_t{1} << 34;

// Work of one step in one run: multiply-accumulates for conv2d,
// fully_connected and matmul, comparisons or additions for the 2-D pools,
// output elements for the other ops. 2^40 (~1.1e12): a 4096 -> 16384 FC on
// 2048 rows needs 1.4e11.
inline constexpr int64_t kMaxStepWork = int64_t{1} << 40;

// Work of all steps of one run: 2^44 (~1.8e13), the prefill of a whole
// 7B-parameter model at sequence 2048 (~1.4e13 MACs).
inline constexpr int64_t kMaxModelWork = int64_t{1} << 44;

// Entries of an op's per-channel constant arrays (requant multipliers and
// shifts, the I-BERT constants, LayerNorm's bias_int) whose count is an
// activation's dimension rather than the length of a constant stored in the
// file: 2^20. The largest channel axis of a real model, an LLM vocabulary, is
// about 2^18; without a bound, an int8 input of shape [2^31] would make the
// planner allocate tens of GB of constants for one requantize.
inline constexpr int64_t kMaxChannels = int64_t{1} << 20;

// kernel, stride, dilation and padding of conv2d and the 2-D pools: keeps the
// window arithmetic (in + pads, (k - 1) * dilation + 1) far from overflow.
inline constexpr int64_t kMaxWindowAttribute = int64_t{1} << 30;

}  // namespace dyad::limits
