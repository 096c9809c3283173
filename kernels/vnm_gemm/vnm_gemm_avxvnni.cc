// V:N:M GEMM on AVX-VNNI (VEX vpdpbusd on ymm; e.g. Alder Lake, or an
// AVX-512 CPU capped with DYAD_ISA=avxvnni): the ymm drivers of
// vnm_gemm_avx2.h with the vpdpbusd step (DpStep): per token, octet and group
// pair one window broadcast, one vpshufb and one vpdpbusd, in place of the
// AVX2 families' vpmaddubsw + vpmaddwd + vpaddd (docs/vnm.md "VNNI kernels").
// u = src - src_min is the unsigned operand, so every 8- or 4-bit source and
// every int8 or int4 weight is exact.
#include "kernels/vnm_gemm/vnm_gemm_avx2.h"

namespace dyad::kernels {

void vnm_gemm_dp_avxvnni(const VnmGemmPlan& plan, const VnmArgs& args) {
  using Step = vnm_avx2::DpStep<true>;
  plan.desc.shape.value_bits == 4 ? vnm_avx2::run<Step, 4>(plan, args) : vnm_avx2::run<Step, 8>(plan, args);
}

}  // namespace dyad::kernels
