// Average pooling over NHWC windows (docs/format.md "average_pool"):
//   y = floor(sum / count) over the valid (unpadded) positions of each window
// (HAWQ-V3, numerics.md 9). The sum is int64: inputs are at most 32-bit.
#pragma once

#include "kernels/common/pool2d.h"

namespace dyad::kernels {

class ThreadPool;

// src: [batch, in_h, in_w, channels]; dst: [batch, out_h, out_w, channels].
void average_pool__ref(const Pool2dParams& p, const void* src, void* dst, ThreadPool* pool);

// AVX2 variant (average_pool_avx2.cc), same split over threads; exact when
// average_avx2_fits(p.type, p.kernel_h * p.kernel_w) (kernels/common/pool2d.h).
void average_pool__avx2(const Pool2dParams& p, const void* src, void* dst, ThreadPool* pool);
// AVX-512 F/BW variant (average_pool_avx512.cc), exact under the same condition.
void average_pool__avx512(const Pool2dParams& p, const void* src, void* dst, ThreadPool* pool);
// 64-bit ARM (average_pool_neon.cc, built on aarch64 only), the same condition.
void average_pool__neon(const Pool2dParams& p, const void* src, void* dst, ThreadPool* pool);

}  // namespace dyad::kernels
