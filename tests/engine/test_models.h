// Small valid models for tests. tiny_fc is the example of docs/format.md, the
// same text as models/examples/tiny_fc.json (loader_test checks they agree).
#pragma once

#include <string>

namespace dyad::test {

// x int8 [1, 4] -> fully_connected(w int8 [2, 4] per-channel, b int32 [2]) -> y int8.
inline const char* tiny_fc_json() {
  return R"json({
  "format": "dyad", "version": "1.0", "name": "tiny_fc",
  "inputs": ["x"], "outputs": ["y"],
  "tensors": [
    {"name": "x", "dtype": "int8", "shape": [1, 4], "scale": 0.05, "zero_point": 0},
    {"name": "w", "dtype": "int8", "shape": [2, 4], "scale": [0.01, 0.02], "axis": 0,
     "values": [1, -2, 3, -4, 5, 6, -7, 8]},
    {"name": "b", "dtype": "int32", "shape": [2], "values": [100, -50]},
    {"name": "y", "dtype": "int8", "scale": 0.1, "zero_point": -3}
  ],
  "nodes": [
    {"name": "fc", "op": "fully_connected", "inputs": ["x", "w", "b"], "outputs": ["y"],
     "attrs": {"multiplier": [1073741824, 1073741824], "shift": [40, 39]}}
  ]
}
)json";
}

// x int8 [1, side, side, 1] -> max_pool(kernel `window`, stride 1) -> y: one
// channel keeps every kernel on its scalar path, so a run does about
// (side - window + 1)^2 * window^2 comparisons: side 256, window 64 takes some
// 100 ms; side 512, window 256 minutes. For the run timeout and cancel tests.
inline std::string slow_max_pool_json(int side, int window) {
  return R"({"format": "dyad", "version": "1.0", "name": "slow_max_pool",
  "inputs": ["x"], "outputs": ["y"],
  "tensors": [
    {"name": "x", "dtype": "int8", "shape": [1, )" +
         std::to_string(side) + ", " + std::to_string(side) + R"(, 1], "scale": 1.0, "zero_point": 0},
    {"name": "y", "dtype": "int8", "scale": 1.0, "zero_point": 0}
  ],
  "nodes": [
    {"name": "pool", "op": "max_pool", "inputs": ["x"], "outputs": ["y"],
     "attrs": {"kernel": )" +
         std::to_string(window) + R"(, "stride": 1}}
  ]
})";
}

// One conv2d step of `rows` output pixels x 16 channels x K = `channels`
// (a 1x1 conv of 2 pixels, padded on the right to `rows`): a long GEMM that
// the run timeout must stop between its blocks.
inline std::string slow_conv_json(int64_t rows, int channels) {
  std::string weights;
  for (int i = 0; i < 16 * channels; ++i) {
    if (i > 0) weights += ',';
    weights += std::to_string(i % 7 - 3);
  }
  return R"({"format": "dyad", "version": "1.0", "name": "slow_conv",
  "inputs": ["x"], "outputs": ["y"],
  "tensors": [
    {"name": "x", "dtype": "int8", "shape": [1, 1, 2, )" +
         std::to_string(channels) + R"(], "scale": 0.05, "zero_point": 0},
    {"name": "w", "dtype": "int8", "shape": [16, 1, 1, )" +
         std::to_string(channels) + R"(], "scale": 0.01, "values": [)" + weights + R"(]},
    {"name": "y", "dtype": "int8", "scale": 0.5, "zero_point": 0}
  ],
  "nodes": [
    {"name": "conv", "op": "conv2d", "inputs": ["x", "w"], "outputs": ["y"],
     "attrs": {"padding": [0, 0, 0, )" +
         std::to_string(rows - 2) + R"(]}}
  ]
})";
}

}  // namespace dyad::test
