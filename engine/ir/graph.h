// Graph: the validated content of a model file. Built by engine/format, read
// by the planner, immutable afterwards.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/core/byte_storage.h"
#include "engine/ir/op_type.h"
#include "engine/ir/tensor.h"

namespace dyad {

struct Node {
  std::string name;
  OpType op = OpType::kCount;
  std::vector<int> inputs;   // tensor indices; -1 for an omitted optional input ("")
  std::vector<int> outputs;  // tensor indices
  nlohmann::json attrs = nlohmann::json::object();  // op-specific, read by engine/ops
};

struct Graph {
  std::string source;  // file name (or "<memory>") used in every error message
  std::string name;    // the model's name from the JSON, may be empty
  std::vector<TensorDesc> tensors;
  std::vector<Node> nodes;  // in file order; the planner sorts them
  std::vector<int> inputs;
  std::vector<int> outputs;
  nlohmann::json metadata = nlohmann::json::object();  // free-form, passed through
  // Storage that constant tensors point into: the weights file and inline data.
  std::vector<ByteStorage> storage;

  int find_tensor(const std::string& tensor_name) const;
};

}  // namespace dyad
