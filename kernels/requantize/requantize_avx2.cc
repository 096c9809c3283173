// AVX2 requantize to int8/uint8: the GEMM epilogue's int32 requant
// (kernels/common/requant_avx2.h, exactness in docs/kernels.md) applied to
// x - z_x, 8 lanes at a time, then the activation clamp and a narrowing pack.
// int64 inputs (I-BERT's GELU and LayerNorm outputs) take this path for every
// 8 values that all fit int32, the scalar formula otherwise.
// The epilogue is exact for every int32 value, -2^31 included
// (requant_block8.cc).
#include <immintrin.h>

#include <algorithm>
#include <cstdlib>
#include <vector>

#include "kernels/common/requant_avx2.h"
#include "kernels/common/thread_pool.h"
#include "kernels/requantize/requantize.h"

namespace dyad::kernels {

struct RequantizeAvx2Plan {
  std::vector<RequantBlock8> blocks;  // one per 8 channels (one in all for channels == 1)
  std::vector<Dyadic> requant;        // per channel, for values beyond int32 and the tail
};

void RequantizeAvx2PlanDeleter::operator()(RequantizeAvx2Plan* plan) const { delete plan; }

namespace {

constexpr size_t kChunkElements = 16384;  // work per task, rounded to whole channel groups

bool fits_int32_after_offset(IntType t, int64_t zero_point) {
  switch (t) {
    case IntType::kS8:
    case IntType::kU8:
    case IntType::kS16: return zero_point >= -(int64_t{1} << 30) && zero_point <= (int64_t{1} << 30);
    case IntType::kS32:
    case IntType::kS64: return zero_point == 0;  // int64: vectors whose values fit int32
    default: return false;
  }
}

__m256i load8(IntType t, const void* src, size_t first) {
  switch (t) {
    case IntType::kS8:
      return _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(static_cast<const int8_t*>(src) + first)));
    case IntType::kU8:
      return _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(static_cast<const uint8_t*>(src) + first)));
    case IntType::kS16:
      return _mm256_cvtepi16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(static_cast<const int16_t*>(src) + first)));
    default:
      return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(static_cast<const int32_t*>(src) + first));
  }
}

// 8 int64 values as int32 lanes; false when one of them does not fit int32.
bool load8_narrowed(const int64_t* src, __m256i* out) {
  const __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src));
  const __m256i b = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + 4));
  const __m256i low_halves = _mm256_setr_epi32(0, 2, 4, 6, 0, 2, 4, 6);
  const __m128i a32 = _mm256_castsi256_si128(_mm256_permutevar8x32_epi32(a, low_halves));
  const __m128i b32 = _mm256_castsi256_si128(_mm256_permutevar8x32_epi32(b, low_halves));
  // A value fits int32 iff sign-extending its low half gives it back.
  const __m256i same = _mm256_and_si256(_mm256_cmpeq_epi64(_mm256_cvtepi32_epi64(a32), a),
                                        _mm256_cmpeq_epi64(_mm256_cvtepi32_epi64(b32), b));
  *out = _mm256_set_m128i(b32, a32);
  return _mm256_movemask_epi8(same) == -1;
}

// Stores 8 int32 lanes, already within the byte type's range, as bytes.
void store8_bytes(__m256i q, bool is_signed, uint8_t* dst) {
  const __m256i words = _mm256_packs_epi32(q, q);  // per 128-bit half: q0..3 q0..3 | q4..7 q4..7
  const __m256i bytes = is_signed ? _mm256_packs_epi16(words, words) : _mm256_packus_epi16(words, words);
  const __m128i joined = _mm_unpacklo_epi32(_mm256_castsi256_si128(bytes), _mm256_extracti128_si256(bytes, 1));
  _mm_storel_epi64(reinterpret_cast<__m128i*>(dst), joined);
}

int64_t load_one(IntType t, const void* src, size_t i) {
  int64_t v;
  load_ints(src, t, i, 1, &v);
  return v;
}

// Elements [begin, end); begin is a multiple of 8 and of the channel count.
void requantize_range(const RequantizeParams& p, const RequantizeAvx2Plan& plan, const void* src,
                      uint8_t* dst, size_t begin, size_t end) {
  const bool is_signed = p.dst_type == IntType::kS8;
  const __m256i zx = _mm256_set1_epi32(static_cast<int32_t>(p.src_zero_point));
  const __m256i lo = _mm256_set1_epi32(static_cast<int32_t>(p.dst_min));
  const __m256i hi = _mm256_set1_epi32(static_cast<int32_t>(p.dst_max));
  const size_t groups = plan.blocks.size();
  size_t group = 0;  // channel group of element i
  size_t i = begin;
  for (; i + 8 <= end; i += 8) {
    __m256i x;
    if (p.src_type == IntType::kS64) {
      if (!load8_narrowed(static_cast<const int64_t*>(src) + i, &x)) {
        for (size_t k = i; k < i + 8; ++k)  // a value beyond int32: the scalar formula
          dst[k] = static_cast<uint8_t>(requantize_value(p, load_one(p.src_type, src, k), plan.requant[k % p.channels]));
        if (++group == groups) group = 0;
        continue;
      }
    } else {
      x = _mm256_sub_epi32(load8(p.src_type, src, i), zx);
    }
    const __m256i q = _mm256_max_epi32(_mm256_min_epi32(requant8(x, plan.blocks[group]), hi), lo);
    store8_bytes(q, is_signed, dst + i);
    if (++group == groups) group = 0;
  }
  for (; i < end; ++i) {
    dst[i] = static_cast<uint8_t>(requantize_value(p, load_one(p.src_type, src, i), plan.requant[i % p.channels]));
  }
}

}  // namespace

RequantizeAvx2PlanPtr requantize_avx2_plan(const RequantizeParams& p, const Dyadic* requant) {
  if (p.dst_type != IntType::kS8 && p.dst_type != IntType::kU8) return nullptr;
  if (!fits_int32_after_offset(p.src_type, p.src_zero_point)) return nullptr;
  if (p.channels == 0 || (p.channels != 1 && p.channels % 8 != 0)) return nullptr;
  // The epilogue needs the clamp bounds within 383 of the output zero point.
  if (p.dst_zero_point < -1024 || p.dst_zero_point > 1024) return nullptr;
  if (std::abs(p.dst_min - p.dst_zero_point) > 383 || std::abs(p.dst_max - p.dst_zero_point) > 383) return nullptr;
  RequantizeAvx2PlanPtr plan(new RequantizeAvx2Plan);
  plan->requant.assign(requant, requant + p.channels);
  plan->blocks.resize(p.channels == 1 ? 1 : p.channels / 8);
  for (size_t c = 0; c < plan->blocks.size() * 8; ++c) {
    const Dyadic d = requant[p.channels == 1 ? 0 : c];
    set_requant_lane(plan->blocks[c / 8], static_cast<int>(c % 8), d, static_cast<int32_t>(p.dst_zero_point));
  }
  return plan;
}

void requantize__avx2(const RequantizeParams& p, const RequantizeAvx2Plan& plan, const void* src,
                      void* dst, ThreadPool* pool) {
  const size_t unit = p.channels == 1 ? 8 : p.channels;
  const size_t chunk = std::max<size_t>(1, kChunkElements / unit) * unit;
  const size_t tasks = (p.count + chunk - 1) / chunk;
  parallel_for(pool, tasks, [&](size_t t) {
    requantize_range(p, plan, src, static_cast<uint8_t*>(dst), t * chunk, std::min(p.count, (t + 1) * chunk));
  });
}

}  // namespace dyad::kernels
