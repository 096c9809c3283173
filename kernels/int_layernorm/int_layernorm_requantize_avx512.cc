// The fused int_layernorm + requantize on AVX-512 F/BW/VL/DQ
// (int_layernorm_requantize.h).
#include "kernels/int_layernorm/int_layernorm_requantize.h"

#include <algorithm>
#include <vector>

#include "kernels/common/simd_avx512.h"
#include "kernels/common/thread_pool.h"
#include "kernels/int_layernorm/int_layernorm_row_avx512.h"
#include "kernels/requantize/requantize_wide_simd.h"

namespace dyad::kernels {

void int_layernorm_requantize__avx512(const IntLayerNormParams& ln, const RequantizeParams& requant,
                                      const RequantizeWidePlan& requant_plan, const void* x, void* y,
                                      ThreadPool* pool) {
  if (ln.rows <= 0) return;
  const bool small_bias = biases_small(ln);
  const size_t n = static_cast<size_t>(ln.channels);
  auto* out = static_cast<uint8_t*>(y);
  with_int_type(ln.x_type, [&](auto zero) {
    using T = decltype(zero);
    if constexpr (sizeof(T) <= 4) {
      const T* xt = static_cast<const T*>(x);
      const int64_t threads = pool ? pool->num_threads() : 1;
      const int64_t chunks = std::min<int64_t>(ln.rows, threads == 1 ? 1 : threads * 4);
      parallel_for(pool, size_t(chunks), [&](size_t ch) {
        std::vector<int64_t> row(n);
        const int64_t first = ln.rows * int64_t(ch) / chunks, last = ln.rows * (int64_t(ch) + 1) / chunks;
        for (int64_t r = first; r < last; ++r) {
          if (!small_bias || !row_fast(ln, xt + r * ln.channels, row.data()))
            int_layernorm_row_to(ln, x, r, row.data());
          const size_t begin = static_cast<size_t>(r) * n;
          requantize_wide_span<Simd>(requant, requant_plan, row.data(), out + begin, n, begin % requant.channels);
        }
      });
    }
  });
}

}  // namespace dyad::kernels
