// Internals shared by the V:N:M planner (vnm_gemm.cc) and its kernels
// (vnm_gemm_ref.cc, vnm_gemm_avx2.cc, vnm_gemm_avxvnni.cc,
// vnm_gemm_avx512vnni.cc, vnm_gemm_sdot_dotprod.cc): variants, the plan, the
// per-octet epilogue constants and the ISA-neutral activation windows. Not
// part of the public API (vnm_gemm.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "kernels/common/aligned_bytes.h"
#include "kernels/common/cpu.h"
#include "kernels/common/isa_namespace.h"
#include "kernels/common/requant_block8.h"
#include "kernels/vnm_gemm/vnm_gemm.h"

namespace dyad::kernels {

// How a variant multiplies (docs/vnm.md "Exactness" has the proofs). Every
// AVX2 family forms, per output row and group pair, two int16 pair sums with
// vpmaddubsw (u8 x s8) and widens them with vpmaddwd; they differ in which
// operand is unsigned, which decides the ranges they accept. kDp multiplies
// with vpdpbusd (u8 x s8 quad sums straight into int32, no int16 step).
enum class VnmFamily : uint8_t {
  kRef,    // scalar on the packed form, int64 accumulation: the oracle
  kDp,     // u = src - src_min (u8) x w (s8) with vpdpbusd: any source, any int8 or int4 weight
  kUbs,    // u = src - src_min (u8) x w (s8); needs 2 * (src_max - src_min) * max|w| <= 32767
  kSignW,  // |w| (u8) x sign(x', w) (s8), x' = src - (src_min + 127) in [-127, 127];
           // needs src_max - src_min <= 254, any int8 weight
  kSignA,  // |x'| (u8) x sign(w, x') (s8), x' = src - (src_min + 128) in [-128, 127];
           // any 8-bit source, needs every weight in [-127, 127]
  kSdot,   // x' = src - (src_min + 128) (s8) x w (s8) with ARM SDOT: any source, any int8 or int4 weight
};

struct VnmArgs {
  const void* src;
  size_t tokens;
  size_t src_stride;
  void* dst;
  size_t dst_stride;
  ThreadPool* pool;
  uint8_t* scratch;  // num_threads slices of plan.scratch_bytes_per_thread
  const Int32RowsEpilogue* epilogue = nullptr;  // only where vnm_gemm_takes_rows_epilogue
};

using VnmRunFn = void (*)(const VnmGemmPlan& plan, const VnmArgs& args);

struct VnmVariant {
  const char* name;
  KernelIsa isa;       // what the CPU needs (and the DYAD_ISA cap allows)
  VnmFamily family;
  int32_t value_bits;  // packed value width the variant reads; 0 = both (8 and 4)
  VnmRunFn run;
};

void vnm_gemm_ref(const VnmGemmPlan& plan, const VnmArgs& args);
void vnm_gemm_ubs_qc8w_avx2(const VnmGemmPlan& plan, const VnmArgs& args);
void vnm_gemm_ubs_qc4w_avx2(const VnmGemmPlan& plan, const VnmArgs& args);
void vnm_gemm_signw_qc8w_avx2(const VnmGemmPlan& plan, const VnmArgs& args);
void vnm_gemm_signa_qc8w_avx2(const VnmGemmPlan& plan, const VnmArgs& args);
void vnm_gemm_dp_avxvnni(const VnmGemmPlan& plan, const VnmArgs& args);
void vnm_gemm_dp_avx512vnni(const VnmGemmPlan& plan, const VnmArgs& args);
void vnm_gemm_sdot_dotprod(const VnmGemmPlan& plan, const VnmArgs& args);

// Output constants of one octet (8 output channels), in the form the AVX2
// epilogue reads: a = acc + col_const (int32, wrapping: exact, see
// vnm_gemm.cc), then the shared requantization of kernels/common
// (RequantBlock8: dst_zp + rne(a * m / 2^e), the same code as the dense GEMM).
struct alignas(32) VnmEpilogue8 {
  int32_t col_const[8];  // bias + (src_offset - src_zp) * sum of the row's weights, mod 2^32
  RequantBlock8 rq;
};

// A run of consecutive octets computed together (GEMM path): at most
// kVnmPanelOctets, inside one V-block when activations are gathered.
struct VnmPanel {
  int32_t octet0;
  int32_t octets;
};
constexpr int32_t kVnmPanelOctets = 8;
// Runs with at most this many tokens use the direct (GEMV) driver.
constexpr int32_t kVnmDirectMaxTokens = 4;
// GEMM register tile of the ymm drivers: one octet x 12 tokens. The panel
// path stores its activations as windows: per tile of 12 tokens and group
// pair, the 12 tokens' 16-byte windows side by side (a tile reads them from
// one pointer). The zmm driver (vnm_gemm_avx512vnni.cc) uses tiles of
// kVnmZmmTileTokens tokens, 4 per zmm, and panels of kVnmZmmPanelOctets.
constexpr int32_t kVnmTileTokens = 12;
constexpr size_t kVnmWindowRow = 16 * kVnmTileTokens;
constexpr int32_t kVnmZmmTileTokens = 16;
constexpr int32_t kVnmZmmPanelOctets = 4;
// The zmm driver's window rows: 16 bytes per group pair, padded to a
// multiple of 4 group pairs, then to a multiple of 64 bytes that is not one
// of 256 (the 4 token rows a register tile reads then do not share L1 sets).
inline size_t vnm_zmm_window_stride(int64_t group_pairs) {
  const size_t bytes = size_t(group_pairs + 3) / 4 * 64;
  return bytes % 256 == 0 ? bytes + 64 : bytes;
}
// Bytes between the decoded controls (or values) of two row quads of a K
// chunk of chunk_gp group pairs (a multiple of 4): 16 per group pair, plus 64
// when that is a multiple of 512, so the 8 streams a register tile reads do
// not fall into the same few L1 sets.
inline size_t vnm_zmm_quad_stride(int32_t chunk_gp) {
  const size_t bytes = size_t(chunk_gp) * 16;
  return bytes % 512 == 0 ? bytes + 64 : bytes;
}

struct VnmGemmPlan {
  VnmGemmDesc desc;
  VnmLayout layout;
  const VnmVariant* variant = nullptr;
  AlignedBytes blob;  // a copy of the packed weights
  const uint8_t* values() const { return blob.data() + layout.values_offset; }
  const uint8_t* positions() const { return blob.data() + layout.positions_offset; }
  const uint8_t* columns() const { return blob.data() + layout.columns_offset; }

