// V:N:M sparse weights in models (docs/format.md "Sparse weights"): the loader
// refuses malformed sparse constants with errors naming file, tensor and
// field; the planner refuses sparse tensors where they cannot be read; and a
// model with sparse fully_connected / conv2d weights gives exactly the outputs
// of the same model with the pruned weights stored dense, with the reference
// and the default kernels, at 1 and 3 threads.
#include <gtest/gtest.h>

#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/exec/model.h"
#include "engine/exec/session.h"
#include "engine/format/loader.h"
#include "engine/format/weights.h"
#include "kernels/common/cpu.h"
#include "kernels/vnm_gemm/vnm_format.h"
#include "kernels/vnm_gemm/vnm_prune.h"

namespace dyad {
namespace {

using nlohmann::json;

// One layer: x -> op(w, b) -> y, with w [N, ...] pruned to V:2:M.
struct LayerSpec {
  std::string op = "fully_connected";
  std::string x_dtype = "int8";
  int64_t x_zp = 0;
  std::vector<int64_t> x_shape{13, 100};   // conv2d: [1, H, W, C]
  std::vector<int64_t> w_shape{72, 100};   // conv2d: [O, KH, KW, C]
  std::string w_dtype = "int8";
  std::string y_dtype = "int8";
  int v = 16, m = 8;
  json attrs = json::object();  // conv2d: stride, padding
};

// A model as JSON text plus its weights file, with w stored sparse or dense.
struct BuiltModel {
  json doc;
  std::vector<uint8_t> bin;
};

std::vector<int8_t> pruned_weights(const LayerSpec& s) {
  const int64_t n = s.w_shape[0];
  int64_t k = 1;
  for (size_t i = 1; i < s.w_shape.size(); ++i) k *= s.w_shape[i];
  const bool int4 = s.w_dtype == "int4";
  std::mt19937 rng(static_cast<uint32_t>(n * 131 + k));
  std::uniform_int_distribution<int> dist(int4 ? -8 : -127, int4 ? 7 : 127);
  std::vector<int8_t> w(static_cast<size_t>(n * k));
  for (int8_t& x : w) x = static_cast<int8_t>(dist(rng));
  const kernels::VnmShape shape{static_cast<int32_t>(n), static_cast<int32_t>(k), s.v, s.m,
                                int4 ? 4 : 8};
  EXPECT_EQ(kernels::vnm_prune_magnitude(shape, w.data(), w.data()), "");
  return w;
}

void append(std::vector<uint8_t>* bin, const std::vector<uint8_t>& bytes, json* data) {
  bin->resize((bin->size() + 63) / 64 * 64, 0);
  *data = {{"offset", bin->size()}, {"bytes", bytes.size()}};
  bin->insert(bin->end(), bytes.begin(), bytes.end());
}

BuiltModel build(const LayerSpec& s, bool sparse) {
  const std::vector<int8_t> w = pruned_weights(s);
  const int64_t n = s.w_shape[0];
  const int64_t k = static_cast<int64_t>(w.size()) / n;
  BuiltModel out;
  json wt = {{"name", "w"}, {"dtype", s.w_dtype}, {"shape", s.w_shape}, {"scale", 0.01}};
  std::vector<uint8_t> bytes;
  if (sparse) {
    const kernels::VnmShape shape{static_cast<int32_t>(n), static_cast<int32_t>(k), s.v, s.m,
                                  s.w_dtype == "int4" ? 4 : 8};
    EXPECT_EQ(kernels::vnm_pack(shape, w.data(), &bytes), "");
    wt["sparsity"] = {{"pattern", "vnm"}, {"v", s.v}, {"n", 2}, {"m", s.m}};
  } else if (s.w_dtype == "int4") {
    bytes.assign((w.size() + 1) / 2, 0);
    for (size_t i = 0; i < w.size(); ++i)
      bytes[i / 2] |= static_cast<uint8_t>((w[i] & 15) << (4 * (i % 2)));
  } else {
    bytes.assign(w.begin(), w.end());
  }
  append(&out.bin, bytes, &wt["data"]);
  std::vector<uint8_t> bias(static_cast<size_t>(n) * 4);
  for (int64_t i = 0; i < n; ++i) {
    const int32_t b = static_cast<int32_t>(i * 97 % 2001) - 1000;
    for (int j = 0; j < 4; ++j) bias[i * 4 + j] = static_cast<uint8_t>(static_cast<uint32_t>(b) >> (8 * j));
  }
  json bt = {{"name", "b"}, {"dtype", "int32"}, {"shape", {n}}};
  append(&out.bin, bias, &bt["data"]);
  json attrs = s.attrs;
  json y = {{"name", "y"}, {"dtype", s.y_dtype}};
  if (s.y_dtype != "int32") {
    attrs["multiplier"] = 1 << 30;
    attrs["shift"] = s.w_dtype == "int4" ? 36 : 39;
    y["zero_point"] = s.y_dtype == "uint8" ? 128 : (s.y_dtype == "uint4" ? 8 : 0);
  }
  out.doc = {{"format", "dyad"},
             {"version", "1.1"},
             {"name", "vnm_layer"},
             {"weights", {{"file", "vnm_layer.bin"},
                          {"bytes", out.bin.size()},
                          {"fnv1a64", hex64(fnv1a64(out.bin.data(), out.bin.size()))}}},
             {"inputs", {"x"}},
             {"outputs", {"y"}},
             {"tensors",
              {{{"name", "x"}, {"dtype", s.x_dtype}, {"shape", s.x_shape}, {"zero_point", s.x_zp}},
               wt, bt, y}},
             {"nodes", {{{"name", "layer"}, {"op", s.op}, {"inputs", {"x", "w", "b"}},
                         {"outputs", {"y"}}, {"attrs", attrs}}}}};
  return out;
}

// Re-stamps the checksum after a test edited the weights.
void restamp(BuiltModel* m) {
  m->doc["weights"]["bytes"] = m->bin.size();
  m->doc["weights"]["fnv1a64"] = hex64(fnv1a64(m->bin.data(), m->bin.size()));
}

Status load(const BuiltModel& m, std::shared_ptr<const Model>* out, bool reference = false) {
  if (reference) setenv("DYAD_KERNELS", "ref", 1);
  const Status s = Model::load_memory(m.doc.dump(), m.bin.data(), m.bin.size(), "vnm.json", out);
  if (reference) unsetenv("DYAD_KERNELS");
  return s;
}

std::vector<uint8_t> run(const std::shared_ptr<const Model>& model, int threads) {
  std::unique_ptr<Session> session;
  EXPECT_TRUE(Session::create(model, threads, &session).is_ok());
  std::vector<uint8_t> in(session->input_bytes(0));
  std::mt19937 rng(7);
  for (uint8_t& b : in) b = static_cast<uint8_t>(rng());
  const TensorDesc& x = model->input(0);
  if (x.dtype == DType::kInt4 || x.dtype == DType::kUint4)  // one 4-bit value per byte
    for (uint8_t& b : in) b = x.dtype == DType::kInt4 ? static_cast<uint8_t>(int8_t((b & 15) - 8)) : b & 15;
  EXPECT_TRUE(session->set_input(0, in.data(), in.size()).is_ok());
  const Status s = session->run();
  EXPECT_TRUE(s.is_ok()) << s.message();
  const auto* y = static_cast<const uint8_t*>(session->output_data(0));
  return std::vector<uint8_t>(y, y + session->output_bytes(0));
}

// The sparse model equals the dense model of the pruned weights, bit for bit.
void expect_same_as_dense(const LayerSpec& s, const std::string& sparse_kernel_part) {
  std::shared_ptr<const Model> dense;
  ASSERT_TRUE(load(build(s, false), &dense, /*reference=*/true).is_ok());
  const std::vector<uint8_t> expected = run(dense, 1);
  for (bool reference : {true, false}) {
    std::shared_ptr<const Model> sparse;
    const Status st = load(build(s, true), &sparse, reference);
    ASSERT_TRUE(st.is_ok()) << st.message();
    const std::string& kernel = sparse->plan().steps[0].kernel_name;
    if (reference) {
      EXPECT_NE(kernel.find(sparse_kernel_part.empty() ? "__ref" : "vnm_ref"), std::string::npos) << kernel;
    } else if (!sparse_kernel_part.empty()) {
      EXPECT_NE(kernel.find(sparse_kernel_part), std::string::npos) << kernel;
    }
    for (int threads : {1, 3}) {
      SCOPED_TRACE(kernel + " threads " + std::to_string(threads));
      EXPECT_EQ(run(sparse, threads), expected);
    }
  }
}

TEST(VnmModel, FullyConnectedInt8) {
  LayerSpec s;
  expect_same_as_dense(s, "vnm_");
  s.x_dtype = "uint8";
  s.x_zp = 128;
  s.y_dtype = "uint8";
  s.v = 64;
  s.m = 5;
  expect_same_as_dense(s, "vnm_");
}

TEST(VnmModel, FullyConnectedGemvInt32OutputAndMLargerThan8) {
  LayerSpec s;
  s.x_shape = {1, 300};
  s.w_shape = {40, 300};
  s.y_dtype = "int32";
  s.v = 8;
  s.m = 16;
  expect_same_as_dense(s, "vnm_");
}

TEST(VnmModel, FullyConnectedInt4Weights) {
  LayerSpec s;
  s.w_dtype = "int4";
  s.m = 4;
  // The VNNI variants read int4 values too and come first where usable; the
  // nibble kernel is AVX2's; elsewhere (64-bit ARM) any sparse kernel.
  const char* kernel = kernels::kernel_isa_usable(kernels::KernelIsa::kAvx512Vnni) ? "vnm_dp__avx512vnni"
                       : kernels::kernel_isa_usable(kernels::KernelIsa::kAvxVnni) ? "vnm_dp__avxvnni"
                       : kernels::cpu_features().avx2                              ? "vnm_ubs_qc4w"
                                                                                   : "vnm_";
  expect_same_as_dense(s, kernel);
}

TEST(VnmModel, FourBitOutput) {
  LayerSpec s;
  s.y_dtype = "uint4";  // a uint8 container clamped to [0, 15]
  expect_same_as_dense(s, "vnm_");
}

TEST(VnmModel, Conv2dIm2colAnd1x1) {
  LayerSpec s;
  s.op = "conv2d";
  s.x_shape = {2, 7, 6, 20};
  s.w_shape = {24, 3, 3, 20};
  s.attrs = {{"padding", 1}, {"stride", {2, 1}}};
  expect_same_as_dense(s, "conv2d_im2col:vnm_");
  s.w_shape = {24, 1, 1, 20};
  s.attrs = json::object();
  expect_same_as_dense(s, "conv2d_1x1:vnm_");
}

// ---- errors ----------------------------------------------------------------

::testing::AssertionResult fails_with(const BuiltModel& m, std::initializer_list<std::string> parts) {
  std::shared_ptr<const Model> model;
  const Status s = load(m, &model);
  if (s.is_ok()) return ::testing::AssertionFailure() << "loaded";
  for (const std::string& p : parts)
    if (s.message().find(p) == std::string::npos)
      return ::testing::AssertionFailure() << "'" << p << "' not in: " << s.message();
  return ::testing::AssertionSuccess() << s.message();
}

json& weight(BuiltModel& m) { return m.doc["tensors"][1]; }

TEST(VnmModelErrors, BadMetadata) {
  struct Case {
    void (*edit)(BuiltModel&);
    std::initializer_list<std::string> parts;
  };
  const Case cases[] = {
      {[](BuiltModel& m) { weight(m)["sparsity"]["v"] = 12; },
       {"vnm.json: tensor 'w': field 'sparsity.v'", "multiple of 8"}},
      {[](BuiltModel& m) { weight(m)["sparsity"]["m"] = 3; },
       {"tensor 'w': field 'sparsity.m'", "outside [4, 128]"}},
      {[](BuiltModel& m) { weight(m)["sparsity"]["n"] = 1; }, {"field 'sparsity.n'", "must be 2"}},
      {[](BuiltModel& m) { weight(m)["sparsity"]["pattern"] = "2:4"; },
       {"field 'sparsity.pattern'", "\"vnm\""}},
      {[](BuiltModel& m) { weight(m)["sparsity"]["extra"] = 1; }, {"field 'sparsity.extra'"}},
      {[](BuiltModel& m) { weight(m)["sparsity"].erase("m"); }, {"field 'sparsity.m'", "missing"}},
      {[](BuiltModel& m) { weight(m)["dtype"] = "int16"; },
       {"tensor 'w': field 'sparsity'", "int8 or int4"}},
      {[](BuiltModel& m) { m.doc["tensors"][0]["sparsity"] = weight(m)["sparsity"]; },  // an activation
       {"tensor 'x': field 'sparsity'", "only a constant"}},
  };
  for (const Case& c : cases) {
    BuiltModel m = build(LayerSpec{}, true);
    c.edit(m);
    EXPECT_TRUE(fails_with(m, c.parts));
  }
}

TEST(VnmModelErrors, SizeMismatch) {
  LayerSpec s;
  BuiltModel m = build(s, true);
  const int64_t packed = weight(m)["data"]["bytes"];
  weight(m)["data"]["bytes"] = 72 * 100;  // the dense size
  EXPECT_TRUE(fails_with(m, {"tensor 'w': field 'data.bytes'", "7200 does not match",
                             "16:2:8", std::to_string(packed) + " bytes"}));
  // A different M changes the layout size: refused before any index is read.
  BuiltModel m2 = build(s, true);
  weight(m2)["sparsity"]["m"] = 4;
  EXPECT_TRUE(fails_with(m2, {"field 'data.bytes'", "16:2:4"}));
  // The shape is the dense one: a packed-looking shape is a mismatch too.
  BuiltModel m3 = build(s, true);
  weight(m3)["shape"] = {72, 96};
  EXPECT_TRUE(fails_with(m3, {"field 'data.bytes'"}));
}

// Corrupts one byte of the blob (offset inside the blob), re-stamps the checksum.
BuiltModel corrupted(const LayerSpec& s, size_t blob_offset, uint8_t value) {
  BuiltModel m = build(s, true);
  const size_t base = weight(m)["data"]["offset"];
  m.bin[base + blob_offset] = value;
  restamp(&m);
  return m;
}

TEST(VnmModelErrors, BadIndices) {
  LayerSpec s;  // N 72, K 100, V 16, M 8: k_pad 112, 7 group pairs, 9 octets
  kernels::VnmLayout lay;
  ASSERT_EQ(kernels::vnm_layout({72, 100, 16, 8, 8}, &lay), "");
  // Positions (p0, p1) = (1, 1): not two distinct ascending indices.
  EXPECT_TRUE(fails_with(corrupted(s, lay.positions_offset, 0x05),
                         {"vnm.json: tensor 'w': field 'data'", "invalid V:N:M packed weights",
                          "positions"}));
  // Kept columns not ascending / out of range.
  EXPECT_TRUE(fails_with(corrupted(s, lay.columns_offset, 9), {"tensor 'w'", "kept column"}));
  // A value in a padding row (n_pad 80: octet 9 is rows 72..79, all padding).
  const size_t pad_unit = static_cast<size_t>(9 * lay.group_pairs);  // octet 9, gp 0
  EXPECT_TRUE(fails_with(corrupted(s, pad_unit * 32 + 4 * 7, 5), {"tensor 'w'", "padding"}));
  // A nonzero byte between sections.
  if (lay.values_offset + lay.values_bytes < lay.positions_offset) {
    EXPECT_TRUE(fails_with(corrupted(s, lay.values_offset + lay.values_bytes, 1), {"tensor 'w'"}));
  }
}

TEST(VnmModelErrors, InlineValuesMustFollowThePattern) {
  LayerSpec s;
  s.x_shape = {1, 8};
  s.w_shape = {8, 8};
  s.v = 8;
  s.m = 4;
  BuiltModel m = build(s, true);
  std::vector<int> dense(64, 0);
  dense[0] = 1;
  dense[1] = 2;
  dense[2] = 3;  // three nonzeros in row 0, group 0
  weight(m).erase("data");
  weight(m)["values"] = dense;
  EXPECT_TRUE(fails_with(m, {"tensor 'w': field 'values'", "not a V:2:M matrix"}));
  dense[2] = 0;
  weight(m)["values"] = dense;
  std::shared_ptr<const Model> model;
  const Status st = load(m, &model);
  EXPECT_TRUE(st.is_ok()) << st.message();
}

TEST(VnmModelErrors, SparseTensorOnlyAsAGemmWeight) {
  LayerSpec s;
  s.op = "conv2d";
  s.x_shape = {1, 4, 4, 16};
  s.w_shape = {16, 1, 1, 16};
  s.attrs = {{"groups", 2}};
  BuiltModel m = build(s, true);
  m.doc["tensors"][1]["shape"] = {16, 1, 1, 8};
  // Rebuild the blob size for the grouped shape: the error must be about groups.
  kernels::VnmLayout lay;
  ASSERT_EQ(kernels::vnm_layout({16, 8, 16, 8, 8}, &lay), "");
  std::vector<uint8_t> blob;
  std::vector<int8_t> zeros(16 * 8, 0);
  ASSERT_EQ(kernels::vnm_pack({16, 8, 16, 8, 8}, zeros.data(), &blob), "");
  const size_t base = weight(m)["data"]["offset"];
  std::copy(blob.begin(), blob.end(), m.bin.begin() + static_cast<std::ptrdiff_t>(base));
  weight(m)["data"]["bytes"] = blob.size();
  restamp(&m);
  EXPECT_TRUE(fails_with(m, {"node 'layer'", "attrs.groups", "needs groups 1"}));

  // A sparse tensor read as the bias / by another op.
  LayerSpec f;
  BuiltModel m2 = build(f, true);
  m2.doc["nodes"][0]["inputs"] = {"x", "w", "w"};
  EXPECT_TRUE(fails_with(m2, {"node 'layer'", "inputs[2]", "tensor 'w' is V:N:M sparse"}));
}

}  // namespace
}  // namespace dyad
