// Plan-time layout of the vector depthwise conv2d, AVX2 and AVX-512 (portable code).
#include "kernels/conv2d/depthwise.h"

namespace dyad::kernels {

namespace {
// Channel (within a block of `width`) of accumulator lane i in [0, width):
// lane j of a half sits in 128-bit lane j / 4; the lo half holds channels
// 8k..8k+3 of 128-bit lane k, the hi half 8k+4..8k+7.
int lane_channel(int i, int width) {
  if (width == 32) return i;  // the quad layout keeps channel order
  const int half = i / (width / 2), j = i % (width / 2);
  return 8 * (j / 4) + j % 4 + 4 * half;
}

// The pair layout's weights (W = 16): lane pair (2j, 2j+1) of half h
// multiplies the activations of taps (kw, kw + 1) of channel
// lane_channel(W/2 h + j).
void fill_pairs(const int8_t* wei, int64_t C, int W, DepthwisePlan* plan) {
  const int64_t K = plan->kernel, pairs = (K + 1) / 2, blocks = plan->blocks;
  auto w_at = [&](int64_t c, int64_t kh, int64_t kw) -> int16_t {
    return (c < C && kw < K) ? wei[(c * K + kh) * K + kw] : 0;
  };
  plan->weights.assign(static_cast<size_t>(K * blocks * pairs * 2 * W), 0);
  for (int64_t b = 0; b < blocks; ++b)
    for (int64_t kh = 0; kh < K; ++kh)
      for (int64_t pair = 0; pair < pairs; ++pair)
        for (int half = 0; half < 2; ++half) {
          int16_t* v = &plan->weights[static_cast<size_t>((((kh * blocks + b) * pairs + pair) * 2 + half) * W)];
          for (int j = 0; j < W / 2; ++j) {
            const int64_t c = W * b + lane_channel(W / 2 * half + j, W);
            v[2 * j] = w_at(c, kh, 2 * pair);
            v[2 * j + 1] = w_at(c, kh, 2 * pair + 1);
          }
        }
}

// The quad layout's weights, row sums and bias correction (W = 32,
// depthwise.h).
void fill_quads(const Conv2dParams& p, bool src_signed, const int8_t* wei, DepthwisePlan* plan) {
  constexpr int W = 32;
  const int64_t C = p.in_c, K = plan->kernel, quads = (K + 3) / 4, blocks = plan->blocks;
  // z' in the byte domain of vpdpbusd's unsigned operand, mod 2^32 below.
  const uint32_t zq = static_cast<uint32_t>(p.src_zero_point + (src_signed ? 128 : 0));
  plan->quad_weights.assign(static_cast<size_t>(K * blocks * quads * W * 4), 0);
  plan->row_sums.assign(static_cast<size_t>(K * blocks * W), 0);
  for (int64_t kh = 0; kh < K; ++kh)
    for (int64_t b = 0; b < blocks; ++b)
      for (int i = 0; i < W; ++i) {
        const int64_t c = W * b + i;
        if (c >= C) continue;
        uint32_t row_sum = 0;
        for (int64_t kw = 0; kw < K; ++kw) {
          const int8_t w = wei[(c * K + kh) * K + kw];
          const int64_t q = kw / 4, t = kw % 4;
          plan->quad_weights[static_cast<size_t>((((kh * blocks + b) * quads + q) * W + i) * 4 + t)] = w;
          row_sum += zq * static_cast<uint32_t>(static_cast<int32_t>(w));
        }
        plan->row_sums[static_cast<size_t>((kh * blocks + b) * W + i)] = static_cast<int32_t>(row_sum);
        plan->bias[static_cast<size_t>(b * W + i)] =
            static_cast<int32_t>(static_cast<uint32_t>(plan->bias[static_cast<size_t>(b * W + i)]) - row_sum);
      }
}
}  // namespace

bool depthwise_plan(const Conv2dParams& p, bool src_signed, const int8_t* wei, const int32_t* bias,
                    const Dyadic* requant, int width, DepthwisePlan* plan, std::string* why) {
  if (width != 16 && width != 32) {
    *why = "depthwise block width other than 16 or 32";
    return false;
  }
  const int W = width;
  if (p.groups != p.in_c || p.out_c != p.in_c) {
    *why = "not depthwise with one output per channel";
    return false;
  }
  if (p.kernel_h != p.kernel_w || (p.kernel_h != 3 && p.kernel_h != 5) || p.dilation_h != 1 ||
      p.dilation_w != 1) {
    *why = "not a 3x3 or 5x5 undilated window";
    return false;
  }
  if (p.stride_h < 1 || p.stride_h > 2 || p.stride_w < 1 || p.stride_w > 2) {
    *why = "stride other than 1 or 2";
    return false;
  }
  const bool raw = p.out.type == IntType::kS32;
  if (!raw && p.out.type != IntType::kS8 && p.out.type != IntType::kU8) {
    *why = "output container other than int8, uint8, int32";
    return false;
  }
  if (!raw && requant == nullptr) {
    *why = "requantized output without constants";
    return false;
  }
  plan->params = p;
  plan->src_signed = src_signed;
  plan->width = W;
  const int64_t C = p.in_c, blocks = (C + W - 1) / W;
  plan->blocks = blocks;
  const int K = static_cast<int>(p.kernel_h);
  plan->kernel = K;
  const bool quads = W == 32;  // the AVX-512 layout
  plan->entries = quads ? p.out_w + ((K + 3) / 4 - 1) * (4 / p.stride_w)
                        : p.out_w + ((K + 1) / 2 - 1) * (2 / p.stride_w);
  plan->bias.assign(static_cast<size_t>(blocks * W), 0);
  if (!raw) plan->requant.assign(static_cast<size_t>(blocks * (W / 8)), RequantBlock8{});
  for (int64_t b = 0; b < blocks; ++b) {
    for (int i = 0; i < W; ++i) {
      const int64_t c = W * b + lane_channel(i, W);
      plan->bias[b * W + i] = (c < C && bias != nullptr) ? bias[c] : 0;
      if (!raw)
        set_requant_lane(plan->requant[b * (W / 8) + i / 8], i % 8, c < C ? requant[c] : Dyadic{0, 1},
                         p.out.zero_point);
    }
  }
  if (quads) {
    fill_quads(p, src_signed, wei, plan);  // also moves the zero point into the bias
  } else {
    fill_pairs(wei, C, W, plan);
  }
  // An entry: two vectors of W int16 (unpacklo, unpackhi), or W dwords of
  // 4 bytes (quads).
  const size_t row = static_cast<size_t>(blocks * plan->entries * 4 * W);
  plan->scratch_bytes_per_thread = (K * row + 63) / 64 * 64;
  return true;
}

}  // namespace dyad::kernels
