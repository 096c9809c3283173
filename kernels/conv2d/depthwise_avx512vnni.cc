// AVX-512 VNNI depthwise 3x3 / 5x5 conv2d on quad rows (kernels/conv2d/
// depthwise.h has the layout): 32 channels per block, one vpdpbusd per four
// taps of 16 channels, where the pair rows of the AVX2 kernel take two
// vpdpwssd; then the zmm requant (Requant16).
//
// Exactness: with u = x (x + 128 for int8 x) and z' = z_x (z_x + 128), x -
// z_x = u - z', and a padded tap, whose reference value is x = z_x, holds
// u = z'. So sum_taps (x - z_x) w = sum_taps u w - z' sum_window w: the
// kernel adds u w over every tap of the rows inside the image, the row sums
// z' sum_kw w for the rows outside it, and the bias carries - z' sum_window
// w. vpdpbusd multiplies each u8 by an s8 exactly and adds four products
// into int32 (the non-saturating form), modulo 2^32 like the corrections, so
// the result is the true accumulator modulo 2^32, and the true accumulator
// itself because the builder proved |bias| + max|x - z_x| * sum|w| < 2^31
// for every channel (engine/ops/conv2d.cc). Taps past K have weight 0.
// Requant16 is requant8 of the AVX2 kernel step for step on 16 lanes; the
// results are clamped to [qmin, qmax] before the truncating vpmovdb, which
// therefore keeps each value.
#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <type_traits>

#include "kernels/common/requant_avx512.h"
#include "kernels/conv2d/depthwise_driver.h"

namespace dyad::kernels {

namespace {

constexpr int kW = 32;  // channels per block: two zmm of 16 dwords

// Mask of the first `valid` of 16 lanes (valid may be <= 0 or >= 16).
inline __mmask16 first16(int64_t valid) {
  return valid >= 16 ? static_cast<__mmask16>(0xFFFF)
                     : static_cast<__mmask16>(valid <= 0 ? 0 : (1u << valid) - 1);
}

// Quad row of one input row: for each block b, entry j and half h (16
// channels), a zmm whose dword i holds the bytes u of channel 16h + i at
// padded columns j * stride_w .. + 3, first column in the low byte. Each
// column is one vpmovzxbd of 16 channels; an entry is the previous one
// shifted down by stride_w bytes with the new columns shifted in. Entries
// whose new columns all lie inside the image take them without bounds
// checks, and from plain loads where the half has all 16 channels (the
// checks and the plan reloads of one loop for every entry took as long as
// the shifts: 12 % of MobileNetV2's time in all).
template <bool kSigned, int kStride>
void build_quad_row_strided(const DepthwisePlan& plan, const uint8_t* x_row, uint8_t* out) {
  const Conv2dParams& p = plan.params;
  const int64_t C = p.in_c, in_w = p.in_w, pad = p.pad_left, entries = plan.entries, blocks = plan.blocks;
  const __m512i zq = _mm512_set1_epi32(static_cast<int32_t>(p.src_zero_point + (kSigned ? 128 : 0)));
  const __m512i flip = _mm512_set1_epi32(kSigned ? 0x80 : 0);
  // Entries [lo, hi) (past entry 0) have new columns j * S + 4 - S .. j * S + 3
  // in [pad, pad + in_w): j >= (pad - 4 + S) / S rounded up, j <= (in_w + pad - 4) / S.
  const int64_t first = pad - 4 + kStride;
  const int64_t lo = first <= kStride ? 1 : (first + kStride - 1) / kStride;
  const int64_t last = in_w + pad - 4;
  const int64_t hi = std::max(lo, std::min(entries, last < 0 ? int64_t{0} : last / kStride + 1));
  for (int64_t b = 0; b < blocks; ++b) {
    for (int h = 0; h < 2; ++h) {
      const int64_t c0 = kW * b + 16 * h;
      const __mmask16 mask = first16(C - c0);
      const bool full = C - c0 >= 16;
      // Padded column q (inside the image) of this half's channels.
      auto at = [&](int64_t q) { return x_row + c0 + (q - pad) * C; };
      // Column q as 16 dwords of u (z' in the padding; 0 for channels past
      // C, whose weights are 0).
      auto inside = [&](int64_t q) {
        const __m512i v = _mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(mask, at(q)));
        return kSigned ? _mm512_mask_xor_epi32(v, mask, v, flip) : v;
      };
      auto column = [&](int64_t q) { return q < pad || q >= pad + in_w ? zq : inside(q); };
      auto shift_in = [](__m512i quad, __m512i c_prev, __m512i c) {
        if constexpr (kStride == 1) return _mm512_or_si512(_mm512_srli_epi32(quad, 8), _mm512_slli_epi32(c, 24));
        return _mm512_ternarylogic_epi32(_mm512_srli_epi32(quad, 16), _mm512_slli_epi32(c_prev, 16),
                                         _mm512_slli_epi32(c, 24), 0xFE);
      };
      auto* e = reinterpret_cast<__m512i*>(out + b * entries * 4 * kW) + h;
      __m512i quad = _mm512_or_si512(
          _mm512_or_si512(column(0), _mm512_slli_epi32(column(1), 8)),
          _mm512_or_si512(_mm512_slli_epi32(column(2), 16), _mm512_slli_epi32(column(3), 24)));
      _mm512_store_si512(e, quad);
      auto edge = [&](int64_t from, int64_t to) {
        for (int64_t j = from; j < to; ++j) {
          const int64_t q = j * kStride + 3;
          quad = shift_in(quad, kStride == 2 ? column(q - 1) : quad, column(q));
          _mm512_store_si512(e + 2 * j, quad);
        }
      };
      edge(1, lo);
      if (full) {
        auto plain = [&](int64_t q) {
          return _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(at(q))));
        };
        for (int64_t j = lo; j < hi; ++j) {
          const int64_t q = j * kStride + 3;
          quad = shift_in(quad, kStride == 2 ? _mm512_xor_si512(plain(q - 1), flip) : quad,
                          _mm512_xor_si512(plain(q), flip));
          _mm512_store_si512(e + 2 * j, quad);
        }
      } else {
        for (int64_t j = lo; j < hi; ++j) {
          const int64_t q = j * kStride + 3;
          quad = shift_in(quad, kStride == 2 ? inside(q - 1) : quad, inside(q));
          _mm512_store_si512(e + 2 * j, quad);
        }
      }
      edge(hi, entries);
    }
  }
}

