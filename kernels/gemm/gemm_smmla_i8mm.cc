// W8A8 GEMM on 64-bit ARM with SMMLA (FEAT_I8MM; built with
// -march=armv8.2-a+dotprod+i8mm and chosen only when the CPU reports i8mm).
// W4A8, W8A4 and W4A4 run here too (4-bit values in byte containers).
//
// SMMLA (vmmlaq_s32) multiplies a 2x8 int8 matrix (two rows, 8 k) by the
// transpose of another 2x8 (two columns, 8 k) into a 2x2 int32 block:
// 32 multiply-adds per instruction, twice SDOT's 16.
//
// Operands: the activations are int8 a = src - o (o = 0 for int8 sources,
// 128 for uint8 ones), as for SDOT (gemm_sdot_dotprod.cc), with rows in pairs:
// the pair (2p, 2p + 1) at row 2p of the block, as [kp/8][2][8] (row 2p's
// 8 bytes of a k block, then row 2p + 1's; a missing odd row is zeros). The
// weights are packed in column pairs, [kp/8][4][2][8] per 8-column panel
// (gemm_pack.cc, family kSmmla), and the column constant is the one of kSdot.
//
// Exactness: each product |a * w| <= 2^14, SMMLA adds the 8 products of a
// row and column pair into the int32 lane with wrap-around, so every step is
// exact mod 2^32, and under the planner's int32 bound (gemm.cc) the wrapped
// sum plus the column constant is the true accumulator; the epilogue is the
// SDOT variant's (gemm_neon.h), exact for every int32 accumulator. One
// thread forms each output in a fixed order (gemm_drive.h).
//
// Register tile: 8 rows x 8 columns = 4 row pairs x 4 column pairs = 16
// int32x4 blocks (each [r0c0, r0c1, r1c0, r1c1]); per k block of 8: 4 row-pair
// loads, 4 column-pair loads, 16 SMMLA (512 multiply-adds).
#include <arm_neon.h>

#include <cstring>

#include "kernels/gemm/gemm_drive.h"
#include "kernels/gemm/gemm_internal.h"
#include "kernels/gemm/gemm_neon.h"

namespace dyad::kernels {
namespace {

struct SmmlaKernel {
  static constexpr int kMR = 8, kNV = 1;
  static constexpr int kNR = 8 * kNV;
  static constexpr size_t kStepK = 8;  // one k block of 8 per step
  static constexpr size_t kStepBytes = size_t{kNR} * 8;
  static constexpr size_t kBlockSteps = 32 * 1024 / kStepBytes;  // ~32 KiB of a panel per K block
  static size_t step_unit(const GemmPlan&) { return 1; }

  // Row pairs interleaved per k block of 8 (see the file comment); rows is
  // at most plan.mc, a multiple of kMR, so an odd last row's partner slot is
  // inside the buffer and is zeroed.
  static void pack_a(const GemmPlan& plan, const uint8_t* src, size_t rows, size_t src_stride,
                     uint8_t* out) {
    const size_t K = plan.desc.K, kp = plan.kp;
    for (size_t r0 = 0; r0 < rows; r0 += 2) {
      uint8_t* pair = out + r0 * plan.a_stride;
      size_t k = 0;
      for (; k + 8 <= K; k += 8) {
        // Two 8-byte rows side by side: one 16-byte SMMLA operand.
        gemm_neon::offset_bytes(plan, src + r0 * src_stride + k, 8, pair + 2 * k);
        if (r0 + 1 < rows) {
          gemm_neon::offset_bytes(plan, src + (r0 + 1) * src_stride + k, 8, pair + 2 * k + 8);
        } else {
          std::memset(pair + 2 * k + 8, 0, 8);
        }
      }
      if (k < kp) {  // the last, partial k block (1 to 7 values): zero padded
        uint8_t block[2][8] = {};
        for (size_t t = 0; t < 8 && k + t < K; ++t) {
          block[0][t] = static_cast<uint8_t>(src[r0 * src_stride + k + t] ^ plan.src_offset);
          if (r0 + 1 < rows) block[1][t] = static_cast<uint8_t>(src[(r0 + 1) * src_stride + k + t] ^ plan.src_offset);
        }
        std::memcpy(pair + 2 * k, block, sizeof block);
      }
    }
  }

