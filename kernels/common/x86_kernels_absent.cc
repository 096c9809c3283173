// Built on every target except x86-64 (CMakeLists.txt): the x86 kernels'
// entry points, as traps. The ops and tests name the x86 kernels directly and
// choose them only when the CPU reports their features (cpu_features(), which
// reads all false off x86), so none of these runs; if one ever did, it stops
// the process with its name instead of computing anything. The queries a
// planner asks before choosing (applies, plan) answer "no".
//
// A new x86 entry point that is referenced outside its own *_avx*.cc file
// needs a line here, or the ARM64 build (scripts/test_arm64.sh) fails to link.
// (The GEMM variants need none: gemm.inc lists each architecture's variants
// only where they are built.)
#include <cstdio>
#include <cstdlib>

#include "kernels/add/add.h"
#include "kernels/average_pool/average_pool.h"
#include "kernels/conv2d/depthwise.h"
#include "kernels/global_average_pool/global_average_pool.h"
#include "kernels/int_gelu/int_gelu_requantize.h"
#include "kernels/int_gelu/int_gelu_vec.h"
#include "kernels/int_layernorm/int_layernorm.h"
#include "kernels/int_layernorm/int_layernorm_requantize.h"
#include "kernels/int_softmax/int_softmax_vec.h"
#include "kernels/matmul/matmul.h"
#include "kernels/max_pool/max_pool.h"
#include "kernels/requantize/requantize.h"
#include "kernels/vnm_gemm/vnm_gemm_internal.h"

#if defined(__x86_64__) || defined(__i386__)
#error "x86_kernels_absent.cc is for targets without the x86 kernels"
#endif

