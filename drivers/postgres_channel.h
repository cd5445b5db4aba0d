#pragma once
// PostgresChangeChannel: how daemons sharing a PostgreSQL `database` store tell each other which
// keys they changed, through LISTEN/NOTIFY on one channel (drivers/postgres_store.h names it
// after the table). One connection of its own, on a thread of its own, both listens and sends:
// writers hand it payloads (Announce), it sends them in batches, and it hands the payloads other
// sessions sent to the loop thread. Design notes in postgres_channel.cc.

#include <uv.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "drivers/store_types.h"

typedef struct pg_conn PGconn;

namespace arvel::drivers {

// What a payload on the channel says: `key` of `space` changed in the store with `prefix`, or,
// with `all`, every key of that store (a flush).
struct ChangeMessage {
  bool all = false;
  Space space = Space::kData;
  std::string prefix;
  std::string key;
};
// "SPACE:N:PREFIXKEY": SPACE a digit, or '*' for a flush (no key); N the prefix's length in
// bytes. A payload is text, so the key is escaped into printable ASCII: bytes 0x20-0x7e as they
// are except '\', which doubles, and any other byte as \xHH.
std::string EncodeChange(Space space, std::string_view prefix, std::string_view key);
std::string EncodeFlush(std::string_view prefix);
// nullopt for a payload the encoders did not make.
std::optional<ChangeMessage> DecodeChange(std::string_view payload);

class PostgresChangeChannel {
 public:
  struct Callbacks {
    // A payload another session sent on the channel (never one of this channel's own).
    std::function<void(std::string_view payload)> message;
    // The channel is listening (true), or lost its connection and is reconnecting (false):
    // changes made meanwhile were not heard of.
    std::function<void(bool listening)> listening;
  };

  // PostgreSQL refuses a NOTIFY payload of 8000 bytes or more.
  static constexpr size_t kMaxPayload = 7999;
  // Payloads waiting to be sent at most; more are dropped (listeners re-check on a timer anyway).
  static constexpr size_t kMaxQueued = 100000;

  // `url` goes to libpq as is; `channel` is the channel's name (at most 63 bytes).
  PostgresChangeChannel(uv_loop_t* loop, std::string url, std::string channel, Callbacks callbacks);
  // REQUIRES: Stop completed, or Start never called.
  ~PostgresChangeChannel();
  PostgresChangeChannel(const PostgresChangeChannel&) = delete;
  PostgresChangeChannel& operator=(const PostgresChangeChannel&) = delete;

  // Starts the thread: connect, LISTEN, and on any failure reconnect with backoff. Loop thread;
  // a second call does nothing.
  void Start();
  // Stops the thread and releases the loop handle; `done` then runs on the loop thread. Callbacks
  // never run after Stop was called.
  void Stop(std::function<void()> done);
  // Any thread. Sends `payload` on the channel soon, after whatever was announced before it,
  // batched with others into one NOTIFY transaction. Dropped while the channel is not
  // listening, when it is longer than kMaxPayload, or when kMaxQueued payloads are waiting.
  void Announce(std::string payload);

  // Payloads dropped so far (not listening, too long, queue full), for tests and INFO.
  uint64_t dropped() const { return dropped_.load(); }

 private:
  struct Event {
    bool is_state = false;  // a change of `listening`, else a message
    bool listening = false;
    std::string payload;
  };
  enum class Wake { kReady, kWoken, kTimeout };

  void Run();
  // A connection that LISTENs, or nullptr and why not (failed, or stopping).
  PGconn* Connect(std::string* error);
  // Listens and sends until the connection breaks or Stop is called.
  void Serve(PGconn* conn);
  // Sends the next batch of payloads, if any; true when a NOTIFY is now in flight.
  bool SendBatch(PGconn* conn);
  // Sends a query with `send` (a PQsend* call) and reads it to completion; false on any failure.
  bool Exec(PGconn* conn, const std::function<int()>& send);
  // Waits until `fd` is ready for `events`, the channel is woken (Announce, Stop), or
  // `timeout_ms` passes (-1: no limit).
  Wake WaitFor(int fd, short events, int timeout_ms);
  void WakeThread();
  bool stopping() const { return stopping_.load(); }
  // Hands an event to the loop thread.
  void Post(Event event);
  static void OnAsync(uv_async_t* async);
  void Deliver();

  uv_loop_t* const loop_;
  const std::string url_;
  const std::string channel_;
  const Callbacks callbacks_;

  uv_async_t* async_ = nullptr;  // loop thread; freed once closed
  bool stopped_ = false;         // loop thread: Stop was called
  std::thread thread_;
  int wake_fd_ = -1;  // eventfd: Announce and Stop wake the thread
  std::atomic<bool> stopping_{false};
  std::atomic<bool> listening_{false};
  std::atomic<uint64_t> dropped_{0};

  std::mutex mu_;
  std::vector<std::string> outbox_;  // GUARDED_BY(mu_): payloads to send
  std::deque<Event> inbox_;          // GUARDED_BY(mu_): events for the loop thread
};

}  // namespace arvel::drivers
