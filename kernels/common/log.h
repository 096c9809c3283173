// Where the library's messages go: stderr, or the callback an embedder set
// (dyad_set_log_callback in the C API). Every message is one line, passed
// without its trailing newline.
#pragma once

#include <string>

namespace dyad::kernels {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarning = 2 };  // = dyad_log_level

using LogSink = void (*)(void* user_data, int level, const char* message);

// Process-wide; nullptr restores stderr. When it returns, no thread is still
// inside the previous sink, and none will call it again (so a sink must not call
// set_log_sink itself).
void set_log_sink(LogSink sink, void* user_data);

void log_line(LogLevel level, const std::string& message);

}  // namespace dyad::kernels
