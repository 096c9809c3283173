#include "engine/serve/datatype.h"

#include <cstring>

namespace dyad::serve {

namespace {
struct WireName {
  WireType type;
  std::string_view name;
};
constexpr WireName kWireNames[] = {
    {WireType::kInt8, "INT8"},   {WireType::kUint8, "UINT8"}, {WireType::kInt16, "INT16"},
    {WireType::kInt32, "INT32"}, {WireType::kInt64, "INT64"}, {WireType::kFp32, "FP32"},
};

template <typename T>
void store_as(void* container, size_t i, int64_t value) {
  const T v = static_cast<T>(value);
  std::memcpy(static_cast<char*>(container) + i * sizeof(T), &v, sizeof(T));
}

template <typename T>
int64_t load_as(const void* container, size_t i) {
  T v;
  std::memcpy(&v, static_cast<const char*>(container) + i * sizeof(T), sizeof(T));
  return static_cast<int64_t>(v);
}
}  // namespace

std::string_view wire_name(WireType type) {
  for (const WireName& w : kWireNames)
    if (w.type == type) return w.name;
  return "?";
}

bool parse_wire_type(std::string_view name, WireType* out) {
  for (const WireName& w : kWireNames)
    if (w.name == name) {
      *out = w.type;
      return true;
    }
  return false;
}

WireType wire_type_of(dyad_dtype dtype) {
  switch (dtype) {
    case DYAD_INT8:
    case DYAD_INT4: return WireType::kInt8;
    case DYAD_UINT8:
    case DYAD_UINT4: return WireType::kUint8;
    case DYAD_INT16: return WireType::kInt16;
    case DYAD_INT32: return WireType::kInt32;
    case DYAD_INT64: return WireType::kInt64;
  }
  return WireType::kInt64;
}

size_t wire_bytes(WireType type) {
  switch (type) {
    case WireType::kInt8:
    case WireType::kUint8: return 1;
    case WireType::kInt16: return 2;
    case WireType::kInt32:
    case WireType::kFp32: return 4;
    case WireType::kInt64: return 8;
  }
  return 8;
}

int64_t dtype_lowest(dyad_dtype dtype) {
  switch (dtype) {
    case DYAD_INT8: return INT8_MIN;
    case DYAD_INT4: return -8;
    case DYAD_UINT8:
    case DYAD_UINT4: return 0;
    case DYAD_INT16: return INT16_MIN;
    case DYAD_INT32: return INT32_MIN;
    case DYAD_INT64: return INT64_MIN;
  }
  return 0;
}

int64_t dtype_highest(dyad_dtype dtype) {
  switch (dtype) {
    case DYAD_INT8: return INT8_MAX;
    case DYAD_INT4: return 7;
    case DYAD_UINT8: return UINT8_MAX;
    case DYAD_UINT4: return 15;
    case DYAD_INT16: return INT16_MAX;
    case DYAD_INT32: return INT32_MAX;
    case DYAD_INT64: return INT64_MAX;
  }
  return 0;
}

size_t container_bytes(dyad_dtype dtype) { return wire_bytes(wire_type_of(dtype)); }

void store_element(dyad_dtype dtype, void* container, size_t i, int64_t value) {
  switch (dtype) {
    case DYAD_INT8:
    case DYAD_INT4: return store_as<int8_t>(container, i, value);
    case DYAD_UINT8:
    case DYAD_UINT4: return store_as<uint8_t>(container, i, value);
    case DYAD_INT16: return store_as<int16_t>(container, i, value);
    case DYAD_INT32: return store_as<int32_t>(container, i, value);
    case DYAD_INT64: return store_as<int64_t>(container, i, value);
  }
}

int64_t load_element(dyad_dtype dtype, const void* container, size_t i) {
  switch (dtype) {
    case DYAD_INT8:
    case DYAD_INT4: return load_as<int8_t>(container, i);
    case DYAD_UINT8:
    case DYAD_UINT4: return load_as<uint8_t>(container, i);
    case DYAD_INT16: return load_as<int16_t>(container, i);
    case DYAD_INT32: return load_as<int32_t>(container, i);
    case DYAD_INT64: return load_as<int64_t>(container, i);
  }
  return 0;
}

}  // namespace dyad::serve
