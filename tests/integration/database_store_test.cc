// The `database` driver in the real binary (SPEC §6): acknowledged writes survive kill -9,
// two daemons sharing one SQLite file or one PostgreSQL database keep locks, counters and rate
// limits exact, and a database that is down (at start-up or later) gives a clear
// "store 'NAME' unavailable" error while the other stores keep serving, until it comes back.
//
// PostgreSQL cases run when ARVEL_TEST_POSTGRES_URL names a reachable database
// (scripts/start-postgres.sh), each on tables of its own, and skip otherwise. Outages are
// simulated with a TCP relay in front of the server that the test cuts and restores, so the
// shared cluster itself is never stopped.

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <thread>

#include "tests/integration/daemon.h"

namespace arvel::integration {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using Clock = std::chrono::steady_clock;

std::string PostgresUrl() {
  const char* url = std::getenv("ARVEL_TEST_POSTGRES_URL");
  return url ? url : "";
}

// Runs SQL with psql (the integration tests do not link libpq); true when it worked.
bool Psql(const std::string& url, const std::string& sql) {
  const std::string command =
      "psql -X -q -v ON_ERROR_STOP=1 '" + url + "' -c '" + sql + "' >/dev/null 2>&1";
  return std::system(command.c_str()) == 0;
}

// The URL with its host and port replaced by 127.0.0.1:port.
std::string WithPort(const std::string& url, int port) {
  const size_t at = url.find('@');
  const size_t start = at == std::string::npos ? url.find("://") + 3 : at + 1;
  const size_t end = url.find('/', start);
  return url.substr(0, start) + "127.0.0.1:" + std::to_string(port) +
         (end == std::string::npos ? "" : url.substr(end));
}

int PortOf(const std::string& url) {
  const size_t at = url.find('@');
  const size_t start = at == std::string::npos ? url.find("://") + 3 : at + 1;
  const size_t colon = url.find(':', start);
  const size_t end = url.find('/', start);
  if (colon == std::string::npos || (end != std::string::npos && colon > end)) return 5432;
  return std::atoi(url.c_str() + colon + 1);
}

// Polls `reply_of()` until it matches `expected` (Show notation, '*' suffix = prefix); returns
// the last reply seen.
std::string WaitForReply(const std::function<Reply()>& reply_of, const std::string& expected,
                         milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  std::string last;
  do {
    last = Show(reply_of());
    if (Matches(last, expected)) break;
    std::this_thread::sleep_for(milliseconds(100));
  } while (Clock::now() < deadline);
  return last;
}

// Runs `op(client)` `per_client` times on `clients_per_daemon` connections to each daemon at
// once; returns the sum of what the calls returned.
long long RunConcurrently(const std::vector<const Daemon*>& daemons, int clients_per_daemon,
                          int per_client, const std::function<long long(Client&)>& op) {
  std::atomic<long long> total{0};
  std::vector<std::thread> threads;
  for (const Daemon* daemon : daemons) {
    for (int c = 0; c < clients_per_daemon; ++c) {
      threads.emplace_back([&, daemon] {
        Client client = daemon->Connect();
        for (int i = 0; i < per_client; ++i) total += op(client);
      });
    }
  }
  for (std::thread& t : threads) t.join();
  return total;
}

// A TCP relay from a loopback port to PostgreSQL that the test can cut (listener and every
// connection closed: what an outage looks like to the daemon) and restore on the same port.
class Relay {
 public:
  explicit Relay(int target_port) : target_port_(target_port) {}
  ~Relay() { Stop(); }

