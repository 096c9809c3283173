// The fused int_gelu + requantize on AVX-512 (F/BW/VL/DQ): int_gelu_requantize_simd.h.
#include "kernels/common/simd_avx512.h"
#include "kernels/int_gelu/int_gelu_requantize_simd.h"

namespace dyad::kernels {

void int_gelu_requantize__avx512(const IntGeluParams& gelu, const IntGeluVecPlan& gelu_plan,
                                 const RequantizeParams& requant, const RequantizeWidePlan& requant_plan,
                                 const IntGeluRequantizeFloorPlan* floor_plan,
                                 const void* x, void* y, ThreadPool* pool) {
  int_gelu_requantize_simd<Simd>(gelu, gelu_plan, requant, requant_plan, floor_plan, x, y, pool);
}

}  // namespace dyad::kernels
