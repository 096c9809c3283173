// The vector int_softmax (int_softmax_vec.h) over an ISA's `Simd`
// operations; include after kernels/common/simd_avx2.h, simd_avx512.h or simd_neon.h.
// int_softmax_vec.cc has the exactness argument of each step.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/common/isa_namespace.h"
#include "kernels/common/thread_pool.h"
#include "kernels/int_softmax/int_softmax_vec.h"

namespace dyad::kernels {
inline namespace DYAD_ISA_NAMESPACE {

// e16 from z (int64 lanes) and q (0..30, int64 lanes).
template <class S>
DYAD_SIMD_INLINE typename S::V int_softmax_e16_lanes(const IntSoftmaxVecPlan& k, typename S::V z, typename S::V q) {
  using V = typename S::V;
  const V low32 = S::set1_64(0xffffffff);
  z = S::max64(z, S::zero());
  const V p_lo = S::mul_u32(z, S::set1_64(k.m_lo));
  const V p_hi = S::mul_u32(z, S::set1_64(k.m_hi));
  const V a = S::add64(p_hi, S::template srli64<32>(p_lo));
  const V b = S::and_(p_lo, low32);
  const V s = S::add64(q, S::set1_64(k.act_e));
  const V quot = S::srlv64(a, S::sub64(s, S::set1_64(32)));
  const V bit = S::and_(S::srlv64(a, S::sub64(s, S::set1_64(33))), S::set1_64(1));
  const V below = S::or_(S::sllv64(a, S::sub64(S::set1_64(97), s)), b);
  const V up = S::where_nonzero64(S::or_(below, S::and_(quot, S::set1_64(1))), bit);
  return S::min64(S::add64(quot, up), S::set1_64(32767));
}

// d in [30 x0, 0] (int32 lanes) -> e16 (int32 lanes).
template <class S>
DYAD_SIMD_INLINE typename S::V int_softmax_e16_from_d(const IntSoftmaxVecPlan& k, typename S::V d) {
  using V = typename S::V;
  const V low32 = S::set1_64(0xffffffff);
  const V n = S::sub32(S::zero(), d);
  const V magic = S::set1_64(k.magic);
  const V kshift = S::set1_64(k.magic_shift);
  const V q_even = S::srlv64(S::mul_u32(n, magic), kshift);
  const V q_odd = S::srlv64(S::mul_u32(S::template srli64<32>(n), magic), kshift);
  const V q = S::or_(q_even, S::template slli64<32>(q_odd));
  const V r = S::add32(d, S::mullo32(q, S::set1_32(k.divisor)));
  const V rb = S::add32(r, S::set1_32(k.b_int));
  const V c = S::set1_64(k.c_int);
  const V z_even = S::add64(S::mul_s32(rb, r), c);
  const V z_odd = S::add64(S::mul_s32(S::template srli64<32>(rb), S::template srli64<32>(r)), c);
  const V e_even = int_softmax_e16_lanes<S>(k, z_even, q_even);
  const V e_odd = int_softmax_e16_lanes<S>(k, z_odd, S::and_(q_odd, low32));
  return S::or_(e_even, S::template slli64<32>(e_odd));
}

// One row of n scores. keep: null (no mask) or n values, -1 = keep, 0 =
// masked. e16: n int32 of scratch.
template <class S>
void int_softmax_row_simd(const IntSoftmaxParams& p, const IntSoftmaxVecPlan& k, const int32_t* x,
                          const int32_t* keep, int16_t* y, int32_t* e16, int64_t n) {
  using V = typename S::V;
  constexpr int64_t kLanes = S::kLanes32;
  const int64_t vec_end = n - n % kLanes;

  // Maximum over the kept entries.
  bool any = false;
  int32_t max_x = INT32_MIN;
  {
    V vmax = S::set1_32(INT32_MIN);
    V vany = S::zero();
    for (int64_t j = 0; j < vec_end; j += kLanes) {
      const V xv = S::load(x + j);
      if (keep == nullptr) {
        vmax = S::max32(vmax, xv);
      } else {
        const V kv = S::load(keep + j);
        vmax = S::max32(vmax, S::select32(S::nonzero32(kv), xv, S::set1_32(INT32_MIN)));
        vany = S::or_(vany, kv);
      }
    }
    if (vec_end > 0) {
      max_x = S::hmax32(vmax);
      any = keep == nullptr || S::any32(S::nonzero32(vany));
    }
    for (int64_t j = vec_end; j < n; ++j) {
      if (keep != nullptr && keep[j] == 0) continue;
      max_x = x[j] > max_x ? x[j] : max_x;
      any = true;
    }
  }
  if (!any) {  // fully masked row (or n == 0): all 0
    for (int64_t j = 0; j < n; ++j) y[j] = 0;
    return;
  }

  // e16 and their sum.
  const int64_t low = static_cast<int64_t>(max_x) + k.floor_d;
  const V thr = S::set1_32(static_cast<int32_t>(low < INT32_MIN ? INT32_MIN : low));
  const V vmax = S::set1_32(max_x);
  const V vfloor = S::set1_32(k.floor_d);
  V vsum = S::zero();
  for (int64_t j = 0; j < vec_end; j += kLanes) {
    V d = S::sub32(S::max32(S::load(x + j), thr), vmax);
    if (keep != nullptr) d = S::select32(S::nonzero32(S::load(keep + j)), d, vfloor);
    const V e = int_softmax_e16_from_d<S>(k, d);
    S::store(e16 + j, e);
    vsum = S::add32(vsum, e);
  }
  int64_t sum = S::hsum32(vsum);
  for (int64_t j = vec_end; j < n; ++j) {
    e16[j] = int_softmax_entry_e16(p, x[j], max_x, keep == nullptr || keep[j] != 0);
    sum += e16[j];
  }

  // y = (e16 * floor(2^32 / sum)) >> 24.
  if (sum <= 1) {  // 0: all 0 (HF: NaN); 1: factor 2^32, y = e16 << 8
    for (int64_t j = 0; j < n; ++j) y[j] = static_cast<int16_t>(sum == 0 ? 0 : e16[j] << 8);
    return;
  }
  const int64_t factor = (int64_t{1} << 32) / sum;  // < 2^32
  const V vf = S::set1_64(factor);
  for (int64_t j = 0; j < vec_end; j += kLanes) {
    const V e = S::load(e16 + j);
    const V y_even = S::template srli64<24>(S::mul_u32(e, vf));
    const V y_odd = S::template srli64<24>(S::mul_u32(S::template srli64<32>(e), vf));
    S::store_s16(y + j, S::or_(y_even, S::template slli64<32>(y_odd)));
  }
  for (int64_t j = vec_end; j < n; ++j) y[j] = static_cast<int16_t>((int64_t{e16[j]} * factor) >> 24);
}

// Scratch of one task (operator new[], not a std:: container: no template
// instance compiled with this file's ISA flags is shared with other files).
struct SoftmaxScratch {
  explicit SoftmaxScratch(int64_t n) : keep(new int32_t[static_cast<size_t>(n) + 1]), e16(new int32_t[static_cast<size_t>(n) + 1]) {}
  ~SoftmaxScratch() {
    delete[] keep;
    delete[] e16;
  }
  SoftmaxScratch(const SoftmaxScratch&) = delete;
  SoftmaxScratch& operator=(const SoftmaxScratch&) = delete;
  int32_t* keep;
  int32_t* e16;
};

template <class S>
void int_softmax_simd(const IntSoftmaxParams& p, const IntSoftmaxVecPlan& k, const int32_t* x, int16_t* y,
                      ThreadPool* pool) {
  const int64_t n = p.length;
  const int64_t per_task = k.rows_per_task;
  const size_t tasks = static_cast<size_t>((p.rows + per_task - 1) / per_task);
  const bool has_mask = p.mask.data != nullptr;
  parallel_for(pool, tasks, [&](size_t t) {
    SoftmaxScratch scratch(n);
    int64_t keep_offset = -1;  // the mask row held in scratch.keep
    const int64_t first = static_cast<int64_t>(t) * per_task;
    const int64_t last = first + per_task < p.rows ? first + per_task : p.rows;
    for (int64_t row = first; row < last; ++row) {
      if (has_mask) {
        const int64_t offset = int_softmax_mask_offset(p.mask, row);
        if (offset != keep_offset) int_softmax_mask_keep(p.mask, offset, n, scratch.keep);
        keep_offset = offset;
      }
      int_softmax_row_simd<S>(p, k, x + row * n, has_mask ? scratch.keep : nullptr, y + row * n, scratch.e16, n);
    }
  });
}

}  // namespace DYAD_ISA_NAMESPACE
}  // namespace dyad::kernels
