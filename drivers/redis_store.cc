#include "drivers/redis_store.h"

#include <arpa/inet.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <functional>
#include <random>
#include <utility>

#include "common/errors.h"
#include "common/signals.h"
#include "drivers/redis_commands.h"

namespace arvel::drivers {

namespace {

constexpr int64_t kFirstRetryMs = 100;
constexpr int64_t kMaxRetryMs = 2000;
constexpr int64_t kListenerRetryMs = 1000;
constexpr size_t kWalkCount = 1000;  // SCAN COUNT of Count and Flush

bool CountsHits(Space space) { return space == Space::kData || space == Space::kTagged; }

bool IsNumericHost(const std::string& host) {
  unsigned char buffer[sizeof(in6_addr)];
  return inet_pton(AF_INET, host.c_str(), buffer) == 1 ||
         inet_pton(AF_INET6, host.c_str(), buffer) == 1;
}

std::string ReplyText(const redisReply& reply) { return std::string(reply.str, reply.len); }

// A SCAN reply's cursor and keys; false when it has another shape.
bool ParseScan(const redisReply& reply, uint64_t* cursor, const redisReply** keys) {
  if (reply.type != REDIS_REPLY_ARRAY || reply.elements != 2 ||
      reply.element[0]->type != REDIS_REPLY_STRING ||
      reply.element[1]->type != REDIS_REPLY_ARRAY) {
    return false;
  }
  *cursor = std::strtoull(reply.element[0]->str, nullptr, 10);
  *keys = reply.element[1];
  return true;
}

}  // namespace

// The periodic check behind timeouts and reconnection. Its handle is freed by its own close
// callback, so the store may go away at any time.
class RedisStore::Watchdog {
 public:
  Watchdog(uv_loop_t* loop, RedisStore* store, uint64_t interval_ms) : timer_(new uv_timer_t) {
    uv_timer_init(loop, timer_);
    timer_->data = store;
    uv_timer_start(timer_, Fire, interval_ms, interval_ms);
  }
  ~Watchdog() {
    timer_->data = nullptr;
    uv_close(reinterpret_cast<uv_handle_t*>(timer_),
             [](uv_handle_t* handle) { delete reinterpret_cast<uv_timer_t*>(handle); });
  }

