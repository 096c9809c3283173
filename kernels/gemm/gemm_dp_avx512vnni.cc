// W8A8 and W4A8 on AVX-512 VNNI: vpdpbusd on zmm, 16 int32 lanes = 16 columns x one k
// quad per instruction (kernel and exactness argument: gemm_dp.h).
//
// Register tile 6 x 64: 24 zmm sums, 4 weight vectors, 1 broadcast (29 of
// the 32 registers). A step loads 4 x 64 bytes of weights and broadcasts 6
// quads, for 24 vpdpbusd (1536 products); SPR runs two zmm vpdpbusd per cycle.
#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "kernels/common/pack_bytes_avx512.h"
#include "kernels/common/requant_avx512.h"
#include "kernels/gemm/gemm_dp.h"

namespace dyad::kernels {
namespace {

struct Zmm {
  using V = __m512i;
  static constexpr int kLanes = 16;
  static V load(const void* p) { return _mm512_loadu_si512(p); }
  static V broadcast32(const void* p) {
    int32_t v;
    std::memcpy(&v, p, 4);
    return _mm512_set1_epi32(v);
  }
  static V zero() { return _mm512_setzero_si512(); }
  static V set1_32(int32_t x) { return _mm512_set1_epi32(x); }
  static V set1_8(int8_t x) { return _mm512_set1_epi8(x); }
  static V low_nibbles(V x) { return _mm512_and_si512(x, _mm512_set1_epi8(0x0F)); }
  static V high_nibbles(V x) { return _mm512_and_si512(_mm512_srli_epi16(x, 4), _mm512_set1_epi8(0x0F)); }
  static V sub8(V x, V y) { return _mm512_sub_epi8(x, y); }
  static void store(void* p, V v) { _mm512_storeu_si512(p, v); }
  static V dp(V acc, V u8s, V s8s) { return _mm512_dpbusd_epi32(acc, u8s, s8s); }

  // pack_rows_u8 (gemm_avx2.h) on zmm: u = src - src_offset for k < K,
  // zeros up to the next 64-byte boundary (which a_stride >= kp + 4 covers),
  // then the row sum of u as an int32 at byte kp, which only the nibble
  // panels read (gemm_dp.h nibble_steps): 8-bit panels skip it (in the 1x1
  // convs of MobileNetV2, K = 16-32, the sum cost twice the copy).
  static void pack_rows(const GemmPlan& plan, const uint8_t* src, size_t rows, size_t src_stride,
                        uint8_t* out) {
    plan.variant->packed_weight_bits == 4 ? pack_rows_with<true>(plan, src, rows, src_stride, out)
                                          : pack_rows_with<false>(plan, src, rows, src_stride, out);
  }
  template <bool kRowSums>
  static void pack_rows_with(const GemmPlan& plan, const uint8_t* src, size_t rows, size_t src_stride,
                             uint8_t* out) {
    const size_t K = plan.desc.K;
    const __m512i off = _mm512_set1_epi8(static_cast<char>(plan.src_offset));
    for (size_t r = 0; r < rows; ++r) {
      const uint8_t* s = src + r * src_stride;
      uint8_t* a = out + r * plan.a_stride;
      __m512i sums = _mm512_setzero_si512();
      for (size_t k = 0; k < K; k += 64) {
        const size_t n = std::min<size_t>(64, K - k);
        const __mmask64 mask = n == 64 ? ~__mmask64{0} : (__mmask64{1} << n) - 1;
        const __m512i u = _mm512_maskz_sub_epi8(mask, _mm512_maskz_loadu_epi8(mask, s + k), off);
        _mm512_storeu_si512(a + k, u);
        if constexpr (kRowSums) sums = _mm512_add_epi64(sums, _mm512_sad_epu8(u, _mm512_setzero_si512()));
      }
      if constexpr (kRowSums) {
        // Kept mod 2^32, as in pack_rows_u8.
        const uint32_t row_sum = static_cast<uint32_t>(_mm512_reduce_add_epi64(sums));
        std::memcpy(a + plan.kp, &row_sum, sizeof(row_sum));
      }
    }
  }

