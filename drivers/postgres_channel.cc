// Design.
//
// Why a channel of its own, after the commit, rather than pg_notify inside each write's
// transaction (or a trigger on the table): PostgreSQL serializes the commits of every
// transaction that notified, WAL flush included (PreCommit_Notify takes a cluster-wide lock and
// holds it until the commit is durable), which halves the throughput of concurrent writers that
// would otherwise share their flushes (group commit). Here the writes commit as before and the
// channel sends what they changed afterwards, many payloads per NOTIFY transaction (one at a
// time, starting at least kSendSpacingMs apart, so a write load pays for a few hundred
// transactions a second whatever its rate), with synchronous_commit off (nothing of value is lost
// with a notification: a listener that misses one re-checks on its timer). A daemon that dies
// between a commit and the NOTIFY leaves its listeners to that timer too; so does any writer that
// is not an arvel daemon.
//
// One thread, one connection, in non-blocking mode: it waits with poll(2) on the connection's
// socket and an eventfd that Announce and Stop write to, so nothing it does blocks the loop or
// the workers, and Stop is prompt even while connecting. The connection LISTENs and sends the
// NOTIFYs, so its own notifications come back to it; they carry its backend pid and are dropped
// (the daemon told its own observers when the write completed). Notifications reach the loop
// thread through a uv_async_t.
//
// Failure: a broken connection (the server restarted, the network dropped: TCP keepalives bound
// how long that takes to notice) reports `listening = false`, drops what was queued, and
// reconnects with backoff (100 ms doubling to 5 s); the store meanwhile reports that it does not
// notify, so waiters poll.

#include "drivers/postgres_channel.h"

#include <libpq-fe.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <utility>

#include "common/signals.h"

