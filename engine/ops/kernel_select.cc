#include "engine/ops/kernel_select.h"

#include <cstdio>

#include "kernels/common/cpu.h"
#include "kernels/common/log.h"

namespace dyad {

bool avx2_kernels_allowed() {
  return !kernels::force_reference_kernels() && kernels::cpu_features().avx2;
}

bool avx512_kernels_allowed() { return kernels::avx512_elementwise_usable(); }

bool neon_kernels_allowed() { return kernels::kernel_isa_usable(kernels::KernelIsa::kNeon); }

void log_reference_reason(const BuildContext& ctx, const std::string& why) {
  if (kernels::verbose_dispatch())
    kernels::log_line(kernels::LogLevel::kDebug,
                      "dyad dispatch: node '" + ctx.node().name + "': no vector variant (" + why + ")");
}

}  // namespace dyad
