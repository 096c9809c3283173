// V:N:M GEMM on 64-bit ARM with SDOT (FEAT_DotProd, Armv8.2-A; built with
// -march=armv8.2-a+dotprod, chosen only when the CPU reports asimddp):
// vnm_sdot__dotprod, every source (8- or 4-bit, signed or not) and every
// int8 or int4 weight (docs/vnm.md "ARM64 kernel").
//
// The x86 scheme on 128-bit vectors: one vector holds a row quad (4 output
// rows) x 4 bytes, the rows' 2 + 2 kept values of a group pair. Per token and
// group pair the 16-byte window of the pair's activations is looked up with
// TBL by each quad's control (the window offsets of each row's 2 + 2
// activations; the controls are those of the x86 kernels, vnm_gemm_avx2.h),
// and SDOT adds each row's four products into its int32 lane: one TBL per
// SDOT. With M > 8 the kept activations are gathered per V-block first (4 per
// group) and the control indexes the gathered window.
//
// Exactness. The activations are stored as x' = src - (src_min + 128), in
// [-128, 127] for any source range of at most 256 values, so SDOT's s8 x s8
// products are exact; the int32 lane sums wrap mod 2^32, and the planner's
// column constant bias + (src_min + 128 - src_zp) * sum(w) (vnm_gemm.cc,
// also mod 2^32) turns them into the true accumulator, which the planner has
// proved fits int32 (acc_fits_int32). The epilogue is the RequantBlock8
// requant of the dense NEON GEMM (requant_neon.h). Sums of one output are
// formed by one thread, and mod-2^32 sums do not depend on the order anyway.
//
// Drivers, as the x86 ymm ones (vnm_gemm_avx2.h), on the planner's blocking
// (vnm_gemm.cc fill_blocking):
//   - direct (at most direct_max_tokens tokens, GEMV): streams the packed
//     weights once over all group pairs, decoding controls in registers, two
//     octets at a time, the tokens' windows read from their packed rows;
//   - panels (more tokens): panels of up to 8 octets, K chunks, token blocks,
//     windows of 12-token tiles (vnm_make_windows). Per panel and K chunk the
//     controls (and int4 values, unpacked to bytes) are decoded once into
//     scratch and reused by every token tile; int8 values are read from the
//     blob.
// Register tile: up to 2 octets (4 row quads) x 4 tokens = 16 int32x4 sums, 4
// controls, 4 value vectors and the window.
#include <arm_neon.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstring>
#include <utility>

#include "kernels/common/requant_neon.h"
#include "kernels/common/thread_pool.h"
#include "kernels/vnm_gemm/vnm_gemm_internal.h"
#include "kernels/vnm_gemm/vnm_panel_drive.h"

