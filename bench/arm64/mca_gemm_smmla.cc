// Static analysis input for scripts/mca_arm64.sh (not part of any build): the
// SMMLA GEMM's full 8-row register tile as a function of its own (see
// mca_gemm_sdot.cc). Compiled like the kernel file (-march=armv8.2-a+dotprod+i8mm).
#include "kernels/gemm/gemm_smmla_i8mm.cc"

namespace dyad::kernels {

__attribute__((noinline)) void mca_smmla_tile8(const GemmPlan& plan, const uint8_t* a, const void* w, size_t s1,
                                               int32_t* acc) {
  SmmlaKernel::tile<8>(plan, a, w, true, 0, s1, acc, false);
}

}  // namespace dyad::kernels
