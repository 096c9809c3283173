#include "engine/exec/memory_needs.h"

#include <cstdint>

namespace dyad {

namespace {

size_t saturating_add(size_t a, size_t b) { return a > SIZE_MAX - b ? SIZE_MAX : a + b; }
size_t saturating_mul(size_t a, size_t b) {
  return a != 0 && b > SIZE_MAX / a ? SIZE_MAX : a * b;
}

std::string bytes_text(size_t v) {
  std::string digits = std::to_string(v), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

}  // namespace

size_t MemoryNeeds::scratch() const {
  return saturating_mul(scratch_per_thread, static_cast<size_t>(threads));
}

size_t MemoryNeeds::total() const {
  return saturating_add(saturating_add(constants, packed), saturating_add(arena, scratch()));
}

std::string MemoryNeeds::describe() const {
  return "constants " + bytes_text(constants) + " + packed weights " + bytes_text(packed) +
         " + arena " + bytes_text(arena) + " + scratch " + bytes_text(scratch()) + " (" +
         std::to_string(threads) + (threads == 1 ? " thread" : " threads") + ") = " +
         bytes_text(total()) + " bytes";
}

MemoryNeeds memory_needs(const Graph& graph, const Plan& plan, int threads) {
  MemoryNeeds n;
  for (const ByteStorage& s : graph.storage) {
    n.constants = saturating_add(n.constants, s.size);
    if (s.kind == ByteStorage::Kind::kMapped) n.mapped = saturating_add(n.mapped, s.size);
    if (s.kind == ByteStorage::Kind::kBorrowed) n.borrowed = saturating_add(n.borrowed, s.size);
  }
  n.packed = plan.packed_bytes;
  n.arena = plan.arena_bytes;
  n.scratch_per_thread = saturating_add(plan.scratch_bytes_per_thread, 63) / 64 * 64;
  n.threads = threads;
  return n;
}

Status check_memory_budget(const MemoryNeeds& needs, size_t budget_bytes, const std::string& who) {
  if (budget_bytes == 0 || needs.total() <= budget_bytes) return Status::ok();
  return Status(StatusCode::kOutOfMemory, who + ": needs " + needs.describe() +
                                              ", more than the memory budget of " +
                                              bytes_text(budget_bytes) + " bytes");
}

}  // namespace dyad
