// V:N:M GEMM on AVX-512 VNNI (docs/vnm.md "VNNI kernels"): vpdpbusd on zmm,
// u = src - src_min (u8) x the row's values (s8), quad sums into int32 with
// the non-saturating form, so every 8- or 4-bit source and every int8 or int4
// weight is exact (the planner admits only descs whose accumulator fits
// int32; the sums wrap mod 2^32 like the AVX2 ones, so their order is free).
//
// GEMM (panel driver): a zmm holds 1 token x 4 rows (a "row quad") x 4
// consecutive group pairs: 128-bit lane j is group pair 4i + j. The token's
// windows of 4 group pairs are one 64-byte load (16 bytes per group pair, as
// they lie in scratch), the quad's controls and values of the same 4 group
// pairs are one 64-byte load each, so nothing is stored more than once. One
// vpshufb picks each row's 2 + 2 activations in every lane, one vpdpbusd adds
// the 4 products per row: 2 instructions per 64 useful products. The lanes
// hold partial sums of different group pairs; after the last K chunk the
// tile adds them (6 lane shuffles + 3 adds per 16 rows of a token) and the
// epilogue requantizes 16 channels at a time (Requant16, the shared one). The controls and
// values of a panel's K chunk are decoded once per token block (pair_controls,
// the zmm form of the ymm decoder in vnm_gemm_avx2.h, then a 4 x 4 transpose
// of lanes), and reused by every token tile. Register tile: 4 row quads
// (16 rows) x 4 tokens: 16 sums, 4 controls, 4 values, a window and a
// temporary. (The previous layout, 4 tokens x 4 rows of one group pair per
// zmm, needed its controls and values stored 4 times, once per lane: that
// decoding took 16% of a BERT FFN layer on AMD Zen 5, against 8-12% now.)
//
// GEMV (at most direct_max_tokens tokens): the direct ymm driver of
// vnm_gemm_avx2.h with the EVEX vpdpbusd step; it streams the weights once.
#include <immintrin.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstring>
#include <utility>

#include "kernels/common/pack_bytes_avx512.h"
#include "kernels/common/requant_avx512.h"
#include "kernels/vnm_gemm/vnm_gemm_avx2.h"

