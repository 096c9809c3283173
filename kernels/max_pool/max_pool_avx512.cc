// AVX-512 (F/BW/VL/DQ) max pooling: the window maximum of 64 bytes of
// channels at a time (vpmaxsb / vpmaxub / vpmaxsw / vpmaxsd on zmm). The last
// vector of a channel row is byte-masked (masked-off bytes are neither read
// nor written), so every channel count runs vector code. A max is exact in
// any order.
#include <immintrin.h>

#include <type_traits>

#include "kernels/common/pool2d_sweep.h"
#include "kernels/max_pool/max_pool.h"

namespace dyad::kernels {

namespace {

template <typename T>
__m512i vmax(__m512i a, __m512i b) {
  if constexpr (std::is_same_v<T, int8_t>) return _mm512_max_epi8(a, b);
  if constexpr (std::is_same_v<T, uint8_t>) return _mm512_max_epu8(a, b);
  if constexpr (std::is_same_v<T, int16_t>) return _mm512_max_epi16(a, b);
  if constexpr (std::is_same_v<T, int32_t>) return _mm512_max_epi32(a, b);
}

template <typename T>
void max_pool_typed(const Pool2dParams& p, const T* x, T* y, ThreadPool* pool) {
  const int64_t row_bytes = p.channels * static_cast<int64_t>(sizeof(T));
  pool2d_sweep<int>(p, pool, [&](const PoolWindow& win, int&) {
    const auto* first = reinterpret_cast<const uint8_t*>(x + win.in);
    auto* out = reinterpret_cast<uint8_t*>(y + win.out);
    const int64_t row = win.row_stride * static_cast<int64_t>(sizeof(T));
    int64_t b = 0;
    for (; b + 64 <= row_bytes; b += 64) {
      __m512i best = _mm512_loadu_si512(first + b);
      for (int64_t h = 0; h < win.rows; ++h)
        for (int64_t w = 0; w < win.cols; ++w)
          best = vmax<T>(best, _mm512_loadu_si512(first + h * row + w * row_bytes + b));
      _mm512_storeu_si512(out + b, best);
    }
    if (b < row_bytes) {
      const __mmask64 m = (__mmask64{1} << (row_bytes - b)) - 1;
      __m512i best = _mm512_maskz_loadu_epi8(m, first + b);
      for (int64_t h = 0; h < win.rows; ++h)
        for (int64_t w = 0; w < win.cols; ++w)
          best = vmax<T>(best, _mm512_maskz_loadu_epi8(m, first + h * row + w * row_bytes + b));
      _mm512_mask_storeu_epi8(out + b, m, best);
    }
  });
}

}  // namespace

void max_pool__avx512(const Pool2dParams& p, const void* src, void* dst, ThreadPool* pool) {
  with_int_type(p.type, [&](auto zero) {
    using T = decltype(zero);
    if constexpr (!std::is_same_v<T, int64_t>)
      max_pool_typed(p, static_cast<const T*>(src), static_cast<T*>(dst), pool);
  });
}

}  // namespace dyad::kernels
