// AVX-512 (F/BW/VL/DQ) average pooling: window sums of 16 channels in int32
// lanes, up to 4 zmm per pass over the window, then the exact floor division
// of kernels/common/pool2d_avx512.h; the last channels are masked, not
// scalar. Same split over threads as the reference (one task per output row).
#include <algorithm>

#include "kernels/average_pool/average_pool.h"
#include "kernels/common/pool2d_avx512.h"
#include "kernels/common/pool2d_sweep.h"

namespace dyad::kernels {

namespace {

// Channels [c, c + 16 * V) of one window (Masked: the last vector under its lane mask).
template <typename T, int V, bool Masked>
void window_average(const Pool2dParams& p, const PoolWindow& win, const T* x, T* y, int64_t c, ExactDivisor div) {
  const int64_t count = win.rows * win.cols;
  __mmask16 m[V];
  __m512i sum[V];
  for (int v = 0; v < V; ++v) m[v] = lanes16(p.channels - c - 16 * v), sum[v] = _mm512_setzero_si512();
  const T* first = x + win.in + c;
  for (int64_t h = 0; h < win.rows; ++h)
    for (int64_t w = 0; w < win.cols; ++w) {
      const T* px = first + h * win.row_stride + w * p.channels;
      for (int v = 0; v < V; ++v) sum[v] = _mm512_add_epi32(sum[v], load16_as_s32<T, Masked>(px + 16 * v, m[v]));
    }
  for (int v = 0; v < V; ++v) store16_from_s32<T, Masked>(floor_div16<T>(sum[v], count, div), y + win.out + c + 16 * v, m[v]);
}

template <typename T>
void average_pool_typed(const Pool2dParams& p, const T* x, T* y, ThreadPool* pool) {
  pool2d_sweep<PoolDivisorCache>(p, pool, [&](const PoolWindow& win, PoolDivisorCache& cache) {
    const ExactDivisor div = cache.of(win.rows * win.cols);  // valid positions only
    int64_t c = 0;
    for (; c + 64 <= p.channels; c += 64) window_average<T, 4, false>(p, win, x, y, c, div);
    for (; c + 16 <= p.channels; c += 16) window_average<T, 1, false>(p, win, x, y, c, div);
    if (c < p.channels) window_average<T, 1, true>(p, win, x, y, c, div);
  });
}

}  // namespace

void average_pool__avx512(const Pool2dParams& p, const void* src, void* dst, ThreadPool* pool) {
  switch (p.type) {
    case IntType::kS8:
      return average_pool_typed(p, static_cast<const int8_t*>(src), static_cast<int8_t*>(dst), pool);
    case IntType::kU8:
      return average_pool_typed(p, static_cast<const uint8_t*>(src), static_cast<uint8_t*>(dst), pool);
    case IntType::kS16:
      return average_pool_typed(p, static_cast<const int16_t*>(src), static_cast<int16_t*>(dst), pool);
    default:
      return average_pool__ref(p, src, dst, pool);  // not selected for these (average_avx2_fits)
  }
}

}  // namespace dyad::kernels
