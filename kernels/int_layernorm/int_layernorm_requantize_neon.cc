// The fused int_layernorm + requantize on NEON (64-bit ARM baseline;
// int_layernorm_requantize.h, int_layernorm_requantize_simd.h).
#include "kernels/common/simd_neon.h"
#include "kernels/int_layernorm/int_layernorm_requantize_simd.h"

namespace dyad::kernels {

void int_layernorm_requantize__neon(const IntLayerNormParams& ln, const RequantizeParams& requant,
                                    const RequantizeWidePlan& requant_plan, const void* x, void* y,
                                    ThreadPool* pool) {
  int_layernorm_requantize_simd<Simd>(ln, requant, requant_plan, x, y, pool);
}

}  // namespace dyad::kernels
