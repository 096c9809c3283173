#include "engine/ir/dtype.h"

namespace dyad {

namespace {
struct DTypeInfo {
  DType type;
  std::string_view name;
  size_t storage_bytes;
  int64_t min;
  int64_t max;
};

constexpr DTypeInfo kInfo[] = {
    {DType::kInt8, "int8", 1, -128, 127},
    {DType::kUint8, "uint8", 1, 0, 255},
    {DType::kInt4, "int4", 1, -8, 7},
    {DType::kUint4, "uint4", 1, 0, 15},
    {DType::kInt16, "int16", 2, -32768, 32767},
    {DType::kInt32, "int32", 4, INT32_MIN, INT32_MAX},
    {DType::kInt64, "int64", 8, INT64_MIN, INT64_MAX},
};

const DTypeInfo& info(DType t) { return kInfo[static_cast<int>(t)]; }
}  // namespace

std::string_view dtype_name(DType t) { return info(t).name; }

std::optional<DType> dtype_from_name(std::string_view name) {
  for (const DTypeInfo& i : kInfo)
    if (i.name == name) return i.type;
  return std::nullopt;
}

size_t dtype_storage_bytes(DType t) { return info(t).storage_bytes; }

size_t dtype_packed_bytes(DType t, size_t count) {
  if (dtype_is_4bit(t)) return (count + 1) / 2;
  return count * info(t).storage_bytes;
}

int64_t dtype_min(DType t) { return info(t).min; }
int64_t dtype_max(DType t) { return info(t).max; }

}  // namespace dyad
