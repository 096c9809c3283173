// NEON int_gelu (64-bit ARM baseline): 4 int64 lanes in two 128-bit
// registers, 8 values per step (kernels/common/simd_neon.h).
// The algorithm and its exactness: int_gelu_simd.h, int_gelu_vec.cc.
#include "kernels/common/simd_neon.h"
#include "kernels/int_gelu/int_gelu_simd.h"

namespace dyad::kernels {

void int_gelu__neon(const IntGeluParams& p, const IntGeluVecPlan& plan, const void* x, int64_t* y,
                    ThreadPool* pool) {
  int_gelu_simd<Simd>(p, plan, x, y, pool);
}

}  // namespace dyad::kernels
