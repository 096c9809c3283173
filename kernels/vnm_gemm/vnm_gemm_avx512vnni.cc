// V:N:M GEMM on AVX-512 VNNI (docs/vnm.md "VNNI kernels"): vpdpbusd on zmm,
// u = src - src_min (u8) x the row's values (s8), quad sums into int32 with
// the non-saturating form, so every 8- or 4-bit source and every int8 or int4
// weight is exact (the planner admits only descs whose accumulator fits
// int32; the sums wrap mod 2^32 like the AVX2 ones).
//
// GEMM (panel driver): a zmm holds 4 tokens x 4 rows (a "row quad"): 128-bit
// lane j is token j's 16-byte window of the group pair, and the lane's 4
// int32 sums are the quad's rows. One vpshufb with the quad's controls
// (the same 16 bytes in every lane) picks each row's 2 + 2 activations in
// every lane at once, and one vpdpbusd with the quad's values (also in every
// lane) adds the 4 products per row: 2 instructions per 64 useful products,
// and the windows load 4 tokens at a time as they lie in scratch, no
// broadcast. The controls and values of a panel's K chunk are decoded once,
// two octets per zmm (pair_controls, the zmm form of the ymm decoder in
// vnm_gemm_avx2.h), and stored once per lane, then reused by every token
// tile. Register tile: 4 row quads (16 rows) x 4 token quads (16 tokens):
// 16 sums, 4 controls, 4 values, a window and a temporary.
// The sums of a tile stay in that zmm layout in scratch across K chunks; the
// epilogue transposes 4 quads x 4 tokens into 16-channel rows and
// requantizes them 16 channels at a time (Requant16, the shared epilogue).
//
// GEMV (at most direct_max_tokens tokens): the direct ymm driver of
// vnm_gemm_avx2.h with the EVEX vpdpbusd step; it streams the weights once.
#include <immintrin.h>

#include <algorithm>
#include <atomic>
#include <cstring>

#include "kernels/common/requant_avx512.h"
#include "kernels/vnm_gemm/vnm_gemm_avx2.h"

