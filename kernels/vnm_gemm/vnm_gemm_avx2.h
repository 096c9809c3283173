// The AVX2 V:N:M drivers (docs/vnm.md "AVX2 kernel"), shared by every
// variant that multiplies one octet (8 output rows) x 4 bytes per ymm: the
// AVX2 families (vnm_gemm_avx2.cc), and the vpdpbusd ones on ymm
// (vnm_gemm_avxvnni.cc; the direct driver of vnm_gemm_avx512vnni.cc).
//
// Output channels are vectorized: one ymm holds 8 rows (an octet) x 4 bytes,
// the row's 2 + 2 kept values of a group pair. Per token and group pair the
// 16 activations of the pair's window (2M <= 16 columns) are broadcast to both
// 128-bit lanes, and every row gets its own vpshufb control that picks its
// 2 + 2 activations; a family's step(s, window, ctrl, w, abs_w) then adds the
// row's products into the int32 sums s. A control is composed from the row's
// 2-bit positions and the block's kept-column table: controls =
// vpshufb(table, positions). With M > 8 the 4 kept activations of every group
// are first gathered per V-block (8 per group pair) and the control indexes
// that gathered window.
//
// Two drivers: "direct" (at most direct_max_tokens tokens, GEMV) streams the
// packed weights once and decodes controls inline; "panels" (GEMM) decodes
// the controls of a panel of octets for a K chunk into scratch and reuses them
// for every token tile. Work is split over (token block, panel) or octet
// ranges, never over K.
//
// A family A provides: kAbsWeights (step wants |w| too), kInt16Sums (it has
// step16, int16 sums widened every plan.int16_steps group pairs) and
// step(s, a, ctrl, w, abs_w).
#pragma once

#include <immintrin.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstring>
#include <utility>

#include "kernels/common/isa_namespace.h"
#include "kernels/common/requant_avx2.h"
#include "kernels/common/store_lanes_avx2.h"
#include "kernels/common/thread_pool.h"
#include "kernels/vnm_gemm/vnm_gemm_internal.h"
#include "kernels/vnm_gemm/vnm_panel_drive.h"

namespace dyad::kernels::vnm_avx2 {
inline namespace DYAD_ISA_NAMESPACE {
inline __m256i load32(const uint8_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }
inline void store32(uint8_t* p, __m256i v) { _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), v); }
inline __m256i bcast16(const uint8_t* p) {
  return _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}
inline int64_t load_i64(const uint8_t* p) {
  int64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

// ---- weights: controls and values ------------------------------------------

// The 8 position bytes of an octet -> per row the table indices
// (p0, p1, 4 + p0', 4 + p1'): each row's byte spread over its 32-bit lane
// (x | x << 6 | x << 12 | x << 18, as two shift-ors), masked to 2 bits.
inline __m256i decode_indices(const uint8_t* pos8) {
  __m256i x = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(pos8)));
  x = _mm256_or_si256(x, _mm256_slli_epi32(x, 6));
  x = _mm256_or_si256(x, _mm256_slli_epi32(x, 12));
  return _mm256_or_si256(_mm256_and_si256(x, _mm256_set1_epi32(0x03030303)), _mm256_set1_epi32(0x04040000));
}

// Reads the packed weights of a plan: controls and values of (octet, gp).
template <int Bits, bool Gather>
struct Weights {
  const uint8_t* positions;
  const uint8_t* values;
  const uint8_t* columns;
  int64_t group_pairs, groups;
  int32_t v_octets;
  __m256i add_m;  // bytes (0, 0, 0, 0, M, M, M, M) repeated: the second group's window offset
  __m256i int4_lut;

  explicit Weights(const VnmGemmPlan& plan)
      : positions(plan.positions()),
        values(plan.values()),
        columns(plan.columns()),
        group_pairs(plan.layout.group_pairs),
        groups(plan.layout.groups),
        v_octets(plan.desc.shape.v / 8),
        add_m(_mm256_set1_epi64x(int64_t{plan.desc.shape.m * 0x01010101LL} << 32)),
        int4_lut(_mm256_setr_epi8(0, 1, 2, 3, 4, 5, 6, 7, -8, -7, -6, -5, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5, 6, 7,
                                  -8, -7, -6, -5, -4, -3, -2, -1)) {}

