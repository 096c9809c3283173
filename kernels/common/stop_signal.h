// StopSignal: how a run in progress learns that it must stop (a cancel from
// another thread, or its deadline passed). One per session; the session's
// thread pool carries a pointer to it so every kernel can poll it through
// stop_requested(pool) (kernels/common/thread_pool.h).
//
// Polling is cheap: one relaxed atomic load, plus a clock read on every
// kClockEvery-th poll of a thread when a deadline is set. The pool polls before
// each task and the long-running reference kernels poll once per output pixel,
// so a stop takes effect within one output pixel's work per thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace dyad::kernels {

class StopSignal {
 public:
  enum class State : int { kIdle, kRunning, kCancelRequested, kDeadlinePassed };

  // The session's thread, at the start of a run. `deadline_ns` is a
  // steady_clock time in nanoseconds, or 0 for none. False when a run is
  // already in progress (the session is used by two threads at once).
  bool begin_run(int64_t deadline_ns) {
    deadline_ns_.store(deadline_ns, std::memory_order_relaxed);
    State expected = State::kIdle;
    return state_.compare_exchange_strong(expected, State::kRunning, std::memory_order_acq_rel);
  }
  // The session's thread, at the end of a run; returns why it stopped
  // (kRunning: it was not stopped).
  State end_run() { return state_.exchange(State::kIdle, std::memory_order_acq_rel); }

  // Any thread. Stops the run in progress; does nothing when idle.
  void cancel() {
    State expected = State::kRunning;
    state_.compare_exchange_strong(expected, State::kCancelRequested, std::memory_order_acq_rel);
  }

  State state() const { return state_.load(std::memory_order_acquire); }

  // Kernels and the pool, during a run.
  bool stop_requested() const {
    const State s = state_.load(std::memory_order_relaxed);
    if (s != State::kRunning) return s != State::kIdle;
    const int64_t deadline = deadline_ns_.load(std::memory_order_relaxed);
    if (deadline == 0) return false;
    thread_local unsigned polls = 0;
    if (++polls % kClockEvery != 0) return false;
    return check_deadline_now();
  }
  // The session's thread between steps: reads the clock every time.
  bool stop_requested_now() const {
    const State s = state_.load(std::memory_order_relaxed);
    if (s != State::kRunning) return s != State::kIdle;
    return deadline_ns_.load(std::memory_order_relaxed) != 0 && check_deadline_now();
  }

  static int64_t now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }

 private:
  static constexpr unsigned kClockEvery = 16;

  bool check_deadline_now() const {
    if (now_ns() < deadline_ns_.load(std::memory_order_relaxed)) return false;
    State expected = State::kRunning;
    state_.compare_exchange_strong(expected, State::kDeadlinePassed, std::memory_order_acq_rel);
    return true;  // a cancel that won the race also stops the run
  }

  mutable std::atomic<State> state_{State::kIdle};
  std::atomic<int64_t> deadline_ns_{0};
};

}  // namespace dyad::kernels
