// Limits a caller sets: the memory budget (LoadOptions::memory_budget_bytes),
// the run timeout and cancel (Session), and the lazily committed arena.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "engine/core/aligned_buffer.h"
#include "engine/exec/memory_needs.h"
#include "engine/exec/model.h"
#include "engine/exec/session.h"
#include "tests/engine/test_models.h"

namespace dyad {
namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

std::shared_ptr<const Model> load(const std::string& json, const LoadOptions& options = {}) {
  std::shared_ptr<const Model> model;
  const Status s = Model::load_memory(json, nullptr, 0, "<test>", &model, options);
  EXPECT_TRUE(s.is_ok()) << s.message();
  return model;
}

std::unique_ptr<Session> session_with_input(std::shared_ptr<const Model> model, int threads) {
  std::unique_ptr<Session> session;
  const Status s = Session::create(std::move(model), threads, &session);
  EXPECT_TRUE(s.is_ok()) << s.message();
  if (session == nullptr) return nullptr;
  std::vector<int8_t> x(session->input_bytes(0));
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<int8_t>((i * 7919 + 13) % 251 - 125);
  EXPECT_TRUE(session->set_input(0, x.data(), x.size()).is_ok());
  return session;
}

std::vector<uint8_t> output_of(const Session& session) {
  const auto* p = static_cast<const uint8_t*>(session.output_data(0));
  return std::vector<uint8_t>(p, p + session.output_bytes(0));
}

// A fresh session's output of the model on session_with_input's values.
std::vector<uint8_t> fresh_output(const std::shared_ptr<const Model>& model) {
  auto session = session_with_input(model, 1);
  EXPECT_TRUE(session->run().is_ok());
  return output_of(*session);
}

// Cancels `session` after `delay`, and again every millisecond until the run
// has returned, so a cancel that lands before the run starts (a busy machine)
// does not make the test pass or fail by luck.
class Canceller {
 public:
  Canceller(Session* session, std::chrono::milliseconds delay)
      : thread_([this, session, delay] {
          std::this_thread::sleep_for(delay);
          while (!done_.load()) {
            session->cancel();
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
          }
        }) {}
  ~Canceller() {
    done_.store(true);
    thread_.join();
  }

