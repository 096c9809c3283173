// Model: a loaded, validated and planned model. Immutable; any number of
// Sessions on any threads may share one through a shared_ptr.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "engine/core/load_options.h"
#include "engine/core/status.h"
#include "engine/ir/graph.h"
#include "engine/plan/plan.h"

namespace dyad {

class Model {
 public:
  static Status load_file(const std::string& json_path, std::shared_ptr<const Model>* out,
                          const LoadOptions& options = {});
  static Status load_memory(std::string_view json_text, const void* weights, size_t weights_bytes,
                            std::string_view source_name, std::shared_ptr<const Model>* out,
                            const LoadOptions& options = {});
  // Plans an already loaded graph (used by tests that build graphs in code).
  static Status from_graph(Graph graph, std::shared_ptr<const Model>* out,
                           const LoadOptions& options = {});

  const LoadOptions& options() const { return options_; }

  const Graph& graph() const { return graph_; }
  const Plan& plan() const { return plan_; }

  const TensorDesc& input(size_t i) const { return graph_.tensors[graph_.inputs[i]]; }
  const TensorDesc& output(size_t i) const { return graph_.tensors[graph_.outputs[i]]; }
  size_t num_inputs() const { return graph_.inputs.size(); }
  size_t num_outputs() const { return graph_.outputs.size(); }

 private:
  Graph graph_;
  Plan plan_;
  LoadOptions options_;
};

}  // namespace dyad
