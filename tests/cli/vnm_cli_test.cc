// `dyad prune` and `dyad info` on V:N:M sparse models: runs the built binary
// (DYAD_CLI_PATH) on a two-layer dense model written here. The pruned model's
// weights are the C++ pruner's output, packed; the model gives exactly the
// outputs of the dense model built from those pruned weights; info reports the
// pattern and the dense and kept MACs.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/exec/model.h"
#include "engine/exec/session.h"
#include "engine/format/loader.h"
#include "engine/format/sparsity.h"
#include "engine/format/weights.h"
#include "kernels/vnm_gemm/vnm_prune.h"

namespace dyad {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

class VnmCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) / ("dyad_vnm_cli_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  int dyad(const std::string& args, std::string* out) {
    const fs::path o = dir_ / "stdout.txt";
    const std::string cmd = std::string("'") + DYAD_CLI_PATH + "' " + args + " > '" + o.string() + "' 2>&1";
    const int status = std::system(cmd.c_str());
    std::ifstream f(o);
    std::stringstream s;
    s << f.rdbuf();
    *out = s.str();
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  // x int8 [5, 96] -> fc1 (w1 [64, 96]) -> h uint8 -> fc2 (w2 [40, 64]) -> y int8.
  // Writes `name`.json/.bin with the given weight values (dense).
  void write_model(const std::string& name, const std::vector<int8_t>& w1, const std::vector<int8_t>& w2) {
    std::vector<uint8_t> bin;
    auto add = [&](const void* p, size_t n) {
      bin.resize((bin.size() + 63) / 64 * 64, 0);
      const json d = {{"offset", bin.size()}, {"bytes", n}};
      bin.insert(bin.end(), static_cast<const uint8_t*>(p), static_cast<const uint8_t*>(p) + n);
      return d;
    };
    std::vector<int32_t> b1(64, 100), b2(40, -100);
    json tensors = json::array();
    tensors.push_back({{"name", "x"}, {"dtype", "int8"}, {"shape", {5, 96}}, {"scale", 0.1}});
    tensors.push_back({{"name", "w1"}, {"dtype", "int8"}, {"shape", {64, 96}}, {"scale", 0.01},
                       {"data", add(w1.data(), w1.size())}});
    tensors.push_back({{"name", "b1"}, {"dtype", "int32"}, {"shape", {64}}, {"data", add(b1.data(), 256)}});
    tensors.push_back({{"name", "h"}, {"dtype", "uint8"}, {"scale", 0.1}, {"zero_point", 128}});
    tensors.push_back({{"name", "w2"}, {"dtype", "int8"}, {"shape", {40, 64}}, {"scale", 0.01},
                       {"data", add(w2.data(), w2.size())}});
    tensors.push_back({{"name", "b2"}, {"dtype", "int32"}, {"shape", {40}}, {"data", add(b2.data(), 160)}});
    tensors.push_back({{"name", "y"}, {"dtype", "int8"}, {"scale", 0.1}});
    const json doc = {
        {"format", "dyad"}, {"version", "1.0"}, {"name", name},
        {"weights", {{"file", name + ".bin"}, {"bytes", bin.size()}, {"fnv1a64", hex64(fnv1a64(bin.data(), bin.size()))}}},
        {"inputs", {"x"}}, {"outputs", {"y"}}, {"tensors", tensors},
        {"nodes",
         {{{"name", "fc1"}, {"op", "fully_connected"}, {"inputs", {"x", "w1", "b1"}}, {"outputs", {"h"}},
           {"attrs", {{"multiplier", 1 << 30}, {"shift", 38}}}},
          {{"name", "fc2"}, {"op", "fully_connected"}, {"inputs", {"h", "w2", "b2"}}, {"outputs", {"y"}},
           {"attrs", {{"multiplier", 1 << 30}, {"shift", 36}}}}}}};
    std::ofstream(path(name + ".bin"), std::ios::binary).write(reinterpret_cast<const char*>(bin.data()), bin.size());
    std::ofstream(path(name + ".json")) << doc.dump(1);
  }

  fs::path dir_;
};

std::vector<int8_t> random_weights(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> d(-127, 127);
  std::vector<int8_t> w(n);
  for (int8_t& x : w) x = static_cast<int8_t>(d(rng));
  return w;
}

std::vector<uint8_t> run(const std::string& json_path, bool reference, int threads) {
  if (reference) setenv("DYAD_KERNELS", "ref", 1);
  std::shared_ptr<const Model> model;
  const Status s = Model::load_file(json_path, &model);
  if (reference) unsetenv("DYAD_KERNELS");
  EXPECT_TRUE(s.is_ok()) << s.message();
  if (!s.is_ok()) return {};
  std::unique_ptr<Session> session;
  EXPECT_TRUE(Session::create(model, threads, &session).is_ok());
  std::vector<uint8_t> x(session->input_bytes(0));
  std::mt19937 rng(3);
  for (uint8_t& b : x) b = static_cast<uint8_t>(rng());
  EXPECT_TRUE(session->set_input(0, x.data(), x.size()).is_ok());
  EXPECT_TRUE(session->run().is_ok());
  const auto* y = static_cast<const uint8_t*>(session->output_data(0));
  return std::vector<uint8_t>(y, y + session->output_bytes(0));
}

