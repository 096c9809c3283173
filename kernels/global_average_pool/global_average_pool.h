// Global average pooling (docs/format.md "global_average_pool"):
//   y[n, c] = floor(sum_{h,w} x[n, h, w, c] / (H * W)).
// The sum is int64: inputs are at most 32-bit and H * W < 2^31.
#pragma once

#include <cstdint>

#include "kernels/common/int_elements.h"

namespace dyad::kernels {

struct GlobalAveragePoolParams {
  int64_t batch = 1;
  int64_t pixels = 1;  // H * W
  int64_t channels = 1;
  IntType type = IntType::kS8;  // of both input and output
};

// src: [batch, pixels, channels]; dst: [batch, channels].
void global_average_pool__ref(const GlobalAveragePoolParams& p, const void* src, void* dst);

// AVX2 variant (global_average_pool_avx2.cc); exact when
// average_avx2_fits(p.type, p.pixels) (kernels/common/pool2d.h).
void global_average_pool__avx2(const GlobalAveragePoolParams& p, const void* src, void* dst);
// AVX-512 F/BW variant (global_average_pool_avx512.cc), exact under the same condition.
void global_average_pool__avx512(const GlobalAveragePoolParams& p, const void* src, void* dst);
// 64-bit ARM (global_average_pool_neon.cc, built on aarch64 only), the same condition.
void global_average_pool__neon(const GlobalAveragePoolParams& p, const void* src, void* dst);

}  // namespace dyad::kernels
