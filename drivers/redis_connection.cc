#include "drivers/redis_connection.h"

#include <hiredis/sds.h>
#include <sys/socket.h>

#include <charconv>
#include <cstring>
#include <utility>

#include "drivers/redis_reply_pool.h"
#include "drivers/redis_uv_events.h"

namespace arvel::drivers {

namespace {

// Buffered requests beyond this are written at once rather than at the end of the loop turn:
// about what Redis reads in one go, so it works on one part while we read the next.
constexpr size_t kEagerWriteBytes = 16 * 1024;

RedisConnection* Owner(const redisAsyncContext* ac) {
  return static_cast<RedisConnection*>(ac->data);
}

std::string ErrorText(const redisAsyncContext* ac, std::string_view fallback) {
  if (ac->errstr != nullptr && ac->errstr[0] != '\0') return ac->errstr;
  return std::string(fallback);
}

void AppendNumberLine(std::string& out, char type, size_t n) {
  char digits[24];
  digits[0] = type;
  char* end = std::to_chars(digits + 1, digits + sizeof(digits) - 2, n).ptr;
  *end++ = '\r';
  *end++ = '\n';
  out.append(digits, static_cast<size_t>(end - digits));
}

}  // namespace

void AppendArrayHeader(std::string& out, size_t n) { AppendNumberLine(out, '*', n); }

void AppendBulkHeader(std::string& out, size_t size) { AppendNumberLine(out, '$', size); }

void AppendCommand(std::string& out, std::span<const std::string> argv) {
  AppendArrayHeader(out, argv.size());
  for (const std::string& arg : argv) AppendBulk(out, arg);
}

RedisConnection::RedisConnection(uv_loop_t* loop) : loop_(loop) {}

RedisConnection::~RedisConnection() { Abort(Status::Error("connection closed")); }

void RedisConnection::Connect(const std::string& ip, int port, const RedisLogin& login,
                              std::vector<std::vector<std::string>> setup,
                              std::function<void(const Status&)> on_state) {
  on_state_ = std::move(on_state);
  ready_ = false;
  connect_started_ = uv_now(loop_);
  redisAsyncContext* ac = redisAsyncConnect(ip.c_str(), port);
  if (ac == nullptr || ac->err != 0) {
    std::string reason = ac ? ErrorText(ac, "connect failed") : "out of memory";
    if (ac) redisAsyncFree(ac);
    auto on_failed = std::move(on_state_);
    if (on_failed) on_failed(Status::Error(reason));
    return;
  }
  if (AttachToLoop(ac, loop_) != REDIS_OK) {
    redisAsyncFree(ac);
    auto on_failed = std::move(on_state_);
    if (on_failed) on_failed(Status::Error("cannot attach to the event loop"));
    return;
  }
  ac->data = this;
  ctx_ = ac;
  // hiredis frees its read buffer whenever it is empty and above maxbuf (16 kB by default),
  // then grows a new one: a large allocation per read under load. Keep up to 1 MB.
  if (ac->c.reader != nullptr) {
    ac->c.reader->maxbuf = 1 << 20;
    UsePooledReplies(ac->c.reader);
  }
  redisAsyncSetConnectCallback(ac, OnConnect);
  redisAsyncSetDisconnectCallback(ac, OnDisconnect);
  // hiredis queues these until the socket connects; they go out ahead of anything sent later.
  if (!login.password.empty()) setup.insert(setup.begin(), {"AUTH", login.password});
  if (login.db != 0) {
    setup.insert(setup.begin() + (login.password.empty() ? 0 : 1),
                 {"SELECT", std::to_string(login.db)});
  }
  handshake_left_ = setup.size();
  if (setup.empty()) {
    // Nothing to confirm the connection with: PING, so "ready" means Redis answered.
    setup.push_back({"PING"});
    handshake_left_ = 1;
  }
  for (const auto& command : setup) {
    Send(command, [this](const Status& status, const redisReply* reply) {
      HandshakeStep(status, reply);
    });
  }
}

void RedisConnection::HandshakeStep(const Status& status, const redisReply* reply) {
  if (!status.ok()) return;  // the connection failed: Lost() reports it
  if (reply->type == REDIS_REPLY_ERROR) {
    // AUTH refused, no such db…: this connection is of no use.
    std::string reason(reply->str, reply->len);
    auto on_state = std::move(on_state_);
    Abort(Status::Error(reason));
    if (on_state) on_state(Status::Error(reason));
    return;
  }
  if (--handshake_left_ > 0) return;
  ready_ = true;
  if (on_state_) on_state_(Status::Ok());
}

void RedisConnection::Send(const std::vector<std::string>& argv, ReplyFn done) {
  request_.clear();
  AppendCommand(request_, argv);
  SendFormatted(request_, std::move(done));
}

void RedisConnection::SendFormatted(std::string_view request, ReplyFn done, bool counted) {
  Pending pending{std::move(done), uv_now(loop_), counted};
  if (ctx_ == nullptr) return Complete(pending, Status::Error("not connected"), nullptr);
  // hiredis appends the bytes to its output buffer; they leave with the loop turn's other
  // commands (redis_uv_events.h).
  if (redisAsyncFormattedCommand(ctx_, OnReply, nullptr, request.data(), request.size()) !=
      REDIS_OK) {
    return Complete(pending, Status::Error("connection closing"), nullptr);
  }
  pending_.push_back(std::move(pending));
  if (!in_callback_ && sdslen(ctx_->c.obuf) >= kEagerWriteBytes) WriteNow(ctx_);
}

void RedisConnection::Subscribe(const std::string& channel, std::function<void()> on_subscribed,
                                MessageFn on_message) {
  if (ctx_ == nullptr) return;
  on_subscribed_ = std::move(on_subscribed);
  on_message_ = std::move(on_message);
  request_.clear();
  AppendCommand(request_, std::vector<std::string>{"SUBSCRIBE", channel});
  redisAsyncFormattedCommand(ctx_, OnSubscription, nullptr, request_.data(), request_.size());
}

std::string RedisConnection::PendingConnectError() const {
  if (ctx_ == nullptr || (ctx_->c.flags & REDIS_CONNECTED) != 0) return {};
  int error = 0;
  socklen_t size = sizeof(error);
  if (getsockopt(ctx_->c.fd, SOL_SOCKET, SO_ERROR, &error, &size) != 0 || error == 0) return {};
  return std::strerror(error);
}

void RedisConnection::Abort(const Status& reason) {
  ready_ = false;
  on_state_ = nullptr;
  on_subscribed_ = nullptr;
  on_message_ = nullptr;
  if (redisAsyncContext* ac = std::exchange(ctx_, nullptr)) {
    ac->data = nullptr;  // its remaining callbacks (replies with NULL) are ignored
    redisAsyncFree(ac);  // deferred by hiredis when inside one of its callbacks
  }
  FailPending(reason);
}

void RedisConnection::FailPending(const Status& reason) {
  std::deque<Pending> failed;
  failed.swap(pending_);
  for (Pending& pending : failed) Complete(pending, reason, nullptr);
}

void RedisConnection::Complete(Pending& pending, const Status& status, const redisReply* reply) {
  if (!pending.counted || observer_ == nullptr) return pending.done(status, reply);
  CallObserver* observer = observer_;  // `this` may be aborted by what follows, never freed
  if (status.ok()) {
    pending.done(status, reply);
  } else {
    pending.done(observer->CallFailed(status), nullptr);
  }
  observer->CallEnded(status.ok());
}

void RedisConnection::Lost(const std::string& reason) {
  if (ctx_ != nullptr) {
    ctx_->data = nullptr;  // hiredis frees it: never touch it again
    ctx_ = nullptr;
  }
  ready_ = false;
  auto on_state = std::move(on_state_);
  on_subscribed_ = nullptr;
  on_message_ = nullptr;
  FailPending(Status::Error(reason));
  if (on_state) on_state(Status::Error(reason));
}

void RedisConnection::OnConnect(const redisAsyncContext* ac, int status) {
  RedisConnection* self = Owner(ac);
  if (self == nullptr || status == REDIS_OK) return;
  self->Lost(ErrorText(ac, "connect failed"));
}

void RedisConnection::OnDisconnect(const redisAsyncContext* ac, int status) {
  RedisConnection* self = Owner(ac);
  if (self == nullptr) return;
  self->Lost(ErrorText(ac, "connection lost"));
}

void RedisConnection::OnReply(redisAsyncContext* ac, void* reply, void*) {
  RedisConnection* self = Owner(ac);
  if (self == nullptr) return;
  if (reply == nullptr) {
    // hiredis is freeing the context after an error: the connection is gone.
    self->Lost(ErrorText(ac, "connection lost"));
    return;
  }
  if (self->pending_.empty()) return;
  Pending pending = std::move(self->pending_.front());
  self->pending_.pop_front();
  const bool was_in_callback = std::exchange(self->in_callback_, true);
  self->Complete(pending, Status::Ok(), static_cast<const redisReply*>(reply));
  self->in_callback_ = was_in_callback;
}

void RedisConnection::OnSubscription(redisAsyncContext* ac, void* reply, void*) {
  RedisConnection* self = Owner(ac);
  if (self == nullptr) return;
  if (reply == nullptr) return self->Lost(ErrorText(ac, "connection lost"));
  const auto* r = static_cast<const redisReply*>(reply);
  if (r->type != REDIS_REPLY_ARRAY || r->elements < 3) return;
  if (r->element[0]->type != REDIS_REPLY_STRING || r->element[1]->type != REDIS_REPLY_STRING) {
    return;
  }
  std::string_view kind(r->element[0]->str, r->element[0]->len);
  if (kind == "subscribe") {
    if (auto on_subscribed = std::move(self->on_subscribed_)) on_subscribed();
  } else if (kind == "message" && self->on_message_) {
    self->on_message_(std::string_view(r->element[1]->str, r->element[1]->len), *r->element[2]);
  }
}

}  // namespace arvel::drivers
