#include "drivers/worker_pool.h"

#include <memory>

#include "common/signals.h"

namespace arvel::drivers {

WorkerPool::WorkerPool(uv_loop_t* loop, size_t threads, std::string name)
    : loop_(loop), name_(std::move(name)), targeted_(threads) {
  uv_async_init(loop_, &async_, OnAsync);
  async_.data = this;
  const LoopSignalsBlocked only_the_loop_gets_signals;
  for (size_t i = 0; i < threads; ++i) threads_.emplace_back([this, i] { Run(i); });
}

WorkerPool::~WorkerPool() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
}

void WorkerPool::Submit(Work work, After after) {
  ++pending_;
  {
    std::lock_guard lock(mu_);
    queue_.push_back({std::move(work), std::move(after)});
  }
  cv_.notify_one();
}

void WorkerPool::SubmitToEach(Work work, After after) {
  auto remaining = std::make_shared<size_t>(threads_.size());
  auto shared_after = std::make_shared<After>(std::move(after));
  pending_ += threads_.size();
  {
    std::lock_guard lock(mu_);
    for (size_t i = 0; i < threads_.size(); ++i) {
      targeted_[i].push_back({work,
                              [remaining, shared_after] {
                                if (--*remaining == 0 && *shared_after) (*shared_after)();
                              },
                              static_cast<int>(i)});
    }
  }
  cv_.notify_all();
}

void WorkerPool::Run(size_t index) {
  for (;;) {
    Item item;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty() || !targeted_[index].empty(); });
      std::deque<Item>& source = !targeted_[index].empty() ? targeted_[index] : queue_;
      if (source.empty()) return;  // stopping, and nothing left to do
      item = std::move(source.front());
      source.pop_front();
    }
    item.work(index);
    {
      std::lock_guard lock(mu_);
      completions_.push_back(std::move(item.after));
    }
    uv_async_send(&async_);
  }
}

void WorkerPool::OnAsync(uv_async_t* async) {
  static_cast<WorkerPool*>(async->data)->DrainCompletions();
}

void WorkerPool::DrainCompletions() {
  std::deque<After> ready;
  {
    std::lock_guard lock(mu_);
    ready.swap(completions_);
  }
  for (After& after : ready) {
    --pending_;
    if (after) after();
  }
  if (pending_ == 0 && !idle_waiters_.empty()) {
    auto waiters = std::move(idle_waiters_);
    idle_waiters_.clear();
    for (auto& fn : waiters) fn();
  }
  if (stopped_ && pending_ == 0) {
    auto done = std::move(stopped_);
    stopped_ = nullptr;
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();
    threads_.clear();
    uv_close(reinterpret_cast<uv_handle_t*>(&async_), nullptr);
    done();
  }
}

void WorkerPool::WhenIdle(std::function<void()> fn) {
  if (pending_ == 0) return fn();
  idle_waiters_.push_back(std::move(fn));
}

void WorkerPool::Stop(std::function<void()> done) {
  stopped_ = std::move(done);
  if (pending_ == 0) {
    // Nothing in flight: finish through the async path so `done` runs on a fresh stack.
    uv_async_send(&async_);
  }
}

}  // namespace arvel::drivers