namespace dyad::kernels {
namespace {

constexpr size_t kPanelRow = kVnmPanelOctets * 8;  // int32 sums per token of a panel
constexpr size_t kUnit = 32;                       // bytes of one (octet, gp) in ctrl/vals/int8 blob

// ---- activations ----------------------------------------------------------------

// rows x K source bytes -> (src - src_offset) mod 256 at a_stride, zero padded.
void pack_activations(const VnmGemmPlan& plan, const uint8_t* src, size_t rows, size_t src_stride, uint8_t* out) {
  const size_t K = plan.desc.shape.k;
  const uint8_t offset = static_cast<uint8_t>(plan.src_offset);
  const uint8x16_t off = vdupq_n_u8(offset);
  for (size_t r = 0; r < rows; ++r) {
    const uint8_t* s = src + r * src_stride;
    uint8_t* a = out + r * plan.a_stride;
    size_t k = 0;
    for (; k + 16 <= K; k += 16) vst1q_u8(a + k, vsubq_u8(vld1q_u8(s + k), off));
    for (; k < K; ++k) a[k] = static_cast<uint8_t>(s[k] - offset);
    std::memset(a + K, 0, plan.a_stride - K);
  }
}

// Gathered activations of V-block `block`: out[4g + j] = a[g*M + kept_g[j]].
void gather_activations(const VnmGemmPlan& plan, const uint8_t* act, size_t rows, int64_t block, uint8_t* out) {
  const int64_t groups = plan.layout.groups, M = plan.desc.shape.m;
  const uint8_t* kept = plan.columns() + block * groups * 4;
  for (size_t r = 0; r < rows; ++r) {
    const uint8_t* a = act + r * plan.a_stride;
    uint8_t* g = out + r * plan.g_stride;
    for (int64_t i = 0; i < groups; ++i)
      for (int j = 0; j < 4; ++j) g[4 * i + j] = a[i * M + kept[4 * i + j]];
    std::memset(g + 4 * groups, 0, plan.g_stride - 4 * groups);
  }
}

// ---- weights ----------------------------------------------------------------------

// The controls of an octet's two row quads at one group pair: per row the
// table indices (p0, p1, 4 + p0', 4 + p1') from its position byte, mapped
// through the kept columns (kept8: group 2gp's, then 2gp + 1's + M) unless
// the window is gathered.
template <bool Gather>
__attribute__((always_inline)) inline void controls(const uint8_t* pos8, const uint8_t* kept8, uint8x8_t add_m,
                                                    uint8x16_t* c) {
  static constexpr uint8_t kSpread[2][16] = {{0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3},
                                             {4, 4, 4, 4, 5, 5, 5, 5, 6, 6, 6, 6, 7, 7, 7, 7}};
  static constexpr int8_t kShift[16] = {0, -2, -4, -6, 0, -2, -4, -6, 0, -2, -4, -6, 0, -2, -4, -6};
  static constexpr uint8_t kHigh[16] = {0, 0, 4, 4, 0, 0, 4, 4, 0, 0, 4, 4, 0, 0, 4, 4};
  const uint8x8_t p = vld1_u8(pos8);
  const uint8x16_t pp = vcombine_u8(p, p);
  [[maybe_unused]] uint8x16_t table = vdupq_n_u8(0);
  if constexpr (!Gather) {
    const uint8x8_t t = vadd_u8(vld1_u8(kept8), add_m);
    table = vcombine_u8(t, t);
  }
#pragma GCC unroll 2
  for (int q = 0; q < 2; ++q) {
    uint8x16_t x = vqtbl1q_u8(pp, vld1q_u8(kSpread[q]));
    x = vandq_u8(vshlq_u8(x, vld1q_s8(kShift)), vdupq_n_u8(3));
    x = vorrq_u8(x, vld1q_u8(kHigh));
    if constexpr (!Gather) x = vqtbl1q_u8(table, x);
    c[q] = x;
  }
}

// The same, stored (32 bytes: quad 0, quad 1) for the panel driver.
template <bool Gather>
inline void decode_controls(const uint8_t* pos8, const uint8_t* kept8, uint8x8_t add_m, uint8_t* out) {
  uint8x16_t c[2];
  controls<Gather>(pos8, kept8, add_m, c);
  vst1q_u8(out, c[0]);
  vst1q_u8(out + 16, c[1]);
}

// The 32 values of an (octet, gp) unit as int8 quads (quad 0, quad 1). int4:
// byte j holds v[j] (low nibble) and v[j + 16] (high), i.e. quad 0 in the low
// nibbles, quad 1 in the high ones.
template <int Bits>
__attribute__((always_inline)) inline void values(const uint8_t* unit, int8x16_t* w) {
  if constexpr (Bits == 8) {
    w[0] = vld1q_s8(reinterpret_cast<const int8_t*>(unit));
    w[1] = vld1q_s8(reinterpret_cast<const int8_t*>(unit) + 16);
  } else {
    const int8x16_t b = vreinterpretq_s8_u8(vld1q_u8(unit));
    w[0] = vshrq_n_s8(vshlq_n_s8(b, 4), 4);
    w[1] = vshrq_n_s8(b, 4);
  }
}

// int4 values unpacked to bytes (32 per unit) for the panel driver.
inline void unpack_int4(const uint8_t* unit, uint8_t* out) {
  int8x16_t w[2];
  values<4>(unit, w);
  vst1q_s8(reinterpret_cast<int8_t*>(out), w[0]);
  vst1q_s8(reinterpret_cast<int8_t*>(out) + 16, w[1]);
}

// ---- register tile --------------------------------------------------------------------

// s[r] += SDOT(TBL(a, c[r]), w[r]) for the R quads of one token: the R
// lookups, then the R dot products. asm so each token's lookups are consumed
// before the next token's: with intrinsics GCC hoists all 16 TBL of a tile
// ahead of their SDOT, needs more registers than there are and spills sums
// (the x86 kernels' reason for their asm steps, too); R apart, an in-order
// core does not wait for each TBL's result either.
template <int R>
inline void tbl_sdot(int32x4_t (&s)[R], uint8x16_t a, const uint8x16_t (&c)[R], const int8x16_t (&w)[R]);
template <>
inline void tbl_sdot<2>(int32x4_t (&s)[2], uint8x16_t a, const uint8x16_t (&c)[2], const int8x16_t (&w)[2]) {
  uint8x16_t x0, x1;
  asm("tbl %[x0].16b, {%[a].16b}, %[c0].16b\n\t"
      "tbl %[x1].16b, {%[a].16b}, %[c1].16b\n\t"
      "sdot %[s0].4s, %[x0].16b, %[w0].16b\n\t"
      "sdot %[s1].4s, %[x1].16b, %[w1].16b"
      : [s0] "+w"(s[0]), [s1] "+w"(s[1]), [x0] "=&w"(x0), [x1] "=&w"(x1)
      : [a] "w"(a), [c0] "w"(c[0]), [c1] "w"(c[1]), [w0] "w"(w[0]), [w1] "w"(w[1]));
}
template <>
inline void tbl_sdot<4>(int32x4_t (&s)[4], uint8x16_t a, const uint8x16_t (&c)[4], const int8x16_t (&w)[4]) {
  uint8x16_t x0, x1, x2, x3;
  asm("tbl %[x0].16b, {%[a].16b}, %[c0].16b\n\t"
      "tbl %[x1].16b, {%[a].16b}, %[c1].16b\n\t"
      "tbl %[x2].16b, {%[a].16b}, %[c2].16b\n\t"
      "tbl %[x3].16b, {%[a].16b}, %[c3].16b\n\t"
      "sdot %[s0].4s, %[x0].16b, %[w0].16b\n\t"
      "sdot %[s1].4s, %[x1].16b, %[w1].16b\n\t"
      "sdot %[s2].4s, %[x2].16b, %[w2].16b\n\t"
      "sdot %[s3].4s, %[x3].16b, %[w3].16b"
      : [s0] "+w"(s[0]), [s1] "+w"(s[1]), [s2] "+w"(s[2]), [s3] "+w"(s[3]), [x0] "=&w"(x0), [x1] "=&w"(x1),
        [x2] "=&w"(x2), [x3] "=&w"(x3)
      : [a] "w"(a), [c0] "w"(c[0]), [c1] "w"(c[1]), [c2] "w"(c[2]), [c3] "w"(c[3]), [w0] "w"(w[0]),
        [w1] "w"(w[1]), [w2] "w"(w[2]), [w3] "w"(w[3]));
}

// R row quads (2: one octet, 4: two) x T tokens over n_gp group pairs. win:
// the T tokens' windows of the first group pair, kVnmWindowRow apart per
// group pair; ctrl[o] / vals[o]: octet o's 32 bytes per group pair; sums:
// token t's sums of octet o at t * kPanelRow + 8 * o.
template <int R, int T>
void tile(const uint8_t* win, const uint8_t* const* ctrl, const int8_t* const* vals, size_t n_gp, int32_t* sums,
          bool accumulate) {
  int32x4_t s[T][R];
#pragma GCC unroll 4
  for (int t = 0; t < T; ++t)
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
      int32_t* p = sums + t * kPanelRow + 4 * r;
      s[t][r] = accumulate ? vld1q_s32(p) : vdupq_n_s32(0);
    }
  for (size_t i = 0; i < n_gp; ++i) {
    uint8x16_t c[R];
    int8x16_t w[R];
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
      c[r] = vld1q_u8(ctrl[r / 2] + i * kUnit + 16 * (r % 2));
      w[r] = vld1q_s8(vals[r / 2] + i * kUnit + 16 * (r % 2));
    }
#pragma GCC unroll 4
    for (int t = 0; t < T; ++t) {
      tbl_sdot<R>(s[t], vld1q_u8(win + i * kVnmWindowRow + 16 * t), c, w);
    }
  }
#pragma GCC unroll 4
  for (int t = 0; t < T; ++t)
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) vst1q_s32(sums + t * kPanelRow + 4 * r, s[t][r]);
}