  bool Start() {
    listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const int one = 1;
    setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in addr = Loopback(port_);
    socklen_t len = sizeof(addr);
    if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
        listen(listen_fd_, 64) != 0 ||
        getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0 ||
        pipe(wake_) != 0) {
      close(listen_fd_);
      return false;
    }
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { Run(); });
    return true;
  }

  void Stop() {
    if (!thread_.joinable()) return;
    (void)!write(wake_[1], "x", 1);
    thread_.join();
    close(wake_[0]);
    close(wake_[1]);
  }

  int port() const { return port_; }

 private:
  static sockaddr_in Loopback(int port) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(port));
    return addr;
  }

  void Run() {
    std::vector<std::pair<int, int>> links;  // (client side, server side) of each connection
    for (;;) {
      std::vector<pollfd> fds = {{wake_[0], POLLIN, 0}, {listen_fd_, POLLIN, 0}};
      for (auto [client, server] : links) {
        fds.push_back({client, POLLIN, 0});
        fds.push_back({server, POLLIN, 0});
      }
      if (poll(fds.data(), fds.size(), 1000) < 0) continue;
      if (fds[0].revents != 0) break;
      for (size_t i = 0; i < links.size(); ++i) {
        auto& [client, server] = links[i];
        const bool open = (fds[2 + 2 * i].revents == 0 || Pump(client, server)) &&
                          (fds[3 + 2 * i].revents == 0 || Pump(server, client));
        if (open) continue;
        close(client);
        close(server);
        client = -1;
      }
      std::erase_if(links, [](auto link) { return link.first < 0; });
      if (fds[1].revents != 0) Accept(links);
    }
    for (auto [client, server] : links) {
      close(client);
      close(server);
    }
    close(listen_fd_);
  }

  void Accept(std::vector<std::pair<int, int>>& links) {
    const int client = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) return;
    const int server = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr = Loopback(target_port_);
    if (connect(server, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      close(client);
      close(server);
      return;
    }
    links.emplace_back(client, server);
  }

  // Moves what `from` has to `to`; false at the end of the stream (or an error).
  static bool Pump(int from, int to) {
    char buffer[65536];
    const ssize_t n = read(from, buffer, sizeof(buffer));
    for (ssize_t done = 0; n > 0 && done < n;) {
      const ssize_t w = write(to, buffer + done, n - done);
      if (w <= 0) return false;
      done += w;
    }
    return n > 0;
  }

  int target_port_;
  int port_ = 0;
  int listen_fd_ = -1;
  int wake_[2] = {-1, -1};
  std::thread thread_;
};

// ---------------------------------------------------------------------------------------------

class DatabaseDaemonTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "postgres") {
      url_ = PostgresUrl();
      if (url_.empty()) GTEST_SKIP() << "ARVEL_TEST_POSTGRES_URL is not set";
      if (!Psql(url_, "SELECT 1")) GTEST_SKIP() << "PostgreSQL unreachable (or no psql)";
      table_ = "arvel_it_" + std::to_string(getpid()) + "_" + std::to_string(++counter_);
    } else {
      url_ = "sqlite://" + dir_.path() + "/cache.sqlite";
      table_ = "cache";
    }
  }
  void TearDown() override {
    if (GetParam() == "postgres" && !url_.empty()) {
      Psql(url_, "DROP TABLE IF EXISTS " + table_ + ", " + table_ + "_locks");
    }
  }

  // Both daemons of a test share the database through this configuration.
  DaemonOptions Options() const {
    return DaemonOptions().Config(
        "default = \"sql\"\n[stores.sql]\ndriver = \"database\"\n"
        "url = \"" +
        url_ + "\"\ntable = \"" + table_ + "\"\n");
  }

  inline static int counter_ = 0;
  TempDir dir_;
  std::string url_;
  std::string table_;
};

