#pragma once
// RedisStore: the `redis` driver (SPEC §6) — many stateless daemons in front of one Redis or
// Valkey. Keys live upstream under the store's prefix (redis_keys.h); every operation is one
// upstream command or one script (redis_commands.h), pipelined over one hiredis connection (or
// a small pool) on the daemon's own loop: the requests of a loop turn leave in one write
// (redis_uv_events.h). Nothing blocks the loop: host names are resolved with uv_getaddrinfo,
// and everything else is hiredis's non-blocking I/O.
//
// Availability. The store is up when every pool connection has logged in (AUTH, SELECT) and
// loaded the scripts. Any failure — a connection refused, dropped, or a command not answered
// within `timeout_ms` — takes the whole store down: every command in flight fails with
// "store 'NAME' unavailable: REASON", every new call fails the same way at once, and a watchdog
// reconnects with exponential backoff until Redis answers again. A call made while the first
// connection is still being set up waits for it (bounded by connect_timeout_ms).
//
// Order. With one connection (pool_size 1, the default) Redis applies the calls in the order
// they are made, and the store says so (capabilities().keeps_order), which lets the server send
// a client's pipelined commands together. With several, a call goes to the connection chosen by
// a hash of its first key, so the operations on one key keep their order but calls on different
// keys may overtake each other (store.h allows it). One exception: a script call answered
// NOSCRIPT (someone ran SCRIPT FLUSH) is sent again with its source, after the calls made
// behind it.
//
// Notifications. A change listener (redis_notifications.h: client tracking) reports changes of
// lock and lease records made through other daemons to the observer;
// capabilities().notifies_remote_changes is true while it listens. This daemon's own writes
// are reported directly before their completion runs (and, for script writes, a second time
// when Redis reports them, which is harmless).

#include <uv.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "drivers/redis_connection.h"
#include "drivers/redis_keys.h"
#include "drivers/redis_notifications.h"
#include "drivers/redis_scripts.h"
#include "drivers/store.h"

namespace arvel::drivers {

struct RedisStoreOptions {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string password;
  int db = 0;
  std::string prefix = "arvel_cache";
  int64_t default_ttl_s = 3600;  // what PUT without ttl gets (Arvel's RedisStore)
  size_t pool_size = 1;
  int64_t connect_timeout_ms = 1000;
  int64_t timeout_ms = 1000;  // a command not answered within it fails, and the store goes down
  bool notifications = true;  // listen for other daemons' writes (client tracking)
  // Connect on first use instead of in Open (implicit stores nobody may ever use).
  bool lazy = false;
};

class RedisStore : public Store, private RedisConnection::CallObserver {
 public:
  RedisStore(std::string name, uv_loop_t* loop, RedisStoreOptions options);
  ~RedisStore() override;

  void Open(DoneFn done) override;
  // Lets the calls in flight finish (each within the command timeout), then disconnects.
  void Close(DoneFn done) override;
  Status Health() const override;
  void WhenIdle(std::function<void()> fn) override;

  // One script call: values and absolute expiries.
  void Read(Space space, std::span<const std::string_view> keys, ReadFn done) override;
  // GET or MGET: values only (expire_at_ms is 0).
  void ReadValues(Space space, std::span<const std::string_view> keys, ReadFn done) override;
  void Execute(Operation operation, OpDone done) override;
  // Fails: every operation runs upstream (Execute); no closure can run between a read and a
  // write on another machine.
  void Update(Space space, std::span<const std::string_view> keys, UpdateFn fn,
              DoneFn done) override;
  void Scan(uint64_t cursor, size_t count, ScanFn done) override;
  void ScanSpace(Space space, uint64_t cursor, size_t count, ScanFn done) override;
  // SCANs this store's kData keys (never DBSIZE: the database is shared).
  void Count(CountFn done) override;
  void RandomKey(KeyFn done) override;
  // SCAN + UNLINK over this store's keys only (never FLUSHDB).
  void Flush(DoneFn done) override;

  const RedisKeys& keys() const { return keys_; }

