#pragma once
// The Store interface for backends whose calls block (file system, SQLite, libpq): a subclass
// writes plain synchronous methods, which run on the store's own WorkerPool threads; this class
// copies the borrowed arguments, hops to a worker and back, reports written keys to the
// observer, keeps the stats, and turns a backend failure into "store 'NAME' unavailable: …"
// (fast: while the backend is marked down, calls fail at once until a periodic retry in Tick
// reopens it).
//
// Atomicity is the subclass's job: UpdateBlocking must read, call `fn` and write as one atomic
// step with respect to every other worker and every other process sharing the backend.
//
// Writes that need no read take a shorter path: Execute sends blind writes (IsBlindWrite: SET
// without conditions, PUTMANY, tag generation replacement) to WriteBlocking and plain deletes
// to EraseBlocking, which a backend implements as one statement (SQL) or without reading the
// record (file). Everything else runs through the generic executor on UpdateBlocking.

#include <uv.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "drivers/store.h"
#include "drivers/worker_pool.h"

namespace arvel::drivers {

struct ScanPage {
  uint64_t next_cursor = 0;
  std::vector<std::string> keys;
};

class BlockingStore : public Store {
 public:
  BlockingStore(std::string name, std::string driver, uv_loop_t* loop, size_t threads);
  ~BlockingStore() override;

  // A subclass that overrides these calls them.
  void Open(DoneFn done) override;
  void Close(DoneFn done) override;
  Status Health() const final;
  void Read(Space space, std::span<const std::string_view> keys, ReadFn done) final;
  void Update(Space space, std::span<const std::string_view> keys, UpdateFn fn, DoneFn done) final;
  // Blind writes and deletes without a prefix through WriteBlocking / EraseBlocking; every
  // other operation through the generic executor (local_executor.h) on Update.
  void Execute(Operation operation, OpDone done) final;
  void Scan(uint64_t cursor, size_t count, ScanFn done) final;
  // kData, and any space CanScanSpace accepts, through the worker; else Store's default.
  void ScanSpace(Space space, uint64_t cursor, size_t count, ScanFn done) override;
  void Count(CountFn done) final;
  void RandomKey(KeyFn done) final;
  void Flush(DoneFn done) final;
  // A subclass that overrides it calls it.
  void Tick(int64_t now_ms) override;
  void WhenIdle(std::function<void()> fn) final { pool_.WhenIdle(std::move(fn)); }
  // Calls handed to the workers (each one or a few statements on the backend).
  int64_t backend_calls() const final { return backend_calls_; }

 protected:
  // All of these run on worker `worker` (0..threads-1); each worker may keep its own connection.
  // A non-OK Status from OpenBackend/any call marks the store unavailable with that message.
  virtual Status OpenBackend(size_t worker) = 0;
  virtual void CloseBackend(size_t worker) {}
  // entries[i] for keys[i]; nullopt when absent or expired at `now_ms`.
  virtual Status ReadBlocking(size_t worker, Space space, const std::vector<std::string>& keys,
                              int64_t now_ms, std::vector<std::optional<Entry>>* entries) = 0;
  // Atomically: read `keys`, call fn(updates, now_ms), apply the decisions. Sets changed[i] for
  // each key whose stored state changed.
  virtual Status UpdateBlocking(size_t worker, Space space, const std::vector<std::string>& keys,
                                const UpdateFn& fn, int64_t now_ms, std::vector<bool>* changed) = 0;
  // Writes values[i] under keys[i], expiring at `expire_at_ms` (0 = never, else later than
  // `now_ms`), whatever the keys held: atomically with respect to every other call on these
  // keys, as an UpdateBlocking that puts every key would. Every key counts as changed.
  // REQUIRES: keys distinct, keys.size() == values.size(). The default is that UpdateBlocking.
  virtual Status WriteBlocking(size_t worker, Space space, const std::vector<std::string>& keys,
                               const std::vector<std::string>& values, int64_t expire_at_ms,
                               int64_t now_ms);
  // Removes `keys`; sets removed[i] when keys[i] was present (live at `now_ms`). Atomic as
  // WriteBlocking. REQUIRES: keys distinct. The default is an UpdateBlocking that erases.
  virtual Status EraseBlocking(size_t worker, Space space, const std::vector<std::string>& keys,
                               int64_t now_ms, std::vector<bool>* removed);
  // One page of `space`. Always asked for kData; for the other spaces (the TagReclaimer walks
  // kTagged and kTagVersion) only when CanScanSpace(space), which must not change after
  // construction.
  virtual Status ScanSpaceBlocking(size_t worker, Space space, uint64_t cursor, size_t count,
                                   int64_t now_ms, ScanPage* page) = 0;
  virtual bool CanScanSpace(Space space) const { return false; }
  virtual Status CountBlocking(size_t worker, int64_t now_ms, int64_t* count) = 0;
  virtual Status RandomKeyBlocking(size_t worker, int64_t now_ms,
                                   std::optional<std::string>* key) = 0;
  virtual Status FlushBlocking(size_t worker) = 0;
  // Periodic cleanup of expired entries (bounded work); runs about once a second.
  virtual Status PruneBlocking(size_t worker, int64_t now_ms) { return Status::Ok(); }

 private:
  // Runs `work` on a worker unless the store is down (then `failed` at once with the error).
  void Dispatch(std::function<Status(size_t worker)> work,
                std::function<void(const Status&)> after);
  Status Unavailable(const std::string& reason) const;
  // Counts and reports to the observer each keys[i] with changed[i]; returns how many.
  int64_t ReportWrites(Space space, const std::vector<std::string>& keys,
                       const std::vector<bool>& changed);
  void MarkDown(const Status& status);
  void Reopen();

  WorkerPool pool_;
  size_t threads_;
  // Set when the backend failed; calls then fail fast until a retry from Tick reopens it. Work
  // submitted before the first Open completes still runs: each worker opens before anything else.
  // Workers never touch the state below (nor stats_): it is read and written on the loop thread,
  // in the methods above and in the pool's after-callbacks. What a worker produces travels to the
  // loop in the shared_ptrs its work and after-callback both hold (the pool's mutex orders them).
  bool down_ = false;             // loop thread only
  std::string down_reason_;       // loop thread only
  bool reopening_ = false;        // loop thread only
  int64_t next_retry_ms_ = 0;     // loop thread only
  int64_t retry_delay_ms_ = 500;  // loop thread only
  int64_t next_prune_ms_ = 0;     // loop thread only
  bool pruning_ = false;          // loop thread only
  int64_t backend_calls_ = 0;     // loop thread only
};

}  // namespace arvel::drivers
