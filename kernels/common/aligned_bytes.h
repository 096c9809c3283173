// 64-byte aligned, zero-initialised bytes: the packed weights and scratch of
// the GEMM plans (kernels/gemm, kernels/vnm_gemm).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>

namespace dyad::kernels {

struct AlignedBytes {
  struct Free {
    void operator()(uint8_t* p) const { std::free(p); }
  };
  std::unique_ptr<uint8_t, Free> ptr;
  size_t size = 0;

  // Replaces the contents with `bytes` zero bytes (the allocation is rounded
  // up to 64, also zeroed). False when out of memory.
  bool allocate(size_t bytes) {
    size = bytes;
    ptr.reset();
    if (bytes == 0) return true;
    const size_t rounded = (bytes + 63) / 64 * 64;
    ptr.reset(static_cast<uint8_t*>(std::aligned_alloc(64, rounded)));
    if (!ptr) return false;
    std::memset(ptr.get(), 0, rounded);
    return true;
  }
  uint8_t* data() { return ptr.get(); }
  const uint8_t* data() const { return ptr.get(); }
};

}  // namespace dyad::kernels
