// AVX-512 VNNI depthwise 3x3 / 5x5 conv2d: the AVX2 kernel (depthwise_avx2.cc) on
// zmm, 32 channels per block (kernels/conv2d/depthwise.h has the layout;
// each 128-bit lane of a zmm repeats the AVX2 one), with vpdpwssd fusing the
// pair multiply and the accumulate, and the zmm requant (Requant16).
//
// Exactness: d = x - z_x is in [-255, 255] and a weight in [-128, 127], so
// each pair product d0*w0 + d1*w1 is exact in int32. vpdpwssd (the
// non-saturating form) adds it to the accumulator modulo 2^32; the builder
// proved |bias| + max|d| * sum|w| < 2^31 for every channel
// (engine/ops/conv2d.cc), and every partial sum is bounded by that, so no
// sum wraps and each equals the reference's. The taps are added in a
// different order than the reference; integer addition is exact, so the sum
// is the same. Requant16 is requant8 of the AVX2 kernel step for step on 16
// lanes; the results are clamped to [qmin, qmax] before the saturating
// narrowing, which therefore only narrows.
#include <immintrin.h>

#include <algorithm>
#include <cstdint>

#include "kernels/common/requant_avx512.h"
#include "kernels/conv2d/depthwise_driver.h"

namespace dyad::kernels {

namespace {

constexpr int kW = 32;  // channels per block

// Mask of the first `valid` of 32 lanes.
inline __mmask32 first_lanes(int64_t valid) {
  return valid >= 32 ? static_cast<__mmask32>(0xFFFFFFFFu) : static_cast<__mmask32>((1u << valid) - 1);
}

// d = x - z_x of 32 channels as int16 (channels >= `valid` are not read and
// hold -z_x: their weights are 0 and their outputs are not stored).
template <bool kSigned>
inline __m512i load32(const uint8_t* x, int64_t valid, __m512i zx) {
  const __m256i v = valid >= 32 ? _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x))
                                : _mm256_maskz_loadu_epi8(first_lanes(valid), x);
  return _mm512_sub_epi16(kSigned ? _mm512_cvtepi8_epi16(v) : _mm512_cvtepu8_epi16(v), zx);
}

// Pair row of one input row: for each block b and entry j, 128 bytes:
// unpacklo / unpackhi of (d[p], d[p + 1]), p = j * stride_w, d at padded
// column q being x[q - pad_left] - z_x (0 in the padding).
template <bool kSigned>
void build_pair_row(const DepthwisePlan& plan, const uint8_t* x_row, uint8_t* out) {
  const Conv2dParams& p = plan.params;
  const __m512i zx = _mm512_set1_epi16(static_cast<int16_t>(p.src_zero_point));
  const int64_t C = p.in_c, sw = p.stride_w;
  for (int64_t b = 0; b < plan.blocks; ++b) {
    const int64_t valid = std::min<int64_t>(kW, C - kW * b);
    auto d_at = [&](int64_t q) {
      const int64_t iw = q - p.pad_left;
      if (iw < 0 || iw >= p.in_w) return _mm512_setzero_si512();
      return load32<kSigned>(x_row + iw * C + kW * b, valid, zx);
    };
    __m512i* e = reinterpret_cast<__m512i*>(out + b * plan.entries * 4 * kW);
    __m512i next = d_at(0);
    for (int64_t j = 0; j < plan.entries; ++j) {
      const __m512i d0 = sw == 1 ? next : d_at(j * sw);
      const __m512i d1 = d_at(j * sw + 1);
      next = d1;
      _mm512_store_si512(e + 2 * j, _mm512_unpacklo_epi16(d0, d1));
      _mm512_store_si512(e + 2 * j + 1, _mm512_unpackhi_epi16(d0, d1));
    }
  }
}

