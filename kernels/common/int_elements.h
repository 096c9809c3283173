// The integer containers activations live in (docs/format.md "Storage of
// elements"): int8 and int4 values in int8_t, uint8 and uint4 in uint8_t,
// int16, int32, int64 in their own types. Kernels that accept any integer
// dtype (add, requantize, pools) take an IntType and widen through int64.
#pragma once

#include <cstddef>
#include <cstdint>

namespace dyad::kernels {

enum class IntType : uint8_t { kS8, kU8, kS16, kS32, kS64 };

inline size_t int_type_bytes(IntType t) {
  switch (t) {
    case IntType::kS8:
    case IntType::kU8:
      return 1;
    case IntType::kS16:
      return 2;
    case IntType::kS32:
      return 4;
    case IntType::kS64:
      return 8;
  }
  return 0;
}

// The value range of each container.
inline int64_t int_type_min(IntType t) {
  switch (t) {
    case IntType::kS8: return INT8_MIN;
    case IntType::kU8: return 0;
    case IntType::kS16: return INT16_MIN;
    case IntType::kS32: return INT32_MIN;
    case IntType::kS64: return INT64_MIN;
  }
  return 0;
}
inline int64_t int_type_max(IntType t) {
  switch (t) {
    case IntType::kS8: return INT8_MAX;
    case IntType::kU8: return UINT8_MAX;
    case IntType::kS16: return INT16_MAX;
    case IntType::kS32: return INT32_MAX;
    case IntType::kS64: return INT64_MAX;
  }
  return 0;
}

// Calls f(T{}) with T the C++ type of the container, so a kernel can be
// written once as a template over the element type.
template <typename F>
decltype(auto) with_int_type(IntType t, F&& f) {
  switch (t) {
    case IntType::kS8:
      return f(int8_t{});
    case IntType::kU8:
      return f(uint8_t{});
    case IntType::kS16:
      return f(int16_t{});
    case IntType::kS32:
      return f(int32_t{});
    case IntType::kS64:
      break;
  }
  return f(int64_t{});
}

// dst[k] = src[first + k] widened to int64, for k in [0, n).
inline void load_ints(const void* src, IntType t, size_t first, size_t n, int64_t* dst) {
  with_int_type(t, [&](auto zero) {
    using T = decltype(zero);
    const T* s = static_cast<const T*>(src) + first;
    for (size_t k = 0; k < n; ++k) dst[k] = s[k];
  });
}

// dst[first + k] = src[k]; every value must already lie in the container's range.
inline void store_ints(const int64_t* src, size_t n, IntType t, void* dst, size_t first) {
  with_int_type(t, [&](auto zero) {
    using T = decltype(zero);
    T* d = static_cast<T*>(dst) + first;
    for (size_t k = 0; k < n; ++k) d[k] = static_cast<T>(src[k]);
  });
}

}  // namespace dyad::kernels
