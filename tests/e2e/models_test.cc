// End to end: every shipped model that carries samples (metadata.samples, made
// by the independent Python simulator) must reproduce them bit for bit, with
// the default kernels, DYAD_KERNELS=ref and every DYAD_ISA cap this CPU has
// (avx2, avxvnni, avx512vnni on x86-64; neon, dotprod on 64-bit ARM), at 1
// and 3 threads.
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "engine/exec/model.h"
#include "engine/exec/session.h"
#include "kernels/common/cpu.h"

namespace dyad {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> models_with_samples() {
  std::vector<std::string> paths;
  const fs::path root = fs::path(DYAD_SOURCE_DIR) / "models";
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    if (entry.path().extension() != ".json") continue;
    std::ifstream f(entry.path());
    std::stringstream text;
    text << f.rdbuf();
    const auto doc = nlohmann::json::parse(text.str(), nullptr, false);
    if (doc.is_object() && doc.value("format", "") == "dyad" && doc.contains("metadata") &&
        doc["metadata"].contains("samples"))
      paths.push_back(entry.path().string());
  }
  std::sort(paths.begin(), paths.end());
  return paths;
}

// Writes the flat list of ints into the tensor's container.
std::vector<uint8_t> to_container(const TensorDesc& desc, const nlohmann::json& values) {
  const size_t n = values.size();
  std::vector<uint8_t> bytes(n * dtype_storage_bytes(desc.dtype));
  for (size_t i = 0; i < n; ++i) {
    const int64_t v = values[i].get<int64_t>();
    switch (dtype_storage_bytes(desc.dtype)) {
      case 1: bytes[i] = static_cast<uint8_t>(v); break;
      case 2: { const int16_t x = static_cast<int16_t>(v); std::memcpy(&bytes[2 * i], &x, 2); break; }
      case 4: { const int32_t x = static_cast<int32_t>(v); std::memcpy(&bytes[4 * i], &x, 4); break; }
      default: std::memcpy(&bytes[8 * i], &v, 8); break;
    }
  }
  return bytes;
}

std::vector<int64_t> from_container(const TensorDesc& desc, const void* data, size_t n) {
  std::vector<int64_t> out(n);
  for (size_t i = 0; i < n; ++i) {
    switch (desc.dtype) {
      case DType::kInt8: case DType::kInt4: out[i] = static_cast<const int8_t*>(data)[i]; break;
      case DType::kUint8: case DType::kUint4: out[i] = static_cast<const uint8_t*>(data)[i]; break;
      case DType::kInt16: out[i] = static_cast<const int16_t*>(data)[i]; break;
      case DType::kInt32: out[i] = static_cast<const int32_t*>(data)[i]; break;
      case DType::kInt64: out[i] = static_cast<const int64_t*>(data)[i]; break;
    }
  }
  return out;
}

int index_of(const Graph& g, const std::vector<int>& list, const std::string& name) {
  for (size_t i = 0; i < list.size(); ++i)
    if (g.tensors[list[i]].name == name) return static_cast<int>(i);
  return -1;
}

// A kernel choice: an environment variable set while the model is planned
// (nullptr name: the defaults).
struct KernelSetting {
  const char* var;
  const char* value;
  std::string text() const { return var ? std::string(var) + "=" + value : "default kernels"; }
};