TEST_P(DatabaseDaemonTest, AcknowledgedWritesSurviveKill9) {
  {
    auto daemon = Daemon::Start(Options());
    ASSERT_NE(daemon->port(), 0);
    Client client = daemon->Connect();
    for (int i = 0; i < 100; ++i) client.Append({"PUT", "k" + std::to_string(i), "v"});
    for (int i = 0; i < 100; ++i) ASSERT_EQ(Show(client.GetReply()), "+OK");
    EXPECT_EQ(Show(client.Command({"INCREMENT", "n", "7"})), ":7");
    EXPECT_EQ(Show(client.Command({"PUT", "last", std::string("bin\0ary", 7)})), "+OK");
    daemon->Signal(SIGKILL);  // right after the last +OK
    EXPECT_EQ(daemon->WaitExit(milliseconds(5000)), 128 + SIGKILL);
  }
  auto again = Daemon::Start(Options());
  Client client = again->Connect();
  Reply last = client.Command({"GET", "last"});
  EXPECT_EQ(last.type, REDIS_REPLY_STRING);
  EXPECT_EQ(last.str, std::string("bin\0ary", 7));
  EXPECT_EQ(Show(client.Command({"GET", "n"})), "\"7\"");
  EXPECT_EQ(Show(client.Command({"DBSIZE"})), ":102");
}

TEST_P(DatabaseDaemonTest, LockHeldByOneDaemonIsRefusedByTheOther) {
  auto a = Daemon::Start(Options());
  auto b = Daemon::Start(Options());
  Client ca = a->Connect();
  Client cb = b->Connect();
  Reply token = ca.Command({"LOCK", "ACQUIRE", "job", "60"});
  ASSERT_EQ(token.type, REDIS_REPLY_STRING) << Show(token);
  EXPECT_EQ(Show(cb.Command({"LOCK", "ACQUIRE", "job", "60"})), "(nil)");
  EXPECT_EQ(Show(cb.Command({"LOCK", "OWNER", "job"})), Show(token));
  EXPECT_EQ(Show(cb.Command({"LOCK", "RELEASE", "job", "not-the-token"})), ":0");
  EXPECT_EQ(Show(ca.Command({"LOCK", "RELEASE", "job", token.str})), ":1");
  EXPECT_EQ(cb.Command({"LOCK", "ACQUIRE", "job", "60"}).type, REDIS_REPLY_STRING);
  EXPECT_EQ(Show(ca.Command({"LOCK", "ACQUIRE", "job", "60"})), "(nil)");
  // A lock named like a key is a different thing.
  EXPECT_EQ(Show(ca.Command({"GET", "job"})), "(nil)");
}

TEST_P(DatabaseDaemonTest, ConcurrentCountersAcrossDaemonsAreExact) {
  auto a = Daemon::Start(Options());
  auto b = Daemon::Start(Options());
  constexpr int kClients = 3;  // per daemon
  constexpr int kEach = 60;
  RunConcurrently({a.get(), b.get()}, kClients, kEach, [](Client& client) {
    return IntegerOf(client, {"INCREMENT", "hits"}) > 0 ? 0 : 1;
  });
  Client client = b->Connect();
  EXPECT_EQ(Show(client.Command({"GET", "hits"})),
            "\"" + std::to_string(2 * kClients * kEach) + "\"");
  // ADD: exactly one of all the callers stores the key.
  const long long added = RunConcurrently({a.get(), b.get()}, kClients, 10, [](Client& c) {
    return IntegerOf(c, {"ADD", "once", "v", "60"});
  });
  EXPECT_EQ(added, 1);
}

TEST_P(DatabaseDaemonTest, ThrottleAttemptsAcrossDaemonsAllowExactlyMax) {
  auto a = Daemon::Start(Options());
  auto b = Daemon::Start(Options());
  constexpr int kMax = 50;
  const long long allowed = RunConcurrently({a.get(), b.get()}, 3, 40, [](Client& client) {
    return IntegerOf(client, {"THROTTLE", "ATTEMPT", "login", std::to_string(kMax), "60"});
  });
  EXPECT_EQ(allowed, kMax);
  Client client = a->Connect();
  EXPECT_EQ(Show(client.Command({"THROTTLE", "REMAINING", "login", std::to_string(kMax)})), ":0");
}

