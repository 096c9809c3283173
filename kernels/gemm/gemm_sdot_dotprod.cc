// W8A8 GEMM on 64-bit ARM with SDOT (FEAT_DotProd, Armv8.2-A; built with
// -march=armv8.2-a+dotprod and chosen only when the CPU reports asimddp).
// W4A8 runs here too: 4-bit weights are int8 values in [-8, 7].
//
// Operands. SDOT multiplies signed bytes by signed bytes, so the activations
// are stored as a = src - o with o = 0 for int8 sources and o = 128 for uint8
// ones (a in [-128, 127] either way; unlike vpdpbusd's u8 x s8 there is no
// need for src_min). The weights are the int8 panels of the kDp / kUbs layout
// [kp/4][8][4] (gemm_pack.cc), and the column constant
//   col[n] = bias[n] + (o - src_zp) * sum_k w[n][k]   (mod 2^32, gemm_pack.cc)
// turns sum_k a * w into the accumulator sum_k (src - src_zp) * w + bias.
//
// Exactness. Each SDOT lane adds four products a * w, each |a * w| <= 128 *
// 128 = 2^14, into an int32 with wrap-around: every product and every step
// is exact mod 2^32, so the tile sums plus col[n] equal the true accumulator
// mod 2^32. The planner admits this variant only when the true accumulator
// fits int32 for every source in the desc's range (gemm.cc, acc_fits_int32),
// so the value mod 2^32, read as int32, is the accumulator itself. The
// epilogue requantizes it with the RequantBlock8 steps the x86 kernels use
// (gemm_neon.h, requant_neon.h; exact for every int32 accumulator,
// docs/kernels.md), so
// every output equals gemm_x8_qc8w__ref's. The sums
// of one output are formed by one thread in a fixed order (gemm_drive.h), and
// mod-2^32 addition is exact in any order anyway: no thread-count dependence.
//
// Register tile: 8 rows x 8 columns = 16 int32x4 sums. One 16-byte load gives
// four k quads of a row; each quad's 8 columns are two weight vectors, and
// SDOT's lane form (vdotq_laneq_s32) multiplies them by one quad of the row
// vector: per 4 quads, 8 row loads + 8 weight loads for 64 SDOT (26 of the 32
// vector registers).
#include <arm_neon.h>

#include <algorithm>
#include <cstring>

#include "kernels/gemm/gemm_drive.h"
#include "kernels/gemm/gemm_internal.h"
#include "kernels/gemm/gemm_neon.h"

namespace dyad::kernels {
namespace {

struct SdotKernel {
  static constexpr int kMR = 8, kNV = 1;
  static constexpr int kNR = 8 * kNV;
  static constexpr size_t kStepK = 4;        // one k quad per step
  static constexpr size_t kQuadBytes = kNR * 4;
  static constexpr size_t kBlockSteps = 32 * 1024 / kQuadBytes;  // ~32 KiB of a panel per K block
  // K blocks start at multiples of 4 quads: one row vector holds 4 quads.
  static size_t step_unit(const GemmPlan&) { return 4; }

  // Rows as int8 a = src - src_offset, zero padded to kp rounded up to 16
  // (the last row vector's unused quads; a_stride >= kp + 8 leaves room).
  static void pack_a(const GemmPlan& plan, const uint8_t* src, size_t rows, size_t src_stride,
                     uint8_t* out) {
    const size_t K = plan.desc.K, padded = (size_t(plan.kp) + 15) / 16 * 16;
    for (size_t r = 0; r < rows; ++r) {
      uint8_t* a = out + r * plan.a_stride;
      gemm_neon::offset_bytes(plan, src + r * src_stride, K, a);
      std::memset(a + K, 0, padded - K);
    }
  }

  static const void* panel(const GemmPlan& plan, size_t p, uint8_t*) {
    return plan.packed_wei.data() + p * plan.panel_bytes;
  }

  // Quad Q of the row vectors av times the 8 columns of weight quad wq.
  template <int R, int Q>
  __attribute__((always_inline)) static inline void quad(int32x4_t (&c)[R][2], const int8x16_t (&av)[R],
                                                         const int8_t* wq) {
    const int8x16_t w0 = vld1q_s8(wq), w1 = vld1q_s8(wq + 16);
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      c[r][0] = vdotq_laneq_s32(c[r][0], w0, av[r], Q);
      c[r][1] = vdotq_laneq_s32(c[r][1], w1, av[r], Q);
    }
  }

  // Steps (quads) [s0, s1) of an R-row tile into acc (row stride kNR); s0 is
  // a multiple of 4.
  template <int R>
  static void tile(const GemmPlan& plan, const uint8_t* a_bytes, const void* w_bytes, bool, size_t s0,
                   size_t s1, int32_t* acc, bool accumulate) {
    const auto* a = reinterpret_cast<const int8_t*>(a_bytes);
    const auto* w = static_cast<const int8_t*>(w_bytes);
    const size_t a_stride = plan.a_stride;
    int32x4_t c[R][2];
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      c[r][0] = accumulate ? vld1q_s32(acc + r * kNR) : vdupq_n_s32(0);
      c[r][1] = accumulate ? vld1q_s32(acc + r * kNR + 4) : vdupq_n_s32(0);
    }
    size_t s = s0;
    int8x16_t av[R];
    for (; s + 4 <= s1; s += 4) {
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r) av[r] = vld1q_s8(a + r * a_stride + 4 * s);
      const int8_t* wq = w + s * kQuadBytes;
      quad<R, 0>(c, av, wq);
      quad<R, 1>(c, av, wq + kQuadBytes);
      quad<R, 2>(c, av, wq + 2 * kQuadBytes);
      quad<R, 3>(c, av, wq + 3 * kQuadBytes);
    }
    if (s < s1) {  // 1 to 3 quads left (the row vector's later quads are padding)
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r) av[r] = vld1q_s8(a + r * a_stride + 4 * s);
      const int8_t* wq = w + s * kQuadBytes;
      quad<R, 0>(c, av, wq);
      if (s + 1 < s1) quad<R, 1>(c, av, wq + kQuadBytes);
      if (s + 2 < s1) quad<R, 2>(c, av, wq + 2 * kQuadBytes);
    }
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      vst1q_s32(acc + r * kNR, c[r][0]);
      vst1q_s32(acc + r * kNR + 4, c[r][1]);
    }
  }

  static void store_rows(const GemmPlan& plan, const int32_t* acc, int mr, size_t m0, size_t n0,
                         const GemmArgs& args) {
    gemm_neon::store_tile8(plan, acc, mr, m0, n0, args);
  }
};

}  // namespace

void gemm_x8_qc8w_8x8__dotprod(const GemmPlan& plan, const GemmArgs& args) {
  gemm_drive::drive<SdotKernel>(plan, args);
}

}  // namespace dyad::kernels
