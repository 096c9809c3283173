// The vector variants of the element-wise kernel tests (add, int_softmax,
// int_gelu, int_gelu_requantize, int_layernorm), named by their ISA suffix:
// "avx2" and "avx512" everywhere (skipped off x86 with the reason), "neon"
// where it is built (64-bit ARM).
#pragma once

#include <string>
#include <vector>

#include "kernels/common/cpu.h"

namespace dyad::kernels {

inline std::vector<std::string> elementwise_variants() {
#if defined(__aarch64__)
  return {"avx2", "avx512", "neon"};
#else
  return {"avx2", "avx512"};
#endif
}

// "" when this CPU runs the variant, else why it cannot.
inline std::string elementwise_variant_missing(const std::string& isa) {
  if (isa == "avx2" && !kernel_isa_present(KernelIsa::kAvx2)) return "this CPU lacks AVX2 (+FMA, BMI2)";
  if (isa == "avx512" && !avx512_elementwise_present()) return "this CPU lacks AVX-512 F/BW/VL/DQ";
  if (isa == "neon" && !kernel_isa_present(KernelIsa::kNeon)) return "this CPU lacks Advanced SIMD (NEON)";
  return "";
}

}  // namespace dyad::kernels
