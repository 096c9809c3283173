// The V:N:M drivers' work splits (the GEMV direct driver, and the panel
// driver described here), shared by the AVX2-family kernels
// (vnm_gemm_avx2.h) and the ARM SDOT kernel (vnm_gemm_sdot_dotprod.cc), each
// from its own ISA-flagged file (isa_namespace.h keeps the copies apart):
// (token block, panel group) items taken by the threads from a shared
// counter; per item the block's activations packed and, without gathering,
// windowed per token tile; per panel, with gathering, the panel's V-block
// gathered and windowed (once per run of panels of one V-block); then the
// kernel's own chunk loops and epilogue for the panel. Every output is
// summed by one task in a fixed order, so the thread count changes nothing.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>

#include "kernels/common/isa_namespace.h"
#include "kernels/common/thread_pool.h"
#include "kernels/vnm_gemm/vnm_gemm_internal.h"

namespace dyad::kernels {
inline namespace DYAD_ISA_NAMESPACE {

// The GEMV (direct) driver's work split, shared like the panel driver below:
// items of whole V-blocks when gathering (one gather per block), else runs of
// 16 octets, taken from a shared counter; each task packs the (at most
// kVnmDirectMaxTokens) tokens once and, with gathering, gathers each item's
// V-block. octets(o0, o1, act, act_stride, gp_stride) runs the kernel's tiles
// over octets [o0, o1) of those activations and stores their outputs.
template <bool Gather, class Pack, class GatherRows, class Octets>
void vnm_drive_direct(const VnmGemmPlan& plan, const VnmArgs& args, Pack pack, GatherRows gather, Octets octets) {
  const VnmLayout& l = plan.layout;
  const size_t threads = args.pool ? static_cast<size_t>(args.pool->num_threads()) : 1;
  const int64_t item_octets = Gather ? plan.desc.shape.v / 8 : 16;
  const size_t items = static_cast<size_t>((l.octets + item_octets - 1) / item_octets);
  std::atomic<size_t> next{0};
  auto task = [&](size_t thread) {
    uint8_t* a_buf = args.scratch + thread * plan.scratch_bytes_per_thread;
    uint8_t* g_buf = a_buf + plan.scratch_a_bytes;  // at least kVnmDirectMaxTokens rows each
    bool packed = false;
    for (size_t item; !stop_requested(args.pool) && (item = next.fetch_add(1, std::memory_order_relaxed)) < items;) {
      if (!packed) {
        pack(plan, static_cast<const uint8_t*>(args.src), args.tokens, args.src_stride, a_buf);
        packed = true;
      }
      const int64_t o0 = static_cast<int64_t>(item) * item_octets, o1 = std::min(l.octets, o0 + item_octets);
      if constexpr (Gather) {
        gather(plan, a_buf, args.tokens, static_cast<int64_t>(item), g_buf);
        octets(o0, o1, g_buf, plan.g_stride, size_t{8});
      } else {
        octets(o0, o1, a_buf, plan.a_stride, 2 * size_t(plan.desc.shape.m));
      }
    }
  };
  parallel_for(args.pool, std::min(threads, items), task);
}

// How a run splits into (token block, panel group) items, taken by the
// threads from a shared counter (this driver's and the zmm one's,
// vnm_gemm_avx512vnni.cc): about four groups per thread.
struct VnmWorkSplit {
  VnmWorkSplit(const VnmGemmPlan& plan, const VnmArgs& args)
      : tokens(args.tokens),
        tb(plan.token_block),
        threads(args.pool ? static_cast<size_t>(args.pool->num_threads()) : 1),
        token_blocks((tokens + tb - 1) / tb),
        panels(plan.panels.size()),
        group(threads == 1 ? panels : std::max<size_t>(1, panels / (4 * threads))),
        groups((panels + group - 1) / group),
        items(token_blocks * groups) {}
  // Panels [first_panel(g), end_panel(g)) of group g.
  size_t first_panel(size_t g) const { return g * group; }
  size_t end_panel(size_t g) const { return std::min(panels, (g + 1) * group); }
  size_t tokens, tb, threads, token_blocks, panels, group, groups, items;
};

// One task's scratch slice (VnmGemmPlan's scratch_*_bytes, in that order)
// and the bytes of one token tile's windows.
struct VnmPanelScratch {
  uint8_t* a;
  uint8_t* g;
  uint8_t* win;
  uint8_t* ctrl;
  uint8_t* vals;
  int32_t* acc;
  size_t tile_win_bytes;
};

// pack(plan, src, rows, src_stride, out) and gather(plan, act, rows, vblock,
// out) are the kernel's activation packing and V-block gathering;
// panel(panel, t0, rows, scratch) runs the panel's K chunks over the token
// block's windows and stores its outputs.
template <bool Gather, class Pack, class GatherRows, class PanelFn>
void vnm_drive_panels(const VnmGemmPlan& plan, const VnmArgs& args, Pack pack, GatherRows gather, PanelFn panel) {
  constexpr size_t TT = kVnmTileTokens;
  const VnmLayout& l = plan.layout;
  const VnmWorkSplit w(plan, args);
  const size_t tokens = w.tokens, tb = w.tb, groups = w.groups, items = w.items;
  const int64_t v_octets = plan.desc.shape.v / 8;
  const auto* src = static_cast<const uint8_t*>(args.src);
  std::atomic<size_t> next{0};
  auto task = [&](size_t thread) {
    VnmPanelScratch s;
    s.a = args.scratch + thread * plan.scratch_bytes_per_thread;
    s.g = s.a + plan.scratch_a_bytes;
    s.win = s.g + plan.scratch_g_bytes;
    s.ctrl = s.win + plan.scratch_win_bytes;
    s.vals = s.ctrl + plan.scratch_ctrl_bytes;
    s.acc = reinterpret_cast<int32_t*>(s.vals + plan.scratch_vals_bytes);
    s.tile_win_bytes = size_t(l.group_pairs) * kVnmWindowRow;
    size_t packed_block = SIZE_MAX;
    int64_t windowed_vblock = -1;
    for (size_t item; !stop_requested(args.pool) && (item = next.fetch_add(1, std::memory_order_relaxed)) < items;) {
      const size_t b = item / groups, g = item % groups;
      const size_t t0 = b * tb, rows = std::min(tb, tokens - t0);
      if (packed_block != b) {
        if constexpr (Gather) {
          pack(plan, src + t0 * args.src_stride, rows, args.src_stride, s.a);
        } else {
          for (size_t r = 0; r < rows; r += TT) {
            const size_t n = std::min(TT, rows - r);
            pack(plan, src + (t0 + r) * args.src_stride, n, args.src_stride, s.a);
            vnm_make_windows(s.a, n, plan.a_stride, 2 * size_t(plan.desc.shape.m), l.group_pairs, kVnmWindowRow,
                             s.win + r / TT * s.tile_win_bytes);
          }
        }
        packed_block = b;
        windowed_vblock = -1;
      }
      for (size_t p = w.first_panel(g); p < w.end_panel(g); ++p) {
        const VnmPanel& pn = plan.panels[p];
        if constexpr (Gather) {
          const int64_t vblock = pn.octet0 / v_octets;
          if (windowed_vblock != vblock) {
            for (size_t r = 0; r < rows; r += TT) {
              const size_t n = std::min(TT, rows - r);
              gather(plan, s.a + r * plan.a_stride, n, vblock, s.g);
              vnm_make_windows(s.g, n, plan.g_stride, 8, l.group_pairs, kVnmWindowRow,
                               s.win + r / TT * s.tile_win_bytes);
            }
            windowed_vblock = vblock;
          }
        }
        panel(pn, t0, rows, s);
      }
    }
  };
  parallel_for(args.pool, std::min(w.threads, items), task);
}

}  // namespace DYAD_ISA_NAMESPACE
}  // namespace dyad::kernels
