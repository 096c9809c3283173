// 64-byte aligned, zero-initialised bytes: the packed weights and scratch of
// the GEMM plans (kernels/gemm, kernels/vnm_gemm).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "kernels/common/weight_arena.h"

namespace dyad::kernels {

// Frees an AlignedBytes allocation the way it was made.
struct AlignedBytesFree {
  bool from_arena = false;
  void operator()(uint8_t* p) const {
    if (from_arena) {
      weight_arena::release(p);
    } else {
      std::free(p);
    }
  }
};

struct AlignedBytes {
  using Free = AlignedBytesFree;
  std::unique_ptr<uint8_t, Free> ptr;
  size_t size = 0;

  // Replaces the contents with `bytes` zero bytes (the allocation is rounded
  // up to 64, also zeroed). False when out of memory.
  bool allocate(size_t bytes) {
    size = bytes;
    ptr.reset();
    if (bytes == 0) return true;
    const size_t rounded = (bytes + 63) / 64 * 64;
    ptr = std::unique_ptr<uint8_t, Free>(static_cast<uint8_t*>(std::aligned_alloc(64, rounded)), Free{});
    if (!ptr) return false;
    std::memset(ptr.get(), 0, rounded);
    return true;
  }

  // The same for weights that live as long as their plan: from the weight
  // arena (weight_arena.h), except under AddressSanitizer, whose redzones
  // only guard the C library's allocations.
  bool allocate_weights(size_t bytes) {
#if defined(__SANITIZE_ADDRESS__)
    return allocate(bytes);
#else
    size = bytes;
    ptr.reset();
    if (bytes == 0) return true;
    ptr = std::unique_ptr<uint8_t, Free>(weight_arena::allocate(bytes), Free{true});
    return ptr != nullptr;
#endif
  }

  uint8_t* data() { return ptr.get(); }
  const uint8_t* data() const { return ptr.get(); }
};

}  // namespace dyad::kernels
