// Checked arithmetic for sizes computed from a model file: element counts,
// byte counts, arena offsets, scratch sizes and work counts. A model is
// hostile input, so every such product or sum goes through these helpers and
// gets std::nullopt instead of wrapping (docs/format.md "Limits").
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <type_traits>

namespace dyad {

template <typename T>
concept SizeInteger = std::is_same_v<T, int64_t> || std::is_same_v<T, size_t>;

namespace checked_math_detail {
template <typename T>
constexpr bool negative(T x) {
  if constexpr (std::is_signed_v<T>) return x < 0;
  return false;
}
}  // namespace checked_math_detail

// a + b, or nullopt when it does not fit in T. Operands must be >= 0.
template <SizeInteger T>
std::optional<T> checked_add(T a, T b) {
  T r;
  if (checked_math_detail::negative(a) || checked_math_detail::negative(b) ||
      __builtin_add_overflow(a, b, &r)) return std::nullopt;
  return r;
}

// a * b, or nullopt when it does not fit in T. Operands must be >= 0.
template <SizeInteger T>
std::optional<T> checked_mul(T a, T b) {
  T r;
  if (checked_math_detail::negative(a) || checked_math_detail::negative(b) ||
      __builtin_mul_overflow(a, b, &r)) return std::nullopt;
  return r;
}

// The product of `factors` (1 when empty), or nullopt when it overflows.
template <SizeInteger T, typename Range>
std::optional<T> checked_product(const Range& factors) {
  T product = 1;
  for (auto f : factors) {
    const T value = static_cast<T>(f);
    if (checked_math_detail::negative(f) || checked_math_detail::negative(value))
      return std::nullopt;
    const std::optional<T> next = checked_mul<T>(product, value);
    if (!next) return std::nullopt;
    product = *next;
  }
  return product;
}
inline std::optional<int64_t> checked_product(std::initializer_list<int64_t> factors) {
  return checked_product<int64_t>(factors);
}

// n rounded up to a multiple of `align` (a power of two), or nullopt.
inline std::optional<size_t> checked_align_up(size_t n, size_t align) {
  const std::optional<size_t> padded = checked_add(n, align - 1);
  if (!padded) return std::nullopt;
  return *padded / align * align;
}

// The product, or nullopt when it overflows or exceeds `limit`: the one test
// "does this count stay within its documented limit".
template <SizeInteger T, typename Range>
std::optional<T> product_within(const Range& factors, T limit) {
  const std::optional<T> p = checked_product<T>(factors);
  if (!p || *p > limit) return std::nullopt;
  return p;
}

}  // namespace dyad