namespace dyad::kernels {
namespace {

using vnm_avx2::Weights;

constexpr int kTileQuads = 4;                          // row quads of a register tile
constexpr int kTokenQuads = kVnmZmmTileTokens / 4;     // token quads of a register tile
constexpr size_t kWindowRow = 16 * kVnmZmmTileTokens;  // window bytes of a tile per group pair
constexpr size_t kQuadBytes = 64;                      // a quad's controls (or values) of one group pair, 4 lanes
static_assert(kVnmZmmTileTokens % 4 == 0, "token quads");

// Sums of one token block x one panel, kept in the tiles' zmm layout:
// [token tile][row quad of the panel][token quad], 16 int32 each.
constexpr size_t kPanelQuads = 2 * kVnmZmmPanelOctets;
inline int32_t* tile_sums(int32_t* acc, size_t tile, size_t quad) {
  return acc + (tile * kPanelQuads + quad) * kTokenQuads * 16;
}

// R row quads x Q token quads over group pairs [0, n_gp) of a chunk. win:
// the tile's windows at the chunk's first group pair; ctrl / vals: the first
// quad's decoded controls / values (quad r at + r * quad_stride).
template <int R, int Q>
void tile(const uint8_t* win, const uint8_t* ctrl, const uint8_t* vals, size_t quad_stride, size_t n_gp,
          int32_t* sums, bool accumulate) {
  __m512i s[R][Q];
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
    for (int q = 0; q < Q; ++q)
      s[r][q] = accumulate ? _mm512_loadu_si512(sums + (r * kTokenQuads + q) * 16) : _mm512_setzero_si512();
  for (size_t i = 0; i < n_gp; ++i) {
    __m512i c[R], w[R];
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
      c[r] = _mm512_loadu_si512(ctrl + r * quad_stride + i * kQuadBytes);
      w[r] = _mm512_loadu_si512(vals + r * quad_stride + i * kQuadBytes);
    }
#pragma GCC unroll 8
    for (int q = 0; q < Q; ++q) {
      const __m512i a = _mm512_loadu_si512(win + i * kWindowRow + q * 64);
#pragma GCC unroll 4
      for (int r = 0; r < R; ++r) s[r][q] = _mm512_dpbusd_epi32(s[r][q], _mm512_shuffle_epi8(a, c[r]), w[r]);
    }
  }
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
    for (int q = 0; q < Q; ++q) _mm512_storeu_si512(sums + (r * kTokenQuads + q) * 16, s[r][q]);
}

using TileFn = void (*)(const uint8_t*, const uint8_t*, const uint8_t*, size_t, size_t, int32_t*, bool);

template <int R, size_t... Q>
constexpr std::array<TileFn, sizeof...(Q)> tiles_of(std::index_sequence<Q...>) {
  return {&tile<R, int(Q) + 1>...};
}
// kTiles[R / 2 - 1][Q - 1]: a panel of one octet (gathered activations, V = 8)
// has 2 row quads; the last token tile of a block may have fewer quads.
constexpr std::array<TileFn, kTokenQuads> kTiles[2] = {tiles_of<2>(std::make_index_sequence<kTokenQuads>{}),
                                                       tiles_of<4>(std::make_index_sequence<kTokenQuads>{})};

// The 4 x 4 transpose of 128-bit lanes: z[k] lane j -> y[j] lane k.
inline void transpose_lanes(const __m512i z[4], __m512i y[4]) {
  const __m512i t0 = _mm512_shuffle_i64x2(z[0], z[1], 0x44), t1 = _mm512_shuffle_i64x2(z[0], z[1], 0xEE);
  const __m512i t2 = _mm512_shuffle_i64x2(z[2], z[3], 0x44), t3 = _mm512_shuffle_i64x2(z[2], z[3], 0xEE);
  y[0] = _mm512_shuffle_i64x2(t0, t2, 0x88), y[1] = _mm512_shuffle_i64x2(t0, t2, 0xDD);
  y[2] = _mm512_shuffle_i64x2(t1, t3, 0x88), y[3] = _mm512_shuffle_i64x2(t1, t3, 0xDD);
}

// Requantizes and stores the rows of octets o, o + 1 (one octet when `pair`
// is false) of the panel's sums for `rows` tokens of the block starting at
// dst row t0: per token 16 channels as one zmm.
void store_octets(const VnmGemmPlan& plan, const VnmArgs& args, int64_t octet, int32_t quad, bool pair,
                  int32_t* acc, size_t t0, size_t rows) {
  const VnmGemmDesc& d = plan.desc;
  const int64_t n0 = 8 * octet;
  if (n0 >= d.shape.n) return;  // all padding
  const size_t count = static_cast<size_t>(std::min<int64_t>(pair ? 16 : 8, d.shape.n - n0));
  const __mmask16 mask = static_cast<__mmask16>((uint32_t{1} << count) - 1);
  const VnmEpilogue8& lo = plan.epilogue[octet];
  const VnmEpilogue8& hi = pair ? plan.epilogue[octet + 1] : lo;
  const __m512i col = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_load_si256(
                                             reinterpret_cast<const __m256i*>(lo.col_const))),
                                         _mm256_load_si256(reinterpret_cast<const __m256i*>(hi.col_const)), 1);
  const bool requant = d.dst_type != VnmDstType::kInt32;
  const Requant16 rq(lo.rq, hi.rq);
  const __m512i qmin = _mm512_set1_epi32(d.qmin), qmax = _mm512_set1_epi32(d.qmax);
  for (size_t t = 0; t < rows; t += 4) {
    const size_t ti = t / kVnmZmmTileTokens, q = t % kVnmZmmTileTokens / 4;
    __m512i z[4], y[4];
    for (int k = 0; k < 4; ++k) {
      z[k] = k < 2 || pair ? _mm512_loadu_si512(tile_sums(acc, ti, quad + k) + q * 16) : _mm512_setzero_si512();
    }
    transpose_lanes(z, y);
    for (size_t j = 0; j < std::min<size_t>(4, rows - t); ++j) {
      const __m512i a = _mm512_add_epi32(y[j], col);
      const size_t row = (t0 + t + j) * args.dst_stride + n0;
      if (!requant) {
        _mm512_mask_storeu_epi32(static_cast<int32_t*>(args.dst) + row, mask, a);
        continue;
      }
      // Clamped into the 8-bit container, so the truncating vpmovdb gives
      // its byte for int8 and uint8 alike.
      const __m512i v = _mm512_min_epi32(_mm512_max_epi32(rq.apply(a), qmin), qmax);
      _mm_mask_storeu_epi8(static_cast<uint8_t*>(args.dst) + row, mask, _mm512_cvtepi32_epi8(v));
    }
  }
}