namespace dyad::kernels {
namespace {

using vnm_avx2::Weights;

constexpr int kTileQuads = 4;   // row quads of a register tile
constexpr int kTileTokens = 4;  // tokens of a register tile
constexpr size_t kBlockBytes = 64;  // a quad's controls (or values, or a token's windows) of 4 group pairs
constexpr size_t kPanelQuads = 2 * kVnmZmmPanelOctets;
constexpr int64_t kPrefetchGroupPairs = 16;  // decode_chunk's prefetch distance

// Sums of one token block x one panel: [token][row quad of the panel], one
// zmm (4 rows x 4 group-pair lanes) each.
inline int32_t* tile_sums(int32_t* acc, size_t token, size_t quad) { return acc + (token * kPanelQuads + quad) * 16; }

// Lane k of the result: the sum of the 4 lanes of z[k] (4 rows each), so the
// 16 int32 are rows 0..15 of the four quads.
inline __m512i sum_lanes(const __m512i z[4]) {
  const __m512i u01 = _mm512_add_epi32(_mm512_shuffle_i64x2(z[0], z[1], 0x88), _mm512_shuffle_i64x2(z[0], z[1], 0xDD));
  const __m512i u23 = _mm512_add_epi32(_mm512_shuffle_i64x2(z[2], z[3], 0x88), _mm512_shuffle_i64x2(z[2], z[3], 0xDD));
  return _mm512_add_epi32(_mm512_shuffle_i64x2(u01, u23, 0x88), _mm512_shuffle_i64x2(u01, u23, 0xDD));
}

// R row quads x Q tokens over blocks [0, n_blk) of 4 group pairs. win: the
// first token's windows at the chunk's first group pair (token q at
// + q * win_stride); ctrl / vals: the first quad's decoded controls / values
// (quad r at + r * quad_stride). After the last chunk (`last`) each token's
// lanes are added up: one zmm of the tile's 16 (or 8) rows, at the first
// quad's slot.
template <int R, int Q>
void tile(const uint8_t* win, size_t win_stride, const uint8_t* ctrl, const uint8_t* vals, size_t quad_stride,
          size_t n_blk, int32_t* sums, bool accumulate, bool last) {
  __m512i s[R][Q];
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int q = 0; q < Q; ++q)
      s[r][q] = accumulate ? _mm512_loadu_si512(sums + (q * kPanelQuads + r) * 16) : _mm512_setzero_si512();
  // The next tile (4 tokens on) reads its sums when it starts; fetch them
  // from L2 meanwhile (a block's sums are 64 KB; they leave L1 between chunks).
  const int32_t* next = sums + kTileTokens * kPanelQuads * 16;
  for (size_t i = 0; i < n_blk; ++i) {
    if (accumulate && i < size_t(R * kTileTokens))
      _mm_prefetch(reinterpret_cast<const char*>(next + ((i % kTileTokens) * kPanelQuads + i / kTileTokens) * 16),
                   _MM_HINT_T0);
    __m512i c[R], w[R];
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
      c[r] = _mm512_loadu_si512(ctrl + r * quad_stride + i * kBlockBytes);
      w[r] = _mm512_loadu_si512(vals + r * quad_stride + i * kBlockBytes);
    }
#pragma GCC unroll 4
    for (int q = 0; q < Q; ++q) {
      const __m512i a = _mm512_loadu_si512(win + q * win_stride + i * kBlockBytes);
#pragma GCC unroll 4
      for (int r = 0; r < R; ++r) s[r][q] = _mm512_dpbusd_epi32(s[r][q], _mm512_shuffle_epi8(a, c[r]), w[r]);
    }
  }
  if (last) {
#pragma GCC unroll 4
    for (int q = 0; q < Q; ++q) {
      const __m512i z[4] = {s[0][q], s[1][q], R > 2 ? s[R > 2 ? 2 : 0][q] : _mm512_setzero_si512(),
                            R > 3 ? s[R > 3 ? 3 : 0][q] : _mm512_setzero_si512()};
      _mm512_storeu_si512(sums + q * kPanelQuads * 16, sum_lanes(z));
    }
    return;
  }
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int q = 0; q < Q; ++q) _mm512_storeu_si512(sums + (q * kPanelQuads + r) * 16, s[r][q]);
}

using TileFn = void (*)(const uint8_t*, size_t, const uint8_t*, const uint8_t*, size_t, size_t, int32_t*, bool, bool);

template <int R, size_t... Q>
constexpr std::array<TileFn, sizeof...(Q)> tiles_of(std::index_sequence<Q...>) {
  return {&tile<R, int(Q) + 1>...};
}
// kTiles[R / 2 - 1][Q - 1]: a panel of one octet (gathered activations, V = 8)
// has 2 row quads; the last tile of a token block may have fewer tokens.
constexpr std::array<TileFn, kTileTokens> kTiles[2] = {tiles_of<2>(std::make_index_sequence<kTileTokens>{}),
                                                       tiles_of<4>(std::make_index_sequence<kTileTokens>{})};

// The 4 x 4 transpose of 128-bit lanes: z[k] lane j -> y[j] lane k.
inline void transpose_lanes(const __m512i z[4], __m512i y[4]) {
  const __m512i t0 = _mm512_shuffle_i64x2(z[0], z[1], 0x44), t1 = _mm512_shuffle_i64x2(z[0], z[1], 0xEE);
  const __m512i t2 = _mm512_shuffle_i64x2(z[2], z[3], 0x44), t3 = _mm512_shuffle_i64x2(z[2], z[3], 0xEE);
  y[0] = _mm512_shuffle_i64x2(t0, t2, 0x88), y[1] = _mm512_shuffle_i64x2(t0, t2, 0xDD);
  y[2] = _mm512_shuffle_i64x2(t1, t3, 0x88), y[3] = _mm512_shuffle_i64x2(t1, t3, 0xDD);
}

