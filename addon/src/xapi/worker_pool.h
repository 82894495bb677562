// A client's own small pool of call threads (plain C++, no N-API): jobs run in order of
// arrival on up to `max` threads, started on demand. stop() lets queued jobs run (the session
// is shut down by then, so they fail fast) and joins every thread; nothing is static.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace xapi {

class WorkerPool {
 public:
  explicit WorkerPool(size_t max) : max_(max ? max : 1) {}
  ~WorkerPool() { stop(); }
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Any thread; false once stopped (the job is not run). An urgent job (close) goes first and
  // gets a thread even when all `max` are stuck in calls.
  bool post(std::function<void()> job, bool urgent = false) {
    std::lock_guard<std::mutex> lk(mu_);
    if (stopping_) return false;
    if (urgent) queue_.push_front(std::move(job));
    else queue_.push_back(std::move(job));
    // Idle threads that have not woken yet take the jobs queued before this one: a new thread
    // only when the queue outnumbers them, so a burst of calls gets its threads at once.
    const bool uncovered = queue_.size() > idle_;
    if (uncovered && (urgent || threads_.size() < max_)) threads_.emplace_back([this] { loop(); });
    else cv_.notify_one();
    return true;
  }

  // Never from a pool thread. Idempotent.
  void stop() {
    std::vector<std::thread> threads;
    {
      std::lock_guard<std::mutex> lk(mu_);
      stopping_ = true;
      threads.swap(threads_);
    }
    cv_.notify_all();
    for (auto& t : threads)
      if (t.joinable()) t.join();
  }

 private:
  void loop() {
    std::unique_lock<std::mutex> lk(mu_);
    for (;;) {
      idle_++;
      cv_.wait(lk, [this] { return stopping_ || !queue_.empty(); });
      idle_--;
      if (queue_.empty()) return;  // stopping, nothing left
      std::function<void()> job = std::move(queue_.front());
      queue_.pop_front();
      lk.unlock();
      job();
      job = nullptr;
      lk.lock();
    }
  }

  const size_t max_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  std::vector<std::thread> threads_;
  size_t idle_ = 0;
  bool stopping_ = false;
};

}  // namespace xapi
