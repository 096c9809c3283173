#include "engine/format/resident_pages.h"

#include <sys/mman.h>
#include <unistd.h>

#include "engine/format/loader.h"

namespace dyad {

void drop_resident_pages(const ByteStorage& storage, size_t offset, size_t bytes) {
  if (storage.kind != ByteStorage::Kind::kMapped || offset >= storage.size) return;
  if (bytes > storage.size - offset) bytes = storage.size - offset;
  const long page_size = ::sysconf(_SC_PAGESIZE);
  const uintptr_t page = page_size > 0 ? static_cast<uintptr_t>(page_size) : 4096;
  const uintptr_t first = reinterpret_cast<uintptr_t>(storage.data) + offset;
  const uintptr_t begin = (first + page - 1) / page * page;
  const uintptr_t end = (first + bytes) / page * page;
  if (end > begin) ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED);
}

uint64_t fnv1a64_dropping_pages(const ByteStorage& storage) {
  if (storage.kind != ByteStorage::Kind::kMapped) return fnv1a64(storage.data, storage.size);
  // FNV-1a carried across slices: the same value as one pass.
  constexpr size_t kSlice = size_t{8} << 20;
  constexpr uint64_t kPrime = 0x100000001b3ULL;
  uint64_t hash = fnv1a64(nullptr, 0);  // the offset basis
  for (size_t done = 0; done < storage.size; done += kSlice) {
    const size_t n = storage.size - done < kSlice ? storage.size - done : kSlice;
    const uint8_t* p = storage.data + done;
    for (size_t i = 0; i < n; ++i) {
      hash ^= p[i];
      hash *= kPrime;
    }
    drop_resident_pages(storage, done, n);
  }
  return hash;
}

}  // namespace dyad
