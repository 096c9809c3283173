// fully_connected (int32 out) + int_gelu + requantize run as one step
// (engine/ops/fusion.cc: the GEMM's epilogue runs the fused GELU on each
// int32 block) where the zmm VNNI GEMM or the V:N:M GEMM's AVX-512 VNNI
// panel path takes them: the outputs equal those of DYAD_KERNELS=ref (every
// op on its reference kernel, unfused), at 1 and 3 threads, with dense and
// with 64:2:8 sparse weights, for token counts on both sides of the sparse
// GEMV path (which keeps the steps apart). The GELU and requantize constants
// are the I-BERT toy encoder's first FFN (models/examples/ibert_toy.json,
// 128 channels, the floor path) and a variant that takes the general path.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
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

json toy_node(const std::string& name) {
  std::ifstream f(std::string(DYAD_SOURCE_DIR) + "/models/examples/ibert_toy.json");
  std::stringstream text;
  text << f.rdbuf();
  const json doc = json::parse(text.str());
  for (const json& n : doc["nodes"])
    if (n["name"] == name) return n;
  ADD_FAILURE() << "no node " << name;
  return json::object();
}

struct Built {
  json doc;
  std::vector<uint8_t> bin;
};

void append(std::vector<uint8_t>* bin, const std::vector<uint8_t>& bytes, json* data) {
  bin->resize((bin->size() + 63) / 64 * 64, 0);
  *data = {{"offset", bin->size()}, {"bytes", bytes.size()}};
  bin->insert(bin->end(), bytes.begin(), bytes.end());
}

// x int8 [1, tokens, 32] -> fully_connected (w [128, 32] pruned to 64:2:8,
// stored sparse or dense) -> int32 -> int_gelu -> int64 -> requantize ->
// int8. general_requant: multipliers whose odd part is small (the floor path
// of the fused GELU + requantize refuses them).
Built build(int64_t tokens, bool sparse, bool general_requant) {
  constexpr int32_t kN = 128, kK = 32;
  std::mt19937 rng(11);
  std::uniform_int_distribution<int> dist(-127, 127);
  std::vector<int8_t> w(size_t{kN} * kK);
  for (int8_t& v : w) v = static_cast<int8_t>(dist(rng));
  const kernels::VnmShape shape{kN, kK, 64, 8, 8};
  EXPECT_EQ(kernels::vnm_prune_magnitude(shape, w.data(), w.data()), "");
  std::vector<uint8_t> packed(w.begin(), w.end());
  json wt = {{"name", "w"}, {"dtype", "int8"}, {"shape", {kN, kK}}, {"scale", 0.01}};
  if (sparse) {
    EXPECT_EQ(kernels::vnm_pack(shape, w.data(), &packed), "");
    wt["sparsity"] = {{"pattern", "vnm"}, {"v", 64}, {"n", 2}, {"m", 8}};
  }
  Built out;
  append(&out.bin, packed, &wt["data"]);
  std::vector<uint8_t> bias(size_t{kN} * 4);
  for (int32_t i = 0; i < kN; ++i) {
    const int32_t b = (i * 7919) % 40001 - 20000;
    for (int j = 0; j < 4; ++j) bias[size_t(i) * 4 + j] = static_cast<uint8_t>(static_cast<uint32_t>(b) >> (8 * j));
  }
  json bt = {{"name", "b"}, {"dtype", "int32"}, {"shape", {kN}}};
  append(&out.bin, bias, &bt["data"]);
  json gelu = toy_node("l0.ffn.gelu");
  json requant = toy_node("l0.ffn.gelu.q");
  gelu["inputs"] = {"acc"};
  gelu["outputs"] = {"g"};
  requant["inputs"] = {"g"};
  requant["outputs"] = {"y"};
  if (general_requant)
    for (json& m : requant["attrs"]["multiplier"]) m = -(3 << 28);  // odd part 3
  const json act = json::array({int64_t{1}, tokens, int64_t{kN}});
  json tensors = json::array();
  tensors.push_back({{"name", "x"}, {"dtype", "int8"}, {"shape", json::array({int64_t{1}, tokens, int64_t{kK}})},
                     {"zero_point", 0}});
  tensors.push_back(wt);
  tensors.push_back(bt);
  tensors.push_back({{"name", "acc"}, {"dtype", "int32"}, {"shape", act}});
  tensors.push_back({{"name", "g"}, {"dtype", "int64"}, {"shape", act}});
  tensors.push_back({{"name", "y"}, {"dtype", "int8"}, {"zero_point", 0}});
  json nodes = json::array();
  nodes.push_back({{"name", "fc"}, {"op", "fully_connected"}, {"inputs", {"x", "w", "b"}}, {"outputs", {"acc"}}});
  nodes.push_back(gelu);
  nodes.push_back(requant);
  out.doc = {{"format", "dyad"},
             {"version", "1.1"},
             {"name", "vnm_gelu"},
             {"weights", {{"file", "vnm_gelu.bin"},
                          {"bytes", out.bin.size()},
                          {"fnv1a64", hex64(fnv1a64(out.bin.data(), out.bin.size()))}}},
             {"inputs", {"x"}},
             {"outputs", {"y"}},
             {"tensors", tensors},
             {"nodes", nodes}};
  return out;
}

