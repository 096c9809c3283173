#include "engine/exec/model.h"

#include <new>

#include "engine/exec/memory_needs.h"
#include "engine/format/loader.h"
#include "engine/plan/planner.h"

namespace dyad {

Status Model::from_graph(Graph graph, std::shared_ptr<const Model>* out,
                         const LoadOptions& options) {
  const std::string source = graph.source;
  try {
    auto model = std::shared_ptr<Model>(new Model());
    model->options_ = options;
    model->graph_ = std::move(graph);
    DYAD_RETURN_IF_ERROR(build_plan(model->graph_, &model->plan_));
    Plan& plan = model->plan_;
    plan.packed_bytes = 0;
    for (const Step& step : plan.steps) plan.packed_bytes += step.op_data_bytes;
    // Before any session allocates the arena: the needs of one session thread.
    DYAD_RETURN_IF_ERROR(check_memory_budget(memory_needs(model->graph_, plan, 1),
                                             options.memory_budget_bytes, source));
    *out = std::move(model);
    return Status::ok();
  } catch (const std::bad_alloc&) {
    return Status(StatusCode::kOutOfMemory, source + ": out of memory while planning");
  }
}

Status Model::load_file(const std::string& json_path, std::shared_ptr<const Model>* out,
                        const LoadOptions& options) {
  Graph graph;
  DYAD_RETURN_IF_ERROR(load_graph_from_file(json_path, &graph, options));
  return from_graph(std::move(graph), out, options);
}

Status Model::load_memory(std::string_view json_text, const void* weights, size_t weights_bytes,
                          std::string_view source_name, std::shared_ptr<const Model>* out,
                          const LoadOptions& options) {
  Graph graph;
  DYAD_RETURN_IF_ERROR(
      load_graph_from_memory(json_text, weights, weights_bytes, source_name, &graph, options));
  return from_graph(std::move(graph), out, options);
}

}  // namespace dyad
