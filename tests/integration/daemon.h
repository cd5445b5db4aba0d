#pragma once
// Black-box test harness: runs the real arvel-cached binary (ARVEL_BINARY) in a temporary
// directory on an ephemeral port, and talks to it with hiredis or a raw socket.
//
//   auto daemon = Daemon::Start(DaemonOptions().Config("[server]\npassword = \"pw\"\n"));
//   Client client = daemon->Connect();
//   EXPECT_EQ(Show(client.Command({"AUTH", "pw"})), "+OK");
//   EXPECT_EQ(daemon->Stop(), 0);
//
// Everything is bounded in time: start-up waits for the "listening on" log line at most
// `start_timeout`, stops escalate from SIGTERM to SIGKILL, and sockets carry receive timeouts.
// A Daemon that goes out of scope kills its process; the child also dies with the test binary
// (PR_SET_PDEATHSIG), so no process outlives a test run.

#include <gtest/gtest.h>
#include <hiredis/hiredis.h>
#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace arvel::integration {

using std::chrono::milliseconds;

// A fresh directory under $TMPDIR (or /tmp), removed with everything in it on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // Writes `text` to path()/name and returns the full path.
  std::string Write(const std::string& name, std::string_view text) const;

 private:
  std::string path_;
};

// How to run the binary. The child runs with the test's environment minus every CACHE_*
// variable, plus `env`, in a temporary working directory (so no ./cache.toml is picked up).
//
//   DaemonOptions().Config("[server]\ntimeout = 1\n").Env({{"CACHE_TTL", "60"}})
struct DaemonOptions {
  std::vector<std::string> args;           // extra command-line arguments
  std::map<std::string, std::string> env;  // extra environment variables
  std::string config;                      // when non-empty: written to cache.toml, --config
  bool port_zero = true;                   // add "--port 0" (an ephemeral port)
  // Point the implicit `redis` store at a closed loopback port (CACHE_PORT=1) unless `env` sets
  // CACHE_PORT, so no test touches a Redis that happens to run on 6379.
  bool isolate_redis = true;
  milliseconds start_timeout{10000};

  DaemonOptions& Args(std::vector<std::string> value) {
    args = std::move(value);
    return *this;
  }
  DaemonOptions& Env(std::map<std::string, std::string> value) {
    env = std::move(value);
    return *this;
  }
  DaemonOptions& Config(std::string value) {
    config = std::move(value);
    return *this;
  }
  DaemonOptions& PortZero(bool value) {
    port_zero = value;
    return *this;
  }
};

// Outcome of a run to completion (--version, --check-config, bad configuration, ...).
struct RunResult {
  int exit_code = -1;  // the exit status, or 128 + signal when killed
  bool timed_out = false;
  std::string out;  // stdout
  std::string err;  // stderr
};

// Runs the binary with `args` (working directory: a temporary one, or `options.config` written
// there and passed with --config) and waits for it to exit, at most `timeout`.
RunResult RunDaemonToCompletion(const DaemonOptions& options,
                                milliseconds timeout = milliseconds{10000});

// A reply copied out of hiredis, so tests compare plain values.
struct Reply {
  int type = 0;  // REDIS_REPLY_* (STRING, ARRAY, INTEGER, NIL, STATUS, ERROR); 0 = no reply
  std::string str;
  long long integer = 0;
  std::vector<Reply> elements;

  bool ok() const { return type != 0; }
  bool is_nil() const { return type == REDIS_REPLY_NIL; }
  bool is_error() const { return type == REDIS_REPLY_ERROR; }
};

// Compact text of a reply: +OK, -ERR ..., :1, "bytes", (nil), [a, b], or (no reply: why).
std::string Show(const Reply& reply);

// A blocking hiredis connection to 127.0.0.1 with a receive timeout.
class Client {
 public:
  explicit Client(int port, milliseconds timeout = milliseconds{10000});
  bool connected() const { return ctx_ != nullptr && ctx_->err == 0; }
  std::string error() const;

  Reply Command(const std::vector<std::string>& args);
  // Queues a command without reading its reply (pipelining); GetReply() reads replies in order.
  void Append(const std::vector<std::string>& args);
  Reply GetReply();
  redisContext* context() { return ctx_.get(); }

 private:
  struct Free {
    void operator()(redisContext* c) const { redisFree(c); }
  };
  std::unique_ptr<redisContext, Free> ctx_;
};

// One RESP2/RESP3 value as read from the wire, for replies hiredis 0.14 cannot parse.
struct RespValue {
  char type = 0;      // the RESP type byte: + - : $ * _ # , ( = % ~ > |; 0 = none (error)
  std::string text;   // payload of simple/bulk/number types; "" for aggregates
  bool null = false;  // $-1 / *-1 / _
  std::vector<RespValue> elements;  // aggregates (maps as key, value, key, value, ...)
};

