// Exact quantized GEMM for fully connected layers and convolutions (1x1
// directly, others through an im2col done by the caller):
//
//   acc[m, n] = sum_k (src[m, k] - src_zp) * wei[n, k] + bias[n]
//   dst[m, n] = clamp(dst_zp + dyadic_rne(acc, mult[n], shift[n]), qmin, qmax)   (int8 / uint8)
//   dst[m, n] = acc                                                              (int32)
//
// for m < M, n < N. src is row-major M x K with a row stride, stored in int8 or
// uint8 containers; 4-bit activations are stored one per byte (int4 -8..7 in
// int8, uint4 0..15 in uint8), and GemmDesc::src_min/src_max say which range a
// tensor really holds. Weights are per-output-channel symmetric int8 or int4,
// given unpacked (one int8 per value, N x K row-major). The requantization is
// kernels/common/requant.h exactly (numerics.md section 2.2).
//
// Usage (oneDNN-like: plan once, run many):
//   std::string error;
//   auto plan = gemm_plan(desc, weights, &error);        // selects a variant, packs weights
//   gemm_run(*plan, src, M, src_stride, dst, dst_stride, pool);
//
// A plan is immutable and may be run from any number of threads at once. Every
// variant gives the same bits as the reference for every input the desc allows,
// at every thread count: work is split over output tiles, never over K.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "kernels/common/requant.h"
#include "kernels/common/rows_epilogue.h"

namespace dyad::kernels {

class ThreadPool;

enum class GemmDstType : uint8_t { kInt8, kUint8, kInt32 };

struct GemmDesc {
  int32_t N = 0;       // output channels (rows of wei)
  int32_t K = 0;       // reduction length
  int32_t M_hint = 0;  // typical rows per run (1 = GEMV); 0 = unknown. Only a hint.
  // Source: container signedness, zero point (a value of the container), and
  // the range of values the tensor can hold: [-128, 127] / [0, 255] for 8-bit
  // activations, [-8, 7] / [0, 15] for 4-bit ones.
  bool src_signed = true;
  int32_t src_zp = 0;
  int32_t src_min = -128;
  int32_t src_max = 127;
  int32_t weight_bits = 8;  // 8: weights in [-128, 127]; 4: weights in [-8, 7]
  GemmDstType dst_type = GemmDstType::kInt8;
  // Requantized outputs only (ignored for int32): zero point and clamp, all
  // values of the dst container.
  int32_t dst_zp = 0;
  int32_t qmin = -128;
  int32_t qmax = 127;
};

// Plan-time inputs; the plan copies what it needs, so these may be freed after.
struct GemmWeights {
  const int8_t* wei = nullptr;      // N x K, row-major, values in the weight_bits range
  const int32_t* bias = nullptr;    // N entries, or nullptr for no bias
  const Dyadic* requant = nullptr;  // N (m, e) pairs; may be nullptr for an int32 dst
};

struct GemmVariant;
struct GemmPlan;
struct GemmPlanDeleter {
  void operator()(GemmPlan* plan) const;
};
using GemmPlanPtr = std::unique_ptr<GemmPlan, GemmPlanDeleter>;

// Validates desc and weights, selects the first variant of gemm.inc that
// supports them (DYAD_KERNELS=ref forces the reference; DYAD_VERBOSE=dispatch
// logs the choice and why each earlier variant was skipped) and packs the
// weights. Returns nullptr and sets *error on invalid input or out of memory.
GemmPlanPtr gemm_plan(const GemmDesc& desc, const GemmWeights& weights, std::string* error);

// Same with a named variant (tests, benchmarks); an error if it does not
// support desc on this CPU.
GemmPlanPtr gemm_plan_variant(const GemmDesc& desc, const GemmWeights& weights,
                              std::string_view variant_name, std::string* error);

// The variant a plan uses, e.g. "gemm_x8_qc4w_4x24__avx2".
const char* gemm_plan_variant_name(const GemmPlan& plan);

// Scratch a run needs per thread (a plan-time constant, 64-byte multiple).
size_t gemm_scratch_bytes_per_thread(const GemmPlan& plan);

// dst[m * dst_stride + n] for m < M, n < N, from src[m * src_stride + k].
// Strides are in elements of the src / dst type. `pool` may be null (one
// thread). `scratch` holds num_threads slices of
// gemm_scratch_bytes_per_thread(plan) bytes each, 64-byte aligned, where
// num_threads = pool ? pool->num_threads() : 1; with scratch == nullptr the run
// allocates it and returns false (writing nothing) if that fails.
bool gemm_run(const GemmPlan& plan, const void* src, size_t M, size_t src_stride, void* dst,
              size_t dst_stride, ThreadPool* pool, uint8_t* scratch = nullptr);

// Whether gemm_run_rows_epilogue runs this plan for M rows: the zmm VNNI
// variants (kDp on AVX-512) with an int32 dst.
bool gemm_takes_rows_epilogue(const GemmPlan& plan, size_t M);

// gemm_run with `epilogue` (kernels/common/rows_epilogue.h) writing dst
// (row stride dst_stride, in the epilogue's elements) from each register
// tile's int32 values. False, writing nothing, when the plan does not take
// it or scratch allocation fails.
bool gemm_run_rows_epilogue(const GemmPlan& plan, const Int32RowsEpilogue& epilogue, const void* src, size_t M,
                            size_t src_stride, void* dst, size_t dst_stride, ThreadPool* pool,
                            uint8_t* scratch = nullptr);

// Source rows made on demand (implicit GEMM): fill(ctx, m0, rows, out,
// out_stride) writes rows [m0, m0 + rows) of the M x K source, K bytes each,
// at out + r * out_stride. The GEMM asks for one activation block at a time
// from its worker threads, so a convolution gathers its windows straight
// into the cache-sized block it is about to pack instead of writing a whole
// M x K im2col matrix first. fill must be safe to call from several threads
// at once (on different or equal row ranges) and must not use the pool.
struct GemmRowSource {
  void (*fill)(const void* ctx, size_t m0, size_t rows, uint8_t* out, size_t out_stride) = nullptr;
  const void* ctx = nullptr;
};

// gemm_run with rows from `source`; scratch: num_threads slices of
// gemm_row_source_scratch_bytes_per_thread(plan) bytes (nullptr: allocated).
bool gemm_run_rows(const GemmPlan& plan, const GemmRowSource& source, size_t M, void* dst,
                   size_t dst_stride, ThreadPool* pool, uint8_t* scratch = nullptr);
size_t gemm_row_source_scratch_bytes_per_thread(const GemmPlan& plan);

// The variant list of gemm.inc, best first, reference last (tests, benches).
struct GemmVariantInfo {
  const char* name;
  bool is_reference;
  bool cpu_supported;  // the ISA is present on this machine (DYAD_ISA caps only dispatch)
  const char* isa;     // "ref", "avx2", "avxvnni", "avx512vnni"
};
std::vector<GemmVariantInfo> gemm_variants();

}  // namespace dyad::kernels
