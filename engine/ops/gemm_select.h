// Chooses the GEMM behind conv2d and fully_connected: the V:N:M sparse GEMM
// (kernels/vnm_gemm) for a sparse weight, else the exact dense GEMM
// (kernels/gemm) when it offers a faster variant than the op's own reference
// kernel.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "engine/ops/op.h"
#include "kernels/common/output_stage.h"
#include "kernels/gemm/gemm.h"
#include "kernels/vnm_gemm/vnm_gemm.h"

namespace dyad {

struct GemmOperands {
  DType src_dtype = DType::kInt8;
  int32_t src_zero_point = 0;
  const TensorDesc* weight = nullptr;  // the weight constant (dtype; sparsity and packed data)
  int64_t M = 1, N = 1, K = 1;
  const std::vector<int8_t>* weights = nullptr;  // [N, K] unpacked (a sparse weight: pruned dense)
  const std::vector<int32_t>* bias = nullptr;    // empty: none
  const std::vector<kernels::Dyadic>* requant = nullptr;  // empty: raw int32 output
  kernels::OutputStage out;
};

// A planned GEMM: one of the two plans, or neither (use the op's reference).
class GemmKernel {
 public:
  bool empty() const { return dense_ == nullptr && sparse_ == nullptr; }
  // The kernel variant, e.g. "gemm_x8_qc8w_4x24__avx2" or "vnm_signa_qc8w__avx2".
  std::string name() const;
  size_t scratch_bytes_per_thread() const;
  // dst = GEMM(src) for `rows` rows (kernels/gemm/gemm.h gemm_run).
  void run(const void* src, size_t rows, size_t src_stride, void* dst, size_t dst_stride,
           kernels::ThreadPool* pool, uint8_t* scratch) const;
  // Implicit GEMM (kernels/gemm/gemm.h gemm_run_rows): only a dense plan
  // takes its source rows from a row source; its scratch per thread is
  // row_source_scratch_bytes_per_thread().
  bool takes_row_source() const { return dense_ != nullptr; }
  size_t row_source_scratch_bytes_per_thread() const;
  void run_rows(const kernels::GemmRowSource& source, size_t rows, void* dst, size_t dst_stride,
                kernels::ThreadPool* pool, uint8_t* scratch) const;
  // The dense plan, or null (a direct convolution runs it: kernels/conv2d/conv_direct.h).
  const kernels::GemmPlan* dense_plan() const { return dense_.get(); }
  // A fused epilogue on the int32 output (kernels/common/rows_epilogue.h):
  // whether a run of `rows` rows takes one (the dense zmm VNNI variants, the
  // sparse plan's AVX-512 VNNI panel path), and that run, writing dst
  // through it.
  bool takes_rows_epilogue(size_t rows) const;
  void run_rows_epilogue(const kernels::Int32RowsEpilogue& epilogue, const void* src, size_t rows, size_t src_stride,
                         void* dst, size_t dst_stride, kernels::ThreadPool* pool, uint8_t* scratch) const;

 private:
  friend Status plan_gemm(const BuildContext&, const GemmOperands&, GemmKernel*);
  kernels::GemmPlanPtr dense_;
  kernels::VnmGemmPlanPtr sparse_;
};

// Sparse weights: the V:N:M plan (its reference variant under
// DYAD_KERNELS=ref), or empty for an output container it does not write
// (none today), which the op's reference then runs on the pruned dense matrix. Dense weights: a
// non-reference GEMM variant that supports the operands, or empty when the op
// should use its own reference kernel (DYAD_KERNELS=ref, no AVX2, or no variant
// applies). DYAD_VERBOSE=dispatch logs the choice. Errors only for invalid operands.
Status plan_gemm(const BuildContext& ctx, const GemmOperands& ops, GemmKernel* out);

}  // namespace dyad
