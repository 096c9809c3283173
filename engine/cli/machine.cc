// describe_machine(): the machine timing figures come from (dyad bench, dyad mpq latency).
#include <fstream>
#include <string>
#include <thread>

#include "engine/cli/cli.h"
#include "kernels/common/cpu.h"

namespace dyad::cli {

Machine describe_machine() {
  Machine m;
  std::ifstream cpuinfo("/proc/cpuinfo");
  for (std::string line; std::getline(cpuinfo, line);) {
    if (line.rfind("model name", 0) != 0) continue;
    const size_t colon = line.find(':');
    if (colon != std::string::npos) m.cpu_model = line.substr(colon + 1 + (colon + 1 < line.size()));
    break;
  }
  using kernels::KernelIsa;
  m.isa = kernels::force_reference_kernels() ? "ref" : kernels::kernel_isa_name(KernelIsa::kRef);
  if (!kernels::force_reference_kernels()) {
    for (KernelIsa isa : {KernelIsa::kAvx2, KernelIsa::kAvxVnni, KernelIsa::kAvx512Vnni, KernelIsa::kAmx,
                          KernelIsa::kNeon, KernelIsa::kDotprod, KernelIsa::kI8mm})
      if (kernels::kernel_isa_usable(isa)) m.isa = kernels::kernel_isa_name(isa);
  }
  m.features = kernels::cpu_summary();
  m.hardware_threads = std::thread::hardware_concurrency();
  return m;
}

}  // namespace dyad::cli
