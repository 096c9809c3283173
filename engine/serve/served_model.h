// One model the server serves: the loaded dyad_model, its inputs and outputs
// as the protocol describes them, and its pool of sessions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "dyad/dyad.h"
#include "engine/serve/datatype.h"
#include "engine/serve/session_pool.h"

namespace dyad::serve {

struct TensorSpec {
  std::string name;
  dyad_dtype dtype;
  WireType wire;               // the datatype the protocol reports
  std::vector<int64_t> shape;
  size_t num_elements = 0;
  size_t bytes = 0;            // the C API container's size
  bool has_scale = false;      // FP32 in (quantized) and dequantized out are possible
};

struct PoolConfig {
  int sessions = 1;
  int threads = 1;
  size_t max_queue = 64;
};

class ServedModel {
 public:
  // Loads `path` through the C API and creates the session pool. False with
  // *error naming the file (the C API's message) on failure.
  static bool load(const std::string& name, const std::string& path,
                   const dyad_model_options& options, const PoolConfig& pool,
                   std::unique_ptr<ServedModel>* out, std::string* error);
  ~ServedModel();
  ServedModel(const ServedModel&) = delete;
  ServedModel& operator=(const ServedModel&) = delete;

  const std::string& name() const { return name_; }
  const std::string& path() const { return path_; }
  const std::vector<TensorSpec>& inputs() const { return inputs_; }
  const std::vector<TensorSpec>& outputs() const { return outputs_; }
  SessionPool& pool() { return *pool_; }
  const SessionPool& pool() const { return *pool_; }
  // The model metadata reply (GET /v2/models/NAME).
  std::string metadata_json() const;

 private:
  ServedModel() = default;
  std::string name_, path_;
  dyad_model* model_ = nullptr;
  std::vector<TensorSpec> inputs_, outputs_;
  std::unique_ptr<SessionPool> pool_;
};

}  // namespace dyad::serve
