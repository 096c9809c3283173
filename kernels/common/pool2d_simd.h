// The average pools' vector pieces over an ISA's `Simd` operations (include
// after kernels/common/simd_neon.h; the x86 pools have theirs in
// pool2d_avx2.h and pool2d_avx512.h): kLanes32 channels of int8, uint8 or
// int16 as int32 lanes, the exact floor division of kernels/common/pool2d.h
// (exact_divisor), and the narrowing store.
#pragma once

#include <limits>
#include <type_traits>

#include "kernels/common/isa_namespace.h"
#include "kernels/common/pool2d.h"

namespace dyad::kernels {
inline namespace DYAD_ISA_NAMESPACE {

// floor(sum / d) for kLanes32 int32 sums of `d` values of T each (d < 2^31
// and (max(T) - min(T)) * d < 2^31, average_avx2_fits): n = sum - d * min(T)
// lies in [0, 2^31), so exact_divisor applies (n * mult < 2^63, one 32 x
// 32-bit product per lane), and floor(sum / d) = floor(n / d) + min(T).
template <class S, typename T>
DYAD_SIMD_INLINE typename S::V pool_floor_div(typename S::V sum, int64_t d, ExactDivisor div) {
  using V = typename S::V;
  constexpr int32_t kMin = std::numeric_limits<T>::min();
  const V n = S::sub32(sum, S::set1_32(static_cast<int32_t>(d * kMin)));
  const V m = S::set1_64(div.mult);
  const V s = S::set1_64(div.shift);
  const V q_even = S::srlv64(S::mul_u32(n, m), s);
  const V q_odd = S::srlv64(S::mul_u32(S::template srli64<32>(n), m), s);
  return S::add32(S::interleave32(q_even, q_odd), S::set1_32(kMin));
}

// Stores kLanes32 int32 lanes that lie in T's range as T.
template <class S, typename T>
void pool_store(T* p, typename S::V v) {
  if constexpr (std::is_same_v<T, int16_t>)
    S::store_s16(p, v);
  else
    S::store_bytes(reinterpret_cast<uint8_t*>(p), v, std::is_signed_v<T>);
}

}  // namespace DYAD_ISA_NAMESPACE
}  // namespace dyad::kernels