 private:
  enum class State { kIdle, kOpening, kUp, kDown, kClosing, kClosed };
  class Watchdog;

  // Sends `argv` on the connection for `route`, counting it in flight; `done` gets the reply or
  // an unavailable error. Waits while opening, fails fast while down. With `script`, a NOSCRIPT
  // reply is retried once with EVAL and the source.
  void Call(std::string_view route, std::vector<std::string> argv, const RedisScript* script,
            ReplyFn done);
  void CallOn(size_t connection, std::vector<std::string> argv, const RedisScript* script,
              ReplyFn done);
  // The same for a request formatted already (AppendCommand), without a script.
  void CallFormatted(size_t connection, std::string_view request, ReplyFn done);
  // Runs `send` once the first connection is made (StartConnecting if nobody has yet).
  void Defer(std::function<void()> send);
  // REQUIRES: the call is counted in flight. Finish ends it.
  void SendFormatted(size_t connection, std::string_view request, ReplyFn done);
  void SendScript(size_t connection, std::shared_ptr<std::vector<std::string>> argv,
                  const RedisScript* script, bool retried, ReplyFn done);
  void Finish(const ReplyFn& done, const Status& status, const redisReply* reply);
  // RedisConnection::CallObserver: the end of a call sent by SendFormatted.
  Status CallFailed(const Status& reason) override;
  void CallEnded(bool ok) override;
  // The store's error for a call whose connection failed (taking the store down), or for a call
  // made while it is not up.
  Status Failed(const Status& connection_status);
  Status NotUp() const;
  size_t ConnectionFor(std::string_view route) const;
  Status Unavailable(std::string_view reason) const;
  void CallDone();

  // Connection lifecycle.
  void StartConnecting();
  void Resolved(int status, const std::string& ip);
  void ConnectionReady();
  void MarkDown(const std::string& reason);
  void OnWatchdog();
  void FinishOpening(const Status& status);
  void StartListener();
  // The listener is subscribed as client `client_id`: redirect the first connection's tracking
  // to it (attempt: the connection attempt it belongs to).
  void StartTracking(uint64_t attempt, int64_t client_id);
  void ListenerFailed(const Status& status, bool refused);
  void FinishClose();

  // ReadValues' reply of one GET.
  void ReadOneValue(Space space, const redisReply& reply, const ReadFn& done);

  // Multi-step walks (SCAN pages).
  void ScanPage(Space space, uint64_t cursor, size_t count, ScanFn done);
  void ScanPattern(std::string pattern, uint64_t cursor, size_t count, ScanFn done);
  void CountFrom(uint64_t cursor, int64_t so_far, CountFn done);
  void RandomFrom(uint64_t cursor, KeyFn done);
  // `started`: cursor 0 then means the walk is complete.
  void FlushFrom(uint64_t cursor, bool started, DoneFn done);

  uv_loop_t* loop_;
  RedisStoreOptions options_;
  RedisKeys keys_;
  RedisLogin login_;
  std::vector<std::unique_ptr<RedisConnection>> pool_;
  RedisChangeListener listener_;
  std::unique_ptr<Watchdog> watchdog_;

  State state_ = State::kIdle;
  std::string down_reason_;
  size_t ready_count_ = 0;
  uint64_t attempt_ = 0;  // connection attempts so far; stale callbacks compare it
  bool connecting_ = false;        // an attempt is in progress
  uint64_t attempt_started_ = 0;   // loop time it started
  uint64_t next_retry_ = 0;           // loop time of the next reconnection (or listener) attempt
  int64_t retry_delay_ms_ = 0;
  std::string ip_;                                // resolved address of options_.host
  std::vector<std::function<void()>> deferred_;   // calls waiting for the first connection
  std::string request_;                           // formatting buffer of the calls
  std::vector<DoneFn> open_waiters_;
  size_t in_flight_ = 0;
  std::vector<std::function<void()>> idle_waiters_;
  DoneFn close_done_;
  std::shared_ptr<bool> alive_;  // cleared on destruction, for uv callbacks that outlive us
};

}  // namespace arvel::drivers
