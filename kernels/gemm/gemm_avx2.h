// Shared by the x86 vector GEMM kernels (include only from *_avx2.cc,
// *_avxvnni.cc and *_avx512vnni.cc files; isa_namespace.h keeps each ISA's
// copies apart): the work split over threads, the activation packing of the
// u8 x s8 families, the requant epilogue (8 columns at a time on ymm), and
// tile stores.
#pragma once

#include <immintrin.h>

#include <algorithm>
#include <atomic>
#include <cstring>

#include "kernels/common/isa_namespace.h"
#include "kernels/common/requant_avx2.h"
#include "kernels/common/store_lanes_avx2.h"
#include "kernels/common/thread_pool.h"
#include "kernels/gemm/gemm_internal.h"

namespace dyad::kernels::gemm_avx2 {
inline namespace DYAD_ISA_NAMESPACE {

inline __m256i load32_broadcast(const void* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return _mm256_set1_epi32(v);
}

// One register-tile row step of the kUbs 4 x 24 tile: b = broadcast(4 bytes
// at a), then
//   s0 += MUL(b, w0), s1 += MUL(b, w1), s2 += MUL(b, [w2])
// with MUL/ADD = vpmaddubsw/vpaddw. Written as
// asm because GCC's scheduling of the intrinsic form hoists every multiply
// of a step ahead of the adds and spills the 12 accumulators of a 4 x 24
// tile; here each product is consumed at once, so 12 sums + 2 weight
// vectors + b + one product register fit the 16 ymm registers (the third
// weight vector is a memory operand).
#define DYAD_GEMM_ROW3_ASM(MUL, ADD)                                              \
  "vpbroadcastd %[a], %[b]\n\t"                                                   \
  MUL " %[w0], %[b], %[t]\n\t" ADD " %[t], %[s0], %[s0]\n\t"                        \
  MUL " %[w1], %[b], %[t]\n\t" ADD " %[t], %[s1], %[s1]\n\t"                        \
  MUL " %[w2], %[b], %[t]\n\t" ADD " %[t], %[s2], %[s2]\n\t"
#define DYAD_GEMM_ROW3_OPERANDS                                                    \
  : [s0] "+x"(s0), [s1] "+x"(s1), [s2] "+x"(s2), [b] "=&x"(b), [t] "=&x"(t)       \
  : [a] "m"(*static_cast<const int32_t*>(a)), [w0] "x"(w0), [w1] "x"(w1),        \
    [w2] "m"(*static_cast<const __m256i*>(w2))

// u8 x s8 pair sums into int16 (vpmaddubsw: b unsigned, w signed).
inline void row3_ubs(__m256i& s0, __m256i& s1, __m256i& s2, const void* a, __m256i w0,
                     __m256i w1, const void* w2) {
  __m256i b, t;
  asm(DYAD_GEMM_ROW3_ASM("vpmaddubsw", "vpaddw") DYAD_GEMM_ROW3_OPERANDS);
}

#undef DYAD_GEMM_ROW3_ASM
#undef DYAD_GEMM_ROW3_OPERANDS

// The 4 x 24 register tile: MR rows of three 8-column vectors, as named
// variables (GCC keeps them in registers; an array of vectors it spills).
struct Tile4x24 {
  __m256i s00, s01, s02, s10, s11, s12, s20, s21, s22, s30, s31, s32;

  void zero() {
    s00 = s01 = s02 = s10 = s11 = s12 = s20 = s21 = s22 = s30 = s31 = s32 = _mm256_setzero_si256();
  }

  // Rows < MR from / to an int32 tile with row stride 24.
  template <int MR>
  void load(const int32_t* acc) {
    __m256i v[12];
    for (int i = 0; i < 12; ++i) {
      v[i] = i < 3 * MR ? _mm256_load_si256(reinterpret_cast<const __m256i*>(acc + 8 * i))
                        : _mm256_setzero_si256();
    }
    *this = {v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11]};
  }
  template <int MR>
  void store(int32_t* acc) const {
    const __m256i v[12] = {s00, s01, s02, s10, s11, s12, s20, s21, s22, s30, s31, s32};
    for (int i = 0; i < 3 * MR; ++i) _mm256_store_si256(reinterpret_cast<__m256i*>(acc + 8 * i), v[i]);
  }
  // acc (+)= vpmaddwd(s, ones) for rows < MR: widens int16 chunk sums.
  template <int MR>
  void widen_into(int32_t* acc, bool add) const {
    const __m256i ones = _mm256_set1_epi16(1);
    const __m256i v[12] = {s00, s01, s02, s10, s11, s12, s20, s21, s22, s30, s31, s32};
    for (int i = 0; i < 3 * MR; ++i) {
      __m256i* c = reinterpret_cast<__m256i*>(acc + 8 * i);
      const __m256i wide = _mm256_madd_epi16(v[i], ones);
      _mm256_store_si256(c, add ? _mm256_add_epi32(_mm256_load_si256(c), wide) : wide);
    }
  }
};

// Steps i in [i0, i1) of a 4 x 24 tile: row r reads 4 bytes at
// a + r * a_stride + i * 4, the weights of step i are the 96 bytes at
// w + i * 96. Row = row3_ubs.
template <int MR, auto Row>
__attribute__((always_inline)) inline void tile_steps(Tile4x24& t, const uint8_t* a, size_t a_stride,
                                                      const uint8_t* w, size_t i0, size_t i1) {
  __m256i s00 = t.s00, s01 = t.s01, s02 = t.s02, s10 = t.s10, s11 = t.s11, s12 = t.s12;
  __m256i s20 = t.s20, s21 = t.s21, s22 = t.s22, s30 = t.s30, s31 = t.s31, s32 = t.s32;
  const uint8_t* a0 = a;
  const uint8_t* a1 = a + a_stride;
  const uint8_t* a2 = a + 2 * a_stride;
  const uint8_t* a3 = a + 3 * a_stride;
  for (size_t i = i0; i < i1; ++i) {
    const uint8_t* wi = w + i * 96;
    const __m256i w0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wi));
    const __m256i w1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wi + 32));
    Row(s00, s01, s02, a0 + 4 * i, w0, w1, wi + 64);
    if constexpr (MR > 1) Row(s10, s11, s12, a1 + 4 * i, w0, w1, wi + 64);
    if constexpr (MR > 2) Row(s20, s21, s22, a2 + 4 * i, w0, w1, wi + 64);
    if constexpr (MR > 3) Row(s30, s31, s32, a3 + 4 * i, w0, w1, wi + 64);
  }
  t = {s00, s01, s02, s10, s11, s12, s20, s21, s22, s30, s31, s32};
}

