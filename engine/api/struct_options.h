// The C API's extensible structs (dyad.h, "Option structs"): each starts with a
// size_t struct_size that the caller sets to the sizeof it was compiled with.
#pragma once

#include <cstddef>

#include "engine/core/status.h"

namespace dyad {

// Copies a caller's input struct `src` (its struct_size `src_size`) over the
// library's defaults in `dst` (sizeof `dst_size`). kInvalidArgument when
// src_size is below `dst_size` (0 included: struct_size not set) or implausibly
// large; kUnsupported when src is larger and a field this library does not know
// is nonzero. Messages name `type`.
Status read_struct_options(const void* src, size_t src_size, void* dst, size_t dst_size,
                           const char* type);

// Copies the library's result `src` (sizeof `src_size`) into the caller's `dst`,
// whose struct_size is `dst_size`: only the fields that fit (the caller's
// struct_size is kept). kInvalidArgument when dst_size cannot hold struct_size.
Status write_struct_result(const void* src, size_t src_size, void* dst, size_t dst_size,
                           const char* type);

}  // namespace dyad
