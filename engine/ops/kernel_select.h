// Plan-time choice between an op's vector variants and its reference kernel
// (add, pools, int_softmax, int_gelu, int_layernorm, depthwise conv2d; the
// GEMM has its own in gemm_select.h).
#pragma once

#include <string>

#include "engine/ops/op.h"

namespace dyad {

// True when a vector variant may be used: the CPU has AVX2 and DYAD_KERNELS
// is not "ref".
bool avx2_kernels_allowed();

// True when the element-wise AVX-512 variants (*_avx512.cc) may be used: the
// CPU has AVX-512 F/BW/VL/DQ, DYAD_KERNELS is not "ref" and the DYAD_ISA cap
// is avx512vnni or above (kernels/common/cpu.h).
bool avx512_kernels_allowed();

// True when the 64-bit ARM NEON variants (*_neon.cc, built on aarch64 only)
// may be used: the CPU has Advanced SIMD and the DYAD_ISA cap is neon or
// above (false on x86-64).
bool neon_kernels_allowed();

// With DYAD_VERBOSE=dispatch, says why the node keeps its reference kernel
// although vector variants are allowed (the choice itself is logged by
// BuildContext::set_kernel).
void log_reference_reason(const BuildContext& ctx, const std::string& why);

}  // namespace dyad
