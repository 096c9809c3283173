// The fusion rules of engine/ops/fusion.h.
#include "engine/ops/fusion.h"

#include <algorithm>
#include <memory>
#include <string>

#include "engine/core/limits.h"
#include "engine/ops/fully_connected_data.h"
#include "engine/ops/int_gelu_data.h"
#include "engine/ops/int_layernorm_data.h"
#include "engine/ops/int_softmax_data.h"
#include "engine/ops/matmul_data.h"
#include "engine/ops/requantize_data.h"
#include "kernels/attention/attention_fused.h"
#include "kernels/int_gelu/int_gelu_requantize.h"
#include "kernels/int_layernorm/int_layernorm_requantize.h"
#include "kernels/requantize/requantize_wide.h"

namespace dyad {

namespace {

struct IntGeluRequantizeData {
  std::shared_ptr<const void> gelu_owner, requant_owner;  // keep both steps' data alive
  const IntGeluData* gelu = nullptr;
  const RequantizeData* requant = nullptr;
  kernels::RequantizeWidePlan wide;
  bool has_floor = false;  // the floor path applies (int_gelu_requantize.h)
  kernels::IntGeluRequantizeFloorPlan floor;
};

template <auto Kernel>
void run_fused(const void* op_data, const StepIO& io) {
  const auto* d = static_cast<const IntGeluRequantizeData*>(op_data);
  Kernel(d->gelu->with_constants(), d->gelu->vec, d->requant->params, d->wide, d->has_floor ? &d->floor : nullptr,
         io.inputs[0], io.outputs[0], io.pool);
}

// The step that runs `first` then `second` as one kernel `fn`.
Step fused_step(const Step& first, const Step& second, const std::string& kernel, KernelFn fn,
                std::shared_ptr<const void> data, size_t data_bytes) {
  Step s;
  s.node_name = first.node_name + "+" + second.node_name;
  s.op = first.op;
  s.kernel_name = kernel;
  s.fn = fn;
  s.op_data = std::move(data);
  s.inputs = first.inputs;
  s.outputs = second.outputs;
  s.scratch_bytes_per_thread = std::max(first.scratch_bytes_per_thread, second.scratch_bytes_per_thread);
  s.macs = first.macs + second.macs;
  s.work = first.work + second.work;
  s.op_data_bytes = first.op_data_bytes + second.op_data_bytes + data_bytes;
  return s;
}

// The requantize half of a fusion: a requantize of an int64 input with zero
// point 0 (what int_gelu and int_layernorm write) whose channels are 1 or
// `channels`, and its 64-bit-lane plan. On x86 the step must have a vector
// requantize; on 64-bit ARM (`neon`: the first half is a NEON kernel, so
// dispatch allows vector kernels) any kernel: requantize_wide_plan decides.
bool wide_requantize(const Step& requant, int64_t channels, bool neon, kernels::RequantizeWidePlan* wide) {
  if (!neon && requant.kernel_name != "requantize__avx512" && requant.kernel_name != "requantize__avx2")
    return false;
  const auto* d = static_cast<const RequantizeData*>(requant.op_data.get());
  const kernels::RequantizeParams& r = d->params;
  if (r.src_type != kernels::IntType::kS64 || r.src_zero_point != 0) return false;
  if (r.channels != 1 && r.channels != static_cast<size_t>(channels)) return false;
  return kernels::requantize_wide_plan(r, d->requant.data(), wide);
}

size_t wide_plan_bytes(const kernels::RequantizeWidePlan& w) {
  return w.x_lo.size() * 7 * sizeof(int64_t) + w.floor.n.size() * 3 * sizeof(int64_t) +
         w.requant.size() * sizeof(kernels::Dyadic);
}

bool fuse_int_gelu_requantize(const Step& gelu, const Step& requant, Step* fused) {
  // Only the vector GELU (the reference keeps DYAD_KERNELS=ref and
  // unsupported constants on the reference path) and a vector requantize.
  const bool avx512 = gelu.kernel_name == "int_gelu__avx512";
  const bool neon = gelu.kernel_name == "int_gelu__neon";
  if (!avx512 && !neon && gelu.kernel_name != "int_gelu__avx2") return false;
  auto data = std::make_shared<IntGeluRequantizeData>();
  data->gelu_owner = gelu.op_data;
  data->requant_owner = requant.op_data;
  data->gelu = static_cast<const IntGeluData*>(gelu.op_data.get());
  data->requant = static_cast<const RequantizeData*>(requant.op_data.get());
  if (!wide_requantize(requant, data->gelu->params.channels, neon, &data->wide)) return false;
  data->has_floor = kernels::int_gelu_requantize_floor_plan(data->gelu->with_constants(), data->requant->params,
                                                            data->requant->requant.data(), &data->floor, nullptr);
  const size_t bytes = wide_plan_bytes(data->wide) + data->floor.neg_shift.size() * 4 * sizeof(int64_t);
  // The kernel name says which path runs: int_gelu_requantize_floor__ISA.
  const std::string name = std::string(data->has_floor ? "int_gelu_requantize_floor__" : "int_gelu_requantize__") +
                           (neon ? "neon" : avx512 ? "avx512" : "avx2");
#if defined(__aarch64__)
  if (neon) {
    *fused = fused_step(gelu, requant, name, run_fused<kernels::int_gelu_requantize__neon>, data, bytes);
    return true;
  }
#endif
  *fused = fused_step(gelu, requant, name,
                      avx512 ? run_fused<kernels::int_gelu_requantize__avx512>
                             : run_fused<kernels::int_gelu_requantize__avx2>,
                      data, bytes);
  return true;
}

// fully_connected (int32 out; the zmm VNNI GEMM, or the sparse GEMM's
// AVX-512 VNNI panel path) + int_gelu (AVX-512) + requantize: the GEMM hands
// each block of int32 values to int_gelu_requantize_rows__avx512, which
// writes the requantized bytes, so the int32 tensor (BERT-base: 1.5 MB per
// FFN) is never stored and read back. Bit for bit the three steps: the
// GEMM's int32 values are those it would store, and the rows function is the
// fused GELU kernel's per-element code on them.
struct FcGeluRequantizeData {
  std::shared_ptr<const void> owners[3];
  const FullyConnectedGemmData* fc = nullptr;
  kernels::IntGeluParams gelu;  // with its constants (owners[1])
  const IntGeluData* gelu_data = nullptr;
  const RequantizeData* requant = nullptr;
  kernels::RequantizeWidePlan wide;
  bool has_floor = false;
  kernels::IntGeluRequantizeFloorPlan floor;
  kernels::IntGeluRequantizeRows rows;  // points into this struct
  kernels::Int32RowsEpilogue epilogue;
};

void gelu_rows_epilogue(const void* ctx, const int32_t* x, size_t x_stride, size_t m0, size_t rows, size_t n0,
                        size_t count, void* y, size_t y_stride) {
  const auto* d = static_cast<const FcGeluRequantizeData*>(ctx);
  kernels::int_gelu_requantize_rows__avx512(d->rows, x, x_stride, rows, n0, count,
                                            static_cast<uint8_t*>(y) + m0 * y_stride + n0, y_stride);
}

void run_fc_gelu_requantize(const void* op_data, const StepIO& io) {
  const auto* d = static_cast<const FcGeluRequantizeData*>(op_data);
  const FullyConnectedGemmData& fc = *d->fc;
  fc.gemm.run_rows_epilogue(d->epilogue, io.inputs[0], static_cast<size_t>(fc.rows),
                            static_cast<size_t>(fc.in_features), io.outputs[0], static_cast<size_t>(fc.out_features),
                            io.pool, io.scratch);
}

bool fuse_fc_gelu_requantize(const Step& fc, const Step& gelu, const Step& requant, Step* fused) {
  if (fc.op != OpType::kFullyConnected || gelu.op != OpType::kIntGelu || requant.op != OpType::kRequantize)
    return false;
  // Only the exact GEMM's steps hold a FullyConnectedGemmData.
  if (fc.kernel_name.rfind("fully_connected:", 0) != 0 || gelu.kernel_name != "int_gelu__avx512") return false;
  auto data = std::make_shared<FcGeluRequantizeData>();
  data->fc = static_cast<const FullyConnectedGemmData*>(fc.op_data.get());
  if (!data->fc->gemm.takes_rows_epilogue(static_cast<size_t>(data->fc->rows))) return false;
  data->gelu_data = static_cast<const IntGeluData*>(gelu.op_data.get());
  if (data->gelu_data->params.x_type != kernels::IntType::kS32) return false;
  data->requant = static_cast<const RequantizeData*>(requant.op_data.get());
  if (!wide_requantize(requant, data->gelu_data->params.channels, false, &data->wide)) return false;
  data->gelu = data->gelu_data->with_constants();
  data->has_floor = kernels::int_gelu_requantize_floor_plan(data->gelu, data->requant->params,
                                                            data->requant->requant.data(), &data->floor, nullptr);
  data->rows = {&data->gelu, &data->gelu_data->vec, &data->requant->params, &data->wide,
                data->has_floor ? &data->floor : nullptr};
  data->epilogue = {gelu_rows_epilogue, data.get()};
  data->owners[0] = fc.op_data;
  data->owners[1] = gelu.op_data;
  data->owners[2] = requant.op_data;
  const size_t bytes = wide_plan_bytes(data->wide) + data->floor.neg_shift.size() * 4 * sizeof(int64_t);
  Step f = fused_step(fc, requant,
                      fc.kernel_name + "+" + (data->has_floor ? "int_gelu_requantize_floor__avx512"
                                                              : "int_gelu_requantize__avx512"),
                      run_fc_gelu_requantize, data, bytes);
  f.node_name = fc.node_name + "+" + gelu.node_name + "+" + requant.node_name;
  f.scratch_bytes_per_thread = fc.scratch_bytes_per_thread;
  f.macs = fc.macs + gelu.macs + requant.macs;
  f.kept_macs = fc.kept_macs;
  f.work = fc.work + gelu.work + requant.work;
  f.op_data_bytes = fc.op_data_bytes + gelu.op_data_bytes + requant.op_data_bytes + bytes;
  *fused = std::move(f);
  return true;
}

struct IntLayerNormRequantizeData {
  std::shared_ptr<const void> ln_owner, requant_owner;
  kernels::IntLayerNormParams ln;  // bias_int points into ln_owner's data
  const RequantizeData* requant = nullptr;
  kernels::RequantizeWidePlan wide;
};

template <auto Kernel>
void run_layernorm_requantize(const void* op_data, const StepIO& io) {
  const auto* d = static_cast<const IntLayerNormRequantizeData*>(op_data);
  Kernel(d->ln, d->requant->params, d->wide, io.inputs[0], io.outputs[0], io.pool);
}

bool fuse_int_layernorm_requantize(const Step& ln, const Step& requant, Step* fused) {
  // A vector LayerNorm (the row code the fused kernel shares). On x86 the
  // AVX-512 one with the AVX-512 requantize (the fused kernel's other half
  // needs F/BW/VL/DQ); on 64-bit ARM the NEON one (wide_requantize).
  const bool neon = ln.kernel_name == "int_layernorm__neon";
  if (!neon && (ln.kernel_name != "int_layernorm__avx512vnni" || requant.kernel_name != "requantize__avx512"))
    return false;
  auto data = std::make_shared<IntLayerNormRequantizeData>();
  data->ln_owner = ln.op_data;
  data->requant_owner = requant.op_data;
  const auto* ln_data = static_cast<const IntLayerNormData*>(ln.op_data.get());
  data->ln = ln_data->params;
  data->ln.bias_int = ln_data->bias_int.data();
  data->requant = static_cast<const RequantizeData*>(requant.op_data.get());
  if (!wide_requantize(requant, data->ln.channels, neon, &data->wide)) return false;
  const size_t bytes = wide_plan_bytes(data->wide);
#if defined(__aarch64__)
  if (neon) {
    *fused = fused_step(ln, requant, "int_layernorm_requantize__neon",
                        run_layernorm_requantize<kernels::int_layernorm_requantize__neon>, data, bytes);
    return true;
  }
#endif
  *fused = fused_step(ln, requant, "int_layernorm_requantize__avx512",
                      run_layernorm_requantize<kernels::int_layernorm_requantize__avx512>, data, bytes);
  return true;
}

struct AttentionData {
  std::shared_ptr<const void> owners[3];
  kernels::AttentionPlan plan;
};

void run_attention(const void* op_data, const StepIO& io) {
  const auto* d = static_cast<const AttentionData*>(op_data);
  kernels::attention_fused(d->plan, io.inputs[0], io.inputs[1], io.inputs[2], io.inputs[3], io.outputs[0],
                           io.pool, io.scratch, io.scratch_bytes_per_thread);
}

// The vector matmul variant of a step, by its kernel name's suffix.
bool matmul_variant(const Step& s, kernels::MatmulFn* fn, size_t (**scratch)(const kernels::MatmulParams&)) {
  auto ends_with = [&](const char* suffix) {
    const std::string t(suffix);
    return s.kernel_name.size() >= t.size() && s.kernel_name.compare(s.kernel_name.size() - t.size(), t.size(), t) == 0;
  };
  if (ends_with("__avx512vnni")) {
    *fn = kernels::matmul__avx512vnni;
    *scratch = kernels::matmul_avx512vnni_scratch_bytes;
    return true;
  }
  if (ends_with("__avx2")) {
    *fn = kernels::matmul__avx2;
    *scratch = kernels::matmul_avx2_scratch_bytes;
    return true;
  }
#if defined(__aarch64__)
  if (ends_with("__dotprod")) {
    *fn = kernels::matmul__dotprod;
    *scratch = kernels::matmul_dotprod_scratch_bytes;
    return true;
  }
#endif
  return false;
}

bool fuse_attention(const Step& scores, const Step& softmax, const Step& context, Step* fused) {
  if (scores.op != OpType::kMatmul || softmax.op != OpType::kIntSoftmax || context.op != OpType::kMatmul)
    return false;
  auto data = std::make_shared<AttentionData>();
  kernels::AttentionPlan& plan = data->plan;
  size_t (*scores_scratch)(const kernels::MatmulParams&) = nullptr;
  size_t (*context_scratch)(const kernels::MatmulParams&) = nullptr;
  if (!matmul_variant(scores, &plan.scores_fn, &scores_scratch) ||
      !matmul_variant(context, &plan.context_fn, &context_scratch))
    return false;
  if (softmax.kernel_name == "int_softmax_s32__avx512")
    plan.softmax_fn = kernels::int_softmax_s32__avx512;
  else if (softmax.kernel_name == "int_softmax_s32__avx2")
    plan.softmax_fn = kernels::int_softmax_s32__avx2;
#if defined(__aarch64__)
  else if (softmax.kernel_name == "int_softmax_s32__neon")
    plan.softmax_fn = kernels::int_softmax_s32__neon;
#endif
  else
    return false;
  const auto& s = static_cast<const MatmulData*>(scores.op_data.get())->params;
  const auto& c = static_cast<const MatmulData*>(context.op_data.get())->params;
  const auto* sm = static_cast<const IntSoftmaxData*>(softmax.op_data.get());
  // Raw int32 scores over whole heads, the softmax over their rows, and the
  // context matmul over the same heads with the probabilities as `a`.
  if (s.requantize || s.y_type != kernels::IntType::kS32 || c.batch != s.batch || c.m != s.m ||
      c.k != s.n || c.transpose_b || c.a_type != kernels::IntType::kS16 || c.a_zero_point != 0)
    return false;
  if (sm->params.length != s.n || sm->params.rows != s.batch * s.m) return false;
  if (sm->has_mask) {
    const kernels::IntSoftmaxMask& mask = sm->params.mask;
    // Each head's rows must be one run of the mask's last leading axis.
    if (mask.rank > 0 && mask.dims[mask.rank - 1] != s.m) return false;
  }
  plan.heads = s.batch;
  plan.scores = s;
  plan.scores.batch = 1;
  plan.context = c;
  plan.context.batch = 1;
  plan.softmax = sm->params;
  plan.softmax.rows = s.m;
  plan.softmax_plan = sm->vec;
  plan.scores_scratch = scores_scratch(plan.scores);
  plan.context_scratch = context_scratch(plan.context);
  data->owners[0] = scores.op_data;
  data->owners[1] = softmax.op_data;
  data->owners[2] = context.op_data;
  Step f;
  f.node_name = scores.node_name + "+" + softmax.node_name + "+" + context.node_name;
  f.op = OpType::kMatmul;
  f.kernel_name = "attention_fused:" + scores.kernel_name + "+" + softmax.kernel_name + "+" + context.kernel_name;
  f.fn = run_attention;
  f.scratch_bytes_per_thread = kernels::attention_scratch_bytes(plan);
  // A head's tiles per thread are the unfused scores and probabilities of one
  // head: keep them inside the per-step scratch limit, else run unfused.
  if (f.scratch_bytes_per_thread > static_cast<size_t>(limits::kMaxScratchBytesPerThread)) return false;
  f.inputs = {scores.inputs[0], scores.inputs[1], sm->has_mask ? softmax.inputs[1] : -1, context.inputs[1]};
  f.outputs = context.outputs;
  f.macs = scores.macs + softmax.macs + context.macs;
  f.work = scores.work + softmax.work + context.work;
  f.op_data_bytes = scores.op_data_bytes + softmax.op_data_bytes + context.op_data_bytes;
  f.op_data = std::move(data);
  *fused = std::move(f);
  return true;
}

}  // namespace

bool fuse_steps_triple(const Step& first, const Step& second, const Step& third, Step* fused) {
  return fuse_attention(first, second, third, fused) || fuse_fc_gelu_requantize(first, second, third, fused);
}

bool fuse_steps_pair(const Step& first, const Step& second, Step* fused) {
  if (second.op != OpType::kRequantize) return false;
  if (first.op == OpType::kIntGelu) return fuse_int_gelu_requantize(first, second, fused);
  if (first.op == OpType::kIntLayerNorm) return fuse_int_layernorm_requantize(first, second, fused);
  return false;
}

}  // namespace dyad
