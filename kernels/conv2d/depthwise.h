// Depthwise KxK conv2d (groups == in_c == out_c, K = 3 or 5), AVX2,
// AVX-512 VNNI and NEON: the MobileNetV2 (3x3) and MobileNetV3 / EfficientNet (5x5)
// layers, stride 1 or 2, with the fused dyadic epilogue of the
// GEMM (kernels/common/requant_block8.h). Same results as conv2d_*__ref, bit
// for bit; docs/kernels.md ("Depthwise conv2d") has the argument.
//
// Layout: W channels per block (W = plan.width: 16 for AVX2 on ymm, 32 for
// AVX-512 on zmm; the layout below is written for W = 16, and each 128-bit
// lane of a zmm repeats it for W = 32). Each input row the window touches is turned
// once into a "pair row" of int16 values d = x - z_x (0 in the padding),
// entry j holding d at padded columns p = j * stride_w and p + 1 interleaved
// (vpunpcklwd / vpunpckhwd), so one vpmaddwd against interleaved weights
// (w[kw=2q], w[kw=2q+1]) (w[kw=K] being 0) gives two taps of 8 channels in
// int32: tap pair q of output column ow is entry ow + q * (2 / stride_w), and
// a kernel row takes (K + 1) / 2 pairs.
//
// The AVX-512 VNNI layout (W = 32) is a "quad row" of bytes instead: entry j
// holds, for each channel, the bytes u of padded columns p = j * stride_w ..
// p + 3 (u = x, or x + 128 for int8 x; z_x + 128 or z_x in the padding) in
// one dword, channels 0-15 and 16-31 of the block in two zmm, so one
// vpdpbusd against the weights of taps (4q .. 4q + 3) (those past K being 0)
// gives four taps of 16 channels: tap quad q of output column ow is entry
// ow + q * (4 / stride_w), and a kernel row takes (K + 3) / 4 quads. The
// padding's bytes add z' * w; the bias takes - z' * sum w of the whole
// window, and a kernel row outside the image adds its row_sums instead.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "kernels/common/requant_block8.h"
#include "kernels/conv2d/conv2d.h"

namespace dyad::kernels {

class ThreadPool;

struct DepthwisePlan {
  Conv2dParams params;  // params.out.requant is not read; see `requant`
  bool src_signed = true;
  int width = 16;       // channels per block: 16 (AVX2) or 32 (AVX-512)
  int64_t blocks = 0;   // ceil(channels / width)
  int kernel = 3;       // K: the window is K x K
  // Pair-row entries: out_w + ((K + 1) / 2 - 1) * (2 / stride_w); quad-row
  // entries (W = 32): out_w + ((K + 3) / 4 - 1) * (4 / stride_w).
  int64_t entries = 0;
  // W = 16: [kh][block][pair q: (kw 2q, kw 2q+1), the last (kw K-1, 0)][lo,
  // hi] as W int16 each, in the vpunpck{l,h}wd order of the activations;
  // channels past in_c are 0.
  std::vector<int16_t> weights;
  // W = 32: [kh][block][quad q][16-channel half][channel][tap 4q .. 4q + 3]
  // as bytes (taps past K and channels past in_c 0).
  std::vector<int8_t> quad_weights;
  // W = 32: [kh][block][channel]: z' * sum of kernel row kh's weights (mod
  // 2^32), added for a kernel row outside the image (z' = z_x, + 128 for
  // int8 x).
  std::vector<int32_t> row_sums;
  // Per block, W int32 in accumulator lane order. W = 16: the "lo" half
  // (lanes [0, W/2)) holds, per 128-bit lane k, channels 8k..8k+3; the "hi"
  // half channels 8k+4..8k+7 (lo = 0-3, 8-11, hi = 4-7, 12-15). W = 32:
  // channel order, the bias minus z' * sum of the window's weights (mod 2^32).
  std::vector<int32_t> bias;
  std::vector<RequantBlock8> requant;  // W/8 per block, same lane order; empty: int32 output
  size_t scratch_bytes_per_thread = 0;  // K pair rows, 64-byte multiple
};

// Fills `plan` if the vector depthwise kernels apply: groups == in_c ==
// out_c, 3x3 or 5x5, dilation 1, strides 1 or 2, int8 or uint8 containers
// in, int8, uint8 (requantized) or int32 (raw) out. Else false and why. `wei`
// is [C, K, K, 1], bias C entries or null, requant C entries (ignored for an
// int32 output).
// `width`: 16 or 32 channels per block.
bool depthwise_plan(const Conv2dParams& p, bool src_signed, const int8_t* wei, const int32_t* bias,
                    const Dyadic* requant, int width, DepthwisePlan* plan, std::string* why);
inline bool depthwise_avx2_plan(const Conv2dParams& p, bool src_signed, const int8_t* wei,
                                const int32_t* bias, const Dyadic* requant, DepthwisePlan* plan,
                                std::string* why) {
  return depthwise_plan(p, src_signed, wei, bias, requant, 16, plan, why);
}
inline bool depthwise_avx512vnni_plan(const Conv2dParams& p, bool src_signed, const int8_t* wei,
                                      const int32_t* bias, const Dyadic* requant, DepthwisePlan* plan,
                                      std::string* why) {
  return depthwise_plan(p, src_signed, wei, bias, requant, 32, plan, why);
}

// `scratch`: num_threads slices of plan.scratch_bytes_per_thread bytes,
// 64-byte aligned (num_threads = pool ? pool->num_threads() : 1), or null to
// allocate them. Output rows are split over the threads in fixed bands.
// depthwise_conv2d__avx2 needs a plan of width 16, __avx512vnni of width 32
// (and a CPU with AVX-512 F/BW/VL + VNNI).
void depthwise_conv2d__avx2(const DepthwisePlan& plan, const void* src, void* dst,
                            ThreadPool* pool, uint8_t* scratch);
void depthwise_conv2d__avx512vnni(const DepthwisePlan& plan, const void* src, void* dst,
                                  ThreadPool* pool, uint8_t* scratch);
// 64-bit ARM (depthwise_neon.cc, built on aarch64 only): a plan of width 16,
// the AVX2 layout in 128-bit halves.
void depthwise_conv2d__neon(const DepthwisePlan& plan, const void* src, void* dst, ThreadPool* pool,
                            uint8_t* scratch);

}  // namespace dyad::kernels
