// The vector int_gelu (int_gelu_vec.h) over an ISA's `Simd` operations;
// include after kernels/common/simd_avx2.h, simd_avx512.h or simd_neon.h.
// int_gelu_vec.cc has the exactness argument.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/common/isa_namespace.h"
#include "kernels/common/thread_pool.h"
#include "kernels/int_gelu/int_gelu_vec.h"

namespace dyad::kernels {
inline namespace DYAD_ISA_NAMESPACE {

// The erf constants of channels [c, c + kLanes64), loaded once where many
// rows share them (the GEMM epilogue's column blocks).
template <class S>
struct IntGeluErfConstants {
  typename S::V limit, b, c_int;
  IntGeluErfConstants(const IntGeluVecPlan& k, size_t c)
      : limit(S::load(&k.limit[c])), b(S::load(&k.b_int[c])), c_int(S::load(&k.c_int[c])) {}
};

// erf_i of kLanes64 values of x (int64 lanes, |x| <= 2^31).
template <class S>
DYAD_SIMD_INLINE typename S::V int_gelu_erf_lanes(typename S::V x, const IntGeluErfConstants<S>& k) {
  using V = typename S::V;
  const V xc = S::max64(S::min64(x, k.limit), k.b);  // b_int = -limit
  const V sc = S::sign64(xc);
  const V t = S::add64(S::sub64(S::xor_(xc, sc), sc), k.b);  // min(|x|, -b_int) + b_int
  const V poly = S::add64(S::mul_s32(t, t), k.c_int);
  const V sx = S::sign64(x);
  return S::srai64_14(S::sub64(S::xor_(poly, sx), sx));
}

// The same for channels [c, c + kLanes64), constants loaded here.
template <class S>
DYAD_SIMD_INLINE typename S::V int_gelu_erf_lanes(typename S::V x, const IntGeluVecPlan& k, size_t c) {
  return int_gelu_erf_lanes<S>(x, IntGeluErfConstants<S>(k, c));
}

// erf_i of the kLanes32 int32 values of one vector, for plans with erf32
// (int_gelu_vec.h, the exactness argument in int_gelu_vec.cc): the steps of
// int_gelu_erf_lanes on twice the lanes, for channels [c, c + kLanes32).
// Both forms give the kLanes64-lane halves a GELU needs next (widen_lo /
// widen_hi of the 32-bit one).
template <class S>
struct IntGeluErf32 {
  using V = typename S::V;
  V limit, b, c_int;
  IntGeluErf32(const IntGeluVecPlan& k, size_t c)
      : limit(S::load(&k.limit32[c])), b(S::load(&k.b_int32[c])), c_int(S::load(&k.c_int32[c])) {}
  DYAD_SIMD_INLINE void halves(V x, V* lo, V* hi) const {
    const V sign_shift = S::set1_32(31);
    const V xc = S::max32(S::min32(x, limit), b);
    const V sc = S::srav32(xc, sign_shift);
    const V t = S::add32(S::sub32(S::xor_(xc, sc), sc), b);  // min(|x|, -b_int) + b_int
    const V poly = S::add32(S::mullo32(t, t), c_int);
    const V sx = S::srav32(x, sign_shift);
    const V erf = S::srav32(S::sub32(S::xor_(poly, sx), sx), S::set1_32(14));
    *lo = S::widen_lo(erf);
    *hi = S::widen_hi(erf);
  }
};

// The 64-bit form over the same vector: two halves of kLanes64 lanes.
template <class S>
struct IntGeluErf64 {
  using V = typename S::V;
  IntGeluErfConstants<S> lo_half, hi_half;
  IntGeluErf64(const IntGeluVecPlan& k, size_t c) : lo_half(k, c), hi_half(k, c + S::kLanes64) {}
  DYAD_SIMD_INLINE void halves(V x, V* lo, V* hi) const {
    *lo = int_gelu_erf_lanes<S>(S::widen_lo(x), lo_half);
    *hi = int_gelu_erf_lanes<S>(S::widen_hi(x), hi_half);
  }
};

// GELU of kLanes64 values of x (int64 lanes, |x| <= 2^31), channels [c, c + kLanes64).
template <class S>
DYAD_SIMD_INLINE typename S::V int_gelu_lanes(typename S::V x, const IntGeluVecPlan& k, size_t c) {
  return S::mullo64(x, S::add64(int_gelu_erf_lanes<S>(x, k, c), S::load(&k.shift_int[c])));
}

template <class S, class T>
void int_gelu_range(const IntGeluParams& p, const IntGeluVecPlan& k, const T* x, int64_t* y, size_t begin,
                    size_t end) {
  using V = typename S::V;
  constexpr size_t kStep = S::kLanes32;
  const size_t channels = static_cast<size_t>(p.channels);
  size_t c = begin % channels;
  size_t i = begin;
  for (; i + kStep <= end; i += kStep) {
    const V xv = S::load_s32(x + i);
    S::store(y + i, int_gelu_lanes<S>(S::widen_lo(xv), k, c));
    S::store(y + i + S::kLanes64, int_gelu_lanes<S>(S::widen_hi(xv), k, c + S::kLanes64));
    c += kStep;
    c = c < channels ? c : c % channels;
  }
  for (; i < end; ++i) {
    y[i] = int_gelu_element(x[i], p.b_int[c], p.c_int[c], p.shift_int[c]);
    if (++c == channels) c = 0;
  }
}

template <class S>
void int_gelu_simd(const IntGeluParams& p, const IntGeluVecPlan& k, const void* x, int64_t* y, ThreadPool* pool) {
  constexpr size_t kChunk = 16384;  // elements per task, a multiple of every vector width
  const size_t count = static_cast<size_t>(p.rows) * static_cast<size_t>(p.channels);
  const size_t tasks = (count + kChunk - 1) / kChunk;
  with_int_type(p.x_type, [&](auto zero) {
    using T = decltype(zero);
    if constexpr (sizeof(T) < 8) {
      parallel_for(pool, tasks, [&](size_t t) {
        const size_t begin = t * kChunk;
        const size_t end = begin + kChunk < count ? begin + kChunk : count;
        int_gelu_range<S>(p, k, static_cast<const T*>(x), y, begin, end);
      });
    }
  });
}

}  // namespace DYAD_ISA_NAMESPACE
}  // namespace dyad::kernels
