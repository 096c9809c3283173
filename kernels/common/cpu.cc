#include "kernels/common/cpu.h"

#include <cstdlib>
#include <cstring>

namespace dyad::kernels {

const CpuFeatures& cpu_features() {
  static const CpuFeatures features = [] {
    CpuFeatures f;
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    f.avx2 = __builtin_cpu_supports("avx2");
    f.fma = __builtin_cpu_supports("fma");
    f.avx512f = __builtin_cpu_supports("avx512f");
#endif
    return f;
  }();
  return features;
}

bool force_reference_kernels() {
  const char* v = std::getenv("DYAD_KERNELS");
  return v != nullptr && std::strcmp(v, "ref") == 0;
}

bool verbose_dispatch() {
  const char* v = std::getenv("DYAD_VERBOSE");
  return v != nullptr && std::strstr(v, "dispatch") != nullptr;
}

}  // namespace dyad::kernels
