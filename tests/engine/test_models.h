// Small valid models for tests. tiny_fc is the example of docs/format.md, the
// same text as models/examples/tiny_fc.json (loader_test checks they agree).
#pragma once

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

}  // namespace dyad::test
