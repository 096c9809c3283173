// NEON global average pooling (64-bit ARM baseline): per image, int32 sums
// of 8 channels (kernels/common/simd_neon.h, a pair of 128-bit registers;
// four of them per pass over the pixels, then one) over every pixel, then the
// exact floor division of kernels/common/pool2d_simd.h. Channels past the
// last multiple of 8 use the reference arithmetic.
#include "kernels/common/simd_neon.h"
#include "kernels/common/pool2d_simd.h"
#include "kernels/global_average_pool/global_average_pool.h"

namespace dyad::kernels {

namespace {

template <typename T>
void global_average_pool_typed(const GlobalAveragePoolParams& p, const T* x, T* y) {
  using S = Simd;
  constexpr int64_t kLanes = S::kLanes32;
  const ExactDivisor div = exact_divisor(static_cast<uint32_t>(p.pixels));
  for (int64_t n = 0; n < p.batch; ++n) {
    const T* image = x + n * p.pixels * p.channels;
    T* out = y + n * p.channels;
    int64_t c = 0;
    for (; c + 4 * kLanes <= p.channels; c += 4 * kLanes) {
      S::V s0 = S::zero(), s1 = s0, s2 = s0, s3 = s0;
      for (int64_t i = 0; i < p.pixels; ++i) {
        const T* px = image + i * p.channels + c;
        s0 = S::add32(s0, S::load_s32(px));
        s1 = S::add32(s1, S::load_s32(px + kLanes));
        s2 = S::add32(s2, S::load_s32(px + 2 * kLanes));
        s3 = S::add32(s3, S::load_s32(px + 3 * kLanes));
      }
      pool_store<S>(out + c, pool_floor_div<S, T>(s0, p.pixels, div));
      pool_store<S>(out + c + kLanes, pool_floor_div<S, T>(s1, p.pixels, div));
      pool_store<S>(out + c + 2 * kLanes, pool_floor_div<S, T>(s2, p.pixels, div));
      pool_store<S>(out + c + 3 * kLanes, pool_floor_div<S, T>(s3, p.pixels, div));
    }
    for (; c + kLanes <= p.channels; c += kLanes) {
      S::V s = S::zero();
      for (int64_t i = 0; i < p.pixels; ++i) s = S::add32(s, S::load_s32(image + i * p.channels + c));
      pool_store<S>(out + c, pool_floor_div<S, T>(s, p.pixels, div));
    }
    for (; c < p.channels; ++c) {
      int64_t sum = 0;
      for (int64_t i = 0; i < p.pixels; ++i) sum += image[i * p.channels + c];
      out[c] = static_cast<T>(floor_div(sum, p.pixels));
    }
  }
}

}  // namespace

void global_average_pool__neon(const GlobalAveragePoolParams& p, const void* src, void* dst) {
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
