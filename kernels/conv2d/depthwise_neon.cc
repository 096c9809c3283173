// NEON depthwise KxK conv2d (K = 3 or 5; 64-bit ARM baseline): the AVX2 variant's plan
// and pair-row layout (kernels/conv2d/depthwise.h, width 16) with each
// 256-bit AVX2 vector held as two 128-bit halves: a pair-row entry is
// [zip1(d0, d1) of channels 0-7, of 8-15, zip2(...) of 0-7, of 8-15], in
// bytes exactly what vpunpcklwd / vpunpckhwd store, so the weights, bias and
// requant blocks of the plan are read unchanged.
//
// Exactness: vpmaddwd's two-tap sum d0*w0 + d1*w1 is formed here as two
// widening multiplies (SMULL, SMULL2, each product |d * w| <= 255 * 128) and
// a pairwise add (ADDP) of the two int32 products: the same exact value. The
// builder proved |bias| + max|d| * sum|w| < 2^31 (engine/ops/conv2d.cc), so the
// int32 sums never wrap, and integer addition makes the tap order irrelevant.
// The epilogue is requant4 (kernels/common/requant_neon.h), the AVX2
// requant8 lane for lane.
#include <arm_neon.h>

#include <algorithm>
#include <cstring>

#include "kernels/common/requant_neon.h"
#include "kernels/conv2d/depthwise_driver.h"