// Activation rows as bytes u = src - src_offset (in [0, 255] for
// src_offset = src_min), row r at out + r * a_stride, zero padded to kp, with
// sum_k u as an int32 at byte kp (used by the offset-nibble path): the
// operand layout of the u8 x s8 families (kUbs, kDp).
inline void pack_rows_u8(const GemmPlan& plan, const uint8_t* src, size_t rows,
                         size_t src_stride, uint8_t* out) {
  const size_t K = plan.desc.K, kp = plan.kp;
  const uint8_t offset = static_cast<uint8_t>(plan.src_offset);
  const __m256i off = _mm256_set1_epi8(static_cast<char>(offset));
  for (size_t r = 0; r < rows; ++r) {
    const uint8_t* s = src + r * src_stride;
    uint8_t* a = out + r * plan.a_stride;
    size_t k = 0;
    __m256i sums = _mm256_setzero_si256();  // 4 x 64-bit partial sums of u
    for (; k + 32 <= K; k += 32) {
      const __m256i u = _mm256_sub_epi8(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(s + k)), off);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(a + k), u);
      sums = _mm256_add_epi64(sums, _mm256_sad_epu8(u, _mm256_setzero_si256()));
    }
    alignas(32) int64_t part[4];
    _mm256_store_si256(reinterpret_cast<__m256i*>(part), sums);
    int64_t row_sum = part[0] + part[1] + part[2] + part[3];
    for (; k < K; ++k) {
      a[k] = static_cast<uint8_t>(s[k] - offset);
      row_sum += a[k];
    }
    for (; k < kp; ++k) a[k] = 0;
    // Kept mod 2^32 (the int32 sums wrap; the planner proved the true
    // accumulator fits); read by the offset-nibble path.
    const uint32_t row_sum32 = static_cast<uint32_t>(row_sum);
    std::memcpy(a + kp, &row_sum32, sizeof(row_sum32));
  }
}

// round_shift and requant8: kernels/common/requant_avx2.h.

