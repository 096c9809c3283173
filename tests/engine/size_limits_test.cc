// Hostile sizes (docs/format.md "Limits"): shapes, byte counts, arena,
// scratch and work computed from a model are checked arithmetic bounded by
// engine/core/limits.h, and a model past a limit gets an error naming the
// file, the node and the field instead of a wrapped size.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <vector>

#include "engine/core/checked_math.h"
#include "engine/core/limits.h"
#include "engine/format/loader.h"
#include "engine/plan/arena_planner.h"
#include "kernels/common/cpu.h"
#include "tests/ops/op_test_util.h"

namespace dyad::test {
namespace {

constexpr int64_t k2to30 = int64_t{1} << 30;

// "x3" for ('x', 3). (Not "x" + std::to_string(i): GCC 12 gives a false
// -Wrestrict warning on it.)
std::string numbered(char prefix, int i) {
  std::string s(1, prefix);
  s += std::to_string(i);
  return s;
}

TEST(CheckedMath, AddMulProduct) {
  EXPECT_EQ(checked_add<int64_t>(INT64_MAX - 1, 1), INT64_MAX);
  EXPECT_EQ(checked_add<int64_t>(INT64_MAX, 1), std::nullopt);
  EXPECT_EQ(checked_add<int64_t>(-1, 1), std::nullopt);
  EXPECT_EQ(checked_mul<int64_t>(int64_t{1} << 31, int64_t{1} << 31), int64_t{1} << 62);
  EXPECT_EQ(checked_mul<int64_t>(int64_t{1} << 32, int64_t{1} << 31), std::nullopt);
  EXPECT_EQ(checked_mul<size_t>(SIZE_MAX / 2, 2), SIZE_MAX - 1);
  EXPECT_EQ(checked_mul<size_t>(SIZE_MAX / 2 + 1, 2), std::nullopt);
  EXPECT_EQ(checked_align_up(SIZE_MAX - 10, 64), std::nullopt);
  EXPECT_EQ(checked_align_up(65, 64), 128u);
  // 2^32 to the fourth wraps to 0 in plain int64 arithmetic.
  const Shape wraps = {int64_t{1} << 32, int64_t{1} << 32, int64_t{1} << 32, int64_t{1} << 32};
  EXPECT_EQ(checked_product<int64_t>(wraps), std::nullopt);
  EXPECT_EQ(checked_product<int64_t>(Shape{}), 1);
  EXPECT_EQ(checked_product<int64_t>(Shape{3, -1}), std::nullopt);
  EXPECT_EQ(product_within<int64_t>(Shape{2, 3}, 6), 6);
  EXPECT_EQ(product_within<int64_t>(Shape{2, 3}, 5), std::nullopt);
}

TEST(ShapeLimits, ElementsBytesAndRank) {
  EXPECT_EQ(shape_limit_violation({1, 2048, 16384}, DType::kInt32), "");
  const Shape wraps = {int64_t{1} << 32, int64_t{1} << 32, int64_t{1} << 32, int64_t{1} << 32};
  EXPECT_NE(shape_limit_violation(wraps, DType::kInt8).find("elements"), std::string::npos);
  EXPECT_EQ(shape_limit_violation({limits::kMaxTensorElements}, DType::kInt32), "");
  EXPECT_NE(shape_limit_violation({limits::kMaxTensorElements + 1}, DType::kInt8).find("2^32"),
            std::string::npos);
  // 2^32 int64 elements are 2^35 bytes.
  EXPECT_NE(shape_limit_violation({limits::kMaxTensorElements}, DType::kInt64).find("bytes"),
            std::string::npos);
  EXPECT_NE(shape_limit_violation(Shape(9, 1), DType::kInt8).find("rank 9"), std::string::npos);
}

TEST(ArenaPlanner, SaturatesInsteadOfWrapping) {
  const size_t huge = SIZE_MAX / 2;
  size_t arena = 0;
  plan_arena({{huge, 0, 1}, {huge, 0, 1}, {huge, 0, 1}}, &arena);
  EXPECT_EQ(arena, SIZE_MAX);
}

// x [1, h, w, 1] int8 -> conv2d (w: [out_c, 1, 1, 1] of ones) -> y int8.
json conv_model(int64_t h, int64_t w, int64_t out_c, const json& attrs) {
  json a = attrs;
  a["multiplier"] = 1073741824;
  a["shift"] = 31;
  const json tensors = {
      {{"name", "x"}, {"dtype", "int8"}, {"shape", {1, h, w, 1}}, {"scale", 0.5}},
      {{"name", "w"}, {"dtype", "int8"}, {"shape", {out_c, 1, 1, 1}}, {"scale", 0.25},
       {"values", std::vector<int>(static_cast<size_t>(out_c), 1)}},
      {{"name", "y"}, {"dtype", "int8"}, {"scale", 0.25}}};
  return one_node_model("conv2d", tensors, {"x", "w"}, {"y"}, a, {"x"});
}

json max_pool_model(int64_t h, int64_t w, const json& attrs) {
  const json tensors = {{{"name", "x"}, {"dtype", "int8"}, {"shape", {1, h, w, 1}}, {"scale", 0.1}},
                        {{"name", "y"}, {"dtype", "int8"}, {"scale", 0.1}}};
  return one_node_model("max_pool", tensors, {"x"}, {"y"}, attrs, {"x"});
}

TEST(SizeLimits, Conv2dPaddingNear2To30) {
  // Output [1, 2^31 + 1, 2^31 + 1, 1]: 2^62 elements, the crash of issue 11.
  expect_build_error(conv_model(1, 1, 1, {{"padding", k2to30}}), "attrs.padding",
                     {"output height 2147483649", "2^32"});
  // With 4 output channels the element count wraps int64.
  expect_build_error(conv_model(1, 1, 4, {{"padding", k2to30}}), "attrs.padding", {"2^32"});
  expect_build_error(conv_model(1, 1, 1, {{"padding", {k2to30, k2to30, 0, 0}}}),
                     "attrs.padding", {"2^32"});
  // Just inside: a padded [1, 2^15, 2^15, 1] output is fine.
  std::shared_ptr<const Model> m;
  const Status s = load(conv_model(1, 1, 1, {{"padding", {0, 0, 32767, 32767}}}), &m);
  ASSERT_TRUE(s.is_ok()) << s.message();
  EXPECT_EQ(m->output(0).shape, (Shape{1, 32768, 32768, 1}));
}

TEST(SizeLimits, Conv2dAttributesNearInt64Max) {
  expect_build_error(conv_model(1, 1, 1, {{"padding", INT64_MAX}}), "attrs.padding", {"outside"});
  expect_build_error(conv_model(1, 1, 1, {{"padding", k2to30 + 1}}), "attrs.padding",
                     {"outside"});
  expect_build_error(conv_model(1, 1, 1, {{"dilation", INT64_MAX}}), "attrs.dilation",
                     {"outside"});
  expect_build_error(conv_model(1, 1, 1, {{"stride", INT64_MAX}}), "attrs.stride", {"outside"});
  // UINT64_MAX in the JSON is read as INT64_MAX, also refused.
  expect_build_error(conv_model(1, 1, 1, {{"padding", UINT64_MAX}}), "attrs.padding",
                     {"outside"});
}

TEST(SizeLimits, MaxPoolKernelAndPaddingNear2To30) {
  // kernel 2^30, padding 2^30 - 1 on a 1x1 input: a 2^30 x 2^30 output.
  expect_build_error(
      max_pool_model(1, 1, {{"kernel", k2to30}, {"stride", 1}, {"padding", k2to30 - 1}}),
      "attrs.padding", {"2^32"});
  expect_build_error(max_pool_model(1, 1, {{"kernel", INT64_MAX}}), "attrs.kernel", {"outside"});
  expect_build_error(max_pool_model(1, 1, {{"kernel", 2}, {"padding", INT64_MAX}}),
                     "attrs.padding", {"outside"});
  expect_build_error(
      max_pool_model(4, 4, {{"kernel", {2, 2}}, {"stride", {INT64_MAX, 1}}}), "attrs.stride[0]",
      {"outside"});
}

TEST(SizeLimits, MaxPoolWorkIsBounded) {
  // kernel 2048, stride 1 on 4096x4096: 2049^2 * 2048^2 ~ 1.8e13 comparisons.
  expect_build_error(max_pool_model(4096, 4096, {{"kernel", 2048}, {"stride", 1}}),
                     "attrs.kernel", {"17609370107904 window reads", "2^40"});
  // The same window with its default stride (= kernel) is 1.7e7 reads.
  std::shared_ptr<const Model> m;
  const Status s = load(max_pool_model(4096, 4096, {{"kernel", 2048}}), &m);
  ASSERT_TRUE(s.is_ok()) << s.message();
  EXPECT_EQ(m->plan().steps[0].work, int64_t{4} * 2048 * 2048);
}

// 17 graph inputs x0..x16 of `shape` int8 -> concat along axis 0.
json concat_model(const Shape& shape) {
  json tensors = json::array();
  std::vector<std::string> names;
  for (int i = 0; i < 17; ++i) {
    names.push_back(numbered('x', i));
    tensors.push_back({{"name", names.back()}, {"dtype", "int8"}, {"shape", shape}, {"scale", 0.1}});
  }
  tensors.push_back({{"name", "y"}, {"dtype", "int8"}, {"scale", 0.1}});
  return one_node_model("concat", tensors, names, {"y"}, {{"axis", 0}}, names);
}

TEST(SizeLimits, ConcatOf17Inputs) {
  // Each input 2^28 elements: the output's 17 * 2^28 passes 2^32.
  expect_build_error(concat_model({int64_t{1} << 28}), "outputs[0]", {"2^32"});
  // Inputs of 2^59 elements (whose sum wraps int64) are refused as graph inputs.
  std::shared_ptr<const Model> m;
  const Status s = load(concat_model({int64_t{1} << 59}), &m);
  EXPECT_EQ(s.code(), StatusCode::kInvalidModel);
  EXPECT_NE(s.message().find("t.json: tensor 'x0': field 'shape'"), std::string::npos)
      << s.message();
  EXPECT_EQ(m, nullptr);
  // 17 inputs within the limits concatenate.
  ASSERT_TRUE(load(concat_model({2, 3}), &m).is_ok());
  EXPECT_EQ(m->output(0).shape, (Shape{34, 3}));
}

TEST(SizeLimits, GraphInputWhoseElementCountIsTooLarge) {
  std::shared_ptr<const Model> m;
  json model = max_pool_model(1, 1, {{"kernel", 1}});
  model["tensors"][0]["shape"] = {int64_t{1} << 20, int64_t{1} << 20, 1, 1};
  const Status s = load(model, &m);
  EXPECT_EQ(s.code(), StatusCode::kInvalidModel);
  EXPECT_NE(s.message().find("t.json: tensor 'x': field 'shape'"), std::string::npos)
      << s.message();
  EXPECT_NE(s.message().find("2^32"), std::string::npos) << s.message();
}

TEST(SizeLimits, ArenaIsBounded) {
  // Five live int32 inputs of 2^32 elements (2^34 bytes each) need 5 * 2^34
  // bytes at once, more than 2^36. Nothing is allocated at load time.
  json tensors = json::array();
  std::vector<std::string> names;
  for (int i = 0; i < 5; ++i) {
    names.push_back(numbered('x', i));
    tensors.push_back(
        {{"name", names.back()}, {"dtype", "int32"}, {"shape", {int64_t{1} << 32}}});
  }
  tensors.push_back({{"name", "y"}, {"dtype", "int32"}});
  std::shared_ptr<const Model> m;
  const Status s = load(one_node_model("concat", tensors, names, {"y"}, {{"axis", 0}}, names), &m);
  EXPECT_EQ(s.code(), StatusCode::kInvalidModel);
  // The concat output (5 * 2^32 elements) is refused before the arena.
  EXPECT_NE(s.message().find("field 'outputs[0]'"), std::string::npos) << s.message();

  tensors = json::array();
  std::vector<std::string> outputs;
  json nodes = json::array();
  for (int i = 0; i < 5; ++i) {
    tensors.push_back({{"name", names[i]}, {"dtype", "int32"}, {"shape", {int64_t{1} << 32}}});
    outputs.push_back(numbered('y', i));
    tensors.push_back({{"name", outputs.back()}, {"dtype", "int32"}});
    nodes.push_back({{"name", numbered('r', i)}, {"op", "reshape"},
                     {"inputs", {names[i]}}, {"outputs", {outputs.back()}},
                     {"attrs", {{"shape", {int64_t{1} << 16, int64_t{1} << 16}}}}});
  }
  json model = {{"format", "dyad"}, {"version", "1.0"}, {"inputs", names}, {"outputs", outputs},
                {"tensors", tensors}, {"nodes", nodes}};
  const Status s2 = load(model, &m);
  EXPECT_EQ(s2.code(), StatusCode::kInvalidModel);
  EXPECT_NE(s2.message().find("t.json: the activation arena needs"), std::string::npos)
      << s2.message();
  EXPECT_NE(s2.message().find("2^36"), std::string::npos) << s2.message();
}

TEST(SizeLimits, Conv2dImplicitGemmScratchIsBounded) {
  if (!kernels::cpu_features().avx2) GTEST_SKIP() << "the implicit GEMM path needs AVX2";
  // A 16x16 kernel over a 2^14 x 2^14 input: a whole im2col matrix would be
  // ~2^28 rows of 256 bytes = 2^36 bytes, over the 2^34 scratch limit. The
  // implicit GEMM gathers one cache-sized activation block per thread, so the
  // step's scratch stays small (V:N:M convs, which still take a whole
  // im2col, are refused by the limit as before).
  json tensors = {
      {{"name", "x"}, {"dtype", "int8"}, {"shape", {1, 16384, 16384, 1}}, {"scale", 0.5}},
      {{"name", "w"}, {"dtype", "int8"}, {"shape", {1, 16, 16, 1}}, {"scale", 0.25},
       {"values", std::vector<int>(256, 1)}},
      {{"name", "y"}, {"dtype", "int8"}, {"scale", 0.25}}};
  std::shared_ptr<const Model> m;
  const Status s = load(one_node_model("conv2d", tensors, {"x", "w"}, {"y"},
                                       {{"multiplier", 1073741824}, {"shift", 31}}, {"x"}),
                        &m);
  ASSERT_TRUE(s.is_ok()) << s.message();
  ASSERT_EQ(m->plan().steps.size(), 1u);
  EXPECT_NE(m->plan().steps[0].kernel_name.find("conv2d_implicit:"), std::string::npos)
      << m->plan().steps[0].kernel_name;
  EXPECT_LT(m->plan().scratch_bytes_per_thread, size_t{1} << 20);
}

// A 4096 -> 16384 fully_connected on 2048 rows (a 7B-parameter-style FFN
// layer, 1.4e11 MACs) is well inside the limits.
TEST(SizeLimits, LargeRealLayerFits) {
  const int64_t rows = 2048, in = 4096, out = 16384;
  std::vector<uint8_t> weights(static_cast<size_t>(in * out), 1);
  const json tensors = {
      {{"name", "x"}, {"dtype", "int8"}, {"shape", {rows, in}}, {"scale", 0.5}},
      {{"name", "w"}, {"dtype", "int8"}, {"shape", {out, in}}, {"scale", 0.25},
       {"data", {{"offset", 0}, {"bytes", in * out}}}},
      {{"name", "y"}, {"dtype", "int32"}}};
  json model = one_node_model("fully_connected", tensors, {"x", "w"}, {"y"}, nullptr, {"x"});
  char checksum[17];
  std::snprintf(checksum, sizeof checksum, "%016llx",
                static_cast<unsigned long long>(fnv1a64(weights.data(), weights.size())));
  model["weights"] = {{"file", "w.bin"}, {"bytes", weights.size()}, {"fnv1a64", checksum}};
  std::shared_ptr<const Model> m;
  const Status s = Model::load_memory(model.dump(), weights.data(), weights.size(), "t.json", &m);
  ASSERT_TRUE(s.is_ok()) << s.message();
  EXPECT_EQ(m->plan().steps[0].macs, rows * in * out);
  EXPECT_EQ(m->plan().steps[0].work, rows * in * out);
}

TEST(SizeLimits, ShippedModelsStillLoad) {
  namespace fs = std::filesystem;
  int loaded = 0;
  for (const char* dir : {"models/fmnist", "models/examples"}) {
    for (const auto& entry : fs::directory_iterator(fs::path(DYAD_SOURCE_DIR) / dir)) {
      if (entry.path().extension() != ".json") continue;
      std::shared_ptr<const Model> m;
      const Status s = Model::load_file(entry.path().string(), &m);
      EXPECT_TRUE(s.is_ok()) << entry.path() << ": " << s.message();
      ++loaded;
    }
  }
  EXPECT_GE(loaded, 7);
}

// Per-channel constants derived from an activation's width are bounded: a
// requantize, int_gelu or int_layernorm over [2^31] channels is refused at
// build time, before ~40 GB of constants could be allocated.
TEST(SizeLimits, DerivedPerChannelConstantsAreBounded) {
  const int64_t wide = int64_t{1} << 31;
  const json requant_tensors = {
      {{"name", "x"}, {"dtype", "int8"}, {"shape", {wide}}, {"scale", 0.5}},
      {{"name", "y"}, {"dtype", "int8"}, {"scale", 1.0}}};
  expect_build_error(one_node_model("requantize", requant_tensors, {"x"}, {"y"}, json::object(),
                                    {"x"}),
                     "attrs.multiplier", {"2147483648 channels", "1048576"});
  const json gelu_tensors = {{{"name", "x"}, {"dtype", "int8"}, {"shape", {wide}}, {"scale", 0.01}},
                             {{"name", "y"}, {"dtype", "int64"}}};
  expect_build_error(one_node_model("int_gelu", gelu_tensors, {"x"}, {"y"}, json::object(), {"x"}),
                     "inputs[0]", {"channels"});
  const json ln_tensors = {{{"name", "x"}, {"dtype", "int8"}, {"shape", {wide}}},
                           {{"name", "y"}, {"dtype", "int64"}}};
  expect_build_error(one_node_model("int_layernorm", ln_tensors, {"x"}, {"y"},
                                    {{"shift", 0}, {"bias_int", 0}}, {"x"}),
                     "attrs.bias_int", {"channels"});
  // At the limit, a requantize still builds.
  json ok_tensors = requant_tensors;
  ok_tensors[0]["shape"] = {int64_t{1} << 20};
  std::shared_ptr<const Model> m;
  EXPECT_TRUE(load(one_node_model("requantize", ok_tensors, {"x"}, {"y"}, json::object(), {"x"}),
                   &m)
                  .is_ok());
}

}  // namespace
}  // namespace dyad::test
