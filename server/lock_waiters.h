#pragma once
// LOCK BLOCK's and FUNNEL ACQUIRE … BLOCK's waiting room: per (store, kLock key — a lock or a
// funnel), a FIFO queue of parked clients, woken when the lock or a slot may have become free —
// released or force-released through this daemon (a kLock write), a holder's TTL reached (a
// timer), or, on drivers shared between daemons, when the store reports a change made elsewhere
// (that key, or "some keys") and on a re-check interval (a safety net where the store reports
// such changes, a poll where it does not). Only the queue's head ever tries to take the lock or
// a slot, so waiters get it first come, first served. Everything runs on the loop thread.
//
// Also home to two small pieces FillLeases (REMEMBER) shares: StoreKey and LoopTimer.

#include <uv.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "absl/hash/hash.h"
#include "drivers/lock_logic.h"
#include "drivers/store.h"
#include "server/command.h"

namespace arvel::server {

class Server;

// ---- Shared building blocks

// One key of one store, the unit both registries index by. Looked up with a StoreKeyView, so
// write notifications (a string_view) find their entry without copying the key.
struct StoreKey {
  drivers::Store* store = nullptr;
  std::string key;
};
struct StoreKeyView {
  const drivers::Store* store = nullptr;
  std::string_view key;
};
struct StoreKeyHash {
  using is_transparent = void;
  size_t operator()(const StoreKeyView& k) const {
    return absl::HashOf(static_cast<const void*>(k.store), k.key);
  }
  size_t operator()(const StoreKey& k) const {
    return (*this)(StoreKeyView{k.store, std::string_view(k.key)});
  }
};
struct StoreKeyEq {
  using is_transparent = void;
  static StoreKeyView View(const StoreKey& k) { return {k.store, k.key}; }
  static StoreKeyView View(const StoreKeyView& k) { return k; }
  template <typename A, typename B>
  bool operator()(const A& a, const B& b) const {
    return View(a).store == View(b).store && View(a).key == View(b).key;
  }
};
template <typename V>
using StoreKeyMap = absl::flat_hash_map<StoreKey, V, StoreKeyHash, StoreKeyEq>;

// Whether `store` may still be used: a configured store, or some connected client's FAKE store
// (dropped by FAKE OFF while a timer may still name it).
bool StoreReachable(const Server& server, const drivers::Store* store);
// How long a waiter on `store` may go without looking again for a change made by another daemon:
// -1 when no other daemon shares the store; a slow safety re-check when the store notifies such
// changes (a notification can be lost); a short poll when it does not.
inline constexpr int64_t kPollRecheckMs = 50;
inline constexpr int64_t kNotifiedRecheckMs = 1000;
int64_t RemoteRecheckMs(const drivers::Store& store);

// A one-shot libuv timer owned by value. Start replaces whatever was pending; destroying the
// timer cancels it (its callback never runs) and frees the handle once libuv lets go of it.
// The callback may destroy the timer. REQUIRES: the loop thread; the loop outlives the timer's
// close (the registries are emptied when the clients close, before the loop stops).
class LoopTimer {
 public:
  explicit LoopTimer(uv_loop_t* loop);
  ~LoopTimer();
  LoopTimer(const LoopTimer&) = delete;
  LoopTimer& operator=(const LoopTimer&) = delete;

  void Start(int64_t delay_ms, std::function<void()> fn);
  void Stop();

 private:
  struct Handle;
  Handle* handle_;
};

// What a client holds under a kLock key: a lock (drivers/lock_logic.h) or one slot of a funnel
// (drivers/funnel_logic.h).
enum class HoldKind : uint8_t { kLock, kFunnelSlot };
// Gives back what `token` holds under `key` of `store`, ignoring the outcome: for a client that
// went away before it could be told, or whose SESSION ended.
void GiveBack(drivers::Store& store, HoldKind kind, std::string key, std::string token);

// The reply to a granted ACQUIRE or BLOCK: the token, or with `fenced` [token, fence].
void WriteLockGrant(protocol::ReplyWriter& writer, std::string_view token, bool fenced,
                    int64_t fence);

// ---- The waiting room

class LockWaiters : public drivers::KeyObserver {
 public:
  // Subscribes to the server's write notifications.
  explicit LockWaiters(Server& server);
  ~LockWaiters() override;

  struct Request {
    drivers::Store* store = nullptr;
    std::string key;  // the kLock key: drivers::LockKey or drivers::FunnelKey of the name
    std::string token;
    int64_t ttl_ms = 0;      // 0 = held until released
    int64_t timeout_ms = 0;  // > 0
    bool fenced = false;     // reply [token, fence] (LOCK BLOCK … FENCED)
    bool session = false;    // released when the client goes away (… SESSION)
    int64_t funnel_limit = 0;  // > 0: waits for one of this many slots of the funnel `key`
  };

  // Queues the client behind earlier waiters for the same lock or funnel, and finishes `reply`
  // with the token (and fence) once it holds the lock or a slot, with nil when `timeout_ms` passes
  // first, or with the store's error. A SESSION lock is handed to the server's SessionLocks as it
  // is taken. If the client goes away first, it leaves the queue (PendingReply::MarkWaiting) and
  // never holds the lock. REQUIRES: `reply` is pending.
  void Wait(Request request, PendingReply reply);

  // Clients parked in LOCK BLOCK and FUNNEL ACQUIRE … BLOCK (INFO).
  size_t waiting() const { return waiting_; }
  // Locks with at least one waiter (INFO).
  size_t contended_locks() const { return queues_.size(); }

  void OnKeyWritten(drivers::Store& store, drivers::Space space, std::string_view key,
                    bool all) override;
  // Every queue of `store` tries again (one attempt per contended lock).
  void OnRemoteChange(drivers::Store& store) override;

 private:
  struct Waiter;
  struct Queue;

  void Kick(const StoreKey& lock);
  void OnAttempt(const StoreKey& lock, uint64_t waiter_id, const std::string& token,
                 int64_t funnel_limit, const Status& status, const drivers::OpResult& attempt);
  void ArmWake(const StoreKey& lock, Queue& queue, int64_t holder_expire_at_ms);
  void WakeSoon(const StoreKey& lock, Queue& queue);
  void TimeOut(const StoreKey& lock, uint64_t waiter_id);
  void Cancel(const StoreKey& lock, uint64_t waiter_id);
  std::unique_ptr<Waiter> Remove(const StoreKey& lock, uint64_t waiter_id);
  void EraseIfIdle(const StoreKey& lock);

  Server& server_;
  StoreKeyMap<std::unique_ptr<Queue>> queues_;
  uint64_t next_waiter_id_ = 1;
  size_t waiting_ = 0;
};

}  // namespace arvel::server
