#include "engine/format/file_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace dyad {

namespace {

Status io_error(std::string_view context, std::string_view role, const std::string& path,
                std::string_view reason) {
  std::string message(context);
  message += ": cannot read ";
  message += role;
  message += " '" + path + "': ";
  message += reason;
  return Status(StatusCode::kIoError, std::move(message));
}

std::string errno_text(int err) { return std::error_code(err, std::generic_category()).message(); }

// Closes the descriptor on every path out of read_whole_file.
struct FdCloser {
  int fd;
  ~FdCloser() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

Status read_whole_file(const std::string& path, std::string_view context, std::string_view role,
                       std::shared_ptr<AlignedBuffer>* out) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return io_error(context, role, path, errno_text(errno));
  FdCloser closer{fd};

  struct stat st {};
  if (::fstat(fd, &st) != 0) return io_error(context, role, path, errno_text(errno));
  if (!S_ISREG(st.st_mode)) return io_error(context, role, path, "not a regular file");

  const size_t size = static_cast<size_t>(st.st_size);
  auto buffer = std::make_shared<AlignedBuffer>(size);
  if (!buffer->ok()) {
    return Status(StatusCode::kOutOfMemory, std::string(context) + ": cannot allocate " +
                                                std::to_string(size) + " bytes for " +
                                                std::string(role) + " '" + path + "'");
  }
  size_t done = 0;
  while (done < size) {
    const ssize_t n = ::read(fd, buffer->data() + done, size - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return io_error(context, role, path, errno_text(errno));
    if (n == 0) return io_error(context, role, path, "the file shrank while it was read");
    done += static_cast<size_t>(n);
  }
  *out = std::move(buffer);
  return Status::ok();
}

}  // namespace dyad
