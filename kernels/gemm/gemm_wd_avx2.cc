// W8A8 on AVX2 without VNNI: int16 x int16 -> int32 pair sums (vpmaddwd).
//
// Activations are packed as a = src - src_zp in int16 (|a| <= 255), weights
// sign-extended from the int8 panel, so a pair sum is at most
// 2 * 255 * 128 = 65280 in magnitude: nothing saturates, every weight value
// (-128 included) is allowed. Register tile 4 x 24: 12 int32 sums, 2 weight
// vectors (the third is a memory operand), 1 broadcast, 1 product.
#include "kernels/gemm/gemm_avx2.h"

namespace dyad::kernels {
namespace {

using namespace gemm_avx2;

struct WdKernel {
  static constexpr int kMR = 4, kNV = 3;
  static constexpr size_t kStepK = 2;         // one k pair per step
  static constexpr size_t kBlockSteps = 168;  // 168 * 96 B = 16 KiB of int16 weights per K block

  static size_t step_unit(const GemmPlan&) { return 2; }

  static void pack_a(const GemmPlan& plan, const uint8_t* src, size_t rows, size_t src_stride,
                     uint8_t* out) {
    const GemmDesc& d = plan.desc;
    const size_t K = d.K, kp = plan.kp;
    const __m256i offset = _mm256_set1_epi16(static_cast<int16_t>(plan.src_offset));
    for (size_t r = 0; r < rows; ++r) {
      const uint8_t* s = src + r * src_stride;
      auto* a = reinterpret_cast<int16_t*>(out + r * plan.a_stride);
      size_t k = 0;
      for (; k + 16 <= K; k += 16) {
        const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s + k));
        const __m256i y = d.src_signed ? _mm256_cvtepi8_epi16(x) : _mm256_cvtepu8_epi16(x);
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(a + k), _mm256_sub_epi16(y, offset));
      }
      for (; k < K; ++k) {
        const int32_t x = d.src_signed ? static_cast<int8_t>(s[k]) : s[k];
        a[k] = static_cast<int16_t>(x - plan.src_offset);
      }
      for (; k < kp; ++k) a[k] = 0;
    }
  }

  // Sign-extends panel p to int16 in scratch, or returns the int8 panel.
  static const void* panel(const GemmPlan& plan, size_t p, uint8_t* scratch) {
    const uint8_t* packed = plan.packed_wei.data() + p * plan.panel_bytes;
    if (scratch == nullptr) return packed;
    auto* out = reinterpret_cast<int16_t*>(scratch);
    for (size_t i = 0; i < plan.panel_bytes; i += 16) {
      const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(packed + i));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + i), _mm256_cvtepi8_epi16(x));
    }
    return scratch;
  }

  // Direct path (few rows): int8 weights sign-extended as they stream in.
  template <int MR>
  static void tile_direct(const uint8_t* a, size_t a_stride, const int8_t* w, size_t s0,
                          size_t s1, int32_t* acc) {
    __m256i c[MR][kNV];
    for (int r = 0; r < MR; ++r)
      for (int j = 0; j < kNV; ++j) c[r][j] = _mm256_load_si256(reinterpret_cast<const __m256i*>(acc + r * 24 + 8 * j));
    for (size_t i = s0; i < s1; ++i) {
      __m256i wv[kNV];
      // About 40 steps ahead, as in the INT4 direct path.
      _mm_prefetch(reinterpret_cast<const char*>(w + i * 48 + 2048), _MM_HINT_T0);
      for (int j = 0; j < kNV; ++j) {
        wv[j] = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w + i * 48 + 16 * j)));
      }
      for (int r = 0; r < MR; ++r) {
        const __m256i b = load32_broadcast(a + r * a_stride + 4 * i);
        for (int j = 0; j < kNV; ++j) c[r][j] = _mm256_add_epi32(c[r][j], _mm256_madd_epi16(b, wv[j]));
      }
    }
    for (int r = 0; r < MR; ++r)
      for (int j = 0; j < kNV; ++j) _mm256_store_si256(reinterpret_cast<__m256i*>(acc + r * 24 + 8 * j), c[r][j]);
  }

  template <int MR>
  static void tile(const GemmPlan& plan, const uint8_t* a, const void* w, bool direct, size_t s0,
                   size_t s1, int32_t* acc, bool accumulate) {
    if (direct) {
      if (!accumulate) std::memset(acc, 0, sizeof(int32_t) * MR * 24);
      tile_direct<MR>(a, plan.a_stride, static_cast<const int8_t*>(w), s0, s1, acc);
      return;
    }
    // Unpacked int16 panel: 96 bytes of weights and 4 bytes of each row per
    // step, the shape of the shared 4 x 24 register tile.
    Tile4x24 t;
    if (accumulate) {
      t.load<MR>(acc);
    } else {
      t.zero();
    }
    tile_steps<MR, row3_wd>(t, a, plan.a_stride, static_cast<const uint8_t*>(w), s0, s1);
    t.store<MR>(acc);
  }
};

}  // namespace

void gemm_x8_qc8w_4x24__avx2(const GemmPlan& plan, const GemmArgs& args) {
  gemm_avx2::drive<WdKernel>(plan, args);
}

}  // namespace dyad::kernels