 private:
  static void Fire(uv_timer_t* timer) {
    if (auto* store = static_cast<RedisStore*>(timer->data)) store->OnWatchdog();
  }
  uv_timer_t* timer_;
};

RedisStore::RedisStore(std::string name, uv_loop_t* loop, RedisStoreOptions options)
    : Store(std::move(name), "redis"),
      loop_(loop),
      options_(std::move(options)),
      keys_(options_.prefix),
      login_{options_.password, options_.db},
      listener_(
          loop, keys_, this->name(),
          [this](Space space, std::string_view key) { KeyWritten(space, key); },
          [this] { AllKeysWritten(); }),
      alive_(std::make_shared<bool>(true)) {
  capabilities_.shared = true;
  capabilities_.notifies_remote_changes = false;  // until the listener is subscribed
  capabilities_.default_put_ttl_s = options_.default_ttl_s;
  options_.pool_size = std::max<size_t>(1, options_.pool_size);
  // One connection applies the calls in the order they are sent (Redis runs a connection's
  // commands in order); several spread keys over connections that overtake each other.
  capabilities_.keeps_order = options_.pool_size == 1;
  for (size_t i = 0; i < options_.pool_size; ++i) {
    pool_.push_back(std::make_unique<RedisConnection>(loop));
    pool_.back()->set_call_observer(this);
  }
  const int64_t shortest = std::min(options_.timeout_ms, options_.connect_timeout_ms);
  watchdog_ = std::make_unique<Watchdog>(loop, this, std::clamp<int64_t>(shortest / 4, 5, 100));
}

RedisStore::~RedisStore() {
  if (state_ == State::kClosed) return;  // Close released everything (the loop may be gone)
  state_ = State::kClosed;
  watchdog_.reset();
  listener_.Stop();
  for (auto& connection : pool_) connection->Abort(Status::Error("store closed"));
}

Status RedisStore::Unavailable(std::string_view reason) const {
  return Status::Error(errors::StoreUnavailable(name(), reason));
}

Status RedisStore::Health() const {
  switch (state_) {
    case State::kDown:
      return Unavailable(down_reason_);
    case State::kClosing:
    case State::kClosed:
      return Unavailable("closed");
    default:
      return Status::Ok();
  }
}

// ---- Lifecycle

void RedisStore::Open(DoneFn done) {
  if (options_.lazy) return done(Status::Ok());
  if (state_ == State::kUp) return done(Status::Ok());
  if (state_ == State::kDown) return done(Unavailable(down_reason_));
  if (done) open_waiters_.push_back(std::move(done));
  if (state_ == State::kIdle) {
    state_ = State::kOpening;
    StartConnecting();
  }
}

void RedisStore::StartConnecting() {
  const uint64_t attempt = ++attempt_;
  ready_count_ = 0;
  connecting_ = true;
  attempt_started_ = uv_now(loop_);
  for (auto& connection : pool_) connection->Abort(Status::Error("reconnecting"));
  listener_.Stop();
  if (IsNumericHost(options_.host)) return Resolved(0, options_.host);
  struct Request {
    uv_getaddrinfo_t req;
    std::weak_ptr<bool> alive;
    RedisStore* store;
    uint64_t attempt;
  };
  auto* request = new Request{{}, alive_, this, attempt};
  request->req.data = request;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  const LoopSignalsBlocked only_the_loop_gets_signals;  // the first call starts libuv's threadpool
  int rc = uv_getaddrinfo(
      loop_, &request->req,
      [](uv_getaddrinfo_t* req, int status, addrinfo* result) {
        std::unique_ptr<Request> request(static_cast<Request*>(req->data));
        std::string ip;
        if (status == 0 && result != nullptr) {
          char text[INET6_ADDRSTRLEN] = {};
          const void* addr =
              result->ai_family == AF_INET6
                  ? static_cast<const void*>(
                        &reinterpret_cast<sockaddr_in6*>(result->ai_addr)->sin6_addr)
                  : static_cast<const void*>(
                        &reinterpret_cast<sockaddr_in*>(result->ai_addr)->sin_addr);
          inet_ntop(result->ai_family, addr, text, sizeof(text));
          ip = text;
        }
        uv_freeaddrinfo(result);
        if (request->alive.expired() || request->attempt != request->store->attempt_) return;
        request->store->Resolved(status, ip);
      },
      options_.host.c_str(), nullptr, &hints);
  if (rc != 0) {
    delete request;
    Resolved(rc, "");
  }
}

void RedisStore::Resolved(int status, const std::string& ip) {
  if (status != 0 || ip.empty()) {
    return MarkDown("cannot resolve '" + options_.host + "': " +
                    (status != 0 ? uv_strerror(status) : "no address"));
  }
  ip_ = ip;
  std::vector<std::vector<std::string>> setup;
  for (const RedisScript& script : AllScripts()) setup.push_back({"SCRIPT", "LOAD", script.source});
  const uint64_t attempt = attempt_;
  for (auto& connection : pool_) {
    connection->Connect(ip_, options_.port, login_, setup, [this, attempt](const Status& status) {
      if (attempt != attempt_) return;
      if (status.ok()) return ConnectionReady();
      MarkDown(status.message());
    });
    if (attempt != attempt_) return;  // failed at once: the store is down already
  }
}

void RedisStore::ConnectionReady() {
  if (++ready_count_ < pool_.size()) return;
  connecting_ = false;
  retry_delay_ms_ = 0;
  if (state_ == State::kOpening) {
    state_ = State::kUp;
    FinishOpening(Status::Ok());
  } else if (state_ == State::kDown) {
    state_ = State::kUp;
    spdlog::info("store '{}' is available again", name());
  }
  StartListener();
}

void RedisStore::FinishOpening(const Status& status) {
  auto deferred = std::move(deferred_);
  deferred_.clear();
  for (auto& call : deferred) call();  // each sends, or fails now that the store is down
  auto waiters = std::move(open_waiters_);
  open_waiters_.clear();
  for (auto& done : waiters) done(status);
}

void RedisStore::StartListener() {
  if (!options_.notifications || state_ != State::kUp) return;
  const uint64_t attempt = attempt_;
  listener_.Start(ip_, options_.port, login_,
                  [this, attempt](const Status& status, bool refused, int64_t client_id) {
                    if (status.ok()) return StartTracking(attempt, client_id);
                    ListenerFailed(status, refused);
                  });
}

void RedisStore::StartTracking(uint64_t attempt, int64_t client_id) {
  // On the first data connection: after tracking is on, Redis tells the listener about every
  // other connection's writes, and leaves out this one's (NOLOOP). Counted calls, so Close
  // waits for them and a store going down fails them.
  auto commands = listener_.TrackingCommands(client_id);
  CallOn(0, std::move(commands[0]), nullptr, [](const Status&, const redisReply*) {});
  CallOn(0, std::move(commands[1]), nullptr,
         [this, attempt](const Status& status, const redisReply* reply) {
           if (attempt != attempt_ || !listener_.subscribed()) return;  // superseded
           if (!status.ok()) return;  // the store went down; it starts a new listener once up
           if (reply->type == REDIS_REPLY_ERROR) {
             spdlog::warn("store '{}': CLIENT TRACKING refused ({}); waits across daemons poll",
                          name(), ReplyText(*reply));
             listener_.Stop();
             return ListenerFailed(Status::Error("change notifications unavailable"), true);
           }
           capabilities_.notifies_remote_changes = true;
         });
}

void RedisStore::ListenerFailed(const Status& status, bool refused) {
  capabilities_.notifies_remote_changes = false;
  if (!refused) spdlog::debug("store '{}': change listener: {}", name(), status.message());
  next_retry_ = uv_now(loop_) + kListenerRetryMs;
  if (refused) options_.notifications = false;  // not ours to use: waits poll instead
}

void RedisStore::MarkDown(const std::string& reason) {
  if (state_ == State::kClosed) return;
  stats_.errors++;
  attempt_++;  // ignore whatever the abandoned attempt still reports
  connecting_ = false;
  capabilities_.notifies_remote_changes = false;
  listener_.Stop();
  const bool was_opening = state_ == State::kOpening;
  if (state_ != State::kClosing) {
    if (state_ != State::kDown) spdlog::error("store '{}' unavailable: {}", name(), reason);
    state_ = State::kDown;
    down_reason_ = reason;
    retry_delay_ms_ = std::clamp(retry_delay_ms_ * 2, kFirstRetryMs, kMaxRetryMs);
    next_retry_ = uv_now(loop_) + retry_delay_ms_;
  }
  for (auto& connection : pool_) connection->Abort(Status::Error(reason));
  if (was_opening) FinishOpening(Unavailable(reason));
}

void RedisStore::OnWatchdog() {
  const uint64_t now = uv_now(loop_);
  if (connecting_) {
    // Resolving, connecting, logging in and loading scripts, all within the connect timeout.
    if (now - attempt_started_ > static_cast<uint64_t>(options_.connect_timeout_ms)) {
      return MarkDown("connect timeout");
    }
    for (const auto& connection : pool_) {
      std::string error = connection->PendingConnectError();
      if (!error.empty()) return MarkDown(error);
    }
  } else if (state_ == State::kDown) {
    if (now >= next_retry_) StartConnecting();
    return;
  }
  for (const auto& connection : pool_) {
    if (connection->ready() && connection->in_flight() > 0 &&
        now - connection->oldest_sent() > static_cast<uint64_t>(options_.timeout_ms)) {
      return MarkDown("timeout");
    }
  }
  if (state_ != State::kUp || !options_.notifications) return;
  const RedisConnection& subscriber = listener_.connection();
  if (subscriber.connected() && !capabilities_.notifies_remote_changes &&
      now - subscriber.connect_started() > static_cast<uint64_t>(options_.connect_timeout_ms)) {
    listener_.Stop();
    capabilities_.notifies_remote_changes = false;
    next_retry_ = now + kListenerRetryMs;
  } else if (!subscriber.connected() && now >= next_retry_) {
    StartListener();
  }
}

void RedisStore::Close(DoneFn done) {
  if (state_ == State::kClosed) return done(Status::Ok());
  close_done_ = std::move(done);
  const bool was_opening = state_ == State::kOpening || state_ == State::kIdle;
  state_ = State::kClosing;
  if (was_opening) FinishOpening(Unavailable("closed"));
  WhenIdle([this] { FinishClose(); });
}

void RedisStore::FinishClose() {
  state_ = State::kClosed;
  attempt_++;
  connecting_ = false;
  listener_.Stop();
  for (auto& connection : pool_) connection->Abort(Status::Error("store closed"));
  watchdog_.reset();
  capabilities_.notifies_remote_changes = false;
  if (auto done = std::move(close_done_)) done(Status::Ok());
}

void RedisStore::WhenIdle(std::function<void()> fn) {
  // The server's gate keeps new calls away while it waits, so "nothing in flight" comes.
  if (in_flight_ == 0) return fn();
  idle_waiters_.push_back(std::move(fn));
}

void RedisStore::CallDone() {
  if (--in_flight_ > 0 || idle_waiters_.empty()) return;
  auto waiters = std::move(idle_waiters_);
  idle_waiters_.clear();
  for (auto& fn : waiters) fn();
}

// ---- Calls

size_t RedisStore::ConnectionFor(std::string_view route) const {
  if (pool_.size() == 1) return 0;
  return std::hash<std::string_view>{}(route) % pool_.size();
}

void RedisStore::Call(std::string_view route, std::vector<std::string> argv,
                      const RedisScript* script, ReplyFn done) {
  CallOn(ConnectionFor(route), std::move(argv), script, std::move(done));
}

void RedisStore::CallOn(size_t connection, std::vector<std::string> argv, const RedisScript* script,
                        ReplyFn done) {
  if (script == nullptr) {
    request_.clear();
    AppendCommand(request_, argv);
    return CallFormatted(connection, request_, std::move(done));
  }
  ++in_flight_;
  auto kept = std::make_shared<std::vector<std::string>>(std::move(argv));  // for a NOSCRIPT
  if (state_ == State::kIdle || state_ == State::kOpening) {
    return Defer([this, connection, kept, script, done = std::move(done)]() mutable {
      SendScript(connection, std::move(kept), script, false, std::move(done));
    });
  }
  SendScript(connection, std::move(kept), script, false, std::move(done));
}

void RedisStore::CallFormatted(size_t connection, std::string_view request, ReplyFn done) {
  ++in_flight_;
  if (state_ == State::kIdle || state_ == State::kOpening) {
    return Defer(
        [this, connection, request = std::string(request), done = std::move(done)]() mutable {
          SendFormatted(connection, request, std::move(done));
        });
  }
  SendFormatted(connection, request, std::move(done));
}

void RedisStore::Defer(std::function<void()> send) {
  deferred_.push_back(std::move(send));
  if (state_ == State::kIdle) {
    state_ = State::kOpening;
    StartConnecting();
  }
}

void RedisStore::Finish(const ReplyFn& done, const Status& status, const redisReply* reply) {
  if (!status.ok()) stats_.errors++;
  done(status, reply);
  CallDone();
}

Status RedisStore::Failed(const Status& connection_status) {
  if (state_ == State::kUp) MarkDown(connection_status.message());
  return Unavailable(connection_status.message());
}

Status RedisStore::NotUp() const {
  return Unavailable(state_ == State::kDown ? down_reason_ : "closed");
}

void RedisStore::SendFormatted(size_t connection, std::string_view request, ReplyFn done) {
  if (state_ != State::kUp) return Finish(done, NotUp(), nullptr);
  // Counted: the connection tells us when it ends (CallFailed, CallEnded), so `done` goes
  // through without a wrapper.
  pool_[connection]->SendFormatted(request, std::move(done), /*counted=*/true);
}

Status RedisStore::CallFailed(const Status& reason) { return Failed(reason); }

void RedisStore::CallEnded(bool ok) {
  if (!ok) stats_.errors++;
  CallDone();
}

void RedisStore::SendScript(size_t connection, std::shared_ptr<std::vector<std::string>> argv,
                            const RedisScript* script, bool retried, ReplyFn done) {
  if (state_ != State::kUp) return Finish(done, NotUp(), nullptr);
  pool_[connection]->Send(*argv, [this, connection, argv, script, retried, done = std::move(done)](
                                     const Status& status, const redisReply* reply) mutable {
    if (!status.ok()) return Finish(done, Failed(status), nullptr);
    if (reply->type == REDIS_REPLY_ERROR && !retried &&
        IsNoScript(std::string_view(reply->str, reply->len))) {
      // The server lost its scripts (SCRIPT FLUSH; a restart drops the connection and the
      // scripts are loaded again at connect): send the source this once.
      (*argv)[0] = "EVAL";
      (*argv)[1] = script->source;
      return SendScript(connection, std::move(argv), script, true, std::move(done));
    }
    Finish(done, Status::Ok(), reply);
  });
}

// ---- Reads

void RedisStore::Read(Space space, std::span<const std::string_view> keys, ReadFn done) {
  if (keys.empty()) return done(Status::Ok(), {});
  std::vector<std::string> upstream;
  upstream.reserve(keys.size());
  for (std::string_view key : keys) upstream.push_back(keys_.Key(space, key));
  const RedisScript& script = Script(ScriptId::kRead);
  Call(keys[0], EvalShaArgv(script, std::move(upstream), {}), &script,
       [this, space, n = keys.size(), done = std::move(done)](const Status& status,
                                                               const redisReply* reply) {
         if (!status.ok()) return done(status, {});
         if (reply->type == REDIS_REPLY_ERROR) {
           return done(ErrorReplyStatus(ReplyText(*reply), name()), {});
         }
         if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 * n) {
           return done(Status::Error("ERR unexpected reply from redis"), {});
         }
         std::vector<Entry> entries(n);
         std::vector<const Entry*> found(n, nullptr);
         for (size_t i = 0; i < n; ++i) {
           const redisReply* value = reply->element[2 * i];
           if (value->type == REDIS_REPLY_STRING) {
             entries[i].value.assign(value->str, value->len);
             entries[i].expire_at_ms =
                 std::max<int64_t>(0, ReplyInteger(*reply->element[2 * i + 1]).value_or(0));
             found[i] = &entries[i];
           }
           if (CountsHits(space)) ++(found[i] ? stats_.hits : stats_.misses);
         }
         done(Status::Ok(), found);
       });
}

