#include "engine/format/file_io.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <system_error>

namespace dyad {

namespace {

std::string errno_text(int err) { return std::error_code(err, std::generic_category()).message(); }

}  // namespace

InputFile::~InputFile() {
  if (fd_ >= 0) ::close(fd_);
}

Status InputFile::error(std::string_view reason) const {
  std::string message = context_ + ": cannot read " + role_ + " '" + path_ + "': ";
  message += reason;
  return Status(StatusCode::kIoError, std::move(message));
}

Status InputFile::open(const std::string& path, std::string_view context, std::string_view role,
                       bool no_follow) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  size_ = 0;
  path_ = path;
  context_ = std::string(context);
  role_ = std::string(role);

  // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer.
  int fd = -1;
  do {
    fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | (no_follow ? O_NOFOLLOW : 0));
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return error(errno_text(errno));
  fd_ = fd;

  struct stat st {};
  if (::fstat(fd_, &st) != 0) return error(errno_text(errno));
  if (S_ISDIR(st.st_mode)) return error("is a directory, not a regular file");
  if (!S_ISREG(st.st_mode)) return error("not a regular file (a FIFO, socket or device?)");
  // Regular files ignore O_NONBLOCK today; cleared so that reads are plainly blocking.
  const int flags = ::fcntl(fd_, F_GETFL);
  if (flags < 0 || ::fcntl(fd_, F_SETFL, flags & ~O_NONBLOCK) != 0) return error(errno_text(errno));
  size_ = static_cast<uint64_t>(st.st_size);
  return Status::ok();
}

Status InputFile::read_all(std::shared_ptr<AlignedBuffer>* out) {
  if (fd_ < 0) return error("the file is not open");
  if (size_ > SIZE_MAX) return error("too large for this platform");
  const size_t size = static_cast<size_t>(size_);
  auto buffer = std::make_shared<AlignedBuffer>(size);
  if (!buffer->ok()) {
    return Status(StatusCode::kOutOfMemory, context_ + ": cannot allocate " +
                                                std::to_string(size) + " bytes for " + role_ +
                                                " '" + path_ + "'");
  }
  size_t done = 0;
  while (done < size) {
    const ssize_t n = ::read(fd_, buffer->data() + done, size - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return error(errno_text(errno));
    if (n == 0) return error("the file shrank while it was read");
    done += static_cast<size_t>(n);
  }
  *out = std::move(buffer);
  return Status::ok();
}

Status InputFile::map_all(ByteStorage* out) {
  if (fd_ < 0) return error("the file is not open");
  if (size_ > SIZE_MAX) return error("too large for this platform");
  const size_t size = static_cast<size_t>(size_);
  if (size == 0) {
    *out = ByteStorage::heap(std::make_shared<AlignedBuffer>());
    return Status::ok();
  }
  void* p = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd_, 0);
  if (p == MAP_FAILED) {
    const int err = errno;
    if (err == ENOMEM)
      return Status(StatusCode::kOutOfMemory, context_ + ": cannot map " + std::to_string(size) +
                                                  " bytes of " + role_ + " '" + path_ + "'");
    return error("cannot map it: " + errno_text(err));
  }
  // The loader reads it once front to back (the checksum), the kernels later.
  ::madvise(p, size, MADV_WILLNEED);
  ByteStorage s;
  s.owner = std::shared_ptr<const void>(p, [size](const void* q) {
    ::munmap(const_cast<void*>(q), size);
  });
  s.data = static_cast<const uint8_t*>(p);
  s.size = size;
  s.kind = ByteStorage::Kind::kMapped;
  *out = std::move(s);
  return Status::ok();
}

Status read_whole_file(const std::string& path, std::string_view context, std::string_view role,
                       uint64_t max_bytes, std::shared_ptr<AlignedBuffer>* out) {
  InputFile file;
  DYAD_RETURN_IF_ERROR(file.open(path, context, role));
  if (file.size() > max_bytes) {
    return file.error("it has " + std::to_string(file.size()) + " bytes, more than the " +
                      std::to_string(max_bytes) + " allowed");
  }
  return file.read_all(out);
}

}  // namespace dyad
