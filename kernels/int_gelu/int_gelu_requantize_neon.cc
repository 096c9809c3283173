// The fused int_gelu + requantize on NEON (64-bit ARM baseline):
// int_gelu_requantize_simd.h over kernels/common/simd_neon.h.
#include "kernels/common/simd_neon.h"
#include "kernels/int_gelu/int_gelu_requantize_simd.h"

namespace dyad::kernels {

void int_gelu_requantize__neon(const IntGeluParams& gelu, const IntGeluVecPlan& gelu_plan,
                               const RequantizeParams& requant, const RequantizeWidePlan& requant_plan,
                                 const IntGeluRequantizeFloorPlan* floor_plan,
                               const void* x, void* y, ThreadPool* pool) {
  int_gelu_requantize_simd<Simd>(gelu, gelu_plan, requant, requant_plan, floor_plan, x, y, pool);
}

}  // namespace dyad::kernels