  // The kept-column tables of the octet's V-block (8 bytes per group pair).
  const uint8_t* tables(int64_t octet) const { return columns + (octet / v_octets) * groups * 4; }
  const uint8_t* positions_of(int64_t octet) const { return positions + octet * group_pairs * 8; }
  const uint8_t* values_of(int64_t octet) const { return values + octet * group_pairs * (Bits == 8 ? 32 : 16); }

  // Control bytes of an octet's rows at one group pair: window offsets of
  // the 2 + 2 activations. pos8: its 8 position bytes; kept8: the block's
  // kept columns of the pair's two groups.
  __m256i control(const uint8_t* pos8, const uint8_t* kept8) const {
    const __m256i idx = decode_indices(pos8);
    if constexpr (Gather) return idx;  // the gathered window holds the kept columns in order
    // Table (kept columns of group 2gp, M + kept columns of group 2gp + 1).
    const __m256i table = _mm256_add_epi8(_mm256_set1_epi64x(load_i64(kept8)), add_m);
    return _mm256_shuffle_epi8(table, idx);
  }

  // The 32 values of one (octet, group pair) unit as int8.
  __m256i value(const uint8_t* unit) const {
    if constexpr (Bits == 8) {
      return load32(unit);
    } else {
      // Byte j holds v[j] (low nibble) and v[j + 16] (high): shift the upper
      // lane's copy by 4, mask, and sign-extend the nibbles by table.
      __m256i x = bcast16(unit);
      x = _mm256_srlv_epi32(x, _mm256_setr_epi32(0, 0, 0, 0, 4, 4, 4, 4));
      return _mm256_shuffle_epi8(int4_lut, _mm256_and_si256(x, _mm256_set1_epi8(0x0F)));
    }
  }
  static constexpr size_t kUnitBytes = Bits == 8 ? 32 : 16;
};

// ---- activations -----------------------------------------------------------

// rows x K source bytes -> (src - src_offset) mod 256 at a_stride, zero padded
// to a_stride (covers k_pad and the last 16-byte window).
inline void pack_activations(const VnmGemmPlan& plan, const uint8_t* src, size_t rows, size_t src_stride, uint8_t* out) {
  const size_t K = plan.desc.shape.k;
  const uint8_t offset = static_cast<uint8_t>(plan.src_offset);
  const __m256i off = _mm256_set1_epi8(static_cast<char>(offset));
  for (size_t r = 0; r < rows; ++r) {
    const uint8_t* s = src + r * src_stride;
    uint8_t* a = out + r * plan.a_stride;
    size_t k = 0;
    for (; k + 32 <= K; k += 32) store32(a + k, _mm256_sub_epi8(load32(s + k), off));
    for (; k < K; ++k) a[k] = static_cast<uint8_t>(s[k] - offset);
    std::memset(a + K, 0, plan.a_stride - K);
  }
}

// Gathered activations of V-block `block`: out[4g + j] = a[g*M + kept_g[j]].
inline void gather_activations(const VnmGemmPlan& plan, const uint8_t* act, size_t rows, int64_t block, uint8_t* out) {
  const int64_t groups = plan.layout.groups, M = plan.desc.shape.m;
  const uint8_t* kept = plan.columns() + block * groups * 4;
  for (size_t r = 0; r < rows; ++r) {
    const uint8_t* a = act + r * plan.a_stride;
    uint8_t* g = out + r * plan.g_stride;
    if (M <= 16) {
      // A group's M columns lie in one 16-byte load (a is padded by 16).
      for (int64_t i = 0; i < groups; ++i) {
        int32_t c;
        std::memcpy(&c, kept + 4 * i, 4);
        const __m128i win = _mm_loadu_si128(reinterpret_cast<const __m128i*>(a + i * M));
        const int32_t v = _mm_cvtsi128_si32(_mm_shuffle_epi8(win, _mm_cvtsi32_si128(c)));
        std::memcpy(g + 4 * i, &v, 4);
      }
    } else {
      for (int64_t i = 0; i < groups; ++i)
        for (int j = 0; j < 4; ++j) g[4 * i + j] = a[i * M + kept[4 * i + j]];
    }
    std::memset(g + 4 * groups, 0, plan.g_stride - 4 * groups);
  }
}

