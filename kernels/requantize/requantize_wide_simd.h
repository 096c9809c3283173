// The 64-bit-lane requantize (requantize_wide.h) over an ISA's `Simd`
// operations; include after kernels/common/simd_avx2.h, simd_avx512.h or simd_neon.h.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/common/isa_namespace.h"
#include "kernels/common/thread_pool.h"
#include "kernels/requantize/requantize_wide.h"

namespace dyad::kernels {
inline namespace DYAD_ISA_NAMESPACE {

// kLanes64 values of x (int64 lanes) -> q = rne(d * m / 2^e) in the low 32
// bits of each lane, with the constants of channels [c, c + kLanes64).
template <class S>
DYAD_SIMD_INLINE typename S::V requantize_wide_lanes(typename S::V x, const RequantizeWidePlan& w, size_t c, typename S::V zx) {
  using V = typename S::V;
  x = S::max64(S::min64(x, S::load(&w.x_hi[c])), S::load(&w.x_lo[c]));
  const V d = S::sub64(x, zx);
  const V sd = S::sign64(d);
  const V a = S::sllv64(S::sub64(S::xor_(d, sd), sd), S::load(&w.pre[c]));  // |d| << pre, unsigned
  const V mag = S::load(&w.mag[c]);
  const V lo = S::mul_u32(a, mag);
  const V hi = S::mul_u32(S::template srli64<32>(a), mag);
  const V top = S::add64(hi, S::template srli64<32>(lo));  // floor(u / 2^32)
  const V sticky = S::where_nonzero64(S::and_(lo, S::set1_64(0xffffffff)), S::set1_64(1));
  const V u = S::or_(S::template slli64<1>(top), sticky);
  const V shift = S::load(&w.shift[c]);
  const V bit = S::and_(S::srlv64(u, shift), S::set1_64(1));
  const V q = S::srlv64(S::add64(S::add64(u, S::load(&w.round[c])), bit), shift);
  const V sign = S::xor_(sd, S::load(&w.neg[c]));
  return S::sub64(S::xor_(q, sign), sign);
}

// The floor form's constants of channels [c, c + kLanes64), loaded once
// where many rows share them (the GEMM epilogue's column blocks).
template <class S>
struct FloorLaneConstants {
  typename S::V n, round, shift;
  FloorLaneConstants(const FloorConstants& k, size_t c)
      : n(S::load(&k.n[c])), round(S::load(&k.round[c])), shift(S::load(&k.shift[c])) {}
};

// kLanes64 values y' (int64 lanes) -> floor((y' * n + 2^(e-1)) / 2^e) in the
// low 32 bits of each lane (the floor form of requantize_wide.h).
template <class S>
DYAD_SIMD_INLINE typename S::V floor_requantize_lanes(typename S::V y, const FloorLaneConstants<S>& k) {
  using V = typename S::V;
  const V high = S::mul_s32(S::template srli64<32>(y), k.n);  // (y' >> 32) * n
  const V low = S::template srli64<32>(S::mul_u32(y, k.n));    // floor((y' mod 2^32) * n / 2^32)
  return S::srlv64(S::add64(S::add64(high, low), k.round), k.shift);
}

// The same with the constants of channels [c, c + kLanes64), loaded here.
template <class S>
DYAD_SIMD_INLINE typename S::V floor_requantize_lanes(typename S::V y, const FloorConstants& k, size_t c) {
  return floor_requantize_lanes<S>(y, FloorLaneConstants<S>(k, c));
}

// The floor form of requantize_wide_lanes (RequantizeWidePlan::has_floor).
template <class S>
DYAD_SIMD_INLINE typename S::V requantize_floor_lanes(typename S::V x, const RequantizeWidePlan& w, size_t c) {
  using V = typename S::V;
  x = S::max64(S::min64(x, S::load(&w.x_hi[c])), S::load(&w.x_lo[c]));
  const V neg = S::load(&w.neg[c]);
  return floor_requantize_lanes<S>(S::sub64(S::xor_(x, neg), neg), w.floor, c);
}

// n elements of src (type T) -> int8/uint8 dst, the first in channel `c`.
template <class S, class T>
void requantize_wide_span(const RequantizeParams& p, const RequantizeWidePlan& w, const T* src, uint8_t* dst,
                          size_t n, size_t c) {
  using V = typename S::V;
  constexpr size_t kStep = S::kLanes32;
  const bool is_signed = p.dst_type == IntType::kS8;
  const V zx = S::set1_64(p.src_zero_point);
  const V zy = S::set1_32(static_cast<int32_t>(p.dst_zero_point));
  const V lo = S::set1_32(static_cast<int32_t>(p.dst_min));
  const V hi = S::set1_32(static_cast<int32_t>(p.dst_max));
  size_t i = 0;
  for (; i + kStep <= n; i += kStep) {
    V x0, x1;
    if constexpr (sizeof(T) == 8) {
      x0 = S::load(src + i);
      x1 = S::load(src + i + S::kLanes64);
    } else {
      const V x = S::load_s32(src + i);
      x0 = S::widen_lo(x);
      x1 = S::widen_hi(x);
    }
    V q0, q1;
    if (w.has_floor) {
      q0 = requantize_floor_lanes<S>(x0, w, c);
      q1 = requantize_floor_lanes<S>(x1, w, c + S::kLanes64);
    } else {
      q0 = requantize_wide_lanes<S>(x0, w, c, zx);
      q1 = requantize_wide_lanes<S>(x1, w, c + S::kLanes64, zx);
    }
    const V y = S::max32(S::min32(S::add32(S::narrow(q0, q1), zy), hi), lo);
    S::store_bytes(dst + i, y, is_signed);
    c += kStep;
    c = c < p.channels ? c : c % p.channels;
  }
  for (; i < n; ++i) {
    dst[i] = requantize_wide_element(p, static_cast<int64_t>(src[i]), w.requant[c]);
    if (++c == p.channels) c = 0;
  }
}

// Elements [begin, end) of src (type T) -> int8/uint8 dst.
template <class S, class T>
void requantize_wide_range(const RequantizeParams& p, const RequantizeWidePlan& w, const T* src, uint8_t* dst,
                           size_t begin, size_t end) {
  requantize_wide_span<S>(p, w, src + begin, dst + begin, end - begin, begin % p.channels);
}

// The whole tensor, split over `pool` in chunks of whole vectors.
template <class S>
void requantize_wide(const RequantizeParams& p, const RequantizeWidePlan& w, const void* src, void* dst,
                     ThreadPool* pool) {
  constexpr size_t kChunk = 16384;  // elements per task, a multiple of every vector width
  const size_t tasks = (p.count + kChunk - 1) / kChunk;
  with_int_type(p.src_type, [&](auto zero) {
    using T = decltype(zero);
    parallel_for(pool, tasks, [&](size_t t) {
      const size_t begin = t * kChunk;
      const size_t end = begin + kChunk < p.count ? begin + kChunk : p.count;
      requantize_wide_range<S>(p, w, static_cast<const T*>(src), static_cast<uint8_t*>(dst), begin, end);
    });
  });
}

}  // namespace DYAD_ISA_NAMESPACE
}  // namespace dyad::kernels