// Requantizes and stores the rows of octets o, o + 1 (one octet when `pair`
// is false) of the panel's sums for `rows` tokens of the block starting at
// dst row t0: per token 16 channels as one zmm (the tiles' lane sums at
// quad 2o).
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
  if (args.epilogue != nullptr) {
    // The final int32 values go back over the sums (16 per token, the
    // quad's slot), and the epilogue writes the outputs from there. (Copied
    // side by side into an L1 block first: no faster.)
    for (size_t t = 0; t < rows; ++t) {
      int32_t* sums = tile_sums(acc, t, quad);
      _mm512_storeu_si512(sums, _mm512_add_epi32(_mm512_loadu_si512(sums), col));
    }
    args.epilogue->fn(args.epilogue->ctx, tile_sums(acc, 0, quad), kPanelQuads * 16, t0, rows,
                      static_cast<size_t>(n0), count, args.dst, args.dst_stride);
    return;
  }
  if (d.dst_type == VnmDstType::kInt32) {
    for (size_t t = 0; t < rows; ++t)
      _mm512_mask_storeu_epi32(static_cast<int32_t*>(args.dst) + (t0 + t) * args.dst_stride + n0, mask,
                               _mm512_add_epi32(_mm512_loadu_si512(tile_sums(acc, t, quad)), col));
    return;
  }
  const Requant16 rq(lo.rq, hi.rq);
  const __m512i qmin = _mm512_set1_epi32(d.qmin), qmax = _mm512_set1_epi32(d.qmax);
  for (size_t t = 0; t < rows; ++t) {
    const __m512i a = _mm512_add_epi32(_mm512_loadu_si512(tile_sums(acc, t, quad)), col);
    const size_t row = (t0 + t) * args.dst_stride + n0;
    // Clamped into the 8-bit container, so the truncating vpmovdb gives
    // its byte for int8 and uint8 alike.
    const __m512i v = _mm512_min_epi32(_mm512_max_epi32(rq.apply(a), qmin), qmax);
    _mm_mask_storeu_epi8(static_cast<uint8_t*>(args.dst) + row, mask, _mm512_cvtepi32_epi8(v));
  }
}

// A full panel's requantized outputs (4 octets, 32 channels), when both of
// its 16-channel groups take the floor path: per token the two groups'
// values (the sums at quads 0 and 4) packed into one 32-byte store
// (BytePacker). store_panel returns false when the panel
// is not such a one (store_octets then stores each group).
template <bool kSigned>
void store_panel_packed(const VnmGemmPlan& plan, const VnmArgs& args, int64_t octet0, const Requant16 (&rq)[2],
                        const __m512i (&col)[2], int32_t* acc, size_t t0, size_t rows) {
  const VnmGemmDesc& d = plan.desc;
  const int64_t n0 = 8 * octet0;
  const BytePacker<kSigned> packer(d.qmin, d.qmax);
  const __mmask64 mask = first_bytes(static_cast<size_t>(std::min<int64_t>(32, d.shape.n - n0)));
  const Requant16::FloorForm form[2] = {rq[0].floor_form(), rq[1].floor_form()};
  for (size_t t = 0; t < rows; ++t) {
    const __m512i q[2] = {form[0].apply(_mm512_add_epi32(_mm512_loadu_si512(tile_sums(acc, t, 0)), col[0])),
                          form[1].apply(_mm512_add_epi32(_mm512_loadu_si512(tile_sums(acc, t, 4)), col[1]))};
    _mm512_mask_storeu_epi8(static_cast<uint8_t*>(args.dst) + (t0 + t) * args.dst_stride + n0, mask,
                            packer.template pack<2>(q));
  }
}
bool store_panel(const VnmGemmPlan& plan, const VnmArgs& args, int64_t octet0, int32_t octets, int32_t* acc,
                 size_t t0, size_t rows) {
  const VnmGemmDesc& d = plan.desc;
  if (octets != 4 || args.epilogue != nullptr || d.dst_type == VnmDstType::kInt32 || 8 * octet0 + 16 >= d.shape.n)
    return false;
  Requant16 rq[2];
  __m512i col[2];
  for (int g = 0; g < 2; ++g) {
    const VnmEpilogue8& lo = plan.epilogue[octet0 + 2 * g];
    const VnmEpilogue8& hi = plan.epilogue[octet0 + 2 * g + 1];
    rq[g] = Requant16(lo.rq, hi.rq);
    if (!rq[g].floor) return false;
    const auto* col_lo = reinterpret_cast<const __m256i*>(lo.col_const);
    const auto* col_hi = reinterpret_cast<const __m256i*>(hi.col_const);
    col[g] = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_load_si256(col_lo)), _mm256_load_si256(col_hi), 1);
  }
  if (d.dst_type == VnmDstType::kInt8) {
    store_panel_packed<true>(plan, args, octet0, rq, col, acc, t0, rows);
  } else {
    store_panel_packed<false>(plan, args, octet0, rq, col, acc, t0, rows);
  }
  return true;
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