// A plain TCP socket to 127.0.0.1, for raw protocol bytes.
class RawConnection {
 public:
  explicit RawConnection(int port, milliseconds timeout = milliseconds{10000});
  ~RawConnection();
  RawConnection(RawConnection&& other) noexcept;
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  bool connected() const { return fd_ >= 0; }
  int fd() const { return fd_; }
  // Sends every byte (false if the peer closed or an error occurred).
  bool Send(std::string_view bytes);
  // Half-closes the sending side.
  void ShutdownWrite();
  // Reads exactly `n` bytes; fewer if the peer closes or the timeout passes.
  std::string ReadExactly(size_t n);
  // Reads one complete RESP value; type 0 on close/timeout/malformed data.
  RespValue ReadValue();
  // Reads one complete RESP value and returns its raw bytes ("" on close/timeout).
  std::string ReadRawValue();
  // Reads until the peer closes; `closed` tells whether it did before the timeout.
  std::string ReadUntilClose(milliseconds timeout, bool* closed);
  // True when the peer has closed the connection (reads until EOF, discarding data).
  bool WaitClosed(milliseconds timeout);

 private:
  // Makes sure `n` bytes are buffered after pos_; false on close/timeout.
  bool Fill(size_t n);
  std::optional<std::string> Line();
  bool ParseValue(RespValue* value, std::string* raw);

  int fd_ = -1;
  milliseconds timeout_;
  std::string buf_;
  size_t pos_ = 0;
};

// Builds a RESP multibulk request.
std::string Resp(const std::vector<std::string>& args);

// A running arvel-cached process.
class Daemon {
 public:
  // Starts the binary and waits for "listening on ADDR:PORT". On failure the test fails
  // (ADD_FAILURE with the captured stderr) and the returned daemon has port() == 0.
  static std::unique_ptr<Daemon> Start(const DaemonOptions& options = DaemonOptions());
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  const std::string& dir() const { return dir_.path(); }
  Client Connect(milliseconds timeout = milliseconds{10000}) const {
    return Client(port_, timeout);
  }
  RawConnection ConnectRaw(milliseconds timeout = milliseconds{10000}) const {
    return RawConnection(port_, timeout);
  }

  // Sends SIGTERM and waits for the exit; SIGKILL after `timeout`. Returns the exit code
  // (128 + signal if killed, -1 if it had to be killed after the timeout).
  int Stop(milliseconds timeout = milliseconds{10000});
  // Sends a signal without waiting.
  void Signal(int signum);
  // Waits for the process to exit by itself; nullopt on timeout.
  std::optional<int> WaitExit(milliseconds timeout);
  bool running();

  // Everything the daemon wrote to stderr so far.
  std::string Stderr() const;
  // Waits until stderr contains `needle`; false on timeout.
  bool WaitForStderr(std::string_view needle, milliseconds timeout) const;

 private:
  Daemon() = default;
  bool Launch(const DaemonOptions& options);
  void ReadStderr(int fd);
  void Kill();

  TempDir dir_;
  pid_t pid_ = -1;
  int port_ = 0;
  std::optional<int> exit_code_;
  std::thread reader_;
  mutable std::mutex mu_;
  mutable std::condition_variable changed_;
  std::string stderr_;          // GUARDED_BY(mu_)
  bool stderr_closed_ = false;  // GUARDED_BY(mu_)
};

// Parses "... listening on ADDR:PORT ..." out of log text; 0 when absent.
int ListeningPort(std::string_view log);

// Parses an INFO reply: "field:value" lines into a map (sections are flattened).
std::map<std::string, std::string> ParseInfo(std::string_view info);

// A loopback port that was free a moment ago (bound and released).
int FreePort();

// ---------------------------------------------------------------------------------------------
// Scripted sessions: a list of (command, expected reply) steps run against one client.
// Expected replies use Show()'s notation; an expectation ending in '*' matches as a prefix.
//
//   RunScript(client, {
//       {{"PUT", "k", "v"}, "+OK"},
//       {{"GET", "k"}, "\"v\""},
//       {{"ASSERT", "MISSING", "k"}, "-ERR assertion failed*"},
//   });

struct Step {
  std::vector<std::string> command;
  std::string expected;
};

inline std::string Join(const std::vector<std::string>& args) {
  std::string out;
  for (const std::string& a : args) out += (out.empty() ? "" : " ") + a;
  return out;
}

inline bool Matches(const std::string& actual, const std::string& expected) {
  if (!expected.empty() && expected.back() == '*') {
    return actual.compare(0, expected.size() - 1, expected, 0, expected.size() - 1) == 0;
  }
  return actual == expected;
}

inline void RunScript(Client& client, const std::vector<Step>& steps) {
  for (const Step& step : steps) {
    std::string actual = Show(client.Command(step.command));
    EXPECT_TRUE(Matches(actual, step.expected))
        << "  command: " << Join(step.command) << "\n   actual: " << actual
        << "\n expected: " << step.expected;
  }
}

// Integer reply of `args`, or a failure and -999999 when the reply is not an integer.
inline long long IntegerOf(Client& client, const std::vector<std::string>& args) {
  Reply reply = client.Command(args);
  EXPECT_EQ(reply.type, REDIS_REPLY_INTEGER) << Join(args) << " -> " << Show(reply);
  return reply.type == REDIS_REPLY_INTEGER ? reply.integer : -999999;
}

}  // namespace arvel::integration