  // The epilogue 16 columns at a time (Requant16: the shared requant on
  // zmm): int32 sums plus the column constants, to dst rows m0.., columns
  // n0..; columns past N are masked off. A requantized value is already
  // clamped into its 8-bit container, so the truncating vpmovdb gives its
  // byte for int8 and uint8 alike.
  enum class Path { kRaw, kFloorWithCol, kFloorWide, kRequant };
  struct Columns16 {
    Columns16() = default;
    __attribute__((always_inline)) Columns16(const GemmPlan& plan, size_t n, size_t count)
        : n0(n),
          mask(static_cast<__mmask16>((uint32_t{1} << std::min<size_t>(16, count)) - 1)),
          col(_mm512_loadu_si512(plan.col_const.data() + n)),
          qmin(_mm512_set1_epi32(plan.desc.qmin)),
          qmax(_mm512_set1_epi32(plan.desc.qmax)),
          rq(block(plan, n), block(plan, n + 8)),
          // On the floor path the column constant may be inside its rounding
          // constant already (GemmPlan::col_in_floor_round).
          path(plan.desc.dst_type == GemmDstType::kInt32 ? Path::kRaw
               : plan.col_in_floor_round && rq.floor     ? Path::kFloorWithCol
               : !rq.floor && rq.floor_wide               ? Path::kFloorWide
                                                         : Path::kRequant) {}
    // A raw int32 plan has no requant blocks; its Requant16 is never applied.
    static const RequantBlock8& block(const GemmPlan& plan, size_t n) {
      static const RequantBlock8 kUnused{};
      return plan.desc.dst_type == GemmDstType::kInt32 ? kUnused : plan.requant_blocks[n / 8];
    }
    // The requantized sums (not yet clamped), on a requantizing path.
    template <Path P>
    __attribute__((always_inline)) __m512i quantize(__m512i sums) const {
      return P == Path::kFloorWithCol ? rq.apply_floor(sums)
             : P == Path::kFloorWide  ? rq.apply_floor_wide(_mm512_add_epi32(sums, col))
                                      : rq.apply(_mm512_add_epi32(sums, col));
    }
    // 16 requantized values clamped into their 8-bit container, whose
    // truncating vpmovdb then keeps each one (int8 and uint8 alike).
    __attribute__((always_inline)) static void store_bytes(uint8_t* at, __mmask16 mask, __m512i q, __m512i qmin,
                                                           __m512i qmax) {
      _mm_mask_storeu_epi8(at, mask, _mm512_cvtepi32_epi8(_mm512_min_epi32(_mm512_max_epi32(q, qmin), qmax)));
    }
    // Row m's sums of these columns.
    template <Path P>
    __attribute__((always_inline)) void store(__m512i sums, size_t m, const GemmArgs& args) const {
      const size_t at = m * args.dst_stride + n0;
      if constexpr (P == Path::kRaw) {
        _mm512_mask_storeu_epi32(static_cast<int32_t*>(args.dst) + at, mask, _mm512_add_epi32(sums, col));
      } else {
        store_bytes(static_cast<uint8_t*>(args.dst) + at, mask, quantize<P>(sums), qmin, qmax);
      }
    }
    size_t n0;
    __mmask16 mask;
    __m512i col, qmin, qmax;
    Requant16 rq;
    Path path;
  };

  // The Columns16 of a panel's NR columns from n0 (those up to N), gathered
  // once per panel: built per tile, they took 3-4 % of MobileNetV2's time.
  template <int NR>
  struct Epilogue {
    Epilogue(const GemmPlan& p, size_t n) : plan(&p), n0(n), ncols(std::min<size_t>(NR, p.desc.N - n)) {
      groups = static_cast<int>((ncols + 15) / 16);
      for (int j = 0; j < groups; ++j) cols[j] = Columns16(p, n0 + 16 * j, ncols - 16 * j);
      // 8-bit outputs of 2 or 4 groups on the floor path with the column
      // constant inside (the usual one) are packed (BytePacker).
      packs = groups == 2 || groups == 4;
      for (int j = 0; j < groups; ++j) packs = packs && cols[j].path == Path::kFloorWithCol;
      is_signed = p.desc.dst_type == GemmDstType::kInt8;
    }
    const GemmPlan* plan;
    size_t n0, ncols;
    int groups;
    bool packs = false, is_signed = false;
    Columns16 cols[NR / 16];
  };

