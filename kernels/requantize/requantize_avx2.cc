// AVX2 requantize to int8/uint8. Inputs that fit int32 after the zero point
// (int8, uint8, int16; int32 with zero point 0): the GEMM epilogue's int32
// requant (kernels/common/requant_avx2.h, exactness in docs/kernels.md)
// applied to x - z_x, 8 lanes at a time, then the activation clamp and a
// narrowing pack. The epilogue is exact for every int32 value, -2^31 included
// (requant_block8.cc). Every other input (int64, int32 with a zero point, or
// channel counts the blocks do not take): the exact 64-bit-lane path of
// requantize_wide.h.
#include <immintrin.h>

#include <algorithm>
#include <cstdlib>
#include <vector>

#include "kernels/common/requant_avx2.h"
#include "kernels/common/simd_avx2.h"
#include "kernels/common/thread_pool.h"
#include "kernels/requantize/requantize.h"
#include "kernels/requantize/requantize_wide_simd.h"

namespace dyad::kernels {

struct RequantizeAvx2Plan {
  std::vector<RequantBlock8> blocks;  // one per 8 channels (one in all for channels == 1)
  std::vector<Dyadic> requant;        // per channel, for the tail
  bool wide = false;                  // the 64-bit-lane path instead of the blocks
  RequantizeWidePlan wide_plan;
};

void RequantizeAvx2PlanDeleter::operator()(RequantizeAvx2Plan* plan) const { delete plan; }

namespace {

constexpr size_t kChunkElements = 16384;  // work per task, rounded to whole channel groups

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

// Stores 8 int32 lanes, already within the byte type's range, as bytes.
void store8_bytes(__m256i q, bool is_signed, uint8_t* dst) {
  const __m256i words = _mm256_packs_epi32(q, q);  // per 128-bit half: q0..3 q0..3 | q4..7 q4..7
  const __m256i bytes = is_signed ? _mm256_packs_epi16(words, words) : _mm256_packus_epi16(words, words);
  const __m128i joined = _mm_unpacklo_epi32(_mm256_castsi256_si128(bytes), _mm256_extracti128_si256(bytes, 1));
  _mm_storel_epi64(reinterpret_cast<__m128i*>(dst), joined);
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
    const __m256i x = _mm256_sub_epi32(load8(p.src_type, src, i), zx);
    const __m256i q = _mm256_max_epi32(_mm256_min_epi32(requant8(x, plan.blocks[group]), hi), lo);
    store8_bytes(q, is_signed, dst + i);
    if (++group == groups) group = 0;
  }
  if (i < end) requantize_scalar_range(p, plan.requant.data(), src, dst, i, end);
}

}  // namespace

RequantizeAvx2PlanPtr requantize_avx2_plan(const RequantizeParams& p, const Dyadic* requant) {
  if (p.dst_type != IntType::kS8 && p.dst_type != IntType::kU8) return nullptr;
  RequantizeAvx2PlanPtr plan(new RequantizeAvx2Plan);
  if (!requantize_int32_path_applies(p)) {
    if (!requantize_wide_plan(p, requant, &plan->wide_plan)) return nullptr;
    plan->wide = true;
    return plan;
  }
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
  if (plan.wide) {
    requantize_wide<Simd>(p, plan.wide_plan, src, dst, pool);
    return;
  }
  const size_t unit = p.channels == 1 ? 8 : p.channels;
  const size_t chunk = std::max<size_t>(1, kChunkElements / unit) * unit;
  const size_t tasks = (p.count + chunk - 1) / chunk;
  parallel_for(pool, tasks, [&](size_t t) {
    requantize_range(p, plan, src, static_cast<uint8_t*>(dst), t * chunk, std::min(p.count, (t + 1) * chunk));
  });
}

}  // namespace dyad::kernels
