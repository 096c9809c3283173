// Cross-architecture fidelity: every shipped model (models/examples,
// models/fmnist) run on fixed inputs, its output bytes hashed (FNV-1a, 64-bit)
// and compared with the hashes stored in tests/data/model_output_hashes.txt.
// The same file is checked on x86-64 (default kernels, DYAD_KERNELS=ref and
// every DYAD_ISA level the CPU has) and on ARM64 (scripts/test_arm64.sh, under
// qemu-user: neon, dotprod, i8mm), at 1 and 3 threads: integer inference is
// the same function everywhere, so one hash per model must hold on all of them.
//
// Fixed inputs: 8- and 4-bit inputs are pseudo-random over the whole
// container range (a 64-bit LCG, seeded per input); wider inputs (token ids,
// masks) are the model's first stored sample. To rewrite the file after a
// deliberate change of a model or of the numerics:
//   DYAD_UPDATE_OUTPUT_HASHES=1 build/tests/dyad_tests --gtest_filter='OutputHashes.*'
#include <gtest/gtest.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "engine/exec/model.h"
#include "engine/exec/session.h"
#include "kernels/common/cpu.h"

namespace dyad {
namespace {

namespace fs = std::filesystem;

const fs::path kHashFile = fs::path(DYAD_SOURCE_DIR) / "tests/data/model_output_hashes.txt";

std::vector<std::string> shipped_models() {
  std::vector<std::string> paths;
  for (const char* dir : {"models/examples", "models/fmnist"}) {
    for (const auto& entry : fs::directory_iterator(fs::path(DYAD_SOURCE_DIR) / dir))
      if (entry.path().extension() == ".json") paths.push_back(std::string(dir) + "/" + entry.path().filename().string());
  }
  std::sort(paths.begin(), paths.end());
  return paths;
}

uint64_t fnv1a(uint64_t h, const void* data, size_t n) {
  const auto* p = static_cast<const uint8_t*>(data);
  for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 0x100000001b3ull;
  return h;
}

// Input i's fixed bytes (see the file comment).
std::vector<uint8_t> fixed_input(const Model& model, size_t i) {
  const TensorDesc& d = model.input(i);
  const size_t elems = [&] {
    size_t n = 1;
    for (int64_t s : d.shape) n *= static_cast<size_t>(s);
    return n;
  }();
  const size_t width = dtype_storage_bytes(d.dtype);
  std::vector<uint8_t> bytes(elems * width);
  if (width == 1) {
    int lo = -128, hi = 127;
    if (d.dtype == DType::kUint8) lo = 0, hi = 255;
    if (d.dtype == DType::kInt4) lo = -8, hi = 7;
    if (d.dtype == DType::kUint4) lo = 0, hi = 15;
    uint64_t state = 0x9e3779b97f4a7c15ull * (i + 1);
    for (size_t k = 0; k < elems; ++k) {
      state = state * 6364136223846793005ull + 1442695040888963407ull;
      bytes[k] = static_cast<uint8_t>(lo + static_cast<int>((state >> 33) % uint64_t(hi - lo + 1)));
    }
    return bytes;
  }
  const auto& samples = model.graph().metadata["samples"];
  if (samples.empty()) ADD_FAILURE() << "input " << d.name << " is wider than 8 bits and the model has no sample";
  if (samples.empty()) return bytes;
  const nlohmann::json& first = samples[0];
  const nlohmann::json& values = first.contains("input") ? first["input"] : first["inputs"][d.name];
  EXPECT_EQ(values.size(), elems) << d.name;
  for (size_t k = 0; k < std::min(elems, values.size()); ++k) {
    const int64_t v = values[k].get<int64_t>();
    if (width == 2) { const int16_t x = static_cast<int16_t>(v); std::memcpy(&bytes[2 * k], &x, 2); }
    if (width == 4) { const int32_t x = static_cast<int32_t>(v); std::memcpy(&bytes[4 * k], &x, 4); }
    if (width == 8) std::memcpy(&bytes[8 * k], &v, 8);
  }
  return bytes;
}

// The hash of all outputs of `path` on the fixed inputs, loaded with the
// environment variable var=value (nullptr: the defaults); the step kernels
// are appended to *kernels.
uint64_t output_hash(const std::string& path, const char* var, const char* value, int threads,
                     std::vector<std::string>* kernels = nullptr) {
  if (var) setenv(var, value, 1);
  std::shared_ptr<const Model> model;
  const Status st = Model::load_file((fs::path(DYAD_SOURCE_DIR) / path).string(), &model);
  if (var) unsetenv(var);
  EXPECT_TRUE(st.is_ok()) << path << ": " << st.message();
  if (!st.is_ok()) return 0;
  if (kernels)
    for (const Step& step : model->plan().steps) kernels->push_back(step.kernel_name);
  std::unique_ptr<Session> session;
  EXPECT_TRUE(Session::create(model, threads, &session).is_ok());
  if (!session) return 0;
  for (size_t i = 0; i < model->num_inputs(); ++i) {
    const std::vector<uint8_t> bytes = fixed_input(*model, i);
    const Status in = session->set_input(i, bytes.data(), bytes.size());
    EXPECT_TRUE(in.is_ok()) << path << " input " << i << ": " << in.message();
  }
  const Status run = session->run();
  EXPECT_TRUE(run.is_ok()) << path << ": " << run.message();
  uint64_t h = 0xcbf29ce484222325ull;
  for (size_t o = 0; o < model->num_outputs(); ++o) h = fnv1a(h, session->output_data(o), session->output_bytes(o));
  return h;
}

std::map<std::string, std::string> stored_hashes() {
  std::map<std::string, std::string> out;
  std::ifstream f(kHashFile);
  for (std::string line; std::getline(f, line);) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    std::string path, hash;
    if (fields >> path >> hash) out[path] = hash;
  }
  return out;
}

std::string hex(uint64_t h) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016" PRIx64, h);
  return buf;
}

