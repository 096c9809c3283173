// AVX-512 requantize (F/BW/VL/DQ) to int8/uint8, the two paths of the AVX2
// variant on zmm: inputs that fit int32 after the zero point go through the
// GEMM epilogue's int32 requant on 16 lanes (kernels/common/requant_avx512.h,
// the same constants and exactness argument as requant_avx2.h); every other
// input through the 64-bit-lane path of requantize_wide.h, 8 lanes at a time.
#include <vector>

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

}  // namespace

RequantizeAvx512PlanPtr requantize_avx512_plan(const RequantizeParams& p, const Dyadic* requant) {
  RequantizeAvx512PlanPtr plan(new RequantizeAvx512Plan);
  if (!requantize_wide_plan(p, requant, &plan->wide)) return nullptr;
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
  if (!plan.int32_path) {
    requantize_wide<Simd>(p, plan.wide, src, dst, pool);
    return;
  }
  const size_t tasks = (p.count + kChunkElements - 1) / kChunkElements;
  parallel_for(pool, tasks, [&](size_t t) {
    const size_t begin = t * kChunkElements;
    const size_t end = begin + kChunkElements < p.count ? begin + kChunkElements : p.count;
    int32_path_range(p, plan, src, static_cast<uint8_t*>(dst), begin, end);
  });
}

}  // namespace dyad::kernels