// ---- epilogue ----------------------------------------------------------------

// round_shift: kernels/common/requant_avx2.h (shared with the dense GEMM).

// The constants of one octet in registers, so a run over many tokens loads
// them once (stores through the uint8_t dst would otherwise force reloads).
struct OctetRequant {
  __m256i col, lo, hi, mult, mult_odd, shift_even, shift_odd, round_even, round_odd, offset;

  explicit OctetRequant(const VnmEpilogue8& e) {
    auto ld = [](const void* p) { return _mm256_load_si256(static_cast<const __m256i*>(p)); };
    const RequantBlock8& b = e.rq;
    col = ld(e.col_const), lo = ld(b.acc_lo), hi = ld(b.acc_hi), mult = ld(b.mult), mult_odd = ld(b.mult_odd);
    shift_even = ld(b.shift_even), shift_odd = ld(b.shift_odd);
    round_even = ld(b.round_even), round_odd = ld(b.round_odd), offset = ld(b.offset);
  }

  // dst_zp + rne(a * m / 2^e) for a = acc + col_const, before the clamp.
  __m256i apply(__m256i acc) const {
    const __m256i a = _mm256_max_epi32(_mm256_min_epi32(_mm256_add_epi32(acc, col), hi), lo);
    const __m256i q_even = round_shift(_mm256_mul_epi32(a, mult), shift_even, round_even);
    const __m256i q_odd = round_shift(_mm256_mul_epi32(_mm256_srli_epi64(a, 32), mult_odd), shift_odd, round_odd);
    return _mm256_add_epi32(_mm256_blend_epi32(q_even, _mm256_slli_epi64(q_odd, 32), 0xAA), offset);
  }
};

// Stores channels 8*octet.. (those below N) of `rows` tokens from int32
// sums acc[r * acc_stride .. + 8], token r going to dst row token0 + r.
inline void store_octet_rows(const VnmGemmPlan& plan, const VnmArgs& args, int64_t octet, const int32_t* acc,
                      size_t acc_stride, size_t token0, size_t rows) {
  const VnmGemmDesc& d = plan.desc;
  const int64_t n0 = 8 * octet;
  if (n0 >= d.shape.n) return;  // an all-padding octet
  const size_t count = static_cast<size_t>(std::min<int64_t>(8, d.shape.n - n0));
  const size_t stride = args.dst_stride;
  auto load = [&](size_t r) { return _mm256_load_si256(reinterpret_cast<const __m256i*>(acc + r * acc_stride)); };
  if (d.dst_type == VnmDstType::kInt32) {
    const __m256i col = _mm256_load_si256(reinterpret_cast<const __m256i*>(plan.epilogue[octet].col_const));
    int32_t* out = static_cast<int32_t*>(args.dst) + token0 * stride + n0;
    for (size_t r = 0; r < rows; ++r, out += stride) store_s32_lanes(out, _mm256_add_epi32(load(r), col), count);
    return;
  }
  const OctetRequant rq(plan.epilogue[octet]);
  const __m256i qmin = _mm256_set1_epi32(d.qmin), qmax = _mm256_set1_epi32(d.qmax);
  const bool is_signed = d.dst_type == VnmDstType::kInt8;
  uint8_t* out = static_cast<uint8_t*>(args.dst) + token0 * stride + n0;
  for (size_t r = 0; r < rows; ++r, out += stride) {
    const __m256i q = _mm256_min_epi32(_mm256_max_epi32(rq.apply(load(r)), qmin), qmax);
    store_x8_lanes(out, q, is_signed, count);
  }
}

// ---- direct driver (few tokens, GEMV) -----------------------------------------

