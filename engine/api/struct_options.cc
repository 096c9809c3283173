#include "engine/api/struct_options.h"

#include <cstdint>
#include <cstring>
#include <string>

namespace dyad {

namespace {

// No dyad struct will grow this large; a bigger struct_size is an uninitialized field.
constexpr size_t kMaxStructSize = 1024;

Status bad_size(const char* type, size_t size, const std::string& why) {
  std::string message = std::string(type) + ".struct_size is " + std::to_string(size) + ": ";
  message += why;
  return Status(StatusCode::kInvalidArgument, std::move(message));
}

}  // namespace

Status read_struct_options(const void* src, size_t src_size, void* dst, size_t dst_size,
                           const char* type) {
  const std::string expected = "set it to sizeof(" + std::string(type) + ")";
  if (src_size < dst_size) {
    // Every struct_size below this library's own is from before the first
    // release, or unset: none is valid yet.
    return bad_size(type, src_size, src_size == 0 ? expected + " (the *_INIT macros do)"
                                                  : expected + " = " + std::to_string(dst_size));
  }
  if (src_size > kMaxStructSize)
    return bad_size(type, src_size, "too large for any version (not initialized?); " + expected);
  const auto* bytes = static_cast<const uint8_t*>(src);
  for (size_t i = dst_size; i < src_size; ++i) {
    if (bytes[i] != 0) {
      return Status(StatusCode::kUnsupported,
                    std::string(type) + " has fields this library does not know (struct_size " +
                        std::to_string(src_size) + ", this library's is " +
                        std::to_string(dst_size) + ") and one of them is set: byte " +
                        std::to_string(i) + " is nonzero; use a newer libdyad");
    }
  }
  std::memcpy(dst, src, dst_size);
  return Status::ok();
}

Status write_struct_result(const void* src, size_t src_size, void* dst, size_t dst_size,
                           const char* type) {
  if (dst_size < sizeof(size_t))
    return bad_size(type, dst_size, "set it to sizeof(" + std::string(type) + ")");
  if (dst_size > kMaxStructSize)
    return bad_size(type, dst_size, "too large for any version (not initialized?)");
  const size_t n = dst_size < src_size ? dst_size : src_size;
  std::memcpy(static_cast<uint8_t*>(dst) + sizeof(size_t),
              static_cast<const uint8_t*>(src) + sizeof(size_t), n - sizeof(size_t));
  return Status::ok();
}

}  // namespace dyad
