// Internals shared by the GEMM planner (gemm.cc, gemm_pack.cc) and the
// kernels (gemm_ref.cc, gemm_*_avx2.cc, gemm_dp_*.cc): the variant descriptor, the plan and
// its packed layouts. Not part of the public API (gemm.h).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <vector>

#include "kernels/common/aligned_bytes.h"
#include "kernels/common/requant_block8.h"
#include "kernels/gemm/gemm.h"
#include "kernels/gemm/gemm_windows.h"

namespace dyad::kernels {

// The instruction set a variant is compiled for (the file suffix):
// kAvxVnni = AVX2 + VEX vpdpbusd on ymm, kAvx512Vnni = AVX-512 F/BW/VL + VNNI;
// kDotprod = 64-bit ARM with SDOT, kI8mm = that + SMMLA.
enum class GemmIsa : uint8_t { kScalar, kAvx2, kAvxVnni, kAvx512Vnni, kDotprod, kI8mm };

// How a variant multiplies; decides the packed weight layout, the scratch and
// the ranges it accepts (docs/kernels.md has the saturation argument of each).
enum class GemmFamily : uint8_t {
  // Scalar, int64 accumulator, no packing: the oracle. Accepts everything.
  kRef,
  // int16 x int16 -> int32 pair sums (vpmaddwd): a = src - src_zp in int16,
  // weights sign-extended from int8. Cannot saturate (|a| <= 255, |w| <= 128).
  kWd,
  // u8 x s8 -> int16 pair sums (vpmaddubsw): a = src - src_min in [0, 255],
  // weights signed. `chunk_quads` groups of 4 k are summed in int16 before
  // widening to int32; the planner picks the chunk so no int16 sum can leave
  // [-32768, 32767] (narrow operands give long chunks: where INT4 wins).
  kUbs,
  // u8 x s8 -> int32 quad sums (vpdpbusd, the non-saturating form): a = src -
  // src_min in [0, 255], weights signed int8, 4 products added straight into
  // the int32 sums with wrap-around. Exact whenever the true accumulator fits
  // int32 (the planner's one bound, as for kWd): see docs/kernels.md.
  kDp,
  // s8 x s8 -> int32 quad sums (ARM SDOT): a = src - src_offset in
  // [-128, 127] (src_offset 0 for int8 sources, 128 for uint8 ones), weights
  // int8; exact under the same int32 bound as kDp (gemm_sdot_dotprod.cc).
  kSdot,
  // s8 x s8 2x8 x 8x2 -> int32 2x2 blocks (ARM SMMLA, i8mm): kSdot's
  // operands, with row and column pairs interleaved per 8 k
  // (gemm_smmla_i8mm.cc, gemm_pack.cc); the same int32 bound.
  kSmmla,
};

// Rows per M block of the GEMM drive at most (GemmPlan::mc; the direct
// convolution keeps a block's window origins on the stack).
inline constexpr size_t kGemmMaxBlockRows = 512;

struct GemmArgs {
  const void* src;
  size_t M;
  size_t src_stride;
  void* dst;
  size_t dst_stride;
  ThreadPool* pool;
  uint8_t* scratch;  // num_threads slices of slice_bytes (plan.scratch_bytes_per_thread, plus
                     // plan.scratch_rows_bytes with a row source)
  const GemmRowSource* rows = nullptr;  // set: source rows come from rows->fill, not src
  const GemmWindows* windows = nullptr;  // set: source rows are read in place from windows->image
  size_t slice_bytes = 0;
  const Int32RowsEpilogue* rows_epilogue = nullptr;  // only where gemm_takes_rows_epilogue
};

using GemmRunFn = void (*)(const GemmPlan& plan, const GemmArgs& args);

// One line of gemm.inc.
struct GemmVariant {
  const char* name;
  GemmIsa isa;
  GemmFamily family;
  int32_t packed_weight_bits;  // 8: int8 bytes; 4: nibbles (needs desc.weight_bits == 4)
  int32_t min_chunk_quads;     // kUbs: refuse when the safe int16 chunk is shorter
  int32_t mr;                  // rows per register tile
  int32_t nr;                  // columns per register tile = packed panel width
  GemmRunFn run;
};

// Every variant's run function, declared from the list.
#define DYAD_GEMM_VARIANT(name, isa, family, wbits, min_chunk, mr, nr) \
  void name(const GemmPlan& plan, const GemmArgs& args);
#include "kernels/gemm/gemm.inc"
#undef DYAD_GEMM_VARIANT

// RequantBlock8 (kernels/common/requant_block8.h): the requant constants of
// 8 consecutive columns in the form the AVX2 epilogue reads.

struct GemmPlan {
  GemmDesc desc;
  const GemmVariant* variant = nullptr;

  // Packed (non-reference) variants.
  int32_t kp = 0;           // K rounded up to a multiple of 8; packed rows are zero padded
  int32_t n_panels = 0;     // ceil(N / nr)
  int32_t src_offset = 0;   // packed activations are src - src_offset
  int32_t chunk_quads = 0;  // kUbs: 4-k groups summed in int16 (even, >= 2)
  // kUbs nibble panels read directly (few rows): the weights stay offset by
  // +8 ([0, 15]), a row-sum term removes the offset, and the int16 chunk is
  // floor(32767 / (2 * umax * 15)) quads (even, >= 4).
  int32_t chunk_quads_offset = 0;
  int32_t mc = 0;           // activation rows packed per block
  size_t a_stride = 0;      // bytes per packed activation row (padded, see gemm.cc); the
                            // row tile at row r0 starts at r0 * a_stride. kUbs rows
                            // keep sum_k u as an int32 at byte kp; kWd interleaves
                            // the rows of a tile (gemm_wd_avx2.cc)
  bool panel_scratch = false;      // unpack each weight panel before the register tiles
  // kDp with byte panels, src_offset 0 and K a multiple of 8: the packed row
  // would equal the source row, so the tiles read the source rows in place.
  bool rows_in_place = false;
  size_t scratch_a_bytes = 0;      // per thread: mc packed activation rows
  size_t scratch_w_bytes = 0;      // per thread: one unpacked weight panel
  size_t scratch_acc_bytes = 0;    // per thread: int32 sums of mc rows x nr columns
  size_t scratch_bytes_per_thread = 0;
  size_t scratch_rows_bytes = 0;   // with a row source, per thread: mc source rows of K bytes
  AlignedBytes packed_wei;         // n_panels panels, layout by family (gemm_pack.cc)
  size_t panel_bytes = 0;
  std::vector<int32_t> col_const;  // n_panels * nr: bias + (src_offset - src_zp) * sum_k w, mod 2^32
  std::vector<RequantBlock8> requant_blocks;  // n_panels * nr / 8
  // The floor-path constants of requant_blocks include col_const * m
  // (gemm_pack.cc): the zmm VNNI epilogue skips adding col_const where it
  // takes the floor path.
  bool col_in_floor_round = false;

  // Reference variant: the inputs, unchanged.
  std::vector<int8_t> wei;         // N x K
  std::vector<int32_t> bias;       // N (zeros when absent)
  std::vector<Dyadic> requant;     // N (empty for an int32 dst)
};

// Plan-time helpers (gemm_pack.cc).
// Packs plan.packed_wei, col_const and requant_blocks for plan.variant.
bool gemm_pack(GemmPlan& plan, const GemmWeights& weights, std::string* error);

}  // namespace dyad::kernels