  static const void* panel(const GemmPlan& plan, size_t p, uint8_t*) {
    return plan.packed_wei.data() + p * plan.panel_bytes;
  }

  // Steps [s0, s1) of an R-row tile into acc (row stride kNR).
  template <int R>
  static void tile(const GemmPlan& plan, const uint8_t* a_bytes, const void* w_bytes, bool, size_t s0,
                   size_t s1, int32_t* acc, bool accumulate) {
    constexpr int kPairs = (R + 1) / 2;
    const auto* a = reinterpret_cast<const int8_t*>(a_bytes);
    const auto* w = static_cast<const int8_t*>(w_bytes);
    const size_t pair_stride = 2 * plan.a_stride;
    int32x4_t c[kPairs][4];
#pragma GCC unroll 4
    for (int p = 0; p < kPairs; ++p) {
      if (!accumulate) {
#pragma GCC unroll 4
        for (int j = 0; j < 4; ++j) c[p][j] = vdupq_n_s32(0);
        continue;
      }
      // Rows of int32 sums back into 2x2 blocks: [r0c0 r0c1 r1c0 r1c1].
      const int32_t* r0 = acc + 2 * p * kNR;
      const int32_t* r1 = 2 * p + 1 < R ? r0 + kNR : r0;  // a missing row's sums are never stored
#pragma GCC unroll 2
      for (int h = 0; h < 2; ++h) {
        const int64x2_t x0 = vreinterpretq_s64_s32(vld1q_s32(r0 + 4 * h));
        const int64x2_t x1 = vreinterpretq_s64_s32(vld1q_s32(r1 + 4 * h));
        c[p][2 * h] = vreinterpretq_s32_s64(vzip1q_s64(x0, x1));
        c[p][2 * h + 1] = vreinterpretq_s32_s64(vzip2q_s64(x0, x1));
      }
    }
#pragma GCC unroll 2
    for (size_t s = s0; s < s1; ++s) {
      const int8_t* ws = w + s * kStepBytes;
      int8x16_t wv[4];
#pragma GCC unroll 4
      for (int j = 0; j < 4; ++j) wv[j] = vld1q_s8(ws + 16 * j);
#pragma GCC unroll 4
      for (int p = 0; p < kPairs; ++p) {
        const int8x16_t av = vld1q_s8(a + p * pair_stride + 16 * s);
#pragma GCC unroll 4
        for (int j = 0; j < 4; ++j) c[p][j] = vmmlaq_s32(c[p][j], av, wv[j]);
      }
    }
#pragma GCC unroll 4
    for (int p = 0; p < kPairs; ++p) {
#pragma GCC unroll 2
      for (int h = 0; h < 2; ++h) {
        const int64x2_t x0 = vreinterpretq_s64_s32(c[p][2 * h]), x1 = vreinterpretq_s64_s32(c[p][2 * h + 1]);
        vst1q_s32(acc + 2 * p * kNR + 4 * h, vreinterpretq_s32_s64(vzip1q_s64(x0, x1)));
        if (2 * p + 1 < R) vst1q_s32(acc + (2 * p + 1) * kNR + 4 * h, vreinterpretq_s32_s64(vzip2q_s64(x0, x1)));
      }
    }
  }

  static void store_rows(const GemmPlan& plan, const int32_t* acc, int mr, size_t m0, size_t n0,
                         const GemmArgs& args) {
    gemm_neon::store_tile8(plan, acc, mr, m0, n0, args);
  }
};

}  // namespace

void gemm_x8_qc8w_8x8__i8mm(const GemmPlan& plan, const GemmArgs& args) {
  gemm_drive::drive<SmmlaKernel>(plan, args);
}

}  // namespace dyad::kernels
