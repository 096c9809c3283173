// engine/serve/session_pool: FIFO hand-over, the queue bound, no session
// handed out twice.
#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <mutex>
#include <chrono>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "engine/serve/session_pool.h"

namespace dyad::serve {
namespace {

class SessionPoolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string path = std::string(DYAD_SOURCE_DIR) + "/models/examples/tiny_fc.json";
    ASSERT_EQ(dyad_model_load(path.c_str(), nullptr, &model_), DYAD_OK) << dyad_last_error_message();
  }
  void TearDown() override { dyad_model_free(model_); }
  dyad_model* model_ = nullptr;
};

void wait_until(const std::function<bool()>& done) {
  for (int i = 0; i < 2000 && !done(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

TEST_F(SessionPoolTest, QueueBoundAndFifoHandOver) {
  std::unique_ptr<SessionPool> pool;
  std::string error;
  ASSERT_TRUE(SessionPool::create(model_, 2, 1, 2, &pool, &error)) << error;
  SessionPool::Lease a, b;
  ASSERT_TRUE(pool->acquire(&a));
  ASSERT_TRUE(pool->acquire(&b));
  EXPECT_NE(a.get(), b.get());
  EXPECT_EQ(pool->busy(), 2u);

  // Two waiters fill the queue; a third request is refused at once.
  std::vector<int> order;
  std::mutex order_mu;
  std::vector<dyad_session*> got(2, nullptr);
  std::atomic<bool> done{false};  // the waiters hold their session until then
  std::vector<std::thread> waiters;
  for (int w = 0; w < 2; ++w) {
    waiters.emplace_back([&, w] {
      SessionPool::Lease l;
      ASSERT_TRUE(pool->acquire(&l));
      got[w] = l.get();
      {
        std::lock_guard<std::mutex> lock(order_mu);
        order.push_back(w);
      }
      wait_until([&] { return done.load(); });
    });
    wait_until([&] { return pool->waiting() == static_cast<size_t>(w + 1); });
    ASSERT_EQ(pool->waiting(), static_cast<size_t>(w + 1));
  }
  SessionPool::Lease refused;
  EXPECT_FALSE(pool->acquire(&refused));
  EXPECT_FALSE(refused);

  // Each release goes to the oldest waiter.
  const auto served = [&] {
    std::lock_guard<std::mutex> lock(order_mu);
    return order.size();
  };
  dyad_session* first = a.get();
  dyad_session* second = b.get();
  a.reset();
  wait_until([&] { return served() == 1; });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(served(), 1u);
  EXPECT_EQ(pool->waiting(), 1u);
  b.reset();
  wait_until([&] { return served() == 2; });
  done.store(true);
  for (std::thread& t : waiters) t.join();
  EXPECT_EQ(order, (std::vector<int>{0, 1}));
  EXPECT_EQ(got[0], first);
  EXPECT_EQ(got[1], second);
  EXPECT_EQ(pool->busy(), 0u);
  EXPECT_EQ(pool->waiting(), 0u);
}

TEST_F(SessionPoolTest, NoSessionHeldTwice) {
  std::unique_ptr<SessionPool> pool;
  std::string error;
  ASSERT_TRUE(SessionPool::create(model_, 3, 1, 64, &pool, &error)) << error;
  std::mutex mu;
  std::set<dyad_session*> held;
  std::atomic<int> violations{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 300; ++i) {
        SessionPool::Lease l;
        if (!pool->acquire(&l)) continue;
        {
          std::lock_guard<std::mutex> lock(mu);
          if (!held.insert(l.get()).second) ++violations;
        }
        std::this_thread::yield();
        std::lock_guard<std::mutex> lock(mu);
        held.erase(l.get());
      }
    });
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(violations.load(), 0);
  EXPECT_EQ(pool->busy(), 0u);
}

}  // namespace
}  // namespace dyad::serve
