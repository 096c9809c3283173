// NEON residual add (64-bit ARM baseline): 8 elements per step, the AVX2
// instantiation's width (add_simd.h over kernels/common/simd_neon.h).
#include "kernels/common/simd_neon.h"
#include "kernels/add/add_simd.h"

namespace dyad::kernels {

void add__neon(const AddVecPlan& plan, const void* a, const void* b, void* dst, ThreadPool* pool) {
  add_simd<Simd>(plan, a, b, dst, pool);
}

}  // namespace dyad::kernels
