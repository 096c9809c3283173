// AVX2 depthwise 3x3 / 5x5 conv2d (kernels/conv2d/depthwise.h has the layout).
//
// Exactness: d = x - z_x is in [-255, 255] and a weight in [-128, 127], so
// each vpmaddwd lane d0*w0 + d1*w1 is exact in int32, and the builder proved
// |bias| + max|d| * sum|w| < 2^31 for every channel (engine/ops/conv2d.cc),
// so the int32 sums never wrap. The taps are added in a different order than
// the reference; integer addition is exact, so the sum is the same. The
// epilogue is requant8 (kernels/common/requant_avx2.h), as in the GEMM.
#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <type_traits>
#include <vector>

#include "kernels/common/requant_avx2.h"
#include "kernels/conv2d/depthwise_driver.h"

namespace dyad::kernels {

namespace {

// d = x - z_x of 16 channels as int16 (channels >= `valid` read as z_x: 0).
template <bool kSigned>
inline __m256i load16(const uint8_t* x, int64_t valid, __m256i zx) {
  __m128i v;
  if (valid >= 16) {
    v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(x));
  } else {
    alignas(16) uint8_t tmp[16] = {};
    std::memcpy(tmp, x, static_cast<size_t>(valid));
    v = _mm_load_si128(reinterpret_cast<const __m128i*>(tmp));
    // Lanes past `valid` hold 0; subtracting z_x there is harmless: their
    // weights are 0 and their outputs are not stored.
  }
  return _mm256_sub_epi16(kSigned ? _mm256_cvtepi8_epi16(v) : _mm256_cvtepu8_epi16(v), zx);
}

// Pair row of input row `ih` (or of zeros when it is padding): for each
// block b and entry j, 64 bytes: unpacklo / unpackhi of (d[p], d[p + 1]),
// p = j * stride_w, d at padded column q being x[q - pad_left] - z_x.
// Entries whose columns all lie inside the image skip the bounds checks (as
// in the AVX-512 quad rows).
template <bool kSigned, int kStride>
void build_pair_row_strided(const DepthwisePlan& plan, const uint8_t* x_row, uint8_t* out) {
  const Conv2dParams& p = plan.params;
  const __m256i zx = _mm256_set1_epi16(static_cast<int16_t>(p.src_zero_point));
  const int64_t C = p.in_c, in_w = p.in_w, pad = p.pad_left, entries = plan.entries, blocks = plan.blocks;
  // Entries [lo, hi) read columns j * S .. j * S + 1, all in [pad, pad + in_w).
  const int64_t lo = std::min(entries, (pad + kStride - 1) / kStride);
  const int64_t last = in_w + pad - 2;  // the last entry's second column must be <= in_w + pad - 1
  const int64_t hi = std::max(lo, std::min(entries, last < 0 ? int64_t{0} : last / kStride + 1));
  for (int64_t b = 0; b < blocks; ++b) {
    const int64_t valid = std::min<int64_t>(16, C - 16 * b);
    // Padded column q (inside the image) of this block's channels.
    auto at = [&](int64_t q) { return x_row + 16 * b + (q - pad) * C; };
    auto d_at = [&](int64_t q) {
      if (q < pad || q >= pad + in_w) return _mm256_setzero_si256();
      return load16<kSigned>(at(q), valid, zx);
    };
    __m256i* e = reinterpret_cast<__m256i*>(out + b * entries * 64);
    __m256i next = d_at(0);  // stride 1: the entry's first column, the previous entry's second
    auto emit = [&](int64_t j, __m256i d0, __m256i d1) {
      _mm256_store_si256(e + 2 * j, _mm256_unpacklo_epi16(d0, d1));
      _mm256_store_si256(e + 2 * j + 1, _mm256_unpackhi_epi16(d0, d1));
    };
    auto edge = [&](int64_t from, int64_t to) {
      for (int64_t j = from; j < to; ++j) {
        const __m256i d0 = kStride == 1 ? next : d_at(j * kStride);
        const __m256i d1 = d_at(j * kStride + 1);
        next = d1;
        emit(j, d0, d1);
      }
    };
    edge(0, lo);
    if (lo < hi) {
      if (valid == 16) {
        auto inside = [&](int64_t q) {
          const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(at(q)));
          return _mm256_sub_epi16(kSigned ? _mm256_cvtepi8_epi16(v) : _mm256_cvtepu8_epi16(v), zx);
        };
        for (int64_t j = lo; j < hi; ++j) {
          const __m256i d0 = kStride == 1 ? next : inside(j * kStride);
          const __m256i d1 = inside(j * kStride + 1);
          next = d1;
          emit(j, d0, d1);
        }
      } else {
        for (int64_t j = lo; j < hi; ++j) {
          const __m256i d0 = kStride == 1 ? next : load16<kSigned>(at(j * kStride), valid, zx);
          const __m256i d1 = load16<kSigned>(at(j * kStride + 1), valid, zx);
          next = d1;
          emit(j, d0, d1);
        }
      }
    }
    edge(hi, entries);
  }
}