// Writes an mr x (8 * NV) int32 accumulator tile (row stride 8 * NV) to dst
// rows m0.., columns n0.. (n0 a multiple of 8), adding the column constants
// and requantizing; columns past N are dropped.
template <int NV>
void store_tile(const GemmPlan& plan, const int32_t* acc, int mr, size_t m0, size_t n0,
                const GemmArgs& args) {
  constexpr int NR = NV * 8;
  const GemmDesc& d = plan.desc;
  const size_t ncols = std::min<size_t>(NR, d.N - n0);
  const int32_t* col = plan.col_const.data() + n0;
  const bool to_int32 = d.dst_type == GemmDstType::kInt32;
  const bool is_signed = d.dst_type == GemmDstType::kInt8;
  const __m256i qmin = _mm256_set1_epi32(d.qmin), qmax = _mm256_set1_epi32(d.qmax);
  for (size_t j = 0; 8 * j < ncols; ++j) {
    const size_t n = 8 * j, count = std::min<size_t>(8, ncols - n);
    const __m256i c = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(col + n));
    for (int r = 0; r < mr; ++r) {
      const __m256i a = _mm256_add_epi32(
          _mm256_load_si256(reinterpret_cast<const __m256i*>(acc + r * NR + n)), c);
      const size_t row = (m0 + r) * args.dst_stride + n0 + n;
      if (to_int32) {
        store_s32_lanes(static_cast<int32_t*>(args.dst) + row, a, count);
        continue;
      }
      const __m256i y = _mm256_min_epi32(_mm256_max_epi32(requant8(a, plan.requant_blocks[(n0 + n) / 8]), qmin), qmax);
      store_x8_lanes(static_cast<uint8_t*>(args.dst) + row, y, is_signed, count);
    }
  }
}

// Kernel::tile<R> for the run-time row count R in [1, MR]: the last row
// tile of a block may be short.
template <class Kernel, int R = Kernel::kMR, class... Args>
__attribute__((always_inline)) inline void tile_rows(size_t rows, const Args&... args) {
  if constexpr (R == 1) {
    Kernel::template tile<1>(args...);
  } else if (rows == R) {
    Kernel::template tile<R>(args...);
  } else {
    tile_rows<Kernel, R - 1>(rows, args...);
  }
}