// NO octets (1 or 2) starting at octet0, TT tokens: streams the packed
// weights once over all group pairs, decoding each control inline.
template <class A, int Bits, bool Gather, int NO, int TT>
void direct_tile(const VnmGemmPlan& plan, const Weights<Bits, Gather>& wt, const VnmArgs& args, int64_t octet0,
                 const uint8_t* act, size_t act_stride, size_t gp_stride) {
  __m256i acc[NO][TT];
  for (int o = 0; o < NO; ++o)
    for (int t = 0; t < TT; ++t) acc[o][t] = _mm256_setzero_si256();
  const uint8_t* pos[NO];
  const uint8_t* val[NO];
  const uint8_t* kept[NO];
  for (int o = 0; o < NO; ++o) {
    pos[o] = wt.positions_of(octet0 + o);
    val[o] = wt.values_of(octet0 + o);
    kept[o] = wt.tables(octet0 + o);
  }
  constexpr size_t kUnit = Weights<Bits, Gather>::kUnitBytes;
  const int64_t gps = wt.group_pairs;
  if constexpr (A::kInt16Sums && TT <= 2) {
    // int16 sums of up to int16_steps group pairs, then one widening.
    const int64_t run = plan.int16_steps;
    const __m256i ones = _mm256_set1_epi16(1);
    for (int64_t gp0 = 0; gp0 < gps; gp0 += run) {
      __m256i s16[NO][TT];
      for (int o = 0; o < NO; ++o)
        for (int t = 0; t < TT; ++t) s16[o][t] = _mm256_setzero_si256();
      for (int64_t gp = gp0; gp < std::min(gps, gp0 + run); ++gp) {
        for (int o = 0; o < NO; ++o) {
          _mm_prefetch(reinterpret_cast<const char*>(val[o] + kUnit * gp + 1024), _MM_HINT_T0);  // as below
          _mm_prefetch(reinterpret_cast<const char*>(pos[o] + 8 * gp + 256), _MM_HINT_T0);
          const __m256i ctrl = wt.control(pos[o] + 8 * gp, kept[o] + 8 * gp);
          const __m256i w = wt.value(val[o] + kUnit * gp);
          for (int t = 0; t < TT; ++t) A::step16(s16[o][t], act + t * act_stride, ctrl, w, w);
        }
        act += gp_stride;
      }
      for (int o = 0; o < NO; ++o)
        for (int t = 0; t < TT; ++t) acc[o][t] = _mm256_add_epi32(acc[o][t], _mm256_madd_epi16(s16[o][t], ones));
    }
  } else {
    for (int64_t gp = 0; gp < gps; ++gp) {
      for (int o = 0; o < NO; ++o) {
        // Few tokens: the weights stream from DRAM once; fetch about 1 KiB of
        // values (and their positions) ahead, which the hardware prefetcher
        // alone does not keep up with on these interleaved streams.
        if constexpr (TT <= 2) {
          _mm_prefetch(reinterpret_cast<const char*>(val[o] + kUnit * gp + 1024), _MM_HINT_T0);
          _mm_prefetch(reinterpret_cast<const char*>(pos[o] + 8 * gp + 256), _MM_HINT_T0);
        }
        const __m256i ctrl = wt.control(pos[o] + 8 * gp, kept[o] + 8 * gp);
        const __m256i w = wt.value(val[o] + kUnit * gp);
        const __m256i abs_w = A::kAbsWeights ? _mm256_abs_epi8(w) : w;
        for (int t = 0; t < TT; ++t) A::step(acc[o][t], act + t * act_stride, ctrl, w, abs_w);
      }
      act += gp_stride;
    }
  }
  for (int o = 0; o < NO; ++o) {
    alignas(32) int32_t sums[TT][8];
    for (int t = 0; t < TT; ++t) _mm256_store_si256(reinterpret_cast<__m256i*>(sums[t]), acc[o][t]);
    store_octet_rows(plan, args, octet0 + o, sums[0], 8, 0, TT);
  }
}

