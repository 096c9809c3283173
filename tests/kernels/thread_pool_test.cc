// The session thread pool (kernels/common/thread_pool.h): every task runs
// exactly once for every task count, back-to-back calls do not mix, pools on
// different threads are independent, and a task may itself use another pool
// (a kernel of one session never shares a pool, but sessions nest in callers).
// Run under ThreadSanitizer by scripts/test.sh (build-tsan) as well.
#include "kernels/common/thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
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