using TileFn = void (*)(const uint8_t*, const uint8_t* const*, const int8_t* const*, size_t, int32_t*, bool);
template <int R, size_t... T>
constexpr std::array<TileFn, sizeof...(T)> tiles_of(std::index_sequence<T...>) {
  return {&tile<R, int(T) + 1>...};
}
constexpr int kTileTokens = 4;
// kTiles[octets - 1][tokens - 1].
constexpr std::array<TileFn, kTileTokens> kTiles[2] = {tiles_of<2>(std::make_index_sequence<kTileTokens>{}),
                                                       tiles_of<4>(std::make_index_sequence<kTileTokens>{})};
static_assert(kVnmTileTokens % kTileTokens == 0, "token tiles split the window tiles");

// ---- epilogue --------------------------------------------------------------------------

// Channels 8*octet.. (those below N) of `rows` tokens from sums acc[r *
// acc_stride .. + 8], token r going to dst row token0 + r.
void store_octet_rows(const VnmGemmPlan& plan, const VnmArgs& args, int64_t octet, const int32_t* acc,
                      size_t acc_stride, size_t token0, size_t rows) {
  const VnmGemmDesc& d = plan.desc;
  const int64_t n0 = 8 * octet;
  if (n0 >= d.shape.n) return;  // an all-padding octet
  const size_t count = static_cast<size_t>(std::min<int64_t>(8, d.shape.n - n0));
  const VnmEpilogue8& e = plan.epilogue[octet];
  const int32x4_t c0 = vld1q_s32(e.col_const), c1 = vld1q_s32(e.col_const + 4);
  const int32x4_t qmin = vdupq_n_s32(d.qmin), qmax = vdupq_n_s32(d.qmax);
  for (size_t r = 0; r < rows; ++r) {
    const int32x4_t s0 = vaddq_s32(vld1q_s32(acc + r * acc_stride), c0);
    const int32x4_t s1 = vaddq_s32(vld1q_s32(acc + r * acc_stride + 4), c1);
    const size_t row = (token0 + r) * args.dst_stride + n0;
    if (d.dst_type == VnmDstType::kInt32) {
      int32_t out[8];
      vst1q_s32(out, s0);
      vst1q_s32(out + 4, s1);
      std::memcpy(static_cast<int32_t*>(args.dst) + row, out, count * sizeof(int32_t));
      continue;
    }
    const int32x4_t y0 = vminq_s32(vmaxq_s32(requant4(s0, e.rq, 0), qmin), qmax);
    const int32x4_t y1 = vminq_s32(vmaxq_s32(requant4(s1, e.rq, 1), qmin), qmax);
    // In [qmin, qmax], inside the int8 or uint8 range: the low byte is the value.
    uint8_t bytes[8];
    vst1_u8(bytes, vmovn_u16(vreinterpretq_u16_s16(vcombine_s16(vmovn_s32(y0), vmovn_s32(y1)))));
    std::memcpy(static_cast<uint8_t*>(args.dst) + row, bytes, count);
  }
}

