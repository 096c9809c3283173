// A heap buffer with 64-byte alignment (weights, arenas, packed constants).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>

namespace dyad {

class AlignedBuffer {
 public:
  static constexpr size_t kAlignment = 64;

  AlignedBuffer() = default;
  // Returns an empty buffer (data() == nullptr, size() == bytes) when out of memory;
  // check ok().
  explicit AlignedBuffer(size_t bytes) : size_(bytes) {
    const size_t rounded = (bytes + kAlignment - 1) / kAlignment * kAlignment;
    if (rounded > 0) {
      data_.reset(static_cast<uint8_t*>(std::aligned_alloc(kAlignment, rounded)));
      if (data_) std::memset(data_.get(), 0, rounded);
    }
  }

  bool ok() const { return size_ == 0 || data_ != nullptr; }
  uint8_t* data() { return data_.get(); }
  const uint8_t* data() const { return data_.get(); }
  size_t size() const { return size_; }

 private:
  struct Free {
    void operator()(uint8_t* p) const { std::free(p); }
  };
  std::unique_ptr<uint8_t, Free> data_;
  size_t size_ = 0;
};

}  // namespace dyad
