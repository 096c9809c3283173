#include "engine/exec/session.h"

#include <chrono>
#include <cstdint>
#include <cstring>
#include <new>
#include <string>

#include "engine/exec/memory_needs.h"

namespace dyad {

namespace {

// Steps with less work than this (Step::work: MACs, comparisons or additions,
// else output elements; 65536 is 10-30 microseconds of one thread) run on the
// calling thread alone: handing them to the pool can cost more than the
// second thread saves. Measured on AMD EPYC (Zen 5 class): docs/performance.md,
// "Issue 13: whole-model speed".
constexpr int64_t kMinParallelWork = 64 * 1024;

}  // namespace

Status Session::create(std::shared_ptr<const Model> model, int num_threads,
                       std::unique_ptr<Session>* out) {
  if (model == nullptr) return invalid_argument("session: model is null");
  if (num_threads < 1 || num_threads > kMaxSessionThreads)
    return invalid_argument("session: num_threads " + std::to_string(num_threads) +
                            " is outside [1, " + std::to_string(kMaxSessionThreads) + "]");
  const MemoryNeeds needs = memory_needs(model->graph(), model->plan(), num_threads);
  DYAD_RETURN_IF_ERROR(
      check_memory_budget(needs, model->options().memory_budget_bytes, "session"));
  try {
    std::unique_ptr<Session> s(new Session());
    s->model_ = std::move(model);
    const Plan& plan = s->model_->plan();
    s->arena_ = AlignedBuffer(needs.arena);
    if (!s->arena_.ok())
      return Status(StatusCode::kOutOfMemory, "session: cannot allocate the activation arena of " +
                                                  std::to_string(needs.arena) + " bytes");
    s->scratch_ = AlignedBuffer(needs.scratch());
    if (needs.scratch() == SIZE_MAX || !s->scratch_.ok())
      return Status(StatusCode::kOutOfMemory,
                    "session: cannot allocate the scratch of " + std::to_string(needs.scratch()) +
                        " bytes (" + std::to_string(needs.scratch_per_thread) + " per thread, " +
                        std::to_string(num_threads) + " threads)");
    s->pool_ = std::make_unique<kernels::ThreadPool>(num_threads);
    s->pool_->set_stop_signal(&s->stop_);
    for (const Step& step : plan.steps) {
      std::vector<const void*> ins;
      for (int t : step.inputs) ins.push_back(t < 0 ? nullptr : s->tensor_data(t));
      std::vector<void*> outs;
      for (int t : step.outputs) outs.push_back(s->tensor_data(t));
      s->step_inputs_.push_back(std::move(ins));
      s->step_outputs_.push_back(std::move(outs));
    }
    *out = std::move(s);
    return Status::ok();
  } catch (const std::bad_alloc&) {
    return Status(StatusCode::kOutOfMemory, "session: out of memory");
  } catch (const std::system_error& e) {
    return Status(StatusCode::kInternal, std::string("session: cannot start threads: ") + e.what());
  }
}

void* Session::tensor_data(int tensor) {
  return const_cast<void*>(static_cast<const Session*>(this)->tensor_data(tensor));
}

const void* Session::tensor_data(int tensor) const {
  const TensorDesc& desc = model_->graph().tensors[tensor];
  if (desc.is_constant) return desc.data;
  return arena_.data() + model_->plan().arena_offsets[tensor];
}

void* Session::input_data(size_t i) { return tensor_data(model_->graph().inputs[i]); }
const void* Session::output_data(size_t i) const {
  return tensor_data(model_->graph().outputs[i]);
}

size_t Session::input_bytes(size_t i) const {
  const TensorDesc& d = model_->input(i);
  return static_cast<size_t>(shape_elements(d.shape)) * dtype_storage_bytes(d.dtype);
}
size_t Session::output_bytes(size_t i) const {
  const TensorDesc& d = model_->output(i);
  return static_cast<size_t>(shape_elements(d.shape)) * dtype_storage_bytes(d.dtype);
}

Status Session::set_input(size_t i, const void* data, size_t bytes) {
  if (i >= model_->num_inputs())
    return invalid_argument("set_input: index " + std::to_string(i) + " but the model has " +
                            std::to_string(model_->num_inputs()) + " inputs");
  const TensorDesc& d = model_->input(i);
  if (data == nullptr) return invalid_argument("set_input: data is null for input '" + d.name + "'");
  if (bytes != input_bytes(i))
    return invalid_argument("set_input: input '" + d.name + "' takes " +
                            std::to_string(input_bytes(i)) + " bytes, got " + std::to_string(bytes));
  // 4-bit activations live in byte containers; a value outside the range would
  // break the kernels' no-saturation arguments, so refuse it here.
  if (dtype_is_4bit(d.dtype)) {
    const int64_t lo = dtype_min(d.dtype), hi = dtype_max(d.dtype);
    for (size_t k = 0; k < bytes; ++k) {
      const int64_t v = d.dtype == DType::kInt4 ? static_cast<const int8_t*>(data)[k]
                                                : static_cast<const uint8_t*>(data)[k];
      if (v < lo || v > hi)
        return invalid_argument("set_input: input '" + d.name + "' element " + std::to_string(k) +
                                " is " + std::to_string(v) + ", outside the " +
                                std::string(dtype_name(d.dtype)) + " range");
    }
  }
  std::memcpy(input_data(i), data, bytes);
  return Status::ok();
}

Status Session::run(std::vector<int64_t>* step_nanoseconds) {
  const Plan& plan = model_->plan();
  if (step_nanoseconds) step_nanoseconds->assign(plan.steps.size(), 0);
  // A timeout too long to add to the clock is no limit (hundreds of years).
  const int64_t now_ns = kernels::StopSignal::now_ns();
  const int64_t timeout_us = run_timeout_.count();
  const int64_t deadline_ns =
      timeout_us > 0 && timeout_us < (INT64_MAX - now_ns) / 1000 ? now_ns + timeout_us * 1000 : 0;
  if (!stop_.begin_run(deadline_ns))
    return invalid_argument("session: run called while another run of this session is in progress");
  Status status = run_steps(step_nanoseconds);
  stop_.end_run();
  return status;
}

Status Session::run_steps(std::vector<int64_t>* step_nanoseconds) {
  const Plan& plan = model_->plan();
  StepIO io;
  io.scratch = scratch_.data();
  io.scratch_bytes_per_thread = (plan.scratch_bytes_per_thread + 63) / 64 * 64;
  Status step_status;
  io.status = &step_status;
  for (size_t s = 0; s < plan.steps.size(); ++s) {
    if (stop_.stop_requested_now()) return stopped_status(s);
    io.inputs = step_inputs_[s].data();
    io.outputs = step_outputs_[s].data();
    const bool parallel = plan.steps[s].work >= kMinParallelWork;
    io.pool = parallel ? pool_.get() : nullptr;
    io.num_threads = parallel ? pool_->num_threads() : 1;
    const auto start = std::chrono::steady_clock::now();
    plan.steps[s].fn(plan.steps[s].op_data.get(), io);
    if (step_nanoseconds != nullptr)
      (*step_nanoseconds)[s] = std::chrono::duration_cast<std::chrono::nanoseconds>(
                                   std::chrono::steady_clock::now() - start)
                                   .count();
    // A step that stopped early left its output incomplete.
    if (stop_.stop_requested_now()) return stopped_status(s);
    if (!step_status.is_ok())
      return Status(step_status.code(), "node '" + plan.steps[s].node_name + "': " +
                                            step_status.message());
  }
  return Status::ok();
}

Status Session::stopped_status(size_t step) const {
  const Plan& plan = model_->plan();
  const std::string where = "node '" + plan.steps[step].node_name + "' (step " +
                            std::to_string(step + 1) + " of " + std::to_string(plan.steps.size()) +
                            ")";
  if (stop_.state() == kernels::StopSignal::State::kCancelRequested)
    return Status(StatusCode::kCancelled, "run cancelled at " + where);
  return Status(StatusCode::kDeadlineExceeded,
                "run stopped at " + where + ": it took longer than its timeout of " +
                    std::to_string(run_timeout_.count()) + " microseconds");
}

}  // namespace dyad
