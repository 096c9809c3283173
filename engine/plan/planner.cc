#include "engine/plan/planner.h"

#include <algorithm>
#include <cstdlib>
#include <queue>
#include <string>

#include "engine/core/checked_math.h"
#include "engine/core/limits.h"
#include "engine/format/resident_pages.h"
#include "engine/ops/fusion.h"
#include "engine/ops/op.h"
#include "engine/plan/arena_planner.h"

namespace dyad {

namespace {

Status node_error(const Graph& graph, const Node& node, const std::string& field,
                  const std::string& message) {
  return invalid_model(graph.source + ": node '" + node.name + "' (" +
                       std::string(op_type_name(node.op)) + "): field '" + field + "': " + message);
}

Status run_build_function(BuildContext& ctx) {
  switch (ctx.node().op) {
#define DYAD_OP(enum_name, json_name, build_fn) \
  case OpType::enum_name:                       \
    return build_fn(ctx);
#include "engine/ir/ops.inc"
#undef DYAD_OP
    case OpType::kCount:
      break;
  }
  return Status(StatusCode::kInternal, "node '" + ctx.node().name + "' has no op");
}

// Kahn's algorithm over producer -> consumer edges. Reports a cycle by naming
// one node on it.
Status topological_order(const Graph& graph, std::vector<int>* order) {
  const int num_nodes = static_cast<int>(graph.nodes.size());
  std::vector<int> producer(graph.tensors.size(), -1);
  for (int n = 0; n < num_nodes; ++n)
    for (int t : graph.nodes[n].outputs) producer[t] = n;

  std::vector<int> pending(num_nodes, 0);
  std::vector<std::vector<int>> consumers(num_nodes);
  for (int n = 0; n < num_nodes; ++n) {
    for (size_t i = 0; i < graph.nodes[n].inputs.size(); ++i) {
      const int t = graph.nodes[n].inputs[i];
      if (t < 0) continue;
      const TensorDesc& desc = graph.tensors[t];
      const bool is_graph_input =
          std::find(graph.inputs.begin(), graph.inputs.end(), t) != graph.inputs.end();
      if (producer[t] < 0 && !desc.is_constant && !is_graph_input)
        return node_error(graph, graph.nodes[n], "inputs[" + std::to_string(i) + "]",
                          "tensor '" + desc.name +
                              "' is not a constant, not a graph input and not produced by any node");
      if (producer[t] >= 0) {
        ++pending[n];
        consumers[producer[t]].push_back(n);
      }
    }
  }
  // A queue ordered by file position keeps the plan close to the author's order.
  std::priority_queue<int, std::vector<int>, std::greater<int>> ready;
  for (int n = 0; n < num_nodes; ++n)
    if (pending[n] == 0) ready.push(n);
  order->clear();
  while (!ready.empty()) {
    const int n = ready.top();
    ready.pop();
    order->push_back(n);
    for (int c : consumers[n])
      if (--pending[c] == 0) ready.push(c);
  }
  if (static_cast<int>(order->size()) != num_nodes) {
    for (int n = 0; n < num_nodes; ++n)
      if (pending[n] > 0)
        return node_error(graph, graph.nodes[n], "inputs",
                          "the graph has a cycle through this node");
  }
  return Status::ok();
}

// A V:N:M sparse constant holds a packed blob, not dense elements: only the
// ops that choose a sparse kernel may read it, and only as their weight.
Status check_sparse_inputs(const Graph& graph, const Node& node) {
  for (size_t i = 0; i < node.inputs.size(); ++i) {
    const int t = node.inputs[i];
    if (t < 0 || !graph.tensors[t].sparsity.vnm) continue;
    const bool weight_input =
        i == 1 && (node.op == OpType::kFullyConnected || node.op == OpType::kConv2d);
    if (!weight_input)
      return node_error(graph, node, "inputs[" + std::to_string(i) + "]",
                        "tensor '" + graph.tensors[t].name +
                            "' is V:N:M sparse; only the weight (inputs[1]) of fully_connected "
                            "or conv2d may be sparse");
  }
  return Status::ok();
}

// A step's work is what its op counted (MACs, window reads), else the
// elements it writes. The sum over the steps is bounded by kMaxModelWork.
Status count_model_work(const Graph& graph, const Node& node, Step& step, int64_t* model_work) {
  if (step.work == 0) {
    for (int t : step.outputs)
      step.work = checked_add(step.work, shape_elements(graph.tensors[t].shape))
                      .value_or(limits::kMaxModelWork + 1);
  }
  const std::optional<int64_t> total = checked_add(*model_work, step.work);
  if (!total || *total > limits::kMaxModelWork)
    return node_error(graph, node, "outputs",
                      "with this step the model's work per run passes the limit of " +
                          std::to_string(limits::kMaxModelWork) +
                          " (2^44) operations (this step: " + std::to_string(step.work) + ")");
  *model_work = *total;
  return Status::ok();
}

Status build_steps(Graph& graph, const std::vector<int>& order, std::vector<Step>* steps) {
  int64_t model_work = 0;
  for (int n : order) {
    const Node& node = graph.nodes[n];
    for (size_t i = 0; i < node.inputs.size(); ++i) {
      const int t = node.inputs[i];
      if (t >= 0 && !graph.tensors[t].shape_known)
        return node_error(graph, node, "inputs[" + std::to_string(i) + "]",
                          "the shape of tensor '" + graph.tensors[t].name + "' is unknown");
    }
    DYAD_RETURN_IF_ERROR(check_sparse_inputs(graph, node));
    Step step;
    step.node_name = node.name;
    step.op = node.op;
    step.inputs = node.inputs;
    step.outputs = node.outputs;
    BuildContext ctx(graph, n, step);
    DYAD_RETURN_IF_ERROR(run_build_function(ctx));
    DYAD_RETURN_IF_ERROR(ctx.check_no_unknown_attrs());
    if (step.fn == nullptr)
      return Status(StatusCode::kInternal, graph.source + ": node '" + node.name +
                                               "': the op selected no kernel");
    for (size_t i = 0; i < node.outputs.size(); ++i)
      if (!graph.tensors[node.outputs[i]].shape_known)
        return Status(StatusCode::kInternal, graph.source + ": node '" + node.name +
                                                 "': the op set no shape for outputs[" +
                                                 std::to_string(i) + "]");
    DYAD_RETURN_IF_ERROR(count_model_work(graph, node, step, &model_work));
    steps->push_back(std::move(step));
    // What this step read of a mapped weights file (to pack it) need not stay
    // resident: the packed copy is what runs use, and anything read directly
    // faults back in on first use.
    for (const ByteStorage& s : graph.storage) drop_resident_pages(s, 0, s.size);
  }
  return Status::ok();
}

// Pairs of adjacent steps that a fusion rule (engine/ops/fusion.h) runs as
// one: the second step is the only reader of the first's single output, which
// is not a graph output (so no one can see the tensor the fusion skips).
// DYAD_FUSION=off keeps every step (comparisons, debugging).
void fuse_steps(const Graph& graph, std::vector<Step>* steps) {
  const char* env = std::getenv("DYAD_FUSION");
  if (env != nullptr && std::string(env) == "off") return;
  std::vector<int> readers(graph.tensors.size(), 0);
  for (const Step& s : *steps)
    for (int t : s.inputs)
      if (t >= 0) ++readers[t];
  for (int t : graph.outputs) ++readers[t];
  // `next` alone reads `prev`'s single output, which nobody else sees, as its input 0.
  auto chained = [&](const Step& prev, const Step& next) {
    return prev.outputs.size() == 1 && readers[prev.outputs[0]] == 1 && !next.inputs.empty() &&
           next.inputs[0] == prev.outputs[0];
  };
  std::vector<Step> out;
  out.reserve(steps->size());
  for (size_t i = 0; i < steps->size(); ++i) {
    std::vector<Step>& s = *steps;
    Step fused;
    if (i + 2 < s.size() && chained(s[i], s[i + 1]) && chained(s[i + 1], s[i + 2]) &&
        fuse_steps_triple(s[i], s[i + 1], s[i + 2], &fused)) {
      out.push_back(std::move(fused));
      i += 2;
      continue;
    }
    if (i + 1 < s.size() && chained(s[i], s[i + 1]) && s[i + 1].inputs.size() == 1 &&
        fuse_steps_pair(s[i], s[i + 1], &fused)) {
      out.push_back(std::move(fused));
      ++i;
      continue;
    }
    out.push_back(std::move(s[i]));
  }
  *steps = std::move(out);
}

// Lifetimes: a graph input lives through the whole run (so a second run() sees
// the same inputs), a graph output until after the last step; any other tensor
// from its producer to its last reader.
Status layout_arena(const Graph& graph, Plan* plan) {
  const int num_steps = static_cast<int>(plan->steps.size());
  std::vector<int> first(graph.tensors.size(), -2), last(graph.tensors.size(), -2);
  for (int t : graph.inputs) first[t] = last[t] = -1;
  for (int s = 0; s < num_steps; ++s) {
    for (int t : plan->steps[s].outputs) {
      first[t] = s;
      last[t] = std::max(last[t], s);
    }
    for (int t : plan->steps[s].inputs)
      if (t >= 0 && !graph.tensors[t].is_constant) last[t] = std::max(last[t], s);
  }
  for (int t : graph.inputs) last[t] = num_steps;
  for (int t : graph.outputs) last[t] = num_steps;

  std::vector<BufferRequest> requests;
  std::vector<int> tensor_of_request;
  std::optional<size_t> unshared = 0;
  int largest = -1;
  for (size_t t = 0; t < graph.tensors.size(); ++t) {
    const TensorDesc& desc = graph.tensors[t];
    if (desc.is_constant || first[t] == -2) continue;
    // Every arena tensor is a graph input or an op output, both already
    // within kMaxTensorBytes; the checks keep this true by construction.
    std::optional<size_t> bytes = checked_product<size_t>(desc.shape);
    if (bytes) bytes = checked_mul(*bytes, dtype_storage_bytes(desc.dtype));
    if (bytes && unshared) unshared = checked_add(*unshared, checked_align_up(*bytes, 64).value_or(SIZE_MAX));
    if (!bytes || !unshared)
      return invalid_model(graph.source + ": tensor '" + desc.name + "': field 'shape': " +
                           "its size in bytes overflows");
    if (largest < 0 || *bytes > requests[largest].bytes) largest = static_cast<int>(requests.size());
    requests.push_back({*bytes, first[t], last[t]});
    tensor_of_request.push_back(static_cast<int>(t));
  }
  size_t arena_bytes = 0;
  const std::vector<size_t> offsets = plan_arena(requests, &arena_bytes);
  if (arena_bytes > static_cast<size_t>(limits::kMaxArenaBytes))
    return invalid_model(graph.source + ": the activation arena needs " +
                         (arena_bytes == SIZE_MAX ? std::string("more than 2^64")
                                                  : std::to_string(arena_bytes)) +
                         " bytes, more than the limit of " +
                         std::to_string(limits::kMaxArenaBytes) + " (2^36); the largest tensor is '" +
                         graph.tensors[tensor_of_request[largest]].name + "' (" +
                         std::to_string(requests[largest].bytes) + " bytes)");
  plan->unshared_bytes = *unshared;
  plan->arena_bytes = arena_bytes;
  plan->arena_offsets.assign(graph.tensors.size(), -1);
  for (size_t r = 0; r < requests.size(); ++r)
    plan->arena_offsets[tensor_of_request[r]] = static_cast<int64_t>(offsets[r]);
  return Status::ok();
}

// Graph inputs have declared shapes; op outputs are checked as they are
// inferred (BuildContext::set_output_shape). Both are bounded the same way.
Status check_graph_inputs(const Graph& graph) {
  for (int t : graph.inputs) {
    const TensorDesc& desc = graph.tensors[t];
    if (!desc.shape_known)
      return invalid_model(graph.source + ": tensor '" + desc.name +
                           "': field 'shape': a graph input needs a shape");
    const std::string too_large = shape_limit_violation(desc.shape, desc.dtype);
    if (!too_large.empty())
      return invalid_model(graph.source + ": tensor '" + desc.name + "': field 'shape': graph input " +
                           too_large);
  }
  return Status::ok();
}

}  // namespace

Status build_plan(Graph& graph, Plan* out) {
  DYAD_RETURN_IF_ERROR(check_graph_inputs(graph));
  std::vector<int> order;
  DYAD_RETURN_IF_ERROR(topological_order(graph, &order));
  Plan plan;
  DYAD_RETURN_IF_ERROR(build_steps(graph, order, &plan.steps));
  fuse_steps(graph, &plan.steps);
  for (const Step& s : plan.steps)
    plan.scratch_bytes_per_thread = std::max(plan.scratch_bytes_per_thread, s.scratch_bytes_per_thread);
  DYAD_RETURN_IF_ERROR(layout_arena(graph, &plan));
  *out = std::move(plan);
  return Status::ok();
}

}  // namespace dyad
