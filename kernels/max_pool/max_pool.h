// Max pooling over NHWC windows (docs/format.md "max_pool"): the integers pass
// through unchanged; padded positions are ignored.
#pragma once

#include "kernels/common/pool2d.h"

namespace dyad::kernels {

class ThreadPool;

// src: [batch, in_h, in_w, channels]; dst: [batch, out_h, out_w, channels].
void max_pool__ref(const Pool2dParams& p, const void* src, void* dst, ThreadPool* pool);

// AVX2 variant (max_pool_avx2.cc), same split over threads: every container
// but int64. The caller checks that the CPU has AVX2.
inline bool max_pool_avx2_supports(const Pool2dParams& p) { return p.type != IntType::kS64; }
void max_pool__avx2(const Pool2dParams& p, const void* src, void* dst, ThreadPool* pool);
// AVX-512 F/BW variant (max_pool_avx512.cc): the same containers.
void max_pool__avx512(const Pool2dParams& p, const void* src, void* dst, ThreadPool* pool);
// 64-bit ARM (max_pool_neon.cc, built on aarch64 only): the same containers.
void max_pool__neon(const Pool2dParams& p, const void* src, void* dst, ThreadPool* pool);

}  // namespace dyad::kernels
