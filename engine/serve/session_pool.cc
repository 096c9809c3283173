#include "engine/serve/session_pool.h"

#include <cstdlib>

namespace dyad::serve {

SessionPool::Lease::Lease(Lease&& other) noexcept
    : pool_(other.pool_), session_(other.session_) {
  other.pool_ = nullptr;
  other.session_ = nullptr;
}

SessionPool::Lease& SessionPool::Lease::operator=(Lease&& other) noexcept {
  if (this != &other) {
    reset();
    pool_ = other.pool_;
    session_ = other.session_;
    other.pool_ = nullptr;
    other.session_ = nullptr;
  }
  return *this;
}

void SessionPool::Lease::reset() {
  if (session_ != nullptr) pool_->release(session_);
  pool_ = nullptr;
  session_ = nullptr;
}

bool SessionPool::create(const dyad_model* model, int sessions, int threads, size_t max_queue,
                         std::unique_ptr<SessionPool>* out, std::string* error) {
  std::unique_ptr<SessionPool> pool(new SessionPool(max_queue));
  dyad_session_options options = DYAD_SESSION_OPTIONS_INIT;
  options.num_threads = threads;
  for (int i = 0; i < sessions; ++i) {
    dyad_session* s = nullptr;
    if (dyad_session_create(model, &options, &s) != DYAD_OK) {
      *error = dyad_last_error_message();
      return false;
    }
    pool->sessions_.push_back(s);
  }
  // Handed out from the back: session 0 first.
  pool->free_.assign(pool->sessions_.rbegin(), pool->sessions_.rend());
  *out = std::move(pool);
  return true;
}

SessionPool::~SessionPool() {
  for (dyad_session* s : sessions_) dyad_session_free(s);
}

bool SessionPool::acquire(Lease* out) {
  out->reset();
  std::unique_lock<std::mutex> lock(mu_);
  dyad_session* s = nullptr;
  if (!free_.empty()) {
    s = free_.back();
    free_.pop_back();
  } else {
    if (waiters_.size() >= max_queue_) return false;
    Waiter w;
    waiters_.push_back(&w);
    waiting_.store(waiters_.size());
    w.cv.wait(lock, [&w] { return w.granted != nullptr; });
    s = w.granted;  // release() already took us off the queue
  }
  busy_.fetch_add(1);
  out->pool_ = this;
  out->session_ = s;
  return true;
}

void SessionPool::release(dyad_session* session) {
  std::lock_guard<std::mutex> lock(mu_);
  busy_.fetch_sub(1);
  if (!waiters_.empty()) {
    Waiter* w = waiters_.front();
    waiters_.pop_front();
    waiting_.store(waiters_.size());
    w->granted = session;
    w->cv.notify_one();
    return;
  }
  free_.push_back(session);
}

}  // namespace dyad::serve