  // Reference variant.
  std::vector<int32_t> bias;     // N (zeros when absent)
  std::vector<Dyadic> requant;   // N (empty for an int32 dst)

  // AVX2 variants.
  int32_t src_offset = 0;  // packed activations are src - src_offset (mod 256)
  // kUbs: group pairs whose int16 pair sums are added in int16 before one
  // widening (chunk * 2 * range * max|w| <= 32767); 1 = widen every step.
  int32_t int16_steps = 1;
  bool gather = false;     // M > 8: activations gathered per V-block (4 per group)
  std::vector<VnmEpilogue8> epilogue;  // one per octet
  std::vector<VnmPanel> panels;
  int32_t direct_max_tokens = 0;  // runs with at most this many tokens decode inline
  int32_t token_block = 0;        // GEMM path: tokens whose activations are packed together
  int32_t tile_tokens = 0;        // GEMM path: tokens of one register tile (its windows side by side)
  int32_t chunk_gp = 0;           // GEMM path: group pairs per K chunk
  size_t a_stride = 0;            // bytes per packed activation row (k_pad + 16, rounded)
  size_t g_stride = 0;            // bytes per gathered activation row (4 * groups + 16, rounded)
  // Per-thread scratch, in this order: packed rows (token_block rows when
  // gathering, else kVnmTileTokens), gathered rows (kVnmTileTokens), windows
  // of the token block, decoded controls and values of one panel chunk, and
  // the int32 sums of the token block x one panel.
  size_t scratch_a_bytes = 0, scratch_g_bytes = 0, scratch_win_bytes = 0, scratch_ctrl_bytes = 0,
         scratch_vals_bytes = 0, scratch_acc_bytes = 0;
  size_t scratch_bytes_per_thread = 0;
};

// Windows of n token rows (row stride `stride`, a window every gp_stride
// bytes) for all group pairs: out[gp][t][16], window_row bytes per gp (16 x
// the tile's tokens; rows past n are left as they are). Every panel driver
// (x86 and ARM) lays out its token tiles this way. In the ISA namespace: files
// built with different flags inline their own copy (isa_namespace.h).
inline namespace DYAD_ISA_NAMESPACE {
inline void vnm_make_windows(const uint8_t* rows, size_t n, size_t stride, size_t gp_stride, int64_t group_pairs,
                             size_t window_row, uint8_t* out) {
  for (int64_t gp = 0; gp < group_pairs; ++gp) {
    uint8_t* o = out + gp * window_row;
    const uint8_t* r = rows + gp * gp_stride;
    for (size_t t = 0; t < n; ++t) std::memcpy(o + 16 * t, r + t * stride, 16);
  }
}
}  // namespace DYAD_ISA_NAMESPACE

}  // namespace dyad::kernels