void RedisStore::ReadValues(Space space, std::span<const std::string_view> keys, ReadFn done) {
  if (keys.empty()) return done(Status::Ok(), {});
  // GET/MGET formatted in place: no argument strings on the way (the hottest path of all).
  request_.clear();
  AppendArrayHeader(request_, keys.size() + 1);
  AppendBulk(request_, keys.size() == 1 ? "GET" : "MGET");
  for (std::string_view key : keys) {
    AppendBulkHeader(request_, keys_.base().size() + 2 + key.size());
    request_ += keys_.base();
    request_ += SpaceTag(space);
    request_ += ':';
    request_ += key;
    AppendBulkEnd(request_);
  }
  CallFormatted(ConnectionFor(keys[0]), request_,
                [this, space, n = keys.size(), done = std::move(done)](const Status& status,
                                                                       const redisReply* reply) {
                  if (!status.ok()) return done(status, {});
                  if (reply->type == REDIS_REPLY_ERROR) {
                    return done(ErrorReplyStatus(ReplyText(*reply), name()), {});
                  }
                  const bool many = reply->type == REDIS_REPLY_ARRAY;
                  if ((many && reply->elements != n) || (!many && n != 1)) {
                    return done(Status::Error("ERR unexpected reply from redis"), {});
                  }
                  if (!many) return ReadOneValue(space, *reply, done);
                  std::vector<Entry> entries(n);
                  std::vector<const Entry*> found(n, nullptr);
                  for (size_t i = 0; i < n; ++i) {
                    const redisReply* value = reply->element[i];
                    if (value->type == REDIS_REPLY_STRING) {
                      entries[i].value.assign(value->str, value->len);
                      found[i] = &entries[i];
                    }
                    if (CountsHits(space)) ++(found[i] ? stats_.hits : stats_.misses);
                  }
                  done(Status::Ok(), found);
                });
}

