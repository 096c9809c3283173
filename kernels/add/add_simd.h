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
#include <numeric>

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

// 8 int32 constants from each of two blocks (32 bytes each, as load_64x4s reads).
template <class S, class T>
DYAD_SIMD_INLINE typename S::V add_consts32(const T& c0, const T& c1) {
  return S::load_64x4s(c0, c1);
}

// rne(d * m * 2^ls / 2^rs) in 64-bit lanes (d in the even 32-bit lanes),
// plus 2^(63 - rs) from the logical shift (the offsets remove it).
template <class S>
DYAD_SIMD_INLINE typename S::V rne_branch(typename S::V d, typename S::V mult, typename S::V lshift,
                                          typename S::V rshift, typename S::V round) {
  const typename S::V t = S::sllv64(S::mul_s32(d, mult), lshift);
  const typename S::V bit = S::and_(S::srlv64(t, rshift), S::set1_64(1));
  return S::srlv64(S::add64(S::add64(t, round), bit), rshift);
}

// Stores kLanes32 results (already clamped into the dst type) at element i.
template <class S>
DYAD_SIMD_INLINE void store_sums(const AddParams& p, void* dst, size_t i, typename S::V y) {
  switch (p.dst_type) {
    case IntType::kS8:
    case IntType::kU8:
      S::store_bytes(static_cast<uint8_t*>(dst) + i, y, p.dst_type == IntType::kS8);
      break;
    case IntType::kS16: S::store_s16(static_cast<int16_t*>(dst) + i, y); break;
    default: S::store(static_cast<int32_t*>(dst) + i, y); break;
  }
}

// The forms of a branch on the narrow path (AddVecPlan::narrow): an 8-bit
// input as (x * mult + round) >> shift in int32 (kByteSplit: the multiplier
// in two 16-bit halves, AddVecPlan::split8); a wider one as the high halves
// of (x - z) * m + 2^(e-1) in 64-bit lanes shifted by e - 32 (kWideFloor), or
// as the exact 64-bit rne, unbiased and clamped to +-kNarrowExactLimit
// (kWideExact, AddVecPlan::narrow_exact_wide).
enum class AddForm { kByte, kByteSplit, kWideFloor, kWideExact };

// One branch of the narrow path with the constants of one vector position
// in registers (built once per column of rows: the row loops then load
// none, where the byte stores between rows, which may alias anything, had
// made every row load them again).
template <class S, AddForm F>
struct NarrowBranchOp {
  using V = typename S::V;
  V k[10];

  NarrowBranchOp(const AddBlock8& c0, const AddBlock8& c1, bool is_a, int32_t zero_point) {
    const AddBlock8::NarrowBranch& n0 = is_a ? c0.narrow_a : c0.narrow_b;
    const AddBlock8::NarrowBranch& n1 = is_a ? c1.narrow_a : c1.narrow_b;
    if constexpr (F == AddForm::kByte || F == AddForm::kByteSplit) {
      k[0] = add_consts32<S>(n0.mult, n1.mult);
      k[1] = add_consts32<S>(n0.round, n1.round);
      k[2] = add_consts32<S>(n0.shift, n1.shift);
      if constexpr (F == AddForm::kByteSplit) {
        k[3] = add_consts32<S>(n0.mult_lo, n1.mult_lo);
        k[4] = add_consts32<S>(n0.round_lo, n1.round_lo);
      }
    } else if constexpr (F == AddForm::kWideFloor) {
      k[0] = add_consts32<S>(n0.mult, n1.mult);
      k[1] = add_consts32<S>(n0.mult_odd, n1.mult_odd);
      k[2] = add_consts32<S>(n0.round64[0], n1.round64[0]);
      k[3] = add_consts32<S>(n0.round64[1], n1.round64[1]);
      k[4] = add_consts32<S>(n0.shift, n1.shift);
      zero = S::set1_32(zero_point);
    } else {
      const AddBlock8::Branch& b0 = is_a ? c0.a : c0.b;
      const AddBlock8::Branch& b1 = is_a ? c1.a : c1.b;
      for (int h = 0; h < 2; ++h) {
        k[5 * h] = add_consts<S>(b0.mult, b1.mult, h);
        k[5 * h + 1] = add_consts<S>(b0.lshift, b1.lshift, h);
        k[5 * h + 2] = add_consts<S>(b0.rshift, b1.rshift, h);
        k[5 * h + 3] = add_consts<S>(b0.round, b1.round, h);
        k[5 * h + 4] = add_consts<S>(c0.exact_bias, c1.exact_bias, h);
      }
      zero = S::set1_32(zero_point);
    }
  }

