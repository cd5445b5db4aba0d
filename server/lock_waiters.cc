// Design: one Queue per (store, lock name) that has waiters. Only the head of a queue tries to
// take the lock (one store Update: put-if-absent, drivers/lock_logic.h), so a waiter behind it
// can never get the lock first: FIFO among BLOCK callers. A funnel's queue works the same way
// with a slot for a lock (drivers/funnel_logic.h); a head that got a slot while more were free
// lets the next one try at once. A failed attempt tells us when the (earliest) holder's TTL
// runs out; the queue's `wake` timer fires just after that instant (on shared drivers at least
// every RemoteRecheckMs, in case another daemon's release went unheard).
// Releases through this daemon, and through others where the store notifies them, arrive as
// kLock write notifications and wake the head at once; a store that only knows that some keys
// changed elsewhere (OnRemoteChange) wakes every head of its queues.
//
// Mutual exclusion never depends on this file: it only decides *when* to try. The lock itself is
// the kLock record, taken and released by atomic Updates, so an ACQUIRE from another client or
// daemon can still win a race against a woken head; the head then waits for that holder instead.
//
// Replies are finished last in every path: finishing resumes the client, which may run its next
// commands at once and re-enter this registry.

#include "server/lock_waiters.h"

#include <algorithm>
#include <utility>

#include "drivers/funnel_logic.h"
#include "server/connection.h"
#include "server/server.h"
#include "server/session_locks.h"

