// AVX2 max pooling: the window maximum of 32 bytes of channels at a time
// (vpmaxsb / vpmaxub / vpmaxsw / vpmaxsd). A max is exact in any order. When
// the channel row is not a multiple of the vector, the last vector overlaps
// the previous one (it rewrites the same maxima); rows shorter than 16 bytes
// use scalar code.
#include <immintrin.h>

#include <algorithm>
#include <type_traits>

#include "kernels/common/pool2d_sweep.h"
#include "kernels/max_pool/max_pool.h"

namespace dyad::kernels {

namespace {

template <typename T>
__m256i vmax(__m256i a, __m256i b) {
  if constexpr (std::is_same_v<T, int8_t>) return _mm256_max_epi8(a, b);
  if constexpr (std::is_same_v<T, uint8_t>) return _mm256_max_epu8(a, b);
  if constexpr (std::is_same_v<T, int16_t>) return _mm256_max_epi16(a, b);
  if constexpr (std::is_same_v<T, int32_t>) return _mm256_max_epi32(a, b);
}

template <typename T>
__m128i vmax(__m128i a, __m128i b) {
  if constexpr (std::is_same_v<T, int8_t>) return _mm_max_epi8(a, b);
  if constexpr (std::is_same_v<T, uint8_t>) return _mm_max_epu8(a, b);
  if constexpr (std::is_same_v<T, int16_t>) return _mm_max_epi16(a, b);
  if constexpr (std::is_same_v<T, int32_t>) return _mm_max_epi32(a, b);
}

template <typename V>
V loadv(const void* p) {
  if constexpr (sizeof(V) == 32) return _mm256_loadu_si256(static_cast<const __m256i*>(p));
  else return _mm_loadu_si128(static_cast<const __m128i*>(p));
}

template <typename V>
void storev(void* p, V v) {
  if constexpr (sizeof(V) == 32) _mm256_storeu_si256(static_cast<__m256i*>(p), v);
  else _mm_storeu_si128(static_cast<__m128i*>(p), v);
}

// The maxima of one window for every channel, with vectors V (row of
// channels * sizeof(T) >= sizeof(V) bytes).
template <typename T, typename V>
void window_max(const T* x, int64_t row_stride, int64_t px_stride, int64_t rows, int64_t cols,
                int64_t channels, T* y) {
  constexpr int64_t kLanes = sizeof(V) / sizeof(T);
  for (int64_t c0 = 0; c0 < channels; c0 += kLanes) {
    const int64_t c = std::min(c0, channels - kLanes);  // overlapping last vector
    V best = loadv<V>(x + c);
    for (int64_t h = 0; h < rows; ++h)
      for (int64_t w = 0; w < cols; ++w)
        best = vmax<T>(best, loadv<V>(x + h * row_stride + w * px_stride + c));
    storev(y + c, best);
  }
}

template <typename T>
void max_pool_typed(const Pool2dParams& p, const T* x, T* y, ThreadPool* pool) {
  const int64_t row_bytes = p.channels * static_cast<int64_t>(sizeof(T));
  pool2d_sweep<int>(p, pool, [&](const PoolWindow& win, int&) {
    const T* first = x + win.in;
    T* out = y + win.out;
    if (row_bytes >= 32) {
      window_max<T, __m256i>(first, win.row_stride, p.channels, win.rows, win.cols, p.channels, out);
    } else if (row_bytes >= 16) {
      window_max<T, __m128i>(first, win.row_stride, p.channels, win.rows, win.cols, p.channels, out);
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

void max_pool__avx2(const Pool2dParams& p, const void* src, void* dst, ThreadPool* pool) {
  with_int_type(p.type, [&](auto zero) {
    using T = decltype(zero);
    if constexpr (!std::is_same_v<T, int64_t>)
      max_pool_typed(p, static_cast<const T*>(src), static_cast<T*>(dst), pool);
  });
}

}  // namespace dyad::kernels
