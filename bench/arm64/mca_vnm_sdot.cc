// Static analysis input for scripts/mca_arm64.sh (not part of any build): the
// V:N:M SDOT kernel's full panel register tile (2 octets = 4 row quads x 4
// tokens, one group pair per iteration: 4 window loads, 16 TBL, 16 SDOT) and
// its GEMV tile (2 octets x 1 token, int8 values: the controls decoded in
// registers every group pair, 4 TBL + 4 SDOT) as functions of their own (see
// mca_gemm_sdot.cc). Compiled like the kernel file (-march=armv8.2-a+dotprod).
#include "kernels/vnm_gemm/vnm_gemm_sdot_dotprod.cc"

namespace dyad::kernels {

__attribute__((noinline)) void mca_vnm_tile44(const uint8_t* win, const uint8_t* const* ctrl, const int8_t* const* vals,
                                              size_t n_gp, int32_t* sums) {
  tile<4, 4>(win, ctrl, vals, n_gp, sums, false);
}

__attribute__((noinline)) void mca_vnm_direct21(const VnmGemmPlan& plan, const VnmArgs& args, const uint8_t* act,
                                                size_t gp_stride, uint8x8_t add_m) {
  direct_tile<8, false, 2, 1>(plan, args, 0, act, 0, gp_stride, add_m);
}

}  // namespace dyad::kernels
