#include "engine/plan/arena_planner.h"

#include <algorithm>
#include <cstdint>
#include <numeric>

#include "engine/core/checked_math.h"

namespace dyad {

namespace {
constexpr size_t kAlign = 64;
constexpr size_t kOverflow = SIZE_MAX;  // a size that wrapped; stays SIZE_MAX below
size_t align_up(size_t n) { return checked_align_up(n, kAlign).value_or(kOverflow); }
size_t add(size_t a, size_t b) { return checked_add(a, b).value_or(kOverflow); }

bool lifetimes_overlap(const BufferRequest& a, const BufferRequest& b) {
  return a.first_step <= b.last_step && b.first_step <= a.last_step;
}
}  // namespace

std::vector<size_t> plan_arena(const std::vector<BufferRequest>& requests, size_t* arena_bytes) {
  std::vector<size_t> order(requests.size());
  std::iota(order.begin(), order.end(), 0);
  // Largest first; ties by first use, then index, so the layout is deterministic.
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    if (requests[a].bytes != requests[b].bytes) return requests[a].bytes > requests[b].bytes;
    return requests[a].first_step < requests[b].first_step;
  });

  std::vector<size_t> offsets(requests.size(), 0);
  std::vector<size_t> placed;  // indices already given an offset
  size_t total = 0;
  for (size_t r : order) {
    const size_t size = align_up(requests[r].bytes);
    // Address ranges of placed buffers that are alive at the same time, by offset.
    std::vector<std::pair<size_t, size_t>> busy;
    for (size_t p : placed)
      if (lifetimes_overlap(requests[r], requests[p]))
        busy.emplace_back(offsets[p], add(offsets[p], align_up(requests[p].bytes)));
    std::sort(busy.begin(), busy.end());
    size_t candidate = 0;
    for (const auto& [begin, end] : busy) {
      if (add(candidate, size) <= begin) break;  // fits in the gap before this one
      candidate = std::max(candidate, end);
    }
    offsets[r] = candidate;
    total = std::max(total, add(candidate, size));
    placed.push_back(r);
  }
  *arena_bytes = total;
  return offsets;
}

}  // namespace dyad