template <bool kSigned>
void build_quad_row(const DepthwisePlan& plan, const uint8_t* x_row, uint8_t* out) {
  plan.params.stride_w == 1 ? build_quad_row_strided<kSigned, 1>(plan, x_row, out)
                            : build_quad_row_strided<kSigned, 2>(plan, x_row, out);
}

// One output row of a KxK window: rows[kh] is the quad row of input row
// oh*sh - pad_top + kh, or null when that row is outside the image (its
// row sums are added instead). The weights of the block's rows inside the
// image (K * quads * 2 zmm) are gathered once per block.
template <int K>
void output_row(const DepthwisePlan& plan, const uint8_t* const* rows, uint8_t* y_row) {
  constexpr int kQuads = (K + 3) / 4;  // tap quads per kernel row
  const Conv2dParams& p = plan.params;
  const int64_t C = p.out_c, step = 4 / p.stride_w;  // entry offset of quad q + 1 from quad q
  const bool raw = plan.requant.empty();
  const __m512i qmin = _mm512_set1_epi32(static_cast<int32_t>(p.out.min));
  const __m512i qmax = _mm512_set1_epi32(static_cast<int32_t>(p.out.max));
  for (int64_t b = 0; b < plan.blocks; ++b) {
    __m512i base[2] = {_mm512_loadu_si512(&plan.bias[b * kW]), _mm512_loadu_si512(&plan.bias[b * kW + 16])};
    __m512i w[K][kQuads][2];
    const __m512i* r[K];
    int taps = 0;
    for (int kh = 0; kh < K; ++kh) {
      const int32_t* row_sum = &plan.row_sums[static_cast<size_t>((kh * plan.blocks + b) * kW)];
      if (rows[kh] == nullptr) {
        for (int h = 0; h < 2; ++h) base[h] = _mm512_add_epi32(base[h], _mm512_loadu_si512(row_sum + 16 * h));
        continue;
      }
      const int8_t* wk = &plan.quad_weights[static_cast<size_t>((kh * plan.blocks + b) * kQuads * kW * 4)];
      for (int q = 0; q < kQuads; ++q)
        for (int h = 0; h < 2; ++h) w[taps][q][h] = _mm512_loadu_si512(wk + (q * kW + 16 * h) * 4);
      r[taps] = reinterpret_cast<const __m512i*>(rows[kh] + b * plan.entries * 4 * kW);
      ++taps;
    }
    const __mmask16 m0 = first16(C - kW * b), m1 = first16(C - kW * b - 16);
    // Every output column of the block: the sums of column ow (channels 0-15
    // and 16-31) go to store(ow, acc). The rows of the image's interior
    // have all K kernel rows inside it: that loop is unrolled whole (a
    // loop over a run-time tap count, and a requant path chosen per column,
    // had cost 10-15 % of these steps).
    auto columns = [&](auto store) {
      auto sweep = [&](auto tap_count) {
        constexpr int kFixed = decltype(tap_count)::value;  // 0: taps at run time
        const int n_taps = kFixed != 0 ? kFixed : taps;
        for (int64_t ow = 0; ow < p.out_w; ++ow) {
          __m512i acc[2] = {base[0], base[1]};
#pragma GCC unroll 5
          for (int t = 0; t < n_taps; ++t)
#pragma GCC unroll 2
            for (int q = 0; q < kQuads; ++q) {
              const __m512i* e = r[t] + 2 * (ow + q * step);
              for (int h = 0; h < 2; ++h)
                acc[h] = _mm512_dpbusd_epi32(acc[h], _mm512_load_si512(e + h), w[t][q][h]);
            }
          store(ow, acc);
        }
      };
      if (taps == K)
        sweep(std::integral_constant<int, K>{});
      else
        sweep(std::integral_constant<int, 0>{});
    };
    if (raw) {
      columns([&](int64_t ow, const __m512i acc[2]) {
        auto* out = reinterpret_cast<int32_t*>(y_row + (ow * C + kW * b) * 4);
        _mm512_mask_storeu_epi32(out, m0, acc[0]);
        _mm512_mask_storeu_epi32(out + 16, m1, acc[1]);
      });
      continue;
    }
    const Requant16 rq0(plan.requant[4 * b], plan.requant[4 * b + 1]);
    const Requant16 rq1(plan.requant[4 * b + 2], plan.requant[4 * b + 3]);
    auto requantized = [&](auto apply) {
      return [&, apply](int64_t ow, const __m512i acc[2]) {
        uint8_t* out = y_row + ow * C + kW * b;
        const __m512i y0 = _mm512_min_epi32(_mm512_max_epi32(apply(rq0, acc[0]), qmin), qmax);
        const __m512i y1 = _mm512_min_epi32(_mm512_max_epi32(apply(rq1, acc[1]), qmin), qmax);
        _mm_mask_storeu_epi8(out, m0, _mm512_cvtepi32_epi8(y0));
        _mm_mask_storeu_epi8(out + 16, m1, _mm512_cvtepi32_epi8(y1));
      };
    };
    if (rq0.floor && rq1.floor)
      columns(requantized([](const Requant16& rq, __m512i a) { return rq.apply_floor(a); }));
    else if (rq0.floor_wide && rq1.floor_wide)
      columns(requantized([](const Requant16& rq, __m512i a) { return rq.apply_floor_wide(a); }));
    else
      columns(requantized([](const Requant16& rq, __m512i a) { return rq.apply(a); }));
  }
}

}  // namespace

void depthwise_conv2d__avx512vnni(const DepthwisePlan& plan, const void* src, void* dst,
                                  ThreadPool* pool, uint8_t* scratch) {
  depthwise_drive(plan, src, dst, pool, scratch,
                  plan.src_signed ? build_quad_row<true> : build_quad_row<false>,
                  plan.kernel == 5 ? output_row<5> : output_row<3>);
}

}  // namespace dyad::kernels
