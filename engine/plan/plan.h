// Plan: the prepared, immutable program of a model. Steps in execution order,
// each a kernel function with its prepared op data; the arena layout.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/core/status.h"
#include "engine/ir/op_type.h"

namespace dyad::kernels {
class ThreadPool;
}

namespace dyad {

// What a kernel sees at run time: tensor pointers in the node's input and
// output order (an omitted optional input is nullptr), per-thread scratch and
// the session's thread pool.
struct StepIO {
  const void* const* inputs = nullptr;
  void* const* outputs = nullptr;
  // num_threads slices of scratch_bytes_per_thread each, 64-byte aligned.
  // A kernel that needs scratch splits its work into at most num_threads
  // tasks and gives task i the slice i.
  uint8_t* scratch = nullptr;
  size_t scratch_bytes_per_thread = 0;
  kernels::ThreadPool* pool = nullptr;
  int num_threads = 1;
  // A step that finds bad run-time data (an embedding id out of range) sets
  // this; Session::run stops after the step and returns it.
  Status* status = nullptr;
};

using KernelFn = void (*)(const void* op_data, const StepIO& io);

struct Step {
  std::string node_name;
  OpType op = OpType::kCount;
  std::string kernel_name;  // e.g. "conv2d_s8_qc8w__ref"
  KernelFn fn = nullptr;
  std::shared_ptr<const void> op_data;  // prepared constants, packed weights
  std::vector<int> inputs;              // tensor indices, -1 when omitted
  std::vector<int> outputs;
  size_t scratch_bytes_per_thread = 0;
  int64_t macs = 0;  // multiply-accumulates of one run, for `dyad info`
  // With a V:N:M sparse weight: the MACs on the kept weights (2 per row and
  // group of M); -1 for a dense step.
  int64_t kept_macs = -1;
  // Work of one run, bounded by limits::kMaxStepWork: the MACs, comparisons
  // or additions the op counted, else the elements of its outputs.
  int64_t work = 0;
  // Bytes of the weights, bias and requant arrays op_data owns (its packed or
  // copied constants), where the op reports them; 0 otherwise.
  size_t op_data_bytes = 0;
};

struct Plan {
  std::vector<Step> steps;
  // Byte offset in the arena of each tensor, -1 for constants.
  std::vector<int64_t> arena_offsets;
  size_t arena_bytes = 0;
  // Sum of the sizes of every non-constant tensor: what the arena would take
  // without reuse. arena_bytes <= this.
  size_t unshared_bytes = 0;
  size_t scratch_bytes_per_thread = 0;  // max over steps
  // Sum of the steps' op_data_bytes: the kernels' packed weights (Model::from_graph).
  size_t packed_bytes = 0;
};

}  // namespace dyad