void RedisStore::ReadOneValue(Space space, const redisReply& reply, const ReadFn& done) {
  Entry entry;
  const Entry* found = nullptr;
  if (reply.type == REDIS_REPLY_STRING) {
    entry.value.assign(reply.str, reply.len);
    found = &entry;
  }
  if (CountsHits(space)) ++(found ? stats_.hits : stats_.misses);
  done(Status::Ok(), std::span<const Entry* const>(&found, 1));
}

// ---- Writes

void RedisStore::Execute(Operation operation, OpDone done) {
  Result<UpstreamCall> call = TranslateOperation(operation, keys_, NowMs());
  if (!call.ok()) return done(call.status(), OpResult{});
  size_t connection = 0;
  if (pool_.size() > 1) {
    const std::vector<std::string_view> keys = KeysOf(operation);
    connection = ConnectionFor(keys.empty() ? std::string_view() : keys[0]);
  }
  CallOn(connection, std::move(call->argv), call->script,
         [this, op = std::move(operation), decode = std::move(call->decode),
          done = std::move(done)](const Status& status, const redisReply* reply) {
           if (!status.ok()) return done(status, OpResult{});
           if (reply->type == REDIS_REPLY_ERROR) {
             return done(ErrorReplyStatus(ReplyText(*reply), name()), OpResult{});
           }
           OpResult result;
           Status decoded = decode(*reply, result);
           if (!decoded.ok()) return done(decoded, OpResult{});
           if (MayHaveChanged(op, result)) {
             stats_.writes++;
             const Space space = SpaceOf(op);
             for (std::string_view key : KeysItMayChange(op)) KeyWritten(space, key);
           }
           done(Status::Ok(), std::move(result));
         });
}