// The values of one octet at group pairs gp..gp+3 (n of them valid, the rest
// 0) as its two quads: quad k's 16 bytes of group pair gp + j in lane j.
template <int Bits, bool Gather>
inline void octet_values(const Weights<Bits, Gather>& wt, const uint8_t* unit, int64_t n, __m512i q[2]) {
  constexpr size_t kUnit = Weights<Bits, Gather>::kUnitBytes;
  __m512i z0, z1;  // group pairs (0, 1), (2, 3): 32 bytes each, quad 0 then quad 1
  if constexpr (Bits == 8) {
    if (n == 4) {
      z0 = _mm512_loadu_si512(unit), z1 = _mm512_loadu_si512(unit + 64);
    } else {
      const int64_t bytes = n * 32;
      z0 = _mm512_maskz_loadu_epi8(bytes >= 64 ? ~__mmask64{0} : (__mmask64{1} << bytes) - 1, unit);
      z1 = bytes > 64 ? _mm512_maskz_loadu_epi8((__mmask64{1} << (bytes - 64)) - 1, unit + 64) : _mm512_setzero_si512();
    }
  } else {
    __m256i v[4];
    for (int64_t j = 0; j < 4; ++j) v[j] = j < n ? wt.value(unit + kUnit * j) : _mm256_setzero_si256();
    z0 = _mm512_inserti64x4(_mm512_castsi256_si512(v[0]), v[1], 1);
    z1 = _mm512_inserti64x4(_mm512_castsi256_si512(v[2]), v[3], 1);
  }
  q[0] = _mm512_shuffle_i64x2(z0, z1, 0x88);
  q[1] = _mm512_shuffle_i64x2(z0, z1, 0xDD);
}

// Decodes the controls and values of the panel's octets for group pairs
// [gp0, gp0 + n_gp) into ctrl_buf / vals_buf: row quad k of the panel at
// k * quad_stride, 64 bytes per 4 group pairs (lane j: group pair 4i + j);
// group pairs past n_gp up to the next multiple of 4 get control 0 and
// value 0.
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
    const uint8_t* val_a = wt.values_of(a) + kUnit * gp0;
    const uint8_t* val_b = wt.values_of(b) + kUnit * gp0;
    uint8_t* c = ctrl_buf + 2 * o * quad_stride;
    uint8_t* v = vals_buf + 2 * o * quad_stride;
    for (int64_t i = 0; i < n_gp; i += 4) {
      const int64_t n = std::min<int64_t>(4, n_gp - i);
      // The weights stream from memory once per run: fetch ahead (a miss
      // past the octet's end only loads a line the next octet needs).
      _mm_prefetch(reinterpret_cast<const char*>(val_a + kUnit * (i + kPrefetchGroupPairs)), _MM_HINT_T0);
      _mm_prefetch(reinterpret_cast<const char*>(val_b + kUnit * (i + kPrefetchGroupPairs)), _MM_HINT_T0);
      _mm_prefetch(reinterpret_cast<const char*>(pos_a + 8 * (i + 2 * kPrefetchGroupPairs)), _MM_HINT_T0);
      _mm_prefetch(reinterpret_cast<const char*>(pos_b + 8 * (i + 2 * kPrefetchGroupPairs)), _MM_HINT_T0);
      __m512i z[4], y[4];
      for (int64_t j = 0; j < 4; ++j) {
        const int64_t g = i + j;
        z[j] = j < n ? pair_controls<Gather>(pos_a + 8 * g, pos_b + 8 * g, kept_a + 8 * g, kept_b + 8 * g, add_m)
                     : _mm512_setzero_si512();
      }
      transpose_lanes(z, y);
      const size_t at = size_t(i / 4) * kBlockBytes;
      __m512i qa[2], qb[2];
      octet_values(wt, val_a + kUnit * i, n, qa);
      _mm512_storeu_si512(c + at, y[0]);
      _mm512_storeu_si512(c + quad_stride + at, y[1]);
      _mm512_storeu_si512(v + at, qa[0]);
      _mm512_storeu_si512(v + quad_stride + at, qa[1]);
      if (pair) {
        octet_values(wt, val_b + kUnit * i, n, qb);
        _mm512_storeu_si512(c + 2 * quad_stride + at, y[2]);
        _mm512_storeu_si512(c + 3 * quad_stride + at, y[3]);
        _mm512_storeu_si512(v + 2 * quad_stride + at, qb[0]);
        _mm512_storeu_si512(v + 3 * quad_stride + at, qb[1]);
      }
    }
  }
}