namespace dyad::kernels {
namespace {

[[noreturn]] void absent(const char* kernel) {
  std::fprintf(stderr, "dyad: internal error: the x86 kernel %s was called on a build without x86 kernels\n",
               kernel);
  std::abort();
}

}  // namespace

#define DYAD_ABSENT(name) absent(#name)

void RequantizeAvx2PlanDeleter::operator()(RequantizeAvx2Plan*) const { DYAD_ABSENT(RequantizeAvx2Plan); }
void RequantizeAvx512PlanDeleter::operator()(RequantizeAvx512Plan*) const { DYAD_ABSENT(RequantizeAvx512Plan); }
RequantizeAvx2PlanPtr requantize_avx2_plan(const RequantizeParams&, const Dyadic*) { return nullptr; }
RequantizeAvx512PlanPtr requantize_avx512_plan(const RequantizeParams&, const Dyadic*) { return nullptr; }
void requantize__avx2(const RequantizeParams&, const RequantizeAvx2Plan&, const void*, void*, ThreadPool*) {
  DYAD_ABSENT(requantize__avx2);
}
void requantize__avx512(const RequantizeParams&, const RequantizeAvx512Plan&, const void*, void*, ThreadPool*) {
  DYAD_ABSENT(requantize__avx512);
}

void add__avx2(const AddVecPlan&, const void*, const void*, void*, ThreadPool*) { DYAD_ABSENT(add__avx2); }
void add__avx512(const AddVecPlan&, const void*, const void*, void*, ThreadPool*) { DYAD_ABSENT(add__avx512); }
void average_pool__avx2(const Pool2dParams&, const void*, void*, ThreadPool*) { DYAD_ABSENT(average_pool__avx2); }
void max_pool__avx2(const Pool2dParams&, const void*, void*, ThreadPool*) { DYAD_ABSENT(max_pool__avx2); }
void average_pool__avx512(const Pool2dParams&, const void*, void*, ThreadPool*) { DYAD_ABSENT(average_pool__avx512); }
void max_pool__avx512(const Pool2dParams&, const void*, void*, ThreadPool*) { DYAD_ABSENT(max_pool__avx512); }
void global_average_pool__avx512(const GlobalAveragePoolParams&, const void*, void*) {
  DYAD_ABSENT(global_average_pool__avx512);
}
void global_average_pool__avx2(const GlobalAveragePoolParams&, const void*, void*) {
  DYAD_ABSENT(global_average_pool__avx2);
}

void depthwise_conv2d__avx2(const DepthwisePlan&, const void*, void*, ThreadPool*, uint8_t*) {
  DYAD_ABSENT(depthwise_conv2d__avx2);
}
void depthwise_conv2d__avx512vnni(const DepthwisePlan&, const void*, void*, ThreadPool*, uint8_t*) {
  DYAD_ABSENT(depthwise_conv2d__avx512vnni);
}

void int_gelu__avx2(const IntGeluParams&, const IntGeluVecPlan&, const void*, int64_t*, ThreadPool*) {
  DYAD_ABSENT(int_gelu__avx2);
}
void int_gelu__avx512(const IntGeluParams&, const IntGeluVecPlan&, const void*, int64_t*, ThreadPool*) {
  DYAD_ABSENT(int_gelu__avx512);
}
void int_softmax_s32__avx2(const IntSoftmaxParams&, const IntSoftmaxVecPlan&, const int32_t*, int16_t*,
                           ThreadPool*) {
  DYAD_ABSENT(int_softmax_s32__avx2);
}
void int_softmax_s32__avx512(const IntSoftmaxParams&, const IntSoftmaxVecPlan&, const int32_t*, int16_t*,
                             ThreadPool*) {
  DYAD_ABSENT(int_softmax_s32__avx512);
}
void int_layernorm__avx512vnni(const IntLayerNormParams&, const void*, int64_t*, ThreadPool*) {
  DYAD_ABSENT(int_layernorm__avx512vnni);
}
void int_gelu_requantize__avx2(const IntGeluParams&, const IntGeluVecPlan&, const RequantizeParams&,
                               const RequantizeWidePlan&, const IntGeluRequantizeFloorPlan*, const void*, void*,
                               ThreadPool*) {
  DYAD_ABSENT(int_gelu_requantize__avx2);
}
void int_gelu_requantize__avx512(const IntGeluParams&, const IntGeluVecPlan&, const RequantizeParams&,
                                 const RequantizeWidePlan&, const IntGeluRequantizeFloorPlan*, const void*, void*,
                                 ThreadPool*) {
  DYAD_ABSENT(int_gelu_requantize__avx512);
}
void int_gelu_requantize_rows__avx2(const IntGeluRequantizeRows&, const int32_t*, size_t, size_t, size_t, size_t,
                                    uint8_t*, size_t) {
  DYAD_ABSENT(int_gelu_requantize_rows__avx2);
}
void int_gelu_requantize_rows__avx512(const IntGeluRequantizeRows&, const int32_t*, size_t, size_t, size_t, size_t,
                                      uint8_t*, size_t) {
  DYAD_ABSENT(int_gelu_requantize_rows__avx512);
}
void int_layernorm_requantize__avx512(const IntLayerNormParams&, const RequantizeParams&, const RequantizeWidePlan&,
                                      const void*, void*, ThreadPool*) {
  DYAD_ABSENT(int_layernorm_requantize__avx512);
}

bool matmul_avx2_applies(const MatmulParams&) { return false; }
bool matmul_avx512vnni_applies(const MatmulParams&) { return false; }
size_t matmul_avx2_scratch_bytes(const MatmulParams&) { return 0; }
size_t matmul_avx512vnni_scratch_bytes(const MatmulParams&) { return 0; }
void matmul__avx2(const MatmulParams&, const void*, const void*, void*, ThreadPool*, uint8_t*, size_t) {
  DYAD_ABSENT(matmul__avx2);
}
void matmul__avx512vnni(const MatmulParams&, const void*, const void*, void*, ThreadPool*, uint8_t*, size_t) {
  DYAD_ABSENT(matmul__avx512vnni);
}

void vnm_gemm_ubs_qc8w_avx2(const VnmGemmPlan&, const VnmArgs&) { DYAD_ABSENT(vnm_gemm_ubs_qc8w_avx2); }
void vnm_gemm_ubs_qc4w_avx2(const VnmGemmPlan&, const VnmArgs&) { DYAD_ABSENT(vnm_gemm_ubs_qc4w_avx2); }
void vnm_gemm_signw_qc8w_avx2(const VnmGemmPlan&, const VnmArgs&) { DYAD_ABSENT(vnm_gemm_signw_qc8w_avx2); }
void vnm_gemm_signa_qc8w_avx2(const VnmGemmPlan&, const VnmArgs&) { DYAD_ABSENT(vnm_gemm_signa_qc8w_avx2); }
void vnm_gemm_dp_avx512vnni(const VnmGemmPlan&, const VnmArgs&) { DYAD_ABSENT(vnm_gemm_dp_avx512vnni); }
void vnm_gemm_dp_avxvnni(const VnmGemmPlan&, const VnmArgs&) { DYAD_ABSENT(vnm_gemm_dp_avxvnni); }

}  // namespace dyad::kernels
