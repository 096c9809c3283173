// W8A8 on AVX2 without VNNI: int16 x int16 -> int32 pair sums (vpmaddwd).
//
// Activations are packed as a = src - src_zp in int16 (|a| <= 255), weights
// are sign-extended from the int8 panel as they are loaded, so a pair sum is
// at most 2 * 255 * 128 = 65280 in magnitude: nothing saturates, every weight
// value (-128 included) is allowed.
//
// Register tile 12 x 8: 12 int32 sums (one vector per row), the step's 8
// columns x 2 k of weights, and one register that holds a row's broadcast k
// pair and then its product. A step is one vpmovsxbw (the weights, 16 bytes
// of the int8 panel) plus 12 x (vpbroadcastd, vpmaddwd, vpaddd): 25 vector
// ALU instructions per 192 products, close to the 24 of the multiply-add
// pairs alone. The weights stay int8 everywhere (no int16 panel scratch to
// refill per activation block, half the bytes streamed in GEMV), and the one
// widening per step is shared by the 12 rows. 12 sums + weights +
// broadcast/product take 14 of the 16 ymm registers; 14 rows would take all
// 16 for a gain under 1%.
#include "kernels/gemm/gemm_avx2.h"

namespace dyad::kernels {
namespace {

using namespace gemm_avx2;

// s += vpmaddwd(broadcast(4 bytes at a), w). The broadcast and the product
// share one register; written as asm so that the compiler neither hoists the
// 12 multiplies of a step ahead of their adds (which needs 12 more
// registers) nor splits the sequence.
inline void row_wd(__m256i& s, const void* a, __m256i w) {
  __m256i t;
  asm("vpbroadcastd %[a], %[t]\n\t"
      "vpmaddwd %[w], %[t], %[t]\n\t"
      "vpaddd %[t], %[s], %[s]"
      : [s] "+x"(s), [t] "=&x"(t)
      : [a] "m"(*static_cast<const int32_t*>(a)), [w] "x"(w));
}

struct WdKernel {
  static constexpr int kMR = 12, kNV = 1;
  static constexpr size_t kStepK = 2;  // one k pair per step
  static constexpr size_t kStepBytes = 16;  // int8 weights of one step: 8 columns x 2 k
  // 512 steps: 8 KiB of int8 weights and 12 x 2 KiB of activations per K
  // block and row tile.
  static constexpr size_t kBlockSteps = 512;
  // The step loop is unrolled by 4 (one 64-byte line of weights); kp is a
  // multiple of 8, so the step count is a multiple of 4.
  static size_t step_unit(const GemmPlan&) { return 4; }

  // Activations a = src - src_offset as int16, in row tiles of up to 12
  // rows: the tile of rows [r0, r0 + R) starts at out + r0 * a_stride and
  // holds, for each k pair i in [0, kp/2), the R rows' (a[2i], a[2i+1]) as
  // 4-byte units: [kp/2][R][2]. A register-tile step then reads 4R
  // consecutive bytes through one pointer (12 row pointers would not fit the
  // general registers beside the loop's own).
  static void pack_a(const GemmPlan& plan, const uint8_t* src, size_t rows, size_t src_stride,
                     uint8_t* out) {
    for (size_t r0 = 0; r0 < rows; r0 += kMR) {
      pack_a_tile(plan, src + r0 * src_stride, std::min<size_t>(kMR, rows - r0), src_stride,
                  out + r0 * plan.a_stride);
    }
  }

