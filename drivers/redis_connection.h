#pragma once
// One hiredis async connection on the daemon's libuv loop (redis_uv_events.h: the commands of a
// loop turn leave in one write at its end, and a dropped connection is noticed at once): a login
// handshake (AUTH, SELECT, then the caller's setup commands such as SCRIPT LOAD) queued ahead of
// everything else, a FIFO of commands in flight (Redis answers in order, so the oldest is at the
// front, and its age is what the command timeout looks at), and a clean failure path: when the
// connection fails, drops or is aborted, every command in flight completes with an error —
// none is ever left hanging.
//
// hiredis 0.14 frees a context itself when the connection fails, and defers a redisAsyncFree
// made inside one of its callbacks; to stay clear of both, the context's `data` (this object) is
// cleared before the context is given up, and the static callbacks ignore a context without it.
//
// Loop thread only. Completions may run inline (Send on a connection that is down).

#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <uv.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace arvel::drivers {

// A reply (valid only during the call), or the error that prevented one (reply == nullptr).
// An error reply of Redis is a reply, with an OK status.
using ReplyFn = std::function<void(const Status& status, const redisReply* reply)>;
// What a subscription delivers: the channel and the payload of each message (valid only during
// the call; a bulk string, or an array for the __redis__:invalidate channel).
using MessageFn = std::function<void(std::string_view channel, const redisReply& payload)>;

// Appends one request to `out` in the form Redis reads (RESP: an array of bulk strings), so
// callers can format into a buffer they reuse: AppendArrayHeader(out, n), then n arguments, each
// AppendBulk(out, text) or, for an argument made of pieces, AppendBulkHeader(out, total size),
// the pieces, and AppendBulkEnd(out).
void AppendArrayHeader(std::string& out, size_t n);
void AppendBulkHeader(std::string& out, size_t size);
inline void AppendBulkEnd(std::string& out) { out.append("\r\n", 2); }
inline void AppendBulk(std::string& out, std::string_view text) {
  AppendBulkHeader(out, text.size());
  out.append(text);
  AppendBulkEnd(out);
}
void AppendCommand(std::string& out, std::span<const std::string> argv);

struct RedisLogin {
  std::string password;  // empty: no AUTH
  int db = 0;
};

class RedisConnection {
 public:
  // Told about the end of every call sent `counted` (the store's bookkeeping of its calls in
  // flight), so that the caller needs no wrapper around each callback.
  class CallObserver {
   public:
    virtual ~CallObserver() = default;
    // What a counted call whose connection failed completes with, given why it failed.
    virtual Status CallFailed(const Status& reason) = 0;
    // After a counted call's callback ran; `ok`: it got a reply.
    virtual void CallEnded(bool ok) = 0;
  };

  explicit RedisConnection(uv_loop_t* loop);
  ~RedisConnection();  // Abort()s
  RedisConnection(const RedisConnection&) = delete;
  RedisConnection& operator=(const RedisConnection&) = delete;

  // Connects to `ip`:`port` and queues the login and `setup` commands. `on_state` runs with OK
  // once every one of them succeeded, and with the reason when the connection fails or drops
  // (at most once per Connect; never after Abort). REQUIRES: !connected().
  void Connect(const std::string& ip, int port, const RedisLogin& login,
               std::vector<std::vector<std::string>> setup, std::function<void(const Status&)> on_state);
  // Sends one command; `done` runs exactly once, with the reply or an error.
  void Send(const std::vector<std::string>& argv, ReplyFn done);
  // The same for a request formatted already (AppendCommand); `request` is copied. A `counted`
  // call's end is reported to the call observer.
  void SendFormatted(std::string_view request, ReplyFn done, bool counted = false);
  void set_call_observer(CallObserver* observer) { observer_ = observer; }
  // SUBSCRIBE `channel`: `on_subscribed` runs once when Redis confirms, `on_message` for every
  // message. Only other subscriptions may follow on this connection.
  void Subscribe(const std::string& channel, std::function<void()> on_subscribed,
                 MessageFn on_message);
  // Drops the connection; commands in flight complete with `reason`. Idempotent.
  void Abort(const Status& reason);

  bool connected() const { return ctx_ != nullptr; }
  bool ready() const { return ready_; }
  // Loop time (uv_now) when Connect started.
  uint64_t connect_started() const { return connect_started_; }
  // Loop time when the oldest unanswered command was sent; 0 when none is.
  uint64_t oldest_sent() const { return pending_.empty() ? 0 : pending_.front().sent; }
  size_t in_flight() const { return pending_.size(); }
  // The error of a connect that failed but that hiredis has not noticed yet (a safety net: the
  // event hooks report a refused connect as soon as the poll does); empty while connecting
  // normally or once connected.
  std::string PendingConnectError() const;

 private:
  struct Pending {
    ReplyFn done;
    uint64_t sent = 0;
    bool counted = false;
  };

  // Runs `pending`'s callback with the reply or the failure, and tells the observer.
  void Complete(Pending& pending, const Status& status, const redisReply* reply);

  static void OnConnect(const redisAsyncContext* ac, int status);
  static void OnDisconnect(const redisAsyncContext* ac, int status);
  static void OnReply(redisAsyncContext* ac, void* reply, void* privdata);
  static void OnSubscription(redisAsyncContext* ac, void* reply, void* privdata);

  // The connection is gone (hiredis is freeing the context): fail everything, tell the owner.
  void Lost(const std::string& reason);
  void FailPending(const Status& reason);
  void HandshakeStep(const Status& status, const redisReply* reply);

  uv_loop_t* loop_;
  redisAsyncContext* ctx_ = nullptr;
  bool ready_ = false;
  uint64_t connect_started_ = 0;
  size_t handshake_left_ = 0;
  std::function<void(const Status&)> on_state_;
  std::deque<Pending> pending_;
  std::function<void()> on_subscribed_;
  MessageFn on_message_;
  std::string request_;  // Send's formatting buffer
  CallObserver* observer_ = nullptr;
  bool in_callback_ = false;  // a reply's completion runs (hiredis is on the stack)
};

}  // namespace arvel::drivers
