// V:N:M GEMM planning: validation, variant selection (ordered list with the
// reason each variant refuses, as kernels/gemm does), the per-octet output
// constants, blocking and scratch sizes, and the run entry point.
#include <algorithm>
#include <cinttypes>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <new>
#include <string>

#include "kernels/common/cpu.h"
#include "kernels/common/log.h"
#include "kernels/common/strfmt.h"
#include "kernels/common/thread_pool.h"
#include "kernels/common/variant_select.h"
#include "kernels/vnm_gemm/vnm_gemm_internal.h"

namespace dyad::kernels {
namespace {

// Best first, reference last. The VNNI variants accept every desc the AVX2
// ones do (and int8 weights of -128 with 256-value sources), so where the
// CPU has them (and DYAD_ISA allows them) the AVX2 ones are not reached.
// 64-bit ARM lists its SDOT variant instead (only the lines of the
// architecture being built are compiled).
constexpr VnmVariant kVariants[] = {
    {"vnm_dp__avx512vnni", KernelIsa::kAvx512Vnni, VnmFamily::kDp, 0, &vnm_gemm_dp_avx512vnni},
    {"vnm_dp__avxvnni", KernelIsa::kAvxVnni, VnmFamily::kDp, 0, &vnm_gemm_dp_avxvnni},
    {"vnm_ubs_qc4w__avx2", KernelIsa::kAvx2, VnmFamily::kUbs, 4, &vnm_gemm_ubs_qc4w_avx2},
    {"vnm_ubs_qc8w__avx2", KernelIsa::kAvx2, VnmFamily::kUbs, 8, &vnm_gemm_ubs_qc8w_avx2},
    {"vnm_signw_qc8w__avx2", KernelIsa::kAvx2, VnmFamily::kSignW, 8, &vnm_gemm_signw_qc8w_avx2},
    {"vnm_signa_qc8w__avx2", KernelIsa::kAvx2, VnmFamily::kSignA, 8, &vnm_gemm_signa_qc8w_avx2},
#if defined(__aarch64__)
    {"vnm_sdot__dotprod", KernelIsa::kDotprod, VnmFamily::kSdot, 0, &vnm_gemm_sdot_dotprod},
#endif
    {"vnm_ref", KernelIsa::kRef, VnmFamily::kRef, 0, &vnm_gemm_ref},
};
static_assert(kVariants[std::size(kVariants) - 1].family == VnmFamily::kRef, "the reference must be last");

// Blocking of the GEMM path (bench/kernels/vnm_gemm_bench.cc measured these).
// Activations of one token block. Each panel re-reads the block's windows,
// but every window byte feeds ~50 vector ops, so L3 serves them as well as
// L2; a large block amortizes the control decoding over many tokens.
constexpr size_t kActivationBlockBytes = 1024 * 1024;
constexpr size_t kChunkControlBytes = 16 * 1024;      // decoded controls of one panel and K chunk (L1)
// The zmm driver: panels of kVnmZmmPanelOctets (4) octets, K chunks of up to
// 128 group pairs (a multiple of 4: a zmm holds 4), whose controls and values
// (16 + 16 bytes per row quad and group pair, 32 KB per panel and chunk) stay
// in L1 while every token tile passes.
constexpr int64_t kZmmChunkGroupPairs = 128;

size_t round_up(size_t x, size_t m) { return (x + m - 1) / m * m; }

// Facts about the weights the variants' refusals depend on.
struct Facts {
  int32_t max_abs_w = 0;
  bool has_minus_128 = false;
  bool acc_fits_int32 = true;  // |acc| <= 2^31 - 1 for every source in range
  std::vector<int64_t> row_sum;  // sum of each row's weights (n_pad entries)
};

const char* dst_name(VnmDstType t) {
  switch (t) {
    case VnmDstType::kInt8: return "int8";
    case VnmDstType::kUint8: return "uint8";
    case VnmDstType::kInt32: return "int32";
  }
  return "?";
}

bool validate(const VnmGemmDesc& d, const VnmGemmWeights& w, std::string* error) {
  auto fail = [&](const std::string& message) {
    if (error) *error = "vnm_gemm: " + message;
    return false;
  };
  const int32_t lo = d.src_signed ? -128 : 0, hi = d.src_signed ? 127 : 255;
  const char* container = d.src_signed ? "int8" : "uint8";
  if (d.tokens_hint < 0) return fail(strfmt("tokens_hint = %d is negative", d.tokens_hint));
  if (d.src_min < lo || d.src_max > hi || d.src_min > d.src_max) {
    return fail(strfmt("src range [%d, %d] is not a range of the %s container", d.src_min, d.src_max, container));
  }
  if (d.src_zp < lo || d.src_zp > hi) return fail(strfmt("src_zp = %d is outside the %s range", d.src_zp, container));
  if (d.dst_type == VnmDstType::kInt8 || d.dst_type == VnmDstType::kUint8) {
    const int32_t dlo = d.dst_type == VnmDstType::kInt8 ? -128 : 0;
    const int32_t dhi = d.dst_type == VnmDstType::kInt8 ? 127 : 255;
    if (d.qmin < dlo || d.qmax > dhi || d.qmin > d.qmax) {
      return fail(strfmt("[qmin, qmax] = [%d, %d] is not a range of %s", d.qmin, d.qmax, dst_name(d.dst_type)));
    }
    if (d.dst_zp < dlo || d.dst_zp > dhi) {
      return fail(strfmt("dst_zp = %d is outside the %s range", d.dst_zp, dst_name(d.dst_type)));
    }
    if (w.requant == nullptr) return fail("requant constants are missing");
  } else if (d.dst_type != VnmDstType::kInt32) {
    return fail("unknown dst type");
  }
  const std::string blob_error = vnm_validate(d.shape, w.packed, w.packed_bytes);
  if (!blob_error.empty()) {
    if (error) *error = "vnm_gemm: " + blob_error;
    return false;
  }
  return true;
}

Facts compute_facts(const VnmGemmDesc& d, const VnmLayout& l, const uint8_t* blob, const int32_t* bias) {
  Facts f;
  f.row_sum.assign(l.n_pad, 0);
  const int64_t max_src =
      std::max(std::abs(int64_t{d.src_min} - d.src_zp), std::abs(int64_t{d.src_max} - d.src_zp));
  const uint8_t* values = blob + l.values_offset;
  for (int64_t n = 0; n < l.n_pad; ++n) {
    int64_t sum = 0, sum_abs = 0;
    for (int64_t gp = 0; gp < l.group_pairs; ++gp) {
      for (int slot = 0; slot < 4; ++slot) {
        const int32_t v = vnm_value(values, d.shape.value_bits, (n / 8) * l.group_pairs + gp,
                                    static_cast<int>(4 * (n % 8) + slot));
        sum += v;
        sum_abs += std::abs(v);
        f.max_abs_w = std::max(f.max_abs_w, std::abs(v));
        if (v == -128) f.has_minus_128 = true;
      }
    }
    f.row_sum[n] = sum;
    const int64_t b = (bias && n < d.shape.n) ? std::abs(int64_t{bias[n]}) : 0;
    if (sum_abs * max_src + b > INT32_MAX) f.acc_fits_int32 = false;
  }
  return f;
}

// Why `v` cannot run `d`, or "" when it can. `named`: the caller asked for
// this variant by name, so the DYAD_ISA cap (which is for dispatch) is not
// applied, only the CPU's features.
std::string refusal(const VnmVariant& v, const VnmGemmDesc& d, const Facts& f, bool named) {
  if (!kernel_isa_present(v.isa)) return strfmt("the CPU has no %s", kernel_isa_name(v.isa));
  if (!named && static_cast<int>(v.isa) > static_cast<int>(kernel_isa_cap())) {
    return strfmt("DYAD_ISA=%s caps dispatch below %s", kernel_isa_name(kernel_isa_cap()), kernel_isa_name(v.isa));
  }
  if (v.family == VnmFamily::kRef) return "";
  if (v.value_bits != 0 && v.value_bits != d.shape.value_bits) {
    return strfmt("reads int%d values, the weights are int%d", v.value_bits, d.shape.value_bits);
  }
  if (!f.acc_fits_int32) {
    return "the int32 accumulator could overflow (sum |w| * max|src - zp| + |bias| > 2^31 - 1)";
  }
  const int64_t range = int64_t{d.src_max} - d.src_min;
  switch (v.family) {
    case VnmFamily::kUbs: {
      const int64_t pair_max = 2 * range * f.max_abs_w;
      if (pair_max > 32767) {
        return strfmt("int16 pair sums of (src - src_min) in [0, %" PRId64 "] x |w| <= %d reach %" PRId64 " > 32767",
                   range, f.max_abs_w, pair_max);
      }
      return "";
    }
    case VnmFamily::kSignW:
      if (range > 254) {
        return strfmt("src range [%d, %d] has %" PRId64
                   " values; src - (src_min + 127) fits [-127, 127] only for <= 255",
                   d.src_min, d.src_max, range + 1);
      }
      return "";
    case VnmFamily::kSignA:
      if (f.has_minus_128) return "a weight is -128 (sign(w, x') of -128 does not fit int8)";
      return "";
    case VnmFamily::kDp:    // u8 x s8 products are exact in vpdpbusd; only the int32 bound above applies
    case VnmFamily::kSdot:  // s8 x s8 products are exact in SDOT; the same
    case VnmFamily::kRef:
      break;
  }
  return "";
}

void fill_epilogue(VnmGemmPlan& plan, const VnmGemmWeights& w, const Facts& f) {
  const VnmGemmDesc& d = plan.desc;
  plan.epilogue.assign(plan.layout.octets, VnmEpilogue8{});
  for (int64_t n = 0; n < plan.layout.n_pad; ++n) {
    VnmEpilogue8& e8 = plan.epilogue[n / 8];
    const int lane = static_cast<int>(n % 8);
    // The kernels sum w * (src - src_offset) in wrapping int32 and add this
    // constant, also mod 2^32: the true accumulator fits int32 (refusal()),
    // so the wrapped sum is exactly it.
    const int64_t bias = (w.bias && n < d.shape.n) ? w.bias[n] : 0;
    const int64_t c = bias + (int64_t{plan.src_offset} - d.src_zp) * f.row_sum[n];
    e8.col_const[lane] = static_cast<int32_t>(static_cast<uint32_t>(static_cast<uint64_t>(c)));
    if (d.dst_type == VnmDstType::kInt32) continue;
    set_requant_lane(e8.rq, lane, n < d.shape.n ? w.requant[n] : Dyadic{0, 1}, d.dst_zp);
  }
}

void fill_blocking(VnmGemmPlan& plan) {
  const VnmLayout& l = plan.layout;
  const int32_t v_octets = plan.desc.shape.v / 8;
  // The zmm driver (vnm_gemm_avx512vnni.cc) stores its controls and values
  // once per 128-bit lane.
  const bool zmm = plan.variant->isa == KernelIsa::kAvx512Vnni;
  const int32_t panel_octets = zmm ? kVnmZmmPanelOctets : kVnmPanelOctets;
  plan.panels.clear();
  for (int32_t o = 0; o < l.octets;) {
    // Gathered activations belong to one V-block: panels never cross one.
    const int32_t block_end = plan.gather ? (o / v_octets + 1) * v_octets : static_cast<int32_t>(l.octets);
    const int32_t count = std::min(panel_octets, block_end - o);
    plan.panels.push_back({o, count});
    o += count;
  }
  auto stride = [](size_t bytes) {
    // A multiple of 64 and not of 256, so the token rows a register tile
    // reads do not share L1 sets (rows 4 KiB apart run at half speed).
    size_t s = round_up(bytes, 64);
    return s % 256 == 0 ? s + 64 : s;
  };
  plan.a_stride = stride(size_t(l.k_pad) + 16);  // + 16: the last 16-byte window
  plan.g_stride = plan.gather ? stride(size_t(4 * l.groups) + 16) : 0;
  plan.direct_max_tokens = kVnmDirectMaxTokens;
  // Token block: its windows (and, when gathering, its packed rows) in L2.
  const size_t win_per_token = size_t(l.group_pairs) * 16;
  const size_t per_token = win_per_token + (plan.gather ? plan.a_stride : 0);
  const size_t tile = zmm ? kVnmZmmTileTokens : kVnmTileTokens;
  plan.tile_tokens = static_cast<int32_t>(tile);
  plan.token_block =
      static_cast<int32_t>(std::clamp<size_t>(kActivationBlockBytes / per_token / tile * tile, tile, 504 / tile * tile));
  // K chunks of equal length (a short last chunk costs a whole tile setup).
  const int64_t max_chunk = zmm ? kZmmChunkGroupPairs : kChunkControlBytes / (32 * kVnmPanelOctets);
  const int64_t chunks = (l.group_pairs + max_chunk - 1) / max_chunk;
  plan.chunk_gp = static_cast<int32_t>((l.group_pairs + chunks - 1) / chunks);
  if (zmm) plan.chunk_gp = (plan.chunk_gp + 3) / 4 * 4;  // whole zmm of 4 group pairs
  const size_t tb = plan.token_block;
  plan.scratch_a_bytes = round_up((plan.gather ? tb : tile) * plan.a_stride, 64);
  plan.scratch_g_bytes = round_up(tile * plan.g_stride, 64);
  plan.scratch_win_bytes = zmm ? tb * vnm_zmm_window_stride(l.group_pairs)
                               : round_up(tb / tile * size_t(l.group_pairs) * 16 * tile, 64);
  const size_t chunk_units = size_t(panel_octets) * plan.chunk_gp;
  plan.scratch_ctrl_bytes = zmm ? 2 * size_t(panel_octets) * vnm_zmm_quad_stride(plan.chunk_gp) : chunk_units * 32;
  const bool vals = zmm || plan.desc.shape.value_bits == 4 || plan.variant->family == VnmFamily::kSignW;
  plan.scratch_vals_bytes = vals ? plan.scratch_ctrl_bytes : 0;
  // zmm: one zmm (4 rows x 4 group-pair lanes) per token and row quad.
  plan.scratch_acc_bytes = zmm ? tb * 2 * kVnmZmmPanelOctets * 64 : round_up(tb * kVnmPanelOctets * 8 * sizeof(int32_t), 64);
  plan.scratch_bytes_per_thread = plan.scratch_a_bytes + plan.scratch_g_bytes + plan.scratch_win_bytes +
                                  plan.scratch_ctrl_bytes + plan.scratch_vals_bytes + plan.scratch_acc_bytes;
}

bool build_plan(VnmGemmPlan& plan, const VnmVariant* v, const VnmGemmWeights& w, const Facts& f,
                std::string* error) {
  const VnmGemmDesc& d = plan.desc;
  plan.variant = v;
  try {
    if (v->family == VnmFamily::kRef) {
      plan.bias.assign(d.shape.n, 0);
      if (w.bias) plan.bias.assign(w.bias, w.bias + d.shape.n);
      if (d.dst_type != VnmDstType::kInt32) plan.requant.assign(w.requant, w.requant + d.shape.n);
      return true;
    }
    switch (v->family) {
      case VnmFamily::kUbs: {
        plan.src_offset = d.src_min;
        const int64_t pair_max = 2 * (int64_t{d.src_max} - d.src_min) * f.max_abs_w;
        plan.int16_steps = static_cast<int32_t>(std::clamp<int64_t>(pair_max == 0 ? 64 : 32767 / pair_max, 1, 64));
        break;
      }
      case VnmFamily::kDp: plan.src_offset = d.src_min; break;
      case VnmFamily::kSignW: plan.src_offset = d.src_min + 127; break;
      case VnmFamily::kSignA:
      case VnmFamily::kSdot: plan.src_offset = d.src_min + 128; break;
      case VnmFamily::kRef: break;
    }
    plan.gather = d.shape.m > 8;
    fill_epilogue(plan, w, f);
    fill_blocking(plan);
  } catch (const std::bad_alloc&) {
    if (error) *error = "vnm_gemm: out of memory";
    return false;
  }
  return true;
}

void log_dispatch(const VnmGemmDesc& d, const char* what, const char* variant, const std::string& why) {
  log_line(LogLevel::kDebug,
           strfmt("dyad dispatch: vnm_gemm N=%d K=%d V=%d M=%d w%d T~%d src[%d,%d] zp=%d dst=%s: %s %s%s%s",
                  d.shape.n, d.shape.k, d.shape.v, d.shape.m, d.shape.value_bits, d.tokens_hint,
                  d.src_min, d.src_max, d.src_zp, dst_name(d.dst_type), what, variant,
                  why.empty() ? "" : ": ", why.c_str()));
}

VnmGemmPlanPtr make_plan(const VnmGemmDesc& desc, const VnmGemmWeights& weights, const std::string_view* forced,
                         std::string* error) {
  if (!validate(desc, weights, error)) return nullptr;
  VnmGemmPlanPtr plan(new (std::nothrow) VnmGemmPlan);
  if (!plan) {
    if (error) *error = "vnm_gemm: out of memory";
    return nullptr;
  }
  plan->desc = desc;
  vnm_layout(desc.shape, &plan->layout);
  if (!plan->blob.allocate_weights(weights.packed_bytes)) {
    if (error) *error = "vnm_gemm: out of memory copying the weights";
    return nullptr;
  }
  std::memcpy(plan->blob.data(), weights.packed, weights.packed_bytes);
  Facts facts;
  try {
    facts = compute_facts(desc, plan->layout, plan->blob.data(), weights.bias);
  } catch (const std::bad_alloc&) {
    if (error) *error = "vnm_gemm: out of memory";
    return nullptr;
  }
  const VnmVariant* chosen = select_variant(
      kVariants, forced, "vnm_gemm", [&](const VnmVariant& v) { return refusal(v, desc, facts, forced != nullptr); },
      [&](const char* what, const char* name, const std::string& why) { log_dispatch(desc, what, name, why); },
      error);
  if (chosen == nullptr) return nullptr;
  if (!build_plan(*plan, chosen, weights, facts, error)) return nullptr;
  return plan;
}

}  // namespace

void VnmGemmPlanDeleter::operator()(VnmGemmPlan* plan) const { delete plan; }

VnmGemmPlanPtr vnm_gemm_plan(const VnmGemmDesc& desc, const VnmGemmWeights& weights, std::string* error) {
  return make_plan(desc, weights, nullptr, error);
}

VnmGemmPlanPtr vnm_gemm_plan_variant(const VnmGemmDesc& desc, const VnmGemmWeights& weights,
                                     std::string_view variant_name, std::string* error) {
  return make_plan(desc, weights, &variant_name, error);
}

const char* vnm_gemm_plan_variant_name(const VnmGemmPlan& plan) { return plan.variant->name; }

size_t vnm_gemm_scratch_bytes_per_thread(const VnmGemmPlan& plan) { return plan.scratch_bytes_per_thread; }

namespace {

bool run_with(const VnmGemmPlan& plan, const Int32RowsEpilogue* epilogue, const void* src, size_t tokens,
              size_t src_stride, void* dst, size_t dst_stride, ThreadPool* pool, uint8_t* scratch) {
  if (tokens == 0) return true;
  AlignedBytes owned;
  const size_t threads = pool ? static_cast<size_t>(pool->num_threads()) : 1;
  if (scratch == nullptr && plan.scratch_bytes_per_thread > 0) {
    if (!owned.allocate(threads * plan.scratch_bytes_per_thread)) return false;
    scratch = owned.data();
  }
  plan.variant->run(plan, VnmArgs{src, tokens, src_stride, dst, dst_stride, pool, scratch, epilogue});
  return true;
}

}  // namespace

bool vnm_gemm_run(const VnmGemmPlan& plan, const void* src, size_t tokens, size_t src_stride, void* dst,
                  size_t dst_stride, ThreadPool* pool, uint8_t* scratch) {
  return run_with(plan, nullptr, src, tokens, src_stride, dst, dst_stride, pool, scratch);
}

bool vnm_gemm_takes_rows_epilogue(const VnmGemmPlan& plan, size_t tokens) {
  // The zmm panel driver stores each panel's int32 block where the epilogue
  // reads it (vnm_gemm_avx512vnni.cc store_octets); the other drivers do not.
  return plan.variant->isa == KernelIsa::kAvx512Vnni && plan.desc.dst_type == VnmDstType::kInt32 &&
         tokens > static_cast<size_t>(plan.direct_max_tokens);
}

bool vnm_gemm_run_rows_epilogue(const VnmGemmPlan& plan, const Int32RowsEpilogue& epilogue, const void* src,
                                size_t tokens, size_t src_stride, void* dst, size_t dst_stride, ThreadPool* pool,
                                uint8_t* scratch) {
  if (epilogue.fn == nullptr || !vnm_gemm_takes_rows_epilogue(plan, tokens)) return false;
  return run_with(plan, &epilogue, src, tokens, src_stride, dst, dst_stride, pool, scratch);
}

std::vector<VnmGemmVariantInfo> vnm_gemm_variants() {
  std::vector<VnmGemmVariantInfo> out;
  for (const VnmVariant& v : kVariants) {
    out.push_back({v.name, v.family == VnmFamily::kRef, kernel_isa_present(v.isa), kernel_isa_name(v.isa)});
  }
  return out;
}

}  // namespace dyad::kernels
