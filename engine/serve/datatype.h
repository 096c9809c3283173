// The tensor datatypes of the Open Inference Protocol (KServe v2) that dyad
// serves, and how they map onto the C API's dtypes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "dyad/dyad.h"

namespace dyad::serve {

// The protocol's names. 4-bit dyad tensors travel as INT8 / UINT8 (one value
// per byte, as at the C API).
enum class WireType { kInt8, kUint8, kInt16, kInt32, kInt64, kFp32 };

std::string_view wire_name(WireType type);
// False for a name dyad does not serve (BOOL, FP16, BYTES, ...).
bool parse_wire_type(std::string_view name, WireType* out);
WireType wire_type_of(dyad_dtype dtype);
// Bytes per element in the binary tensor data extension (little-endian).
size_t wire_bytes(WireType type);

// The range of values a dyad dtype holds (int4: -8..7, uint4: 0..15).
int64_t dtype_lowest(dyad_dtype dtype);
int64_t dtype_highest(dyad_dtype dtype);
// Bytes of one element in the C API's container for `dtype`.
size_t container_bytes(dyad_dtype dtype);

// Stores / loads element `i` of a container of `dtype`.
void store_element(dyad_dtype dtype, void* container, size_t i, int64_t value);
int64_t load_element(dyad_dtype dtype, const void* container, size_t i);

}  // namespace dyad::serve
