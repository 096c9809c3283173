// Integer LayerNorm on NEON (64-bit ARM baseline; int_layernorm.h): the
// vector rows of int_layernorm_simd.h (which has the exactness argument) over
// kernels/common/simd_neon.h, 8 values (two vectors of 4 int64 lanes) per step.
#include "kernels/common/simd_neon.h"
#include "kernels/int_layernorm/int_layernorm_simd.h"

namespace dyad::kernels {

void int_layernorm__neon(const IntLayerNormParams& p, const void* x, int64_t* out, ThreadPool* pool) {
  int_layernorm_simd<Simd>(p, x, out, pool);
}

}  // namespace dyad::kernels
