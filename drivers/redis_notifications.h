#pragma once
// Cross-daemon change notifications for the redis driver, so that LOCK BLOCK and REMEMBER
// waiters learn of changes made through other daemons within milliseconds instead of by
// polling. Built on Redis's client tracking in broadcasting mode (Redis 6+):
//   - a dedicated connection (this listener) learns its CLIENT ID and SUBSCRIBEs to
//     __redis__:invalidate;
//   - the store's first data connection then runs CLIENT TRACKING on REDIRECT <id> BCAST
//     PREFIX <PREFIX:l:> PREFIX <PREFIX:e:> NOLOOP (TrackingCommands; kWatchedSpaces below).
// From then on Redis sends the listener the lock and lease keys that any other connection
// modified — writes, deletions, expirations, evictions; FLUSHDB/FLUSHALL as "everything" —
// gathered into one message per Redis event-loop turn, and leaves out what the tracking
// connection itself wrote with plain commands (NOLOOP; writes made inside our scripts come back
// too, which is harmless): this daemon reports its own writes directly.
//
// Compared with keyspace notifications (PSUBSCRIBE __keyspace@…), which this replaced: no
// server-wide `notify-keyspace-events` to change (managed services often refuse CONFIG), no
// pub/sub message per write, and nothing at all for writes of ordinary keys — under a
// write-heavy load keyspace notifications cost the daemon a third of its CPU and Redis nearly
// half of its.
//
// Limits: tracking is not per database, so a write under the same prefix in another db also
// wakes waiters (they re-check and wait again); when the server refuses (an ACL without CLIENT,
// Redis before 6) the store logs it once and its waits fall back to polling.

#include <uv.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "drivers/redis_connection.h"
#include "drivers/redis_keys.h"

namespace arvel::drivers {

// The spaces whose changes waits depend on: locks (LOCK BLOCK) and fill leases (REMEMBER: the
// holder's daemon drops the lease record once the value is written, or when the fill is given
// up; server/fill_leases.cc then reads the value). Writes of ordinary keys are not announced:
// under a write-heavy load that alone would cost Redis as much again as the writes.
inline constexpr Space kWatchedSpaces[] = {Space::kLock, Space::kLease};

class RedisChangeListener {
 public:
  using KeyFn = std::function<void(Space space, std::string_view key)>;
  // The database was flushed (or emptied some other way Redis reports as one event).
  using FlushFn = std::function<void()>;
  // Once subscribed: OK and the listener's client id, to redirect tracking to. An error when
  // the connection failed or dropped (the store's business), or with `refused` when the server
  // will not let us (logged here).
  using StateFn = std::function<void(const Status& status, bool refused, int64_t client_id)>;

  RedisChangeListener(uv_loop_t* loop, const RedisKeys& keys, std::string store_name, KeyFn on_key,
                      FlushFn on_flush);

  // Connects, asks for the client id and subscribes. REQUIRES: stopped.
  void Start(const std::string& ip, int port, const RedisLogin& login, StateFn on_state);
  // Drops the subscription. Idempotent.
  void Stop();

  // The commands that make a data connection send its tracking to listener `client_id`:
  // tracking off (it may be on from an earlier listener), then on with BCAST, the store's
  // prefix and NOLOOP.
  std::vector<std::vector<std::string>> TrackingCommands(int64_t client_id) const;

  bool subscribed() const { return subscribed_; }
  const RedisConnection& connection() const { return connection_; }

 private:
  void AskClientId();
  void Subscribe(int64_t client_id);
  void Fail(const Status& status, bool refused);
  void Deliver(const redisReply& payload);

  RedisConnection connection_;
  const RedisKeys& keys_;
  const std::string store_name_;
  KeyFn on_key_;
  FlushFn on_flush_;
  StateFn on_state_;
  bool subscribed_ = false;
};

}  // namespace arvel::drivers
