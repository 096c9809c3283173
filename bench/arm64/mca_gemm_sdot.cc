// Static analysis input for scripts/mca_arm64.sh (not part of any build): the
// SDOT GEMM's full 8-row register tile as a function of its own, so its inner
// loop (one iteration: 4 k quads x 8 rows x 8 columns = 64 SDOT) can be cut out
// of the compiler's assembly and fed to llvm-mca. Compiled exactly like the
// kernel file (aarch64-linux-gnu-g++ -O2 -march=armv8.2-a+dotprod).
#include "kernels/gemm/gemm_sdot_dotprod.cc"

namespace dyad::kernels {

__attribute__((noinline)) void mca_sdot_tile8(const GemmPlan& plan, const uint8_t* a, const void* w, size_t s1,
                                              int32_t* acc) {
  SdotKernel::tile<8>(plan, a, w, true, 0, s1, acc, false);
}

}  // namespace dyad::kernels
