// The fused int_gelu + requantize (int_gelu_requantize.h) over an ISA's
// `Simd` operations; include after kernels/common/simd_avx2.h, simd_avx512.h or simd_neon.h.
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "kernels/common/isa_namespace.h"
#include "kernels/common/thread_pool.h"
#include "kernels/int_gelu/int_gelu_requantize.h"
#include "kernels/int_gelu/int_gelu_simd.h"
#include "kernels/requantize/requantize_wide_simd.h"

namespace dyad::kernels {
inline namespace DYAD_ISA_NAMESPACE {

// The n elements x[0, n) -> y[0, n), the first of channel c (< g.channels):
// a whole tensor's chunk, or one row of a GEMM's output block (the fused
// epilogue of int_gelu_requantize_rows__ISA).
template <class S, class T>
void int_gelu_requantize_range(const IntGeluParams& g, const IntGeluVecPlan& gk, const RequantizeParams& r,
                               const RequantizeWidePlan& w, const T* x, uint8_t* y, size_t n, size_t c) {
  using V = typename S::V;
  constexpr size_t kStep = S::kLanes32;
  const size_t gelu_channels = static_cast<size_t>(g.channels);
  const bool is_signed = r.dst_type == IntType::kS8;
  const V zx = S::set1_64(0);
  const V zy = S::set1_32(static_cast<int32_t>(r.dst_zero_point));
  const V lo = S::set1_32(static_cast<int32_t>(r.dst_min));
  const V hi = S::set1_32(static_cast<int32_t>(r.dst_max));
  size_t cg = c, cr = r.channels == 1 ? 0 : c;
  size_t i = 0;
  for (; i + kStep <= n; i += kStep) {
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
  for (; i < n; ++i) {
    const int64_t v = int_gelu_element(x[i], g.b_int[cg], g.c_int[cg], g.shift_int[cg]);
    y[i] = requantize_wide_element(r, v, w.requant[cr]);
    if (++cg == gelu_channels) cg = 0;
    if (++cr == r.channels) cr = 0;
  }
}

// The floor path over one vector of kLanes32 values (channels [c, c +
// kLanes32)): erf_i by `Erf` (IntGeluErf32 or IntGeluErf64), then per
// 64-bit half y' = x * -(erf_i + shift_int) and floor((y' * |m| + 2^(e-1)) /
// 2^e) (int_gelu_requantize_floor.cc), narrowed, before the zero point and
// clamp. Its constants, built once where many rows share them.
template <class S, class Erf>
struct IntGeluFloorVector {
  using V = typename S::V;
  Erf erf;
  V neg_shift_lo, neg_shift_hi;
  FloorLaneConstants<S> floor_lo, floor_hi;
  IntGeluFloorVector(const IntGeluVecPlan& gk, const IntGeluRequantizeFloorPlan& k, size_t c)
      : erf(gk, c),
        neg_shift_lo(S::load(&k.neg_shift[c])),
        neg_shift_hi(S::load(&k.neg_shift[c + S::kLanes64])),
        floor_lo(k.floor, c),
        floor_hi(k.floor, c + S::kLanes64) {}
  DYAD_SIMD_INLINE V apply(V xv) const {
    V erf_lo, erf_hi;
    erf.halves(xv, &erf_lo, &erf_hi);
    const V q0 = floor_requantize_lanes<S>(S::mul_s32(S::widen_lo(xv), S::sub64(neg_shift_lo, erf_lo)), floor_lo);
    const V q1 = floor_requantize_lanes<S>(S::mul_s32(S::widen_hi(xv), S::sub64(neg_shift_hi, erf_hi)), floor_hi);
    return S::narrow(q0, q1);
  }
};

// f(std::type_identity<Erf>): the erf form the plan allows.
template <class S, class F>
DYAD_SIMD_INLINE void with_erf_form(const IntGeluVecPlan& gk, F f) {
  if (gk.erf32)
    f(std::type_identity<IntGeluErf32<S>>{});
  else
    f(std::type_identity<IntGeluErf64<S>>{});
}

template <class S, class T>
void int_gelu_requantize_floor_range(const IntGeluParams& g, const IntGeluVecPlan& gk, const IntGeluRequantizeFloorPlan& k,
                                     const RequantizeParams& r, const RequantizeWidePlan& w, const T* x,
                                     uint8_t* y, size_t n, size_t c) {
  using V = typename S::V;
  constexpr size_t kStep = S::kLanes32;
  const size_t channels = static_cast<size_t>(g.channels);
  const bool is_signed = r.dst_type == IntType::kS8;
  const V zy = S::set1_32(static_cast<int32_t>(r.dst_zero_point));
  const V lo = S::set1_32(static_cast<int32_t>(r.dst_min));
  const V hi = S::set1_32(static_cast<int32_t>(r.dst_max));
  size_t i = 0;
  with_erf_form<S>(gk, [&](auto form) {
    using Erf = typename decltype(form)::type;
    for (; i + kStep <= n; i += kStep) {
      const V q = IntGeluFloorVector<S, Erf>(gk, k, c).apply(S::load_s32(x + i));
      S::store_bytes(y + i, S::max32(S::min32(S::add32(q, zy), hi), lo), is_signed);
      c += kStep;
      c = c < channels ? c : c % channels;
    }
  });
  for (; i < n; ++i) {
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
        const T* xs = static_cast<const T*>(x) + begin;
        uint8_t* ys = static_cast<uint8_t*>(y) + begin;
        const size_t c = begin % static_cast<size_t>(g.channels);
        if (floor_plan != nullptr)
          int_gelu_requantize_floor_range<S>(g, gk, *floor_plan, r, w, xs, ys, end - begin, c);
        else
          int_gelu_requantize_range<S>(g, gk, r, w, xs, ys, end - begin, c);
      });
    }
  });
}

