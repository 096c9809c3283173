#include "kernels/common/strfmt.h"

#include <cstdarg>
#include <cstdio>

namespace dyad::kernels {

std::string strfmt(const char* format, ...) {
  char buf[512];
  va_list args;
  va_start(args, format);
  std::vsnprintf(buf, sizeof(buf), format, args);
  va_end(args);
  return buf;
}

}  // namespace dyad::kernels