  // The branch of raw values x (int32 lanes).
  DYAD_SIMD_INLINE V apply(V x) const {
    if constexpr (F == AddForm::kByte) {
      return S::srav32(S::add32(S::mullo32(x, k[0]), k[1]), k[2]);
    } else if constexpr (F == AddForm::kByteSplit) {
      const V low = S::srav32(S::add32(S::mullo32(x, k[3]), k[4]), S::set1_32(16));
      return S::srav32(S::add32(S::add32(S::mullo32(x, k[0]), k[1]), low), k[2]);
    } else if constexpr (F == AddForm::kWideFloor) {
      const V d = S::sub32(x, zero);
      const V even = S::add64(S::mul_s32(d, k[0]), k[2]);
      const V odd = S::add64(S::mul_s32(S::template srli64<32>(d), k[1]), k[3]);
      return S::srav32(S::high_halves64(even, odd), k[4]);
    } else {
      const V d = S::sub32(x, zero);
      const V limit = S::set1_64(kNarrowExactLimit), neg_limit = S::set1_64(-kNarrowExactLimit);
      V half[2];
      for (int h = 0; h < 2; ++h) {
        const V v = rne_branch<S>(h == 0 ? d : S::template srli64<32>(d), k[5 * h], k[5 * h + 1], k[5 * h + 2],
                                  k[5 * h + 3]);
        half[h] = S::min64(S::max64(S::sub64(v, k[5 * h + 4]), neg_limit), limit);
      }
      return S::interleave32(half[0], half[1]);
    }
  }

  V zero{};  // the wide forms' zero point
};

// The add on the narrow path: both branches, z_y and the clamp. The sum
// with z_y cannot wrap (add_narrow.cc bounds each branch).
template <class S, AddForm FA, AddForm FB>
struct NarrowAddOp {
  using V = typename S::V;
  NarrowAddOp(const AddVecPlan& w, const AddBlock8& c0, const AddBlock8& c1)
      : a(c0, c1, true, static_cast<int32_t>(w.params.a_zero_point)),
        b(c0, c1, false, static_cast<int32_t>(w.params.b_zero_point)),
        zy(S::set1_32(static_cast<int32_t>(w.params.dst_zero_point))),
        lo(S::set1_32(static_cast<int32_t>(w.params.dst_min))),
        hi(S::set1_32(static_cast<int32_t>(w.params.dst_max))) {}
  // Outputs, clamped into [dst_min, dst_max], of raw inputs xa and xb.
  DYAD_SIMD_INLINE V apply(V xa, V xb) const {
    return S::min32(S::max32(S::add32(S::add32(a.apply(xa), b.apply(xb)), zy), lo), hi);
  }
  NarrowBranchOp<S, FA> a;
  NarrowBranchOp<S, FB> b;
  V zy, lo, hi;
};

// The add in 64-bit lanes (the even elements, then the odd ones after a
// 32-bit shift): each branch's exact rne, the offset, the clamp.
template <class S>
struct WideAddOp {
  using V = typename S::V;
  WideAddOp(const AddVecPlan& w, const AddBlock8& c0, const AddBlock8& c1)
      : za(S::set1_32(static_cast<int32_t>(w.params.a_zero_point))),
        zb(S::set1_32(static_cast<int32_t>(w.params.b_zero_point))),
        lo(S::set1_64(w.params.dst_min)),
        hi(S::set1_64(w.params.dst_max)) {
    for (int h = 0; h < 2; ++h) {
      const AddBlock8::Branch* branches[2][2] = {{&c0.a, &c1.a}, {&c0.b, &c1.b}};
      for (int x = 0; x < 2; ++x) {
        const AddBlock8::Branch &b0 = *branches[x][0], &b1 = *branches[x][1];
        k[h][x][0] = add_consts<S>(b0.mult, b1.mult, h);
        k[h][x][1] = add_consts<S>(b0.lshift, b1.lshift, h);
        k[h][x][2] = add_consts<S>(b0.rshift, b1.rshift, h);
        k[h][x][3] = add_consts<S>(b0.round, b1.round, h);
      }
      offset[h] = add_consts<S>(c0.offset, c1.offset, h);
    }
  }
  DYAD_SIMD_INLINE V apply(V xa, V xb) const {
    const V da = S::sub32(xa, za), db = S::sub32(xb, zb);
    V half[2];
    for (int h = 0; h < 2; ++h) {
      const V ha = h == 0 ? da : S::template srli64<32>(da);
      const V hb = h == 0 ? db : S::template srli64<32>(db);
      const V sum = S::add64(S::add64(rne_branch<S>(ha, k[h][0][0], k[h][0][1], k[h][0][2], k[h][0][3]),
                                      rne_branch<S>(hb, k[h][1][0], k[h][1][1], k[h][1][2], k[h][1][3])),
                             offset[h]);
      half[h] = S::min64(S::max64(sum, lo), hi);
    }
    return S::interleave32(half[0], half[1]);
  }
  V za, zb, lo, hi;
  V k[2][2][4];  // [half][a, b][mult, lshift, rshift, round]
  V offset[2];
};