 private:
  std::atomic<bool> done_{false};
  std::thread thread_;
};

TEST(MemoryBudget, TooSmallFailsAtLoadNamingEveryPart) {
  LoadOptions options;
  options.memory_budget_bytes = 16;
  std::shared_ptr<const Model> model;
  const Status s = Model::load_memory(test::tiny_fc_json(), nullptr, 0, "tiny.json", &model, options);
  ASSERT_EQ(s.code(), StatusCode::kOutOfMemory);
  EXPECT_EQ(model, nullptr);
  for (const char* part : {"tiny.json", "constants", "packed weights", "arena", "scratch",
                           "memory budget of 16 bytes"})
    EXPECT_NE(s.message().find(part), std::string::npos) << part << " in: " << s.message();
}

TEST(MemoryBudget, ExactlyEnoughLoadsAndOneByteLessFails) {
  auto unlimited = load(test::slow_max_pool_json(64, 8));
  const MemoryNeeds needs = memory_needs(unlimited->graph(), unlimited->plan(), 1);
  EXPECT_GE(needs.arena, size_t{64 * 64 + 57 * 57});
  LoadOptions options;
  options.memory_budget_bytes = needs.total();
  auto model = load(test::slow_max_pool_json(64, 8), options);
  ASSERT_NE(model, nullptr);
  std::unique_ptr<Session> session;
  EXPECT_TRUE(Session::create(model, 1, &session).is_ok());

  options.memory_budget_bytes = needs.total() - 1;
  std::shared_ptr<const Model> refused;
  EXPECT_EQ(Model::load_memory(test::slow_max_pool_json(64, 8), nullptr, 0, "<test>", &refused,
                               options)
                .code(),
            StatusCode::kOutOfMemory);
}

TEST(MemoryBudget, SessionChecksItsThreadCount) {
  MemoryNeeds needs;
  needs.constants = 100;
  needs.arena = 1000;
  needs.scratch_per_thread = 64;
  needs.threads = 4;
  EXPECT_EQ(needs.total(), size_t{100 + 1000 + 256});
  EXPECT_TRUE(check_memory_budget(needs, needs.total(), "session").is_ok());
  EXPECT_TRUE(check_memory_budget(needs, 0, "session").is_ok());  // 0: no budget
  const Status s = check_memory_budget(needs, needs.total() - 1, "session");
  ASSERT_EQ(s.code(), StatusCode::kOutOfMemory);
  EXPECT_NE(s.message().find("scratch 256 (4 threads)"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("= 1,356 bytes"), std::string::npos) << s.message();
  // Saturates rather than wrapping.
  needs.scratch_per_thread = SIZE_MAX / 2;
  EXPECT_EQ(needs.total(), SIZE_MAX);
}

// At 1 and 2 threads, a run of `model` with a timeout of `timeout_ms` stops
// in node `node` with kDeadlineExceeded within a second.
void expect_timeout_stops(const std::shared_ptr<const Model>& model, int timeout_ms, const std::string& node) {
  for (int threads : {1, 2}) {
    auto session = session_with_input(model, threads);
    session->set_run_timeout(std::chrono::milliseconds(timeout_ms));
    const auto start = Clock::now();
    const Status s = session->run();
    const double ms = ms_since(start);
    ASSERT_EQ(s.code(), StatusCode::kDeadlineExceeded) << s.message();
    EXPECT_NE(s.message().find("node '" + node + "'"), std::string::npos) << s.message();
    EXPECT_NE(s.message().find(std::to_string(timeout_ms * 1000) + " microseconds"), std::string::npos)
        << s.message();
    EXPECT_LT(ms, 1000.0) << "stop latency with " << threads << " threads";
    std::printf("timeout %d ms, node %s, %d thread(s): run returned after %.1f ms\n", timeout_ms, node.c_str(),
                threads, ms);
  }
}

TEST(RunTimeout, StopsALongStepWithinBoundedTimeThenRunsNormally) {
  // About 4e9 comparisons in one max_pool step: minutes if nothing stops it.
  expect_timeout_stops(load(test::slow_max_pool_json(512, 256)), 50, "pool");
}

TEST(RunTimeout, StopsALongGemmStepBetweenItsBlocks) {
  // One conv2d on the GEMM path, 2^39 MACs (seconds even on two threads);
  // the GEMM driver's task loop polls the stop signal per block.
  expect_timeout_stops(load(test::slow_conv_json(int64_t{1} << 23, 4096)), 20, "conv");
}

TEST(RunTimeout, TheNextRunAfterATimeoutEqualsAFreshSession) {
  auto model = load(test::slow_max_pool_json(256, 64));
  auto session = session_with_input(model, 2);
  session->set_run_timeout(std::chrono::microseconds(1));
  EXPECT_EQ(session->run().code(), StatusCode::kDeadlineExceeded);
  session->set_run_timeout(std::chrono::microseconds(0));
  ASSERT_TRUE(session->run().is_ok());
  EXPECT_EQ(output_of(*session), fresh_output(model));
}

TEST(Cancel, FromAnotherThreadStopsTheRunAndTheSessionStaysUsable) {
  auto model = load(test::slow_max_pool_json(512, 256));
  auto session = session_with_input(model, 2);
  Status s;
  double ms = 0;
  {
    Canceller canceller(session.get(), std::chrono::milliseconds(50));
    const auto start = Clock::now();
    s = session->run();
    ms = ms_since(start);
  }
  ASSERT_EQ(s.code(), StatusCode::kCancelled) << s.message();
  EXPECT_NE(s.message().find("node 'pool'"), std::string::npos) << s.message();
  EXPECT_LT(ms, 1000.0);
  std::printf("cancel from 50 ms on: run returned after %.1f ms\n", ms);

  // Usable afterwards: a short run with the same session (new timeout, no cancel).
  session->set_run_timeout(std::chrono::milliseconds(20));
  EXPECT_EQ(session->run().code(), StatusCode::kDeadlineExceeded);
}

TEST(Cancel, AfterACancelledRunTheNextRunIsComplete) {
  auto model = load(test::slow_max_pool_json(256, 64));
  auto session = session_with_input(model, 1);
  Status s;
  {
    Canceller canceller(session.get(), std::chrono::milliseconds(5));
    s = session->run();
  }
  // The run takes ~100 ms: the cancel 5 ms in stops it.
  ASSERT_EQ(s.code(), StatusCode::kCancelled) << s.message();
  ASSERT_TRUE(session->run().is_ok());
  EXPECT_EQ(output_of(*session), fresh_output(model));
}

TEST(Cancel, WhenIdleDoesNothing) {
  auto model = load(test::tiny_fc_json());
  std::unique_ptr<Session> session;
  ASSERT_TRUE(Session::create(model, 1, &session).is_ok());
  const int8_t x[4] = {127, -128, 100, -100};
  ASSERT_TRUE(session->set_input(0, x, 4).is_ok());
  session->cancel();
  session->cancel();
  ASSERT_TRUE(session->run().is_ok());
  const auto* y = static_cast<const int8_t*>(session->output_data(0));
  EXPECT_EQ(y[0], -2);
  EXPECT_EQ(y[1], -6);
}

// Resident set size of this process in bytes (Linux).
size_t resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  size_t pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * 4096;
}

TEST(AlignedBuffer, LargeBuffersAreZeroAndCommittedOnlyWhenTouched) {
  const size_t before = resident_bytes();
  AlignedBuffer big(size_t{1} << 30);
  ASSERT_TRUE(big.ok());
  EXPECT_EQ(reinterpret_cast<uintptr_t>(big.data()) % AlignedBuffer::kAlignment, 0u);
  EXPECT_LT(resident_bytes(), before + (size_t{64} << 20)) << "1 GiB committed up front";
  for (size_t offset : {size_t{0}, size_t{12345}, (size_t{1} << 30) - 1}) EXPECT_EQ(big.data()[offset], 0);
  std::memset(big.data() + (size_t{1} << 29), 1, size_t{1} << 20);  // touch 1 MiB
  AlignedBuffer moved = std::move(big);
  EXPECT_EQ(big.data(), nullptr);
  EXPECT_EQ(moved.data()[(size_t{1} << 29) + 5], 1);
  AlignedBuffer small(100);
  ASSERT_TRUE(small.ok());
  for (size_t i = 0; i < 100; ++i) ASSERT_EQ(small.data()[i], 0);
}

}  // namespace
}  // namespace dyad