// rows x count int32 values, row t at x + t * x_stride, of the channels
// from c0 on (taken modulo gelu.channels) -> y + t * y_stride.
// On the floor path a block of one vector's channels keeps their constants
// in registers for all its rows (a GEMM panel's block: 16 channels of up to
// 504 tokens on AVX-512; called per row, the setup cost more than the GELU).
template <class S>
void int_gelu_requantize_rows_simd(const IntGeluRequantizeRows& a, const int32_t* x, size_t x_stride, size_t rows,
                                   size_t c0, size_t count, uint8_t* y, size_t y_stride) {
  using V = typename S::V;
  c0 %= static_cast<size_t>(a.gelu->channels);
  if (a.floor_plan != nullptr && count == S::kLanes32) {
    const RequantizeParams& r = *a.requant;
    const bool is_signed = r.dst_type == IntType::kS8;
    const V zy = S::set1_32(static_cast<int32_t>(r.dst_zero_point));
    const V lo = S::set1_32(static_cast<int32_t>(r.dst_min));
    const V hi = S::set1_32(static_cast<int32_t>(r.dst_max));
    with_erf_form<S>(*a.gelu_plan, [&](auto form) {
      const IntGeluFloorVector<S, typename decltype(form)::type> k(*a.gelu_plan, *a.floor_plan, c0);
      for (size_t t = 0; t < rows; ++t) {
        const V q = k.apply(S::load_s32(x + t * x_stride));
        S::store_bytes(y + t * y_stride, S::max32(S::min32(S::add32(q, zy), hi), lo), is_signed);
      }
    });
    return;
  }
  for (size_t t = 0; t < rows; ++t) {
    if (a.floor_plan != nullptr)
      int_gelu_requantize_floor_range<S>(*a.gelu, *a.gelu_plan, *a.floor_plan, *a.requant, *a.requant_plan,
                                         x + t * x_stride, y + t * y_stride, count, c0);
    else
      int_gelu_requantize_range<S>(*a.gelu, *a.gelu_plan, *a.requant, *a.requant_plan, x + t * x_stride,
                                   y + t * y_stride, count, c0);
  }
}

}  // namespace DYAD_ISA_NAMESPACE
}  // namespace dyad::kernels