// Loads `path` under `setting`; appends each step's kernel name to *kernels.
void check_samples(const std::string& path, const KernelSetting& setting, int threads,
                   std::vector<std::string>* kernels = nullptr) {
  SCOPED_TRACE(path + " [" + setting.text() + "] threads " + std::to_string(threads));
  if (setting.var) setenv(setting.var, setting.value, 1);
  std::shared_ptr<const Model> model;
  const Status st = Model::load_file(path, &model);
  if (setting.var) unsetenv(setting.var);
  ASSERT_TRUE(st.is_ok()) << st.message();
  if (kernels)
    for (const Step& step : model->plan().steps) kernels->push_back(step.kernel_name);
  std::unique_ptr<Session> session;
  ASSERT_TRUE(Session::create(model, threads, &session).is_ok());
  const auto& samples = model->graph().metadata["samples"];
  ASSERT_GT(samples.size(), 0u);
  for (size_t s = 0; s < samples.size(); ++s) {
    // Two sample layouts: {"inputs": {name: ints}, "expected": {name: ints}}, or
    // for one-input one-output models {"input": ints, "expected": ints}.
    nlohmann::json sample = samples[s];
    if (sample.contains("input")) {
      sample["inputs"] = {{model->input(0).name, sample["input"]}};
      sample["expected"] = {{model->output(0).name, samples[s]["expected"]}};
    }
    for (auto it = sample["inputs"].begin(); it != sample["inputs"].end(); ++it) {
      const int i = index_of(model->graph(), model->graph().inputs, it.key());
      ASSERT_GE(i, 0) << "sample input " << it.key();
      const auto bytes = to_container(model->input(i), it.value());
      ASSERT_TRUE(session->set_input(i, bytes.data(), bytes.size()).is_ok());
    }
    ASSERT_TRUE(session->run().is_ok());
    for (auto it = sample["expected"].begin(); it != sample["expected"].end(); ++it) {
      const int o = index_of(model->graph(), model->graph().outputs, it.key());
      ASSERT_GE(o, 0) << "sample output " << it.key();
      const auto got = from_container(model->output(o), session->output_data(o), it.value().size());
      EXPECT_EQ(got, it.value().get<std::vector<int64_t>>()) << "sample " << s << " output " << it.key();
    }
  }
}

TEST(ShippedModels, ReproduceSimulatorSamplesWithEveryKernelChoiceAndThreadCount) {
  const auto paths = models_with_samples();
  ASSERT_FALSE(paths.empty()) << "no shipped model with samples found";
  for (const std::string& path : paths)
    for (const KernelSetting& setting : {KernelSetting{nullptr, nullptr}, KernelSetting{"DYAD_KERNELS", "ref"}})
      for (int threads : {1, 3}) check_samples(path, setting, threads);
}

// Each ISA level the CPU has, as the dispatch cap: the samples still match,
// and the level's own GEMM variants are really used (a VNNI cap that silently
// ran the AVX2 kernels would test nothing new). Levels the CPU lacks are
// named in the skip message.
TEST(ShippedModels, ReproduceSimulatorSamplesAtEveryIsaCap) {
  const auto paths = models_with_samples();
  ASSERT_FALSE(paths.empty()) << "no shipped model with samples found";
  std::string missing;
#if defined(__aarch64__)
  const kernels::KernelIsa levels[] = {kernels::KernelIsa::kNeon, kernels::KernelIsa::kDotprod};
#else
  const kernels::KernelIsa levels[] = {kernels::KernelIsa::kAvx2, kernels::KernelIsa::kAvxVnni,
                                       kernels::KernelIsa::kAvx512Vnni};
#endif
  for (kernels::KernelIsa isa : levels) {
    const char* name = kernels::kernel_isa_name(isa);
    if (!kernels::kernel_isa_present(isa)) {
      missing += std::string(missing.empty() ? "" : ", ") + name;
      continue;
    }
    std::vector<std::string> used;
    for (const std::string& path : paths)
      for (int threads : {1, 3}) check_samples(path, KernelSetting{"DYAD_ISA", name}, threads, &used);
    const std::string suffix = std::string("__") + name;
    size_t at_level = 0;
    for (const std::string& k : used) {
      at_level += k.size() >= suffix.size() && k.compare(k.size() - suffix.size(), suffix.size(), suffix) == 0;
      // Nothing above the cap: the suffix of every GEMM kernel is at most `name`.
      for (kernels::KernelIsa above = static_cast<kernels::KernelIsa>(static_cast<int>(isa) + 1);
           above <= kernels::KernelIsa::kI8mm;
           above = static_cast<kernels::KernelIsa>(static_cast<int>(above) + 1))
        EXPECT_EQ(k.find(std::string("__") + kernels::kernel_isa_name(above)), std::string::npos)
            << k << " under DYAD_ISA=" << name;
    }
    EXPECT_GT(at_level, 0u) << "no step used a " << name << " kernel under DYAD_ISA=" << name;
  }
  if (!missing.empty()) GTEST_SKIP() << "this CPU lacks " << missing << " (the other levels ran)";
}

}  // namespace
}  // namespace dyad