namespace arvel::server {

namespace {
// A wake-up due now that found the lock still held retries this much later, not in a busy loop.
constexpr int64_t kMinRetryMs = 1;

// The head's try: the lock, or a slot of the funnel (`funnel_limit` > 0).
drivers::Operation AttemptOf(const std::string& key, const std::string& token, int64_t ttl_ms,
                             int64_t funnel_limit) {
  if (funnel_limit > 0) return drivers::op::Funnel{key, token, funnel_limit, ttl_ms};
  return drivers::op::Acquire{drivers::Space::kLock, key, token, ttl_ms};
}
}  // namespace

// ---- Shared building blocks

bool StoreReachable(const Server& server, const drivers::Store* store) {
  for (const auto& configured : server.stores()) {
    if (configured.get() == store) return true;
  }
  for (const auto& [id, conn] : server.clients()) {
    if (conn->state().fake.get() == store) return true;
  }
  return false;
}

int64_t RemoteRecheckMs(const drivers::Store& store) {
  const drivers::StoreCapabilities& can = store.capabilities();
  if (!can.shared) return -1;
  return can.notifies_remote_changes ? kNotifiedRecheckMs : kPollRecheckMs;
}

struct LoopTimer::Handle {
  uv_timer_t timer{};
  std::function<void()> fn;
};

LoopTimer::LoopTimer(uv_loop_t* loop) : handle_(new Handle) {
  uv_timer_init(loop, &handle_->timer);
  handle_->timer.data = handle_;
}

LoopTimer::~LoopTimer() {
  Stop();
  uv_close(reinterpret_cast<uv_handle_t*>(&handle_->timer),
           [](uv_handle_t* timer) { delete static_cast<Handle*>(timer->data); });
}

void LoopTimer::Start(int64_t delay_ms, std::function<void()> fn) {
  handle_->fn = std::move(fn);
  auto fire = [](uv_timer_t* timer) {
    auto* handle = static_cast<Handle*>(timer->data);
    // Moved out first: the callback may restart the timer or destroy its owner.
    std::function<void()> callback = std::move(handle->fn);
    handle->fn = nullptr;
    if (callback) callback();
  };
  uv_timer_start(&handle_->timer, fire, static_cast<uint64_t>(std::max<int64_t>(delay_ms, 0)), 0);
}

void LoopTimer::Stop() {
  uv_timer_stop(&handle_->timer);
  handle_->fn = nullptr;
}

void GiveBack(drivers::Store& store, HoldKind kind, std::string key, std::string token) {
  if (kind == HoldKind::kFunnelSlot) {
    return drivers::GiveBackSlot(store, std::move(key), std::move(token));
  }
  drivers::GiveBackLock(store, key, std::move(token));
}

void WriteLockGrant(protocol::ReplyWriter& writer, std::string_view token, bool fenced,
                    int64_t fence) {
  if (!fenced) return writer.Bulk(token);
  writer.ArrayHeader(2);
  writer.Bulk(token);
  writer.Integer(fence);
}

// ---- The waiting room

struct LockWaiters::Waiter {
  explicit Waiter(uv_loop_t* loop) : deadline(loop) {}
  uint64_t id = 0;
  std::string token;
  int64_t ttl_ms = 0;
  bool fenced = false;
  bool session = false;
  int64_t funnel_limit = 0;
  PendingReply reply;
  LoopTimer deadline;  // answers nil when the BLOCK timeout passes
};

struct LockWaiters::Queue {
  explicit Queue(uv_loop_t* loop) : wake(loop) {}
  std::deque<std::unique_ptr<Waiter>> waiters;  // arrival order; only the front tries
  LoopTimer wake;                               // next time the front should try
  bool busy = false;   // the front's attempt is in flight (a busy queue is never erased)
  bool dirty = false;  // the lock was written during that attempt: try again when it ends
};

LockWaiters::LockWaiters(Server& server) : server_(server) { server.watches().AddListener(this); }

LockWaiters::~LockWaiters() = default;

void LockWaiters::Wait(Request request, PendingReply reply) {
  Connection* conn = server_.FindClient(reply.client_id());
  if (conn == nullptr || !reply.alive()) return;
  StoreKey lock{request.store, std::move(request.key)};
  std::unique_ptr<Queue>& slot = queues_[lock];
  if (!slot) slot = std::make_unique<Queue>(server_.loop());
  auto waiter = std::make_unique<Waiter>(server_.loop());
  const uint64_t id = waiter->id = next_waiter_id_++;
  waiter->token = std::move(request.token);
  waiter->ttl_ms = request.ttl_ms;
  waiter->fenced = request.fenced;
  waiter->session = request.session;
  waiter->funnel_limit = request.funnel_limit;
  waiter->reply = reply;
  waiter->deadline.Start(request.timeout_ms, [this, lock, id] { TimeOut(lock, id); });
  // Set before the first attempt, which may finish the reply (and drop the hook) at once.
  reply.MarkWaiting([this, lock, id] { Cancel(lock, id); });
  slot->waiters.push_back(std::move(waiter));
  ++waiting_;
  if (slot->waiters.size() == 1) Kick(lock);  // otherwise someone is ahead and will be woken
}

void LockWaiters::Kick(const StoreKey& lock) {
  auto it = queues_.find(lock);
  if (it == queues_.end()) return;
  Queue& queue = *it->second;
  if (queue.busy) {
    queue.dirty = true;
    return;
  }
  if (queue.waiters.empty()) return EraseIfIdle(lock);
  if (!StoreReachable(server_, lock.store)) return;  // a dropped FAKE store: waiters time out
  const Waiter& head = *queue.waiters.front();
  queue.busy = true;
  queue.dirty = false;
  queue.wake.Stop();
  // Copies: a synchronous store runs OnAttempt (which may erase the queue) before returning.
  lock.store->Execute(AttemptOf(lock.key, head.token, head.ttl_ms, head.funnel_limit),
                      [this, lock, id = head.id, token = head.token, limit = head.funnel_limit](
                          const Status& status, drivers::OpResult result) {
                        OnAttempt(lock, id, token, limit, status, result);
                      });
}

void LockWaiters::OnAttempt(const StoreKey& lock, uint64_t waiter_id, const std::string& token,
                            int64_t funnel_limit, const Status& status,
                            const drivers::OpResult& attempt) {
  Queue& queue = *queues_.find(lock)->second;
  queue.busy = false;
  const bool acquired = status.ok() && attempt.applied;
  const HoldKind kind = funnel_limit > 0 ? HoldKind::kFunnelSlot : HoldKind::kLock;
  if (status.ok() && !acquired) {
    if (queue.dirty) return Kick(lock);
    ArmWake(lock, queue, attempt.expire_at_ms);
    return EraseIfIdle(lock);
  }
  // Acquired, or the store failed: the head's wait is over (if it is still there).
  std::unique_ptr<Waiter> head = Remove(lock, waiter_id);
  if (head != nullptr && !head->reply.alive()) head.reset();
  queue.dirty = false;
  if (!queue.waiters.empty()) {
    if (status.ok() && kind == HoldKind::kFunnelSlot && attempt.integer < funnel_limit) {
      queue.wake.Start(0, [this, lock] { Kick(lock); });  // a slot is still free
    } else if (status.ok()) {
      ArmWake(lock, queue, attempt.expire_at_ms);
    } else {
      queue.wake.Start(0, [this, lock] { Kick(lock); });  // each waiter hears the error in turn
    }
  }
  EraseIfIdle(lock);
  // The waiter left while its attempt was in flight: nobody would ever release this lock.
  // Releasing writes kLock, which wakes the next head.
  if (acquired && head == nullptr) return GiveBack(*lock.store, kind, lock.key, token);
  if (head == nullptr) return;
  if (acquired && head->session) {
    server_.session_locks().Add(head->reply.client_id(), *lock.store, lock.key, head->token, kind);
  }
  head->reply.Finish([&](protocol::ReplyWriter& writer) {
    if (status.ok()) {
      WriteLockGrant(writer, head->token, head->fenced, attempt.integer);
    } else {
      writer.Error(status.message());
    }
  });
}

void LockWaiters::ArmWake(const StoreKey& lock, Queue& queue, int64_t holder_expire_at_ms) {
  int64_t delay = -1;  // none: only a release can free the lock
  if (holder_expire_at_ms != 0) {
    // Due when the holder expires. A store whose clock is a little behind still sees it live;
    // the failed attempt then re-arms the timer a moment later.
    delay = std::max(holder_expire_at_ms - lock.store->now_ms(), kMinRetryMs);
  }
  if (const int64_t recheck = RemoteRecheckMs(*lock.store); recheck >= 0) {
    delay = delay < 0 ? recheck : std::min(delay, recheck);
  }
  if (delay >= 0) queue.wake.Start(delay, [this, lock] { Kick(lock); });
}

void LockWaiters::WakeSoon(const StoreKey& lock, Queue& queue) {
  // During an attempt the wake-up is remembered (`dirty`): the attempt may have read the lock
  // before this write, and its result would otherwise re-arm the timer for a stale holder.
  if (queue.busy) {
    queue.dirty = true;
    return;
  }
  // Deferred to the next loop turn: the writer is still inside its store Update.
  queue.wake.Start(0, [this, lock] { Kick(lock); });
}

void LockWaiters::OnKeyWritten(drivers::Store& store, drivers::Space space, std::string_view key,
                               bool all) {
  if (queues_.empty()) return;
  if (all) {  // FLUSH removed every lock of the store
    for (auto& [lock, queue] : queues_) {
      if (lock.store == &store) WakeSoon(lock, *queue);
    }
    return;
  }
  if (space != drivers::Space::kLock) return;
  auto it = queues_.find(StoreKeyView{&store, key});
  if (it != queues_.end()) WakeSoon(it->first, *it->second);
}

void LockWaiters::OnRemoteChange(drivers::Store& store) {
  for (auto& [lock, queue] : queues_) {
    if (lock.store == &store) WakeSoon(lock, *queue);
  }
}

void LockWaiters::TimeOut(const StoreKey& lock, uint64_t waiter_id) {
  std::unique_ptr<Waiter> waiter = Remove(lock, waiter_id);
  if (waiter == nullptr) return;
  EraseIfIdle(lock);
  waiter->reply.Finish([](protocol::ReplyWriter& writer) { writer.Null(); });
}

void LockWaiters::Cancel(const StoreKey& lock, uint64_t waiter_id) {
  // The client is gone: drop its waiter without replying. If it was the head with an attempt
  // in flight, OnAttempt gives back a lock taken for it.
  std::unique_ptr<Waiter> waiter = Remove(lock, waiter_id);
  if (waiter != nullptr) EraseIfIdle(lock);
}

std::unique_ptr<LockWaiters::Waiter> LockWaiters::Remove(const StoreKey& lock, uint64_t waiter_id) {
  auto it = queues_.find(lock);
  if (it == queues_.end()) return nullptr;
  auto& waiters = it->second->waiters;
  auto found = std::find_if(waiters.begin(), waiters.end(),
                            [waiter_id](const auto& w) { return w->id == waiter_id; });
  if (found == waiters.end()) return nullptr;
  std::unique_ptr<Waiter> waiter = std::move(*found);
  waiters.erase(found);
  --waiting_;
  return waiter;
}

void LockWaiters::EraseIfIdle(const StoreKey& lock) {
  auto it = queues_.find(lock);
  if (it != queues_.end() && !it->second->busy && it->second->waiters.empty()) queues_.erase(it);
}

}  // namespace arvel::server
