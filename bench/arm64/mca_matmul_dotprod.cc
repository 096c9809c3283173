// Static analysis input for scripts/mca_arm64.sh (not part of any build): the
// ARM matmul's full register tile (8 byte planes x 8 columns: 8 rows of 8-bit
// a, or 4 rows of int16 a as hi/lo planes; per 16 k 8 plane loads, 8 panel
// loads, 64 SDOT) as a function of its own (see mca_gemm_sdot.cc). Compiled
// like the kernel file (-march=armv8.2-a+dotprod).
#include "kernels/matmul/matmul_dotprod.cc"

namespace dyad::kernels {

__attribute__((noinline)) void mca_matmul_sdot_tile8(const int8_t* a, int64_t kp, const int8_t* panel, int32_t* acc) {
  tile<8>(a, kp, panel, acc);
}

}  // namespace dyad::kernels
