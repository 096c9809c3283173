// Read-only bytes that constant tensors point into (Graph::storage), with what
// keeps them alive: a heap buffer (inline data, a copied or read weights file),
// a read-only mapping of the weights file, or a caller's borrowed buffer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>

#include "engine/core/aligned_buffer.h"

namespace dyad {

struct ByteStorage {
  enum class Kind { kHeap, kMapped, kBorrowed };

  std::shared_ptr<const void> owner;  // null for borrowed bytes
  const uint8_t* data = nullptr;
  size_t size = 0;
  Kind kind = Kind::kHeap;

  static ByteStorage heap(std::shared_ptr<AlignedBuffer> buffer) {
    ByteStorage s;
    s.data = buffer->data();
    s.size = buffer->size();
    s.owner = std::move(buffer);
    return s;
  }
  static ByteStorage borrowed(const void* data, size_t size) {
    ByteStorage s;
    s.data = static_cast<const uint8_t*>(data);
    s.size = size;
    s.kind = Kind::kBorrowed;
    return s;
  }
};

}  // namespace dyad