  // An mr x NR int32 tile in memory (row stride NR). The path is chosen per
  // 16 columns (a switch, as in store_regs), never per row.
  // Always inlined: out of line (GCC's choice once the drive had a few
  // call sites) it reloads every constant per row, and the 3x3 convs of
  // ResNet-18 took 6 % longer.
  template <int NR>
  __attribute__((always_inline)) static inline void store_rows(const Epilogue<NR>& epilogue, const int32_t* acc,
                                                               int mr, size_t m0, const GemmArgs& args) {
    if (args.rows_epilogue != nullptr) return rows_epilogue<NR>(epilogue, acc, mr, m0, args);
    if constexpr (NR >= 32) {
      if (epilogue.packs) return packed_rows<NR>(epilogue, acc, mr, m0, args);
    }
    for (int j = 0; j < epilogue.groups; ++j) {
      const Columns16& cols = epilogue.cols[j];
      switch (cols.path) {
        case Path::kRaw: mem_rows<Path::kRaw, NR>(cols, acc + 16 * j, mr, m0, args); break;
        case Path::kFloorWithCol: mem_rows<Path::kFloorWithCol, NR>(cols, acc + 16 * j, mr, m0, args); break;
        case Path::kFloorWide: mem_rows<Path::kFloorWide, NR>(cols, acc + 16 * j, mr, m0, args); break;
        case Path::kRequant: mem_rows<Path::kRequant, NR>(cols, acc + 16 * j, mr, m0, args); break;
      }
    }
  }
  static constexpr int kMaxTileRows = 12;  // the tallest register tile below (12 x 32, 12 x 16)
  // A fused epilogue (gemm_run_rows_epilogue, int32 plans): per 16 columns
  // the tile's final int32 values (sums + column constant) side by side in
  // L1, handed over as one block.
  template <int NR>
  static void rows_epilogue(const Epilogue<NR>& epilogue, const int32_t* acc, int mr, size_t m0, const GemmArgs& args) {
    alignas(64) int32_t block[kMaxTileRows * 16];
    for (int j = 0; j < epilogue.groups; ++j) {
      const Columns16& cols = epilogue.cols[j];
      for (int r = 0; r < mr; ++r)
        _mm512_store_si512(block + 16 * r, _mm512_add_epi32(_mm512_loadu_si512(acc + r * NR + 16 * j), cols.col));
      args.rows_epilogue->fn(args.rows_epilogue->ctx, block, 16, m0, static_cast<size_t>(mr), cols.n0,
                             std::min<size_t>(16, epilogue.ncols - 16 * j), args.dst, args.dst_stride);
    }
  }
  // The same with the 8-bit outputs of a row's groups packed into one
  // store (Epilogue::packs: every group on the floor path with the column
  // constant inside), their constants in registers for all rows. Out of
  // line: inlined into every drive, it slowed the others' epilogues.
  template <int NR>
  static void packed_rows(const Epilogue<NR>& e, const int32_t* acc, int mr, size_t m0, const GemmArgs& args) {
    if constexpr (NR >= 64) {
      if (e.groups == 4)
        return e.is_signed ? packed_mem_rows<4, true, NR>(e, acc, mr, m0, args)
                           : packed_mem_rows<4, false, NR>(e, acc, mr, m0, args);
    }
    e.is_signed ? packed_mem_rows<2, true, NR>(e, acc, mr, m0, args)
                : packed_mem_rows<2, false, NR>(e, acc, mr, m0, args);
  }
  template <int G, bool kSigned, int NR>
  static void packed_mem_rows(const Epilogue<NR>& e, const int32_t* acc, int mr, size_t m0, const GemmArgs& args) {
    const BytePacker<kSigned> packer(e.plan->desc.qmin, e.plan->desc.qmax);
    const __mmask64 mask = first_bytes(e.ncols);
    Requant16::FloorForm form[G];
#pragma GCC unroll 4
    for (int j = 0; j < G; ++j) form[j] = e.cols[j].rq.floor_form();
    uint8_t* dst = static_cast<uint8_t*>(args.dst) + m0 * args.dst_stride + e.n0;
    for (int r = 0; r < mr; ++r) {
      __m512i q[G];
#pragma GCC unroll 4
      for (int j = 0; j < G; ++j) q[j] = form[j].apply(_mm512_loadu_si512(acc + r * NR + 16 * j));
      _mm512_mask_storeu_epi8(dst + r * args.dst_stride, mask, packer.template pack<G>(q));
    }
  }

  template <Path P, int NR>
  __attribute__((always_inline)) static inline void mem_rows(const Columns16& cols, const int32_t* acc, int mr,
                                                             size_t m0, const GemmArgs& args) {
    for (int r = 0; r < mr; ++r) cols.template store<P>(_mm512_loadu_si512(acc + r * NR), m0 + r, args);
  }