// The windows of n token rows (row t at rows + t * stride; group pair g's
// 16 bytes at + g * gp_stride) as rows of win_stride bytes: 16 bytes per
// group pair, zeros up to the next multiple of 4 group pairs.
void token_windows(const uint8_t* rows, size_t n, size_t stride, size_t gp_stride, int64_t group_pairs,
                   size_t win_stride, uint8_t* out) {
  const int64_t padded = (group_pairs + 3) / 4 * 4;
  for (size_t t = 0; t < n; ++t) {
    const uint8_t* r = rows + t * stride;
    uint8_t* o = out + t * win_stride;
    int64_t g = 0;
    if (gp_stride == 16) {  // M = 8: the windows lie side by side already
      for (; g + 4 <= group_pairs; g += 4) _mm512_storeu_si512(o + 16 * g, _mm512_loadu_si512(r + 16 * g));
    } else if (gp_stride == 8) {  // M = 4 or gathered: window g is qwords g, g + 1
      for (; g + 4 <= group_pairs; g += 4) {
        const __m256i lo = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(r + 8 * g));
        const __m256i hi = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(r + 8 * g + 8));
        const __m512i x = _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
        _mm512_storeu_si512(o + 16 * g, _mm512_shuffle_i64x2(x, x, 0xD8));
      }
    }
    for (; g < group_pairs; ++g)
      _mm_storeu_si128(reinterpret_cast<__m128i*>(o + 16 * g),
                       _mm_loadu_si128(reinterpret_cast<const __m128i*>(r + g * gp_stride)));
    std::memset(o + 16 * group_pairs, 0, 16 * size_t(padded - group_pairs));
  }
}