namespace arvel::drivers {

namespace {

constexpr int kConnectTimeoutMs = 10'000;
constexpr int kFirstBackoffMs = 100;
constexpr int kMaxBackoffMs = 5'000;
constexpr size_t kMaxBatch = 1000;  // payloads per NOTIFY transaction
// NOTIFY transactions start at least this far apart: under a write load the payloads of a few
// milliseconds share one (each costs the server a transaction and every listener a wake-up),
// while a lone write is announced at once.
constexpr int64_t kSendSpacingMs = 2;
constexpr char kNotifyStatement[] = "arvel_notify";
constexpr unsigned kTextOid = 25;
constexpr unsigned kTextArrayOid = 1009;

void AppendInt32(std::string* out, uint32_t value) {
  for (int shift = 24; shift >= 0; shift -= 8) *out += static_cast<char>(value >> shift);
}

// A one-dimensional text[] in binary format (array_send's layout).
std::string TextArray(const std::vector<std::string>& items) {
  std::string out;
  AppendInt32(&out, 1);  // dimensions
  AppendInt32(&out, 0);  // no nulls
  AppendInt32(&out, kTextOid);
  AppendInt32(&out, static_cast<uint32_t>(items.size()));
  AppendInt32(&out, 1);  // lower bound
  for (const std::string& item : items) {
    AppendInt32(&out, static_cast<uint32_t>(item.size()));
    out += item;
  }
  return out;
}

// `name` as a double-quoted SQL identifier.
std::string Quoted(std::string_view name) {
  std::string quoted = "\"";
  for (char c : name) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  return quoted + "\"";
}

int64_t SteadyMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// The key an escaped payload tail stands for; nullopt when EncodeChange did not make it.
std::optional<std::string> UnescapeKey(std::string_view escaped) {
  auto hex = [](char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  std::string key;
  for (size_t i = 0; i < escaped.size(); ++i) {
    if (escaped[i] != '\\') {
      key += escaped[i];
    } else if (i + 1 < escaped.size() && escaped[i + 1] == '\\') {
      key += '\\';
      ++i;
    } else if (i + 3 < escaped.size() && escaped[i + 1] == 'x' && hex(escaped[i + 2]) >= 0 &&
               hex(escaped[i + 3]) >= 0) {
      key += static_cast<char>(hex(escaped[i + 2]) * 16 + hex(escaped[i + 3]));
      i += 3;
    } else {
      return std::nullopt;
    }
  }
  return key;
}

std::string Header(char space, std::string_view prefix) {
  std::string payload;
  payload += space;
  payload += ':';
  payload += std::to_string(prefix.size());
  payload += ':';
  payload += prefix;
  return payload;
}

}  // namespace

std::string EncodeChange(Space space, std::string_view prefix, std::string_view key) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string payload = Header(static_cast<char>('0' + static_cast<int>(space)), prefix);
  for (unsigned char c : key) {
    if (c == '\\') {
      payload += "\\\\";
    } else if (c >= 0x20 && c < 0x7f) {
      payload += static_cast<char>(c);
    } else {
      payload += "\\x";
      payload += kHex[c >> 4];
      payload += kHex[c & 15];
    }
  }
  return payload;
}

std::string EncodeFlush(std::string_view prefix) { return Header('*', prefix); }

std::optional<ChangeMessage> DecodeChange(std::string_view payload) {
  if (payload.size() < 4 || payload[1] != ':') return std::nullopt;
  const size_t colon = payload.find(':', 2);
  if (colon == std::string_view::npos || colon == 2) return std::nullopt;
  size_t length = 0;
  for (char c : payload.substr(2, colon - 2)) {
    if (c < '0' || c > '9' || length > payload.size()) return std::nullopt;
    length = length * 10 + static_cast<size_t>(c - '0');
  }
  const std::string_view rest = payload.substr(colon + 1);
  if (length > rest.size()) return std::nullopt;
  ChangeMessage change;
  change.prefix = std::string(rest.substr(0, length));
  if (payload[0] == '*') {
    change.all = true;
    return rest.size() == length ? std::optional(std::move(change)) : std::nullopt;
  }
  const int space = payload[0] - '0';
  if (space < 0 || space >= kSpaceCount) return std::nullopt;
  change.space = static_cast<Space>(space);
  std::optional<std::string> key = UnescapeKey(rest.substr(length));
  if (!key) return std::nullopt;
  change.key = std::move(*key);
  return change;
}

PostgresChangeChannel::PostgresChangeChannel(uv_loop_t* loop, std::string url, std::string channel,
                                             Callbacks callbacks)
    : loop_(loop),
      url_(std::move(url)),
      channel_(std::move(channel)),
      callbacks_(std::move(callbacks)) {}

PostgresChangeChannel::~PostgresChangeChannel() {
  stopping_ = true;
  if (thread_.joinable()) {
    WakeThread();
    thread_.join();
  }
  if (wake_fd_ >= 0) close(wake_fd_);
}

void PostgresChangeChannel::Start() {
  if (async_ != nullptr || stopped_) return;
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  async_ = new uv_async_t;
  uv_async_init(loop_, async_, OnAsync);
  async_->data = this;
  const LoopSignalsBlocked only_the_loop_gets_signals;
  thread_ = std::thread([this] { Run(); });
}

void PostgresChangeChannel::Stop(std::function<void()> done) {
  stopped_ = true;
  stopping_ = true;
  listening_ = false;
  if (thread_.joinable()) {
    WakeThread();
    thread_.join();
  }
  if (async_ == nullptr) {
    if (done) done();
    return;
  }
  auto* pending = new std::function<void()>(std::move(done));
  async_->data = pending;
  uv_close(reinterpret_cast<uv_handle_t*>(async_), [](uv_handle_t* handle) {
    auto* finish = static_cast<std::function<void()>*>(handle->data);
    delete reinterpret_cast<uv_async_t*>(handle);
    if (*finish) (*finish)();
    delete finish;
  });
  async_ = nullptr;
}

void PostgresChangeChannel::Announce(std::string payload) {
  if (!listening_.load() || payload.size() > kMaxPayload) {
    dropped_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  {
    std::lock_guard lock(mu_);
    if (outbox_.size() >= kMaxQueued) {
      dropped_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    outbox_.push_back(std::move(payload));
  }
  WakeThread();
}

void PostgresChangeChannel::WakeThread() {
  const uint64_t one = 1;
  if (wake_fd_ >= 0) (void)!write(wake_fd_, &one, sizeof(one));
}

void PostgresChangeChannel::Post(Event event) {
  {
    std::lock_guard lock(mu_);
    inbox_.push_back(std::move(event));
  }
  uv_async_send(async_);
}

void PostgresChangeChannel::OnAsync(uv_async_t* async) {
  static_cast<PostgresChangeChannel*>(async->data)->Deliver();
}

void PostgresChangeChannel::Deliver() {
  std::deque<Event> events;
  {
    std::lock_guard lock(mu_);
    events.swap(inbox_);
  }
  for (Event& event : events) {
    if (stopped_) return;
    if (event.is_state) {
      if (callbacks_.listening) callbacks_.listening(event.listening);
    } else if (callbacks_.message) {
      callbacks_.message(event.payload);
    }
  }
}

PostgresChangeChannel::Wake PostgresChangeChannel::WaitFor(int fd, short events, int timeout_ms) {
  pollfd fds[2] = {{wake_fd_, POLLIN, 0}, {fd, events, 0}};
  const int nfds = fd >= 0 ? 2 : 1;
  int ready;
  do {
    ready = poll(fds, nfds, timeout_ms);
  } while (ready < 0 && errno == EINTR);
  if (ready <= 0) return Wake::kTimeout;
  if (fds[0].revents != 0) {
    uint64_t count;
    (void)!read(wake_fd_, &count, sizeof(count));
    // The socket may be ready too: the caller looks at it either way.
    return nfds == 2 && fds[1].revents != 0 ? Wake::kReady : Wake::kWoken;
  }
  return Wake::kReady;
}

void PostgresChangeChannel::Run() {
  int backoff_ms = kFirstBackoffMs;
  bool warned = false;
  while (!stopping()) {
    std::string error;
    PGconn* conn = Connect(&error);
    if (conn != nullptr) {
      if (warned) spdlog::info("postgresql change channel '{}' is listening again", channel_);
      warned = false;
      backoff_ms = kFirstBackoffMs;
      Serve(conn);
    } else if (!stopping() && !warned) {
      spdlog::warn("postgresql change channel '{}' cannot listen (retrying): {}", channel_, error);
      warned = true;
    }
    PQfinish(conn);
    if (stopping()) break;
    const int64_t until = SteadyMs() + backoff_ms;
    while (!stopping() && SteadyMs() < until) {
      (void)WaitFor(-1, 0, static_cast<int>(std::max<int64_t>(until - SteadyMs(), 0)));
    }
    backoff_ms = std::min(backoff_ms * 2, kMaxBackoffMs);
  }
}

PGconn* PostgresChangeChannel::Connect(std::string* error) {
  // The defaults of the store's own connections (postgres_store.cc); the URL overrides them.
  const char* keywords[] = {"keepalives_idle",
                            "keepalives_interval",
                            "keepalives_count",
                            "tcp_user_timeout",
                            "application_name",
                            "dbname",
                            nullptr};
  const char* values[] = {"10", "5", "3", "10000", "arvel-cached listener", url_.c_str(), nullptr};
  PGconn* conn = PQconnectStartParams(keywords, values, /*expand_dbname=*/1);
  if (conn == nullptr) {
    *error = "out of memory";
    return nullptr;
  }
  auto fail = [&](std::string_view why) -> PGconn* {
    std::string message = PQerrorMessage(conn);
    while (!message.empty() && (message.back() == '\n' || message.back() == ' '))
      message.pop_back();
    *error = message.empty() ? std::string(why) : message;
    PQfinish(conn);
    return nullptr;
  };
  const int64_t deadline = SteadyMs() + kConnectTimeoutMs;
  PostgresPollingStatusType status =
      PQstatus(conn) == CONNECTION_BAD ? PGRES_POLLING_FAILED : PGRES_POLLING_WRITING;
  while (status != PGRES_POLLING_OK) {
    const int64_t left = deadline - SteadyMs();
    if (status == PGRES_POLLING_FAILED || stopping()) return fail("connection failed");
    if (left <= 0) return fail("timeout expired");
    const short events = status == PGRES_POLLING_READING ? POLLIN : POLLOUT;
    if (WaitFor(PQsocket(conn), events, static_cast<int>(left)) == Wake::kReady) {
      status = PQconnectPoll(conn);
    }
  }
  PQsetNoticeProcessor(
      conn, [](void*, const char*) {}, nullptr);
  const std::string setup = "SET synchronous_commit = off; LISTEN " + Quoted(channel_);
  const unsigned types[] = {kTextOid, kTextArrayOid};
  const bool ready =
      PQsetnonblocking(conn, 1) == 0 &&
      Exec(conn, [&] { return PQsendQuery(conn, setup.c_str()); }) && Exec(conn, [&] {
        return PQsendPrepare(conn, kNotifyStatement,
                             "SELECT count(pg_notify($1, p)) FROM unnest($2::text[]) AS p", 2,
                             types);
      });
  if (!ready) return fail("LISTEN failed");
  return conn;
}

bool PostgresChangeChannel::Exec(PGconn* conn, const std::function<int()>& send) {
  if (send() == 0) return false;
  bool ok = true;
  for (;;) {
    const int flushed = PQflush(conn);
    if (flushed < 0) return false;
    while (!PQisBusy(conn)) {
      PGresult* result = PQgetResult(conn);
      if (result == nullptr) return ok;
      const ExecStatusType status = PQresultStatus(result);
      ok = ok && (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK);
      PQclear(result);
    }
    const Wake wake = WaitFor(PQsocket(conn), flushed == 1 ? POLLIN | POLLOUT : POLLIN, 10'000);
    if (stopping() || wake == Wake::kTimeout) return false;
    if (wake == Wake::kReady && PQconsumeInput(conn) == 0) return false;
  }
}

bool PostgresChangeChannel::SendBatch(PGconn* conn) {
  std::vector<std::string> batch;
  {
    std::lock_guard lock(mu_);
    if (outbox_.empty()) return false;
    if (outbox_.size() <= kMaxBatch) {
      batch.swap(outbox_);
    } else {
      batch.assign(std::make_move_iterator(outbox_.begin()),
                   std::make_move_iterator(outbox_.begin() + kMaxBatch));
      outbox_.erase(outbox_.begin(), outbox_.begin() + kMaxBatch);
    }
  }
  const std::string payloads = TextArray(batch);
  const char* values[] = {channel_.c_str(), payloads.data()};
  const int lengths[] = {static_cast<int>(channel_.size()), static_cast<int>(payloads.size())};
  const int formats[] = {0, 1};
  return PQsendQueryPrepared(conn, kNotifyStatement, 2, values, lengths, formats,
                             /*resultFormat=*/0) != 0;
}

void PostgresChangeChannel::Serve(PGconn* conn) {
  const int own_pid = PQbackendPID(conn);
  {
    std::lock_guard lock(mu_);
    outbox_.clear();  // announced while nobody listened: nobody can rely on them
  }
  listening_ = true;
  Post({.is_state = true, .listening = true});
  bool in_flight = false;
  int64_t last_send_ms = 0;
  while (!stopping()) {
    int timeout_ms = -1;
    if (!in_flight) {
      const int64_t wait_ms = last_send_ms + kSendSpacingMs - SteadyMs();
      if (wait_ms > 0) {
        std::lock_guard lock(mu_);
        if (!outbox_.empty()) timeout_ms = static_cast<int>(wait_ms);
      } else if (SendBatch(conn)) {
        in_flight = true;
        last_send_ms = SteadyMs();
      }
    }
    const int flushed = PQflush(conn);
    if (flushed < 0) break;
    const Wake wake = WaitFor(PQsocket(conn), flushed == 1 ? POLLIN | POLLOUT : POLLIN, timeout_ms);
    if (wake == Wake::kReady && PQconsumeInput(conn) == 0) break;
    while (in_flight && !PQisBusy(conn)) {
      PGresult* result = PQgetResult(conn);
      if (result == nullptr) {
        in_flight = false;
        break;
      }
      if (PQresultStatus(result) != PGRES_TUPLES_OK) {
        spdlog::warn("postgresql change channel '{}': NOTIFY failed: {}", channel_,
                     PQresultErrorMessage(result));
      }
      PQclear(result);
    }
    while (PGnotify* notify = PQnotifies(conn)) {
      if (notify->be_pid != own_pid) Post({.payload = notify->extra});
      PQfreemem(notify);
    }
    if (PQstatus(conn) != CONNECTION_OK) break;
  }
  listening_ = false;
  if (!stopping()) {
    spdlog::warn("postgresql change channel '{}' lost its connection: {}", channel_,
                 PQerrorMessage(conn));
    Post({.is_state = true, .listening = false});
  }
}

}  // namespace arvel::drivers
