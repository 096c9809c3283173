// AVX2 global average pooling: per image, int32 sums of 8 channels at a time
// over every pixel, then the exact floor division of
// kernels/common/pool2d_avx2.h. Channels past the last multiple of 8 use the
// reference arithmetic.
#include "kernels/common/pool2d_avx2.h"
#include "kernels/global_average_pool/global_average_pool.h"

namespace dyad::kernels {

namespace {

template <typename T>
void global_average_pool_typed(const GlobalAveragePoolParams& p, const T* x, T* y) {
  const ExactDivisor div = exact_divisor(static_cast<uint32_t>(p.pixels));
  for (int64_t n = 0; n < p.batch; ++n) {
    const T* image = x + n * p.pixels * p.channels;
    T* out = y + n * p.channels;
    int64_t c = 0;
    // Four vectors of sums per pass over the pixels.
    for (; c + 32 <= p.channels; c += 32) {
      __m256i s0 = _mm256_setzero_si256(), s1 = s0, s2 = s0, s3 = s0;
      for (int64_t i = 0; i < p.pixels; ++i) {
        const T* px = image + i * p.channels + c;
        s0 = _mm256_add_epi32(s0, load8_as_s32(px));
        s1 = _mm256_add_epi32(s1, load8_as_s32(px + 8));
        s2 = _mm256_add_epi32(s2, load8_as_s32(px + 16));
        s3 = _mm256_add_epi32(s3, load8_as_s32(px + 24));
      }
      store8_from_s32(floor_div8<T>(s0, p.pixels, div), out + c);
      store8_from_s32(floor_div8<T>(s1, p.pixels, div), out + c + 8);
      store8_from_s32(floor_div8<T>(s2, p.pixels, div), out + c + 16);
      store8_from_s32(floor_div8<T>(s3, p.pixels, div), out + c + 24);
    }
    for (; c + 8 <= p.channels; c += 8) {
      __m256i s = _mm256_setzero_si256();
      for (int64_t i = 0; i < p.pixels; ++i)
        s = _mm256_add_epi32(s, load8_as_s32(image + i * p.channels + c));
      store8_from_s32(floor_div8<T>(s, p.pixels, div), out + c);
    }
    for (; c < p.channels; ++c) {
      int64_t sum = 0;
      for (int64_t i = 0; i < p.pixels; ++i) sum += image[i * p.channels + c];
      out[c] = static_cast<T>(floor_div(sum, p.pixels));
    }
  }
}

}  // namespace

void global_average_pool__avx2(const GlobalAveragePoolParams& p, const void* src, void* dst) {
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