template <class A, int Bits, bool Gather, int TT>
void direct_octets(const VnmGemmPlan& plan, const Weights<Bits, Gather>& wt, const VnmArgs& args, int64_t o0,
                   int64_t o1, const uint8_t* act, size_t act_stride, size_t gp_stride) {
  int64_t o = o0;
  for (; o + 2 <= o1; o += 2) direct_tile<A, Bits, Gather, 2, TT>(plan, wt, args, o, act, act_stride, gp_stride);
  if (o < o1) direct_tile<A, Bits, Gather, 1, TT>(plan, wt, args, o, act, act_stride, gp_stride);
}

template <class A, int Bits, bool Gather>
void run_direct(const VnmGemmPlan& plan, const VnmArgs& args) {
  const Weights<Bits, Gather> wt(plan);
  static_assert(kVnmDirectMaxTokens == 4, "the switch below covers 1..4 tokens");
  auto octets = [&](int64_t o0, int64_t o1, const uint8_t* act, size_t act_stride, size_t gp_stride) {
    switch (args.tokens) {
      case 1: direct_octets<A, Bits, Gather, 1>(plan, wt, args, o0, o1, act, act_stride, gp_stride); break;
      case 2: direct_octets<A, Bits, Gather, 2>(plan, wt, args, o0, o1, act, act_stride, gp_stride); break;
      case 3: direct_octets<A, Bits, Gather, 3>(plan, wt, args, o0, o1, act, act_stride, gp_stride); break;
      default: direct_octets<A, Bits, Gather, 4>(plan, wt, args, o0, o1, act, act_stride, gp_stride); break;
    }
  };
  vnm_drive_direct<Gather>(plan, args, &pack_activations, &gather_activations, octets);
}

// ---- panel driver (GEMM) -----------------------------------------------------------

// Where a register tile reads its operands, for group pairs [0, n_gp) of
// the current K chunk.
struct TileOperands {
  const uint8_t* act;    // the tile's windows at the chunk's first group pair
  const uint8_t* ctrl;   // the octet's controls, 32 bytes per group pair
  const uint8_t* w;      // the octet's values, 32 bytes per group pair
  const uint8_t* abs_w;  // SignW: |values|, laid out like ctrl
  size_t n_gp;
  size_t int16_steps;    // plan.int16_steps
};

// One octet x TT tokens over the chunk; sums go to (or onto) acc, whose
// token rows are kPanelRow int32 apart. 12 accumulators + window + control +
// values (+ |values| or one more temporary) fill the 16 ymm registers.
constexpr size_t kPanelRow = kVnmPanelOctets * 8;