// The work split, shared by every AVX2 variant. `Kernel` provides:
//   kMR, kNV        register tile: kMR rows x 8*kNV columns
//   kStepK          k values per kernel step (2: int16 pairs, 4: byte quads)
//   kBlockSteps     about this many steps per K block when row tiles share a panel
//   step_unit(plan) K blocks start at multiples of this many steps
//   pack_a(plan, src, rows, src_stride, out)   the row tile starting at row
//                             r0 at out + r0 * plan.a_stride (its layout is
//                             the kernel's)
//   panel(plan, p, scratch)   weights of panel p for tile(); scratch ==
//                             nullptr means "direct": read the packed form
//   tile<MR>(plan, a, w, direct, s0, s1, acc, accumulate)   steps [s0, s1)
//                             of one tile into (or onto) acc, row stride nr
//   store_rows(plan, acc, mr, m0, n0, args)   optional: the epilogue of a
//                             tile (default: store_tile<kNV>, 8 columns at a time)
// Each of the num_threads tasks owns one scratch slice (packed activation
// rows, one unpacked panel, int32 sums) and takes work items (m block, panel
// group) from a shared counter. Every output is summed over the whole K by
// one task, in a fixed order, so the result does not depend on the thread
// count. K blocks keep a panel's slice of weights in L1 while all row tiles
// of the block pass over it.
template <class Kernel>
void drive(const GemmPlan& plan, const GemmArgs& args) {
  constexpr int MR = Kernel::kMR, NR = Kernel::kNV * 8;
  const size_t M = args.M;
  const size_t threads = args.pool ? static_cast<size_t>(args.pool->num_threads()) : 1;
  // Few rows (GEMV): stream the packed weights once, no panel unpacking.
  const bool few_rows = M <= static_cast<size_t>(MR);
  const bool direct = few_rows || !plan.panel_scratch;
  const size_t steps = plan.kp / Kernel::kStepK;
  // Near-equal K blocks of about kBlockSteps steps, when several row tiles
  // share a panel; block edges fall on multiples of the kernel's step unit
  // (its int16 chunk, even: nibble panels hold quads in pairs).
  const size_t unit = Kernel::step_unit(plan);
  const size_t max_block = std::max(unit, Kernel::kBlockSteps / unit * unit);
  const size_t k_blocks = few_rows ? 1 : (steps + max_block - 1) / max_block;
  const size_t k_block = ((steps + k_blocks - 1) / k_blocks + unit - 1) / unit * unit;
  const size_t panels = plan.n_panels;
  const size_t group = threads == 1 ? panels : std::max<size_t>(1, panels / (4 * threads));
  const size_t groups = (panels + group - 1) / group;
  // With several threads and too few panel groups for about 4 items per
  // thread, shorter M blocks make up the difference (whole row tiles): a
  // 14x14 conv with 64 outputs is otherwise one block of one panel, all of it
  // on one thread.
  size_t mc = plan.mc;
  if (threads > 1 && groups < 4 * threads) {
    const size_t want_blocks = (4 * threads + groups - 1) / groups;
    const size_t rows = ((M + want_blocks - 1) / want_blocks + MR - 1) / MR * MR;
    mc = std::clamp<size_t>(rows, MR, mc);
  }
  const size_t m_blocks = (M + mc - 1) / mc;
  const size_t items = m_blocks * groups;
  bool in_place = false;  // tiles read the source rows where they are (gemm_dp.h)
  if constexpr (requires { &Kernel::reads_rows_in_place; }) in_place = Kernel::reads_rows_in_place(plan);
  std::atomic<size_t> next{0};
  auto task = [&](size_t t) {
    uint8_t* slot = args.scratch + t * args.slice_bytes;
    uint8_t* a_buf = slot;
    uint8_t* w_buf = direct ? nullptr : slot + plan.scratch_a_bytes;
    auto* acc = reinterpret_cast<int32_t*>(slot + plan.scratch_a_bytes + plan.scratch_w_bytes);
    uint8_t* rows_buf = slot + plan.scratch_bytes_per_thread;  // with a row source
    size_t packed_block = SIZE_MAX;
    const uint8_t* a_rows = a_buf;  // the current block's rows as the tiles read them
    size_t a_stride = plan.a_stride;
    for (size_t item; (item = next.fetch_add(1, std::memory_order_relaxed)) < items;) {
      const size_t mb = item / groups, g = item % groups;
      const size_t m0 = mb * mc, rows = std::min(mc, M - m0);
      if (packed_block != mb) {
        // With a row source args.src is null: gather the block instead.
        const uint8_t* src_rows = rows_buf;
        if (args.rows != nullptr)
          args.rows->fill(args.rows->ctx, m0, rows, rows_buf, args.src_stride);
        else
          src_rows = static_cast<const uint8_t*>(args.src) + m0 * args.src_stride;
        if (in_place) {
          a_rows = src_rows;
          a_stride = args.src_stride;
        } else {
          Kernel::pack_a(plan, src_rows, rows, args.src_stride, a_buf);
        }
        packed_block = mb;
      }
      for (size_t p = g * group; p < std::min(panels, (g + 1) * group); ++p) {
        const void* w = Kernel::panel(plan, p, w_buf);
        for (size_t s0 = 0; s0 < steps; s0 += k_block) {
          const size_t s1 = std::min(steps, s0 + k_block);
          for (size_t r0 = 0; r0 < rows; r0 += MR) {
            const uint8_t* a = a_rows + r0 * a_stride;
            int32_t* c = acc + r0 * NR;
            const size_t n = std::min<size_t>(MR, rows - r0);
            if constexpr (requires { &Kernel::reads_rows_in_place; }) {
              if (in_place) {
                tile_rows<Kernel>(n, plan, a, a_stride, w, s0, s1, c, s0 > 0);
                continue;
              }
            }
            tile_rows<Kernel>(n, plan, a, w, direct, s0, s1, c, s0 > 0);
          }
        }
        for (size_t r0 = 0; r0 < rows; r0 += MR) {
          const int mr = static_cast<int>(std::min<size_t>(MR, rows - r0));
          if constexpr (requires { &Kernel::store_rows; }) {
            Kernel::store_rows(plan, acc + r0 * NR, mr, m0 + r0, p * NR, args);
          } else {
            store_tile<Kernel::kNV>(plan, acc + r0 * NR, mr, m0 + r0, p * NR, args);
          }
        }
      }
    }
  };
  parallel_for(args.pool, threads, task);
}

}  // namespace DYAD_ISA_NAMESPACE
}  // namespace dyad::kernels::gemm_avx2
