#include <cstdint>

#include "engine/format/loader.h"

namespace dyad {

// FNV-1a, 64-bit: for each byte, hash ^= byte, then hash *= prime (mod 2^64).
uint64_t fnv1a64(const void* data, size_t bytes) {
  constexpr uint64_t kOffsetBasis = 0xcbf29ce484222325ULL;
  constexpr uint64_t kPrime = 0x100000001b3ULL;
  const uint8_t* p = static_cast<const uint8_t*>(data);
  uint64_t hash = kOffsetBasis;
  for (size_t i = 0; i < bytes; ++i) {
    hash ^= p[i];
    hash *= kPrime;
  }
  return hash;
}

}  // namespace dyad
