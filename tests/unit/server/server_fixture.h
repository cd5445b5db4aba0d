#pragma once
// In-process server for command tests: a Server on 127.0.0.1 with an ephemeral port, running its
// loop on a thread of its own, and hiredis clients talking to it over loopback.
//
//   ServerFixture server;                       // default config: array store
//   Client c = server.Connect();
//   EXPECT_EQ(c.Command({"SET", "k", "v"}).str, "OK");

#include <hiredis/hiredis.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "config/config.h"
#include "drivers/store.h"
#include "server/server.h"

namespace arvel::testing {

// A reply copied out of hiredis, so tests compare plain values.
struct Reply {
  int type = 0;     // REDIS_REPLY_* (STATUS, ERROR, INTEGER, NIL, STRING, ARRAY)
  std::string str;  // STATUS, ERROR, STRING
  long long integer = 0;
  std::vector<Reply> elements;

  bool is_nil() const { return type == REDIS_REPLY_NIL; }
  bool is_error() const { return type == REDIS_REPLY_ERROR; }
};

// A reply as one comparable line: "+OK", "-ERR …", ":3", "(nil)", "$value", "[a, b]".
std::string Text(const Reply& reply);

class Client {
 public:
  explicit Client(int port);
  Reply Command(const std::vector<std::string>& args);
  // Sends raw bytes (RESP or inline) and reads one reply.
  Reply Raw(const std::string& bytes);
  // Sends every command in one write (a pipeline), then reads one reply per command.
  std::vector<Reply> Pipeline(const std::vector<std::vector<std::string>>& commands);
  redisContext* context() { return ctx_.get(); }

 private:
  struct Free {
    void operator()(redisContext* c) const { redisFree(c); }
  };
  std::unique_ptr<redisContext, Free> ctx_;
};

// Sends one command over a plain socket and parses the reply with a small RESP2/RESP3 reader of
// our own: Debian's hiredis 0.14 refuses replies nested deeper than 7 levels (COMMAND DOCS) and
// cannot read RESP3. RESP3 maps/sets arrive as flat arrays; nulls as NIL; booleans as INTEGER.
Reply DeepCommand(int port, const std::vector<std::string>& args);

// Milliseconds of the steady clock since `start`.
int64_t MillisSince(std::chrono::steady_clock::time_point start);
// A numeric INFO field, asked over `client`, so the loop thread answers (the server's own
// state is the loop thread's while it runs); -1 when the section has no such field.
int64_t InfoField(Client& client, const std::string& section, const std::string& name);
// blocked_clients from INFO: clients parked on a reply (LOCK BLOCK, REMEMBER waiters).
int Blocked(Client& client);
// Waits (up to 5 s) until `n` clients are parked; fails the test otherwise.
void WaitForBlocked(Client& client, int n);

// The default configuration with port 0 and the implicit stores.
config::Config TestConfig();

// A Unix-ms clock the test moves by hand, so expiry needs no sleeping: give it to an ArrayStore
// (ClockedArrayStore) instead of waiting for the wall clock. The test thread advances it while
// the loop thread reads it.
class FakeClock {
 public:
  int64_t now_ms() const { return now_ms_.load(); }
  void Advance(std::chrono::milliseconds by) { now_ms_ += by.count(); }
  std::function<int64_t()> AsFunction() const {
    return [this] { return now_ms(); };
  }

 private:
  std::atomic<int64_t> now_ms_{drivers::NowMs()};
};

// An array store named `name` whose expiry follows `clock` (which must outlive the server).
std::unique_ptr<drivers::Store> ClockedArrayStore(const std::string& name, const FakeClock& clock);

class ServerFixture {
 public:
  explicit ServerFixture(config::Config config = TestConfig());
  // Also serves `store` (Server::AddStoreForTesting), which clients select with STORE <name>.
  ServerFixture(config::Config config, std::unique_ptr<drivers::Store> store);
  ~ServerFixture();  // Stop()
  int port() const { return port_; }
  Client Connect() const { return Client(port_); }
  // Shuts the server down (unless it already stopped by itself, e.g. on SHUTDOWN) and waits
  // until its loop thread has finished. Idempotent.
  void Stop();
  // The server's own state belongs to its loop thread: read it only after Stop(). While it
  // runs, ask over a connection instead (InfoField).
  server::Server& server() { return *server_; }

 private:
  std::unique_ptr<server::Server> server_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace arvel::testing
