// Step fusion (engine/ops/fusion.h, engine/plan/planner.cc fuse_steps):
// int_gelu or int_layernorm followed by the requantize that alone reads its
// int64 output runs as one step, with the same output bytes as the two steps (DYAD_FUSION=off)
// and as the reference kernels (DYAD_KERNELS=ref), at 1-4 threads; a GELU
// output that is also a graph output, or read twice, is not fused.
#include <gtest/gtest.h>

#include <cstdlib>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "engine/ops/kernel_select.h"
#include "tests/ops/op_test_util.h"

namespace dyad::test {
namespace {

constexpr int64_t kRows = 37, kChannels = 29;

// x int32 [37, 29] -> int_gelu "g" (int64) -> requantize "q" (int8, zero point -3).
json gelu_requantize_model(bool gelu_is_output, bool second_reader) {
  json tensors = json::parse(R"([
    {"name": "x", "dtype": "int32", "shape": [37, 29], "scale": 0.0007},
    {"name": "g", "dtype": "int64"},
    {"name": "y", "dtype": "int8", "zero_point": -3},
    {"name": "y2", "dtype": "int8"}])");
  json nodes = json::array();
  nodes.push_back({{"name", "gelu"}, {"op", "int_gelu"}, {"inputs", {"x"}}, {"outputs", {"g"}}});
  nodes.push_back({{"name", "q"}, {"op", "requantize"}, {"inputs", {"g"}}, {"outputs", {"y"}},
                   {"attrs", {{"multiplier", -1811939328}, {"shift", 52}}}});
  json outputs = {"y"};
  if (second_reader) {
    nodes.push_back({{"name", "q2"}, {"op", "requantize"}, {"inputs", {"g"}}, {"outputs", {"y2"}},
                     {"attrs", {{"multiplier", 1500000000}, {"shift", 50}}}});
    outputs.push_back("y2");
  }
  if (gelu_is_output) outputs.push_back("g");
  return {{"format", "dyad"}, {"version", "1.0"}, {"inputs", {"x"}}, {"outputs", outputs},
          {"tensors", tensors}, {"nodes", nodes}};
}

std::vector<std::string> kernels_of(const json& model) {
  std::shared_ptr<const Model> m;
  const Status s = load(model, &m);
  EXPECT_TRUE(s.is_ok()) << s.message();
  std::vector<std::string> names;
  if (s.is_ok())
    for (const Step& step : m->plan().steps) names.push_back(step.kernel_name);
  return names;
}

std::vector<uint8_t> input() {
  std::mt19937 rng(3);
  std::vector<int32_t> x(kRows * kChannels);
  for (int32_t& v : x) {
    switch (rng() % 4) {
      case 0: v = static_cast<int32_t>(rng()); break;                // anywhere
      case 1: v = static_cast<int32_t>(rng() % 9) - 4; break;        // near 0
      default: v = static_cast<int32_t>(rng() % 20001) - 10000; break;  // around the clip point (~3600)
    }
  }
  return bytes_of(x);
}

void set_env(const char* name, const char* value) {
  if (value) setenv(name, value, 1);
  else unsetenv(name);
}

TEST(StepFusion, IntGeluRequantizeIsOneStepWithTheSameBytes) {
  const json m = gelu_requantize_model(false, false);
  const std::string vec = avx512_kernels_allowed() ? "avx512"
                          : avx2_kernels_allowed() ? "avx2"
                          : neon_kernels_allowed() ? "neon"
                                                   : "";
  if (vec.empty()) GTEST_SKIP() << "this CPU lacks AVX2 and NEON: no vector int_gelu, nothing to fuse";
  EXPECT_EQ(kernels_of(m), std::vector<std::string>{"int_gelu_requantize__" + vec});

  set_env("DYAD_KERNELS", "ref");
  EXPECT_EQ(kernels_of(m), (std::vector<std::string>{"int_gelu__ref", "requantize__ref"}));
  const std::vector<int8_t> want = run_model<int8_t>(m, {input()});
  set_env("DYAD_KERNELS", nullptr);

  set_env("DYAD_FUSION", "off");
  EXPECT_EQ(kernels_of(m).size(), 2u);
  EXPECT_EQ(run_model<int8_t>(m, {input()}), want);
  set_env("DYAD_FUSION", nullptr);

  for (int threads : {1, 2, 3, 4}) EXPECT_EQ(run_model<int8_t>(m, {input()}, threads), want) << threads;
  // The reference output is not degenerate (the test could tell a wrong kernel).
  EXPECT_GT(std::set<int8_t>(want.begin(), want.end()).size(), 20u);
}

TEST(StepFusion, VisibleOrSharedGeluOutputIsNotFused) {
  if (!avx2_kernels_allowed() && !avx512_kernels_allowed() && !neon_kernels_allowed())
    GTEST_SKIP() << "no vector int_gelu on this CPU";
  EXPECT_EQ(kernels_of(gelu_requantize_model(true, false)).size(), 2u);
  EXPECT_EQ(kernels_of(gelu_requantize_model(false, true)).size(), 3u);
}

// x int32 [37, 29] -> int_layernorm (int64) -> requantize (int8), per-channel
// multipliers.
json layernorm_requantize_model() {
  json tensors = json::parse(R"([
    {"name": "x", "dtype": "int32", "shape": [37, 29], "scale": 0.01},
    {"name": "n", "dtype": "int64"},
    {"name": "y", "dtype": "int8", "zero_point": 2}])");
  std::vector<int64_t> bias;
  std::vector<int64_t> mult, shift;
  for (int c = 0; c < kChannels; ++c) {
    bias.push_back(1000 * c - 14000);
    mult.push_back(c % 2 ? 1105346965 : -1253487633);
    shift.push_back(52 + c % 3);
  }
  json nodes = json::array();
  nodes.push_back({{"name", "ln"}, {"op", "int_layernorm"}, {"inputs", {"x"}}, {"outputs", {"n"}},
                   {"attrs", {{"shift", 3}, {"bias_int", bias}}}});
  nodes.push_back({{"name", "q"}, {"op", "requantize"}, {"inputs", {"n"}}, {"outputs", {"y"}},
                   {"attrs", {{"multiplier", mult}, {"shift", shift}}}});
  return {{"format", "dyad"}, {"version", "1.0"}, {"inputs", {"x"}}, {"outputs", {"y"}},
          {"tensors", tensors}, {"nodes", nodes}};
}

