// A fixed pool of dyad sessions over one model. A request takes a session
// (a Lease) for the time of its run and gives it back; when none is free it
// waits in a FIFO queue of at most `max_queue` requests, and beyond that is
// refused at once (the server answers 503). A session is handed to exactly
// one request at a time: release gives it straight to the oldest waiter.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "dyad/dyad.h"

namespace dyad::serve {

class SessionPool {
 public:
  class Lease {
   public:
    Lease() = default;
    Lease(Lease&& other) noexcept;
    Lease& operator=(Lease&& other) noexcept;
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease() { reset(); }
    dyad_session* get() const { return session_; }
    explicit operator bool() const { return session_ != nullptr; }
    void reset();  // gives the session back (no-op when empty)

   private:
    friend class SessionPool;
    SessionPool* pool_ = nullptr;
    dyad_session* session_ = nullptr;
  };

  // Creates `sessions` sessions of `threads` threads each; false with *error
  // set (the C API's message) when one cannot be created.
  static bool create(const dyad_model* model, int sessions, int threads, size_t max_queue,
                     std::unique_ptr<SessionPool>* out, std::string* error);
  ~SessionPool();
  SessionPool(const SessionPool&) = delete;
  SessionPool& operator=(const SessionPool&) = delete;

  // Takes a free session, waiting for one if needed; false (and an empty
  // lease) when `max_queue` requests are already waiting.
  bool acquire(Lease* out);

  size_t size() const { return sessions_.size(); }
  size_t busy() const { return busy_.load(); }
  size_t waiting() const { return waiting_.load(); }

 private:
  struct Waiter {
    std::condition_variable cv;
    dyad_session* granted = nullptr;
  };
  explicit SessionPool(size_t max_queue) : max_queue_(max_queue) {}
  void release(dyad_session* session);

  const size_t max_queue_;
  std::vector<dyad_session*> sessions_;
  std::mutex mu_;
  std::vector<dyad_session*> free_;  // under mu_
  std::deque<Waiter*> waiters_;      // under mu_, oldest first
  std::atomic<size_t> busy_{0};
  std::atomic<size_t> waiting_{0};
};

}  // namespace dyad::serve
