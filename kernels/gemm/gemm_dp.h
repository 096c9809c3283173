// The VNNI GEMM kernel (family kDp), shared by the zmm (gemm_dp_avx512vnni.cc)
// and ymm (gemm_dp_avxvnni.cc) variants, which instantiate it with their
// vector type: u8 x s8 -> int32 quad sums with vpdpbusd, the non-saturating
// form.
//
// Operands: activation rows u = src - src_min in [0, 255] (pack_rows_u8, so
// a signed int8 x is stored x + 128), weights int8 in the 8-bit kUbs panel
// layout [kp/4][nr][4] (gemm_pack.cc). The column constant bias +
// (src_min - src_zp) * sum_k w (gemm_pack.cc, mod 2^32) turns sum_k u * w
// into sum_k (src - src_zp) * w + bias. vpdpbusd multiplies each u8 by an s8
// exactly (|u * w| <= 255 * 128 fits its 16-bit products) and adds the four
// products of a quad into int32 with wrap-around, so every sum is exact mod
// 2^32; the planner admits only descs whose true accumulator fits int32, so
// the wrapped sum is that accumulator (docs/kernels.md, "VNNI").
//
// Register tile kMR rows x kVecs vectors: kMR * kVecs sums, kVecs weight
// vectors of one k quad, one broadcast quad of a row. A step (one k quad) is
// kVecs weight loads, kMR broadcast loads (load ports only) and kMR * kVecs
// vpdpbusd: nothing else on the vector ports.
#pragma once

#include "kernels/gemm/gemm_avx2.h"

namespace dyad::kernels::gemm_avx2 {
inline namespace DYAD_ISA_NAMESPACE {

// Vec provides: V (the vector type), kLanes (int32 lanes), load(p),
// broadcast32(p), zero(), store(p, v), dp(acc, u8s, s8s); optionally
// store_rows<NR>(plan, acc, mr, m0, n0, args), a wider epilogue.
template <class Vec, int MR, int Vecs>
struct DpKernel {
  using V = typename Vec::V;
  static constexpr int kMR = MR;
  static constexpr int kVecs = Vecs;
  static constexpr int kNR = Vecs * Vec::kLanes;
  static constexpr int kNV = kNR / 8;  // drive() counts 8-column units
  static constexpr size_t kStepK = 4;  // one k quad per step
  static constexpr size_t kStepBytes = size_t{kNR} * 4;
  // About 40 KiB of a panel's weights per K block: they stay in L1 (48 KiB
  // on Sapphire Rapids and Alder Lake) while every row tile of the activation
  // block passes over them. Measured on SPR, 1 thread: 2-4% faster than 24
  // KiB, 5-7% faster than no K blocking.
  static constexpr size_t kBlockSteps = 40 * 1024 / kStepBytes;
  static size_t step_unit(const GemmPlan&) { return 1; }

  static void pack_a(const GemmPlan& plan, const uint8_t* src, size_t rows, size_t src_stride,
                     uint8_t* out) {
    pack_rows_u8(plan, src, rows, src_stride, out);
  }

  // The epilogue: the Vec's own where it has one (zmm: 16 columns at a
  // time), else the shared 8-column one.
  static void store_rows(const GemmPlan& plan, const int32_t* acc, int mr, size_t m0, size_t n0,
                         const GemmArgs& args) {
    if constexpr (requires { &Vec::template store_rows<kNR>; }) {
      Vec::template store_rows<kNR>(plan, acc, mr, m0, n0, args);
    } else {
      store_tile<kNV>(plan, acc, mr, m0, n0, args);
    }
  }

  // The int8 panel is read as is.
  static const void* panel(const GemmPlan& plan, size_t p, uint8_t*) {
    return plan.packed_wei.data() + p * plan.panel_bytes;
  }

  // Steps [s0, s1) of an R-row tile into the int32 sums at acc (row stride
  // kNR). Prefetch: with few rows the weights stream from memory, and the
  // hardware prefetcher alone falls short of the bandwidth.
  template <int R, bool Prefetch>
  __attribute__((always_inline)) static inline void steps(const uint8_t* a, size_t a_stride,
                                                          const uint8_t* w, size_t s0, size_t s1,
                                                          int32_t* acc, bool accumulate) {
    V c[R][Vecs];
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
      for (int j = 0; j < Vecs; ++j)
        c[r][j] = accumulate ? Vec::load(acc + r * kNR + j * Vec::kLanes) : Vec::zero();
    for (size_t i = s0; i < s1; ++i) {
      const uint8_t* wi = w + i * kStepBytes;
      if constexpr (Prefetch) {
#pragma GCC unroll 8
        for (size_t line = 0; line < kStepBytes; line += 64)
          _mm_prefetch(reinterpret_cast<const char*>(wi + 4096 + line), _MM_HINT_T0);
      }
      V wv[Vecs];
#pragma GCC unroll 8
      for (int j = 0; j < Vecs; ++j) wv[j] = Vec::load(wi + j * Vec::kLanes * 4);
#pragma GCC unroll 16
      for (int r = 0; r < R; ++r) {
        const V b = Vec::broadcast32(a + r * a_stride + 4 * i);
#pragma GCC unroll 8
        for (int j = 0; j < Vecs; ++j) c[r][j] = Vec::dp(c[r][j], b, wv[j]);
      }
    }
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
      for (int j = 0; j < Vecs; ++j) Vec::store(acc + r * kNR + j * Vec::kLanes, c[r][j]);
  }

  // Short tiles prefetch: they are GEMV-like runs, where few rows share the
  // weights (the last tile of a taller block only touches lines in cache).
  template <int R>
  static void tile(const GemmPlan& plan, const uint8_t* a, const void* w, bool /*direct*/,
                   size_t s0, size_t s1, int32_t* acc, bool accumulate) {
    steps<R, (R < kMR)>(a, plan.a_stride, static_cast<const uint8_t*>(w), s0, s1, acc, accumulate);
  }
};

}  // namespace DYAD_ISA_NAMESPACE
}  // namespace dyad::kernels::gemm_avx2
