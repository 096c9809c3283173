// Requantization of any integer dtype to any integer dtype
// (docs/format.md "requantize"):
//   y = clamp(z_y + rne((x - z_x) * m[c] / 2^e[c]), min, max)
// with c the index along the last axis (channels == 1 for one pair).
// Computed in 128 bits, exact for every int64 input, zero point and constant.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "kernels/common/int_elements.h"
#include "kernels/common/requant.h"

namespace dyad::kernels {

class ThreadPool;

inline constexpr int128_t kWideLimit = static_cast<int128_t>(1) << 126;

// rne(d * m / 2^e), exact for |d| <= 2^65, saturated to +-2^126. Any int64
// zero point can then be added without overflow, and when the value saturated
// the sum still lies outside the int64 range, so a final clamp is exact.
inline int128_t dyadic_rne_wide(int128_t d, int32_t m, int e) {
  const int128_t t = d * m;  // |t| <= 2^96
  if (e > 0) return shift_rne_128(t, e);
  if (t == 0) return 0;
  const int k = -e;  // a left shift
  const int128_t magnitude = t > 0 ? t : -t;
  if (k >= 126 || magnitude >= (kWideLimit >> k)) return t > 0 ? kWideLimit : -kWideLimit;
  return t * (static_cast<int128_t>(1) << k);
}

inline int64_t clamp_wide(int128_t v, int64_t lo, int64_t hi) {
  return v < lo ? lo : (v > hi ? hi : static_cast<int64_t>(v));
}

struct RequantizeParams {
  size_t count = 0;     // elements
  size_t channels = 1;  // length of the requant array; count is a multiple of it
  IntType src_type = IntType::kS32;
  IntType dst_type = IntType::kS8;
  int64_t src_zero_point = 0;
  int64_t dst_zero_point = 0;
  int64_t dst_min = -128, dst_max = 127;  // activation clamp within the dst dtype
};

// One output value: the definition every variant computes.
inline int64_t requantize_value(const RequantizeParams& p, int64_t x, Dyadic d) {
  const int128_t r = dyadic_rne_wide(static_cast<int128_t>(x) - p.src_zero_point, d.m, d.e);
  return clamp_wide(r + p.dst_zero_point, p.dst_min, p.dst_max);
}

void requantize__ref(const RequantizeParams& p, const Dyadic* requant, const void* src,
                     void* dst);

// AVX2 variant (requantize_avx2.cc), for int8/uint8 outputs. int8, uint8 and
// int16 inputs, and int32 with zero point 0, with channels == 1 or a multiple
// of 8: the int32 requant of the GEMM epilogue (kernels/common/requant_avx2.h),
// 8 lanes at a time, split over `pool` in blocks of whole channel groups.
// Every other input (int64 -- I-BERT's GELU and LayerNorm outputs --, int32
// with a zero point, any channel count): the exact 64-bit-lane path of
// requantize_wide.h, 4 lanes at a time.
struct RequantizeAvx2Plan;
struct RequantizeAvx2PlanDeleter {
  void operator()(RequantizeAvx2Plan* plan) const;
};
using RequantizeAvx2PlanPtr = std::unique_ptr<RequantizeAvx2Plan, RequantizeAvx2PlanDeleter>;

// Null when the variant does not apply to p.
RequantizeAvx2PlanPtr requantize_avx2_plan(const RequantizeParams& p, const Dyadic* requant);
void requantize__avx2(const RequantizeParams& p, const RequantizeAvx2Plan& plan, const void* src,
                      void* dst, ThreadPool* pool);

// AVX-512 variant (requantize_avx512.cc, F/BW/VL/DQ), int8/uint8 outputs:
// the AVX2 variant's two paths on zmm. Inputs the int32 epilogue takes (see
// above) go through it 16 lanes at a time (kernels/common/requant_avx512.h);
// every other input through the 64-bit-lane path, 8 lanes at a time.
// Null when requantize_wide_plan refuses p.
struct RequantizeAvx512Plan;
struct RequantizeAvx512PlanDeleter {
  void operator()(RequantizeAvx512Plan* plan) const;
};
using RequantizeAvx512PlanPtr = std::unique_ptr<RequantizeAvx512Plan, RequantizeAvx512PlanDeleter>;
RequantizeAvx512PlanPtr requantize_avx512_plan(const RequantizeParams& p, const Dyadic* requant);
void requantize__avx512(const RequantizeParams& p, const RequantizeAvx512Plan& plan, const void* src,
                        void* dst, ThreadPool* pool);

// NEON variant (requantize_neon.cc, 64-bit ARM), int8/uint8 outputs: the
// AVX2 variant's two paths. The int32 epilogue path below
// (kernels/common/requant_neon.h), 8 lanes at a time; every other input the
// 64-bit-lane path (requantize_wide_simd.h over kernels/common/simd_neon.h,
// 4 lanes at a time). Null when requantize_wide_plan refuses p.
struct RequantizeNeonPlan;
struct RequantizeNeonPlanDeleter {
  void operator()(RequantizeNeonPlan* plan) const;
};
using RequantizeNeonPlanPtr = std::unique_ptr<RequantizeNeonPlan, RequantizeNeonPlanDeleter>;
RequantizeNeonPlanPtr requantize_neon_plan(const RequantizeParams& p, const Dyadic* requant);
void requantize__neon(const RequantizeParams& p, const RequantizeNeonPlan& plan, const void* src, void* dst,
                      ThreadPool* pool);

// True when the int32 epilogue path computes p exactly: int8/uint8 outputs
// with clamp bounds within 383 of z_y (|z_y| <= 1024), inputs that fit int32
// after the zero point (int8, uint8, int16; int32 with z_x = 0), and 1 or a
// multiple of 8 channels.
bool requantize_int32_path_applies(const RequantizeParams& p);

}  // namespace dyad::kernels
