// INT4 weights and/or 4-bit activations on AVX2 without VNNI: u8 x s8 -> int16
// pair sums (vpmaddubsw), summed in int16 over a chunk of quads before one
// widening vpmaddwd. That is where narrow operands beat W8A8: a W8A8 step
// needs a multiply and an add per 16 products, this one per 32.
//
// Activations are packed as u = src - src_min in [0, umax] (umax <= 255), the
// signed operand is the weight. One vpmaddubsw lane is u0*w0 + u1*w1; a chunk
// of J quads adds J of them into one int16 lane. The planner (gemm.cc) picks
// J = floor(32767 / (2 * umax * max|w|)) (even), so no pair sum saturates and
// no int16 sum leaves [-32767, 32767]: W4A8 gets J = 8, W4A4 136, W8A4 8.
// Register tile 4 x 24: 12 int16 chunk sums, 2 weight vectors (the third is a
// memory operand), 1 broadcast, 1 product; the int32 sums live in memory and
// are touched once per chunk.
#include "kernels/gemm/gemm_avx2.h"

namespace dyad::kernels {
namespace {

using namespace gemm_avx2;

// One 32-byte vector of a nibble panel holds two quads of 8 columns, stored
// w + 8; this returns them as signed bytes.
inline void unpack_nibbles(__m256i x, __m256i* lo, __m256i* hi) {
  const __m256i mask = _mm256_set1_epi8(0x0F), eight = _mm256_set1_epi8(8);
  *lo = _mm256_sub_epi8(_mm256_and_si256(x, mask), eight);
  *hi = _mm256_sub_epi8(_mm256_and_si256(_mm256_srli_epi16(x, 4), mask), eight);
}

// The same, still offset: w + 8 in [0, 15] (two instructions fewer).
inline void unpack_nibbles_offset(__m256i x, __m256i* lo, __m256i* hi) {
  const __m256i mask = _mm256_set1_epi8(0x0F);
  *lo = _mm256_and_si256(x, mask);
  *hi = _mm256_and_si256(_mm256_srli_epi16(x, 4), mask);
}

struct UbsKernel {
  static constexpr int kMR = 4, kNV = 3;
  static constexpr size_t kStepK = 4;         // one k quad per step
  static constexpr size_t kBlockSteps = 168;  // 168 * 96 B = 16 KiB of weights per K block
  static constexpr size_t kQuadBytes = 8 * kNV * 4;  // one quad of a 24-column panel

  // Blocks of whole chunks; a chunk longer than a block just restarts at
  // each block (widening early is always safe).
  static size_t step_unit(const GemmPlan& plan) {
    return size_t(plan.chunk_quads) <= kBlockSteps ? plan.chunk_quads : 2;
  }

  static void pack_a(const GemmPlan& plan, const uint8_t* src, size_t rows, size_t src_stride,
                     uint8_t* out) {
    pack_rows_u8(plan, src, rows, src_stride, out);
  }

