// W8A8 on AVX-512 VNNI: vpdpbusd on zmm, 16 int32 lanes = 16 columns x one k
// quad per instruction (kernel and exactness argument: gemm_dp.h).
//
// Register tile 6 x 64: 24 zmm sums, 4 weight vectors, 1 broadcast (29 of
// the 32 registers). A step loads 4 x 64 bytes of weights and broadcasts 6
// quads, for 24 vpdpbusd (1536 products); SPR runs two zmm vpdpbusd per cycle.
#include <immintrin.h>

#include <cstring>

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
  static void store(void* p, V v) { _mm512_storeu_si512(p, v); }
  static V dp(V acc, V u8s, V s8s) { return _mm512_dpbusd_epi32(acc, u8s, s8s); }
};

}  // namespace

void gemm_x8_qc8w_6x64__avx512vnni(const GemmPlan& plan, const GemmArgs& args) {
  gemm_avx2::drive<gemm_avx2::DpKernel<Zmm, 6, 4>>(plan, args);
}

}  // namespace dyad::kernels