// f(op) with the add's op for the vector position of blocks c0, c1: a
// NarrowAddOp of the forms of A and B, or a WideAddOp. f copies op into a
// local, so that its constants live in registers.
template <class S, class A, class B, class F>
DYAD_SIMD_INLINE void with_add_op(const AddVecPlan& w, const AddBlock8& c0, const AddBlock8& c1, F&& f) {
  if (!w.narrow) return f(WideAddOp<S>(w, c0, c1));
  constexpr AddForm kA0 = sizeof(A) == 1 ? AddForm::kByte : AddForm::kWideFloor;
  constexpr AddForm kA1 = sizeof(A) == 1 ? AddForm::kByteSplit : AddForm::kWideExact;
  constexpr AddForm kB0 = sizeof(B) == 1 ? AddForm::kByte : AddForm::kWideFloor;
  constexpr AddForm kB1 = sizeof(B) == 1 ? AddForm::kByteSplit : AddForm::kWideExact;
  // The second form of each: a byte branch split (split8), a wide one exact.
  const bool a1 = sizeof(A) == 1 ? w.split8[0] : w.narrow_exact_wide;
  const bool b1 = sizeof(B) == 1 ? w.split8[1] : w.narrow_exact_wide;
  if (!a1 && !b1) return f(NarrowAddOp<S, kA0, kB0>(w, c0, c1));
  if (!a1 && b1) return f(NarrowAddOp<S, kA0, kB1>(w, c0, c1));
  if (a1 && !b1) return f(NarrowAddOp<S, kA1, kB0>(w, c0, c1));
  return f(NarrowAddOp<S, kA1, kB1>(w, c0, c1));
}

// Elements [begin, end) of a (type A) and b (type B) into dst; begin is a
// multiple of the constants' period. Whole rows (periods of channels) go
// column by column: a vector's constants, built once, then serve every row.
// Row by row, BERT-base's 768 channels took 110 KB of constants per row from
// L2, and the add ran at the speed of that stream. Then the rest vector by
// vector, and the reference formula for the tail.
template <class S, class A, class B>
void add_range(const AddVecPlan& w, const A* a, const B* b, void* dst, size_t begin, size_t end) {
  constexpr size_t kStep = S::kLanes32;
  const size_t blocks = w.blocks.size();
  auto next_block = [&](size_t k) { return k + 1 < blocks ? k + 1 : 0; };
  size_t i = begin;
  // Rows of `row` elements, a whole number of periods and of vectors (24
  // channels on AVX-512: rows of 48): vector j of every row has the same
  // constants.
  const size_t row = std::lcm(w.period, kStep);
  if (end - begin >= 2 * row) {
    const size_t rows = (end - begin) / row;
    for (size_t j = 0; j < row; j += kStep) {
      const size_t k = j % w.period / 8;
      with_add_op<S, A, B>(w, w.blocks[k], w.blocks[next_block(k)], [&](const auto& shared_op) {
        // Locals, so that the byte stores (which may alias anything) make
        // no row load the constants or the pointers again.
        const auto op = shared_op;
        const A* a_j = a + begin + j;
        const B* b_j = b + begin + j;
        const AddParams params = w.params;
        for (size_t r = 0, n = rows, step = row, e = begin + j; r < n; ++r, e += step)
          store_sums<S>(params, dst, e, op.apply(S::load_s32(a_j + r * step), S::load_s32(b_j + r * step)));
      });
    }
    i += rows * row;
  }
  for (size_t k = 0; i + kStep <= end; i += kStep) {
    with_add_op<S, A, B>(w, w.blocks[k], w.blocks[next_block(k)], [&](const auto& op) {
      store_sums<S>(w.params, dst, i, op.apply(S::load_s32(a + i), S::load_s32(b + i)));
    });
    k = (k + kStep / 8) % blocks;
  }
  if (i < end) add_scalar_range(w, a, b, dst, i, end);
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
