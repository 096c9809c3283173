// Arena layout by tensor lifetimes (greedy by size, as TFLite Micro's
// GreedyMemoryPlanner): tensors whose lifetimes do not overlap share bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace dyad {

struct BufferRequest {
  size_t bytes = 0;
  int first_step = 0;  // the step that writes it (-1: written before the first step)
  int last_step = 0;   // the last step that reads it (inclusive)
};

// Returns the offset of each request (64-byte aligned) and the arena size.
// Sizes are checked: if the layout does not fit in size_t, *arena_bytes is
// SIZE_MAX (which every arena limit refuses) and the offsets are meaningless.
std::vector<size_t> plan_arena(const std::vector<BufferRequest>& requests, size_t* arena_bytes);

}  // namespace dyad