// The accumulators are named locals (GCC keeps an array or struct of
// vectors in memory here), one step per token written out by the macro.
// With int16 sums (kUbs, op.int16_steps > 1) the registers hold int16 sums
// of up to int16_steps group pairs and the int32 sums stay in acc.
template <class A, int TT>
void panel_tile(const TileOperands& op, int32_t* acc, bool accumulate) {
  static_assert(TT >= 1 && TT <= 12);
  const bool int16_sums = A::kInt16Sums && op.int16_steps > 1;
  const __m256i zero = _mm256_setzero_si256();
  if (int16_sums && !accumulate) {
    for (int t = 0; t < TT; ++t) _mm256_store_si256(reinterpret_cast<__m256i*>(acc + t * kPanelRow), zero);
  }
  __m256i v0, v1, v2, v3, v4, v5, v6, v7, v8, v9, v10, v11;
  v0 = v1 = v2 = v3 = v4 = v5 = v6 = v7 = v8 = v9 = v10 = v11 = zero;
  const uint8_t* win = op.act;
  const size_t run = int16_sums ? op.int16_steps : op.n_gp;
  for (size_t i0 = 0; i0 < op.n_gp; i0 += run) {
    const size_t i1 = std::min(op.n_gp, i0 + run);
    for (size_t i = i0; i < i1; ++i) {
      const __m256i ctrl = load32(op.ctrl + 32 * i);
      const __m256i w = load32(op.w + 32 * i);
      const __m256i abs_w = A::kAbsWeights ? load32(op.abs_w + 32 * i) : w;
      if constexpr (A::kInt16Sums) {
        if (int16_sums) {
#define DYAD_VNM_STEP(T) \
          if constexpr (TT > T) A::step16(v##T, win + 16 * T, ctrl, w, abs_w);
          DYAD_VNM_STEP(0) DYAD_VNM_STEP(1) DYAD_VNM_STEP(2) DYAD_VNM_STEP(3) DYAD_VNM_STEP(4) DYAD_VNM_STEP(5)
          DYAD_VNM_STEP(6) DYAD_VNM_STEP(7) DYAD_VNM_STEP(8) DYAD_VNM_STEP(9) DYAD_VNM_STEP(10) DYAD_VNM_STEP(11)
#undef DYAD_VNM_STEP
          win += kVnmWindowRow;
          continue;
        }
      }
#define DYAD_VNM_STEP(T) \
      if constexpr (TT > T) A::step(v##T, win + 16 * T, ctrl, w, abs_w);
      DYAD_VNM_STEP(0) DYAD_VNM_STEP(1) DYAD_VNM_STEP(2) DYAD_VNM_STEP(3) DYAD_VNM_STEP(4) DYAD_VNM_STEP(5)
      DYAD_VNM_STEP(6) DYAD_VNM_STEP(7) DYAD_VNM_STEP(8) DYAD_VNM_STEP(9) DYAD_VNM_STEP(10) DYAD_VNM_STEP(11)
#undef DYAD_VNM_STEP
      win += kVnmWindowRow;
    }
    if (int16_sums) {
      // Widen the int16 sums into the int32 sums and restart them.
      const __m256i ones = _mm256_set1_epi16(1);
      const __m256i v[12] = {v0, v1, v2, v3, v4, v5, v6, v7, v8, v9, v10, v11};
      for (int t = 0; t < TT; ++t) {
        auto* dst = reinterpret_cast<__m256i*>(acc + t * kPanelRow);
        _mm256_store_si256(dst, _mm256_add_epi32(_mm256_load_si256(dst), _mm256_madd_epi16(v[t], ones)));
      }
      v0 = v1 = v2 = v3 = v4 = v5 = v6 = v7 = v8 = v9 = v10 = v11 = zero;
    }
  }
  if (int16_sums) return;
  const __m256i v[12] = {v0, v1, v2, v3, v4, v5, v6, v7, v8, v9, v10, v11};
  for (int t = 0; t < TT; ++t) {
    auto* dst = reinterpret_cast<__m256i*>(acc + t * kPanelRow);
    _mm256_store_si256(dst, accumulate ? _mm256_add_epi32(_mm256_load_si256(dst), v[t]) : v[t]);
  }
}

template <class A, size_t... T>
constexpr auto panel_tile_table(std::index_sequence<T...>) {
  return std::array<void (*)(const TileOperands&, int32_t*, bool), sizeof...(T)>{&panel_tile<A, int(T) + 1>...};
}

template <class A, int Bits, bool Gather>
void run_panels(const VnmGemmPlan& plan, const VnmArgs& args) {
  constexpr size_t TT = kVnmTileTokens;
  static constexpr auto kTiles = panel_tile_table<A>(std::make_index_sequence<TT>{});
  const Weights<Bits, Gather> wt(plan);
  const VnmLayout& l = plan.layout;
  const size_t chunk_stride = size_t(plan.chunk_gp) * 32;  // bytes per octet in ctrl / vals
  // The panel's K chunks over the token block's windows, then its outputs.
  auto panel_chunks = [&](const VnmPanel& panel, size_t t0, size_t rows, const VnmPanelScratch& s) {
    for (int64_t gp0 = 0; gp0 < l.group_pairs; gp0 += plan.chunk_gp) {
      const int64_t n_gp = std::min<int64_t>(plan.chunk_gp, l.group_pairs - gp0);
      // Decode the chunk's controls (and values) once for all token tiles.
      constexpr size_t kUnit = Weights<Bits, Gather>::kUnitBytes;
      for (int32_t o = 0; o < panel.octets; ++o) {
        const int64_t octet = panel.octet0 + o;
        const uint8_t* pos = wt.positions_of(octet) + 8 * gp0;
        const uint8_t* kept = wt.tables(octet) + 8 * gp0;
        const uint8_t* val = wt.values_of(octet) + kUnit * gp0;
        for (int64_t i = 0; i < n_gp; ++i) {
          store32(s.ctrl + o * chunk_stride + i * 32, wt.control(pos + 8 * i, kept + 8 * i));
          if constexpr (Bits == 4) store32(s.vals + o * chunk_stride + i * 32, wt.value(val + kUnit * i));
          if constexpr (A::kAbsWeights) {
            store32(s.vals + o * chunk_stride + i * 32, _mm256_abs_epi8(wt.value(val + kUnit * i)));
          }
        }
      }
      for (size_t r0 = 0; r0 < rows; r0 += TT) {
        const size_t tt = std::min(TT, rows - r0);
        for (int32_t o = 0; o < panel.octets; ++o) {
          TileOperands op;
          op.act = s.win + r0 / TT * s.tile_win_bytes + size_t(gp0) * kVnmWindowRow;
          op.ctrl = s.ctrl + o * chunk_stride;
          if constexpr (Bits == 4) {
            op.w = s.vals + o * chunk_stride;  // unpacked nibbles
          } else {
            op.w = plan.values() + ((panel.octet0 + o) * l.group_pairs + gp0) * 32;
          }
          op.abs_w = s.vals + o * chunk_stride;
          op.n_gp = static_cast<size_t>(n_gp);
          op.int16_steps = static_cast<size_t>(plan.int16_steps);
          kTiles[tt - 1](op, s.acc + r0 * kPanelRow + 8 * o, gp0 > 0);
        }
      }
    }
    for (int32_t o = 0; o < panel.octets; ++o) {
      store_octet_rows(plan, args, panel.octet0 + o, s.acc + 8 * o, kPanelRow, t0, rows);
    }
  };
  vnm_drive_panels<Gather>(plan, args, &pack_activations, &gather_activations, panel_chunks);
}

// The vpdpbusd family on these drivers (kDp, vnm_gemm_internal.h): the
// shuffled window (u = src - src_min, u8) times the row's values (s8),
// quad sums added into s by vpdpbusd on ymm, the non-saturating form (each
// u8 x s8 product is exact and the sums wrap mod 2^32: exact under the
// planner's int32 bound). Vex: the AVX-VNNI encoding, else AVX-512 VNNI's
// (EVEX, with AVX-512 VL). asm for the reason given for the AVX2 families
// (vnm_gemm_avx2.cc): each product is consumed at once, nothing spills.
template <bool Vex>
struct DpStep {
  static constexpr bool kAbsWeights = false;
  static constexpr bool kInt16Sums = false;
  static inline void step(__m256i& s, const uint8_t* a, __m256i ctrl, __m256i w, __m256i) {
    __m256i x;
    if constexpr (Vex) {
      asm("vbroadcasti128 %[a], %[x]\n\tvpshufb %[c], %[x], %[x]\n\t%{vex%} vpdpbusd %[w], %[x], %[s]"
          : [s] "+x"(s), [x] "=&x"(x)
          : [a] "m"(*reinterpret_cast<const __m128i*>(a)), [c] "x"(ctrl), [w] "x"(w));
    } else {
      asm("vbroadcasti128 %[a], %[x]\n\tvpshufb %[c], %[x], %[x]\n\tvpdpbusd %[w], %[x], %[s]"
          : [s] "+x"(s), [x] "=&x"(x)
          : [a] "m"(*reinterpret_cast<const __m128i*>(a)), [c] "x"(ctrl), [w] "x"(w));
    }
  }
};

template <class A, int Bits>
void run(const VnmGemmPlan& plan, const VnmArgs& args) {
  const bool direct = args.tokens <= static_cast<size_t>(plan.direct_max_tokens);
  if (plan.gather) {
    direct ? run_direct<A, Bits, true>(plan, args) : run_panels<A, Bits, true>(plan, args);
  } else {
    direct ? run_direct<A, Bits, false>(plan, args) : run_panels<A, Bits, false>(plan, args);
  }
}

}  // namespace DYAD_ISA_NAMESPACE
}  // namespace dyad::kernels::vnm_avx2