namespace dyad::kernels {

namespace {

// d = x - z_x of 16 channels as two int16x8 (channels >= `valid` read as 0).
template <bool kSigned>
inline void load16(const uint8_t* x, int64_t valid, int16x8_t zx, int16x8_t& lo, int16x8_t& hi) {
  uint8_t tmp[16] = {};
  const uint8_t* p = x;
  if (valid < 16) {
    std::memcpy(tmp, x, static_cast<size_t>(valid));
    p = tmp;  // lanes past `valid` have weight 0 and are not stored
  }
  const uint8x16_t v = vld1q_u8(p);
  if constexpr (kSigned) {
    const int8x16_t s = vreinterpretq_s8_u8(v);
    lo = vsubq_s16(vmovl_s8(vget_low_s8(s)), zx);
    hi = vsubq_s16(vmovl_high_s8(s), zx);
  } else {
    lo = vsubq_s16(vreinterpretq_s16_u16(vmovl_u8(vget_low_u8(v))), zx);
    hi = vsubq_s16(vreinterpretq_s16_u16(vmovl_high_u8(v)), zx);
  }
}

// The pair row of one input row (see the file comment and depthwise_avx2.cc).
template <bool kSigned>
void build_pair_row(const DepthwisePlan& plan, const uint8_t* x_row, uint8_t* out) {
  const Conv2dParams& p = plan.params;
  const int16x8_t zx = vdupq_n_s16(static_cast<int16_t>(p.src_zero_point));
  const int64_t C = p.in_c, sw = p.stride_w;
  for (int64_t b = 0; b < plan.blocks; ++b) {
    const int64_t valid = std::min<int64_t>(16, C - 16 * b);
    auto d_at = [&](int64_t q, int16x8_t& lo, int16x8_t& hi) {
      const int64_t iw = q - p.pad_left;
      if (iw < 0 || iw >= p.in_w) {
        lo = hi = vdupq_n_s16(0);
        return;
      }
      load16<kSigned>(x_row + iw * C + 16 * b, valid, zx, lo, hi);
    };
    int16_t* e = reinterpret_cast<int16_t*>(out + b * plan.entries * 64);
    for (int64_t j = 0; j < plan.entries; ++j) {
      int16x8_t d0lo, d0hi, d1lo, d1hi;
      d_at(j * sw, d0lo, d0hi);
      d_at(j * sw + 1, d1lo, d1hi);
      int16_t* entry = e + 32 * j;
      vst1q_s16(entry, vzip1q_s16(d0lo, d1lo));       // vpunpcklwd, 128-bit lane 0
      vst1q_s16(entry + 8, vzip1q_s16(d0hi, d1hi));   // vpunpcklwd, 128-bit lane 1
      vst1q_s16(entry + 16, vzip2q_s16(d0lo, d1lo));  // vpunpckhwd, lane 0
      vst1q_s16(entry + 24, vzip2q_s16(d0hi, d1hi));  // vpunpckhwd, lane 1
    }
  }
}

// vpmaddwd on one 128-bit half: lane i = e[2i] * w[2i] + e[2i + 1] * w[2i + 1].
inline int32x4_t madd(const int16_t* e, const int16_t* w) {
  const int16x8_t a = vld1q_s16(e), b = vld1q_s16(w);
  return vpaddq_s32(vmull_s16(vget_low_s16(a), vget_low_s16(b)), vmull_high_s16(a, b));
}

// One output row of a KxK window: rows[kh] is the pair row of input row
// oh*sh - pad_top + kh, or null when that row is padding.
template <int K>
void output_row(const DepthwisePlan& plan, const uint8_t* const* rows, uint8_t* y_row) {
  constexpr int kPairs = (K + 1) / 2;  // tap pairs per kernel row
  const Conv2dParams& p = plan.params;
  const int64_t C = p.out_c, step = 2 / p.stride_w;  // entry offset of tap pair q + 1 from pair q
  const bool raw = plan.requant.empty();
  const int32x4_t qmin = vdupq_n_s32(static_cast<int32_t>(p.out.min));
  const int32x4_t qmax = vdupq_n_s32(static_cast<int32_t>(p.out.max));
  for (int64_t b = 0; b < plan.blocks; ++b) {
    const int64_t valid = std::min<int64_t>(16, C - 16 * b);
    // Accumulators in the plan's lane order: s[0] channels 0-3, s[1] 8-11
    // (the AVX2 "lo" vector), s[2] 4-7, s[3] 12-15 ("hi").
    int32x4_t bias[4];
    for (int i = 0; i < 4; ++i) bias[i] = vld1q_s32(&plan.bias[b * 16 + 4 * i]);
    const int16_t* w[K];
    const int16_t* r[K];
    int taps = 0;
    for (int kh = 0; kh < K; ++kh) {
      if (rows[kh] == nullptr) continue;
      w[taps] = &plan.weights[((kh * plan.blocks + b) * 2 * kPairs) * 16];
      r[taps] = reinterpret_cast<const int16_t*>(rows[kh] + b * plan.entries * 64);
      ++taps;
    }
    for (int64_t ow = 0; ow < p.out_w; ++ow) {
      int32x4_t s[4] = {bias[0], bias[1], bias[2], bias[3]};
      for (int t = 0; t < taps; ++t)
        for (int q = 0; q < kPairs; ++q) {
          // Entry of tap pair q (32 int16: lo halves, then hi halves) and its
          // weights: lo (16 int16) then hi (16 int16), each two 128-bit halves.
          const int16_t* e = r[t] + 32 * (ow + q * step);
          const int16_t* wq = w[t] + 32 * q;
          for (int h = 0; h < 2; ++h) {
            s[h] = vaddq_s32(s[h], madd(e + 8 * h, wq + 8 * h));
            s[2 + h] = vaddq_s32(s[2 + h], madd(e + 16 + 8 * h, wq + 16 + 8 * h));
          }
        }
      // Channel order: 0-3 = s[0], 4-7 = s[2], 8-11 = s[1], 12-15 = s[3].
      const int32x4_t in_order[4] = {s[0], s[2], s[1], s[3]};
      uint8_t* out = y_row + (ow * C + 16 * b) * (raw ? 4 : 1);
      if (raw) {
        int32_t tmp[16];
        for (int i = 0; i < 4; ++i) vst1q_s32(tmp + 4 * i, in_order[i]);
        std::memcpy(out, tmp, static_cast<size_t>(valid) * 4);
        continue;
      }
      // requant blocks 2b (lanes: channels 0-3, 8-11) and 2b + 1 (4-7, 12-15).
      const RequantBlock8& q_lo = plan.requant[2 * b];
      const RequantBlock8& q_hi = plan.requant[2 * b + 1];
      auto clamp = [&](int32x4_t v) { return vminq_s32(vmaxq_s32(v, qmin), qmax); };
      const int32x4_t y0 = clamp(requant4(s[0], q_lo, 0)), y8 = clamp(requant4(s[1], q_lo, 1));
      const int32x4_t y4 = clamp(requant4(s[2], q_hi, 0)), y12 = clamp(requant4(s[3], q_hi, 1));
      // Inside [qmin, qmax] within the byte type: the low byte is the value.
      const int16x8_t w0 = vcombine_s16(vmovn_s32(y0), vmovn_s32(y4));
      const int16x8_t w1 = vcombine_s16(vmovn_s32(y8), vmovn_s32(y12));
      const uint8x16_t bytes = vreinterpretq_u8_s8(vcombine_s8(vmovn_s16(w0), vmovn_s16(w1)));
      if (valid == 16) {
        vst1q_u8(out, bytes);
      } else {
        uint8_t tmp[16];
        vst1q_u8(tmp, bytes);
        std::memcpy(out, tmp, static_cast<size_t>(valid));
      }
    }
  }
}

}  // namespace

void depthwise_conv2d__neon(const DepthwisePlan& plan, const void* src, void* dst, ThreadPool* pool,
                            uint8_t* scratch) {
  depthwise_drive(plan, src, dst, pool, scratch, plan.src_signed ? build_pair_row<true> : build_pair_row<false>,
                  plan.kernel == 5 ? output_row<5> : output_row<3>);
}

}  // namespace dyad::kernels
