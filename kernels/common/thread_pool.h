// A small fixed-size thread pool owned by one session.
//
// Kernels split their work into independent tasks along output elements (never
// along a reduction), so the result does not depend on how many threads run
// them. parallel_for blocks until every task is done; the calling thread takes
// part. A pool of size 1 runs everything inline with no synchronisation.
//
// Why not OpenMP: a session must run with exactly the thread count it was
// created with, several sessions run concurrently on one model, and OpenMP's
// global runtime state makes both awkward. This pool is about 150 lines.
//
// Waking a sleeping thread through a condition variable costs tens of
// microseconds, more than many steps of a small model take. So a worker
// spins (bounded: kSpinNanoseconds) on the generation counter after each
// parallel_for before it blocks, and the caller spins likewise waiting for
// the last task; tasks are claimed with one atomic increment, not a lock.
// The session also runs steps below a measured amount of work on the
// calling thread alone (engine/exec/session.cc, kMinParallelWork).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "kernels/common/stop_signal.h"

namespace dyad::kernels {

class ThreadPool {
 public:
  explicit ThreadPool(int num_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int num_threads() const { return static_cast<int>(workers_.size()) + 1; }

  // The signal polled before each task (null: none). Set before any run.
  void set_stop_signal(const StopSignal* signal) { stop_signal_ = signal; }
  const StopSignal* stop_signal() const { return stop_signal_; }

  // Calls task(i) for every i in [0, num_tasks), spread over the threads.
  void parallel_for(size_t num_tasks, const std::function<void(size_t)>& task);

 private:
  void worker_loop();
  // Claims and runs tasks of the current call until none is left.
  void run_tasks(const std::function<void(size_t)>* task, size_t num_tasks);
  // Spins up to kSpinNanoseconds while `waiting()` holds; false if it still does.
  template <typename Pred>
  static bool spin_while(Pred waiting);

  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable work_ready_;  // workers sleep here (sleepers_ of them)
  std::condition_variable work_done_;   // the caller sleeps here (caller_sleeping_)
  // The call in progress; written under mutex_ while no worker is active.
  const std::function<void(size_t)>* task_ = nullptr;
  size_t num_tasks_ = 0;
  std::atomic<size_t> next_task_{0};       // the next unclaimed task index
  std::atomic<size_t> tasks_finished_{0};
  std::atomic<int> active_{0};             // workers inside run_tasks
  std::atomic<size_t> generation_{0};      // bumped under mutex_ by each call
  int sleepers_ = 0;                       // guarded by mutex_
  bool caller_sleeping_ = false;           // guarded by mutex_
  bool stopping_ = false;                  // guarded by mutex_
  std::atomic<bool> stopping_flag_{false};  // the same, for spinning workers
  const StopSignal* stop_signal_ = nullptr;
};

// True when the run this pool works for must stop (kernels/common/stop_signal.h).
// Long-running kernels call it once per output pixel; false for a null pool.
inline bool stop_requested(const ThreadPool* pool) {
  return pool != nullptr && pool->stop_signal() != nullptr && pool->stop_signal()->stop_requested();
}

// Runs task(i) for i in [0, n) on `pool`, or inline when pool is null.
inline void parallel_for(ThreadPool* pool, size_t n, const std::function<void(size_t)>& task) {
  if (pool == nullptr || pool->num_threads() == 1 || n <= 1) {
    for (size_t i = 0; i < n && !stop_requested(pool); ++i) task(i);
    return;
  }
  pool->parallel_for(n, task);
}

}  // namespace dyad::kernels
