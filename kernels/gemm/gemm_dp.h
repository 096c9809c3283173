// The VNNI GEMM kernel (family kDp), shared by the zmm (gemm_dp_avx512vnni.cc)
// and ymm (gemm_dp_avxvnni.cc) variants, which instantiate it with their
// vector type: u8 x s8 -> int32 quad sums with vpdpbusd, the non-saturating
// form. W8A8 and, with 4-bit weights packed as nibbles (`qc4w` variants),
// W4A8 / W4A4: nibbles unpacked in registers for few rows, into a per-thread
// panel of bytes otherwise.
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
// broadcast32(p), set1_32(x), set1_8(x), zero(), store(p, v), dp(acc, u8s,
// s8s), low_nibbles(x) / high_nibbles(x) (each byte's low / high 4 bits),
// sub8(x, y) (bytewise x - y); optionally a wider epilogue: Epilogue<NR>(plan,
// n0) (a panel's constants), store_rows<NR>(epilogue, acc, mr, m0, args) and
// store_regs<NR, R>(epilogue, sums, m0, args).
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
  // Nibble panels hold k quads in pairs: K blocks start at even steps.
  static size_t step_unit(const GemmPlan& plan) { return plan.variant->packed_weight_bits == 4 ? 2 : 1; }

  // The rows of pack_rows_u8; the Vec's own where it has one (zmm: masked
  // 64-byte chunks, no scalar tail per row, which short rows (K of 16-64 in
  // MobileNet's 1x1 convs and stems) spent most of their time in).
  static void pack_a(const GemmPlan& plan, const uint8_t* src, size_t rows, size_t src_stride,
                     uint8_t* out) {
    if constexpr (requires { &Vec::pack_rows; }) {
      Vec::pack_rows(plan, src, rows, src_stride, out);
    } else {
      pack_rows_u8(plan, src, rows, src_stride, out);
    }
  }

  // The epilogue: the Vec's own where it has one (zmm: 16 columns at a
  // time, its constants gathered once per panel), else the shared 8-column
  // one (gemm_avx2.h WithEpilogue).
  static auto epilogue(const GemmPlan& plan, size_t n0)
    requires requires { typename Vec::template Epilogue<kNR>; }
  {
    return typename Vec::template Epilogue<kNR>(plan, n0);
  }
  template <class Epilogue>
  __attribute__((always_inline)) static inline void store_rows(const GemmPlan&, const Epilogue& epilogue,
                                                               const int32_t* acc, int mr, size_t m0,
                                                               const GemmArgs& args) {
    Vec::template store_rows<kNR>(epilogue, acc, mr, m0, args);
  }

  // An int8 panel is read as is. A nibble panel (4-bit weights, the kUbs
  // nibble layout of gemm_pack.cc: one vector of a quad pair holds quad 2q
  // in its low and quad 2q + 1 in its high nibbles, each w + 8) is read as is
  // in the direct path (few rows), else unpacked once into scratch as signed
  // bytes in the int8 layout, shared by every row tile.
  static const void* panel(const GemmPlan& plan, size_t p, uint8_t* scratch) {
    const uint8_t* packed = plan.packed_wei.data() + p * plan.panel_bytes;
    if (scratch == nullptr || plan.variant->packed_weight_bits == 8) return packed;
    const V eight = Vec::set1_8(8);
    constexpr size_t kVecBytes = Vec::kLanes * 4;
    for (size_t pair = 0; pair < size_t(plan.kp) / 8; ++pair) {
      for (size_t v = 0; v < size_t{kStepBytes}; v += kVecBytes) {
        const V x = Vec::load(packed + pair * kStepBytes + v);
        Vec::store(scratch + 2 * pair * kStepBytes + v, Vec::sub8(Vec::low_nibbles(x), eight));
        Vec::store(scratch + (2 * pair + 1) * kStepBytes + v, Vec::sub8(Vec::high_nibbles(x), eight));
      }
    }
    return scratch;
  }

  // Steps [s0, s1) of an R-row tile onto the sums c (started from acc, row
  // stride kNR, when `accumulate`, else from 0). Prefetch: with few rows the
  // weights stream from memory, and the hardware prefetcher alone falls
  // short of the bandwidth.
  template <int R, bool Prefetch>
  __attribute__((always_inline)) static inline void sum_steps(const uint8_t* a, size_t a_stride,
                                                              const uint8_t* w, size_t s0, size_t s1,
                                                              const int32_t* acc, bool accumulate,
                                                              V (&c)[R][Vecs]) {
    const uint8_t* rows[R];
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r) rows[r] = a + r * a_stride;
    start_sums<R>(acc, accumulate, c);
    add_steps<R, Prefetch>(rows, 0, w, s0, s1, c);
  }
  template <int R>
  __attribute__((always_inline)) static inline void start_sums(const int32_t* acc, bool accumulate,
                                                               V (&c)[R][Vecs]) {
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
      for (int j = 0; j < Vecs; ++j)
        c[r][j] = accumulate ? Vec::load(acc + r * kNR + j * Vec::kLanes) : Vec::zero();
  }
  template <int R>
  __attribute__((always_inline)) static inline void store_sums(const V (&c)[R][Vecs], int32_t* acc) {
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
      for (int j = 0; j < Vecs; ++j) Vec::store(acc + r * kNR + j * Vec::kLanes, c[r][j]);
  }
  // Steps [s0, s1) added onto the sums c; row r's quad of step i at
  // rows[r] + 4 * (i - base).
  template <int R, bool Prefetch>
  __attribute__((always_inline)) static inline void add_steps(const uint8_t* const (&rows)[R], size_t base,
                                                              const uint8_t* w, size_t s0, size_t s1,
                                                              V (&c)[R][Vecs]) {
#pragma GCC unroll 2
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
        const V b = Vec::broadcast32(rows[r] + 4 * (i - base));
#pragma GCC unroll 8
        for (int j = 0; j < Vecs; ++j) c[r][j] = Vec::dp(c[r][j], b, wv[j]);
      }
    }
  }

  // The same into the int32 sums at acc.
  template <int R, bool Prefetch>
  __attribute__((always_inline)) static inline void steps(const uint8_t* a, size_t a_stride,
                                                          const uint8_t* w, size_t s0, size_t s1,
                                                          int32_t* acc, bool accumulate) {
    V c[R][Vecs];
    sum_steps<R, Prefetch>(a, a_stride, w, s0, s1, acc, accumulate, c);
    store_sums<R>(c, acc);
  }

  // Steps [s0, s1) (both even) straight from a nibble panel, with the
  // weights kept offset: the sums are sum_k u * (w + 8) (w + 8 in [0, 15] is a
  // valid signed byte) and start at -8 * sum_k u (the row sum pack_rows_u8
  // stores at byte kp), which saves a subtraction per weight vector. All mod
  // 2^32 like the rest, so exact under the same int32 bound. Each half of a
  // quad pair is unpacked just before its products, so a 6-row zmm tile
  // needs 24 sums + 4 weights + broadcast + mask registers.
  template <int R, bool Prefetch>
  __attribute__((always_inline)) static inline void nibble_steps(const GemmPlan& plan, const uint8_t* a,
                                                                 const uint8_t* w, size_t s0, size_t s1,
                                                                 int32_t* acc, bool accumulate) {
    const size_t a_stride = plan.a_stride;
    V c[R][Vecs];
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r) {
      uint32_t row_sum;
      std::memcpy(&row_sum, a + r * a_stride + plan.kp, sizeof(row_sum));
      const V start = Vec::set1_32(static_cast<int32_t>(0u - 8u * row_sum));
#pragma GCC unroll 8
      for (int j = 0; j < Vecs; ++j)
        c[r][j] = accumulate ? Vec::load(acc + r * kNR + j * Vec::kLanes) : start;
    }
    for (size_t i = s0; i < s1; i += 2) {
      const uint8_t* wp = w + i / 2 * kStepBytes;
      if constexpr (Prefetch) {
#pragma GCC unroll 8
        for (size_t line = 0; line < kStepBytes; line += 64)
          _mm_prefetch(reinterpret_cast<const char*>(wp + 4096 + line), _MM_HINT_T0);
      }
#pragma GCC unroll 2
      for (size_t half = 0; half < 2; ++half) {
        V wv[Vecs];
#pragma GCC unroll 8
        for (int j = 0; j < Vecs; ++j) {
          const V x = Vec::load(wp + j * Vec::kLanes * 4);
          wv[j] = half == 0 ? Vec::low_nibbles(x) : Vec::high_nibbles(x);
        }
#pragma GCC unroll 16
        for (int r = 0; r < R; ++r) {
          const V b = Vec::broadcast32(a + r * a_stride + 4 * (i + half));
#pragma GCC unroll 8
          for (int j = 0; j < Vecs; ++j) c[r][j] = Vec::dp(c[r][j], b, wv[j]);
        }
      }
    }
    store_sums<R>(c, acc);
  }

  // Source rows read in place (plan.rows_in_place: byte panels, u = src
  // because src_min = 0, K a multiple of 8 so there is no padding to add):
  // packing would copy them unchanged.
  static bool reads_rows_in_place(const GemmPlan& plan) { return plan.rows_in_place; }
  template <int R>
  static void tile(const GemmPlan&, const uint8_t* a, size_t a_stride, const void* w, size_t s0, size_t s1,
                   int32_t* acc, bool accumulate) {
    steps<R, (R < kMR)>(a, a_stride, static_cast<const uint8_t*>(w), s0, s1, acc, accumulate);
  }

  // Rows that are windows of an image (direct convolution, GemmWindows),
  // each tile row from its own window origin (a tile may span output rows):
  // the steps of segment t (a kernel row, or one tap) are read from origin +
  // segment_offsets[t], the sums staying in registers from one segment to
  // the next. Byte panels only (the nibble direct path starts from packed
  // row sums, which an image has not).
  static bool takes_windows(const GemmPlan& plan) { return plan.variant->packed_weight_bits == 8; }
  // origins: the tile's R window origins; of steps [s0, s1) only the
  // tile's live ones, and of each segment only its steps [col_lo, col_hi)
  // (GemmWindows::block_tiles: the others' products are 0).
  template <int R>
  __attribute__((always_inline)) static inline void window_sums(const GemmWindows& win, const WindowTile& tile,
                                                                const uint8_t* const* origins, const void* w,
                                                                size_t s0, size_t s1, const int32_t* acc,
                                                                bool accumulate, V (&c)[R][Vecs]) {
    const auto* wb = static_cast<const uint8_t*>(w);
    const size_t segment_steps = win.segment_steps;
    s0 = std::max(s0, tile.lo_step);
    s1 = std::min(s1, tile.hi_step);
    start_sums<R>(acc, accumulate, c);
    for (size_t t = s0 / segment_steps, first = t * segment_steps; first < s1; ++t, first += segment_steps) {
      const uint8_t* rows[R];
#pragma GCC unroll 16
      for (int r = 0; r < R; ++r) rows[r] = origins[r] + win.segment_offsets[t];
      add_steps<R, false>(rows, first, wb, std::max(s0, first + tile.col_lo), std::min(s1, first + tile.col_hi), c);
    }
  }
  template <int R>
  static void tile_windows(const GemmWindows& win, const WindowTile& tile, const uint8_t* const* origins,
                           const void* w, size_t s0, size_t s1, int32_t* acc, bool accumulate) {
    V c[R][Vecs];
    window_sums<R>(win, tile, origins, w, s0, s1, acc, accumulate, c);
    store_sums<R>(c, acc);
  }
  // The same over a short whole K straight into the epilogue (tile_store).
  template <int R, class Epilogue>
  static void tile_store_windows(const GemmWindows& win, const WindowTile& tile, const uint8_t* const* origins,
                                 const void* w, size_t steps, size_t m, const Epilogue& epilogue,
                                 const GemmArgs& args) {
    if constexpr (Vecs <= 2 && requires { &Vec::template store_regs<kNR, R>; }) {
      V c[R][Vecs];
      window_sums<R>(win, tile, origins, w, 0, steps, nullptr, false, c);
      Vec::template store_regs<kNR, R>(epilogue, c, m, args);
    }
  }

  // A tile over a short whole K straight into the epilogue, when the Vec
  // has one on registers (store_regs): the sums skip their round trip
  // through memory, a sixth of the time of the 1x1 convs whose K of 16-64
  // leaves the epilogue most of the work (longer K: no measurable gain).
  // Only tiles of at most 2 vectors per row: with 4 (24 sums) the epilogue's
  // constants no longer fit beside the sums, and the spills doubled the
  // step. Not for nibble panels read in place (their sums start from the
  // row sums).
  static bool fuses_epilogue(const GemmPlan& plan, bool direct, size_t steps) {
    if constexpr (Vecs <= 2 && requires { &Vec::template store_regs<kNR, 1>; }) {
      return steps <= 16 && !(direct && plan.variant->packed_weight_bits == 4);
    } else {
      return false;
    }
  }
  template <int R, class Epilogue>
  static void tile_store(const GemmPlan&, const uint8_t* a, size_t a_stride, const void* w, size_t steps,
                         size_t m0, const Epilogue& epilogue, const GemmArgs& args) {
    if constexpr (Vecs <= 2 && requires { &Vec::template store_regs<kNR, R>; }) {
      V c[R][Vecs];
      sum_steps<R, (R < kMR)>(a, a_stride, static_cast<const uint8_t*>(w), 0, steps, nullptr, false, c);
      Vec::template store_regs<kNR, R>(epilogue, c, m0, args);
    }
  }

  // Short tiles prefetch: they are GEMV-like runs, where few rows share the
  // weights (the last tile of a taller block only touches lines in cache).
  template <int R>
  static void tile(const GemmPlan& plan, const uint8_t* a, const void* w, bool direct, size_t s0,
                   size_t s1, int32_t* acc, bool accumulate) {
    const auto* wb = static_cast<const uint8_t*>(w);
    if (direct && plan.variant->packed_weight_bits == 4) {
      nibble_steps<R, (R < kMR)>(plan, a, wb, s0, s1, acc, accumulate);
    } else {
      steps<R, (R < kMR)>(a, plan.a_stride, wb, s0, s1, acc, accumulate);
    }
  }
};

}  // namespace DYAD_ISA_NAMESPACE
}  // namespace dyad::kernels::gemm_avx2
