// Fully connected layer, PyTorch weight layout [out_features, in_features]
// (docs/format.md "fully_connected"):
//   acc[r, o] = bias[o] + sum_k (x[r, k] - z_x) * w[o, k]
//   y = clamp(z_y + rne(acc * m[o] / 2^e[o]), min, max), or y = acc (int32).
// As for conv2d, the builder proves |acc| < 2^31.
#pragma once

#include <cstdint>

#include "kernels/common/output_stage.h"

namespace dyad::kernels {

class ThreadPool;

struct FullyConnectedParams {
  int64_t rows = 1;          // product of every dim of x but the last
  int64_t in_features = 1;   // K
  int64_t out_features = 1;  // N
  int32_t src_zero_point = 0;
  OutputStage out;           // out.type: kS8, kU8, or kS32 (raw)
};

// src: [rows, K]; wei: [N, K]; bias: [N] or null; dst: [rows, N].
// Rows are split over `pool` (may be null).
void fully_connected_s8_qc8w__ref(const FullyConnectedParams& p, const int8_t* src,
                                  const int8_t* wei, const int32_t* bias, void* dst,
                                  ThreadPool* pool);
void fully_connected_u8_qc8w__ref(const FullyConnectedParams& p, const uint8_t* src,
                                  const int8_t* wei, const int32_t* bias, void* dst,
                                  ThreadPool* pool);

}  // namespace dyad::kernels
