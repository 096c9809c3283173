// Status: the error value every engine function returns. Errors are values
// (DESIGN.md principle 5): a code plus a message that names the file, the node
// and the field at fault. No exception crosses a module boundary.
#pragma once

#include <string>
#include <utility>

namespace dyad {

// Keep in step with dyad_status in engine/include/dyad/dyad.h.
enum class StatusCode : int {
  kOk = 0,
  kInvalidArgument = 1,  // a bad argument to an API call
  kIoError = 2,          // a file could not be opened or read
  kParseError = 3,       // the JSON document is not valid JSON
  kInvalidModel = 4,     // the model is well-formed JSON but is not a valid model
  kUnsupported = 5,      // a newer format version, or a feature this build lacks
  kOutOfMemory = 6,
  kInternal = 7,
  kCancelled = 8,         // a run was stopped by a cancel request
  kDeadlineExceeded = 9,  // a run was stopped by its deadline
};

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message)
      : code_(code), message_(std::move(message)) {}

  static Status ok() { return Status(); }
  bool is_ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status invalid_model(std::string message) {
  return Status(StatusCode::kInvalidModel, std::move(message));
}
inline Status invalid_argument(std::string message) {
  return Status(StatusCode::kInvalidArgument, std::move(message));
}

#define DYAD_RETURN_IF_ERROR(expr)          \
  do {                                      \
    ::dyad::Status dyad_status_ = (expr);   \
    if (!dyad_status_.is_ok()) return dyad_status_; \
  } while (0)

}  // namespace dyad
