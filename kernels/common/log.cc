#include "kernels/common/log.h"

#include <cstdio>
#include <mutex>
#include <shared_mutex>

namespace dyad::kernels {

namespace {

struct SinkState {
  std::shared_mutex mutex;
  LogSink sink = nullptr;
  void* user_data = nullptr;
};

SinkState& state() {
  static SinkState s;
  return s;
}

}  // namespace

void set_log_sink(LogSink sink, void* user_data) {
  SinkState& s = state();
  std::unique_lock lock(s.mutex);
  s.sink = sink;
  s.user_data = user_data;
}

void log_line(LogLevel level, const std::string& message) {
  SinkState& s = state();
  std::shared_lock lock(s.mutex);
  if (s.sink != nullptr) {
    s.sink(s.user_data, static_cast<int>(level), message.c_str());
    return;
  }
  std::fprintf(stderr, "%s\n", message.c_str());
}

}  // namespace dyad::kernels
