#include "engine/ops/gemm_select.h"

#include <cstdio>
#include <string>

#include "engine/format/sparsity.h"
#include "kernels/common/cpu.h"
#include "kernels/common/log.h"

namespace dyad {

namespace {

Status planning_failed(const BuildContext& ctx, const char* what, const std::string& error) {
  return Status(StatusCode::kInternal, ctx.graph().source + ": node '" + ctx.node().name + "': " +
                                           what + " planning failed: " + error);
}

// The source and destination fields shared by both GEMM descs. False when the
// output container is not one the GEMM kernels write (int8, uint8 and int32;
// 4-bit outputs are uint8/int8 containers with a narrower clamp).
template <typename Desc, typename DstType>
bool fill_io(const GemmOperands& ops, Desc* desc) {
  desc->src_signed = !dtype_is_unsigned(ops.src_dtype);
  desc->src_zp = ops.src_zero_point;
  desc->src_min = static_cast<int32_t>(dtype_min(ops.src_dtype));
  desc->src_max = static_cast<int32_t>(dtype_max(ops.src_dtype));
  switch (ops.out.type) {
    case kernels::IntType::kS8: desc->dst_type = DstType::kInt8; break;
    case kernels::IntType::kU8: desc->dst_type = DstType::kUint8; break;
    case kernels::IntType::kS32: desc->dst_type = DstType::kInt32; break;
    default: return false;
  }
  desc->dst_zp = ops.out.zero_point;
  desc->qmin = static_cast<int32_t>(ops.out.min);
  desc->qmax = static_cast<int32_t>(ops.out.max);
  return true;
}

int32_t rows_hint(const GemmOperands& ops) {
  return static_cast<int32_t>(ops.M < INT32_MAX ? ops.M : INT32_MAX);
}

Status plan_sparse(const BuildContext& ctx, const GemmOperands& ops, kernels::VnmGemmPlanPtr* plan) {
  kernels::VnmGemmDesc desc;
  desc.shape = vnm_shape_of(*ops.weight);
  desc.tokens_hint = rows_hint(ops);
  if (!fill_io<kernels::VnmGemmDesc, kernels::VnmDstType>(ops, &desc)) {
    if (kernels::verbose_dispatch())
      kernels::log_line(kernels::LogLevel::kDebug,
                        "dyad dispatch: node '" + ctx.node().name + "': V:N:M weight '" + ops.weight->name +
                            "': output container not supported by vnm_gemm: the op's reference kernel on "
                            "the pruned dense matrix");
    return Status::ok();
  }
  kernels::VnmGemmWeights w;
  w.packed = ops.weight->data;
  w.packed_bytes = ops.weight->data_bytes;
  w.bias = ops.bias->empty() ? nullptr : ops.bias->data();
  w.requant = ops.requant->empty() ? nullptr : ops.requant->data();
  std::string error;
  *plan = kernels::vnm_gemm_plan(desc, w, &error);  // honours DYAD_KERNELS=ref itself
  if (*plan == nullptr) return planning_failed(ctx, "V:N:M GEMM", error);
  return Status::ok();
}

Status plan_dense(const BuildContext& ctx, const GemmOperands& ops, kernels::GemmPlanPtr* plan) {
  if (kernels::force_reference_kernels()) return Status::ok();
  if (ops.N > INT32_MAX || ops.K > INT32_MAX) return Status::ok();
  kernels::GemmDesc desc;
  desc.N = static_cast<int32_t>(ops.N);
  desc.K = static_cast<int32_t>(ops.K);
  desc.M_hint = rows_hint(ops);
  desc.weight_bits = ops.weight->dtype == DType::kInt4 ? 4 : 8;
  if (!fill_io<kernels::GemmDesc, kernels::GemmDstType>(ops, &desc)) return Status::ok();
  kernels::GemmWeights w;
  w.wei = ops.weights->data();
  w.bias = ops.bias->empty() ? nullptr : ops.bias->data();
  w.requant = ops.requant->empty() ? nullptr : ops.requant->data();
  std::string error;
  kernels::GemmPlanPtr candidate = kernels::gemm_plan(desc, w, &error);
  if (candidate == nullptr) return planning_failed(ctx, "GEMM", error);
  for (const kernels::GemmVariantInfo& v : kernels::gemm_variants())
    if (v.is_reference && std::string(v.name) == kernels::gemm_plan_variant_name(*candidate))
      return Status::ok();  // the op's own reference kernel is the oracle; use it
  *plan = std::move(candidate);
  return Status::ok();
}

}  // namespace

std::string GemmKernel::name() const {
  if (sparse_ != nullptr) return kernels::vnm_gemm_plan_variant_name(*sparse_);
  if (dense_ != nullptr) return kernels::gemm_plan_variant_name(*dense_);
  return "";
}

size_t GemmKernel::scratch_bytes_per_thread() const {
  if (sparse_ != nullptr) return kernels::vnm_gemm_scratch_bytes_per_thread(*sparse_);
  if (dense_ != nullptr) return kernels::gemm_scratch_bytes_per_thread(*dense_);
  return 0;
}

void GemmKernel::run(const void* src, size_t rows, size_t src_stride, void* dst, size_t dst_stride,
                     kernels::ThreadPool* pool, uint8_t* scratch) const {
  if (sparse_ != nullptr)
    kernels::vnm_gemm_run(*sparse_, src, rows, src_stride, dst, dst_stride, pool, scratch);
  else
    kernels::gemm_run(*dense_, src, rows, src_stride, dst, dst_stride, pool, scratch);
}

bool GemmKernel::takes_rows_epilogue(size_t rows) const {
  if (sparse_ != nullptr) return kernels::vnm_gemm_takes_rows_epilogue(*sparse_, rows);
  return dense_ != nullptr && kernels::gemm_takes_rows_epilogue(*dense_, rows);
}

void GemmKernel::run_rows_epilogue(const kernels::Int32RowsEpilogue& epilogue, const void* src, size_t rows,
                                   size_t src_stride, void* dst, size_t dst_stride, kernels::ThreadPool* pool,
                                   uint8_t* scratch) const {
  if (sparse_ != nullptr)
    kernels::vnm_gemm_run_rows_epilogue(*sparse_, epilogue, src, rows, src_stride, dst, dst_stride, pool, scratch);
  else
    kernels::gemm_run_rows_epilogue(*dense_, epilogue, src, rows, src_stride, dst, dst_stride, pool, scratch);
}

size_t GemmKernel::row_source_scratch_bytes_per_thread() const {
  return kernels::gemm_row_source_scratch_bytes_per_thread(*dense_);
}

void GemmKernel::run_rows(const kernels::GemmRowSource& source, size_t rows, void* dst,
                          size_t dst_stride, kernels::ThreadPool* pool, uint8_t* scratch) const {
  kernels::gemm_run_rows(*dense_, source, rows, dst, dst_stride, pool, scratch);
}

Status plan_gemm(const BuildContext& ctx, const GemmOperands& ops, GemmKernel* out) {
  out->dense_.reset();
  out->sparse_.reset();
  if (ops.weight->sparsity.vnm) return plan_sparse(ctx, ops, &out->sparse_);
  return plan_dense(ctx, ops, &out->dense_);
}

}  // namespace dyad
