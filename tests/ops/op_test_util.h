// Helpers for op-level tests: one-node models written as JSON, loaded through
// the real loader and planner (Model::load_memory), and run through a Session.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/exec/model.h"
#include "engine/exec/session.h"
#include "kernels/common/cpu.h"

namespace dyad::test {

using nlohmann::json;

// A model whose graph inputs are `inputs`, outputs `outputs`, with the given
// tensors and one node (name "n").
inline json one_node_model(const std::string& op, const json& tensors,
                           const std::vector<std::string>& node_inputs,
                           const std::vector<std::string>& node_outputs, const json& attrs,
                           const std::vector<std::string>& graph_inputs) {
  json node = {{"name", "n"}, {"op", op}, {"inputs", node_inputs}, {"outputs", node_outputs}};
  if (!attrs.is_null()) node["attrs"] = attrs;
  return {{"format", "dyad"}, {"version", "1.0"},  {"inputs", graph_inputs},
          {"outputs", node_outputs}, {"tensors", tensors}, {"nodes", json::array({node})}};
}

inline Status load(const json& model, std::shared_ptr<const Model>* out) {
  return Model::load_memory(model.dump(), nullptr, 0, "t.json", out);
}

// Loading fails with kInvalidModel and a message naming node 'n' and `field`,
// and containing every one of `parts`.
inline void expect_build_error(const json& model, const std::string& field,
                               std::initializer_list<std::string> parts = {}) {
  std::shared_ptr<const Model> m;
  const Status s = load(model, &m);
  ASSERT_FALSE(s.is_ok()) << "expected an error on field '" << field << "' for " << model.dump();
  EXPECT_EQ(s.code(), StatusCode::kInvalidModel) << s.message();
  EXPECT_NE(s.message().find("t.json"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("node 'n'"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("field '" + field + "'"), std::string::npos) << s.message();
  for (const std::string& p : parts) EXPECT_NE(s.message().find(p), std::string::npos) << s.message();
  EXPECT_EQ(m, nullptr);
}

// Loads `model`, feeds each graph input the bytes of `inputs[i]`, runs with
// `threads` threads and returns output 0 as T values.
template <typename T>
std::vector<T> run_model(const json& model, const std::vector<std::vector<uint8_t>>& inputs,
                         int threads = 1) {
  std::shared_ptr<const Model> m;
  const Status s = load(model, &m);
  EXPECT_TRUE(s.is_ok()) << s.message();
  if (!s.is_ok()) return {};
  std::unique_ptr<Session> session;
  EXPECT_TRUE(Session::create(m, threads, &session).is_ok());
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Status si = session->set_input(i, inputs[i].data(), inputs[i].size());
    EXPECT_TRUE(si.is_ok()) << si.message();
  }
  EXPECT_TRUE(session->run().is_ok());
  std::vector<T> out(session->output_bytes(0) / sizeof(T));
  std::memcpy(out.data(), session->output_data(0), out.size() * sizeof(T));
  return out;
}

// The bytes of a vector of integers, for run_model inputs.
template <typename T>
std::vector<uint8_t> bytes_of(const std::vector<T>& v) {
  std::vector<uint8_t> b(v.size() * sizeof(T));
  std::memcpy(b.data(), v.data(), b.size());
  return b;
}

// The kernel name the planner chose for the model's only step.
inline std::string kernel_of(const json& model) {
  std::shared_ptr<const Model> m;
  const Status s = load(model, &m);
  EXPECT_TRUE(s.is_ok()) << s.message();
  return s.is_ok() ? m->plan().steps.at(0).kernel_name : "";
}

// The suffix of the vector variants of add and the pools on this build:
// "avx2" on x86-64, "neon" on 64-bit ARM.
inline std::string vector_isa() {
#if defined(__aarch64__)
  return "neon";
#else
  return "avx2";
#endif
}

// The step runs `vec` where the CPU has the vector ISA (AVX2 on x86-64, NEON
// on 64-bit ARM; `ref` elsewhere), and `ref` under DYAD_KERNELS=ref.
inline void expect_kernel_choice(const json& model, const std::string& vec,
                                 const std::string& ref) {
  const bool has_vector =
      kernels::cpu_features().avx2 || kernels::kernel_isa_usable(kernels::KernelIsa::kNeon);
  EXPECT_EQ(kernel_of(model), has_vector ? vec : ref);
  setenv("DYAD_KERNELS", "ref", 1);
  EXPECT_EQ(kernel_of(model), ref);
  unsetenv("DYAD_KERNELS");
}

// An op with AVX-512 (F/BW/VL/DQ) and AVX2 variants: the best the CPU has,
// the AVX2 one under DYAD_ISA=avx2, the reference under DYAD_KERNELS=ref
// (on 64-bit ARM its NEON variant, `avx2` with the suffix __neon).
inline void expect_vector_kernel_choice(const json& model, const std::string& avx512, const std::string& avx2,
                                        const std::string& ref) {
#if defined(__aarch64__)
  // 64-bit ARM: the NEON variant of the same name (x86 levels in DYAD_ISA
  // are reported and ignored there).
  (void)avx512;
  expect_kernel_choice(model, avx2.substr(0, avx2.rfind("__avx2")) + "__neon", ref);
#else
  expect_kernel_choice(model, kernels::avx512_elementwise_usable() ? avx512 : avx2, ref);
  const char* old = std::getenv("DYAD_ISA");
  const std::string saved = old ? old : "";
  setenv("DYAD_ISA", "avx2", 1);
  EXPECT_EQ(kernel_of(model), kernels::cpu_features().avx2 ? avx2 : ref);
  if (old) setenv("DYAD_ISA", saved.c_str(), 1);
  else unsetenv("DYAD_ISA");
#endif
}

}  // namespace dyad::test
