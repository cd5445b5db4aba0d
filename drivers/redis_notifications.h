#pragma once
// Cross-daemon change notifications for the redis driver: a dedicated connection subscribes to
// Redis's keyspace notifications for the store's keys (PSUBSCRIBE __keyspace@DB__:PREFIX:*), so
// that LOCK BLOCK, REMEMBER and FUNNEL waiters — and WATCH — learn of writes made through other
// daemons within milliseconds instead of by polling.
//
// Keyspace events are a server-wide setting (notify-keyspace-events). The listener adds the
// classes it needs (K: keyspace channel, g: DEL/EXPIRE…, $: string commands, x: expired,
// e: evicted) to whatever is set already, never removing a class someone else relies on. When
// CONFIG is refused (a managed Redis, an ACL) it says so in the log and reports that it is not
// listening; the store then tells the server it does not notify, and waiters poll.

#include <uv.h>

#include <functional>
#include <string>
#include <string_view>

#include "drivers/redis_connection.h"
#include "drivers/redis_keys.h"

namespace arvel::drivers {

class RedisKeyspaceListener {
 public:
  using KeyFn = std::function<void(Space space, std::string_view key)>;
  // OK once subscribed; an error when the connection failed or dropped (the store's business)
  // or when notifications cannot be enabled (`refused` set; logged here).
  using StateFn = std::function<void(const Status& status, bool refused)>;

  RedisKeyspaceListener(uv_loop_t* loop, const RedisKeys& keys, int db, std::string store_name,
                        KeyFn on_key);

  // Connects and subscribes. REQUIRES: stopped.
  void Start(const std::string& ip, int port, const RedisLogin& login, StateFn on_state);
  // Drops the subscription. Idempotent.
  void Stop();

  bool listening() const { return listening_; }
  const RedisConnection& connection() const { return connection_; }

 private:
  void EnableEvents();
  void Subscribe();
  void Fail(const Status& status, bool refused);

  RedisConnection connection_;
  const RedisKeys& keys_;
  const std::string channel_prefix_;  // "__keyspace@DB__:"
  const std::string store_name_;
  KeyFn on_key_;
  StateFn on_state_;
  bool listening_ = false;
};

// The notify-keyspace-events value to set so that `current` also publishes the classes the
// listener needs; empty when `current` already does.
std::string NotifyFlagsToSet(std::string_view current);

}  // namespace arvel::drivers
