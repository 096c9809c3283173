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

void int_gelu_requantize_rows__neon(const IntGeluRequantizeRows& args, const int32_t* x, size_t x_stride,
                                    size_t rows, size_t c0, size_t count, uint8_t* y, size_t y_stride) {
  int_gelu_requantize_rows_simd<Simd>(args, x, x_stride, rows, c0, count, y, y_stride);
}

}  // namespace dyad::kernels
