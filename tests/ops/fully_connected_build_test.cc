// fully_connected through the loader, planner and session, and its errors.
#include <gtest/gtest.h>

#include <cstdlib>

#include "kernels/common/cpu.h"

#include "tests/ops/op_test_util.h"

namespace dyad::test {
namespace {

// tests/kernels/fully_connected_test.cc: x (2x3, z_x = -1) = [[0 1 2] [-1 3 -5]],
// w = [[1 0 -1] [2 1 1]], b = [100 -50]: accumulators 98 -43 104 -50.
// o0 by 0.25, o1 by 0.5, z_y = 3: 27 -19 29 -22.
// Scales: S_x = 0.5, S_w = [0.5 1], S_y = 1 give exactly r = [0.25 0.5].
json model(const json& attrs = {{"multiplier", {1073741824, 1073741824}}, {"shift", {32, 31}}}) {
  const json tensors = json::parse(R"([
    {"name": "x", "dtype": "int8", "shape": [2, 3], "scale": 0.5, "zero_point": -1},
    {"name": "w", "dtype": "int8", "shape": [2, 3], "scale": [0.5, 1.0], "axis": 0,
     "values": [1, 0, -1, 2, 1, 1]},
    {"name": "b", "dtype": "int32", "shape": [2], "values": [100, -50]},
    {"name": "y", "dtype": "int8", "scale": 1.0, "zero_point": 3}])");
  return one_node_model("fully_connected", tensors, {"x", "w", "b"}, {"y"}, attrs, {"x"});
}

const std::vector<std::vector<uint8_t>> kInput = {bytes_of<int8_t>({0, 1, 2, -1, 3, -5})};

TEST(FullyConnectedBuild, StoredAndDerivedConstants) {
  EXPECT_EQ(run_model<int8_t>(model(), kInput), (std::vector<int8_t>{27, -19, 29, -22}));
  EXPECT_EQ(run_model<int8_t>(model(json::object()), kInput),
            (std::vector<int8_t>{27, -19, 29, -22}));
  // An exact vector GEMM (AVX2, or VNNI where present) where the CPU has
  // AVX2; the reference when forced.
  if (kernels::cpu_features().avx2) {
    EXPECT_NE(kernel_of(model()).find("__avx"), std::string::npos) << kernel_of(model());
  }
  setenv("DYAD_KERNELS", "ref", 1);
  EXPECT_EQ(kernel_of(model()), "fully_connected_s8_qc8w__ref");
  unsetenv("DYAD_KERNELS");
}

TEST(FullyConnectedBuild, OneEntryListsBroadcastAndLeadingDims) {
  // Both channels by 0.5: 49, -21.5 -> -22, 52, -25; + 3. x as [1, 2, 3] gives y [1, 2, 2].
  json m = model({{"multiplier", {1073741824}}, {"shift", 31}});
  m["tensors"][0]["shape"] = {1, 2, 3};
  EXPECT_EQ(run_model<int8_t>(m, kInput), (std::vector<int8_t>{52, -19, 55, -22}));
  std::shared_ptr<const Model> loaded;
  ASSERT_TRUE(load(m, &loaded).is_ok());
  EXPECT_EQ(loaded->output(0).shape, (Shape{1, 2, 2}));
}

TEST(FullyConnectedBuild, FormatDocumentExample) {
  // docs/format.md tiny_fc: x = [127 -128 127 -128].
  //   o0 = 127 + 256 + 381 + 512 + 100 = 1376, / 2^10 = 1.34 -> 1, + z_y (-3) = -2
  //   o1 = 635 - 768 - 889 - 1024 - 50 = -2096, / 2^9 = -4.09 -> -4, - 3 = -7
  const json m = json::parse(R"({
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
    ]})");
  EXPECT_EQ(run_model<int8_t>(m, {bytes_of<int8_t>({127, -128, 127, -128})}),
            (std::vector<int8_t>{-2, -7}));
}

TEST(FullyConnectedBuild, RawInt32AndUint4Output) {
  json m = model(json::object());
  m["tensors"][3] = {{"name", "y"}, {"dtype", "int32"}};
  EXPECT_EQ(run_model<int32_t>(m, kInput), (std::vector<int32_t>{98, -43, 104, -50}));
  // uint4 output with z_y = 3: 27 -> 15, -19 -> 0, 29 -> 15, -22 -> 0.
  m = model();
  m["tensors"][3]["dtype"] = "uint4";
  EXPECT_EQ(run_model<uint8_t>(m, kInput), (std::vector<uint8_t>{15, 0, 15, 0}));
}

TEST(FullyConnectedBuild, Errors) {
  json m = model();
  m["tensors"][1]["shape"] = {3, 2};
  m["tensors"][1]["scale"] = 0.5;
  m["tensors"][1].erase("axis");
  expect_build_error(m, "inputs[1]", {"3 features"});

  m = model();
  m["tensors"][1]["shape"] = {2, 3, 1};
  expect_build_error(m, "inputs[1]", {"rank 2"});

  m = model();
  m["tensors"][1]["scale"] = {0.5, 1.0, 2.0};
  m["tensors"][1]["axis"] = 1;
  expect_build_error(m, "inputs[1]", {"axis 1"});

  m = model();
  m["tensors"][0]["zero_point"] = {0, 1, 2};
  m["tensors"][0]["axis"] = 1;
  expect_build_error(m, "inputs[0]", {"per-channel zero points"});

  m = model();
  m["tensors"][2]["values"] = {1, 2};
  m["tensors"][2]["shape"] = {1, 2};
  expect_build_error(m, "inputs[2]", {"[1, 2]"});

  m = model({{"stride", 1}, {"multiplier", 1073741824}, {"shift", 31}});
  expect_build_error(m, "attrs.stride", {"unknown attribute"});

  m = model({{"activation", "relu"}});
  m["tensors"][3] = {{"name", "y"}, {"dtype", "int32"}};
  expect_build_error(m, "attrs.activation", {"raw accumulator"});

  m = model({{"multiplier", {1, 2, 3}}, {"shift", 31}});
  expect_build_error(m, "attrs.multiplier", {"expected 1 or 2"});

  m = model();
  m["tensors"][0]["dtype"] = "int32";
  expect_build_error(m, "inputs[0]", {"int32"});
}

}  // namespace
}  // namespace dyad::test
