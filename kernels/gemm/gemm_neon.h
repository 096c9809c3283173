// Shared by the 64-bit ARM GEMM variants (include only from *_dotprod.cc and
// *_i8mm.cc files; isa_namespace.h keeps each ISA's copies apart): the
// 8-column epilogue (the RequantBlock8 requant on NEON) for a tile of int32
// sums with row stride 8, and the activation bytes of the s8 x s8 families.
#pragma once

#include <arm_neon.h>

#include <algorithm>
#include <cstring>

#include "kernels/common/isa_namespace.h"
#include "kernels/common/requant_neon.h"
#include "kernels/gemm/gemm_internal.h"

namespace dyad::kernels::gemm_neon {
inline namespace DYAD_ISA_NAMESPACE {

// src - src_offset as int8 (src_offset 0 for int8 sources, 128 for uint8
// ones: a byte XOR), `count` bytes from s to a.
inline void offset_bytes(const GemmPlan& plan, const uint8_t* s, size_t count, uint8_t* a) {
  const uint8x16_t flip = vdupq_n_u8(static_cast<uint8_t>(plan.src_offset));
  size_t k = 0;
  for (; k + 16 <= count; k += 16) vst1q_u8(a + k, veorq_u8(vld1q_u8(s + k), flip));
  for (; k < count; ++k) a[k] = static_cast<uint8_t>(s[k] ^ plan.src_offset);
}

// The epilogue of an mr x 8 tile of int32 sums (row stride 8) for output
// rows m0.., columns n0.. (a multiple of 8): sum + column constant (mod
// 2^32: the true accumulator), then the RequantBlock8 requant
// (requant_neon.h, the AVX2 epilogue's arithmetic lane for lane), the
// [qmin, qmax] clamp and a narrowing store; columns past N are dropped.
inline void store_tile8(const GemmPlan& plan, const int32_t* acc, int mr, size_t m0, size_t n0,
                       const GemmArgs& args) {
  constexpr int kNR = 8;
  const GemmDesc& d = plan.desc;
  const size_t ncols = std::min<size_t>(kNR, d.N - n0);
  const int32x4_t c0 = vld1q_s32(plan.col_const.data() + n0), c1 = vld1q_s32(plan.col_const.data() + n0 + 4);
  const int32x4_t qmin = vdupq_n_s32(d.qmin), qmax = vdupq_n_s32(d.qmax);
  for (int r = 0; r < mr; ++r) {
    const int32x4_t s0 = vaddq_s32(vld1q_s32(acc + r * kNR), c0);
    const int32x4_t s1 = vaddq_s32(vld1q_s32(acc + r * kNR + 4), c1);
    const size_t row = (m0 + r) * args.dst_stride + n0;
    if (d.dst_type == GemmDstType::kInt32) {
      int32_t out[kNR];
      vst1q_s32(out, s0);
      vst1q_s32(out + 4, s1);
      std::memcpy(static_cast<int32_t*>(args.dst) + row, out, ncols * sizeof(int32_t));
      continue;
    }
    const RequantBlock8& b = plan.requant_blocks[n0 / 8];
    const int32x4_t y0 = vminq_s32(vmaxq_s32(requant4(s0, b, 0), qmin), qmax);
    const int32x4_t y1 = vminq_s32(vmaxq_s32(requant4(s1, b, 1), qmin), qmax);
    // In [qmin, qmax], inside the int8 or uint8 range: the low byte is the value.
    const uint8x8_t bytes = vmovn_u16(vreinterpretq_u16_s16(vcombine_s16(vmovn_s32(y0), vmovn_s32(y1))));
    uint8_t* out = static_cast<uint8_t*>(args.dst) + row;
    if (ncols == kNR) {
      vst1_u8(out, bytes);
    } else {
      uint8_t tmp[kNR];
      vst1_u8(tmp, bytes);
      std::memcpy(out, tmp, ncols);
    }
  }
}

}  // namespace DYAD_ISA_NAMESPACE
}  // namespace dyad::kernels::gemm_neon
