#include <gtest/gtest.h>

#include <atomic>

#include "engine/plan/arena_planner.h"
#include "kernels/common/thread_pool.h"

namespace dyad {
namespace {

bool overlap(size_t a0, size_t a1, size_t b0, size_t b1) { return a0 < b1 && b0 < a1; }

TEST(ArenaPlanner, ChainReusesMemory) {
  // a -> b -> c -> d: each buffer is alive only while its neighbour is, so two
  // slots suffice instead of four.
  std::vector<BufferRequest> r = {{1000, -1, 0}, {1000, 0, 1}, {1000, 1, 2}, {1000, 2, 3}};
  size_t arena = 0;
  std::vector<size_t> off = plan_arena(r, &arena);
  EXPECT_EQ(arena, 2 * 1024u);
  for (size_t i = 0; i < r.size(); ++i) EXPECT_EQ(off[i] % 64, 0u);
}

TEST(ArenaPlanner, LiveBuffersNeverOverlap) {
  std::vector<BufferRequest> r;
  for (int i = 0; i < 40; ++i)
    r.push_back({static_cast<size_t>(64 + (i * 7919) % 5000), i % 9, i % 9 + (i * 31) % 7});
  size_t arena = 0;
  std::vector<size_t> off = plan_arena(r, &arena);
  size_t total = 0;
  for (size_t i = 0; i < r.size(); ++i) {
    total += (r[i].bytes + 63) / 64 * 64;
    EXPECT_LE(off[i] + r[i].bytes, arena);
    for (size_t j = 0; j < i; ++j) {
      const bool alive_together = r[i].first_step <= r[j].last_step && r[j].first_step <= r[i].last_step;
      if (alive_together) {
        EXPECT_FALSE(overlap(off[i], off[i] + r[i].bytes, off[j], off[j] + r[j].bytes)) << i << " " << j;
      }
    }
  }
  EXPECT_LT(arena, total);
}

TEST(ThreadPool, RunsEveryTaskOnceAtEveryThreadCount) {
  for (int threads = 1; threads <= 4; ++threads) {
    kernels::ThreadPool pool(threads);
    EXPECT_EQ(pool.num_threads(), threads);
    for (int round = 0; round < 50; ++round) {
      std::vector<std::atomic<int>> hits(97);
      pool.parallel_for(hits.size(), [&](size_t i) { hits[i]++; });
      for (auto& h : hits) ASSERT_EQ(h.load(), 1);
    }
  }
}

}  // namespace
}  // namespace dyad
