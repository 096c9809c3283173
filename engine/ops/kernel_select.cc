#include "engine/ops/kernel_select.h"

#include <cstdio>

#include "kernels/common/cpu.h"
#include "kernels/common/log.h"

namespace dyad {

bool avx2_kernels_allowed() {
  return !kernels::force_reference_kernels() && kernels::cpu_features().avx2;
}

bool avx512_kernels_allowed() { return kernels::avx512_elementwise_usable(); }

void log_reference_reason(const BuildContext& ctx, const std::string& why) {
  if (kernels::verbose_dispatch())
    kernels::log_line(kernels::LogLevel::kDebug,
                      "dyad dispatch: node '" + ctx.node().name + "': no AVX2 variant (" + why + ")");
}

}  // namespace dyad
