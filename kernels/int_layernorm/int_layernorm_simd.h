// The vector int_layernorm (int_layernorm.h; numerics.md 6.2) over an ISA's
// `Simd` operations; include after kernels/common/simd_avx512.h or
// simd_neon.h. One row: one pass for the sum and the extremes of v = x - zp
// (int64 lanes), the mean (scalar, int_layernorm_mean), then, when the row's
// bounds allow it, one pass for var = sum ((v - mean) >> shift)^2 and one for
// the output; any other row is the reference's int_layernorm_row.
//
// Exactness of the vector path: with M = max |v - mean| <= 2^31 - 1 every
// y = v - mean and ys = y >> shift (|ys| <= |y|) fits int32, so mul_s32
// squares it exactly; n * M^2 < 2^64 bounds the uint64 lane sums and their
// total, so var is the reference's 128-bit sum. isqrt, the shift and factor
// are the reference's scalar code. factor < 2^31 fits a signed 32-bit lane,
// so y * factor is exact (|.| < 2^62), the arithmetic shift by 1 is the
// floor, and with |bias_int| <= 2^62 the sum stays below 2^63: the
// reference's add_saturate never acts. The sum of v is formed mod 2^64 and
// is the reference's int64 sum (|sum| <= 2^62).
#pragma once

#include <algorithm>
#include <cstring>

#include "kernels/common/isa_namespace.h"
#include "kernels/common/requant.h"
#include "kernels/common/thread_pool.h"
#include "kernels/int_layernorm/int_layernorm.h"
#include "kernels/int_layernorm/isqrt.h"

namespace dyad::kernels {
inline namespace DYAD_ISA_NAMESPACE {

inline bool int_layernorm_biases_small(const IntLayerNormParams& p) {
  const int64_t limit = int64_t{1} << 62;
  for (int64_t c = 0; c < p.channels; ++c)
    if (p.bias_int[c] > limit || p.bias_int[c] < -limit) return false;
  return true;
}

// One row of x (type T) into out; returns false (writing nothing) when the
// row needs the reference. kLanes32 values per step, as two int64 vectors.
template <class S, typename T>
bool int_layernorm_row_simd(const IntLayerNormParams& p, const T* x, int64_t* out) {
  using V = typename S::V;
  constexpr int64_t kStep = S::kLanes32;
  const int64_t n = p.channels, full = n / kStep * kStep;
  const V zp = S::set1_64(p.zero_point);
  V sum_v = S::zero();
  V lo_v = S::set1_64(INT64_MAX), hi_v = S::set1_64(INT64_MIN);
  for (int64_t c = 0; c < full; c += kStep) {
    const V xv = S::load_s32(x + c);
    for (const V v : {S::sub64(S::widen_lo(xv), zp), S::sub64(S::widen_hi(xv), zp)}) {
      sum_v = S::add64(sum_v, v);
      lo_v = S::min64(lo_v, v);
      hi_v = S::max64(hi_v, v);
    }
  }
  int64_t sum = S::hsum64(sum_v);  // |sum| <= 2^62 (reference bound)
  int64_t lo = S::hmin64(lo_v), hi = S::hmax64(hi_v);
  for (int64_t c = full; c < n; ++c) {
    const int64_t v = static_cast<int64_t>(x[c]) - p.zero_point;
    sum += v;
    lo = v < lo ? v : lo;
    hi = v > hi ? v : hi;
  }
  const int64_t mean = int_layernorm_mean(sum, n);
  const int64_t max_y = hi - mean > mean - lo ? hi - mean : mean - lo;
  if (max_y > INT32_MAX) return false;
  if (static_cast<uint128_t>(n) * static_cast<uint128_t>(max_y) * static_cast<uint128_t>(max_y) > UINT64_MAX)
    return false;

  const V mean_v = S::set1_64(mean + p.zero_point);  // y = x - (zp + mean)
  V var_v = S::zero();
  for (int64_t c = 0; c < full; c += kStep) {
    const V xv = S::load_s32(x + c);
    for (const V w : {S::widen_lo(xv), S::widen_hi(xv)}) {
      const V ys = S::sra64(S::sub64(w, mean_v), p.shift);
      var_v = S::add64(var_v, S::mul_s32(ys, ys));
    }
  }
  uint64_t var = static_cast<uint64_t>(S::hsum64(var_v));  // < 2^64: exact mod 2^64
  for (int64_t c = full; c < n; ++c) {
    const int64_t ys = (static_cast<int64_t>(x[c]) - p.zero_point - mean) >> p.shift;
    var += static_cast<uint64_t>(ys * ys);
  }
  const uint128_t std_int = static_cast<uint128_t>(isqrt_u64(var)) << p.shift;
  if (std_int == 0) {
    std::memcpy(out, p.bias_int, size_t(n) * sizeof(int64_t));
    return true;
  }
  const int64_t factor = static_cast<int64_t>((static_cast<uint128_t>(1) << 31) / std_int);
  if (factor > INT32_MAX) return false;  // std_int == 1
  const V factor_v = S::set1_64(factor);
  for (int64_t c = 0; c < full; c += kStep) {
    const V xv = S::load_s32(x + c);
    const V y0 = S::sub64(S::widen_lo(xv), mean_v), y1 = S::sub64(S::widen_hi(xv), mean_v);
    S::store(out + c, S::add64(S::sra64(S::mul_s32(y0, factor_v), 1), S::load(p.bias_int + c)));
    S::store(out + c + S::kLanes64,
             S::add64(S::sra64(S::mul_s32(y1, factor_v), 1), S::load(p.bias_int + c + S::kLanes64)));
  }
  for (int64_t c = full; c < n; ++c) {
    const int64_t y = static_cast<int64_t>(x[c]) - p.zero_point - mean;
    out[c] = ((y * factor) >> 1) + p.bias_int[c];
  }
  return true;
}

// The whole tensor: rows split over `pool` (may be null) in contiguous
// chunks, about 4 per thread; each row is computed by one task.
template <class S>
void int_layernorm_simd(const IntLayerNormParams& p, const void* x, int64_t* out, ThreadPool* pool) {
  if (p.rows <= 0) return;
  const bool small_bias = int_layernorm_biases_small(p);
  with_int_type(p.x_type, [&](auto zero) {
    using T = decltype(zero);
    if constexpr (sizeof(T) <= 4) {  // int64 is rejected by int_layernorm_params_valid
      const T* xt = static_cast<const T*>(x);
      const int64_t threads = pool ? pool->num_threads() : 1;
      const int64_t chunks = std::min<int64_t>(p.rows, threads == 1 ? 1 : threads * 4);
      parallel_for(pool, size_t(chunks), [&](size_t ch) {
        const int64_t first = p.rows * int64_t(ch) / chunks, last = p.rows * (int64_t(ch) + 1) / chunks;
        for (int64_t r = first; r < last; ++r)
          if (!small_bias || !int_layernorm_row_simd<S>(p, xt + r * p.channels, out + r * p.channels))
            int_layernorm_row(p, x, r, out);
      });
    }
  });
}

}  // namespace DYAD_ISA_NAMESPACE
}  // namespace dyad::kernels
