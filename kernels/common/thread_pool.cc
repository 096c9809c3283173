#include "kernels/common/thread_pool.h"

namespace dyad::kernels {

ThreadPool::ThreadPool(int num_threads) {
  for (int i = 1; i < num_threads; ++i) workers_.emplace_back([this] { worker_loop(); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  work_ready_.notify_all();
  for (std::thread& t : workers_) t.join();
}

void ThreadPool::parallel_for(size_t num_tasks, const std::function<void(size_t)>& task) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    task_ = &task;
    num_tasks_ = num_tasks;
    next_task_ = 0;
    tasks_finished_ = 0;
    ++generation_;
  }
  work_ready_.notify_all();
  run_tasks();
  std::unique_lock<std::mutex> lock(mutex_);
  work_done_.wait(lock, [this] { return tasks_finished_ == num_tasks_; });
  task_ = nullptr;
}

void ThreadPool::run_tasks() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (task_ != nullptr && next_task_ < num_tasks_) {
    const size_t i = next_task_++;
    const std::function<void(size_t)>* task = task_;
    lock.unlock();
    if (stop_signal_ == nullptr || !stop_signal_->stop_requested()) (*task)(i);
    lock.lock();
    if (++tasks_finished_ == num_tasks_) work_done_.notify_all();
  }
}

void ThreadPool::worker_loop() {
  size_t seen_generation = 0;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mutex_);
      work_ready_.wait(lock, [&] { return stopping_ || generation_ != seen_generation; });
      if (stopping_) return;
      seen_generation = generation_;
    }
    run_tasks();
  }
}

}  // namespace dyad::kernels
