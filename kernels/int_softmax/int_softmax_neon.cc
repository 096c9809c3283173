// NEON int_softmax (64-bit ARM baseline): 8 int32 lanes (4 for the 64-bit
// steps) in pairs of 128-bit registers, kernels/common/simd_neon.h.
// The algorithm and its exactness: int_softmax_simd.h, int_softmax_vec.cc.
#include "kernels/common/simd_neon.h"
#include "kernels/int_softmax/int_softmax_simd.h"

namespace dyad::kernels {

void int_softmax_s32__neon(const IntSoftmaxParams& p, const IntSoftmaxVecPlan& plan, const int32_t* x,
                           int16_t* y, ThreadPool* pool) {
  int_softmax_simd<Simd>(p, plan, x, y, pool);
}

}  // namespace dyad::kernels
