// The fused int_layernorm + requantize (int_layernorm_requantize.h) over an
// ISA's `Simd` operations; include after kernels/common/simd_avx512.h or
// simd_neon.h. Each row is computed by int_layernorm_row_simd (or the
// reference row) into a per-task int64 row buffer and requantized from there
// by requantize_wide_span.
#pragma once

#include <algorithm>
#include <cstdint>

#include "kernels/common/isa_namespace.h"
#include "kernels/common/thread_pool.h"
#include "kernels/int_layernorm/int_layernorm_requantize.h"
#include "kernels/int_layernorm/int_layernorm_simd.h"
#include "kernels/requantize/requantize_wide_simd.h"

namespace dyad::kernels {
inline namespace DYAD_ISA_NAMESPACE {

// Row buffer of one task (operator new[], not a std:: container: no template
// instance compiled with this file's ISA flags is shared with other files).
struct LayerNormRowBuffer {
  explicit LayerNormRowBuffer(size_t n) : row(new int64_t[n + 1]) {}
  ~LayerNormRowBuffer() { delete[] row; }
  LayerNormRowBuffer(const LayerNormRowBuffer&) = delete;
  LayerNormRowBuffer& operator=(const LayerNormRowBuffer&) = delete;
  int64_t* row;
};

template <class S>
void int_layernorm_requantize_simd(const IntLayerNormParams& ln, const RequantizeParams& requant,
                                   const RequantizeWidePlan& requant_plan, const void* x, void* y, ThreadPool* pool) {
  if (ln.rows <= 0) return;
  const bool small_bias = int_layernorm_biases_small(ln);
  const size_t n = static_cast<size_t>(ln.channels);
  auto* out = static_cast<uint8_t*>(y);
  with_int_type(ln.x_type, [&](auto zero) {
    using T = decltype(zero);
    if constexpr (sizeof(T) <= 4) {
      const T* xt = static_cast<const T*>(x);
      const int64_t threads = pool ? pool->num_threads() : 1;
      const int64_t chunks = std::min<int64_t>(ln.rows, threads == 1 ? 1 : threads * 4);
      parallel_for(pool, size_t(chunks), [&](size_t ch) {
        LayerNormRowBuffer buffer(n);
        const int64_t first = ln.rows * int64_t(ch) / chunks, last = ln.rows * (int64_t(ch) + 1) / chunks;
        for (int64_t r = first; r < last; ++r) {
          if (!small_bias || !int_layernorm_row_simd<S>(ln, xt + r * ln.channels, buffer.row))
            int_layernorm_row_to(ln, x, r, buffer.row);
          const size_t begin = static_cast<size_t>(r) * n;
          requantize_wide_span<S>(requant, requant_plan, buffer.row, out + begin, n, begin % requant.channels);
        }
      });
    }
  });
}

}  // namespace DYAD_ISA_NAMESPACE
}  // namespace dyad::kernels