std::shared_ptr<const Model> load(const Built& m, bool reference) {
  if (reference) setenv("DYAD_KERNELS", "ref", 1);
  std::shared_ptr<const Model> model;
  const Status s = Model::load_memory(m.doc.dump(), m.bin.data(), m.bin.size(), "vnm_gelu.json", &model);
  if (reference) unsetenv("DYAD_KERNELS");
  EXPECT_TRUE(s.is_ok()) << s.message();
  return model;
}

std::vector<uint8_t> run(const std::shared_ptr<const Model>& model, int threads) {
  std::unique_ptr<Session> session;
  EXPECT_TRUE(Session::create(model, threads, &session).is_ok());
  std::vector<uint8_t> in(session->input_bytes(0));
  std::mt19937 rng(5);
  for (uint8_t& b : in) b = static_cast<uint8_t>(rng());
  EXPECT_TRUE(session->set_input(0, in.data(), in.size()).is_ok());
  const Status s = session->run();
  EXPECT_TRUE(s.is_ok()) << s.message();
  const auto* y = static_cast<const uint8_t*>(session->output_data(0));
  return std::vector<uint8_t>(y, y + session->output_bytes(0));
}

TEST(FcGeluFusion, FusedStepEqualsTheReferenceSteps) {
  const bool avx512vnni = kernels::kernel_isa_usable(kernels::KernelIsa::kAvx512Vnni);
  int fused_runs = 0;
  for (bool sparse : {true, false}) {
    for (bool general : {false, true}) {
      for (int64_t tokens : {3, 4, 5, 37, 128}) {
        SCOPED_TRACE(std::string(sparse ? "64:2:8" : "dense") + " tokens " + std::to_string(tokens) +
                     (general ? " general requant" : " floor requant"));
        const Built m = build(tokens, sparse, general);
        const std::shared_ptr<const Model> reference = load(m, true);
        const std::shared_ptr<const Model> model = load(m, false);
        if (!reference || !model) return;
        const std::vector<uint8_t> want = run(reference, 1);
        const std::vector<Step>& steps = model->plan().steps;
        const bool fused = steps.size() == 1;
        if (fused) {
          const std::string& name = steps[0].kernel_name;
          EXPECT_EQ(name.rfind(sparse ? "fully_connected:vnm_dp__avx512vnni+" : "fully_connected:gemm_x8_", 0), 0u)
              << name;
          const std::string gelu = general ? "+int_gelu_requantize__avx512" : "+int_gelu_requantize_floor__avx512";
          EXPECT_EQ(name.substr(name.size() - std::min(name.size(), gelu.size())), gelu) << name;
          ++fused_runs;
        }
        // The dense zmm GEMM takes the fusion at any token count, the
        // sparse one past its GEMV path (4 tokens).
        EXPECT_EQ(fused, avx512vnni && (!sparse || tokens > 4)) << steps[0].kernel_name;
        for (int threads : {1, 3}) EXPECT_EQ(run(model, threads), want) << "threads " << threads;
      }
    }
  }
  if (!avx512vnni) GTEST_SKIP() << "this CPU lacks avx512vnni: the unfused steps ran, the fused ones did not";
  EXPECT_EQ(fused_runs, 6 + 10);
}

}  // namespace
}  // namespace dyad
