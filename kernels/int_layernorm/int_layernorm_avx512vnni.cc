// Integer LayerNorm on AVX-512 (int_layernorm.h; numerics.md 6.2). Per row:
// one pass for the sum and the extremes of v = x - zp (int64 lanes), the mean
// (scalar, int_layernorm_mean), then, when the row's bounds allow it, one
// pass for var = sum ((v - mean) >> shift)^2 and one for the output.
//
// Exactness of the vector path: with M = max |v - mean| <= 2^31 - 1 every
// y = v - mean and ys = y >> shift (|ys| <= |y|) fits int32, so vpmuldq
// squares it exactly; n * M^2 < 2^64 bounds the uint64 lane sums and their
// total, so var is the reference's 128-bit sum. isqrt, the shift and factor
// are the reference's scalar code. factor < 2^31 fits a signed 32-bit lane,
// so y * factor is exact (|.| < 2^62), >> 1 is vpsraq's floor, and with
// |bias_int| <= 2^62 the sum stays below 2^63: add_saturate never acts.
#include <algorithm>

#include "kernels/common/thread_pool.h"
#include "kernels/int_layernorm/int_layernorm.h"
#include "kernels/int_layernorm/int_layernorm_row_avx512.h"

namespace dyad::kernels {

void int_layernorm__avx512vnni(const IntLayerNormParams& p, const void* x, int64_t* out, ThreadPool* pool) {
  if (p.rows <= 0) return;
  const bool small_bias = biases_small(p);
  auto run = [&](auto zero) {
    using T = decltype(zero);
    const T* xt = static_cast<const T*>(x);
    const int64_t threads = pool ? pool->num_threads() : 1;
    const int64_t chunks = std::min<int64_t>(p.rows, threads == 1 ? 1 : threads * 4);
    parallel_for(pool, size_t(chunks), [&](size_t ch) {
      const int64_t first = p.rows * int64_t(ch) / chunks, last = p.rows * (int64_t(ch) + 1) / chunks;
      for (int64_t r = first; r < last; ++r)
        if (!small_bias || !row_fast(p, xt + r * p.channels, out + r * p.channels))
          int_layernorm_row(p, x, r, out);
    });
  };
  switch (p.x_type) {
    case IntType::kS8: run(int8_t{}); break;
    case IntType::kU8: run(uint8_t{}); break;
    case IntType::kS16: run(int16_t{}); break;
    case IntType::kS32: run(int32_t{}); break;
    default: break;  // rejected by int_layernorm_params_valid
  }
}

}  // namespace dyad::kernels
