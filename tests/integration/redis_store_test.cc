// The `redis` store in the real binary (SPEC §6), next to its redis-server: a FLUSH touches only
// its own prefix; an upstream killed and restarted under load costs errors within the command
// timeout, never a crash or a hang, and the store (change listener included) recovers by
// itself; a slow upstream delays only that store while an `array` store of the same daemon
// answers at once. Each daemon is stopped at the end and must exit 0, which under
// AddressSanitizer (scripts/test.sh) also means it leaked nothing. Commands behaving the same
// across two and four daemons: redis_daemons_test.cc.

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/daemon.h"
#include "tests/integration/redis_daemons.h"
#include "tests/unit/drivers/redis_test_server.h"

namespace arvel::integration {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::string_view kUnavailable = "-ERR store 'shared' unavailable: ";

long long MillisSince(Clock::time_point start) {
  return std::chrono::duration_cast<milliseconds>(Clock::now() - start).count();
}

bool IsUnavailable(const std::string& shown) { return shown.starts_with(kUnavailable); }

class RedisDaemonTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!testing::RedisServerInstalled()) GTEST_SKIP() << testing::kNoRedisServer;
    redis_ = std::make_unique<testing::RedisTestServer>();
  }

  // A daemon with the redis store `shared` (the default; `timeout_ms` for its commands and
  // connects) and an array store `memory`.
  std::unique_ptr<Daemon> StartWithTimeout(int timeout_ms) {
    const std::string timeouts = "timeout = " + std::to_string(timeout_ms) +
                                 "\nconnect_timeout = " + std::to_string(timeout_ms) + "\n";
    return Daemon::Start(RedisDaemonOptions(redis_->port(), "app", timeouts,
                                            "[stores.memory]\ndriver = \"array\"\n"));
  }

  std::unique_ptr<testing::RedisTestServer> redis_;
};

TEST_F(RedisDaemonTest, FlushTouchesOnlyItsPrefixAndTagsAreShared) {
  auto a = Daemon::Start(RedisDaemonOptions(redis_->port(), "one"));
  auto b = Daemon::Start(RedisDaemonOptions(redis_->port(), "two"));
  auto a2 = Daemon::Start(RedisDaemonOptions(redis_->port(), "one"));
  Client ca = a->Connect();
  Client cb = b->Connect();
  Client ca2 = a2->Connect();
  ASSERT_EQ(Show(ca.Command({"PUT", "k", "one", "600"})), "+OK");
  ASSERT_EQ(Show(cb.Command({"PUT", "k", "two", "600"})), "+OK");
  ASSERT_EQ(Show(ca.Command({"TAGS", "people", "PUT", "john", "v", "600"})), "+OK");
  EXPECT_EQ(Show(ca2.Command({"TAGS", "people", "GET", "john"})), "\"v\"");
  EXPECT_EQ(Show(ca2.Command({"TAGS", "people", "FLUSH"})), "+OK");
  EXPECT_EQ(Show(ca.Command({"TAGS", "people", "GET", "john"})), "(nil)");
  EXPECT_EQ(Show(ca.Command({"FLUSH"})), "+OK");
  EXPECT_EQ(Show(ca2.Command({"GET", "k"})), "(nil)");
  EXPECT_EQ(Show(cb.Command({"GET", "k"})), "\"two\"");
  EXPECT_EQ(Show(cb.Command({"DBSIZE"})), ":1");
  EXPECT_EQ(redis_->Command({"GET", "two:d:k"}), "$two");
}

// Connections of `redis` subscribed to a channel (the daemons' change listeners).
int Subscribers(const testing::RedisTestServer& redis) {
  const std::string clients = redis.Command({"CLIENT", "LIST"});
  int n = 0;
  for (size_t at = clients.find(" sub=1"); at != std::string::npos;
       at = clients.find(" sub=1", at + 1)) {
    n++;
  }
  return n;
}

// What the load threads of UpstreamKilledAndRestartedUnderLoad saw.
struct LoadRecord {
  std::mutex mu;
  long long ok = 0;
  long long unavailable = 0;
  long long slowest_ms = 0;
  std::vector<std::string> unexpected;  // GUARDED_BY(mu)
};

