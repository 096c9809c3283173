// The I-BERT wiring pieces outside the transformer ops (numerics.md 8):
// requantize of int64 GELU / LayerNorm outputs (128-bit products, negative
// multipliers), the 22-bit residual QuantAct as `add` + clamp, and small
// multi-node chains run through the engine.
#include <gtest/gtest.h>

#include "tests/ops/op_test_util.h"

namespace dyad::test {
namespace {

json chain(const json& tensors, const json& nodes, const std::vector<std::string>& inputs,
           const std::vector<std::string>& outputs) {
  return {{"format", "dyad"},   {"version", "1.0"},   {"inputs", inputs},
          {"outputs", outputs}, {"tensors", tensors}, {"nodes", nodes}};
}

TEST(IbertWiring, RequantizeInt64NeedsA128BitProduct) {
  // m = 2^30, e = 88: y = rne(x / 2^58). x * m reaches 2^93.
  // 5*2^58 -> 5; 5*2^57 -> 2.5 -> 2; 7*2^57 -> 3.5 -> 4; -5*2^57 -> -2;
  // INT64_MAX -> 32 - 2^-58 -> 32; INT64_MIN -> -32.
  const std::vector<int64_t> x = {5LL << 58,    5LL << 57, 7LL << 57,
                                  -(5LL << 57), INT64_MAX, INT64_MIN};
  const json tensors = {{{"name", "x"}, {"dtype", "int64"}, {"shape", {6}}},
                        {{"name", "y"}, {"dtype", "int8"}}};
  json m = one_node_model("requantize", tensors, {"x"}, {"y"},
                          {{"multiplier", 1 << 30}, {"shift", 88}}, {"x"});
  EXPECT_EQ(run_model<int8_t>(m, {bytes_of(x)}), (std::vector<int8_t>{5, 2, 4, -2, 32, -32}));
  // A negative multiplier (GELU's negative output scale) flips every sign; rne is symmetric.
  m["nodes"][0]["attrs"]["multiplier"] = -(1 << 30);
  EXPECT_EQ(run_model<int8_t>(m, {bytes_of(x)}), (std::vector<int8_t>{-5, -2, -4, 2, -32, 32}));
}

TEST(IbertWiring, ResidualAddClampsTo22Bits) {
  // QuantAct(22) with identity: int32 accumulator (x1) + int8 identity (x64),
  // clamped once to [-2^21, 2^21 - 1] in an int32 tensor.
  const json tensors = {{{"name", "acc"}, {"dtype", "int32"}, {"shape", {4}}},
                        {{"name", "id"}, {"dtype", "int8"}, {"shape", {4}}},
                        {{"name", "y"}, {"dtype", "int32"}}};
  const json attrs = {{"a_multiplier", 1 << 30}, {"a_shift", 30},
                      {"b_multiplier", 1 << 30}, {"b_shift", 24},
                      {"activation", "clamp"},   {"clamp", {-(1 << 21), (1 << 21) - 1}}};
  const json m = one_node_model("add", tensors, {"acc", "id"}, {"y"}, attrs, {"acc", "id"});
  const std::vector<int32_t> acc = {1 << 21, -(1 << 21) - 5, 1000, 0};
  const std::vector<int8_t> id = {0, 0, 3, -128};
  EXPECT_EQ(run_model<int32_t>(m, {bytes_of(acc), bytes_of(id)}),
            (std::vector<int32_t>{(1 << 21) - 1, -(1 << 21), 1192, -8192}));
}

TEST(IbertWiring, GeluWithASmallScaleThenRequantize) {
  // S = 1e-5 (c_int = -69250749308, beyond int32), constants derived; GELU outputs up
  // to 2^54 requantized to int8 at S_y = 0.05 through a negative multiplier
  // (-1745722340, 66), products beyond 2^64. Expected: models/ibert_sim.
  const json tensors = {{{"name", "x"}, {"dtype", "int32"}, {"shape", {1, 8}}, {"scale", 1e-5}},
                        {{"name", "g"}, {"dtype", "int64"}, {"scale", -1.1829474889328385e-12}},
                        {{"name", "y"}, {"dtype", "int8"}, {"scale", 0.05}}};
  const json nodes = {{{"name", "gelu"}, {"op", "int_gelu"}, {"inputs", {"x"}}, {"outputs", {"g"}}},
                      {{"name", "q"}, {"op", "requantize"}, {"inputs", {"g"}}, {"outputs", {"y"}}}};
  const std::vector<int32_t> x = {0, 100000, -100000, 250172, -250173, INT32_MAX, INT32_MIN, 12345};
  EXPECT_EQ(run_model<int8_t>(chain(tensors, nodes, {"x"}, {"y"}), {bytes_of(x)}),
            (std::vector<int8_t>{0, 17, -3, 50, 0, 127, 0, 1}));
}

TEST(IbertWiring, LayerNormVarianceBeyond2To32ThenRequantize) {
  // 22-bit inputs [-2^21, 2^21 - 1] -> -759169024 759168662 (int_layernorm test),
  // then / 2^24 -> -45.25 -> -45 and 45.25 -> 45.
  const json tensors = {{{"name", "x"}, {"dtype", "int32"}, {"shape", {1, 2}}},
                        {{"name", "ln"}, {"dtype", "int64"}},
                        {{"name", "y"}, {"dtype", "int8"}}};
  const json nodes = {{{"name", "ln"},
                       {"op", "int_layernorm"},
                       {"inputs", {"x"}},
                       {"outputs", {"ln"}},
                       {"attrs", {{"shift", 0}, {"bias_int", {0, 0}}}}},
                      {{"name", "q"},
                       {"op", "requantize"},
                       {"inputs", {"ln"}},
                       {"outputs", {"y"}},
                       {"attrs", {{"multiplier", 1 << 30}, {"shift", 54}}}}};
  const std::vector<int32_t> x = {-(1 << 21), (1 << 21) - 1};
  EXPECT_EQ(run_model<int8_t>(chain(tensors, nodes, {"x"}, {"y"}), {bytes_of(x)}),
            (std::vector<int8_t>{-45, 45}));
}

TEST(IbertWiring, AttentionHeadEndToEnd) {
  // One head, L = 2, dh = 2, base-2 softmax constants (int_softmax_build_test):
  // q = [[1 0] [0 1]], k = [[4 0] [0 0]]: scores = [[4 0] [0 0]];
  // probs: row 0 q = 0 4 -> e16 16384 1024, sum 17408, factor 246723 -> 240 15;
  //        row 1 equal -> 128 128.
  // ctx = probs . v with v = [[2 0] [0 -4]] by 2^-8: row 0 (480/256, -60/256) = (1.875, -0.234)
  //   -> 2, 0; row 1 (1, -2) -> 1, -2.
  const json tensors = {{{"name", "q"}, {"dtype", "int8"}, {"shape", {1, 2, 2}}},
                        {{"name", "k"}, {"dtype", "int8"}, {"shape", {1, 2, 2}}},
                        {{"name", "v"}, {"dtype", "int8"}, {"shape", {1, 2, 2}}},
                        {{"name", "s"}, {"dtype", "int32"}},
                        {{"name", "p"}, {"dtype", "int16"}},
                        {{"name", "c"}, {"dtype", "int8"}}};
  const json nodes = {{{"name", "scores"},
                       {"op", "matmul"},
                       {"inputs", {"q", "k"}},
                       {"outputs", {"s"}},
                       {"attrs", {{"transpose_b", true}}}},
                      {{"name", "softmax"},
                       {"op", "int_softmax"},
                       {"inputs", {"s"}},
                       {"outputs", {"p"}},
                       {"attrs",
                        {{"x0_int", -1},
                         {"b_int", 0},
                         {"c_int", 1},
                         {"act_multiplier", int64_t{1} << 62},
                         {"act_shift", 48}}}},
                      {{"name", "ctx"},
                       {"op", "matmul"},
                       {"inputs", {"p", "v"}},
                       {"outputs", {"c"}},
                       {"attrs", {{"multiplier", 1 << 30}, {"shift", 38}}}}};
  const json m = chain(tensors, nodes, {"q", "k", "v"}, {"c", "p"});
  std::shared_ptr<const Model> model;
  ASSERT_TRUE(load(m, &model).is_ok());
  std::unique_ptr<Session> session;
  ASSERT_TRUE(Session::create(model, 1, &session).is_ok());
  const std::vector<int8_t> q = {1, 0, 0, 1}, k = {4, 0, 0, 0}, v = {2, 0, 0, -4};
  ASSERT_TRUE(session->set_input(0, q.data(), 4).is_ok());
  ASSERT_TRUE(session->set_input(1, k.data(), 4).is_ok());
  ASSERT_TRUE(session->set_input(2, v.data(), 4).is_ok());
  ASSERT_TRUE(session->run().is_ok());
  const auto* c = static_cast<const int8_t*>(session->output_data(0));
  const auto* p = static_cast<const int16_t*>(session->output_data(1));
  EXPECT_EQ(std::vector<int16_t>(p, p + 4), (std::vector<int16_t>{240, 15, 128, 128}));
  EXPECT_EQ(std::vector<int8_t>(c, c + 4), (std::vector<int8_t>{2, 0, 1, -2}));
}

}  // namespace
}  // namespace dyad::test
