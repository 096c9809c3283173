#include "engine/ops/kernel_select.h"

#include <cstdio>

#include "kernels/common/cpu.h"

namespace dyad {

bool avx2_kernels_allowed() {
  return !kernels::force_reference_kernels() && kernels::cpu_features().avx2;
}

bool avx512_kernels_allowed() { return kernels::avx512_elementwise_usable(); }

void log_reference_reason(const BuildContext& ctx, const std::string& why) {
  if (kernels::verbose_dispatch())
    std::fprintf(stderr, "dyad dispatch: node '%s': no AVX2 variant (%s)\n",
                 ctx.node().name.c_str(), why.c_str());
}

}  // namespace dyad