TEST_P(DatabaseDaemonTest, TagFlushOnOneDaemonIsSeenByTheOther) {
  auto a = Daemon::Start(Options());
  auto b = Daemon::Start(Options());
  Client ca = a->Connect();
  Client cb = b->Connect();
  ASSERT_EQ(Show(ca.Command({"TAGS", "people,authors", "PUT", "john", "v", "600"})), "+OK");
  ASSERT_EQ(Show(ca.Command({"TAGS", "people", "PUT", "jane", "w", "600"})), "+OK");
  EXPECT_EQ(Show(cb.Command({"TAGS", "authors,people", "GET", "john"})), "\"v\"");
  EXPECT_EQ(Show(cb.Command({"TAGS", "authors", "FLUSH"})), "+OK");
  EXPECT_EQ(Show(ca.Command({"TAGS", "people,authors", "GET", "john"})), "(nil)");
  EXPECT_EQ(Show(ca.Command({"TAGS", "people", "GET", "jane"})), "\"w\"");
}

TEST_P(DatabaseDaemonTest, FlushOnOneStoreLeavesAnotherPrefixAlone) {
  const std::string config =
      "default = \"mine\"\n"
      "[stores.mine]\ndriver = \"database\"\nurl = \"" +
      url_ + "\"\ntable = \"" + table_ +
      "\"\nprefix = \"mine\"\n"
      "[stores.theirs]\ndriver = \"database\"\nurl = \"" +
      url_ + "\"\ntable = \"" + table_ + "\"\nprefix = \"theirs\"\n";
  auto daemon = Daemon::Start(DaemonOptions().Config(config));
  Client client = daemon->Connect();
  RunScript(client, {
                        {{"SET", "k", "mine"}, "+OK"},
                        {{"STORE", "theirs"}, "+OK"},
                        {{"SET", "k", "theirs"}, "+OK"},
                        {{"STORE", "mine"}, "+OK"},
                        {{"FLUSHDB"}, "+OK"},
                        {{"GET", "k"}, "(nil)"},
                        {{"STORE", "theirs"}, "+OK"},
                        {{"GET", "k"}, "\"theirs\""},
                        {{"KEYS", "*"}, "[\"k\"]"},
                    });
}

INSTANTIATE_TEST_SUITE_P(Backends, DatabaseDaemonTest, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

// ---------------------------------------------------------------------------------------------
// Unavailability.

TEST(DatabaseDaemon, PostgresDownAtStartupIsReportedAndOtherStoresServe) {
  const int closed_port = FreePort();
  auto daemon = Daemon::Start(DaemonOptions().Config(
      "[stores.pg]\ndriver = \"database\"\nurl = \"postgresql://arvel:secret@127.0.0.1:" +
      std::to_string(closed_port) + "/none\"\n"));
  ASSERT_NE(daemon->port(), 0);
  EXPECT_TRUE(daemon->WaitForStderr("store 'pg' unavailable", milliseconds(5000)));
  EXPECT_THAT(daemon->Stderr(), HasSubstr("Connection refused"));
  EXPECT_THAT(daemon->Stderr(), ::testing::Not(HasSubstr("secret")));
  Client client = daemon->Connect();
  RunScript(client,
            {
                {{"SET", "k", "v"}, "+OK"},  // the default (array) store is unaffected
                {{"STORE", "pg"}, "+OK"},
                {{"GET", "k"}, "-ERR store 'pg' unavailable: postgresql: connection to server at*"},
                {{"PUT", "k", "v"}, "-ERR store 'pg' unavailable: *"},
                {{"STORE", "array"}, "+OK"},
                {{"GET", "k"}, "\"v\""},
            });
}

TEST(DatabaseDaemon, UnusableSqlitePathIsReportedAndOtherStoresServe) {
  TempDir dir;
  const std::string blocker = dir.Write("blocker", "a file where a directory should be");
  auto daemon = Daemon::Start(DaemonOptions().Config(
      "[stores.sql]\ndriver = \"database\"\nurl = \"sqlite://" + blocker + "/cache.sqlite\"\n"));
  ASSERT_NE(daemon->port(), 0);
  EXPECT_TRUE(daemon->WaitForStderr("store 'sql' unavailable", milliseconds(5000)));
  Client client = daemon->Connect();
  RunScript(client, {
                        {{"STORE", "sql"}, "+OK"},
                        {{"GET", "k"}, "-ERR store 'sql' unavailable: sqlite *"},
                        {{"STORE", "array"}, "+OK"},
                        {{"SET", "k", "v"}, "+OK"},
                    });
}

class PostgresOutageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    url_ = PostgresUrl();
    if (url_.empty()) GTEST_SKIP() << "ARVEL_TEST_POSTGRES_URL is not set";
    if (!Psql(url_, "SELECT 1")) GTEST_SKIP() << "PostgreSQL unreachable (or no psql)";
    relay_ = std::make_unique<Relay>(PortOf(url_));
    table_ = "arvel_outage_" + std::to_string(getpid());
  }
  void TearDown() override {
    relay_.reset();
    if (!url_.empty()) Psql(url_, "DROP TABLE IF EXISTS " + table_ + ", " + table_ + "_locks");
  }
  DaemonOptions Options() const {
    return DaemonOptions().Config("[stores.pg]\ndriver = \"database\"\nurl = \"" +
                                  WithPort(url_, relay_->port()) + "\"\ntable = \"" + table_ +
                                  "\"\n");
  }

  std::string url_;
  std::string table_;
  std::unique_ptr<Relay> relay_;
};