// One output row of a KxK window: rows[kh] is the pair row of input row
// oh*sh - pad_top + kh, or null when that row is padding. The weights of the
// block (K * (K + 1) zmm: 12 for 3x3, 30 for 5x5) are gathered once per block
// into a local array of the taps present (GCC keeps it on the stack and
// vpdpwssd reads it as a memory operand, from L1).
template <int K>
void output_row(const DepthwisePlan& plan, const uint8_t* const* rows, uint8_t* y_row) {
  constexpr int kPairs = (K + 1) / 2;  // tap pairs per kernel row
  const Conv2dParams& p = plan.params;
  const int64_t C = p.out_c, step = 2 / p.stride_w;  // entry offset of tap pair q + 1 from pair q
  const bool raw = plan.requant.empty();
  const __m512i qmin = _mm512_set1_epi32(static_cast<int32_t>(p.out.min));
  const __m512i qmax = _mm512_set1_epi32(static_cast<int32_t>(p.out.max));
  const bool out_signed = p.out.type == IntType::kS8;
  // Raw output: channel m of 16 comes from 128-bit lane m / 8 of lo (m % 8 <
  // 4) or hi, element m % 4; the second 16 from 128-bit lanes 2 and 3.
  const __m512i order0 = _mm512_setr_epi32(0, 1, 2, 3, 16, 17, 18, 19, 4, 5, 6, 7, 20, 21, 22, 23);
  const __m512i order1 = _mm512_setr_epi32(8, 9, 10, 11, 24, 25, 26, 27, 12, 13, 14, 15, 28, 29, 30, 31);
  for (int64_t b = 0; b < plan.blocks; ++b) {
    const int64_t valid = std::min<int64_t>(kW, C - kW * b);
    const __m512i bias_lo = _mm512_loadu_si512(&plan.bias[b * kW]);
    const __m512i bias_hi = _mm512_loadu_si512(&plan.bias[b * kW + 16]);
    __m512i w[K][2 * kPairs];
    const __m512i* r[K];
    int taps = 0;
    for (int kh = 0; kh < K; ++kh) {
      if (rows[kh] == nullptr) continue;
      const int16_t* wk = &plan.weights[((kh * plan.blocks + b) * 2 * kPairs) * kW];
      for (int v = 0; v < 2 * kPairs; ++v) w[taps][v] = _mm512_loadu_si512(wk + v * kW);
      r[taps] = reinterpret_cast<const __m512i*>(rows[kh] + b * plan.entries * 4 * kW);
      ++taps;
    }
    // The int32 sums of output column ow: bias plus every tap (vpdpwssd).
    auto accumulate = [&](int64_t ow, __m512i* lo_out, __m512i* hi_out) {
      __m512i lo = bias_lo, hi = bias_hi;
      for (int t = 0; t < taps; ++t)
        for (int q = 0; q < kPairs; ++q) {
          const __m512i* e = r[t] + 2 * (ow + q * step);
          lo = _mm512_dpwssd_epi32(lo, _mm512_load_si512(e), w[t][2 * q]);
          hi = _mm512_dpwssd_epi32(hi, _mm512_load_si512(e + 1), w[t][2 * q + 1]);
        }
      *lo_out = lo;
      *hi_out = hi;
    };
    uint8_t* out_block = y_row + kW * b * (raw ? 4 : 1);
    if (raw) {
      const __mmask16 m0 = static_cast<__mmask16>(first_lanes(valid) & 0xFFFF);
      const __mmask16 m1 = static_cast<__mmask16>(first_lanes(valid) >> 16);
      for (int64_t ow = 0; ow < p.out_w; ++ow) {
        __m512i lo, hi;
        accumulate(ow, &lo, &hi);
        auto* out = reinterpret_cast<int32_t*>(out_block + ow * C * 4);
        _mm512_mask_storeu_epi32(out, m0, _mm512_permutex2var_epi32(lo, order0, hi));
        _mm512_mask_storeu_epi32(out + 16, m1, _mm512_permutex2var_epi32(lo, order1, hi));
      }
      continue;
    }
    const Requant16 rq_lo(plan.requant[4 * b], plan.requant[4 * b + 1]);
    const Requant16 rq_hi(plan.requant[4 * b + 2], plan.requant[4 * b + 3]);
    const __mmask32 mask = first_lanes(valid);
    for (int64_t ow = 0; ow < p.out_w; ++ow) {
      __m512i lo, hi;
      accumulate(ow, &lo, &hi);
      const __m512i ylo = _mm512_min_epi32(_mm512_max_epi32(rq_lo.apply(lo), qmin), qmax);
      const __m512i yhi = _mm512_min_epi32(_mm512_max_epi32(rq_hi.apply(hi), qmin), qmax);
      // packs within 128-bit lanes puts lane k's channels 8k..8k+3 (lo) and
      // 8k+4..8k+7 (hi) side by side: 32 int16 in channel order, inside
      // [qmin, qmax], so the saturating narrowings only narrow.
      const __m512i w16 = _mm512_packs_epi32(ylo, yhi);
      uint8_t* out = out_block + ow * C;
      if (out_signed) _mm512_mask_cvtsepi16_storeu_epi8(out, mask, w16);
      else _mm512_mask_cvtusepi16_storeu_epi8(out, mask, w16);
    }
  }
}

}  // namespace

void depthwise_conv2d__avx512vnni(const DepthwisePlan& plan, const void* src, void* dst,
                                  ThreadPool* pool, uint8_t* scratch) {
  depthwise_drive(plan, src, dst, pool, scratch,
                  plan.src_signed ? build_pair_row<true> : build_pair_row<false>,
                  plan.kernel == 5 ? output_row<5> : output_row<3>);
}

}  // namespace dyad::kernels
