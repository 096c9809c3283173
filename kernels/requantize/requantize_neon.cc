// NEON requantize to int8/uint8 (64-bit ARM baseline: no extension needed).
// Inputs that fit int32 after the zero point (int8, uint8, int16; int32 with
// zero point 0), 1 or a multiple of 8 channels (requantize_int32_path_applies):
// the GEMM epilogue's int32 requant (kernels/common/requant_neon.h, the same
// steps as the AVX2 variant's requant8, exact for every int32 value) applied
// to x - z_x, 8 lanes at a time, then the activation clamp and a narrowing
// store; the tail of fewer than 8 elements takes the scalar definition. Every
// other input (int64 -- I-BERT's GELU and LayerNorm outputs --, int32 with a
// zero point, other channel counts) takes the exact 64-bit-lane path of
// requantize_wide.h over kernels/common/simd_neon.h, as on AVX2; what that
// refuses (outputs wider than a byte) runs the reference.
#include <arm_neon.h>

#include <algorithm>
#include <vector>

#include "kernels/common/requant_neon.h"
#include "kernels/common/simd_neon.h"
#include "kernels/common/thread_pool.h"
#include "kernels/requantize/requantize.h"
#include "kernels/requantize/requantize_wide.h"
#include "kernels/requantize/requantize_wide_simd.h"

namespace dyad::kernels {

struct RequantizeNeonPlan {
  std::vector<RequantBlock8> blocks;  // one per 8 channels (one in all for channels == 1)
  std::vector<Dyadic> requant;        // per channel, for the tail
  bool wide = false;                  // the 64-bit-lane path instead of the blocks
  RequantizeWidePlan wide_plan;
};

void RequantizeNeonPlanDeleter::operator()(RequantizeNeonPlan* plan) const { delete plan; }

namespace {

constexpr size_t kChunkElements = 16384;  // work per task, rounded to whole channel groups

// Elements first..first + 7 as two int32x4.
void load8(IntType t, const void* src, size_t first, int32x4_t& lo, int32x4_t& hi) {
  switch (t) {
    case IntType::kS8: {
      const int16x8_t w = vmovl_s8(vld1_s8(static_cast<const int8_t*>(src) + first));
      lo = vmovl_s16(vget_low_s16(w));
      hi = vmovl_high_s16(w);
      return;
    }
    case IntType::kU8: {
      const uint16x8_t w = vmovl_u8(vld1_u8(static_cast<const uint8_t*>(src) + first));
      lo = vreinterpretq_s32_u32(vmovl_u16(vget_low_u16(w)));
      hi = vreinterpretq_s32_u32(vmovl_high_u16(w));
      return;
    }
    case IntType::kS16: {
      const int16x8_t w = vld1q_s16(static_cast<const int16_t*>(src) + first);
      lo = vmovl_s16(vget_low_s16(w));
      hi = vmovl_high_s16(w);
      return;
    }
    default:
      lo = vld1q_s32(static_cast<const int32_t*>(src) + first);
      hi = vld1q_s32(static_cast<const int32_t*>(src) + first + 4);
      return;
  }
}

// Elements [begin, end); begin is a multiple of 8 and of the channel count.
void requantize_range(const RequantizeParams& p, const RequantizeNeonPlan& plan, const void* src,
                      uint8_t* dst, size_t begin, size_t end) {
  const int32x4_t zx = vdupq_n_s32(static_cast<int32_t>(p.src_zero_point));
  const int32x4_t lo = vdupq_n_s32(static_cast<int32_t>(p.dst_min));
  const int32x4_t hi = vdupq_n_s32(static_cast<int32_t>(p.dst_max));
  const size_t groups = plan.blocks.size();
  size_t group = 0;  // channel group of element i
  size_t i = begin;
  for (; i + 8 <= end; i += 8) {
    int32x4_t x0, x1;
    load8(p.src_type, src, i, x0, x1);
    const RequantBlock8& b = plan.blocks[group];
    const int32x4_t q0 = vminq_s32(vmaxq_s32(requant4(vsubq_s32(x0, zx), b, 0), lo), hi);
    const int32x4_t q1 = vminq_s32(vmaxq_s32(requant4(vsubq_s32(x1, zx), b, 1), lo), hi);
    // Within the int8 or uint8 range after the clamp: the low byte is the value.
    vst1_u8(dst + i, vmovn_u16(vreinterpretq_u16_s16(vcombine_s16(vmovn_s32(q0), vmovn_s32(q1)))));
    if (++group == groups) group = 0;
  }
  if (i < end) requantize_scalar_range(p, plan.requant.data(), src, dst, i, end);
}

}  // namespace

RequantizeNeonPlanPtr requantize_neon_plan(const RequantizeParams& p, const Dyadic* requant) {
  RequantizeNeonPlanPtr plan(new RequantizeNeonPlan);
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

void requantize__neon(const RequantizeParams& p, const RequantizeNeonPlan& plan, const void* src, void* dst,
                      ThreadPool* pool) {
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
