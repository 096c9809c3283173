// The session thread pool (kernels/common/thread_pool.h): every task runs
// exactly once for every task count, back-to-back calls do not mix, pools on
// different threads are independent, and a task may itself use another pool
// (a kernel of one session never shares a pool, but sessions nest in callers).
// Run under ThreadSanitizer by scripts/test.sh (build-tsan) as well.
#include "kernels/common/thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

namespace dyad::kernels {
namespace {

// Runs task counts 0..max_tasks and checks each index ran exactly once.
void expect_each_task_once(ThreadPool& pool, size_t max_tasks) {
  for (size_t n = 0; n <= max_tasks; ++n) {
    std::vector<std::atomic<int>> hits(n);
    pool.parallel_for(n, [&](size_t i) { hits[i].fetch_add(1, std::memory_order_relaxed); });
    for (size_t i = 0; i < n; ++i) ASSERT_EQ(hits[i].load(), 1) << "n=" << n << " i=" << i;
  }
}

TEST(ThreadPool, EveryTaskRunsOnceForEveryCount) {
  for (int threads : {1, 2, 3, 8}) {
    ThreadPool pool(threads);
    EXPECT_EQ(pool.num_threads(), threads);
    expect_each_task_once(pool, 67);
  }
}

TEST(ThreadPool, ManyBackToBackCallsWriteDisjointOutputs) {
  ThreadPool pool(4);
  std::vector<int> out(257);
  for (int round = 0; round < 2000; ++round) {
    const size_t n = static_cast<size_t>(round) % out.size();
    pool.parallel_for(n, [&](size_t i) { out[i] = round; });  // plain writes: TSan checks them
    for (size_t i = 0; i < n; ++i) ASSERT_EQ(out[i], round);
  }
}

TEST(ThreadPool, FreeFunctionRunsInlineWithoutPool) {
  size_t sum = 0;
  parallel_for(nullptr, 10, [&](size_t i) { sum += i; });
  EXPECT_EQ(sum, 45u);
  ThreadPool pool(2);
  std::atomic<size_t> total{0};
  parallel_for(&pool, 1000, [&](size_t i) { total += i; });
  EXPECT_EQ(total.load(), 999u * 1000u / 2);
}

TEST(ThreadPool, PoolsOnManyThreadsAreIndependent) {
  std::vector<std::thread> callers;
  std::atomic<int> failures{0};
  for (int t = 0; t < 6; ++t) {
    callers.emplace_back([&, t] {
      ThreadPool pool(1 + t % 3);
      for (int round = 0; round < 200; ++round) {
        const size_t n = static_cast<size_t>(round % 37);
        std::vector<size_t> out(n, 0);
        pool.parallel_for(n, [&](size_t i) { out[i] = i * static_cast<size_t>(t + 1); });
        for (size_t i = 0; i < n; ++i)
          if (out[i] != i * static_cast<size_t>(t + 1)) ++failures;
      }
    });
  }
  for (std::thread& c : callers) c.join();
  EXPECT_EQ(failures.load(), 0);
}

TEST(ThreadPool, TaskMayUseAnotherPool) {
  ThreadPool outer(3);
  std::vector<std::atomic<int>> hits(8 * 16);
  outer.parallel_for(8, [&](size_t i) {
    ThreadPool inner(2);  // created, used and joined inside a task of `outer`
    inner.parallel_for(16, [&](size_t j) { hits[i * 16 + j].fetch_add(1); });
  });
  for (auto& h : hits) EXPECT_EQ(h.load(), 1);
}

TEST(ThreadPool, TinyCallsBackToBackNeverDeadlock) {
  // The worker that finishes the last task of a call may still be inside the
  // pool (waking a caller) when the caller already starts the next call: the
  // next call must wait for it without blocking it. Many pools making tiny
  // calls at once oversubscribe the cores, so threads are preempted at every
  // point of the protocol, that one included.
  std::vector<std::thread> callers;
  std::atomic<size_t> total{0};
  constexpr int kCallers = 8, kRounds = 100000;
  for (int t = 0; t < kCallers; ++t) {
    callers.emplace_back([&] {
      ThreadPool pool(2);
      for (int round = 0; round < kRounds; ++round) {
        std::atomic<size_t> sum{0};
        pool.parallel_for(2, [&](size_t i) { sum.fetch_add(i + 1, std::memory_order_relaxed); });
        total.fetch_add(sum.load());
      }
    });
  }
  for (std::thread& c : callers) c.join();
  EXPECT_EQ(total.load(), size_t{3} * kCallers * kRounds);
}

TEST(ThreadPool, CallsAfterTheWorkersFellAsleepRunEveryTask) {
  // Pauses longer than the spin window: the workers block on the condition
  // variable between calls and must be woken for each.
  ThreadPool pool(3);
  for (int round = 0; round < 20; ++round) {
    std::this_thread::sleep_for(std::chrono::milliseconds(round % 2 ? 2 : 0));
    std::vector<int> out(5, 0);
    pool.parallel_for(out.size(), [&](size_t i) { out[i] = round + 1; });
    for (int v : out) ASSERT_EQ(v, round + 1);
  }
}

TEST(ThreadPool, CallerSleepsWhileAWorkerFinishesALongTask) {
  // The caller runs out of tasks while another thread still works on one
  // for longer than the spin window; it must wait for it, not return early.
  ThreadPool pool(2);
  for (int round = 0; round < 5; ++round) {
    std::atomic<int> done{0};
    pool.parallel_for(2, [&](size_t) {
      std::this_thread::sleep_for(std::chrono::milliseconds(3));
      done.fetch_add(1);
    });
    ASSERT_EQ(done.load(), 2);
  }
}

TEST(ThreadPool, StopSignalSkipsTheRemainingTasks) {
  StopSignal stop;
  ThreadPool pool(2);
  pool.set_stop_signal(&stop);
  ASSERT_TRUE(stop.begin_run(0));
  std::atomic<int> ran{0};
  pool.parallel_for(1000, [&](size_t i) {
    if (i == 0) stop.cancel();
    ran.fetch_add(1);
  });
  stop.end_run();
  EXPECT_LT(ran.load(), 1000);  // every later task was skipped, and the call returned
  std::atomic<int> again{0};
  pool.parallel_for(10, [&](size_t) { again.fetch_add(1); });  // idle signal: all run
  EXPECT_EQ(again.load(), 10);
}

TEST(ThreadPool, DestroyedRightAfterCreationOrUse) {
  for (int i = 0; i < 100; ++i) {
    ThreadPool idle(3);
  }
  for (int i = 0; i < 100; ++i) {
    ThreadPool used(3);
    std::atomic<int> count{0};
    used.parallel_for(static_cast<size_t>(i % 5), [&](size_t) { ++count; });
    EXPECT_EQ(count.load(), i % 5);
  }
}

}  // namespace
}  // namespace dyad::kernels
