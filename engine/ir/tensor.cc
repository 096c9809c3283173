#include "engine/ir/tensor.h"

#include "engine/core/checked_math.h"
#include "engine/core/limits.h"

namespace dyad {

int64_t shape_elements(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::string shape_to_string(const Shape& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

std::string shape_limit_violation(const Shape& shape, DType dtype) {
  if (static_cast<int64_t>(shape.size()) > limits::kMaxRank)
    return "shape " + shape_to_string(shape) + " has rank " + std::to_string(shape.size()) +
           ", more than the limit of " + std::to_string(limits::kMaxRank);
  const std::optional<int64_t> elements =
      product_within<int64_t>(shape, limits::kMaxTensorElements);
  if (!elements)
    return "shape " + shape_to_string(shape) + " has more than the limit of " +
           std::to_string(limits::kMaxTensorElements) + " (2^32) elements per tensor";
  const std::optional<int64_t> bytes =
      checked_mul(*elements, static_cast<int64_t>(dtype_storage_bytes(dtype)));
  if (!bytes || *bytes > limits::kMaxTensorBytes)
    return "shape " + shape_to_string(shape) + " of " + std::string(dtype_name(dtype)) +
           " takes more than the limit of " + std::to_string(limits::kMaxTensorBytes) +
           " (2^34) bytes per tensor";
  return "";
}

}  // namespace dyad
