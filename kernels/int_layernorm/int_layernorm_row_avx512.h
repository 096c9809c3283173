// One row of the AVX-512 int_layernorm (F/BW only), shared by the LayerNorm
// kernel (int_layernorm_avx512vnni.cc, which has the exactness argument) and
// the fused LayerNorm + requantize (int_layernorm_requantize_avx512.cc). In
// the ISA-named inline namespace: each file compiles its own copy for its
// flags.
#pragma once

#include <immintrin.h>

#include <cstring>
#include <type_traits>

#include "kernels/common/isa_namespace.h"
#include "kernels/common/requant.h"
#include "kernels/int_layernorm/int_layernorm.h"
#include "kernels/int_layernorm/isqrt.h"

namespace dyad::kernels {
inline namespace DYAD_ISA_NAMESPACE {

// 8 values of a row as int64 lanes.
template <typename T>
inline __m512i load8(const T* x) {
  if constexpr (sizeof(T) == 4) {
    return _mm512_cvtepi32_epi64(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(x)));
  } else if constexpr (sizeof(T) == 2) {
    return _mm512_cvtepi16_epi64(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x)));
  } else {
    int64_t bytes;
    std::memcpy(&bytes, x, 8);
    const __m128i v = _mm_cvtsi64_si128(bytes);
    if constexpr (std::is_signed_v<T>) return _mm512_cvtepi8_epi64(v);
    return _mm512_cvtepu8_epi64(v);
  }
}

inline bool biases_small(const IntLayerNormParams& p) {
  const int64_t limit = int64_t{1} << 62;
  for (int64_t c = 0; c < p.channels; ++c)
    if (p.bias_int[c] > limit || p.bias_int[c] < -limit) return false;
  return true;
}

// Returns false (writing nothing) when the row needs the reference.
template <typename T>
inline bool row_fast(const IntLayerNormParams& p, const T* x, int64_t* out) {
  const int64_t n = p.channels, full = n / 8 * 8;
  const __m512i zp = _mm512_set1_epi64(p.zero_point);
  __m512i sum_v = _mm512_setzero_si512();
  __m512i lo_v = _mm512_set1_epi64(INT64_MAX), hi_v = _mm512_set1_epi64(INT64_MIN);
  for (int64_t c = 0; c < full; c += 8) {
    const __m512i v = _mm512_sub_epi64(load8(x + c), zp);
    sum_v = _mm512_add_epi64(sum_v, v);
    lo_v = _mm512_min_epi64(lo_v, v);
    hi_v = _mm512_max_epi64(hi_v, v);
  }
  int64_t sum = _mm512_reduce_add_epi64(sum_v);  // |sum| <= 2^62 (reference bound)
  int64_t lo = _mm512_reduce_min_epi64(lo_v), hi = _mm512_reduce_max_epi64(hi_v);
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

  const __m512i mean_v = _mm512_set1_epi64(mean + p.zero_point);  // y = x - (zp + mean)
  const __m128i shift = _mm_cvtsi32_si128(p.shift);
  __m512i var_v = _mm512_setzero_si512();
  for (int64_t c = 0; c < full; c += 8) {
    const __m512i ys = _mm512_sra_epi64(_mm512_sub_epi64(load8(x + c), mean_v), shift);
    var_v = _mm512_add_epi64(var_v, _mm512_mul_epi32(ys, ys));
  }
  uint64_t var = static_cast<uint64_t>(_mm512_reduce_add_epi64(var_v));  // < 2^64: exact mod 2^64
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
  const __m512i factor_v = _mm512_set1_epi64(factor);
  for (int64_t c = 0; c < full; c += 8) {
    const __m512i y = _mm512_sub_epi64(load8(x + c), mean_v);
    const __m512i prod = _mm512_srai_epi64(_mm512_mul_epi32(y, factor_v), 1);
    const __m512i bias = _mm512_loadu_si512(p.bias_int + c);
    _mm512_storeu_si512(out + c, _mm512_add_epi64(prod, bias));
  }
  for (int64_t c = full; c < n; ++c) {
    const int64_t y = static_cast<int64_t>(x[c]) - p.zero_point - mean;
    out[c] = ((y * factor) >> 1) + p.bias_int[c];
  }
  return true;
}

}  // namespace DYAD_ISA_NAMESPACE
}  // namespace dyad::kernels
