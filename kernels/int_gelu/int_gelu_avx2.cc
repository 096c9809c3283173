// AVX2 int_gelu: 4 int64 lanes, 8 values per step.
// The algorithm and its exactness: int_gelu_simd.h, int_gelu_vec.cc.
#include "kernels/common/simd_avx2.h"
#include "kernels/int_gelu/int_gelu_simd.h"

namespace dyad::kernels {

void int_gelu__avx2(const IntGeluParams& p, const IntGeluVecPlan& plan, const void* x, int64_t* y,
                    ThreadPool* pool) {
  int_gelu_simd<Simd>(p, plan, x, y, pool);
}

}  // namespace dyad::kernels