template <int Bits, bool Gather>
void run_panels(const VnmGemmPlan& plan, const VnmArgs& args) {
  constexpr size_t TT = kVnmZmmTileTokens;  // rows packed (and gathered) at a time
  const Weights<Bits, Gather> wt(plan);
  const VnmLayout& l = plan.layout;
  const VnmWorkSplit w(plan, args);
  const size_t tokens = w.tokens, tb = w.tb, groups = w.groups, items = w.items;
  const int64_t v_octets = plan.desc.shape.v / 8;
  const size_t win_stride = vnm_zmm_window_stride(l.group_pairs);
  const size_t quad_stride = vnm_zmm_quad_stride(plan.chunk_gp);
  // Bytes (0, 0, 0, 0, M, M, M, M) repeated: the second group's window offset.
  const __m512i add_m = _mm512_set1_epi64(int64_t{plan.desc.shape.m * 0x01010101LL} << 32);
  // Raw int32 outputs are stored per register tile, as soon as they are
  // final: stored a panel at a time (a token block's rows, 128 B each, 12 KB
  // apart for BERT-base's FFN, all in one L1 set), they missed with nothing
  // to overlap, and the 1.5 MB int32 FFN output took 460 us against 281
  // per tile and 280 with int8 outputs (AMD EPYC Zen 5; prefetching the
  // lines for writing did not help). Requantized outputs keep the panel's
  // stores: per tile, building their constants cost 10-15 %.
  const bool store_per_tile = args.epilogue == nullptr && plan.desc.dst_type == VnmDstType::kInt32;
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
    for (size_t item; !stop_requested(args.pool) && (item = next.fetch_add(1, std::memory_order_relaxed)) < items;) {
      const size_t b = item / groups, g = item % groups;
      const size_t t0 = b * tb, rows = std::min(tb, tokens - t0);
      if (packed_block != b) {
        if constexpr (Gather) {
          vnm_avx2::pack_activations(plan, src + t0 * args.src_stride, rows, args.src_stride, a_buf);
        } else {
          for (size_t r = 0; r < rows; r += TT) {
            const size_t n = std::min(TT, rows - r);
            vnm_avx2::pack_activations(plan, src + (t0 + r) * args.src_stride, n, args.src_stride, a_buf);
            token_windows(a_buf, n, plan.a_stride, 2 * size_t(plan.desc.shape.m), l.group_pairs, win_stride,
                          win_buf + r * win_stride);
          }
        }
        packed_block = b;
        windowed_vblock = -1;
      }
      for (size_t p = w.first_panel(g); p < w.end_panel(g); ++p) {
        const VnmPanel panel = plan.panels[p];
        const int32_t quads = 2 * panel.octets;
        if constexpr (Gather) {
          const int64_t vblock = panel.octet0 / v_octets;
          if (windowed_vblock != vblock) {
            for (size_t r = 0; r < rows; r += TT) {
              const size_t n = std::min(TT, rows - r);
              vnm_avx2::gather_activations(plan, a_buf + r * plan.a_stride, n, vblock, g_buf);
              token_windows(g_buf, n, plan.g_stride, 8, l.group_pairs, win_stride, win_buf + r * win_stride);
            }
            windowed_vblock = vblock;
          }
        }
        for (int64_t gp0 = 0; gp0 < l.group_pairs; gp0 += plan.chunk_gp) {
          const int64_t n_gp = std::min<int64_t>(plan.chunk_gp, l.group_pairs - gp0);
          const size_t n_blk = size_t(n_gp + 3) / 4;
          // Decoded once for all token tiles of the block.
          decode_chunk(wt, panel, gp0, n_gp, add_m, quad_stride, ctrl_buf, vals_buf);
          for (int32_t q0 = 0; q0 < quads; q0 += kTileQuads) {
            const int r = std::min(kTileQuads, quads - q0);
            for (size_t r0 = 0; r0 < rows; r0 += kTileTokens) {
              const size_t q = std::min<size_t>(kTileTokens, rows - r0);
              const uint8_t* win = win_buf + r0 * win_stride + size_t(gp0) * 16;
              const bool last = gp0 + plan.chunk_gp >= l.group_pairs;
              kTiles[r / 2 - 1][q - 1](win, win_stride, ctrl_buf + q0 * quad_stride, vals_buf + q0 * quad_stride,
                                       quad_stride, n_blk, tile_sums(acc, r0, q0), gp0 > 0, last);
              if (last && store_per_tile)
                store_octets(plan, args, panel.octet0 + q0 / 2, q0, q0 / 2 + 1 < panel.octets,
                             tile_sums(acc, r0, 0), t0 + r0, q);
            }
          }
        }
        if (!store_per_tile && !store_panel(plan, args, panel.octet0, panel.octets, acc, t0, rows))
          for (int32_t o = 0; o < panel.octets; o += 2) {
            const bool pair = o + 1 < panel.octets;
            store_octets(plan, args, panel.octet0 + o, 2 * o, pair, acc, t0, rows);
          }
      }
    }
  };
  parallel_for(args.pool, std::min(w.threads, items), task);
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
