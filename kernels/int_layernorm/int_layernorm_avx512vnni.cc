// Integer LayerNorm on AVX-512 (F/BW only; int_layernorm.h): the vector rows
// of int_layernorm_simd.h (which has the exactness argument) over
// kernels/common/simd_avx512.h, 16 values (two vectors of 8 int64 lanes) per
// step.
#include "kernels/common/simd_avx512.h"
#include "kernels/int_layernorm/int_layernorm_simd.h"

namespace dyad::kernels {

void int_layernorm__avx512vnni(const IntLayerNormParams& p, const void* x, int64_t* out, ThreadPool* pool) {
  int_layernorm_simd<Simd>(p, x, out, pool);
}

}  // namespace dyad::kernels
