// Reading and writing NumPy .npy files for the `dyad` CLI.
//
// Supported: little-endian (or byte-order-free) dtypes |i1 |u1 <i2 <i4 <i8 <f4
// <f8 in C order. Files are written with a version 1.0 header; version 1.0,
// 2.0 and 3.0 headers are read (they differ only in the header-length field).
// Anything else (Fortran order, big-endian, other dtypes, truncated or
// trailing data) is rejected with a message naming the file and the field.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/core/status.h"
#include "engine/ir/dtype.h"
#include "engine/ir/tensor.h"

namespace dyad::cli {

enum class NpyType { kI1, kU1, kI2, kI4, kI8, kF4, kF8 };

std::string_view npy_descr(NpyType type);  // e.g. "<i4"
size_t npy_item_bytes(NpyType type);
bool npy_is_float(NpyType type);
// The .npy type of a dyad dtype's container (int4 -> |i1, uint4 -> |u1).
NpyType npy_type_of(DType dtype);

struct NpyArray {
  NpyType type = NpyType::kI1;
  Shape shape;                // [] for a 0-d array
  std::vector<uint8_t> data;  // shape_elements(shape) * npy_item_bytes(type) bytes, C order

  size_t num_elements() const { return data.size() / npy_item_bytes(type); }
};

// Parses the bytes of a .npy file. `source` names it in error messages.
Status parse_npy(std::string_view bytes, std::string_view source, NpyArray* out);
Status read_npy(const std::string& path, NpyArray* out);

// The bytes of a .npy file holding `data` (shape_elements(shape) items of `type`).
std::string serialize_npy(NpyType type, const Shape& shape, const void* data);
Status write_npy(const std::string& path, NpyType type, const Shape& shape, const void* data);

}  // namespace dyad::cli