// ---- direct driver (at most direct_max_tokens tokens, GEMV) ---------------------------------

// NO octets (1 or 2, of one V-block when gathering) x T tokens over all group
// pairs: streams the packed weights once, decoding each control in registers.
// act: the T tokens' packed (or gathered) rows, act_stride apart, a window
// every gp_stride bytes.
template <int Bits, bool Gather, int NO, int T>
void direct_tile(const VnmGemmPlan& plan, const VnmArgs& args, int64_t octet0, const uint8_t* act,
                 size_t act_stride, size_t gp_stride, uint8x8_t add_m) {
  constexpr int R = 2 * NO;
  constexpr size_t kValueBytes = Bits == 8 ? 32 : 16;
  const VnmLayout& l = plan.layout;
  const int64_t v_octets = plan.desc.shape.v / 8;
  int32x4_t s[T][R];
#pragma GCC unroll 4
  for (int t = 0; t < T; ++t)
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) s[t][r] = vdupq_n_s32(0);
  const uint8_t* pos[NO];
  const uint8_t* kept[NO];
  const uint8_t* val[NO];
  for (int o = 0; o < NO; ++o) {
    pos[o] = plan.positions() + (octet0 + o) * l.group_pairs * 8;
    kept[o] = plan.columns() + ((octet0 + o) / v_octets) * l.groups * 4;
    val[o] = plan.values() + (octet0 + o) * l.group_pairs * kValueBytes;
  }
  for (int64_t gp = 0; gp < l.group_pairs; ++gp) {
    uint8x16_t c[R];
    int8x16_t w[R];
#pragma GCC unroll 2
    for (int o = 0; o < NO; ++o) {
      // The weights stream from memory once: fetch about 1 KiB ahead.
      __builtin_prefetch(val[o] + kValueBytes * gp + 1024);
      __builtin_prefetch(pos[o] + 8 * gp + 256);
      controls<Gather>(pos[o] + 8 * gp, kept[o] + 8 * gp, add_m, c + 2 * o);
      values<Bits>(val[o] + kValueBytes * gp, w + 2 * o);
    }
#pragma GCC unroll 4
    for (int t = 0; t < T; ++t) tbl_sdot<R>(s[t], vld1q_u8(act + t * act_stride + gp * gp_stride), c, w);
  }
  for (int o = 0; o < NO; ++o) {
    int32_t sums[T][8];
    for (int t = 0; t < T; ++t) {
      vst1q_s32(sums[t], s[t][2 * o]);
      vst1q_s32(sums[t] + 4, s[t][2 * o + 1]);
    }
    store_octet_rows(plan, args, octet0 + o, sums[0], 8, 0, T);
  }
}