#define EXPECT_CONTAINS(text, part) \
  EXPECT_NE((text).find(part), std::string::npos) << "missing \"" << (part) << "\" in:\n" << (text)

TEST_F(VnmCli, PruneRoundTripAndInfo) {
  const std::vector<int8_t> w1 = random_weights(64 * 96, 1), w2 = random_weights(40 * 64, 2);
  write_model("dense", w1, w2);
  std::string out;
  ASSERT_EQ(dyad("prune '" + path("dense.json") + "' --out '" + path("sparse.json") + "' --v 32 --m 8", &out), 0)
      << out;
  EXPECT_CONTAINS(out, "pruned 2 weights to 32:2:8");

  // The stored weights are the C++ pruner's result, packed.
  std::vector<int8_t> p1(w1.size()), p2(w2.size());
  ASSERT_EQ(kernels::vnm_prune_magnitude({64, 96, 32, 8, 8}, w1.data(), p1.data()), "");
  ASSERT_EQ(kernels::vnm_prune_magnitude({40, 64, 32, 8, 8}, w2.data(), p2.data()), "");
  std::shared_ptr<const Model> sparse;
  ASSERT_TRUE(Model::load_file(path("sparse.json"), &sparse).is_ok());
  for (const auto& [name, expected] : {std::pair{"w1", &p1}, std::pair{"w2", &p2}}) {
    for (const TensorDesc& t : sparse->graph().tensors) {
      if (t.name != name) continue;
      EXPECT_TRUE(t.sparsity.vnm);
      EXPECT_EQ(t.sparsity.v, 32);
      std::vector<int8_t> dense;
      ASSERT_TRUE(unpack_sparse(name, t, &dense).is_ok());
      EXPECT_EQ(dense, *expected) << name;
    }
  }

  // Same outputs as the dense model of the pruned weights.
  write_model("pruned_dense", p1, p2);
  const std::vector<uint8_t> expected = run(path("pruned_dense.json"), true, 1);
  ASSERT_FALSE(expected.empty());
  EXPECT_NE(run(path("dense.json"), true, 1), expected);  // pruning changed something
  for (bool reference : {true, false})
    for (int threads : {1, 3}) EXPECT_EQ(run(path("sparse.json"), reference, threads), expected);

  // info: the pattern, the share kept, dense and kept MACs.
  ASSERT_EQ(dyad("info '" + path("sparse.json") + "'", &out), 0) << out;
  EXPECT_CONTAINS(out, "sparse layers (V:N:M):");
  EXPECT_CONTAINS(out, "32:2:8 int8");
  EXPECT_CONTAINS(out, "25.0%");
  // fc1: 5 x 64 x 96 = 30,720 dense, 5 x 64 x 24 = 7,680 kept; fc2: 12,800 -> 3,200.
  EXPECT_CONTAINS(out, "30,720 -> 7,680");
  EXPECT_CONTAINS(out, "12,800 -> 3,200");
  EXPECT_CONTAINS(out, "MACs per run: 43,520\n");
  EXPECT_CONTAINS(out, "effective MACs per run: 10,880 (25.0%");
  ASSERT_EQ(dyad("info '" + path("dense.json") + "'", &out), 0) << out;
  EXPECT_EQ(out.find("sparse layers"), std::string::npos);
  EXPECT_EQ(out.find("effective MACs"), std::string::npos);

  // One layer by name.
  ASSERT_EQ(dyad("prune '" + path("dense.json") + "' --out '" + path("one.json") + "' --layers fc2 --m 4", &out), 0)
      << out;
  std::shared_ptr<const Model> one;
  ASSERT_TRUE(Model::load_file(path("one.json"), &one).is_ok());
  for (const TensorDesc& t : one->graph().tensors) {
    if (t.name == "w1") {
      EXPECT_FALSE(t.sparsity.vnm);
    } else if (t.name == "w2") {
      EXPECT_TRUE(t.sparsity.vnm && t.sparsity.m == 4 && t.sparsity.v == 64);
    }
  }
}

TEST_F(VnmCli, PruneErrors) {
  write_model("dense", random_weights(64 * 96, 1), random_weights(40 * 64, 2));
  std::string out;
  std::string in = "'";  // (built in steps: GCC 12 warns falsely on "'" + s + "'")
  in += path("dense.json");
  in += "'";
  EXPECT_EQ(dyad("prune " + in, &out), 2);
  EXPECT_CONTAINS(out, "missing --out");
  EXPECT_EQ(dyad("prune " + in + " --out '" + path("s.json") + "' --v 12", &out), 2);
  EXPECT_CONTAINS(out, "multiple of 8");
  EXPECT_EQ(dyad("prune " + in + " --out '" + path("s.json") + "' --m 3", &out), 2);
  EXPECT_EQ(dyad("prune " + in + " --out '" + path("s.json") + "' --layers fc9", &out), 1);
  EXPECT_CONTAINS(out, "no node named 'fc9'");
  EXPECT_EQ(dyad("prune '" + path("missing.json") + "' --out '" + path("s.json") + "'", &out), 1);
  EXPECT_CONTAINS(out, "missing.json");
}

}  // namespace
}  // namespace dyad
