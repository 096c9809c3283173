// AVX-512 requantize (F/BW/VL/DQ) to int8/uint8, the two paths of the AVX2
// variant on zmm: inputs that fit int32 after the zero point go through the
// GEMM epilogue's int32 requant on 16 lanes (kernels/common/requant_avx512.h,
// the same constants and exactness argument as requant_avx2.h); every other
// input through the 64-bit-lane path of requantize_wide.h, 8 lanes at a time.
// A third path where the CPU has AVX-512 VBMI: one requant pair (for every
// channel) from 8-bit inputs to 8-bit outputs is a table of the 256 input bytes,
// computed with requantize_value (so exact by construction), looked up 64
// bytes at a time with two vpermi2b (ResNet-18 mixed's int8 -> 4-bit
// requantizes of the residual: 37 us in all on the int32 path).
#include <immintrin.h>

#include <algorithm>
#include <vector>

#include "kernels/common/cpu.h"
#include "kernels/common/pack_bytes_avx512.h"
#include "kernels/common/requant_avx512.h"
#include "kernels/common/simd_avx512.h"
#include "kernels/requantize/requantize.h"
#include "kernels/requantize/requantize_wide_simd.h"

namespace dyad::kernels {

struct RequantizeAvx512Plan {
  RequantizeWidePlan wide;  // the 64-bit path, and the per-channel pairs for the tails
  bool int32_path = false;
  // int32 path: entry g requantizes channels [8g, 8g + 16) (mod channels);
  // a single entry for channels == 1.
  std::vector<Requant16> groups;
  bool table_path = false;
  alignas(64) uint8_t table[256] = {};  // output byte of each input byte
};

void RequantizeAvx512PlanDeleter::operator()(RequantizeAvx512Plan* plan) const { delete plan; }

namespace {

constexpr size_t kChunkElements = 16384;  // per task; a multiple of 16 and of 8 channels

void int32_path_range(const RequantizeParams& p, const RequantizeAvx512Plan& plan, const void* src, uint8_t* dst,
                      size_t begin, size_t end) {
  const size_t groups = plan.groups.size();
  size_t g = p.channels == 1 ? 0 : (begin % p.channels) / 8;
  const __m512i zx = Simd::set1_32(static_cast<int32_t>(p.src_zero_point));
  const __m512i lo = Simd::set1_32(static_cast<int32_t>(p.dst_min));
  const __m512i hi = Simd::set1_32(static_cast<int32_t>(p.dst_max));
  size_t i = begin;
  with_int_type(p.src_type, [&](auto zero) {
    using T = decltype(zero);
    if constexpr (sizeof(T) <= 4) {
      const T* s = static_cast<const T*>(src);
      for (; i + 16 <= end; i += 16) {
        const __m512i x = Simd::sub32(Simd::load_s32(s + i), zx);
        Simd::store_bytes(dst + i, Simd::max32(Simd::min32(plan.groups[g].apply(x), hi), lo), true);
        g += 2;
        g = g < groups ? g : g % groups;
      }
    }
  });
  if (i < end) requantize_scalar_range(p, plan.wide.requant.data(), src, dst, i, end);
}

__attribute__((target("avx512vbmi"))) void table_path_range(const RequantizeAvx512Plan& plan, const uint8_t* src,
                                                             uint8_t* dst, size_t begin, size_t end) {
  const __m512i t0 = _mm512_load_si512(plan.table), t1 = _mm512_load_si512(plan.table + 64);
  const __m512i t2 = _mm512_load_si512(plan.table + 128), t3 = _mm512_load_si512(plan.table + 192);
  for (size_t i = begin; i < end; i += 64) {
    const __mmask64 mask = first_bytes(end - i);
    const __m512i x = _mm512_maskz_loadu_epi8(mask, src + i);
    // Entries 0-127 and 128-255 by the low 7 bits, chosen by the top bit.
    const __m512i y = _mm512_mask_blend_epi8(_mm512_movepi8_mask(x), _mm512_permutex2var_epi8(t0, x, t1),
                                             _mm512_permutex2var_epi8(t2, x, t3));
    _mm512_mask_storeu_epi8(dst + i, mask, y);
  }
}

}  // namespace

RequantizeAvx512PlanPtr requantize_avx512_plan(const RequantizeParams& p, const Dyadic* requant) {
  RequantizeAvx512PlanPtr plan(new RequantizeAvx512Plan);
  if (!requantize_wide_plan(p, requant, &plan->wide)) return nullptr;
  // One pair: channels == 1, or every channel's the same (the engine passes
  // a per-tensor requantize's pair once per channel).
  bool one_pair = true;
  for (size_t c = 1; c < p.channels; ++c)
    one_pair = one_pair && requant[c].m == requant[0].m && requant[c].e == requant[0].e;
  if (one_pair && int_type_bytes(p.src_type) == 1 && int_type_bytes(p.dst_type) == 1 && cpu_features().avx512_vbmi) {
    plan->table_path = true;
    for (int b = 0; b < 256; ++b) {
      const int64_t x = p.src_type == IntType::kS8 ? static_cast<int8_t>(b) : b;
      plan->table[b] = static_cast<uint8_t>(requantize_value(p, x, requant[0]));
    }
    return plan;
  }
  if (!requantize_int32_path_applies(p)) return plan;
  plan->int32_path = true;
  const size_t groups = p.channels == 1 ? 1 : p.channels / 8;
  const int32_t zy = static_cast<int32_t>(p.dst_zero_point);
  auto block = [&](size_t k) {
    RequantBlock8 b;
    for (int lane = 0; lane < 8; ++lane)
      set_requant_lane(b, lane, requant[p.channels == 1 ? 0 : k * 8 + static_cast<size_t>(lane)], zy);
    return b;
  };
  plan->groups.reserve(groups);
  for (size_t k = 0; k < groups; ++k) {
    const RequantBlock8 first = block(k), second = block((k + 1) % groups);
    plan->groups.emplace_back(first, second);
  }
  return plan;
}

void requantize__avx512(const RequantizeParams& p, const RequantizeAvx512Plan& plan, const void* src, void* dst,
                        ThreadPool* pool) {
  if (!plan.table_path && !plan.int32_path) {
    requantize_wide<Simd>(p, plan.wide, src, dst, pool);
    return;
  }
  // The table and int32 paths: chunks of kChunkElements over the threads.
  const size_t tasks = (p.count + kChunkElements - 1) / kChunkElements;
  parallel_for(pool, tasks, [&](size_t t) {
    const size_t begin = t * kChunkElements, end = std::min(p.count, begin + kChunkElements);
    if (plan.table_path) {
      table_path_range(plan, static_cast<const uint8_t*>(src), static_cast<uint8_t*>(dst), begin, end);
    } else {
      int32_path_range(p, plan, src, static_cast<uint8_t*>(dst), begin, end);
    }
  });
}

}  // namespace dyad::kernels