void RedisStore::Update(Space, std::span<const std::string_view>, UpdateFn, DoneFn done) {
  done(Status::Error("ERR the redis driver executes operations, not closures"));
}

// ---- Walks

void RedisStore::Scan(uint64_t cursor, size_t count, ScanFn done) {
  ScanSpace(Space::kData, cursor, count, std::move(done));
}

void RedisStore::ScanSpace(Space space, uint64_t cursor, size_t count, ScanFn done) {
  // Housekeeping walks (the TagReclaimer's) must not wake a lazy store nobody has used.
  if (state_ == State::kIdle && space != Space::kData) return done(Status::Ok(), 0, {});
  ScanPage(space, cursor, count, std::move(done));
}

void RedisStore::ScanPage(Space space, uint64_t cursor, size_t count, ScanFn done) {
  ScanPattern(keys_.Pattern(space), cursor, count,
              [this, space, done = std::move(done)](const Status& status, uint64_t next,
                                                     std::vector<std::string> upstream) mutable {
                std::vector<std::string> keys;
                keys.reserve(upstream.size());
                for (const std::string& key : upstream) {
                  auto parsed = keys_.Parse(key);
                  if (parsed && parsed->first == space) keys.emplace_back(parsed->second);
                }
                // In a database shared with other prefixes most pages of a kData walk may be
                // empty; SCAN and KEYS expect an empty store to answer "0, []" at once, so a
                // client-facing walk goes on until it has keys or is complete.
                if (status.ok() && keys.empty() && next != 0 && space == Space::kData) {
                  return ScanPage(space, next, kWalkCount, std::move(done));
                }
                done(status, next, std::move(keys));
              });
}

