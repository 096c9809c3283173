#include "kernels/common/weight_arena.h"

#include <sys/mman.h>

#include <algorithm>
#include <mutex>
#include <new>
#include <vector>

namespace dyad::kernels::weight_arena {

namespace {

constexpr size_t kHugePage = size_t{2} << 20;
constexpr size_t kChunkBytes = size_t{32} << 20;

struct Chunk {
  uint8_t* base;
  size_t size;
  size_t used;  // bytes handed out from base, in order
  size_t live;  // allocations not yet released
};

struct Arena {
  std::mutex mutex;
  std::vector<Chunk> chunks;
};

// Never destroyed: allocations may be released from other static destructors.
Arena& arena() {
  static Arena* a = new Arena;
  return *a;
}

size_t round_up(size_t x, size_t m) { return (x + m - 1) / m * m; }

// `size` bytes (a multiple of kHugePage) at a kHugePage-aligned address, or nullptr.
uint8_t* map_chunk(size_t size) {
  void* raw = ::mmap(nullptr, size + kHugePage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) return nullptr;
  const uintptr_t start = reinterpret_cast<uintptr_t>(raw);
  const uintptr_t aligned = round_up(start, kHugePage);
  if (aligned > start) ::munmap(raw, aligned - start);
  const uintptr_t end = aligned + size, raw_end = start + size + kHugePage;
  if (raw_end > end) ::munmap(reinterpret_cast<void*>(end), raw_end - end);
#ifdef MADV_HUGEPAGE
  ::madvise(reinterpret_cast<void*>(aligned), size, MADV_HUGEPAGE);  // advice only
#endif
  return reinterpret_cast<uint8_t*>(aligned);
}

}  // namespace

uint8_t* allocate(size_t bytes) {
  if (bytes == 0 || bytes > (size_t{1} << 46)) return nullptr;
  const size_t need = round_up(bytes, 64);
  Arena& a = arena();
  std::lock_guard<std::mutex> lock(a.mutex);
  if (!a.chunks.empty()) {
    Chunk& c = a.chunks.back();
    if (c.size - c.used >= need) {
      uint8_t* p = c.base + c.used;
      c.used += need;
      ++c.live;
      return p;
    }
  }
  const size_t size = std::max(kChunkBytes, round_up(need, kHugePage));
  uint8_t* base = map_chunk(size);
  if (base == nullptr) return nullptr;
  try {
    a.chunks.push_back(Chunk{base, size, need, 1});
  } catch (const std::bad_alloc&) {
    ::munmap(base, size);
    return nullptr;
  }
  return base;
}

void release(uint8_t* p) {
  if (p == nullptr) return;
  Arena& a = arena();
  std::lock_guard<std::mutex> lock(a.mutex);
  for (size_t i = 0; i < a.chunks.size(); ++i) {
    Chunk& c = a.chunks[i];
    if (p < c.base || p >= c.base + c.size) continue;
    if (--c.live == 0) {
      ::munmap(c.base, c.size);
      a.chunks.erase(a.chunks.begin() + static_cast<std::ptrdiff_t>(i));
    }
    return;
  }
}

size_t chunks_mapped() {
  Arena& a = arena();
  std::lock_guard<std::mutex> lock(a.mutex);
  return a.chunks.size();
}

}  // namespace dyad::kernels::weight_arena
