// Keeping a mapped weights file's resident memory small while a model loads:
// once bytes of the mapping have been read (hashed, packed), the kernel may
// take their pages back. Only memory use changes: the mapping is read-only, so
// a later read faults the same bytes back in from the page cache.
#pragma once

#include <cstddef>
#include <cstdint>

#include "engine/core/byte_storage.h"

namespace dyad {

// The whole pages inside [offset, offset + bytes) of a kMapped storage; any
// other storage: nothing.
void drop_resident_pages(const ByteStorage& storage, size_t offset, size_t bytes);

// FNV-1a 64 (as fnv1a64) of a storage, a mapped one in slices with each
// slice's pages dropped once hashed: the check costs one slice of resident
// memory, not the file's size.
uint64_t fnv1a64_dropping_pages(const ByteStorage& storage);

}  // namespace dyad
