// V:N:M GEMM on AVX2 without VNNI (docs/vnm.md "AVX2 kernel"): the three
// exact multiply families on the shared drivers of vnm_gemm_avx2.h. Each
// forms, per row and group pair, int16 pair sums with vpmaddubsw and widens
// them with vpmaddwd; they differ in which operand is unsigned.
#include "kernels/vnm_gemm/vnm_gemm_avx2.h"

namespace dyad::kernels {
namespace {

using vnm_avx2::run;

// ---- the three exact multiply families (vnm_gemm_internal.h, docs/vnm.md) --
//
// step(s, a, ctrl, w, abs_w): s += vpmaddwd(pairs, ones) where pairs are the
// int16 pair sums of the 16-byte window at `a` shuffled by ctrl and
// multiplied by w. Written as asm because GCC's scheduling of the intrinsic
// form hoists the multiplies of a whole register tile ahead of the adds and
// spills the accumulators; here each product is consumed at once, so a tile
// of 12 accumulators plus its operands fits the 16 ymm registers.

alignas(32) constexpr int16_t kOnes[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};

#define DYAD_VNM_WINDOW "vbroadcasti128 %[a], %[x]\n\tvpshufb %[c], %[x], %[x]\n\t"
#define DYAD_VNM_WIDEN "vpmaddwd %[ones], %[x], %[x]\n\tvpaddd %[x], %[s], %[s]"

// u8 activations (src - src_min) x s8 weights; no pair sum can saturate
// (the planner checked 2 * range * max|w| <= 32767).
struct Ubs {
  static constexpr bool kAbsWeights = false;
  static constexpr bool kInt16Sums = true;
  static inline void step(__m256i& s, const uint8_t* a, __m256i ctrl, __m256i w, __m256i) {
    __m256i x;
    asm(DYAD_VNM_WINDOW "vpmaddubsw %[w], %[x], %[x]\n\t" DYAD_VNM_WIDEN
        : [s] "+x"(s), [x] "=&x"(x)
        : [a] "m"(*reinterpret_cast<const __m128i*>(a)), [c] "x"(ctrl), [w] "x"(w),
          [ones] "m"(*reinterpret_cast<const __m256i*>(kOnes)));
  }
  // s16 += pair sums, in int16: the caller widens every plan.int16_steps
  // group pairs, before any sum can leave [-32767, 32767].
  static inline void step16(__m256i& s16, const uint8_t* a, __m256i ctrl, __m256i w, __m256i) {
    __m256i x;
    asm(DYAD_VNM_WINDOW "vpmaddubsw %[w], %[x], %[x]\n\tvpaddw %[x], %[s], %[s]"
        : [s] "+x"(s16), [x] "=&x"(x)
        : [a] "m"(*reinterpret_cast<const __m128i*>(a)), [c] "x"(ctrl), [w] "x"(w));
  }
};

// |w| (u8, <= 128) x sign(x', w) (s8) = w * x'. x' in [-127, 127] so its
// negation fits; each product is at most 128 * 127, a pair 32512.
struct SignW {
  static constexpr bool kAbsWeights = true;
  static constexpr bool kInt16Sums = false;
  static inline void step(__m256i& s, const uint8_t* a, __m256i ctrl, __m256i w, __m256i abs_w) {
    __m256i x;
    asm(DYAD_VNM_WINDOW "vpsignb %[w], %[x], %[x]\n\tvpmaddubsw %[x], %[aw], %[x]\n\t" DYAD_VNM_WIDEN
        : [s] "+x"(s), [x] "=&x"(x)
        : [a] "m"(*reinterpret_cast<const __m128i*>(a)), [c] "x"(ctrl), [w] "x"(w), [aw] "x"(abs_w),
          [ones] "m"(*reinterpret_cast<const __m256i*>(kOnes)));
  }
};

// |x'| (u8, <= 128) x sign(w, x') (s8) = w * x', x' in [-128, 127]; w in
// [-127, 127] so its negation fits; a pair is at most 2 * 128 * 127.
struct SignA {
  static constexpr bool kAbsWeights = false;
  static constexpr bool kInt16Sums = false;
  static inline void step(__m256i& s, const uint8_t* a, __m256i ctrl, __m256i w, __m256i) {
    __m256i x, y;
    asm(DYAD_VNM_WINDOW "vpabsb %[x], %[y]\n\tvpsignb %[x], %[w], %[x]\n\tvpmaddubsw %[x], %[y], %[x]\n\t"
        "vpmaddwd %[ones], %[x], %[x]\n\tvpaddd %[x], %[s], %[s]"
        : [s] "+x"(s), [x] "=&x"(x), [y] "=&x"(y)
        : [a] "m"(*reinterpret_cast<const __m128i*>(a)), [c] "x"(ctrl), [w] "x"(w),
          [ones] "m"(*reinterpret_cast<const __m256i*>(kOnes)));
  }
};

#undef DYAD_VNM_WINDOW
#undef DYAD_VNM_WIDEN

}  // namespace

void vnm_gemm_ubs_qc8w_avx2(const VnmGemmPlan& plan, const VnmArgs& args) { run<Ubs, 8>(plan, args); }
void vnm_gemm_ubs_qc4w_avx2(const VnmGemmPlan& plan, const VnmArgs& args) { run<Ubs, 4>(plan, args); }
void vnm_gemm_signw_qc8w_avx2(const VnmGemmPlan& plan, const VnmArgs& args) { run<SignW, 8>(plan, args); }
void vnm_gemm_signa_qc8w_avx2(const VnmGemmPlan& plan, const VnmArgs& args) { run<SignA, 8>(plan, args); }

}  // namespace dyad::kernels
