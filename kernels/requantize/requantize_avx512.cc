// AVX-512 requantize (F/BW/VL/DQ): the 64-bit-lane path of requantize_wide.h
// on 8 lanes, 16 values per step.
#include "kernels/common/simd_avx512.h"
#include "kernels/requantize/requantize_wide_simd.h"

namespace dyad::kernels {

void requantize__avx512(const RequantizeParams& p, const RequantizeWidePlan& plan, const void* src,
                        void* dst, ThreadPool* pool) {
  requantize_wide<Simd>(p, plan, src, dst, pool);
}

}  // namespace dyad::kernels
