// AVX-512 (F/BW/VL/DQ) global average pooling: per image, int32 sums of 16
// channels per zmm over every pixel, four zmm per pass, then the exact floor
// division of kernels/common/pool2d_avx512.h; the last channels are masked.
#include "kernels/common/pool2d_avx512.h"
#include "kernels/global_average_pool/global_average_pool.h"

namespace dyad::kernels {

namespace {

// Channels [c, c + 16 * V) of one image (Masked: the last vector under its lane mask).
template <typename T, int V, bool Masked>
void channels_average(const GlobalAveragePoolParams& p, const T* image, T* out, int64_t c, ExactDivisor div) {
  __mmask16 m[V];
  __m512i sum[V];
  for (int v = 0; v < V; ++v) m[v] = lanes16(p.channels - c - 16 * v), sum[v] = _mm512_setzero_si512();
  for (int64_t i = 0; i < p.pixels; ++i) {
    const T* px = image + i * p.channels + c;
    for (int v = 0; v < V; ++v) sum[v] = _mm512_add_epi32(sum[v], load16_as_s32<T, Masked>(px + 16 * v, m[v]));
  }
  for (int v = 0; v < V; ++v) store16_from_s32<T, Masked>(floor_div16<T>(sum[v], p.pixels, div), out + c + 16 * v, m[v]);
}

template <typename T>
void global_average_pool_typed(const GlobalAveragePoolParams& p, const T* x, T* y) {
  const ExactDivisor div = exact_divisor(static_cast<uint32_t>(p.pixels));
  for (int64_t n = 0; n < p.batch; ++n) {
    const T* image = x + n * p.pixels * p.channels;
    T* out = y + n * p.channels;
    int64_t c = 0;
    for (; c + 64 <= p.channels; c += 64) channels_average<T, 4, false>(p, image, out, c, div);
    for (; c + 16 <= p.channels; c += 16) channels_average<T, 1, false>(p, image, out, c, div);
    if (c < p.channels) channels_average<T, 1, true>(p, image, out, c, div);
  }
}

}  // namespace

void global_average_pool__avx512(const GlobalAveragePoolParams& p, const void* src, void* dst) {
  switch (p.type) {
    case IntType::kS8:
      return global_average_pool_typed(p, static_cast<const int8_t*>(src), static_cast<int8_t*>(dst));
    case IntType::kU8:
      return global_average_pool_typed(p, static_cast<const uint8_t*>(src), static_cast<uint8_t*>(dst));
    case IntType::kS16:
      return global_average_pool_typed(p, static_cast<const int16_t*>(src), static_cast<int16_t*>(dst));
    default:
      return global_average_pool__ref(p, src, dst);  // not selected for these (average_avx2_fits)
  }
}

}  // namespace dyad::kernels
