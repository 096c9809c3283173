// W8A8 and W4A8 on AVX-VNNI (VEX vpdpbusd on ymm, e.g. Alder Lake, Sapphire Rapids
// capped at 256 bits): 8 int32 lanes = 8 columns x one k quad per instruction
// (kernel and exactness argument: gemm_dp.h).
//
// Register tile 6 x 16: 12 ymm sums, 2 weight vectors, 1 broadcast (15 of the
// 16 registers). A step loads 2 x 32 bytes of weights and broadcasts 6 quads,
// for 12 vpdpbusd (384 products).
#include <immintrin.h>

#include <cstring>

#include "kernels/gemm/gemm_dp.h"

namespace dyad::kernels {
namespace {

struct Ymm {
  using V = __m256i;
  static constexpr int kLanes = 8;
  static V load(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }
  static V broadcast32(const void* p) {
    int32_t v;
    std::memcpy(&v, p, 4);
    return _mm256_set1_epi32(v);
  }
  static V zero() { return _mm256_setzero_si256(); }
  static V set1_32(int32_t x) { return _mm256_set1_epi32(x); }
  static V set1_8(int8_t x) { return _mm256_set1_epi8(x); }
  static V low_nibbles(V x) { return _mm256_and_si256(x, _mm256_set1_epi8(0x0F)); }
  static V high_nibbles(V x) { return _mm256_and_si256(_mm256_srli_epi16(x, 4), _mm256_set1_epi8(0x0F)); }
  static V sub8(V x, V y) { return _mm256_sub_epi8(x, y); }
  static void store(void* p, V v) { _mm256_storeu_si256(static_cast<__m256i*>(p), v); }
  static V dp(V acc, V u8s, V s8s) { return _mm256_dpbusd_avx_epi32(acc, u8s, s8s); }
};

}  // namespace

void gemm_x8_qc4w_6x16__avxvnni(const GemmPlan& plan, const GemmArgs& args) {
  gemm_avx2::drive<gemm_avx2::DpKernel<Ymm, 6, 2>>(plan, args);
}

void gemm_x8_qc8w_6x16__avxvnni(const GemmPlan& plan, const GemmArgs& args) {
  gemm_avx2::drive<gemm_avx2::DpKernel<Ymm, 6, 2>>(plan, args);
}

}  // namespace dyad::kernels