// The DYAD_ISA levels of this build's architecture that the CPU has.
std::vector<kernels::KernelIsa> present_levels() {
  std::vector<kernels::KernelIsa> out;
  for (kernels::KernelIsa isa : {kernels::KernelIsa::kAvx2, kernels::KernelIsa::kAvxVnni,
                                 kernels::KernelIsa::kAvx512Vnni, kernels::KernelIsa::kAmx,
                                 kernels::KernelIsa::kNeon, kernels::KernelIsa::kDotprod,
                                 kernels::KernelIsa::kI8mm})
    if (kernels::kernel_isa_present(isa)) out.push_back(isa);
  return out;
}

TEST(OutputHashes, EveryShippedModelMatchesTheStoredHashAtEveryKernelChoice) {
  const std::vector<std::string> models = shipped_models();
  ASSERT_GE(models.size(), 7u) << "shipped models missing under " << DYAD_SOURCE_DIR;
  if (std::getenv("DYAD_UPDATE_OUTPUT_HASHES") != nullptr) {
    std::ofstream f(kHashFile);
    f << "# FNV-1a 64 of each shipped model's outputs on fixed inputs (tests/e2e/output_hashes_test.cc).\n";
    for (const std::string& path : models) f << path << ' ' << hex(output_hash(path, "DYAD_KERNELS", "ref", 1)) << '\n';
    ASSERT_TRUE(f.good()) << "cannot write " << kHashFile;
  }
  const auto stored = stored_hashes();
  for (const std::string& path : models) {
    SCOPED_TRACE(path);
    const auto it = stored.find(path);
    ASSERT_NE(it, stored.end()) << "no stored hash for " << path << " in " << kHashFile;
    for (int threads : {1, 3}) {
      EXPECT_EQ(hex(output_hash(path, "DYAD_KERNELS", "ref", threads)), it->second) << "reference kernels, "
                                                                                    << threads << " threads";
      EXPECT_EQ(hex(output_hash(path, nullptr, nullptr, threads)), it->second) << "default kernels, " << threads
                                                                               << " threads";
      for (kernels::KernelIsa isa : present_levels()) {
        const char* name = kernels::kernel_isa_name(isa);
        EXPECT_EQ(hex(output_hash(path, "DYAD_ISA", name, threads)), it->second)
            << "DYAD_ISA=" << name << ", " << threads << " threads";
      }
    }
  }
}

// The kernels the default dispatch chose are this architecture's vector ones
// where it has any (so the hashes above compared vector code, not only the
// reference twice).
TEST(OutputHashes, DefaultDispatchUsesVectorKernels) {
  if (present_levels().empty()) GTEST_SKIP() << "no vector ISA level on this CPU";
  std::vector<std::string> used;
  for (const std::string& path : shipped_models()) output_hash(path, nullptr, nullptr, 1, &used);
  const size_t vector_steps = std::count_if(used.begin(), used.end(), [](const std::string& k) {
    return k.find("__ref") == std::string::npos && k.find("__") != std::string::npos;
  });
  EXPECT_GT(vector_steps, 0u);
}

}  // namespace
}  // namespace dyad