TEST_F(PostgresOutageTest, StoreFailsFastWhileDownAndRecovers) {
  ASSERT_TRUE(relay_->Start());
  auto daemon = Daemon::Start(Options());
  Client client = daemon->Connect();
  RunScript(client, {{{"STORE", "pg"}, "+OK"}, {{"PUT", "k", "v"}, "+OK"}});

  relay_->Stop();  // the database goes away under the daemon
  std::string reply = WaitForReply(
      [&] {
        return client.Command({"GET", "k"});
      },
      "-ERR store 'pg' unavailable: postgresql: *", milliseconds(8000));
  EXPECT_THAT(reply, StartsWith("-ERR store 'pg' unavailable: postgresql: ")) << reply;
  const auto start = Clock::now();
  EXPECT_THAT(Show(client.Command({"GET", "k"})), StartsWith("-ERR store 'pg' unavailable"));
  EXPECT_LT(Clock::now() - start, milliseconds(500));  // fails fast while down
  Client other = daemon->Connect();
  EXPECT_EQ(Show(other.Command({"SET", "a", "1"})), "+OK");  // the array store still serves

  ASSERT_TRUE(relay_->Start());
  EXPECT_EQ(WaitForReply(
                [&] {
                  return client.Command({"GET", "k"});
                },
                "\"v\"", milliseconds(15000)),
            "\"v\"");
  EXPECT_THAT(daemon->Stderr(), HasSubstr("store 'pg' is available again"));
}

TEST_F(PostgresOutageTest, StoreDownAtStartupComesUpWhenTheDatabaseDoes) {
  ASSERT_TRUE(relay_->Start());  // reserves the port
  relay_->Stop();
  auto daemon = Daemon::Start(Options());
  ASSERT_NE(daemon->port(), 0);
  EXPECT_TRUE(daemon->WaitForStderr("store 'pg' unavailable", milliseconds(5000)));
  Client client = daemon->Connect();
  RunScript(client, {{{"STORE", "pg"}, "+OK"},
                     {{"PUT", "k", "v"}, "-ERR store 'pg' unavailable: postgresql: *"}});
  ASSERT_TRUE(relay_->Start());
  EXPECT_EQ(WaitForReply(
                [&] {
                  return client.Command({"PUT", "k", "v"});
                },
                "+OK", milliseconds(15000)),
            "+OK");
  EXPECT_EQ(Show(client.Command({"GET", "k"})), "\"v\"");
}

}  // namespace
}  // namespace arvel::integration
