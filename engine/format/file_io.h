// Reading whole files into aligned buffers, with errors that name the file.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "engine/core/aligned_buffer.h"
#include "engine/core/status.h"

namespace dyad {

// Reads all of `path` into a new 64-byte aligned buffer. Errors are kIoError
// (kOutOfMemory when the buffer cannot be allocated), worded
// "<context>: cannot read <role> '<path>': <reason>".
Status read_whole_file(const std::string& path, std::string_view context, std::string_view role,
                       std::shared_ptr<AlignedBuffer>* out);

}  // namespace dyad