// One client's loop until `stop`: a mix of cache commands on the redis store; each reply must be
// its normal one or the store's unavailable error, and come within the command timeout.
void RunLoad(int port, int id, std::atomic<bool>& stop, LoadRecord& record) {
  Client client(port, milliseconds(5000));
  for (long long i = 0; !stop; ++i) {
    const std::string key = "k" + std::to_string(id) + "_" + std::to_string(i % 50);
    std::vector<std::string> command;
    switch (i % 5) {
      case 0:
        command = {"PUT", key, "v", "60"};
        break;
      case 1:
        command = {"GET", key};
        break;
      case 2:
        command = {"INCREMENT", "n" + std::to_string(id)};
        break;
      case 3:
        command = {"THROTTLE", "HIT", "t" + std::to_string(id), "60"};
        break;
      default:
        command = {"TAGS", "load", "PUT", key, "v", "60"};
        break;
    }
    const auto start = Clock::now();
    const std::string shown = Show(client.Command(command));
    const long long took = MillisSince(start);
    std::lock_guard lock(record.mu);
    record.slowest_ms = std::max(record.slowest_ms, took);
    if (IsUnavailable(shown)) {
      record.unavailable++;
    } else if (shown.starts_with("-") || shown.starts_with("(no reply")) {
      record.unexpected.push_back(Join(command) + " -> " + shown);
      return;
    } else {
      record.ok++;
    }
  }
}

TEST_F(RedisDaemonTest, UpstreamKilledAndRestartedUnderLoad) {
  constexpr int kTimeoutMs = 500;
  auto a = StartWithTimeout(kTimeoutMs);
  auto b = StartWithTimeout(kTimeoutMs);
  ASSERT_NE(a->port(), 0);
  ASSERT_NE(b->port(), 0);
  std::atomic<bool> stop{false};
  LoadRecord record;
  std::vector<std::thread> load;
  for (int id = 0; id < 6; ++id) {
    load.emplace_back(RunLoad, (id % 2 ? b : a)->port(), id, std::ref(stop), std::ref(record));
  }
  auto ok_so_far = [&] {
    std::lock_guard lock(record.mu);
    return record.ok;
  };
  const auto loaded = Clock::now() + milliseconds(5000);
  while (ok_so_far() == 0 && Clock::now() < loaded) std::this_thread::sleep_for(milliseconds(20));
  EXPECT_GT(ok_so_far(), 0);

  redis_->Kill();
  std::this_thread::sleep_for(milliseconds(600));  // the load runs on while the upstream is down
  // Down: the array store of the same daemon does not notice.
  Client memory = a->Connect();
  ASSERT_EQ(Show(memory.Command({"STORE", "memory"})), "+OK");
  auto start = Clock::now();
  EXPECT_EQ(Show(memory.Command({"PUT", "local", "v", "60"})), "+OK");
  EXPECT_LT(MillisSince(start), 100);
  Client direct = a->Connect();
  start = Clock::now();
  EXPECT_TRUE(IsUnavailable(Show(direct.Command({"GET", "k"}))));
  EXPECT_LT(MillisSince(start), kTimeoutMs);

  ASSERT_TRUE(redis_->Restart());
  const long long ok_at_restart = ok_so_far();
  // Every daemon heals by itself (reconnect backoff is at most 2 s).
  for (Daemon* d : {a.get(), b.get()}) {
    Client client = d->Connect();
    std::string healed;
    const auto deadline = Clock::now() + milliseconds(5000);
    while (healed != "+OK" && Clock::now() < deadline) {
      healed = Show(client.Command({"PUT", "healed", "yes", "60"}));
      if (healed != "+OK") std::this_thread::sleep_for(milliseconds(20));
    }
    EXPECT_EQ(healed, "+OK");
  }
  std::this_thread::sleep_for(milliseconds(300));  // the load runs on after the recovery
  stop = true;
  for (auto& t : load) t.join();

  EXPECT_TRUE(record.unexpected.empty()) << record.unexpected.front();
  EXPECT_GT(record.unavailable, 0);
  EXPECT_GT(record.ok, ok_at_restart) << "no command succeeded after the restart";
  // A killed server drops its connections: errors come at once, and never later than the
  // command timeout (plus the watchdog's period and some slack for a busy machine).
  EXPECT_LT(record.slowest_ms, kTimeoutMs + 500);

  // Full recovery: both change listeners are back, so a wait on one daemon wakes on the
  // other's release long before the 1 s safety re-check.
  const auto listening = Clock::now() + milliseconds(5000);
  while (Subscribers(*redis_) != 2 && Clock::now() < listening) {
    std::this_thread::sleep_for(milliseconds(20));
  }
  EXPECT_EQ(Subscribers(*redis_), 2);
  Client ca = a->Connect();
  Reply token = ca.Command({"LOCK", "ACQUIRE", "job", "60"});
  ASSERT_EQ(token.type, REDIS_REPLY_STRING) << Show(token);
  auto waiter = std::async(std::launch::async, [port = b->port()] {
    Client cb(port);
    Reply reply = cb.Command({"LOCK", "BLOCK", "job", "60", "5"});
    return std::make_pair(reply, Clock::now());
  });
  EXPECT_TRUE(WaitForInfoField(*b, "lock_waiters"));
  std::this_thread::sleep_for(milliseconds(15));  // the waiter's first look is over
  const auto released = Clock::now();
  EXPECT_EQ(Show(ca.Command({"LOCK", "RELEASE", "job", token.str})), ":1");
  auto [reply, woke] = waiter.get();
  EXPECT_EQ(reply.type, REDIS_REPLY_STRING) << Show(reply);
  EXPECT_LT(std::chrono::duration_cast<milliseconds>(woke - released).count(), 300);
  Client cb = b->Connect();
  EXPECT_EQ(Show(cb.Command({"GET", "healed"})), "\"yes\"");

  EXPECT_EQ(a->Stop(), 0) << a->Stderr();
  EXPECT_EQ(b->Stop(), 0) << b->Stderr();
}

