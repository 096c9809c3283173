// ThreadPool (thread_pool.h). The protocol:
//   - parallel_for waits until no worker is still inside run_tasks of the
//     previous call (active_ == 0, checked under mutex_ but waited for
//     without it: a late worker may need mutex_ to leave), then, under
//     mutex_, publishes task_, num_tasks_, resets the
//     counters and bumps generation_; it notifies only if a worker sleeps.
//   - A worker sees the new generation by spinning or on the condition
//     variable, registers in active_ under mutex_ (so it reads task_ and
//     num_tasks_ of the generation it registered for), claims indices with
//     next_task_.fetch_add and counts each finished task.
//   - The caller runs tasks too, then spins and if need be sleeps until
//     tasks_finished_ == num_tasks; the worker that finishes the last task
//     wakes it only if it sleeps.
#include "kernels/common/thread_pool.h"

#include <chrono>
#include <thread>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace dyad::kernels {

namespace {

// How long a thread spins before blocking. Long enough to bridge the gap
// between two steps of a model run (microseconds), short enough that an
// idle pool gives its core back almost at once.
constexpr int64_t kSpinNanoseconds = 50'000;
// Rounds of 64 `pause` before the spin starts yielding (about 2 us).
constexpr int kPauseRounds = 8;

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#endif
}

}  // namespace

// The first rounds spin with `pause` (the answer usually comes within a
// microsecond or two); later rounds yield the core between checks, so on an
// oversubscribed machine the thread we wait for can run in our place.
template <typename Pred>
bool ThreadPool::spin_while(Pred waiting) {
  const auto start = std::chrono::steady_clock::now();
  for (int round = 0;; ++round) {
    for (int i = 0; i < 64; ++i) {
      if (!waiting()) return true;
      cpu_relax();
    }
    if (round >= kPauseRounds) std::this_thread::yield();
    if (std::chrono::steady_clock::now() - start > std::chrono::nanoseconds(kSpinNanoseconds))
      return !waiting();
  }
}

ThreadPool::ThreadPool(int num_threads) {
  for (int i = 1; i < num_threads; ++i) workers_.emplace_back([this] { worker_loop(); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
    stopping_flag_.store(true, std::memory_order_release);
  }
  work_ready_.notify_all();
  for (std::thread& t : workers_) t.join();
}

void ThreadPool::parallel_for(size_t num_tasks, const std::function<void(size_t)>& task) {
  bool wake = false;
  {
    // A worker of the previous call may still be inside run_tasks (finding
    // no task, or taking mutex_ to wake a caller that no longer sleeps); it
    // must not see the counters reset. Wait for it without holding mutex_
    // (it may need it), then check again under mutex_: registration needs
    // mutex_, so once active_ is 0 under it no worker enters until unlock.
    std::unique_lock<std::mutex> lock(mutex_, std::defer_lock);
    for (;;) {
      while (active_.load(std::memory_order_acquire) != 0) cpu_relax();
      lock.lock();
      if (active_.load(std::memory_order_acquire) == 0) break;
      lock.unlock();
    }
    task_ = &task;
    num_tasks_ = num_tasks;
    next_task_.store(0, std::memory_order_relaxed);
    tasks_finished_.store(0, std::memory_order_relaxed);
    generation_.fetch_add(1, std::memory_order_release);
    wake = sleepers_ > 0;
  }
  if (wake) work_ready_.notify_all();
  run_tasks(&task, num_tasks);
  auto pending = [&] { return tasks_finished_.load(std::memory_order_acquire) != num_tasks; };
  if (!spin_while(pending)) {
    std::unique_lock<std::mutex> lock(mutex_);
    caller_sleeping_ = true;
    work_done_.wait(lock, [&] { return !pending(); });
    caller_sleeping_ = false;
  }
}

void ThreadPool::run_tasks(const std::function<void(size_t)>* task, size_t num_tasks) {
  for (;;) {
    const size_t i = next_task_.fetch_add(1, std::memory_order_relaxed);
    if (i >= num_tasks) return;
    if (stop_signal_ == nullptr || !stop_signal_->stop_requested()) (*task)(i);
    if (tasks_finished_.fetch_add(1, std::memory_order_acq_rel) + 1 == num_tasks) {
      std::lock_guard<std::mutex> lock(mutex_);
      if (caller_sleeping_) work_done_.notify_one();
    }
  }
}

void ThreadPool::worker_loop() {
  size_t seen = generation_.load(std::memory_order_acquire);
  for (;;) {
    spin_while([&] {
      return generation_.load(std::memory_order_acquire) == seen &&
             !stopping_flag_.load(std::memory_order_acquire);
    });
    const std::function<void(size_t)>* task;
    size_t num_tasks;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      if (!stopping_ && generation_.load(std::memory_order_relaxed) == seen) {
        ++sleepers_;
        work_ready_.wait(lock, [&] { return stopping_ || generation_.load(std::memory_order_relaxed) != seen; });
        --sleepers_;
      }
      if (stopping_) return;
      seen = generation_.load(std::memory_order_relaxed);
      task = task_;
      num_tasks = num_tasks_;
      active_.fetch_add(1, std::memory_order_relaxed);
    }
    run_tasks(task, num_tasks);
    active_.fetch_sub(1, std::memory_order_release);
  }
}

}  // namespace dyad::kernels