template <int Bits, bool Gather, int T>
void direct_octets(const VnmGemmPlan& plan, const VnmArgs& args, int64_t o0, int64_t o1, const uint8_t* act,
                   size_t act_stride, size_t gp_stride, uint8x8_t add_m) {
  int64_t o = o0;
  for (; o + 2 <= o1; o += 2) direct_tile<Bits, Gather, 2, T>(plan, args, o, act, act_stride, gp_stride, add_m);
  if (o < o1) direct_tile<Bits, Gather, 1, T>(plan, args, o, act, act_stride, gp_stride, add_m);
}

template <int Bits, bool Gather>
void run_direct(const VnmGemmPlan& plan, const VnmArgs& args) {
  const uint8x8_t add_m = vcreate_u8(uint64_t(uint8_t(plan.desc.shape.m)) * 0x0101010100000000ULL);
  static_assert(kVnmDirectMaxTokens == 4, "the switch below covers 1..4 tokens");
  auto octets = [&](int64_t o0, int64_t o1, const uint8_t* act, size_t act_stride, size_t gp_stride) {
    switch (args.tokens) {
      case 1: direct_octets<Bits, Gather, 1>(plan, args, o0, o1, act, act_stride, gp_stride, add_m); break;
      case 2: direct_octets<Bits, Gather, 2>(plan, args, o0, o1, act, act_stride, gp_stride, add_m); break;
      case 3: direct_octets<Bits, Gather, 3>(plan, args, o0, o1, act, act_stride, gp_stride, add_m); break;
      default: direct_octets<Bits, Gather, 4>(plan, args, o0, o1, act, act_stride, gp_stride, add_m); break;
    }
  };
  vnm_drive_direct<Gather>(plan, args, &pack_activations, &gather_activations, octets);
}

