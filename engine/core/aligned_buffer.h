// A zero-filled heap buffer with 64-byte alignment (weights, arenas, packed
// constants).
//
// Large buffers (kMapThreshold and up) come from an anonymous mmap: the kernel
// hands out zero pages lazily, so a 2 GiB arena of which a run touches 100 MiB
// costs 100 MiB of memory, not 2 GiB. Small ones are aligned_alloc + memset.
// Either way the contents start as zeros, which is all a caller may assume.
#pragma once

#include <sys/mman.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <utility>

namespace dyad {

class AlignedBuffer {
 public:
  static constexpr size_t kAlignment = 64;
  static constexpr size_t kMapThreshold = size_t{1} << 20;

  AlignedBuffer() = default;
  // Returns an empty buffer (data() == nullptr, size() == bytes) when out of memory;
  // check ok().
  explicit AlignedBuffer(size_t bytes) : size_(bytes) {
    if (bytes == 0) return;
    if (bytes > SIZE_MAX - kAlignment) return;
    const size_t rounded = (bytes + kAlignment - 1) / kAlignment * kAlignment;
    if (rounded >= kMapThreshold) {
      void* p = mmap(nullptr, rounded, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (p == MAP_FAILED) return;
      data_ = static_cast<uint8_t*>(p);  // page aligned, hence 64-byte aligned
      mapped_bytes_ = rounded;
      return;
    }
    data_ = static_cast<uint8_t*>(std::aligned_alloc(kAlignment, rounded));
    if (data_ != nullptr) std::memset(data_, 0, rounded);
  }
  ~AlignedBuffer() { release(); }

  AlignedBuffer(AlignedBuffer&& other) noexcept { *this = std::move(other); }
  AlignedBuffer& operator=(AlignedBuffer&& other) noexcept {
    if (this != &other) {
      release();
      data_ = std::exchange(other.data_, nullptr);
      size_ = std::exchange(other.size_, 0);
      mapped_bytes_ = std::exchange(other.mapped_bytes_, 0);
    }
    return *this;
  }
  AlignedBuffer(const AlignedBuffer&) = delete;
  AlignedBuffer& operator=(const AlignedBuffer&) = delete;

  bool ok() const { return size_ == 0 || data_ != nullptr; }
  uint8_t* data() { return data_; }
  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  void release() {
    if (data_ == nullptr) return;
    if (mapped_bytes_ != 0)
      munmap(data_, mapped_bytes_);
    else
      std::free(data_);
    data_ = nullptr;
    mapped_bytes_ = 0;
  }

  uint8_t* data_ = nullptr;
  size_t size_ = 0;
  size_t mapped_bytes_ = 0;  // nonzero: data_ is an mmap of this many bytes
};

}  // namespace dyad
