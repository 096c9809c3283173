// The interface between the planner and one op (engine/ops/<op>.cc).
//
// An op's build function is called once per node, in topological order, with
// its input descriptors complete. It reads and checks its attributes, checks
// input dtypes and shapes, sets its output shapes, derives or reads its integer
// constants, selects a kernel and prepares the kernel's op data. All errors are
// returned as Status values made by BuildContext::error, which names the file,
// the node and the field.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "engine/core/status.h"
#include "engine/ir/graph.h"
#include "engine/plan/plan.h"

namespace dyad {

class BuildContext {
 public:
  BuildContext(Graph& graph, int node_index, Step& step);

  const Graph& graph() const { return graph_; }
  const Node& node() const { return graph_.nodes[node_index_]; }
  std::string_view op_name() const { return op_type_name(node().op); }

  int num_inputs() const { return static_cast<int>(node().inputs.size()); }
  int num_outputs() const { return static_cast<int>(node().outputs.size()); }
  bool has_input(int i) const { return i < num_inputs() && node().inputs[i] >= 0; }
  const TensorDesc& input(int i) const { return graph_.tensors[node().inputs[i]]; }
  const TensorDesc& output(int i) const { return graph_.tensors[node().outputs[i]]; }

  // An error about this node: "<file>: node '<name>' (<op>): field '<field>': <message>".
  // `field` names the JSON field, e.g. "attrs.stride" or "inputs[1]".
  Status error(std::string_view field, std::string_view message) const;

  // Checks the number of inputs (min..max, optional ones may be "") and outputs.
  Status expect_io(int min_inputs, int max_inputs, int num_outputs) const;
  // Checks input i is present and has one of the dtypes.
  Status expect_input_dtype(int i, std::initializer_list<DType> allowed) const;
  Status expect_output_dtype(int i, std::initializer_list<DType> allowed) const;
  Status expect_input_rank(int i, size_t rank) const;
  Status expect_constant(int i) const;

  // `channels` entries of per-channel constants will be derived or broadcast
  // for this node: an error naming `field` beyond limits::kMaxChannels.
  Status expect_channel_count(std::string_view field, int64_t channels) const;

  // Sets output i's shape. If the model declared a shape for it, they must
  // agree. The shape must be within the tensor limits of engine/core/limits.h.
  Status set_output_shape(int i, const Shape& shape);

  // Attribute readers. Each marks the attribute as read; after build, any
  // attribute that was not read is reported as an unknown field.
  bool has_attr(const std::string& name) const;
  Status attr_int(const std::string& name, int64_t* out, std::optional<int64_t> fallback,
                  int64_t min_value = INT64_MIN, int64_t max_value = INT64_MAX);
  // A list of exactly `length` ints (any length when length == 0).
  Status attr_ints(const std::string& name, std::vector<int64_t>* out,
                   std::optional<std::vector<int64_t>> fallback, size_t length = 0,
                   int64_t min_value = INT64_MIN, int64_t max_value = INT64_MAX);
  // An int or a list of ints, broadcast to `length` entries.
  Status attr_int_or_ints(const std::string& name, std::vector<int64_t>* out, size_t length,
                          std::optional<int64_t> fallback, int64_t min_value = INT64_MIN,
                          int64_t max_value = INT64_MAX);
  Status attr_string(const std::string& name, std::string* out,
                     std::optional<std::string> fallback,
                     std::initializer_list<std::string_view> allowed = {});
  Status attr_bool(const std::string& name, bool* out, std::optional<bool> fallback);
  // A finite number (integer or float), e.g. a scale used to derive constants.
  Status attr_number(const std::string& name, double* out, std::optional<double> fallback);
  Status check_no_unknown_attrs() const;

  // Kernel selection result.
  void set_kernel(std::string kernel_name, KernelFn fn, std::shared_ptr<const void> op_data);
  void set_macs(int64_t macs) { step_.macs = macs; }
  void set_kept_macs(int64_t macs) { step_.kept_macs = macs; }
  // Adds the product of `factors` (counted in `unit`, e.g. "multiply-accumulates")
  // to this step's work and stores it in `*count` when given. An error, naming
  // `field` as the cause, when it overflows or the step's work passes
  // limits::kMaxStepWork.
  Status add_work(std::string_view field, std::string_view unit,
                  std::initializer_list<int64_t> factors, int64_t* count = nullptr);
  // `bytes` is computed with engine/core/checked_math.h: nullopt (overflow)
  // or more than limits::kMaxScratchBytesPerThread is an error naming `field`.
  Status set_scratch_bytes_per_thread(std::string_view field, std::optional<size_t> bytes);
  // The bytes of the arrays the op data owns (Step::op_data_bytes), e.g.
  // owned_bytes(data->weights, data->bias, data->requant).
  void set_op_data_bytes(size_t bytes) { step_.op_data_bytes = bytes; }

 private:
  Graph& graph_;
  int node_index_;
  Step& step_;
  std::set<std::string> attrs_read_;
};

// Bytes held by vectors, for BuildContext::set_op_data_bytes.
template <typename... Vectors>
size_t owned_bytes(const Vectors&... v) {
  return (size_t{0} + ... + (v.size() * sizeof(typename Vectors::value_type)));
}

// One build function per op, declared from engine/ir/ops.inc.
#define DYAD_OP(enum_name, json_name, build_fn) Status build_fn(BuildContext& ctx);
#include "engine/ir/ops.inc"
#undef DYAD_OP

}  // namespace dyad