// The controls of octets a and b (rows 0..7, 8..15) at one group pair: the
// zmm form of Weights::control (vnm_gemm_avx2.h), two octets per call.
template <bool Gather>
inline __m512i pair_controls(const uint8_t* pos_a, const uint8_t* pos_b, const uint8_t* kept_a,
                             const uint8_t* kept_b, __m512i add_m) {
  const __m128i p = _mm_unpacklo_epi64(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(pos_a)),
                                       _mm_loadl_epi64(reinterpret_cast<const __m128i*>(pos_b)));
  __m512i x = _mm512_cvtepu8_epi32(p);
  x = _mm512_or_si512(x, _mm512_slli_epi32(x, 6));
  x = _mm512_or_si512(x, _mm512_slli_epi32(x, 12));
  // (x & 0x03030303) | 0x04040000 per row: indices (p0, p1, 4 + p0', 4 + p1').
  const __m512i idx =
      _mm512_ternarylogic_epi32(x, _mm512_set1_epi32(0x03030303), _mm512_set1_epi32(0x04040000), 0xEA);
  if constexpr (Gather) return idx;
  const __m512i table = _mm512_mask_set1_epi64(_mm512_set1_epi64(vnm_avx2::load_i64(kept_a)), 0xF0,
                                               vnm_avx2::load_i64(kept_b));
  return _mm512_shuffle_epi8(_mm512_add_epi8(table, add_m), idx);
}

// Decodes the controls and values of the panel's octets for group pairs
// [gp0, gp0 + n_gp) into ctrl_buf / vals_buf: row quad k of the panel at
// k * quad_stride, its 16 bytes per group pair in all 4 lanes.
template <int Bits, bool Gather>
void decode_chunk(const Weights<Bits, Gather>& wt, const VnmPanel& panel, int64_t gp0, int64_t n_gp,
                  __m512i add_m, size_t quad_stride, uint8_t* ctrl_buf, uint8_t* vals_buf) {
  constexpr size_t kUnit = Weights<Bits, Gather>::kUnitBytes;
  for (int32_t o = 0; o < panel.octets; o += 2) {
    const bool pair = o + 1 < panel.octets;
    const int64_t a = panel.octet0 + o, b = pair ? a + 1 : a;
    const uint8_t* pos_a = wt.positions_of(a) + 8 * gp0;
    const uint8_t* pos_b = wt.positions_of(b) + 8 * gp0;
    const uint8_t* kept_a = wt.tables(a) + 8 * gp0;
    const uint8_t* kept_b = wt.tables(b) + 8 * gp0;
    const uint8_t* val[2] = {wt.values_of(a) + kUnit * gp0, wt.values_of(b) + kUnit * gp0};
    const int quads = pair ? 4 : 2;
    uint8_t* c = ctrl_buf + 2 * o * quad_stride;
    uint8_t* v = vals_buf + 2 * o * quad_stride;
    for (int64_t i = 0; i < n_gp; ++i) {
      const __m512i ci = pair_controls<Gather>(pos_a + 8 * i, pos_b + 8 * i, kept_a + 8 * i, kept_b + 8 * i, add_m);
      _mm512_storeu_si512(c + i * kQuadBytes, _mm512_shuffle_i32x4(ci, ci, 0x00));
      _mm512_storeu_si512(c + quad_stride + i * kQuadBytes, _mm512_shuffle_i32x4(ci, ci, 0x55));
      if (pair) {
        _mm512_storeu_si512(c + 2 * quad_stride + i * kQuadBytes, _mm512_shuffle_i32x4(ci, ci, 0xAA));
        _mm512_storeu_si512(c + 3 * quad_stride + i * kQuadBytes, _mm512_shuffle_i32x4(ci, ci, 0xFF));
      }
      for (int k = 0; k < quads; k += 2) {
        const uint8_t* unit = val[k / 2] + kUnit * i;
        __m512i lo, hi;
        if constexpr (Bits == 8) {
          lo = _mm512_broadcast_i32x4(_mm_loadu_si128(reinterpret_cast<const __m128i*>(unit)));
          hi = _mm512_broadcast_i32x4(_mm_loadu_si128(reinterpret_cast<const __m128i*>(unit + 16)));
        } else {
          const __m256i vi = wt.value(unit);
          lo = _mm512_broadcast_i32x4(_mm256_castsi256_si128(vi));
          hi = _mm512_broadcast_i32x4(_mm256_extracti128_si256(vi, 1));
        }
        _mm512_storeu_si512(v + k * quad_stride + i * kQuadBytes, lo);
        _mm512_storeu_si512(v + (k + 1) * quad_stride + i * kQuadBytes, hi);
      }
    }
  }
}

