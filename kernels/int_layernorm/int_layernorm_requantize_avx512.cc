// The fused int_layernorm + requantize on AVX-512 F/BW/VL/DQ
// (int_layernorm_requantize.h, int_layernorm_requantize_simd.h).
#include "kernels/common/simd_avx512.h"
#include "kernels/int_layernorm/int_layernorm_requantize_simd.h"

namespace dyad::kernels {

void int_layernorm_requantize__avx512(const IntLayerNormParams& ln, const RequantizeParams& requant,
                                      const RequantizeWidePlan& requant_plan, const void* x, void* y,
                                      ThreadPool* pool) {
  int_layernorm_requantize_simd<Simd>(ln, requant, requant_plan, x, y, pool);
}

}  // namespace dyad::kernels