// LayerNorm rows of one spread (uniform in +-10^5), so the normalized values
// use the whole int8 range.
std::vector<uint8_t> layernorm_input() {
  std::mt19937 rng(4);
  std::vector<int32_t> x(kRows * kChannels);
  for (int32_t& v : x) v = static_cast<int32_t>(rng() % 200001) - 100000;
  return bytes_of(x);
}

TEST(StepFusion, IntLayerNormRequantizeIsOneStepWithTheSameBytes) {
  const json m = layernorm_requantize_model();
  if (kernels_of(m).size() != 1)
    GTEST_SKIP() << "no AVX-512 or NEON int_layernorm + requantize on this CPU (or cap): nothing to fuse";
  const std::string vec = neon_kernels_allowed() ? "neon" : "avx512";
  EXPECT_EQ(kernels_of(m), std::vector<std::string>{"int_layernorm_requantize__" + vec});
  set_env("DYAD_KERNELS", "ref");
  const std::vector<int8_t> want = run_model<int8_t>(m, {layernorm_input()});
  set_env("DYAD_KERNELS", nullptr);
  set_env("DYAD_FUSION", "off");
  EXPECT_EQ(kernels_of(m).size(), 2u);
  EXPECT_EQ(run_model<int8_t>(m, {layernorm_input()}), want);
  set_env("DYAD_FUSION", nullptr);
  for (int threads : {1, 2, 3, 4}) EXPECT_EQ(run_model<int8_t>(m, {layernorm_input()}, threads), want) << threads;
  EXPECT_GT(std::set<int8_t>(want.begin(), want.end()).size(), 20u);
}