// ---- panel driver (GEMM) ----------------------------------------------------------------

template <int Bits, bool Gather>
void run_panels(const VnmGemmPlan& plan, const VnmArgs& args) {
  constexpr size_t TT = kVnmTileTokens;
  const VnmLayout& l = plan.layout;
  const int64_t v_octets = plan.desc.shape.v / 8;
  const size_t chunk_stride = size_t(plan.chunk_gp) * kUnit;  // bytes per octet in ctrl / vals
  const uint8x8_t add_m = vcreate_u8(uint64_t(uint8_t(plan.desc.shape.m)) * 0x0101010100000000ULL);
  // The panel's K chunks over the token block's windows, then its outputs.
  auto panel_chunks = [&](const VnmPanel& panel, size_t t0, size_t rows, const VnmPanelScratch& s) {
    for (int64_t gp0 = 0; gp0 < l.group_pairs; gp0 += plan.chunk_gp) {
      const int64_t n_gp = std::min<int64_t>(plan.chunk_gp, l.group_pairs - gp0);
      // Decoded once for all token tiles of the block.
      for (int32_t o = 0; o < panel.octets; ++o) {
        const int64_t octet = panel.octet0 + o;
        const uint8_t* pos = plan.positions() + (octet * l.group_pairs + gp0) * 8;
        const uint8_t* kept = plan.columns() + (octet / v_octets) * l.groups * 4 + gp0 * 8;
        for (int64_t i = 0; i < n_gp; ++i)
          decode_controls<Gather>(pos + 8 * i, kept + 8 * i, add_m, s.ctrl + o * chunk_stride + i * kUnit);
        if constexpr (Bits == 4) {
          const uint8_t* unit = plan.values() + (octet * l.group_pairs + gp0) * 16;
          for (int64_t i = 0; i < n_gp; ++i) unpack_int4(unit + 16 * i, s.vals + o * chunk_stride + i * kUnit);
        }
      }
      for (size_t r0 = 0; r0 < rows; r0 += kTileTokens) {
        const size_t tt = std::min<size_t>(kTileTokens, rows - r0);
        const uint8_t* win = s.win + r0 / TT * s.tile_win_bytes + size_t(gp0) * kVnmWindowRow + r0 % TT * 16;
        for (int32_t o = 0; o < panel.octets; o += 2) {
          const int pair = std::min(2, panel.octets - o);
          const uint8_t* ctrl[2];
          const int8_t* vals[2];
          for (int k = 0; k < pair; ++k) {
            ctrl[k] = s.ctrl + (o + k) * chunk_stride;
            vals[k] = Bits == 4 ? reinterpret_cast<const int8_t*>(s.vals + (o + k) * chunk_stride)
                                : reinterpret_cast<const int8_t*>(plan.values()) +
                                      ((panel.octet0 + o + k) * l.group_pairs + gp0) * kUnit;
          }
          kTiles[pair - 1][tt - 1](win, ctrl, vals, size_t(n_gp), s.acc + r0 * kPanelRow + 8 * o, gp0 > 0);
        }
      }
    }
    for (int32_t o = 0; o < panel.octets; ++o) {
      store_octet_rows(plan, args, panel.octet0 + o, s.acc + 8 * o, kPanelRow, t0, rows);
    }
  };
  vnm_drive_panels<Gather>(plan, args, &pack_activations, &gather_activations, panel_chunks);
}


template <int Bits>
void run(const VnmGemmPlan& plan, const VnmArgs& args) {
  const bool direct = args.tokens <= static_cast<size_t>(plan.direct_max_tokens);
  if (plan.gather) {
    direct ? run_direct<Bits, true>(plan, args) : run_panels<Bits, true>(plan, args);
  } else {
    direct ? run_direct<Bits, false>(plan, args) : run_panels<Bits, false>(plan, args);
  }
}

}  // namespace

void vnm_gemm_sdot_dotprod(const VnmGemmPlan& plan, const VnmArgs& args) {
  plan.desc.shape.value_bits == 4 ? run<4>(plan, args) : run<8>(plan, args);
}

}  // namespace dyad::kernels
