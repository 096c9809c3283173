// GEMM planning: validation, variant selection (ordered list with reasons,
// oneDNN style), and the run entry point. Packing is in gemm_pack.cc, the
// kernels in gemm_ref.cc, gemm_*_avx2.cc and gemm_dp_*.cc.
#include <algorithm>
#include <cinttypes>
#include <cstdarg>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <new>
#include <string>

#include "kernels/common/cpu.h"
#include "kernels/common/log.h"
#include "kernels/common/strfmt.h"
#include "kernels/common/thread_pool.h"
#include "kernels/common/variant_select.h"
#include "kernels/gemm/gemm_internal.h"

namespace dyad::kernels {
namespace {

constexpr GemmVariant kVariants[] = {
#define DYAD_GEMM_VARIANT(name, isa, family, wbits, min_chunk, mr, nr) \
  {#name, isa, family, wbits, min_chunk, mr, nr, &name},
#include "kernels/gemm/gemm.inc"
#undef DYAD_GEMM_VARIANT
};
static_assert(kVariants[std::size(kVariants) - 1].family == GemmFamily::kRef,
              "gemm.inc must end with the reference variant");

constexpr int32_t kMaxDim = 1 << 24;
// The narrowest zmm VNNI tile in gemm.inc: it takes any N the wider ones refuse.
constexpr int32_t kNarrowestDpTile = 16;

// Packed activation rows per M block: half of one core's L2, the other half
// left to the weight panels streaming through, within [192, 512] KiB (192
// where the L2 size is unknown). Every M block streams all the weights
// again, so the block should take as many rows as L2 allows: BERT-base's
// K = 3072 linears at 128 tokens were three blocks at 192 KiB, each a 2.4 MB
// pass over the weights from L3 or memory, and are one at 448 KiB or more.
size_t activation_block_bytes() {
  static const size_t bytes = std::clamp<size_t>(l2_cache_bytes() / 2, 192 << 10, 512 << 10);
  return bytes;
}

struct DescFacts {
  bool acc_fits_int32 = false;  // |acc| <= INT32_MAX for every src in range, every n
  int32_t max_abs_wei = 0;
  int64_t max_sum_abs_wei = 0;  // the largest sum_k |w| of a column
  int64_t chunk_quads = 0;      // kUbs: quads whose int16 sums provably stay in range
};

const char* dst_type_name(GemmDstType t) {
  switch (t) {
    case GemmDstType::kInt8: return "int8";
    case GemmDstType::kUint8: return "uint8";
    case GemmDstType::kInt32: return "int32";
  }
  return "?";
}

bool validate(const GemmDesc& d, const GemmWeights& w, std::string* error) {
  auto fail = [&](std::string message) {
    if (error) *error = "gemm: " + message;
    return false;
  };
  if (d.N < 1 || d.N > kMaxDim) return fail(strfmt("N = %d is outside [1, %d]", d.N, kMaxDim));
  if (d.K < 1 || d.K > kMaxDim) return fail(strfmt("K = %d is outside [1, %d]", d.K, kMaxDim));
  if (d.M_hint < 0) return fail(strfmt("M_hint = %d is negative", d.M_hint));
  const int32_t lo = d.src_signed ? -128 : 0, hi = d.src_signed ? 127 : 255;
  const char* container = d.src_signed ? "int8" : "uint8";
  if (d.src_min < lo || d.src_max > hi || d.src_min > d.src_max) {
    return fail(strfmt("src range [%d, %d] is not a range of the %s container", d.src_min, d.src_max,
                    container));
  }
  if (d.src_zp < lo || d.src_zp > hi) {
    return fail(strfmt("src_zp = %d is outside the %s range", d.src_zp, container));
  }
  if (d.weight_bits != 4 && d.weight_bits != 8) {
    return fail(strfmt("weight_bits = %d (must be 4 or 8)", d.weight_bits));
  }
  if (d.dst_type != GemmDstType::kInt8 && d.dst_type != GemmDstType::kUint8 &&
      d.dst_type != GemmDstType::kInt32) {
    return fail("unknown dst type");
  }
  if (d.dst_type != GemmDstType::kInt32) {
    const int32_t dlo = d.dst_type == GemmDstType::kInt8 ? -128 : 0;
    const int32_t dhi = d.dst_type == GemmDstType::kInt8 ? 127 : 255;
    const char* dname = dst_type_name(d.dst_type);
    if (d.qmin < dlo || d.qmax > dhi || d.qmin > d.qmax) {
      return fail(strfmt("[qmin, qmax] = [%d, %d] is not a range of %s", d.qmin, d.qmax, dname));
    }
    if (d.dst_zp < dlo || d.dst_zp > dhi) {
      return fail(strfmt("dst_zp = %d is outside the %s range", d.dst_zp, dname));
    }
    if (w.requant == nullptr) return fail("requant constants are missing");
  }
  if (w.wei == nullptr) return fail("weights are missing");
  const int32_t wlo = d.weight_bits == 4 ? -8 : -128, whi = d.weight_bits == 4 ? 7 : 127;
  for (int64_t i = 0; i < int64_t{d.N} * d.K; ++i) {
    if (w.wei[i] < wlo || w.wei[i] > whi) {
      return fail(strfmt("wei[%" PRId64 ", %" PRId64 "] = %d is outside the int%d range [%d, %d]",
                      i / d.K, i % d.K, w.wei[i], d.weight_bits, wlo, whi));
    }
  }
  return true;
}

DescFacts compute_facts(const GemmDesc& d, const GemmWeights& w) {
  DescFacts f;
  const int64_t max_src = std::max(std::abs(int64_t{d.src_min} - d.src_zp),
                                   std::abs(int64_t{d.src_max} - d.src_zp));
  f.acc_fits_int32 = true;
  for (int32_t n = 0; n < d.N; ++n) {
    int64_t sum_abs = 0;
    for (int32_t k = 0; k < d.K; ++k) {
      const int32_t v = w.wei[int64_t{n} * d.K + k];
      sum_abs += std::abs(v);
      f.max_abs_wei = std::max(f.max_abs_wei, std::abs(v));
    }
    f.max_sum_abs_wei = std::max(f.max_sum_abs_wei, sum_abs);
    const int64_t bias = w.bias ? std::abs(int64_t{w.bias[n]}) : 0;
    if (sum_abs * max_src + bias > INT32_MAX) f.acc_fits_int32 = false;
  }
  // kUbs: a pair sum is u0*w0 + u1*w1 with u in [0, src_max - src_min] and
  // |w| <= max_abs_wei; a chunk of J quads adds J pair sums into one int16.
  const int64_t pair_max = 2 * int64_t{d.src_max - d.src_min} * f.max_abs_wei;
  f.chunk_quads = pair_max == 0 ? (1 << 20) : (32767 / pair_max) & ~int64_t{1};
  return f;
}

KernelIsa kernel_isa_of(GemmIsa isa) {
  switch (isa) {
    case GemmIsa::kScalar: return KernelIsa::kRef;
    case GemmIsa::kAvx2: return KernelIsa::kAvx2;
    case GemmIsa::kAvxVnni: return KernelIsa::kAvxVnni;
    case GemmIsa::kAvx512Vnni: return KernelIsa::kAvx512Vnni;
    case GemmIsa::kDotprod: return KernelIsa::kDotprod;
    case GemmIsa::kI8mm: return KernelIsa::kI8mm;
  }
  return KernelIsa::kAmx;
}

// Why `v` cannot run `d`, or "" when it can. `named`: the caller asked for
// this variant by name, so the DYAD_ISA cap (which is for dispatch) is not
// applied, only the CPU's features.
std::string gemm_variant_refusal(const GemmVariant& v, const GemmDesc& d, const DescFacts& f,
                                 bool named) {
  const KernelIsa isa = kernel_isa_of(v.isa);
  if (!kernel_isa_present(isa)) return strfmt("the CPU has no %s", kernel_isa_name(isa));
  if (!named && static_cast<int>(isa) > static_cast<int>(kernel_isa_cap()))
    return strfmt("DYAD_ISA=%s caps dispatch below %s", kernel_isa_name(kernel_isa_cap()),
                  kernel_isa_name(isa));
  if (v.family == GemmFamily::kRef) return "";
  if (!f.acc_fits_int32) {
    return "the int32 accumulator could overflow (sum |w| * max|src - zp| + |bias| > 2^31 - 1)";
  }
  if (v.packed_weight_bits < d.weight_bits) {
    return strfmt("needs 4-bit weights, the desc has %d-bit ones", d.weight_bits);
  }
  if (v.family == GemmFamily::kDp && v.packed_weight_bits == 8 && d.weight_bits == 4 &&
      d.M_hint >= 1 && d.M_hint <= v.mr) {
    // Not a correctness limit: with few rows the weights stream from memory,
    // and the nibble variants read half the bytes.
    return strfmt("4-bit weights at M_hint = %d <= %d rows: a nibble variant streams half the bytes",
                  d.M_hint, v.mr);
  }
  if (!named && v.family == GemmFamily::kDp && v.packed_weight_bits == 4 && d.M_hint > v.mr) {
    // A preference (a named variant skips it): past one register tile of
    // rows the nibble panels are unpacked into bytes again for every M block
    // (panel_scratch), and a byte-panel variant reads that same layout
    // packed once. Measured on AMD EPYC Zen 5 (ResNet-18 mixed, 1 thread):
    // its 4-bit convs took 10-40 % longer than the same convs with bytes.
    return strfmt("4-bit weights at M_hint = %d > %d rows: byte panels packed once beat unpacking "
                  "nibbles per block",
                  d.M_hint, v.mr);
  }
  if (!named && v.family == GemmFamily::kDp && v.isa == GemmIsa::kAvx512Vnni && v.nr > kNarrowestDpTile) {
    // A preference, not a correctness limit (so a named variant skips it):
    // the next narrower zmm tile pads fewer columns, and this one pads more
    // than N / 8 (MobileNetV2's N = 96 and 144 pad 32 and 48 columns in
    // 64-wide tiles). Up to N / 8 the wider tile's fewer broadcasts per
    // vpdpbusd win: N = 144 at K = 24 took 71 us with 12 x 16 tiles and 63 us
    // with 12 x 32 ones padding 16 columns (AMD EPYC Zen 5, 1 thread).
    auto padding = [&](int nr) { return (d.N + nr - 1) / nr * nr - d.N; };
    if (padding(v.nr) * 8 > d.N && padding(v.nr) > padding(v.nr / 2))
      return strfmt("N = %d pads %d of its %d-column tiles' columns, a %d-column tile %d", d.N, padding(v.nr),
                    v.nr, v.nr / 2, padding(v.nr / 2));
  }
  if (v.family == GemmFamily::kUbs && f.chunk_quads < v.min_chunk_quads) {
    return strfmt("int16 pair sums of src range [%d, %d] x |w| <= %d allow chunks of %" PRId64
               " quads, this variant needs >= %d",
               d.src_min, d.src_max, f.max_abs_wei, f.chunk_quads, v.min_chunk_quads);
  }
  return "";
}

size_t round_up(size_t x, size_t m) { return (x + m - 1) / m * m; }

// Fills the plan for `v` and packs. False (error set) when out of memory.
bool build_plan(GemmPlan& plan, const GemmVariant* v, const GemmWeights& w, const DescFacts& f,
                std::string* error) {
  const GemmDesc& d = plan.desc;
  plan.variant = v;
  if (v->family == GemmFamily::kRef) {
    const size_t nk = size_t(d.N) * d.K;
    try {
      plan.wei.assign(w.wei, w.wei + nk);
      plan.bias.assign(d.N, 0);
      if (w.bias) plan.bias.assign(w.bias, w.bias + d.N);
      if (d.dst_type != GemmDstType::kInt32) plan.requant.assign(w.requant, w.requant + d.N);
    } catch (const std::bad_alloc&) {
      if (error) *error = "gemm: out of memory copying the weights";
      return false;
    }
    return true;
  }
  plan.kp = static_cast<int32_t>(round_up(d.K, 8));
  plan.n_panels = (d.N + v->nr - 1) / v->nr;
  const bool wd = v->family == GemmFamily::kWd;
  // kSdot and kSmmla multiply signed bytes: int8 sources as they are, uint8 ones - 128.
  const bool signed_bytes = v->family == GemmFamily::kSdot || v->family == GemmFamily::kSmmla;
  plan.src_offset = wd ? d.src_zp : signed_bytes ? (d.src_signed ? 0 : 128) : d.src_min;
  plan.chunk_quads = v->family != GemmFamily::kUbs
                         ? 0
                         : static_cast<int32_t>(std::min<int64_t>(f.chunk_quads, 1 << 16));
  // Offset nibbles are in [0, 15] and u in [0, umax <= 255]: pairs in [0, 30 * umax].
  const int64_t umax = std::max(d.src_max - d.src_min, 1);
  plan.chunk_quads_offset = static_cast<int32_t>(std::min<int64_t>(32767 / (30 * umax), 1 << 16) & ~int64_t{1});
  const size_t a_elem = wd ? 2 : 1;
  // Bytes of one unpacked panel: int8 for nibbles; kWd (sign-extended as it
  // loads) and 8-bit kUbs weights are already in the kernel's layout.
  const size_t w_elem = v->packed_weight_bits == 4 ? 1 : 0;
  // Packed activation rows: a multiple of 64 bytes, and not of 256, so the
  // 4 rows a register tile broadcasts from do not share L1 banks (4 KiB
  // apart they run at half speed on Zen 3).
  plan.a_stride = round_up(size_t(plan.kp) * a_elem + (wd ? 0 : sizeof(int32_t)), 64);
  if (plan.a_stride % 256 == 0) plan.a_stride += 64;
  const size_t rows = activation_block_bytes() / plan.a_stride;
  plan.mc = static_cast<int32_t>(std::clamp<size_t>(rows / v->mr * v->mr, v->mr, kGemmMaxBlockRows));
  plan.panel_scratch = w_elem != 0 && (d.M_hint == 0 || d.M_hint > v->mr);
  plan.rows_in_place = v->family == GemmFamily::kDp && v->packed_weight_bits == 8 && plan.src_offset == 0 &&
                       d.K % 8 == 0;
  // The zmm VNNI epilogue may take the column constant inside the floor
  // path's 64-bit constant (gemm_pack.cc) when the kernel's raw sums
  // sum_k (src - src_offset) * w cannot wrap int32.
  const int64_t max_a = std::max(std::abs(int64_t{d.src_min} - plan.src_offset),
                                 std::abs(int64_t{d.src_max} - plan.src_offset));
  plan.col_in_floor_round = v->family == GemmFamily::kDp && v->isa == GemmIsa::kAvx512Vnni &&
                            d.dst_type != GemmDstType::kInt32 && f.max_sum_abs_wei * max_a <= INT32_MAX;
  plan.scratch_a_bytes = round_up(size_t(plan.mc) * plan.a_stride, 64);
  plan.scratch_w_bytes = plan.panel_scratch ? round_up(size_t(plan.kp) * v->nr * w_elem, 64) : 0;
  plan.scratch_acc_bytes = round_up(size_t(plan.mc) * v->nr * sizeof(int32_t), 64);
  plan.scratch_bytes_per_thread = plan.scratch_a_bytes + plan.scratch_w_bytes + plan.scratch_acc_bytes;
  plan.scratch_rows_bytes = round_up(size_t(plan.mc) * d.K, 64);
  return gemm_pack(plan, w, error);
}

void log_dispatch(const GemmDesc& d, const char* what, const char* variant, const std::string& why) {
  log_line(LogLevel::kDebug,
           strfmt("dyad dispatch: gemm N=%d K=%d M~%d w%d src[%d,%d] zp=%d dst=%s: %s %s%s%s",
                  d.N, d.K, d.M_hint, d.weight_bits, d.src_min, d.src_max, d.src_zp,
                  dst_type_name(d.dst_type), what, variant, why.empty() ? "" : ": ", why.c_str()));
}

GemmPlanPtr make_plan(const GemmDesc& desc, const GemmWeights& weights,
                      const std::string_view* forced, std::string* error) {
  if (!validate(desc, weights, error)) return nullptr;
  const DescFacts facts = compute_facts(desc, weights);
  const GemmVariant* chosen = select_variant(
      kVariants, forced, "gemm",
      [&](const GemmVariant& v) { return gemm_variant_refusal(v, desc, facts, forced != nullptr); },
      [&](const char* what, const char* name, const std::string& why) { log_dispatch(desc, what, name, why); },
      error);
  if (chosen == nullptr) return nullptr;
  GemmPlanPtr plan(new (std::nothrow) GemmPlan);
  if (!plan) {
    if (error) *error = "gemm: out of memory";
    return nullptr;
  }
  plan->desc = desc;
  if (!build_plan(*plan, chosen, weights, facts, error)) return nullptr;
  return plan;
}

}  // namespace

void GemmPlanDeleter::operator()(GemmPlan* plan) const { delete plan; }

GemmPlanPtr gemm_plan(const GemmDesc& desc, const GemmWeights& weights, std::string* error) {
  return make_plan(desc, weights, nullptr, error);
}

GemmPlanPtr gemm_plan_variant(const GemmDesc& desc, const GemmWeights& weights,
                              std::string_view variant_name, std::string* error) {
  return make_plan(desc, weights, &variant_name, error);
}

const char* gemm_plan_variant_name(const GemmPlan& plan) { return plan.variant->name; }

size_t gemm_scratch_bytes_per_thread(const GemmPlan& plan) { return plan.scratch_bytes_per_thread; }

namespace {

bool run_with(const GemmPlan& plan, const Int32RowsEpilogue* epilogue, const void* src, size_t M,
              size_t src_stride, void* dst, size_t dst_stride, ThreadPool* pool, uint8_t* scratch) {
  if (M == 0) return true;
  AlignedBytes owned;
  const size_t threads = pool ? static_cast<size_t>(pool->num_threads()) : 1;
  if (scratch == nullptr && plan.scratch_bytes_per_thread > 0) {
    if (!owned.allocate(threads * plan.scratch_bytes_per_thread)) return false;
    scratch = owned.data();
  }
  GemmArgs args{src, M, src_stride, dst, dst_stride, pool, scratch};
  args.slice_bytes = plan.scratch_bytes_per_thread;
  args.rows_epilogue = epilogue;
  plan.variant->run(plan, args);
  return true;
}

}  // namespace

bool gemm_run(const GemmPlan& plan, const void* src, size_t M, size_t src_stride, void* dst,
              size_t dst_stride, ThreadPool* pool, uint8_t* scratch) {
  return run_with(plan, nullptr, src, M, src_stride, dst, dst_stride, pool, scratch);
}

bool gemm_takes_rows_epilogue(const GemmPlan& plan, size_t M) {
  // The zmm epilogue's memory form hands each tile's int32 values over
  // (gemm_dp_avx512vnni.cc Zmm::store_rows); the other variants do not.
  return M > 0 && plan.variant->family == GemmFamily::kDp && plan.variant->isa == GemmIsa::kAvx512Vnni &&
         plan.desc.dst_type == GemmDstType::kInt32;
}

bool gemm_run_rows_epilogue(const GemmPlan& plan, const Int32RowsEpilogue& epilogue, const void* src, size_t M,
                            size_t src_stride, void* dst, size_t dst_stride, ThreadPool* pool, uint8_t* scratch) {
  if (epilogue.fn == nullptr || !gemm_takes_rows_epilogue(plan, M)) return false;
  return run_with(plan, &epilogue, src, M, src_stride, dst, dst_stride, pool, scratch);
}

size_t gemm_row_source_scratch_bytes_per_thread(const GemmPlan& plan) {
  return plan.scratch_bytes_per_thread + plan.scratch_rows_bytes;
}

bool gemm_run_rows(const GemmPlan& plan, const GemmRowSource& source, size_t M, void* dst,
                   size_t dst_stride, ThreadPool* pool, uint8_t* scratch) {
  if (M == 0) return true;
  const size_t K = static_cast<size_t>(plan.desc.K);
  AlignedBytes owned;
  if (plan.variant->family == GemmFamily::kRef) {
    // The oracle reads a plain matrix: gather all of it.
    if (M > SIZE_MAX / K || !owned.allocate(M * K)) return false;
    source.fill(source.ctx, 0, M, owned.data(), K);
    return gemm_run(plan, owned.data(), M, K, dst, dst_stride, pool, scratch);
  }
  const size_t threads = pool ? static_cast<size_t>(pool->num_threads()) : 1;
  const size_t slice = gemm_row_source_scratch_bytes_per_thread(plan);
  if (scratch == nullptr) {
    if (!owned.allocate(threads * slice)) return false;
    scratch = owned.data();
  }
  GemmArgs args{nullptr, M, K, dst, dst_stride, pool, scratch};
  args.rows = &source;
  args.slice_bytes = slice;
  plan.variant->run(plan, args);
  return true;
}

std::vector<GemmVariantInfo> gemm_variants() {
  std::vector<GemmVariantInfo> out;
  for (const GemmVariant& v : kVariants) {
    out.push_back({v.name, v.family == GemmFamily::kRef, kernel_isa_present(kernel_isa_of(v.isa)),
                   kernel_isa_name(kernel_isa_of(v.isa))});
  }
  return out;
}

}  // namespace dyad::kernels