template <bool kSigned>
void build_pair_row(const DepthwisePlan& plan, const uint8_t* x_row, uint8_t* out) {
  plan.params.stride_w == 1 ? build_pair_row_strided<kSigned, 1>(plan, x_row, out)
                            : build_pair_row_strided<kSigned, 2>(plan, x_row, out);
}

// One output row of a KxK window: rows[kh] is the pair row of input row
// oh*sh - pad_top + kh, or null when that row is padding.
template <int K>
void output_row(const DepthwisePlan& plan, const uint8_t* const* rows, uint8_t* y_row) {
  constexpr int kPairs = (K + 1) / 2;  // tap pairs per kernel row
  const Conv2dParams& p = plan.params;
  const int64_t C = p.out_c, step = 2 / p.stride_w;  // entry offset of tap pair q + 1 from pair q
  const bool raw = plan.requant.empty();
  const __m256i qmin = _mm256_set1_epi32(static_cast<int32_t>(p.out.min));
  const __m256i qmax = _mm256_set1_epi32(static_cast<int32_t>(p.out.max));
  const bool out_signed = p.out.type == IntType::kS8;
  for (int64_t b = 0; b < plan.blocks; ++b) {
    const int64_t valid = std::min<int64_t>(16, C - 16 * b);
    const __m256i bias_lo = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(&plan.bias[b * 16]));
    const __m256i bias_hi = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(&plan.bias[b * 16 + 8]));
    const __m256i* w[K];
    const __m256i* r[K];
    int taps = 0;
    for (int kh = 0; kh < K; ++kh) {
      if (rows[kh] == nullptr) continue;
      w[taps] = reinterpret_cast<const __m256i*>(&plan.weights[((kh * plan.blocks + b) * 2 * kPairs) * 16]);
      r[taps] = reinterpret_cast<const __m256i*>(rows[kh] + b * plan.entries * 64);
      ++taps;
    }
    // The rows of the image's interior have all K kernel rows inside it:
    // their tap loop is unrolled whole (as in the AVX-512 kernel).
    auto columns = [&](auto tap_count) {
      constexpr int kFixed = decltype(tap_count)::value;  // 0: taps at run time
      const int n_taps = kFixed != 0 ? kFixed : taps;
      for (int64_t ow = 0; ow < p.out_w; ++ow) {
        __m256i lo = bias_lo, hi = bias_hi;
#pragma GCC unroll 5
        for (int t = 0; t < n_taps; ++t)
#pragma GCC unroll 3
          for (int q = 0; q < kPairs; ++q) {
            const __m256i* e = r[t] + 2 * (ow + q * step);
            lo = _mm256_add_epi32(lo, _mm256_madd_epi16(_mm256_load_si256(e), _mm256_loadu_si256(w[t] + 2 * q)));
            hi = _mm256_add_epi32(hi,
                                  _mm256_madd_epi16(_mm256_load_si256(e + 1), _mm256_loadu_si256(w[t] + 2 * q + 1)));
          }
        uint8_t* out = y_row + (ow * C + 16 * b) * (raw ? 4 : 1);
        if (raw) {
          // Back to channel order: lo = {0-3 | 8-11}, hi = {4-7 | 12-15}.
          alignas(32) int32_t tmp[16];
          _mm256_store_si256(reinterpret_cast<__m256i*>(tmp), _mm256_permute2x128_si256(lo, hi, 0x20));
          _mm256_store_si256(reinterpret_cast<__m256i*>(tmp + 8), _mm256_permute2x128_si256(lo, hi, 0x31));
          std::memcpy(out, tmp, static_cast<size_t>(valid) * 4);
          continue;
        }
        const __m256i ylo = _mm256_min_epi32(_mm256_max_epi32(requant8(lo, plan.requant[2 * b]), qmin), qmax);
        const __m256i yhi = _mm256_min_epi32(_mm256_max_epi32(requant8(hi, plan.requant[2 * b + 1]), qmin), qmax);
        // packs within 128-bit lanes puts channels 0-7 | 8-15 in order; the
        // values are inside [qmin, qmax], so the saturating packs only narrow.
        const __m256i w16 = _mm256_packs_epi32(ylo, yhi);
        const __m128i a = _mm256_castsi256_si128(w16), c = _mm256_extracti128_si256(w16, 1);
        const __m128i b8 = out_signed ? _mm_packs_epi16(a, c) : _mm_packus_epi16(a, c);
        if (valid == 16) {
          _mm_storeu_si128(reinterpret_cast<__m128i*>(out), b8);
        } else {
          alignas(16) uint8_t tmp[16];
          _mm_store_si128(reinterpret_cast<__m128i*>(tmp), b8);
          std::memcpy(out, tmp, static_cast<size_t>(valid));
        }
      }
    };
    if (taps == K)
      columns(std::integral_constant<int, K>{});
    else
      columns(std::integral_constant<int, 0>{});
  }
}

}  // namespace

void depthwise_conv2d__avx2(const DepthwisePlan& plan, const void* src, void* dst,
                            ThreadPool* pool, uint8_t* scratch) {
  depthwise_drive(plan, src, dst, pool, scratch,
                  plan.src_signed ? build_pair_row<true> : build_pair_row<false>,
                  plan.kernel == 5 ? output_row<5> : output_row<3>);
}

}  // namespace dyad::kernels
