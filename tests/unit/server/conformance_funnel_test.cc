// FUNNEL (SPEC §4, Concurrency limiting) in the driver conformance suite (conformance.h): the
// same replies, and never more than `limit` holders, on every driver.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tests/unit/server/conformance.h"

namespace arvel::testing {
namespace {

using std::chrono::milliseconds;

bool IsToken(const Reply& reply) {
  return reply.type == REDIS_REPLY_STRING && reply.str.size() == 32 &&
         reply.str.find_first_not_of("0123456789abcdef") == std::string::npos;
}

long long CountOf(Client& client, const std::string& name) {
  Reply count = client.Command({"FUNNEL", "COUNT", name});
  return count.type == REDIS_REPLY_INTEGER ? count.integer : -1;
}

// Clients queued in LOCK BLOCK and FUNNEL … BLOCK. (Not blocked_clients: a command waiting for
// a slow store counts there too.)
int64_t Queued(Client& client) { return InfoField(client, "stores", "lock_waiters"); }

TEST_P(StoreConformanceTest, FunnelAcquireReleaseCount) {
  Reply a = Command({"FUNNEL", "ACQUIRE", "mail", "2", "60"});
  Reply b = Command({"FUNNEL", "ACQUIRE", "mail", "2", "0"});
  ASSERT_TRUE(IsToken(a)) << Text(a);
  ASSERT_TRUE(IsToken(b)) << Text(b);
  EXPECT_NE(a.str, b.str);
  EXPECT_EQ(Run({"FUNNEL", "ACQUIRE", "mail", "2", "60"}), "(nil)");
  EXPECT_EQ(Run({"FUNNEL", "COUNT", "mail"}), ":2");
  EXPECT_EQ(Run({"FUNNEL", "RELEASE", "mail", "not-a-holder"}), ":0");
  EXPECT_EQ(Run({"FUNNEL", "RELEASE", "mail", a.str}), ":1");
  EXPECT_EQ(Run({"FUNNEL", "RELEASE", "mail", a.str}), ":0");
  EXPECT_EQ(Run({"FUNNEL", "COUNT", "mail"}), ":1");
  // A larger limit lets more in; the slot with ttl 0 stays until released.
  EXPECT_TRUE(IsToken(Command({"FUNNEL", "ACQUIRE", "mail", "3", "60"})));
  EXPECT_TRUE(IsToken(Command({"FUNNEL", "ACQUIRE", "mail", "3", "60", "BLOCK", "0"})));
  EXPECT_EQ(Run({"FUNNEL", "ACQUIRE", "mail", "3", "60", "BLOCK", "0.05"}), "(nil)");
  EXPECT_EQ(Run({"FUNNEL", "COUNT", "mail"}), ":3");
  EXPECT_EQ(Run({"FUNNEL", "RELEASE", "mail", b.str}), ":1");
  EXPECT_EQ(Run({"FUNNEL", "COUNT", "mail"}), ":2");
  // Funnels never meet keys or locks of the same name.
  EXPECT_EQ(Run({"FUNNEL", "COUNT", "other"}), ":0");
  EXPECT_EQ(Run({"EXISTS", "mail"}), ":0");
  EXPECT_EQ(Run({"DBSIZE"}), ":0");
  EXPECT_EQ(Run({"LOCK", "OWNER", "mail"}), "(nil)");
  EXPECT_EQ(Run({"LOCK", "ACQUIRE", "mail", "60", "OWNER", "w"}), "$w");
  EXPECT_EQ(Run({"FUNNEL", "COUNT", "mail"}), ":2");
  EXPECT_EQ(Run({"LOCK", "FORCERELEASE", "mail"}), ":1");
  EXPECT_EQ(Run({"FUNNEL", "COUNT", "mail"}), ":2");
  // Arguments.
  EXPECT_EQ(Run({"FUNNEL", "ACQUIRE", "mail", "0", "60"}), "-ERR limit must be a positive integer");
  EXPECT_EQ(Run({"FUNNEL", "ACQUIRE", "mail", "2", "-1"}),
            "-ERR invalid expire time in 'funnel' command");
  EXPECT_EQ(Run({"FUNNEL", "ACQUIRE", "mail", "2", "60", "BOGUS"}), "-ERR syntax error");
  EXPECT_EQ(Run({"FUNNEL", "ACQUIRE", "mail", "2", "60", "BLOCK", "-1"}),
            "-ERR timeout is negative");
}

TEST_P(StoreConformanceTest, FunnelSlotRunsOutAndWakesAWaiter) {
  ASSERT_TRUE(IsToken(Command({"FUNNEL", "ACQUIRE", "short", "1", "1"})));
  const auto start = std::chrono::steady_clock::now();
  auto waiter = std::async(std::launch::async, [port = server().port()] {
    Client client(port);
    return client.Command({"FUNNEL", "ACQUIRE", "short", "1", "60", "BLOCK", "5"});
  });
  ASSERT_EQ(waiter.wait_for(milliseconds(Settle(4000))), std::future_status::ready);
  EXPECT_TRUE(IsToken(waiter.get()));
  EXPECT_GE(MillisSince(start), 900);  // the slot's second, less the store's rounding
  EXPECT_EQ(Run({"FUNNEL", "COUNT", "short"}), ":1");
}

TEST_P(StoreConformanceTest, FunnelSessionSlotIsFreeWithin100Ms) {
  auto holder = std::make_unique<Client>(Connect());
  ASSERT_TRUE(IsToken(holder->Command({"FUNNEL", "ACQUIRE", "export", "1", "60", "SESSION"})));
  EXPECT_EQ(Run({"FUNNEL", "COUNT", "export"}), ":1");
  const auto closed = std::chrono::steady_clock::now();
  holder.reset();
  long long count = 1;
  while ((count = CountOf(client(), "export")) != 0 && MillisSince(closed) < 2000) {
    std::this_thread::sleep_for(milliseconds(1));  // poll: the close is the server's to notice
  }
  EXPECT_EQ(count, 0);
  EXPECT_LT(MillisSince(closed), 100);
  EXPECT_TRUE(IsToken(Command({"FUNNEL", "ACQUIRE", "export", "1", "60"})));
}

// 30 clients, 5 slots: each waits (BLOCK), holds its slot 10 ms, gives it back. They arrive
// one after another (each once the one before is parked or served), and are served in that
// order, never more than 5 at once — as the test counts and as FUNNEL COUNT says throughout.
TEST_P(StoreConformanceTest, FunnelServesThirtyClientsFiveAtATimeInOrder) {
  constexpr int kClients = 30;
  constexpr int kLimit = 5;
  std::atomic<int> holders{0}, most_holders{0}, answered{0}, served{0};
  std::mutex mu;
  std::vector<int> order;  // GUARDED_BY(mu)
  std::atomic<bool> done{false};
  std::atomic<long long> most_counted{0};
  std::thread sampler([&, port = server().port()] {
    Client client(port);
    while (!done) {
      const long long count = CountOf(client, "pool");
      if (count > most_counted) most_counted = count;
    }
  });
  std::vector<std::thread> threads;
  for (int i = 0; i < kClients; ++i) {
    threads.emplace_back([&, i, port = server().port()] {
      Client client(port);
      Reply token = client.Command({"FUNNEL", "ACQUIRE", "pool", "5", "60", "BLOCK", "20"});
      ++answered;
      if (!IsToken(token)) return;
      const int now = ++holders;
      int most = most_holders;
      while (now > most && !most_holders.compare_exchange_weak(most, now)) {
      }
      {
        std::lock_guard lock(mu);
        order.push_back(i);
      }
      std::this_thread::sleep_for(milliseconds(10));
      --holders;
      if (client.Command({"FUNNEL", "RELEASE", "pool", token.str}).integer == 1) ++served;
    });
    // The next one arrives once this one is queued or has its answer.
    const auto start = std::chrono::steady_clock::now();
    while (answered + Queued(client()) < i + 1 && MillisSince(start) < 5000) {
      std::this_thread::sleep_for(milliseconds(1));
    }
  }
  for (auto& t : threads) t.join();
  done = true;
  sampler.join();
  EXPECT_EQ(served.load(), kClients);
  EXPECT_LE(most_holders.load(), kLimit);
  EXPECT_LE(most_counted.load(), kLimit);
  EXPECT_GE(most_counted.load(), 1);
  // Grants that land close together may be noted in either order by their threads (a thread
  // can be descheduled between its reply and its note), so a client may be noted a few places
  // from its arrival; the strict order is the next test's.
  ASSERT_EQ(order.size(), static_cast<size_t>(kClients));
  for (int place = 0; place < kClients; ++place) {
    EXPECT_LT(std::abs(order[place] - place), 2 * kLimit) << "client " << order[place];
  }
  EXPECT_EQ(Run({"FUNNEL", "COUNT", "pool"}), ":0");
}

// Strict first come, first served: one slot goes round while the others stay taken, so each
// grant follows the release of the one before.
TEST_P(StoreConformanceTest, FunnelWaitersAreServedFirstComeFirstServed) {
  constexpr int kWaiters = 10;
  std::vector<std::string> mine;
  for (int i = 0; i < 3; ++i) mine.push_back(Command({"FUNNEL", "ACQUIRE", "fifo", "3", "0"}).str);
  std::mutex mu;
  std::vector<int> order;  // GUARDED_BY(mu)
  std::vector<std::thread> threads;
  for (int i = 0; i < kWaiters; ++i) {
    threads.emplace_back([&, i, port = server().port()] {
      Client client(port);
      Reply token = client.Command({"FUNNEL", "ACQUIRE", "fifo", "3", "60", "BLOCK", "20"});
      if (!IsToken(token)) return;
      {
        std::lock_guard lock(mu);
        order.push_back(i);
      }
      client.Command({"FUNNEL", "RELEASE", "fifo", token.str});
    });
    const auto start = std::chrono::steady_clock::now();
    while (Queued(client()) < i + 1 && MillisSince(start) < 5000) {
      std::this_thread::sleep_for(milliseconds(1));
    }
    EXPECT_EQ(Queued(client()), i + 1);
  }
  EXPECT_EQ(Run({"FUNNEL", "RELEASE", "fifo", mine[0]}), ":1");
  for (auto& t : threads) t.join();
  std::vector<int> arrival(kWaiters);
  for (int i = 0; i < kWaiters; ++i) arrival[i] = i;
  EXPECT_EQ(order, arrival);
  EXPECT_EQ(Run({"FUNNEL", "COUNT", "fifo"}), ":2");
}

// Two daemons on one store: the limit counts the holders of both.
TEST_P(SharedStoreConformanceTest, FunnelLimitHoldsAcrossDaemons) {
  std::unique_ptr<ServerFixture> other = AnotherDaemon();
  constexpr int kLimit = 2;
  std::atomic<int> inside{0}, most{0}, served{0};
  std::vector<std::thread> threads;
  for (int c = 0; c < 6; ++c) {
    threads.emplace_back([&, port = c % 2 == 0 ? server().port() : other->port()] {
      Client client(port);
      for (int i = 0; i < 4; ++i) {
        Reply token = client.Command({"FUNNEL", "ACQUIRE", "both", "2", "10", "BLOCK", "20"});
        if (!IsToken(token)) continue;
        const int now = ++inside;
        int seen = most;
        while (now > seen && !most.compare_exchange_weak(seen, now)) {
        }
        std::this_thread::sleep_for(milliseconds(2));  // an excess would show
        --inside;
        if (client.Command({"FUNNEL", "RELEASE", "both", token.str}).integer == 1) ++served;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(served.load(), 24);
  EXPECT_LE(most.load(), kLimit);
  EXPECT_EQ(Run({"FUNNEL", "COUNT", "both"}), ":0");
}

// The store's change notifications wake the waiter at once; one may be lost under load (the
// waiter then wakes at its 1 s safety re-check), so the median of three rounds is what counts.
TEST_P(SharedStoreConformanceTest, FunnelWaiterOnAnotherDaemonGetsAReleasedSlot) {
  std::unique_ptr<ServerFixture> other = AnotherDaemon();
  Client there = other->Connect();
  std::vector<int64_t> latencies;
  for (int round = 0; round < 3; ++round) {
    const std::string name = "handover" + std::to_string(round);
    Reply token = Command({"FUNNEL", "ACQUIRE", name, "1", "60"});
    ASSERT_TRUE(IsToken(token)) << Text(token);
    auto waiter = std::async(std::launch::async, [port = other->port(), name] {
      Client client(port);
      return client.Command({"FUNNEL", "ACQUIRE", name, "1", "60", "BLOCK", "5"});
    });
    const auto start = std::chrono::steady_clock::now();
    while (Queued(there) < 1 && MillisSince(start) < 5000) {
      std::this_thread::sleep_for(milliseconds(1));
    }
    EXPECT_EQ(Queued(there), 1);
    const auto released = std::chrono::steady_clock::now();
    EXPECT_EQ(Run({"FUNNEL", "RELEASE", name, token.str}), ":1");
    ASSERT_EQ(waiter.wait_for(milliseconds(5000)), std::future_status::ready);
    latencies.push_back(MillisSince(released));
    EXPECT_TRUE(IsToken(waiter.get()));
    EXPECT_EQ(Run({"FUNNEL", "COUNT", name}), ":1");
  }
  std::sort(latencies.begin(), latencies.end());
  EXPECT_LT(latencies[1], 1000);  // the release, not the TTL (60 s) or the timeout (5 s)
}

}  // namespace
}  // namespace arvel::testing