// Attention over batch 2 x 3 heads x 16 tokens x 8 features: scores =
// q·kᵀ (int32), int_softmax with a [2, 1, 1, 16] mask, ctx = probs·v (int8).
json attention_model(bool with_mask) {
  json tensors = json::parse(R"([
    {"name": "q", "dtype": "int8", "shape": [2, 3, 16, 8]},
    {"name": "k", "dtype": "int8", "shape": [2, 3, 16, 8]},
    {"name": "v", "dtype": "int8", "shape": [2, 3, 16, 8]},
    {"name": "mask", "dtype": "int32", "shape": [2, 1, 1, 16]},
    {"name": "s", "dtype": "int32"},
    {"name": "p", "dtype": "int16"},
    {"name": "c", "dtype": "int8", "zero_point": 1}])");
  json softmax_inputs = with_mask ? json{"s", "mask"} : json{"s"};
  json nodes = json::array();
  nodes.push_back({{"name", "scores"}, {"op", "matmul"}, {"inputs", {"q", "k"}}, {"outputs", {"s"}},
                   {"attrs", {{"transpose_b", true}}}});
  nodes.push_back({{"name", "probs"}, {"op", "int_softmax"}, {"inputs", softmax_inputs}, {"outputs", {"p"}},
                   {"attrs", {{"x0_int", -1390}, {"b_int", 5427}, {"c_int", 11220959},
                              {"act_multiplier", 6895034047371857723}, {"act_shift", 71}}}});
  nodes.push_back({{"name", "ctx"}, {"op", "matmul"}, {"inputs", {"p", "v"}}, {"outputs", {"c"}},
                   {"attrs", {{"multiplier", 1073741824}, {"shift", 40}}}});
  json inputs = with_mask ? json{"q", "k", "v", "mask"} : json{"q", "k", "v"};
  return {{"format", "dyad"}, {"version", "1.0"}, {"inputs", inputs}, {"outputs", {"c"}},
          {"tensors", tensors}, {"nodes", nodes}};
}

std::vector<std::vector<uint8_t>> attention_inputs(bool with_mask) {
  std::mt19937 rng(5);
  std::vector<std::vector<uint8_t>> in;
  for (int t = 0; t < 3; ++t) {
    std::vector<uint8_t> x(2 * 3 * 16 * 8);
    for (uint8_t& v : x) v = static_cast<uint8_t>(rng());
    in.push_back(x);
  }
  if (with_mask) {
    std::vector<int32_t> mask(2 * 16, 1);
    for (int j : {3, 7, 8, 15, 16 + 0, 16 + 9}) mask[static_cast<size_t>(j)] = 0;
    in.push_back(bytes_of(mask));
  }
  return in;
}

TEST(StepFusion, AttentionIsOneStepWithTheSameBytes) {
  for (bool with_mask : {true, false}) {
    const json m = attention_model(with_mask);
    const std::vector<std::string> kernels = kernels_of(m);
    if (kernels.size() != 1) GTEST_SKIP() << "no vector matmul + int_softmax on this CPU (or cap): nothing to fuse";
    EXPECT_EQ(kernels[0].rfind("attention_fused:", 0), 0u) << kernels[0];
    const auto in = attention_inputs(with_mask);
    set_env("DYAD_KERNELS", "ref");
    const std::vector<int8_t> want = run_model<int8_t>(m, in);
    set_env("DYAD_KERNELS", nullptr);
    set_env("DYAD_FUSION", "off");
    EXPECT_EQ(kernels_of(m).size(), 3u);
    EXPECT_EQ(run_model<int8_t>(m, in), want) << "mask " << with_mask;
    set_env("DYAD_FUSION", nullptr);
    for (int threads : {1, 2, 4}) EXPECT_EQ(run_model<int8_t>(m, in, threads), want) << threads << " mask " << with_mask;
    EXPECT_GT(std::set<int8_t>(want.begin(), want.end()).size(), 20u);
  }
}

}  // namespace
}  // namespace dyad::test