// One SCAN page of `pattern`, keys as stored upstream.
void RedisStore::ScanPattern(std::string pattern, uint64_t cursor, size_t count, ScanFn done) {
  std::vector<std::string> argv = {"SCAN", std::to_string(cursor), "MATCH", std::move(pattern),
                                   "COUNT", std::to_string(std::max<size_t>(count, 1))};
  Call({}, std::move(argv), nullptr,
       [this, done = std::move(done)](const Status& status, const redisReply* reply) {
         if (!status.ok()) return done(status, 0, {});
         if (reply->type == REDIS_REPLY_ERROR) {
           return done(ErrorReplyStatus(ReplyText(*reply), name()), 0, {});
         }
         uint64_t next = 0;
         const redisReply* keys = nullptr;
         if (!ParseScan(*reply, &next, &keys)) {
           return done(Status::Error("ERR unexpected reply from redis"), 0, {});
         }
         std::vector<std::string> out;
         out.reserve(keys->elements);
         for (size_t i = 0; i < keys->elements; ++i) out.push_back(ReplyText(*keys->element[i]));
         done(Status::Ok(), next, std::move(out));
       });
}

void RedisStore::Count(CountFn done) { CountFrom(0, 0, std::move(done)); }

void RedisStore::CountFrom(uint64_t cursor, int64_t so_far, CountFn done) {
  ScanPattern(keys_.Pattern(Space::kData), cursor, kWalkCount,
              [this, so_far, done = std::move(done)](const Status& status, uint64_t next,
                                                      std::vector<std::string> keys) mutable {
                if (!status.ok()) return done(status, 0);
                const int64_t total = so_far + static_cast<int64_t>(keys.size());
                if (next == 0) return done(Status::Ok(), total);
                CountFrom(next, total, std::move(done));
              });
}