// Windows of n <= kVnmZmmTileTokens token rows, the slots up to the next
// multiple of 4 zeroed (their lanes are computed, never stored).
void tile_windows(const uint8_t* rows, size_t n, size_t stride, size_t gp_stride, int64_t group_pairs,
                  uint8_t* out) {
  vnm_make_windows(rows, n, stride, gp_stride, group_pairs, kWindowRow, out);
  const size_t padded = (n + 3) / 4 * 4;
  if (padded == n) return;
  for (int64_t gp = 0; gp < group_pairs; ++gp) std::memset(out + gp * kWindowRow + 16 * n, 0, 16 * (padded - n));
}

template <int Bits, bool Gather>
void run_panels(const VnmGemmPlan& plan, const VnmArgs& args) {
  constexpr size_t TT = kVnmZmmTileTokens;
  const Weights<Bits, Gather> wt(plan);
  const VnmLayout& l = plan.layout;
  const size_t tokens = args.tokens, tb = plan.token_block;
  const size_t threads = args.pool ? static_cast<size_t>(args.pool->num_threads()) : 1;
  const size_t token_blocks = (tokens + tb - 1) / tb;
  const size_t panels = plan.panels.size();
  const size_t group = threads == 1 ? panels : std::max<size_t>(1, panels / (4 * threads));
  const size_t groups = (panels + group - 1) / group;
  const size_t items = token_blocks * groups;
  const int64_t v_octets = plan.desc.shape.v / 8;
  const size_t tile_win_bytes = size_t(l.group_pairs) * kWindowRow;
  const size_t quad_stride = size_t(plan.chunk_gp) * kQuadBytes;
  // Bytes (0, 0, 0, 0, M, M, M, M) repeated: the second group's window offset.
  const __m512i add_m = _mm512_set1_epi64(int64_t{plan.desc.shape.m * 0x01010101LL} << 32);
  const auto* src = static_cast<const uint8_t*>(args.src);
  std::atomic<size_t> next{0};
  auto task = [&](size_t thread) {
    uint8_t* a_buf = args.scratch + thread * plan.scratch_bytes_per_thread;
    uint8_t* g_buf = a_buf + plan.scratch_a_bytes;
    uint8_t* win_buf = g_buf + plan.scratch_g_bytes;
    uint8_t* ctrl_buf = win_buf + plan.scratch_win_bytes;
    uint8_t* vals_buf = ctrl_buf + plan.scratch_ctrl_bytes;
    auto* acc = reinterpret_cast<int32_t*>(vals_buf + plan.scratch_vals_bytes);
    size_t packed_block = SIZE_MAX;
    int64_t windowed_vblock = -1;
    for (size_t item; (item = next.fetch_add(1, std::memory_order_relaxed)) < items;) {
      const size_t b = item / groups, g = item % groups;
      const size_t t0 = b * tb, rows = std::min(tb, tokens - t0);
      if (packed_block != b) {
        if constexpr (Gather) {
          vnm_avx2::pack_activations(plan, src + t0 * args.src_stride, rows, args.src_stride, a_buf);
        } else {
          for (size_t r = 0; r < rows; r += TT) {
            const size_t n = std::min(TT, rows - r);
            vnm_avx2::pack_activations(plan, src + (t0 + r) * args.src_stride, n, args.src_stride, a_buf);
            tile_windows(a_buf, n, plan.a_stride, 2 * size_t(plan.desc.shape.m), l.group_pairs,
                         win_buf + r / TT * tile_win_bytes);
          }
        }
        packed_block = b;
        windowed_vblock = -1;
      }
      for (size_t p = g * group; p < std::min(panels, (g + 1) * group); ++p) {
        const VnmPanel panel = plan.panels[p];
        const int32_t quads = 2 * panel.octets;
        if constexpr (Gather) {
          const int64_t vblock = panel.octet0 / v_octets;
          if (windowed_vblock != vblock) {
            for (size_t r = 0; r < rows; r += TT) {
              const size_t n = std::min(TT, rows - r);
              vnm_avx2::gather_activations(plan, a_buf + r * plan.a_stride, n, vblock, g_buf);
              tile_windows(g_buf, n, plan.g_stride, 8, l.group_pairs, win_buf + r / TT * tile_win_bytes);
            }
            windowed_vblock = vblock;
          }
        }
        for (int64_t gp0 = 0; gp0 < l.group_pairs; gp0 += plan.chunk_gp) {
          const int64_t n_gp = std::min<int64_t>(plan.chunk_gp, l.group_pairs - gp0);
          // Decoded once for all token tiles of the block.
          decode_chunk(wt, panel, gp0, n_gp, add_m, quad_stride, ctrl_buf, vals_buf);
          for (size_t r0 = 0; r0 < rows; r0 += TT) {
            const size_t token_quads = (std::min(TT, rows - r0) + 3) / 4;
            const uint8_t* win = win_buf + r0 / TT * tile_win_bytes + size_t(gp0) * kWindowRow;
            for (int32_t q0 = 0; q0 < quads; q0 += kTileQuads) {
              const int r = std::min(kTileQuads, quads - q0);
              kTiles[r / 2 - 1][token_quads - 1](win, ctrl_buf + q0 * quad_stride, vals_buf + q0 * quad_stride,
                                                 quad_stride, size_t(n_gp), tile_sums(acc, r0 / TT, q0), gp0 > 0);
            }
          }
        }
        for (int32_t o = 0; o < panel.octets; o += 2) {
          const bool pair = o + 1 < panel.octets;
          store_octets(plan, args, panel.octet0 + o, 2 * o, pair, acc, t0, rows);
        }
      }
    }
  };
  parallel_for(args.pool, std::min(threads, items), task);
}

template <int Bits>
void run(const VnmGemmPlan& plan, const VnmArgs& args) {
  using Step = vnm_avx2::DpStep<false>;
  const bool direct = args.tokens <= static_cast<size_t>(plan.direct_max_tokens);
  if (plan.gather) {
    direct ? vnm_avx2::run_direct<Step, Bits, true>(plan, args) : run_panels<Bits, true>(plan, args);
  } else {
    direct ? vnm_avx2::run_direct<Step, Bits, false>(plan, args) : run_panels<Bits, false>(plan, args);
  }
}

}  // namespace

void vnm_gemm_dp_avx512vnni(const VnmGemmPlan& plan, const VnmArgs& args) {
  plan.desc.shape.value_bits == 4 ? run<4>(plan, args) : run<8>(plan, args);
}

}  // namespace dyad::kernels
