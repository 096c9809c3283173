// Reading model and weights files: regular files only, sizes checked before a
// byte is read, errors that name the file.
//
// A path is opened with O_NONBLOCK, so that a FIFO (or a device) cannot block
// the open, and the opened descriptor is then checked with fstat: anything but
// a regular file is refused before it is read. The size fstat reports is
// available before reading (InputFile::size), so a caller can refuse a file of
// the wrong size without reading it; reads loop over short reads and EINTR.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "engine/core/aligned_buffer.h"
#include "engine/core/byte_storage.h"
#include "engine/core/status.h"

namespace dyad {

// The largest model (JSON) file read: 64 MiB, 500 times the largest model in
// models/ (whose constants live in the weights file). Parsing JSON takes many
// times its size in memory, so an unbounded file could exhaust it.
inline constexpr uint64_t kMaxModelFileBytes = uint64_t{64} << 20;

// An open regular file. Errors are kIoError (kOutOfMemory when the buffer
// cannot be allocated), worded "<context>: cannot read <role> '<path>': <reason>".
class InputFile {
 public:
  InputFile() = default;
  InputFile(const InputFile&) = delete;
  InputFile& operator=(const InputFile&) = delete;
  ~InputFile();

  // Opens `path` without blocking and checks that it is a regular file.
  // `no_follow`: refuse a symbolic link as the last component (O_NOFOLLOW).
  Status open(const std::string& path, std::string_view context, std::string_view role,
              bool no_follow = false);

  // The size at open time.
  uint64_t size() const { return size_; }

  // Reads exactly size() bytes into a new 64-byte aligned buffer.
  Status read_all(std::shared_ptr<AlignedBuffer>* out);

  // Maps the size() bytes read-only (page aligned; a ByteStorage of kind kMapped
  // that unmaps when its last owner goes). The file must not shrink while the
  // mapping lives: reading past its new end would raise SIGBUS. An empty file
  // gives an empty heap storage.
  Status map_all(ByteStorage* out);

  // An error about this file, worded as above.
  Status error(std::string_view reason) const;

 private:
  int fd_ = -1;
  uint64_t size_ = 0;
  std::string path_;
  std::string context_;
  std::string role_;
};

// Opens `path`, refuses it unless it is a regular file of at most `max_bytes`,
// and reads it whole.
Status read_whole_file(const std::string& path, std::string_view context, std::string_view role,
                       uint64_t max_bytes, std::shared_ptr<AlignedBuffer>* out);

}  // namespace dyad
