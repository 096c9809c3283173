// The row loop shared by the vector depthwise kernels (include only from
// depthwise_*.cc): output rows split over the threads in fixed bands, each
// band keeping a K-slot cache of pair rows keyed by input row (stride 1
// builds each input row once). The ISA files supply the two row functions.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <memory>

#include "kernels/common/isa_namespace.h"
#include "kernels/common/thread_pool.h"
#include "kernels/conv2d/depthwise.h"

namespace dyad::kernels {
inline namespace DYAD_ISA_NAMESPACE {

// build(plan, x_row, out): the pair row of one input row (NHWC row of in_c
// channels) into `out`; output_row(plan, rows, y_row): one output row from
// the pair rows of its K input rows (rows[kh], null: padding row).
using DepthwiseBuildRow = void (*)(const DepthwisePlan&, const uint8_t*, uint8_t*);
using DepthwiseOutputRow = void (*)(const DepthwisePlan&, const uint8_t* const*, uint8_t*);

constexpr int kDepthwiseMaxKernel = 5;

inline void depthwise_drive(const DepthwisePlan& plan, const void* src, void* dst, ThreadPool* pool,
                            uint8_t* scratch, DepthwiseBuildRow build, DepthwiseOutputRow output_row) {
  const Conv2dParams& p = plan.params;
  const int64_t threads = pool ? pool->num_threads() : 1;
  std::unique_ptr<uint8_t, void (*)(void*)> owned(nullptr, std::free);
  if (scratch == nullptr) {
    owned.reset(static_cast<uint8_t*>(std::aligned_alloc(64, plan.scratch_bytes_per_thread * threads)));
    scratch = owned.get();
  }
  const int64_t rows = p.batch * p.out_h;
  const auto* x = static_cast<const uint8_t*>(src);
  auto* y = static_cast<uint8_t*>(dst);
  const size_t row_bytes = static_cast<size_t>(plan.blocks * plan.entries * 4 * plan.width);
  const size_t out_px = p.out.type == IntType::kS32 ? 4 : 1;
  parallel_for(pool, static_cast<size_t>(threads), [&](size_t t) {
    const int64_t r0 = rows * static_cast<int64_t>(t) / threads;
    const int64_t r1 = rows * static_cast<int64_t>(t + 1) / threads;
    uint8_t* slice = scratch + t * plan.scratch_bytes_per_thread;
    const int K = plan.kernel;  // K consecutive input rows fall in K distinct slots ih % K
    int64_t tag[kDepthwiseMaxKernel];  // n * in_h + ih held by each slot
    for (int64_t& t_key : tag) t_key = -1;
    for (int64_t r = r0; r < r1 && !stop_requested(pool); ++r) {
      const int64_t n = r / p.out_h, oh = r % p.out_h;
      const uint8_t* in_rows[kDepthwiseMaxKernel];
      for (int kh = 0; kh < K; ++kh) {
        const int64_t ih = oh * p.stride_h - p.pad_top + kh;
        if (ih < 0 || ih >= p.in_h) {
          in_rows[kh] = nullptr;
          continue;
        }
        const int64_t key = n * p.in_h + ih;
        const int slot = static_cast<int>(ih % K);
        uint8_t* buf = slice + slot * row_bytes;
        if (tag[slot] != key) {
          build(plan, x + key * p.in_w * p.in_c, buf);
          tag[slot] = key;
        }
        in_rows[kh] = buf;
      }
      output_row(plan, in_rows, y + r * p.out_w * p.out_c * out_px);
    }
  });
}

}  // namespace DYAD_ISA_NAMESPACE
}  // namespace dyad::kernels
