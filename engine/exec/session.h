// Session: one arena and one thread pool over a shared Model. A session is used
// by one thread at a time; create one per concurrent caller. The exception is
// cancel(), which any thread may call while another runs the session.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

#include "engine/core/aligned_buffer.h"
#include "engine/core/status.h"
#include "engine/exec/model.h"
#include "kernels/common/stop_signal.h"
#include "kernels/common/thread_pool.h"

namespace dyad {

// The most threads a session may have.
inline constexpr int kMaxSessionThreads = 256;

class Session {
 public:
  // Creates a session; `num_threads` >= 1. Fails with kOutOfMemory before
  // allocating when the model's memory budget (LoadOptions) is too small for
  // this thread count.
  static Status create(std::shared_ptr<const Model> model, int num_threads,
                       std::unique_ptr<Session>* out);

  const Model& model() const { return *model_; }
  int num_threads() const { return pool_->num_threads(); }

  // Raw access to an input's or output's storage (docs/format.md containers).
  void* input_data(size_t i);
  const void* output_data(size_t i) const;
  size_t input_bytes(size_t i) const;
  size_t output_bytes(size_t i) const;

  // Copies `bytes` into input i after checking the size and, for 4-bit
  // dtypes, that every value is in range.
  Status set_input(size_t i, const void* data, size_t bytes);

  // Runs every step. When `step_nanoseconds` is given it receives the time of
  // each step (resized to the number of steps). A run stopped by cancel()
  // returns kCancelled, one past its timeout kDeadlineExceeded, both naming the
  // node where it stopped; the outputs of a stopped run are incomplete, and the
  // next run starts afresh.
  Status run(std::vector<int64_t>* step_nanoseconds = nullptr);

  // Every later run stops once it has run longer than this; 0: no limit.
  void set_run_timeout(std::chrono::microseconds timeout) { run_timeout_ = timeout; }
  // Any thread: stops the run in progress (no effect when none is).
  void cancel() { stop_.cancel(); }

 private:
  Session() = default;
  Status run_steps(std::vector<int64_t>* step_nanoseconds);
  // kCancelled or kDeadlineExceeded, naming the step where the run stopped.
  Status stopped_status(size_t step) const;
  void* tensor_data(int tensor);
  const void* tensor_data(int tensor) const;

  std::shared_ptr<const Model> model_;
  AlignedBuffer arena_;
  AlignedBuffer scratch_;
  kernels::StopSignal stop_;  // polled by pool_ and the kernels during run()
  std::unique_ptr<kernels::ThreadPool> pool_;
  std::chrono::microseconds run_timeout_{0};
  // Per step, pointers to its inputs and outputs (resolved once at creation).
  std::vector<std::vector<const void*>> step_inputs_;
  std::vector<std::vector<void*>> step_outputs_;
};

}  // namespace dyad
