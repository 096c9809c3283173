// The fused int_gelu + requantize (int_gelu_requantize.h) over an ISA's
// `Simd` operations; include after kernels/common/simd_avx2.h, simd_avx512.h or simd_neon.h.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/common/isa_namespace.h"
#include "kernels/common/thread_pool.h"
#include "kernels/int_gelu/int_gelu_requantize.h"
#include "kernels/int_gelu/int_gelu_simd.h"
#include "kernels/requantize/requantize_wide_simd.h"

namespace dyad::kernels {
inline namespace DYAD_ISA_NAMESPACE {

template <class S, class T>
void int_gelu_requantize_range(const IntGeluParams& g, const IntGeluVecPlan& gk, const RequantizeParams& r,
                               const RequantizeWidePlan& w, const T* x, uint8_t* y, size_t begin, size_t end) {
  using V = typename S::V;
  constexpr size_t kStep = S::kLanes32;
  const size_t gelu_channels = static_cast<size_t>(g.channels);
  const bool is_signed = r.dst_type == IntType::kS8;
  const V zx = S::set1_64(0);
  const V zy = S::set1_32(static_cast<int32_t>(r.dst_zero_point));
  const V lo = S::set1_32(static_cast<int32_t>(r.dst_min));
  const V hi = S::set1_32(static_cast<int32_t>(r.dst_max));
  size_t cg = begin % gelu_channels, cr = begin % r.channels;
  size_t i = begin;
  for (; i + kStep <= end; i += kStep) {
    const V xv = S::load_s32(x + i);
    const V g0 = int_gelu_lanes<S>(S::widen_lo(xv), gk, cg);
    const V g1 = int_gelu_lanes<S>(S::widen_hi(xv), gk, cg + S::kLanes64);
    const V q0 = requantize_wide_lanes<S>(g0, w, cr, zx);
    const V q1 = requantize_wide_lanes<S>(g1, w, cr + S::kLanes64, zx);
    S::store_bytes(y + i, S::max32(S::min32(S::add32(S::narrow(q0, q1), zy), hi), lo), is_signed);
    cg += kStep;
    cg = cg < gelu_channels ? cg : cg % gelu_channels;
    cr += kStep;
    cr = cr < r.channels ? cr : cr % r.channels;
  }
  for (; i < end; ++i) {
    const int64_t v = int_gelu_element(x[i], g.b_int[cg], g.c_int[cg], g.shift_int[cg]);
    y[i] = requantize_wide_element(r, v, w.requant[cr]);
    if (++cg == gelu_channels) cg = 0;
    if (++cr == r.channels) cr = 0;
  }
}

// kLanes64 values of x (int64 lanes) -> y' = x * -(erf_i + shift_int),
// channels [c, c + kLanes64) (int_gelu_requantize_floor.cc).
template <class S>
DYAD_SIMD_INLINE typename S::V int_gelu_negated_lanes(typename S::V x, const IntGeluVecPlan& gk,
                                                      const IntGeluRequantizeFloorPlan& k, size_t c) {
  return S::mul_s32(x, S::sub64(S::load(&k.neg_shift[c]), int_gelu_erf_lanes<S>(x, gk, c)));
}

template <class S, class T>
void int_gelu_requantize_floor_range(const IntGeluParams& g, const IntGeluVecPlan& gk, const IntGeluRequantizeFloorPlan& k,
                                     const RequantizeParams& r, const RequantizeWidePlan& w, const T* x,
                                     uint8_t* y, size_t begin, size_t end) {
  using V = typename S::V;
  constexpr size_t kStep = S::kLanes32;
  const size_t channels = static_cast<size_t>(g.channels);
  const bool is_signed = r.dst_type == IntType::kS8;
  const V zy = S::set1_32(static_cast<int32_t>(r.dst_zero_point));
  const V lo = S::set1_32(static_cast<int32_t>(r.dst_min));
  const V hi = S::set1_32(static_cast<int32_t>(r.dst_max));
  size_t c = begin % channels;
  size_t i = begin;
  for (; i + kStep <= end; i += kStep) {
    const V xv = S::load_s32(x + i);
    const V q0 = floor_requantize_lanes<S>(int_gelu_negated_lanes<S>(S::widen_lo(xv), gk, k, c), k.floor, c);
    const V q1 = floor_requantize_lanes<S>(int_gelu_negated_lanes<S>(S::widen_hi(xv), gk, k, c + S::kLanes64),
                                           k.floor, c + S::kLanes64);
    S::store_bytes(y + i, S::max32(S::min32(S::add32(S::narrow(q0, q1), zy), hi), lo), is_signed);
    c += kStep;
    c = c < channels ? c : c % channels;
  }
  for (; i < end; ++i) {
    const size_t cr = r.channels == 1 ? 0 : c;
    const int64_t v = int_gelu_element(x[i], g.b_int[c], g.c_int[c], g.shift_int[c]);
    y[i] = requantize_wide_element(r, v, w.requant[cr]);
    if (++c == channels) c = 0;
  }
}

template <class S>
void int_gelu_requantize_simd(const IntGeluParams& g, const IntGeluVecPlan& gk, const RequantizeParams& r,
                              const RequantizeWidePlan& w, const IntGeluRequantizeFloorPlan* floor_plan,
                              const void* x, void* y, ThreadPool* pool) {
  constexpr size_t kChunk = 16384;  // elements per task, a multiple of every vector width
  const size_t count = r.count;
  const size_t tasks = (count + kChunk - 1) / kChunk;
  with_int_type(g.x_type, [&](auto zero) {
    using T = decltype(zero);
    if constexpr (sizeof(T) < 8) {
      parallel_for(pool, tasks, [&](size_t t) {
        const size_t begin = t * kChunk;
        const size_t end = begin + kChunk < count ? begin + kChunk : count;
        if (floor_plan != nullptr)
          int_gelu_requantize_floor_range<S>(g, gk, *floor_plan, r, w, static_cast<const T*>(x),
                                             static_cast<uint8_t*>(y), begin, end);
        else
          int_gelu_requantize_range<S>(g, gk, r, w, static_cast<const T*>(x), static_cast<uint8_t*>(y), begin,
                                       end);
      });
    }
  });
}

}  // namespace DYAD_ISA_NAMESPACE
}  // namespace dyad::kernels
