// Exact quantized GEMM with V:N:M sparse weights (docs/vnm.md):
//
//   acc[t, n] = sum_k (src[t, k] - src_zp) * W[n, k] + bias[n]
//   dst[t, n] = clamp(dst_zp + dyadic_rne(acc, mult[n], shift[n]), qmin, qmax)   (int8 / uint8)
//   dst[t, n] = acc                                                              (int32)
//
// for t < tokens, n < N: the definition of kernels/gemm/gemm.h, with W given
// as a packed V:N:M blob (vnm_format.h) instead of a dense matrix. Outputs are
// bit-identical to the dense GEMM run on the unpacked matrix. src is row-major
// tokens x K with a row stride, in int8 or uint8 containers (4-bit activations
// one per byte); src_min/src_max say which values a tensor really holds.
//
// Usage (plan once, run many; a plan is immutable and may run from many
// threads at once):
//   std::string error;
//   auto plan = vnm_gemm_plan(desc, weights, &error);   // checks, picks a variant, copies
//   vnm_gemm_run(*plan, src, tokens, src_stride, dst, dst_stride, pool);
//
// Work is split over output tiles (tokens x channels), never over K, so the
// result does not depend on the thread count.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "kernels/common/requant.h"
#include "kernels/common/rows_epilogue.h"
#include "kernels/vnm_gemm/vnm_format.h"

namespace dyad::kernels {

class ThreadPool;

enum class VnmDstType : uint8_t { kInt8, kUint8, kInt32 };

struct VnmGemmDesc {
  VnmShape shape;           // N, K, V, M and the value width of the packed weights
  int32_t tokens_hint = 0;  // typical tokens per run (1 = GEMV); 0 = unknown. Only a hint.
  // Source: container signedness, zero point (a value of the container), and
  // the values the tensor can hold ([-128, 127] / [0, 255] for 8 bits,
  // [-8, 7] / [0, 15] for 4 bits, or any narrower range).
  bool src_signed = true;
  int32_t src_zp = 0;
  int32_t src_min = -128;
  int32_t src_max = 127;
  VnmDstType dst_type = VnmDstType::kInt8;
  // Requantized outputs only: zero point and clamp, values of the dst container.
  int32_t dst_zp = 0;
  int32_t qmin = -128;
  int32_t qmax = 127;
};

// Plan-time inputs; the plan copies what it needs.
struct VnmGemmWeights {
  const uint8_t* packed = nullptr;  // the blob of vnm_format.h (validated by the planner)
  size_t packed_bytes = 0;
  const int32_t* bias = nullptr;    // N entries, or nullptr
  const Dyadic* requant = nullptr;  // N (m, e) pairs; may be nullptr for an int32 dst
};

struct VnmGemmPlan;
struct VnmGemmPlanDeleter {
  void operator()(VnmGemmPlan* plan) const;
};
using VnmGemmPlanPtr = std::unique_ptr<VnmGemmPlan, VnmGemmPlanDeleter>;

// Validates desc and the blob (vnm_validate), selects the first variant that
// supports them (DYAD_KERNELS=ref forces the reference; DYAD_VERBOSE=dispatch
// logs each choice and refusal) and prepares it. nullptr and *error on failure.
VnmGemmPlanPtr vnm_gemm_plan(const VnmGemmDesc& desc, const VnmGemmWeights& weights, std::string* error);

// Same with a named variant (tests, benchmarks); an error if it refuses desc.
VnmGemmPlanPtr vnm_gemm_plan_variant(const VnmGemmDesc& desc, const VnmGemmWeights& weights,
                                     std::string_view variant_name, std::string* error);

const char* vnm_gemm_plan_variant_name(const VnmGemmPlan& plan);

// Scratch one thread needs (a plan-time constant, a multiple of 64 bytes).
size_t vnm_gemm_scratch_bytes_per_thread(const VnmGemmPlan& plan);

// dst[t * dst_stride + n] for t < tokens, n < N, from src[t * src_stride + k];
// strides in elements. `pool` may be null (one thread). `scratch` holds
// num_threads slices of vnm_gemm_scratch_bytes_per_thread bytes, 64-byte
// aligned; with nullptr the run allocates it and returns false (writing
// nothing) if that fails.
bool vnm_gemm_run(const VnmGemmPlan& plan, const void* src, size_t tokens, size_t src_stride, void* dst,
                  size_t dst_stride, ThreadPool* pool, uint8_t* scratch = nullptr);

// Whether vnm_gemm_run_rows_epilogue runs this plan for `tokens` tokens: the
// AVX-512 VNNI panel path (more than the GEMV path's tokens) of an int32 plan.
bool vnm_gemm_takes_rows_epilogue(const VnmGemmPlan& plan, size_t tokens);

// vnm_gemm_run with `epilogue` (kernels/common/rows_epilogue.h) writing dst
// (row stride dst_stride, in the epilogue's elements). False, writing nothing, when the plan does not take
// it (vnm_gemm_takes_rows_epilogue) or scratch allocation fails.
bool vnm_gemm_run_rows_epilogue(const VnmGemmPlan& plan, const Int32RowsEpilogue& epilogue, const void* src,
                                size_t tokens, size_t src_stride, void* dst, size_t dst_stride, ThreadPool* pool,
                                uint8_t* scratch = nullptr);

struct VnmGemmVariantInfo {
  const char* name;
  bool is_reference;
  bool cpu_supported;  // the ISA is present on this machine (DYAD_ISA caps only dispatch)
  const char* isa;     // "ref", "avx2", "avxvnni", "avx512vnni", "dotprod"
};
// Best first, reference last.
std::vector<VnmGemmVariantInfo> vnm_gemm_variants();

}  // namespace dyad::kernels
