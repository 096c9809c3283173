// --timeout SECONDS of `dyad run` and `dyad bench` (cli.h).
#include <cerrno>
#include <cmath>
#include <cstdlib>

#include "engine/cli/cli.h"

namespace dyad::cli {

bool parse_timeout_flag(const std::string& flag, const std::string& text,
                        std::chrono::microseconds* out, std::string* error) {
  errno = 0;
  char* end = nullptr;
  const double seconds = std::strtod(text.c_str(), &end);
  // One microsecond to about eleven days.
  if (text.empty() || *end != '\0' || errno == ERANGE || !std::isfinite(seconds) ||
      seconds < 1e-6 || seconds > 1e6) {
    *error = "option " + flag + ": '" + text + "' is not a number of seconds in [0.000001, 1000000]";
    return false;
  }
  *out = std::chrono::microseconds(std::llround(seconds * 1e6));
  return true;
}

}  // namespace dyad::cli
