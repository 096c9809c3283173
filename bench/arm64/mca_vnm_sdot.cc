// Static analysis input for scripts/mca_arm64.sh (not part of any build): the
// V:N:M SDOT kernel's full register tile (2 octets = 4 row quads x 4 tokens,
// one group pair per iteration: 4 window loads, 16 TBL, 16 SDOT) as a
// function of its own (see mca_gemm_sdot.cc). Compiled like the kernel file
// (-march=armv8.2-a+dotprod).
#include "kernels/vnm_gemm/vnm_gemm_sdot_dotprod.cc"

namespace dyad::kernels {

__attribute__((noinline)) void mca_vnm_tile44(const uint8_t* win, const uint8_t* const* ctrl, const int8_t* const* vals,
                                              size_t n_gp, int32_t* sums) {
  tile<4, 4>(win, ctrl, vals, n_gp, sums, false);
}

}  // namespace dyad::kernels
