// Plan-time layout of the AVX2 depthwise conv2d (portable code).
#include "kernels/conv2d/depthwise.h"

namespace dyad::kernels {

namespace {
// Channel (within a block of 16) of accumulator lane i in [0, 16): the lo
// half (lanes 0-7) holds channels 0-3 and 8-11, the hi half 4-7 and 12-15.
int lane_channel(int i) {
  const int half = i / 8, j = i % 8;
  return (j < 4 ? j : j + 4) + 4 * half;
}
}  // namespace

bool depthwise_avx2_plan(const Conv2dParams& p, bool src_signed, const int8_t* wei,
                         const int32_t* bias, const Dyadic* requant, DepthwiseAvx2Plan* plan,
                         std::string* why) {
  if (p.groups != p.in_c || p.out_c != p.in_c) {
    *why = "not depthwise with one output per channel";
    return false;
  }
  if (p.kernel_h != 3 || p.kernel_w != 3 || p.dilation_h != 1 || p.dilation_w != 1) {
    *why = "not a 3x3 undilated window";
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
  const int64_t C = p.in_c, blocks = (C + 15) / 16;
  plan->blocks = blocks;
  plan->entries = p.out_w + 2 / p.stride_w;
  plan->weights.assign(static_cast<size_t>(3 * blocks * 2 * 2 * 16), 0);
  plan->bias.assign(static_cast<size_t>(blocks * 16), 0);
  if (!raw) plan->requant.assign(static_cast<size_t>(blocks * 2), RequantBlock8{});
  auto w_at = [&](int64_t c, int64_t kh, int64_t kw) -> int16_t {
    return (c < C && kw < 3) ? wei[(c * 3 + kh) * 3 + kw] : 0;
  };
  for (int64_t b = 0; b < blocks; ++b) {
    for (int i = 0; i < 16; ++i) {
      const int64_t c = 16 * b + lane_channel(i);
      plan->bias[b * 16 + i] = (c < C && bias != nullptr) ? bias[c] : 0;
      if (!raw)
        set_requant_lane(plan->requant[b * 2 + i / 8], i % 8, c < C ? requant[c] : Dyadic{0, 1},
                         p.out.zero_point);
      // Weight vectors: lane pair (2j, 2j+1) of half h multiplies the
      // activations of taps (kw, kw + 1) of channel lane_channel(8h + j).
    }
    for (int64_t kh = 0; kh < 3; ++kh)
      for (int pair = 0; pair < 2; ++pair)
        for (int half = 0; half < 2; ++half) {
          int16_t* v = &plan->weights[static_cast<size_t>((((kh * blocks + b) * 2 + pair) * 2 + half) * 16)];
          for (int j = 0; j < 8; ++j) {
            const int64_t c = 16 * b + lane_channel(8 * half + j);
            v[2 * j] = w_at(c, kh, 2 * pair);
            v[2 * j + 1] = w_at(c, kh, 2 * pair + 1);
          }
        }
  }
  const size_t row = static_cast<size_t>(blocks * plan->entries * 64);
  plan->scratch_bytes_per_thread = (3 * row + 63) / 64 * 64;
  return true;
}

}  // namespace dyad::kernels
