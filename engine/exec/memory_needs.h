// What a model takes in memory, by part, and the check against a caller's
// budget (LoadOptions::memory_budget_bytes, dyad_model_options).
#pragma once

#include <cstddef>
#include <string>

#include "engine/core/status.h"
#include "engine/ir/graph.h"
#include "engine/plan/plan.h"

namespace dyad {

struct MemoryNeeds {
  size_t constants = 0;           // the weights file and inline values, as loaded
  size_t mapped = 0;              // of constants: the weights file mapped read-only
  size_t borrowed = 0;            // of constants: the caller's weights buffer
  size_t packed = 0;              // kernels' prepared copies (Plan::packed_bytes)
  size_t arena = 0;               // activations, one per session
  size_t scratch_per_thread = 0;  // 64-byte multiple, per session thread
  int threads = 1;

  // Saturates at SIZE_MAX rather than wrapping.
  size_t scratch() const;
  size_t total() const;
  // "constants 1,024 + packed weights 0 + arena 2,147,483,648 + scratch 0 (1 thread) = ..."
  std::string describe() const;
};

// The needs of a graph and its plan with `threads` session threads.
MemoryNeeds memory_needs(const Graph& graph, const Plan& plan, int threads);

// kOutOfMemory naming `who`, the parts and the budget when needs.total() is
// over `budget_bytes`; ok when the budget is 0 (none).
Status check_memory_budget(const MemoryNeeds& needs, size_t budget_bytes, const std::string& who);

}  // namespace dyad
