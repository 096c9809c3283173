// Element types of the model format and how each is stored.
//
// Activations (tensors computed at run time) are stored one element per
// container: int4 in an int8 byte, uint4 in a uint8 byte. Constant tensors
// (weights) of int4/uint4 are packed two per byte, low nibble first
// (docs/format.md). Planner code unpacks or repacks them for kernels.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace dyad {

enum class DType : uint8_t { kInt8, kUint8, kInt4, kUint4, kInt16, kInt32, kInt64 };

inline constexpr DType kAllDTypes[] = {DType::kInt8,  DType::kUint8, DType::kInt4, DType::kUint4,
                                      DType::kInt16, DType::kInt32, DType::kInt64};

std::string_view dtype_name(DType t);
std::optional<DType> dtype_from_name(std::string_view name);

// Bytes per element of an activation (unpacked) in the arena.
size_t dtype_storage_bytes(DType t);
// Bytes that `count` elements of a constant take in the weights file.
size_t dtype_packed_bytes(DType t, size_t count);

int64_t dtype_min(DType t);
int64_t dtype_max(DType t);
inline bool dtype_is_4bit(DType t) { return t == DType::kInt4 || t == DType::kUint4; }
inline bool dtype_is_unsigned(DType t) { return t == DType::kUint8 || t == DType::kUint4; }
// The 8/4-bit activation types that GEMM-like kernels consume and produce.
inline bool dtype_is_narrow(DType t) { return t <= DType::kUint4; }

}  // namespace dyad