// Sends DEBUG SLEEP `seconds` to the server from another thread; the future is its reply.
std::future<std::string> SleepUpstream(int port, const std::string& seconds) {
  auto slept = std::async(std::launch::async, [port, seconds] {
    return testing::RedisCommand(port, {"DEBUG", "SLEEP", seconds});
  });
  std::this_thread::sleep_for(milliseconds(50));  // the server is asleep now
  return slept;
}

TEST_F(RedisDaemonTest, ASlowUpstreamDelaysOnlyItsStore) {
  auto daemon = StartWithTimeout(1000);
  ASSERT_NE(daemon->port(), 0);
  Client shared = daemon->Connect();
  Client memory = daemon->Connect();
  ASSERT_EQ(Show(memory.Command({"STORE", "memory"})), "+OK");
  ASSERT_EQ(Show(shared.Command({"PUT", "k", "v", "60"})), "+OK");

  // Shorter than the timeout: the redis store's commands wait for Redis and succeed.
  auto slept = SleepUpstream(redis_->port(), "0.5");
  auto start = Clock::now();
  auto slow = std::async(std::launch::async, [&] { return Show(shared.Command({"GET", "k"})); });
  long long slowest_local = 0;
  for (int i = 0; i < 20; ++i) {
    const auto t = Clock::now();
    EXPECT_EQ(Show(memory.Command({"INCREMENT", "local"})), ":" + std::to_string(i + 1));
    slowest_local = std::max(slowest_local, MillisSince(t));
    std::this_thread::sleep_for(milliseconds(5));  // a client's pace
  }
  EXPECT_LT(slowest_local, 50) << "the array store waited for the sleeping redis store";
  EXPECT_EQ(slow.get(), "\"v\"");
  EXPECT_GE(MillisSince(start), 300) << "DEBUG SLEEP did not delay the redis store";
  EXPECT_EQ(slept.get(), "+OK");

  // Longer than the timeout: the redis store's commands fail within it, the array store goes
  // on, and the redis store heals once Redis answers again.
  slept = SleepUpstream(redis_->port(), "1.5");
  start = Clock::now();
  slow = std::async(std::launch::async, [&] { return Show(shared.Command({"GET", "k"})); });
  for (int i = 0; i < 20; ++i) {
    const auto t = Clock::now();
    EXPECT_EQ(Show(memory.Command({"GET", "local"})), "\"20\"");
    slowest_local = std::max(slowest_local, MillisSince(t));
    std::this_thread::sleep_for(milliseconds(5));  // a client's pace
  }
  const std::string timed_out = slow.get();
  const long long waited = MillisSince(start);
  EXPECT_TRUE(IsUnavailable(timed_out)) << timed_out;
  EXPECT_GE(waited, 900);
  EXPECT_LT(waited, 1700);
  EXPECT_LT(slowest_local, 50);
  EXPECT_EQ(slept.get(), "+OK");
  std::string healed;
  const auto deadline = Clock::now() + milliseconds(5000);
  while (healed != "\"v\"" && Clock::now() < deadline) {
    healed = Show(shared.Command({"GET", "k"}));
    if (healed != "\"v\"") std::this_thread::sleep_for(milliseconds(20));
  }
  EXPECT_EQ(healed, "\"v\"");
  EXPECT_EQ(daemon->Stop(), 0) << daemon->Stderr();
}

}  // namespace
}  // namespace arvel::integration