  // One tile of R rows. Per 16 k: 4 rows widened to int16 (8 units each) and
  // transposed as 4 x 4 blocks of 4-byte units within each 128-bit lane, so
  // a 16-byte store writes the 4 rows' units of one step; a group with fewer
  // than 4 rows left stores only those (vpmaskmovd), reading its missing
  // rows from the last real one. k >= K is 0; the last k < kp not covered
  // by 16-k blocks is done one unit at a time.
  static void pack_a_tile(const GemmPlan& plan, const uint8_t* src, size_t R, size_t src_stride,
                          uint8_t* out) {
    const GemmDesc& d = plan.desc;
    const size_t K = d.K, steps = plan.kp / 2, k16 = K / 16 * 16;
    const __m256i offset = _mm256_set1_epi16(static_cast<int16_t>(plan.src_offset));
    auto widen = [&](const uint8_t* p) {
      const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
      return _mm256_sub_epi16(d.src_signed ? _mm256_cvtepi8_epi16(x) : _mm256_cvtepu8_epi16(x),
                              offset);
    };
    const size_t unit_stride = 4 * R;  // bytes per step
    for (size_t g = 0; g < R; g += 4) {
      const size_t live = std::min<size_t>(4, R - g);
      const uint8_t* row[4];
      for (size_t j = 0; j < 4; ++j) row[j] = src + std::min(g + j, R - 1) * src_stride;
      const __m128i mask = _mm_cmpgt_epi32(_mm_set1_epi32(static_cast<int>(live)), _mm_setr_epi32(0, 1, 2, 3));
      uint8_t* o = out + 4 * g;
      for (size_t k = 0; k < k16; k += 16) {
        const __m256i x0 = widen(row[0] + k), x1 = widen(row[1] + k);
        const __m256i x2 = widen(row[2] + k), x3 = widen(row[3] + k);
        const __m256i t0 = _mm256_unpacklo_epi32(x0, x1), t1 = _mm256_unpackhi_epi32(x0, x1);
        const __m256i t2 = _mm256_unpacklo_epi32(x2, x3), t3 = _mm256_unpackhi_epi32(x2, x3);
        // y[j] lane 0: step k/2 + j, lane 1: step k/2 + 4 + j; 4 rows each.
        const __m256i y[4] = {_mm256_unpacklo_epi64(t0, t2), _mm256_unpackhi_epi64(t0, t2),
                              _mm256_unpacklo_epi64(t1, t3), _mm256_unpackhi_epi64(t1, t3)};
        uint8_t* os = o + (k / 2) * unit_stride;
        for (int j = 0; j < 8; ++j) {
          const __m128i v = j < 4 ? _mm256_castsi256_si128(y[j]) : _mm256_extracti128_si256(y[j - 4], 1);
          auto* dst = reinterpret_cast<__m128i*>(os + j * unit_stride);
          if (live == 4) {
            _mm_storeu_si128(dst, v);
          } else {
            _mm_maskstore_epi32(reinterpret_cast<int*>(dst), mask, v);
          }
        }
      }
    }
    for (size_t i = k16 / 2; i < steps; ++i) {
      for (size_t r = 0; r < R; ++r) {
        int16_t pair[2];
        for (size_t t = 0; t < 2; ++t) {
          const size_t k = 2 * i + t;
          pair[t] = 0;  // k >= K: padding, and src has no byte there to read
          if (k < K) {
            const uint8_t byte = src[r * src_stride + k];
            const int32_t x = d.src_signed ? static_cast<int8_t>(byte) : byte;
            pair[t] = static_cast<int16_t>(x - plan.src_offset);
          }
        }
        std::memcpy(out + i * unit_stride + 4 * r, pair, 4);
      }
    }
  }

  // The int8 panel is read as is, at every row count.
  static const void* panel(const GemmPlan& plan, size_t p, uint8_t*) {
    return plan.packed_wei.data() + p * plan.panel_bytes;
  }

  // Steps [s0, s1) of an MR-row tile (layout of pack_a: step i of row r is
  // the 4 bytes at a + 4 * (i * MR + r)) x one 8-column panel into the int32
  // sums at acc (row stride 8). The sums are named variables: GCC keeps those
  // in registers, an array it spills.
  template <int MR>
  static void tile(const GemmPlan&, const uint8_t* a, const void* w, bool /*direct*/, size_t s0,
                   size_t s1, int32_t* acc, bool accumulate) {
    const auto* wb = static_cast<const uint8_t*>(w);
    const __m256i zero = _mm256_setzero_si256();
    auto init = [&](int r) {
      return r < MR && accumulate ? _mm256_load_si256(reinterpret_cast<const __m256i*>(acc + 8 * r))
                                  : zero;
    };
    __m256i c0 = init(0), c1 = init(1), c2 = init(2), c3 = init(3), c4 = init(4), c5 = init(5);
    __m256i c6 = init(6), c7 = init(7), c8 = init(8), c9 = init(9), c10 = init(10), c11 = init(11);
    for (size_t i = s0; i < s1; i += 4) {
      // Weights stream from memory when few rows share them (GEMV): about
      // 256 steps ahead, one prefetch per 64-byte line.
      _mm_prefetch(reinterpret_cast<const char*>(wb + i * kStepBytes + 4096), _MM_HINT_T0);
#pragma GCC unroll 4
      for (size_t j = i; j < i + 4; ++j) {
        const __m256i wv = _mm256_cvtepi8_epi16(
            _mm_loadu_si128(reinterpret_cast<const __m128i*>(wb + j * kStepBytes)));
        const uint8_t* aj = a + 4 * MR * j;
#define DYAD_WD_ROW(r) \
  if constexpr (MR > r) row_wd(c##r, aj + 4 * r, wv)
        DYAD_WD_ROW(0); DYAD_WD_ROW(1); DYAD_WD_ROW(2); DYAD_WD_ROW(3);
        DYAD_WD_ROW(4); DYAD_WD_ROW(5); DYAD_WD_ROW(6); DYAD_WD_ROW(7);
        DYAD_WD_ROW(8); DYAD_WD_ROW(9); DYAD_WD_ROW(10); DYAD_WD_ROW(11);
#undef DYAD_WD_ROW
      }
    }
    const __m256i out[12] = {c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11};
    for (int r = 0; r < MR; ++r) _mm256_store_si256(reinterpret_cast<__m256i*>(acc + 8 * r), out[r]);
  }
};

}  // namespace

void gemm_x8_qc8w_12x8__avx2(const GemmPlan& plan, const GemmArgs& args) {
  gemm_avx2::drive<WdKernel>(plan, args);
}

}  // namespace dyad::kernels