void RedisStore::RandomKey(KeyFn done) {
  // RANDOMKEY is uniform when this store owns most of the database; when it meets another
  // store's key, a key of the first non-empty SCAN page of ours stands in (less uniform, never
  // wrong).
  Call({}, {"RANDOMKEY"}, nullptr,
       [this, done = std::move(done)](const Status& status, const redisReply* reply) mutable {
         if (!status.ok()) return done(status, std::nullopt);
         if (reply->type == REDIS_REPLY_STRING) {
           auto parsed = keys_.Parse(std::string_view(reply->str, reply->len));
           if (parsed && parsed->first == Space::kData) {
             return done(Status::Ok(), std::string(parsed->second));
           }
         }
         RandomFrom(0, std::move(done));
       });
}

void RedisStore::RandomFrom(uint64_t cursor, KeyFn done) {
  Scan(cursor, 100,
       [this, done = std::move(done)](const Status& status, uint64_t next,
                                      std::vector<std::string> keys) mutable {
         if (!status.ok()) return done(status, std::nullopt);
         if (keys.empty()) {
           if (next == 0) return done(Status::Ok(), std::nullopt);
           return RandomFrom(next, std::move(done));
         }
         std::minstd_rand rng(static_cast<uint32_t>(NowMs()));
         std::uniform_int_distribution<size_t> pick(0, keys.size() - 1);
         done(Status::Ok(), std::move(keys[pick(rng)]));
       });
}

void RedisStore::Flush(DoneFn done) { FlushFrom(0, false, std::move(done)); }

void RedisStore::FlushFrom(uint64_t cursor, bool started, DoneFn done) {
  if (started && cursor == 0) {
    AllKeysWritten();
    return done(Status::Ok());
  }
  ScanPattern(keys_.AllPattern(), cursor, kWalkCount,
              [this, done = std::move(done)](const Status& status, uint64_t next,
                                             std::vector<std::string> keys) mutable {
                if (!status.ok()) return done(status);
                if (keys.empty()) return FlushFrom(next, true, std::move(done));
                keys.insert(keys.begin(), "UNLINK");
                Call({}, std::move(keys), nullptr,
                     [this, next, done = std::move(done)](const Status& status,
                                                          const redisReply* reply) mutable {
                       if (!status.ok()) return done(status);
                       if (reply->type == REDIS_REPLY_ERROR) {
                         return done(ErrorReplyStatus(ReplyText(*reply), name()));
                       }
                       FlushFrom(next, true, std::move(done));
                     });
              });
}

}  // namespace arvel::drivers