  // Nibble panels are unpacked to signed bytes in scratch; 8-bit panels are
  // already in the tile layout [kp/4][24][4].
  static const void* panel(const GemmPlan& plan, size_t p, uint8_t* scratch) {
    const uint8_t* packed = plan.packed_wei.data() + p * plan.panel_bytes;
    if (scratch == nullptr || plan.variant->packed_weight_bits == 8) return packed;
    for (size_t i = 0; i < plan.panel_bytes; i += 32) {
      const size_t pair = i / kQuadBytes, v = i % kQuadBytes;  // quad pair, byte in the quad
      __m256i lo, hi;
      unpack_nibbles(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(packed + i)), &lo, &hi);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(scratch + 2 * pair * kQuadBytes + v), lo);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(scratch + (2 * pair + 1) * kQuadBytes + v), hi);
    }
    return scratch;
  }

  // Adds u(quad) x w(quad) of MR rows into the int16 sums.
  template <int MR>
  static inline void madd_quad(const uint8_t* a, size_t a_stride, size_t q, const __m256i* wv,
                               __m256i (*s)[kNV]) {
    for (int r = 0; r < MR; ++r) {
      const __m256i b = load32_broadcast(a + r * a_stride + 4 * q);
      for (int j = 0; j < kNV; ++j) s[r][j] = _mm256_add_epi16(s[r][j], _mm256_maddubs_epi16(b, wv[j]));
    }
  }

  // Direct path (few rows, GEMV): weights read from the nibble panel as they
  // stream from memory, two quads per 32-byte load, kept offset (w + 8): the
  // sums are sum_k u (w + 8) and acc starts at -8 sum_k u (stored after each
  // packed row), which saves the two subtractions per load.
  template <int MR>
  static void tile_nibbles(const uint8_t* a, size_t a_stride, const uint8_t* w, size_t s0,
                           size_t s1, size_t chunk, int32_t* acc) {
    const __m256i ones = _mm256_set1_epi16(1);
    for (size_t q0 = s0; q0 < s1; q0 += chunk) {
      const size_t q1 = std::min(s1, q0 + chunk);  // q0 and q1 are even
      __m256i s[MR][kNV];
      for (int r = 0; r < MR; ++r)
        for (int j = 0; j < kNV; ++j) s[r][j] = _mm256_setzero_si256();
      for (size_t q = q0; q < q1; q += 2) {
        __m256i w0[kNV], w1[kNV];
        // About 40 steps ahead: the hardware prefetcher alone leaves this
        // DRAM-bound stream well short of the bandwidth (measured 1.3x).
        _mm_prefetch(reinterpret_cast<const char*>(w + q / 2 * kQuadBytes + 4096), _MM_HINT_T0);
        for (int j = 0; j < kNV; ++j) {
          unpack_nibbles_offset(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + q / 2 * kQuadBytes + 32 * j)),
                                &w0[j], &w1[j]);
        }
        madd_quad<MR>(a, a_stride, q, w0, s);
        madd_quad<MR>(a, a_stride, q + 1, w1, s);
      }
      for (int r = 0; r < MR; ++r)
        for (int j = 0; j < kNV; ++j) {
          __m256i* c = reinterpret_cast<__m256i*>(acc + r * 24 + 8 * j);
          _mm256_store_si256(c, _mm256_add_epi32(_mm256_load_si256(c), _mm256_madd_epi16(s[r][j], ones)));
        }
    }
  }

  template <int MR>
  static void tile(const GemmPlan& plan, const uint8_t* a, const void* w, bool direct, size_t s0,
                   size_t s1, int32_t* acc, bool accumulate) {
    const auto* wb = static_cast<const uint8_t*>(w);
    const size_t chunk = plan.chunk_quads;
    if (direct && plan.variant->packed_weight_bits == 4) {
      if (!accumulate) {
        for (int r = 0; r < MR; ++r) {
          uint32_t row_sum;
          std::memcpy(&row_sum, a + r * plan.a_stride + plan.kp, sizeof(row_sum));
          const __m256i start = _mm256_set1_epi32(static_cast<int32_t>(0u - 8u * row_sum));
          for (int j = 0; j < kNV; ++j) _mm256_store_si256(reinterpret_cast<__m256i*>(acc + r * 24 + 8 * j), start);
        }
      }
      tile_nibbles<MR>(a, plan.a_stride, wb, s0, s1, plan.chunk_quads_offset, acc);
      return;
    }
    // Signed bytes [quads][24][4]: chunks of quads summed in the int16
    // register tile, each chunk widened into the int32 sums.
    for (size_t q0 = s0; q0 < s1; q0 += chunk) {
      Tile4x24 t;
      t.zero();
      tile_steps<MR, row3_ubs>(t, a, plan.a_stride, wb, q0, std::min(s1, q0 + chunk));
      t.widen_into<MR>(acc, accumulate || q0 > s0);
    }
  }
};

}  // namespace

void gemm_x4_qc4w_4x24__avx2(const GemmPlan& plan, const GemmArgs& args) {
  gemm_avx2::drive<UbsKernel>(plan, args);
}

void gemm_x8_qc4w_4x24__avx2(const GemmPlan& plan, const GemmArgs& args) {
  gemm_avx2::drive<UbsKernel>(plan, args);
}

void gemm_x4_qc8w_4x24__avx2(const GemmPlan& plan, const GemmArgs& args) {
  gemm_avx2::drive<UbsKernel>(plan, args);
}

}  // namespace dyad::kernels
