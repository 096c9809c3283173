// AVX2 residual add: 8 elements per step, each branch exact in 64-bit lanes
// (even and odd elements apart, as vpmuldq reads the low half of each lane).
// The plan (add_plan.cc) proves |(x - z) * m << ls| <= 2^62, so round_shift is
// exact and the sum of two branches and the zero point fits int64.
#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <type_traits>

#include "kernels/add/add.h"
#include "kernels/common/thread_pool.h"
#include "kernels/common/requant_avx2.h"

namespace dyad::kernels {

namespace {

__m256i ld(const void* p) { return _mm256_load_si256(static_cast<const __m256i*>(p)); }

// 8 elements widened to int32 lanes.
template <typename T>
__m256i load8(const T* p) {
  if constexpr (std::is_same_v<T, int8_t>) {
    return _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)));
  } else if constexpr (std::is_same_v<T, uint8_t>) {
    return _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)));
  } else if constexpr (std::is_same_v<T, int16_t>) {
    return _mm256_cvtepi16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  } else {
    return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
  }
}

// (x >>> rs) of one branch for the even [0] and odd [1] elements of d.
inline void branch(__m256i d, const AddBlock8::Branch& k, __m256i* even, __m256i* odd) {
  const __m256i t0 = _mm256_sllv_epi64(_mm256_mul_epi32(d, ld(k.mult[0])), ld(k.lshift[0]));
  const __m256i t1 = _mm256_sllv_epi64(_mm256_mul_epi32(_mm256_srli_epi64(d, 32), ld(k.mult[1])),
                                       ld(k.lshift[1]));
  *even = round_shift(t0, ld(k.rshift[0]), ld(k.round[0]));
  *odd = round_shift(t1, ld(k.rshift[1]), ld(k.round[1]));
}

// min(max(v, lo), hi) in signed 64-bit lanes.
inline __m256i clamp64(__m256i v, __m256i lo, __m256i hi) {
  v = _mm256_blendv_epi8(v, lo, _mm256_cmpgt_epi64(lo, v));
  return _mm256_blendv_epi8(v, hi, _mm256_cmpgt_epi64(v, hi));
}

// Stores 8 int32 lanes already clamped into the dst container's range.
inline void store8(__m256i y, IntType type, void* dst, size_t n) {
  alignas(32) uint8_t tmp[32];
  size_t bytes = 4;
  switch (type) {
    case IntType::kS8:
    case IntType::kU8: {
      const __m128i w = _mm_packs_epi32(_mm256_castsi256_si128(y), _mm256_extracti128_si256(y, 1));
      const __m128i b = type == IntType::kS8 ? _mm_packs_epi16(w, w) : _mm_packus_epi16(w, w);
      if (n == 8) return _mm_storel_epi64(static_cast<__m128i*>(dst), b);
      _mm_store_si128(reinterpret_cast<__m128i*>(tmp), b);
      bytes = 1;
      break;
    }
    case IntType::kS16: {
      const __m128i w = _mm_packs_epi32(_mm256_castsi256_si128(y), _mm256_extracti128_si256(y, 1));
      if (n == 8) return _mm_storeu_si128(static_cast<__m128i*>(dst), w);
      _mm_store_si128(reinterpret_cast<__m128i*>(tmp), w);
      bytes = 2;
      break;
    }
    default:
      if (n == 8) return _mm256_storeu_si256(static_cast<__m256i*>(dst), y);
      _mm256_store_si256(reinterpret_cast<__m256i*>(tmp), y);
      break;
  }
  std::memcpy(dst, tmp, n * bytes);
}

// Elements [begin, end); begin is a multiple of the constants' period.
template <typename A, typename B>
void add_typed(const AddAvx2Plan& plan, const A* a, const B* b, void* dst, size_t begin, size_t end) {
  const AddParams& p = plan.params;
  const __m256i za = _mm256_set1_epi32(static_cast<int32_t>(p.a_zero_point));
  const __m256i zb = _mm256_set1_epi32(static_cast<int32_t>(p.b_zero_point));
  const __m256i lo = _mm256_set1_epi64x(p.dst_min), hi = _mm256_set1_epi64x(p.dst_max);
  const size_t dst_bytes = int_type_bytes(p.dst_type);
  const size_t blocks = plan.blocks.size();
  size_t k = 0;  // block index within the period
  for (size_t i = begin; i < end; i += 8) {
    const size_t n = std::min<size_t>(8, end - i);
    __m256i xa, xb;
    if (n == 8) {
      xa = load8(a + i);
      xb = load8(b + i);
    } else {  // the tail: the unused lanes compute on zeros and are not stored
      A ta[8] = {};
      B tb[8] = {};
      std::memcpy(ta, a + i, n * sizeof(A));
      std::memcpy(tb, b + i, n * sizeof(B));
      xa = load8(ta);
      xb = load8(tb);
    }
    const AddBlock8& c = plan.blocks[k];
    __m256i ae, ao, be, bo;
    branch(_mm256_sub_epi32(xa, za), c.a, &ae, &ao);
    branch(_mm256_sub_epi32(xb, zb), c.b, &be, &bo);
    // Sums mod 2^64: the true value (|.| < 2^62 + 2^31) is what remains.
    const __m256i se = clamp64(_mm256_add_epi64(_mm256_add_epi64(ae, be), ld(c.offset[0])), lo, hi);
    const __m256i so = clamp64(_mm256_add_epi64(_mm256_add_epi64(ao, bo), ld(c.offset[1])), lo, hi);
    const __m256i y = _mm256_blend_epi32(se, _mm256_slli_epi64(so, 32), 0xAA);
    store8(y, p.dst_type, static_cast<uint8_t*>(dst) + i * dst_bytes, n);
    if (++k == blocks) k = 0;
  }
}

constexpr size_t kChunkElements = 16384;  // work per task, rounded to whole periods

template <typename A>
void add_b(const AddAvx2Plan& plan, const A* a, const void* b, void* dst, ThreadPool* pool) {
  with_int_type(plan.params.b_type, [&](auto zero) {
    using B = decltype(zero);
    if constexpr (!std::is_same_v<B, int64_t>) {
      // Tasks of whole constant periods: each element is written by one task
      // with the same arithmetic, so the thread count cannot change a result.
      const size_t count = plan.params.count;
      const size_t chunk = std::max<size_t>(1, kChunkElements / plan.period) * plan.period;
      parallel_for(pool, (count + chunk - 1) / chunk, [&](size_t t) {
        add_typed(plan, a, static_cast<const B*>(b), dst, t * chunk, std::min(count, (t + 1) * chunk));
      });
    }
  });
}

}  // namespace

void add__avx2(const AddAvx2Plan& plan, const void* a, const void* b, void* dst, ThreadPool* pool) {
  with_int_type(plan.params.a_type, [&](auto zero) {
    using A = decltype(zero);
    if constexpr (!std::is_same_v<A, int64_t>) add_b(plan, static_cast<const A*>(a), b, dst, pool);
  });
}

}  // namespace dyad::kernels
