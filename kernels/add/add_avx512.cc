// AVX-512 (F/BW/VL/DQ) residual add: 16 elements per step (add_simd.h).
#include "kernels/common/simd_avx512.h"
#include "kernels/add/add_simd.h"

namespace dyad::kernels {

void add__avx512(const AddVecPlan& plan, const void* a, const void* b, void* dst, ThreadPool* pool) {
  add_simd<Simd>(plan, a, b, dst, pool);
}

}  // namespace dyad::kernels
