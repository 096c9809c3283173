// The GEMM work split, portable (every architecture's vector variants use it,
// each from its own ISA-flagged file; isa_namespace.h keeps the copies apart):
// M blocks x panel groups over the threads, K blocks, register tiles of any
// row count.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "kernels/common/isa_namespace.h"
#include "kernels/common/thread_pool.h"
#include "kernels/gemm/gemm_internal.h"

namespace dyad::kernels::gemm_drive {
inline namespace DYAD_ISA_NAMESPACE {

// f(std::integral_constant<int, R>) for the run-time row count R in [1, MR]:
// the last row tile of a block may be short.
template <int MR, class F>
__attribute__((always_inline)) inline void with_row_count(size_t rows, F f) {
  if constexpr (MR == 1) {
    f(std::integral_constant<int, 1>{});
  } else if (rows == MR) {
    f(std::integral_constant<int, MR>{});
  } else {
    with_row_count<MR - 1>(rows, f);
  }
}

// The epilogue constants of the panel at column n0: the kernel's own, built
// once per panel and handed to every tile's epilogue (the zmm VNNI kernel's
// requant constants cost as much to gather as a short tile's epilogue), or
// just n0.
template <class Kernel>
auto panel_epilogue(const GemmPlan& plan, size_t n0) {
  if constexpr (requires { Kernel::epilogue(plan, n0); }) {
    return Kernel::epilogue(plan, n0);
  } else {
    return n0;
  }
}

// The work split, shared by every vector variant. `Kernel` provides:
//   kMR, kNV        register tile: kMR rows x 8*kNV columns
//   kStepK          k values per kernel step (2: int16 pairs, 4: byte quads, 8: SMMLA blocks)
//   kBlockSteps     about this many steps per K block when row tiles share a panel
//   step_unit(plan) K blocks start at multiples of this many steps
//   pack_a(plan, src, rows, src_stride, out)   the row tile starting at row
//                             r0 at out + r0 * plan.a_stride (its layout is
//                             the kernel's)
//   panel(plan, p, scratch)   weights of panel p for tile(); scratch ==
//                             nullptr means "direct": read the packed form
//   tile<MR>(plan, a, w, direct, s0, s1, acc, accumulate)   steps [s0, s1)
//                             of one tile into (or onto) acc, row stride nr
//   store_rows(plan, acc, mr, m0, n0, args)   the epilogue of a tile: adds
//                             the column constants, requantizes, stores
//   epilogue(plan, n0)        optional: the panel's epilogue constants; the
//                             epilogue is then store_rows(plan, epilogue, acc,
//                             mr, m0, args)
//   reads_rows_in_place(plan) optional: true when packing would copy the
//                             source rows unchanged; the tiles then take them
//                             in place, tile<MR>(plan, a, a_stride, w, s0, s1,
//                             acc, accumulate)
//   takes_windows(plan)       optional: the tiles can read GemmWindows in
//                             place: tile_windows<R>(windows, tile, origins, w,
//                             s0, s1, acc, accumulate) for the WindowTile whose
//                             pixels' window origins are origins[0..R), steps
//                             [s0, s1) (the kernel narrows them to the tile's
//                             live ones), and tile_store_windows<R>(windows,
//                             tile, origins, w, steps, m, epilogue, args) when
//                             the epilogue is fused
//   fuses_epilogue(plan, direct, steps) optional: true when a tile over the
//                             whole K goes straight into its epilogue,
//                             tile_store<MR>(plan, a, a_stride, w, steps, m0,
//                             epilogue, args), its sums never stored
// Each of the num_threads tasks owns one scratch slice (packed activation
// rows, one unpacked panel, int32 sums) and takes work items (m block, panel
// group) from a shared counter. Every output is summed over the whole K by
// one task, in a fixed order, so the result does not depend on the thread
// count. K blocks keep a panel's slice of weights in L1 while all row tiles
// of the block pass over it.
//
// Direct convolutions (args.windows) run their own instantiation
// (kWindows): their tiles come from GemmWindows::block_tiles. Kept apart,
// the other GEMMs' code stays as it was: one drive for both made GCC compile
// some epilogues of plain GEMMs worse (MobileNetV2's 1x1 convs up to 50 %
// slower, which ones depending on the inlining).
template <class Kernel, bool kWindows>
void drive_tiles(const GemmPlan& plan, const GemmArgs& args) {
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
  // Weights of at most 256 KiB stay in cache between runs and are cheap for
  // every thread to read in full.
  const bool small_weights = plan.panel_bytes * panels <= (size_t{256} << 10);
  // Panels whose output columns are narrower than a cache line (the 16- and
  // 32-column tiles with int8 outputs: MobileNetV2's expansions to 96 and
  // 144 channels) would put two threads' stores into the same lines, so
  // such GEMMs, when their weights are small, are split by rows only.
  const size_t panel_out_bytes = size_t{NR} * (plan.desc.dst_type == GemmDstType::kInt32 ? 4 : 1);
  const bool rows_only = panel_out_bytes < 64 && small_weights;
  const size_t group = threads == 1 || rows_only ? panels : std::max<size_t>(1, panels / (4 * threads));
  const size_t groups = (panels + group - 1) / group;
  // Direct convolution: the rows are read in place from an image
  // (GemmWindows).
  const GemmWindows* windows = kWindows ? args.windows : nullptr;
  // With several threads and too few panel groups for about 4 items per
  // thread, shorter M blocks make up the difference (whole row tiles): a
  // 14x14 conv with 64 outputs is otherwise one block of one panel, all of it
  // on one thread.
  size_t mc = plan.mc;
  if (threads > 1 && groups < 4 * threads) {
    size_t want_blocks = (4 * threads + groups - 1) / groups;
    // Items a multiple of the thread count, so that no thread takes one
    // more than the others (9 items of 3 panels took 5 against 4).
    while (want_blocks * groups % threads != 0) ++want_blocks;
    const size_t rows = ((M + want_blocks - 1) / want_blocks + MR - 1) / MR * MR;
    mc = std::clamp<size_t>(rows, MR, mc);
  }
  const size_t m_blocks = (M + mc - 1) / mc;
  const size_t items = m_blocks * groups;
  bool in_place = false;  // tiles read the source rows where they are (gemm_dp.h)
  if constexpr (requires { &Kernel::reads_rows_in_place; }) in_place = Kernel::reads_rows_in_place(plan);
  bool fused = false;  // one K block: each tile goes straight into its epilogue
  if constexpr (requires { &Kernel::fuses_epilogue; })
    fused = k_blocks == 1 && Kernel::fuses_epilogue(plan, direct, steps) && args.rows_epilogue == nullptr &&
            !(kWindows && windows->column_lo != nullptr);  // column tiles store row by row
  // Weight prefetch (below): a slice of the next panel before each tile,
  // sized once per call for a full M block; none for few rows (the direct
  // path streams with its own prefetch) or small weights.
  const size_t tile_calls = ((steps + k_block - 1) / k_block) * ((std::min(mc, M) + MR - 1) / MR);
  const size_t prefetch_per_call =
      few_rows || small_weights
          ? 0
          : std::min<size_t>(2048, (plan.panel_bytes / std::max<size_t>(1, tile_calls) + 63) / 64 * 64);
  std::atomic<size_t> next{0};
  auto task = [&](size_t t) {
    uint8_t* slot = args.scratch + t * args.slice_bytes;
    uint8_t* a_buf = slot;
    uint8_t* w_buf = direct ? nullptr : slot + plan.scratch_a_bytes;
    auto* acc = reinterpret_cast<int32_t*>(slot + plan.scratch_a_bytes + plan.scratch_w_bytes);
    uint8_t* rows_buf = slot + plan.scratch_bytes_per_thread;  // with a row source
    size_t packed_block = SIZE_MAX;
    const uint8_t* a_rows = a_buf;  // the current block's rows as the tiles read them
    // Direct convolution: the block's window origins and register tiles
    // (GemmWindows::block_tiles).
    constexpr size_t kOriginRows = kWindows ? kGemmMaxBlockRows : 1;
    const uint8_t* origins[kOriginRows];
    WindowTile window_tiles[kOriginRows];
    size_t a_stride = plan.a_stride;
    for (size_t item; !stop_requested(args.pool) && (item = next.fetch_add(1, std::memory_order_relaxed)) < items;) {
      const size_t mb = item / groups, g = item % groups;
      const size_t m0 = mb * mc, rows = std::min(mc, M - m0);
      if (kWindows && packed_block != mb) {
        windows->block_tiles(m0, rows, MR, origins, window_tiles);
        packed_block = mb;
      }
      if (!kWindows && packed_block != mb) {
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
      const size_t p_end = std::min(panels, (g + 1) * group);
      for (size_t p = g * group; p < p_end; ++p) {
        const void* w = Kernel::panel(plan, p, w_buf);
        // The next panel's packed weights are prefetched into L2 while this
        // one runs, a slice before each tile: in a whole model the weights
        // come from memory (BERT-base has 85 MB of them), and the hardware
        // prefetchers, which stop at page boundaries, left the first row
        // tile of each K block waiting on them. Past the group's last panel,
        // the first of the group this task likely takes next (the tasks
        // take items in turn).
        const size_t next_p = p + 1 < p_end ? p + 1 : (g + threads) * group;
        const uint8_t* next_panel =
            prefetch_per_call != 0 && next_p < panels ? plan.packed_wei.data() + next_p * plan.panel_bytes : nullptr;
        size_t prefetched = 0;
        auto prefetch_slice = [&] {
          if (next_panel == nullptr) return;
          const size_t end = std::min(plan.panel_bytes, prefetched + prefetch_per_call);
          for (; prefetched < end; prefetched += 64) __builtin_prefetch(next_panel + prefetched, 0, 2);
        };
        // A tile: rows [r0, r0 + n) of the block; with windows, also the
        // WindowTile of them.
        auto run_tile = [&](size_t r0, size_t n, const WindowTile* wt, size_t s0, size_t s1)
                            __attribute__((always_inline)) {
          prefetch_slice();
          const uint8_t* a = a_rows + r0 * a_stride;
          int32_t* c = acc + r0 * NR;
          with_row_count<MR>(n, [&](auto r) {
            constexpr int R = decltype(r)::value;
            if constexpr (kWindows)
              return Kernel::template tile_windows<R>(*windows, *wt, origins + r0, w, s0, s1, c, s0 > 0);
            if constexpr (requires { &Kernel::reads_rows_in_place; }) {
              if (in_place) return Kernel::template tile<R>(plan, a, a_stride, w, s0, s1, c, s0 > 0);
            }
            Kernel::template tile<R>(plan, a, w, direct, s0, s1, c, s0 > 0);
          });
        };
        const auto epilogue = panel_epilogue<Kernel>(plan, p * NR);
        auto store_rows = [&](size_t r0, size_t n, size_t m) __attribute__((always_inline)) {
          if constexpr (std::is_same_v<decltype(epilogue), const size_t>) {
            Kernel::store_rows(plan, acc + r0 * NR, static_cast<int>(n), m, epilogue, args);
          } else {
            Kernel::store_rows(plan, epilogue, acc + r0 * NR, static_cast<int>(n), m, args);
          }
        };
        if constexpr (requires { &Kernel::template tile_store<MR, decltype(epilogue)>; }) {
          if (fused) {
            for (size_t r0 = 0, i = 0; r0 < rows; ++i) {
              const size_t n = std::min<size_t>(MR, kWindows ? window_tiles[i].rows : rows - r0);
              prefetch_slice();
              with_row_count<MR>(n, [&](auto r) {
                constexpr int R = decltype(r)::value;
                if constexpr (kWindows) {
                  const WindowTile& wt = window_tiles[i];
                  Kernel::template tile_store_windows<R>(*windows, wt, origins + r0, w, steps, wt.dst_row, epilogue,
                                                         args);
                } else {
                  Kernel::template tile_store<R>(plan, a_rows + r0 * a_stride, a_stride, w, steps, m0 + r0, epilogue,
                                                 args);
                }
              });
              r0 += n;
            }
            continue;
          }
        }
        // Each tile's epilogue right after its last K block's products, while
        // its sums are in L1 (a whole M block's sums, mc x NR int32, are not).
        for (size_t s0 = 0; s0 < steps; s0 += k_block) {
          const size_t s1 = std::min(steps, s0 + k_block);
          if constexpr (kWindows) {
            // The tiles of block_tiles, their rows bounded by MR (which it
            // keeps: GCC then unrolls the epilogue's row loop with the
            // constants in registers, else it reloaded them for every row).
            // A column tile's rows are one pixel column, out_w output rows
            // apart: stored row by row (a copy of args with a wider row
            // stride made GCC reload the epilogue's constants after every
            // byte store, in every tile).
            for (size_t r0 = 0, n, i = 0; r0 < rows; r0 += n, ++i) {
              const WindowTile& wt = window_tiles[i];
              n = std::min<size_t>(MR, wt.rows);
              run_tile(r0, n, &wt, s0, s1);
              if (s1 != steps) continue;
              if (wt.dst_column == WindowTile::kRowTile) {
                store_rows(r0, n, wt.dst_row);
              } else {
                for (size_t j = 0; j < n; ++j) store_rows(r0 + j, 1, (wt.dst_row + j) * windows->out_w + wt.dst_column);
              }
            }
          } else {
            for (size_t r0 = 0, n; r0 < rows; r0 += n) {
              n = std::min<size_t>(MR, rows - r0);
              run_tile(r0, n, nullptr, s0, s1);
              if (s1 == steps) store_rows(r0, n, m0 + r0);
            }
          }
        }
      }
    }
  };
  parallel_for(args.pool, threads, task);
}

template <class Kernel>
void drive(const GemmPlan& plan, const GemmArgs& args) {
  if constexpr (requires { &Kernel::takes_windows; }) {
    if (args.windows != nullptr) return drive_tiles<Kernel, true>(plan, args);
  }
  drive_tiles<Kernel, false>(plan, args);
}

}  // namespace DYAD_ISA_NAMESPACE
}  // namespace dyad::kernels::gemm_drive
