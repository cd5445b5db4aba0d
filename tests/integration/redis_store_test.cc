// The `redis` driver in the real binary (SPEC §6): two daemons in front of one redis-server keep
// locks exclusive and counters and rate limits exact, a wait on one daemon wakes on the other's
// write through Redis's keyspace notifications (well before the 1 s safety re-check), and a
// FLUSH touches only its own prefix.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <future>
#include <thread>

#include "tests/integration/daemon.h"
#include "tests/unit/drivers/redis_test_server.h"

namespace arvel::integration {
namespace {

using Clock = std::chrono::steady_clock;

class RedisDaemonTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!testing::RedisServerInstalled()) GTEST_SKIP() << testing::kNoRedisServer;
    redis_ = std::make_unique<testing::RedisTestServer>();
  }

  DaemonOptions Options(const std::string& prefix = "app") const {
    return DaemonOptions().Config("default = \"shared\"\n[stores.shared]\ndriver = \"redis\"\n"
                                  "port = " +
                                  std::to_string(redis_->port()) + "\nprefix = \"" + prefix +
                                  "\"\n");
  }

  // Runs `each` `per_daemon` times on `clients` connections of every daemon at once; the sum of
  // what it returned.
  static long long RunConcurrently(const std::vector<Daemon*>& daemons, int clients,
                                   int per_client, const std::function<long long(Client&)>& each) {
    std::atomic<long long> total{0};
    std::vector<std::thread> threads;
    for (Daemon* daemon : daemons) {
      for (int c = 0; c < clients; ++c) {
        threads.emplace_back([&, port = daemon->port()] {
          Client client(port);
          for (int i = 0; i < per_client; ++i) total += each(client);
        });
      }
    }
    for (auto& t : threads) t.join();
    return total.load();
  }

  std::unique_ptr<testing::RedisTestServer> redis_;
};

TEST_F(RedisDaemonTest, OneLockHolderAcrossDaemons) {
  auto a = Daemon::Start(Options());
  auto b = Daemon::Start(Options());
  for (int round = 0; round < 5; ++round) {
    const std::string name = "job" + std::to_string(round);
    const long long granted = RunConcurrently({a.get(), b.get()}, 3, 1, [&](Client& client) {
      return client.Command({"LOCK", "ACQUIRE", name, "60"}).type == REDIS_REPLY_STRING ? 1 : 0;
    });
    EXPECT_EQ(granted, 1) << name;
  }
  Client ca = a->Connect();
  Client cb = b->Connect();
  Reply token = ca.Command({"LOCK", "ACQUIRE", "x", "60"});
  ASSERT_EQ(token.type, REDIS_REPLY_STRING) << Show(token);
  EXPECT_EQ(Show(cb.Command({"LOCK", "ACQUIRE", "x", "60"})), "(nil)");
  EXPECT_EQ(Show(cb.Command({"LOCK", "OWNER", "x"})), Show(token));
  EXPECT_EQ(Show(cb.Command({"LOCK", "RELEASE", "x", "not-the-token"})), ":0");
  EXPECT_EQ(Show(cb.Command({"LOCK", "RELEASE", "x", token.str})), ":1");
}

TEST_F(RedisDaemonTest, ThrottleAttemptsAcrossDaemonsAllowExactlyMax) {
  auto a = Daemon::Start(Options());
  auto b = Daemon::Start(Options());
  constexpr int kMax = 50;
  const long long allowed = RunConcurrently({a.get(), b.get()}, 3, 40, [](Client& client) {
    return IntegerOf(client, {"THROTTLE", "ATTEMPT", "login", std::to_string(kMax), "60"});
  });
  EXPECT_EQ(allowed, kMax);
  Client client = b->Connect();
  EXPECT_EQ(Show(client.Command({"THROTTLE", "ATTEMPTS", "login"})), ":50");
  const long long cell = RunConcurrently({a.get(), b.get()}, 2, 10, [](Client& c) {
    Reply reply = c.Command({"CL.THROTTLE", "api", "4", "1", "60"});
    return reply.elements.size() == 5 && reply.elements[0].integer == 0 ? 1 : 0;
  });
  EXPECT_EQ(cell, 5);  // a burst of max_burst + 1
}

TEST_F(RedisDaemonTest, CountersAcrossDaemonsAreExact) {
  auto a = Daemon::Start(Options());
  auto b = Daemon::Start(Options());
  RunConcurrently({a.get(), b.get()}, 3, 50, [](Client& client) {
    return IntegerOf(client, {"INCREMENT", "hits"}) > 0 ? 0 : 1;
  });
  Client client = a->Connect();
  EXPECT_EQ(Show(client.Command({"GET", "hits"})), "\"300\"");
  EXPECT_EQ(RunConcurrently({a.get(), b.get()}, 3, 5,
                            [](Client& c) { return IntegerOf(c, {"ADD", "once", "v", "60"}); }),
            1);
}

TEST_F(RedisDaemonTest, AWaitOnOneDaemonWakesOnTheOthersRelease) {
  auto a = Daemon::Start(Options());
  auto b = Daemon::Start(Options());
  Client ca = a->Connect();
  Reply token = ca.Command({"LOCK", "ACQUIRE", "job", "60"});
  ASSERT_EQ(token.type, REDIS_REPLY_STRING);
  auto waiter = std::async(std::launch::async, [port = b->port()] {
    Client cb(port);
    Reply reply = cb.Command({"LOCK", "BLOCK", "job", "60", "10"});
    return std::make_pair(reply, Clock::now());
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the waiter is parked
  const auto released = Clock::now();
  EXPECT_EQ(Show(ca.Command({"LOCK", "RELEASE", "job", token.str})), ":1");
  auto [reply, woke] = waiter.get();
  EXPECT_EQ(reply.type, REDIS_REPLY_STRING) << Show(reply);
  // Without notifications the waiter would re-check only after 1 s.
  EXPECT_LT(std::chrono::duration_cast<std::chrono::milliseconds>(woke - released).count(), 300);

  // REMEMBER: the fill on daemon A hands the value to a waiter on daemon B.
  EXPECT_EQ(Show(ca.Command({"REMEMBER", "report"})), "(nil)");
  auto remember = std::async(std::launch::async, [port = b->port()] {
    Client cb(port);
    return Show(cb.Command({"REMEMBER", "report"}));
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(Show(ca.Command({"PUT", "report", "done", "60"})), "+OK");
  ASSERT_EQ(remember.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  EXPECT_EQ(remember.get(), "\"done\"");
}

TEST_F(RedisDaemonTest, FlushTouchesOnlyItsPrefixAndTagsAreShared) {
  auto a = Daemon::Start(Options("one"));
  auto b = Daemon::Start(Options("two"));
  auto a2 = Daemon::Start(Options("one"));
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

}  // namespace
}  // namespace arvel::integration
