// The vector residual add (add.h, AddVecPlan) over an ISA's `Simd`
// operations; include after kernels/common/simd_avx2.h, simd_avx512.h or simd_neon.h.
//
// kLanes32 elements per step (one AddBlock8 of constants per 8 elements),
// as int32 differences d = x - z; each branch in 64-bit lanes, the even
// elements (vpmuldq reads the low half of each 64-bit lane) and the odd ones
// (after a 32-bit shift) apart: t = (d * m) << ls, exact as |t| <= 2^62
// (add_vec_plan), and rne(t / 2^rs) as ((t + round + bit) >>> rs) with
// round = 2^(rs-1) - 1 + 2^63, which adds 2^(63 - rs) to the floor quotient;
// the offset removes both of those terms and adds z_y. Each rounded branch is
// below 2^61 in magnitude, so the sum (mod 2^64) is the true value, which the
// clamp to [dst_min, dst_max] takes into the dst range (docs/kernels.md, "add").
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "kernels/add/add.h"
#include "kernels/common/isa_namespace.h"
#include "kernels/common/thread_pool.h"

namespace dyad::kernels {
inline namespace DYAD_ISA_NAMESPACE {

// The 64-bit constants of one step's even (half 0) or odd (half 1) elements:
// from block b0, and on AVX-512 also from the next block b1.
template <class S, size_t N>
DYAD_SIMD_INLINE typename S::V add_consts(const int64_t (&b0)[2][N], const int64_t (&b1)[2][N], int half) {
  return S::load_64x4s(b0[half], b1[half]);
}

template <class S>
DYAD_SIMD_INLINE typename S::V add_branch(typename S::V d, const AddBlock8::Branch& k0, const AddBlock8::Branch& k1, int half) {
  using V = typename S::V;
  const V t = S::sllv64(S::mul_s32(d, add_consts<S>(k0.mult, k1.mult, half)), add_consts<S>(k0.lshift, k1.lshift, half));
  const V rs = add_consts<S>(k0.rshift, k1.rshift, half);
  const V bit = S::and_(S::srlv64(t, rs), S::set1_64(1));
  return S::srlv64(S::add64(S::add64(t, add_consts<S>(k0.round, k1.round, half)), bit), rs);
}

// Stores kLanes32 results (already clamped into the dst type) at element i.
template <class S>
void store_sums(const AddParams& p, void* dst, size_t i, typename S::V y) {
  switch (p.dst_type) {
    case IntType::kS8:
    case IntType::kU8:
      S::store_bytes(static_cast<uint8_t*>(dst) + i, y, p.dst_type == IntType::kS8);
      break;
    case IntType::kS16: S::store_s16(static_cast<int16_t*>(dst) + i, y); break;
    default: S::store(static_cast<int32_t*>(dst) + i, y); break;
  }
}

// One branch on the narrow path (AddVecPlan::narrow): an 8-bit input as
// (x * mult + round) >> shift in int32; a wider one as the high halves of
// (x - z) * m + 2^(e-1) in 64-bit lanes, shifted by e - 32.
template <class S, class T>
DYAD_SIMD_INLINE typename S::V narrow_branch(typename S::V x, typename S::V z, const AddBlock8::NarrowBranch& k0,
                            const AddBlock8::NarrowBranch& k1, bool split) {
  // 8 int32 constants from each of two blocks (32 bytes each, as load_64x4s reads).
  auto consts = [](const auto& c0, const auto& c1) { return S::load_64x4s(c0, c1); };
  if constexpr (sizeof(T) == 1) {
    if (split) {
      const typename S::V low = S::srav32(S::add32(S::mullo32(x, consts(k0.mult_lo, k1.mult_lo)),
                                                   consts(k0.round_lo, k1.round_lo)),
                                          S::set1_32(16));
      return S::srav32(S::add32(S::add32(S::mullo32(x, consts(k0.mult, k1.mult)), consts(k0.round, k1.round)), low),
                       consts(k0.shift, k1.shift));
    }
    return S::srav32(S::add32(S::mullo32(x, consts(k0.mult, k1.mult)), consts(k0.round, k1.round)),
                     consts(k0.shift, k1.shift));
  } else {
    const typename S::V d = S::sub32(x, z);
    const typename S::V even = S::add64(S::mul_s32(d, consts(k0.mult, k1.mult)), consts(k0.round64[0], k1.round64[0]));
    const typename S::V odd = S::add64(S::mul_s32(S::template srli64<32>(d), consts(k0.mult_odd, k1.mult_odd)),
                                       consts(k0.round64[1], k1.round64[1]));
    return S::srav32(S::high_halves64(even, odd), consts(k0.shift, k1.shift));
  }
}

// The narrow path's exact wide branch (AddVecPlan::narrow_exact_wide):
// add_branch's rne in 64-bit lanes, unbiased, clamped to +-kNarrowExactLimit,
// as int32 lanes.
template <class S>
DYAD_SIMD_INLINE typename S::V exact_wide_branch(typename S::V x, typename S::V z, const AddBlock8& c0,
                                                 const AddBlock8& c1, bool is_a) {
  using V = typename S::V;
  const V d = S::sub32(x, z);
  const V limit = S::set1_64(kNarrowExactLimit), neg_limit = S::set1_64(-kNarrowExactLimit);
  V half[2];
  for (int h = 0; h < 2; ++h) {
    const V v = add_branch<S>(h == 0 ? d : S::template srli64<32>(d), is_a ? c0.a : c0.b, is_a ? c1.a : c1.b, h);
    half[h] = S::min64(S::max64(S::sub64(v, add_consts<S>(c0.exact_bias, c1.exact_bias, h)), neg_limit), limit);
  }
  return S::interleave32(half[0], half[1]);
}

// One branch of the narrow path for input type T (is_a: the add's first input).
template <class S, class T>
DYAD_SIMD_INLINE typename S::V narrow_path_branch(const AddVecPlan& w, typename S::V x, typename S::V z,
                                                  const AddBlock8& c0, const AddBlock8& c1, bool is_a) {
  if constexpr (sizeof(T) > 1) {
    if (w.narrow_exact_wide) return exact_wide_branch<S>(x, z, c0, c1, is_a);
  }
  return narrow_branch<S, T>(x, z, is_a ? c0.narrow_a : c0.narrow_b, is_a ? c1.narrow_a : c1.narrow_b,
                             w.split8[is_a ? 0 : 1]);
}

// Calls step(i, c0, c1) for each whole vector of elements [begin, end) (begin
// a multiple of the constants' period) with the constant blocks of its
// elements, then the reference formula for the tail. Whole periods (rows of
// channels) go column by column: a vector's constants, 144 bytes per
// element, then serve every row from L1. Row by row, BERT-base's 768
// channels took 110 KB of constants per row from L2, and the add ran at the
// speed of that stream.
template <class S, class A, class B, class Step>
DYAD_SIMD_INLINE void add_steps(const AddVecPlan& w, const A* a, const B* b, void* dst, size_t begin, size_t end,
                                const Step& step) {
  constexpr size_t kStep = S::kLanes32;
  const size_t blocks = w.blocks.size();
  size_t k = 0;  // block index within the period
  size_t i = begin;
  if (w.period % kStep == 0 && end - begin >= 2 * w.period) {
    const size_t rows = (end - begin) / w.period;
    for (size_t j = 0; j < w.period; j += kStep) {
      const AddBlock8& c0 = w.blocks[j / 8];
      const AddBlock8& c1 = w.blocks[j / 8 + 1 < blocks ? j / 8 + 1 : 0];
      for (size_t r = 0; r < rows; ++r) step(begin + r * w.period + j, c0, c1);
    }
    i += rows * w.period;
  }
  for (; i + kStep <= end; i += kStep) {
    step(i, w.blocks[k], w.blocks[k + 1 < blocks ? k + 1 : 0]);
    k = (k + kStep / 8) % blocks;
  }
  if (i < end) add_scalar_range(w, a, b, dst, i, end);
}

// Elements [begin, end) on the narrow path; the sum with z_y cannot wrap
// (add_narrow.cc bounds each branch).
template <class S, class A, class B>
void add_range_narrow(const AddVecPlan& w, const A* a, const B* b, void* dst, size_t begin, size_t end) {
  using V = typename S::V;
  const AddParams& p = w.params;
  const V za = S::set1_32(static_cast<int32_t>(p.a_zero_point));
  const V zb = S::set1_32(static_cast<int32_t>(p.b_zero_point));
  const V zy = S::set1_32(static_cast<int32_t>(p.dst_zero_point));
  const V lo = S::set1_32(static_cast<int32_t>(p.dst_min)), hi = S::set1_32(static_cast<int32_t>(p.dst_max));
  add_steps<S>(w, a, b, dst, begin, end, [&](size_t i, const AddBlock8& c0, const AddBlock8& c1) {
    const V sum = S::add32(S::add32(narrow_path_branch<S, A>(w, S::load_s32(a + i), za, c0, c1, true),
                                    narrow_path_branch<S, B>(w, S::load_s32(b + i), zb, c0, c1, false)),
                           zy);
    store_sums<S>(p, dst, i, S::min32(S::max32(sum, lo), hi));
  });
}

// Elements [begin, end) of a (type A) and b (type B) into dst; begin is a
// multiple of the constants' period.
template <class S, class A, class B>
void add_range(const AddVecPlan& w, const A* a, const B* b, void* dst, size_t begin, size_t end) {
  if (w.narrow) return add_range_narrow<S>(w, a, b, dst, begin, end);
  using V = typename S::V;
  const AddParams& p = w.params;
  const V za = S::set1_32(static_cast<int32_t>(p.a_zero_point));
  const V zb = S::set1_32(static_cast<int32_t>(p.b_zero_point));
  const V lo = S::set1_64(p.dst_min), hi = S::set1_64(p.dst_max);
  add_steps<S>(w, a, b, dst, begin, end, [&](size_t i, const AddBlock8& c0, const AddBlock8& c1) {
    const V da = S::sub32(S::load_s32(a + i), za);
    const V db = S::sub32(S::load_s32(b + i), zb);
    V half[2];
    for (int h = 0; h < 2; ++h) {
      const V xa = h == 0 ? da : S::template srli64<32>(da);
      const V xb = h == 0 ? db : S::template srli64<32>(db);
      const V sum = S::add64(S::add64(add_branch<S>(xa, c0.a, c1.a, h), add_branch<S>(xb, c0.b, c1.b, h)),
                             add_consts<S>(c0.offset, c1.offset, h));
      half[h] = S::min64(S::max64(sum, lo), hi);
    }
    store_sums<S>(p, dst, i, S::interleave32(half[0], half[1]));
  });
}

template <class S>
void add_simd(const AddVecPlan& w, const void* a, const void* b, void* dst, ThreadPool* pool) {
  constexpr size_t kChunkElements = 16384;  // work per task, rounded to whole periods
  const size_t count = w.params.count;
  const size_t chunk = std::max<size_t>(1, kChunkElements / w.period) * w.period;
  with_int_type(w.params.a_type, [&](auto a_zero) {
    using A = decltype(a_zero);
    with_int_type(w.params.b_type, [&](auto b_zero) {
      using B = decltype(b_zero);
      if constexpr (sizeof(A) < 8 && sizeof(B) < 8) {
        // Tasks of whole constant periods: each element is written by one
        // task with the same arithmetic, so the thread count cannot change a result.
        parallel_for(pool, (count + chunk - 1) / chunk, [&](size_t t) {
          add_range<S>(w, static_cast<const A*>(a), static_cast<const B*>(b), dst, t * chunk,
                       std::min(count, (t + 1) * chunk));
        });
      }
    });
  });
}

}  // namespace DYAD_ISA_NAMESPACE
}  // namespace dyad::kernels
