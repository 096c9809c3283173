// AVX-512 int_softmax (F/BW/VL/DQ): 16 int32 lanes (8 for the 64-bit steps).
// The algorithm and its exactness: int_softmax_simd.h, int_softmax_vec.cc.
#include "kernels/common/simd_avx512.h"
#include "kernels/int_softmax/int_softmax_simd.h"

namespace dyad::kernels {

void int_softmax_s32__avx512(const IntSoftmaxParams& p, const IntSoftmaxVecPlan& plan, const int32_t* x,
                             int16_t* y, ThreadPool* pool) {
  int_softmax_simd<Simd>(p, plan, x, y, pool);
}

}  // namespace dyad::kernels
