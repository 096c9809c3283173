// CPU features, detected once, and the kernel-selection switches read from the
// environment (DYAD_KERNELS=ref, DYAD_VERBOSE=dispatch).
#pragma once

namespace dyad::kernels {

struct CpuFeatures {
  bool avx2 = false;
  bool fma = false;
  bool avx512f = false;
  bool avx_vnni = false;
};

// Detected on first call; cheap afterwards.
const CpuFeatures& cpu_features();

// True when DYAD_KERNELS=ref: every op uses its reference kernel.
bool force_reference_kernels();
// True when DYAD_VERBOSE contains "dispatch": log each kernel choice to stderr.
bool verbose_dispatch();

}  // namespace dyad::kernels
