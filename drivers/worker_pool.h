#pragma once
// Threads of one store for work that blocks (file system, SQLite, libpq). Each store owns its
// pool, so a slow backend only ever queues its own work and never delays clients of another store
// (libuv's shared threadpool would let one slow store starve the others). Completions are posted
// back to the loop thread through a uv_async_t.

#include <uv.h>

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace arvel::drivers {

class WorkerPool {
 public:
  // `work(worker_index)` runs on worker `worker_index` (0..threads-1); `after()` then runs on the
  // loop thread.
  using Work = std::function<void(size_t worker_index)>;
  using After = std::function<void()>;

  WorkerPool(uv_loop_t* loop, size_t threads, std::string name);
  ~WorkerPool();  // REQUIRES: Stop() completed, or the loop is gone
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Queues `work`. Must be called on the loop thread.
  void Submit(Work work, After after);
  // Runs `work` on every worker once (opening one backend connection per worker), then `after`
  // on the loop thread when all have finished.
  void SubmitToEach(Work work, After after);
  // Items queued or running.
  size_t pending() const { return pending_; }
  // Runs `fn` on the loop thread once nothing is queued or running (at once if that is now).
  void WhenIdle(std::function<void()> fn);
  // Lets queued work finish, joins the threads, then runs `done` on the loop thread.
  void Stop(std::function<void()> done);

 private:
  struct Item {
    Work work;
    After after;
    int target = -1;  // -1: any worker
  };
  void Run(size_t index);
  static void OnAsync(uv_async_t* async);
  void DrainCompletions();

  uv_loop_t* loop_;
  std::string name_;
  // uv_async_send(&async_) from any thread; everything else about it on the loop thread.
  uv_async_t async_{};
  // Loop thread only: workers never touch the vector.
  std::vector<std::thread> threads_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Item> queue_;                           // GUARDED_BY(mu_)
  std::deque<After> completions_;                    // GUARDED_BY(mu_)
  std::vector<std::deque<Item>> targeted_;           // GUARDED_BY(mu_): per-worker items
  bool stopping_ = false;                            // GUARDED_BY(mu_)
  size_t pending_ = 0;                               // loop thread only
  std::function<void()> stopped_;                    // loop thread only
  std::vector<std::function<void()>> idle_waiters_;  // loop thread only
};

}  // namespace arvel::drivers