  // An R x NR tile of sums in registers (gemm_dp.h tile_store): the loops
  // unroll whole, so every sum is read from its register. (A generic lambda
  // between the loops and the sums made GCC copy them through memory in
  // the k loop.)
  template <int NR, int R>
  __attribute__((always_inline)) static inline void store_regs(const Epilogue<NR>& epilogue,
                                                               const __m512i (&sums)[R][NR / 16], size_t m0,
                                                               const GemmArgs& args) {
#pragma GCC unroll 4
    for (int j = 0; j < NR / 16; ++j) {
      if (j >= epilogue.groups) continue;
      if (epilogue.cols[j].path == Path::kFloorWithCol) {
        // The usual path: its 5 constants copied from the panel's into
        // locals first (a byte store cannot alias a local), a third of the
        // cost of building the group's constants here.
        const Requant16::FloorForm form = epilogue.cols[j].rq.floor_form();
        floor_reg_rows(form, epilogue, j, sums, m0, args);
        continue;
      }
      // Built here, not read from the panel's: read through a reference, the
      // constants were loaded again after every row's store (a byte store
      // may alias them), which doubled the time of MobileNetV2's K = 16
      // expansions; a copy cost as much as building them.
      const Columns16 cols(*epilogue.plan, epilogue.n0 + 16 * j, epilogue.ncols - 16 * j);
      switch (cols.path) {
        case Path::kRaw: reg_rows<Path::kRaw>(cols, sums, j, m0, args); break;
        case Path::kFloorWithCol: reg_rows<Path::kFloorWithCol>(cols, sums, j, m0, args); break;
        case Path::kFloorWide: reg_rows<Path::kFloorWide>(cols, sums, j, m0, args); break;
        case Path::kRequant: reg_rows<Path::kRequant>(cols, sums, j, m0, args); break;
      }
    }
  }
  template <int NR, int R>
  __attribute__((always_inline)) static inline void floor_reg_rows(const Requant16::FloorForm form,
                                                                   const Epilogue<NR>& epilogue, int j,
                                                                   const __m512i (&sums)[R][NR / 16], size_t m0,
                                                                   const GemmArgs& args) {
    const __m512i qmin = _mm512_set1_epi32(epilogue.plan->desc.qmin);
    const __m512i qmax = _mm512_set1_epi32(epilogue.plan->desc.qmax);
    const __mmask16 mask = epilogue.cols[j].mask;
    uint8_t* dst = static_cast<uint8_t*>(args.dst) + m0 * args.dst_stride + epilogue.cols[j].n0;
    const size_t stride = args.dst_stride;
#pragma GCC unroll 12
    for (int r = 0; r < R; ++r)
      Columns16::store_bytes(dst + r * stride, mask, form.apply(sums[r][j]), qmin, qmax);
  }
  template <Path P, int R, int V>
  __attribute__((always_inline)) static inline void reg_rows(const Columns16& cols, const __m512i (&sums)[R][V], int j,
                                                             size_t m0, const GemmArgs& args) {
#pragma GCC unroll 12
    for (int r = 0; r < R; ++r) cols.template store<P>(sums[r][j], m0 + r, args);
  }
};

}  // namespace

void gemm_x8_qc4w_6x64__avx512vnni(const GemmPlan& plan, const GemmArgs& args) {
  gemm_avx2::drive<gemm_avx2::DpKernel<Zmm, 6, 4>>(plan, args);
}

void gemm_x8_qc8w_6x64__avx512vnni(const GemmPlan& plan, const GemmArgs& args) {
  gemm_avx2::drive<gemm_avx2::DpKernel<Zmm, 6, 4>>(plan, args);
}

// Narrow outputs (MobileNet's 16-32 channel projections, small stems): a
// 64-column tile would compute mostly padding. More rows per tile keep the
// register count: 12 x 32 is 24 sums + 2 weight vectors; 12 x 16 is 12 sums,
// one weight vector per 12 broadcasts.
void gemm_x8_qc8w_12x32__avx512vnni(const GemmPlan& plan, const GemmArgs& args) {
  gemm_avx2::drive<gemm_avx2::DpKernel<Zmm, 12, 2>>(plan, args);
}

void gemm_x8_qc8w_12x16__avx512vnni(const GemmPlan& plan, const GemmArgs& args) {
  gemm_avx2::drive<gemm_avx2::DpKernel<Zmm, 12, 1>>(plan, args);
}

}  // namespace dyad::kernels
