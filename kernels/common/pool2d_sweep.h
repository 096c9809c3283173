// The output sweep the vector pooling kernels share (max_pool, average_pool;
// *_avx2.cc, *_avx512.cc): one task per output row, as the references, so a
// result is the same at every thread count.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/common/isa_namespace.h"
#include "kernels/common/pool2d.h"
#include "kernels/common/thread_pool.h"

namespace dyad::kernels {
inline namespace DYAD_ISA_NAMESPACE {

// One output pixel: its valid window (`rows` x `cols` positions, the first at
// element `in`, rows `row_stride` elements apart, positions `channels`
// apart) and its output at element `out`.
struct PoolWindow {
  int64_t in, out, rows, cols, row_stride;
};

// Calls f(window, state) for every output pixel, in order along each output
// row; `state` (a default-constructed State) lives for one row's task, so a
// kernel can keep per-row caches in it without sharing them between threads.
template <class State, class F>
void pool2d_sweep(const Pool2dParams& p, ThreadPool* pool, F&& f) {
  parallel_for(pool, static_cast<size_t>(p.batch * p.out_h), [&](size_t task) {
    const int64_t n = static_cast<int64_t>(task) / p.out_h;
    const int64_t oh = static_cast<int64_t>(task) % p.out_h;
    const PoolSpan rows = pool_span(oh, p.stride_h, p.pad_top, p.kernel_h, p.in_h);
    State state{};
    for (int64_t ow = 0; ow < p.out_w; ++ow) {
      if (stop_requested(pool)) return;  // a cancelled run discards this step
      const PoolSpan cols = pool_span(ow, p.stride_w, p.pad_left, p.kernel_w, p.in_w);
      const PoolWindow win{((n * p.in_h + rows.begin) * p.in_w + cols.begin) * p.channels,
                           ((n * p.out_h + oh) * p.out_w + ow) * p.channels, rows.end - rows.begin,
                           cols.end - cols.begin, p.in_w * p.channels};
      f(win, state);
    }
  });
}

// The exact divisor of the last window count seen in a row (the count only
// changes at the edges).
struct PoolDivisorCache {
  int64_t count = 0;
  ExactDivisor div;
  const ExactDivisor& of(int64_t c) {
    if (c != count) div = exact_divisor(static_cast<uint32_t>(c)), count = c;
    return div;
  }
};

}  // namespace DYAD_ISA_NAMESPACE
}  // namespace dyad::kernels
