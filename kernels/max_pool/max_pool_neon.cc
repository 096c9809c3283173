// NEON max pooling (64-bit ARM baseline): the window maximum of 16 bytes of
// channels at a time (SMAX / UMAX on bytes, halfwords or words). A max is
// exact in any order. When the channel row is not a multiple of 16 bytes, the
// last vector overlaps the previous one (it rewrites the same maxima); rows
// shorter than 16 bytes use scalar code. The output sweep is the x86
// kernels' (kernels/common/pool2d_sweep.h: one task per output row).
#include <arm_neon.h>

#include <algorithm>
#include <type_traits>

#include "kernels/common/pool2d_sweep.h"
#include "kernels/max_pool/max_pool.h"

namespace dyad::kernels {

namespace {

template <typename T>
uint8x16_t vmax(uint8x16_t a, uint8x16_t b) {
  if constexpr (std::is_same_v<T, int8_t>)
    return vreinterpretq_u8_s8(vmaxq_s8(vreinterpretq_s8_u8(a), vreinterpretq_s8_u8(b)));
  if constexpr (std::is_same_v<T, uint8_t>) return vmaxq_u8(a, b);
  if constexpr (std::is_same_v<T, int16_t>)
    return vreinterpretq_u8_s16(vmaxq_s16(vreinterpretq_s16_u8(a), vreinterpretq_s16_u8(b)));
  if constexpr (std::is_same_v<T, int32_t>)
    return vreinterpretq_u8_s32(vmaxq_s32(vreinterpretq_s32_u8(a), vreinterpretq_s32_u8(b)));
}

// The maxima of one window for every channel (row of channels * sizeof(T) >=
// 16 bytes), 16 bytes at a time.
template <typename T>
void window_max(const T* x, int64_t row_stride, int64_t px_stride, int64_t rows, int64_t cols,
                int64_t channels, T* y) {
  constexpr int64_t kLanes = 16 / sizeof(T);
  for (int64_t c0 = 0; c0 < channels; c0 += kLanes) {
    const int64_t c = std::min(c0, channels - kLanes);  // overlapping last vector
    uint8x16_t best = vld1q_u8(reinterpret_cast<const uint8_t*>(x + c));
    for (int64_t h = 0; h < rows; ++h)
      for (int64_t w = 0; w < cols; ++w)
        best = vmax<T>(best, vld1q_u8(reinterpret_cast<const uint8_t*>(x + h * row_stride + w * px_stride + c)));
    vst1q_u8(reinterpret_cast<uint8_t*>(y + c), best);
  }
}

template <typename T>
void max_pool_typed(const Pool2dParams& p, const T* x, T* y, ThreadPool* pool) {
  const int64_t row_bytes = p.channels * static_cast<int64_t>(sizeof(T));
  pool2d_sweep<int>(p, pool, [&](const PoolWindow& win, int&) {
    const T* first = x + win.in;
    T* out = y + win.out;
    if (row_bytes >= 16) {
      window_max<T>(first, win.row_stride, p.channels, win.rows, win.cols, p.channels, out);
    } else {
      for (int64_t c = 0; c < p.channels; ++c) {
        T best = first[c];
        for (int64_t h = 0; h < win.rows; ++h)
          for (int64_t w = 0; w < win.cols; ++w) best = std::max(best, first[h * win.row_stride + w * p.channels + c]);
        out[c] = best;
      }
    }
  });
}

}  // namespace

void max_pool__neon(const Pool2dParams& p, const void* src, void* dst, ThreadPool* pool) {
  with_int_type(p.type, [&](auto zero) {
    using T = decltype(zero);
    if constexpr (!std::is_same_v<T, int64_t>)
      max_pool_typed(p, static_cast<const T*>(src), static_cast<T*>(dst), pool);
  });
}

}  // namespace dyad::kernels
