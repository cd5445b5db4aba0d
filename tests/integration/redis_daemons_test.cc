// Two and four arvel-cached daemons in front of one redis-server (SPEC §6, `redis`; issue 8):
// every cache command keeps its meaning across all of them.
// - LOCK: critical sections guarded by LOCK BLOCK never overlap, whichever daemon the holders
//   use (checked in this process, and by a read-modify-write that would lose updates); each
//   holder's FENCED number is above every earlier holder's, whichever daemon granted it; a
//   SESSION lock whose client closes frees a waiter on another daemon at once;
// - FUNNEL: never more than `limit` holders whichever daemons they use; a BLOCK waiter on one
//   daemon gets the slot another daemon's client gives back, at once;
// - THROTTLE / CL.THROTTLE allow exactly what one daemon would; INCREMENT and ADD are exact;
// - TAGS … FLUSH on one daemon hides the items on every daemon at once (no read that starts
//   after the flush's reply sees them);
// - REMEMBER is single flight across daemons: one caller computes, every other waits and gets
//   its value;
// - a waiter on one daemon wakes within milliseconds of another daemon's write (Redis's client
//   tracking, not the 1 s safety re-check): p50 < 5 ms over 20 rounds.
// Everything is bounded: fixed rounds, client receive timeouts, waits of a few seconds.

#include "tests/integration/redis_daemons.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <barrier>
#include <chrono>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/daemon.h"
#include "tests/unit/drivers/redis_test_server.h"

namespace arvel::integration {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int kWakeupRounds = 20;

double MillisBetween(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double, std::milli>(to - from).count();
}

class RedisDaemonsTest : public ::testing::TestWithParam<int> {
 protected:
  void SetUp() override {
    if (!testing::RedisServerInstalled()) GTEST_SKIP() << testing::kNoRedisServer;
    redis_ = std::make_unique<testing::RedisTestServer>();
    for (int i = 0; i < GetParam(); ++i) {
      owned_.push_back(Daemon::Start(RedisDaemonOptions(redis_->port(), "app")));
      ASSERT_NE(owned_.back()->port(), 0);
      daemons_.push_back(owned_.back().get());
    }
  }

  Daemon& daemon(size_t i) { return *daemons_[i % daemons_.size()]; }

  std::unique_ptr<testing::RedisTestServer> redis_;
  std::vector<std::unique_ptr<Daemon>> owned_;
  std::vector<Daemon*> daemons_;
};

TEST_P(RedisDaemonsTest, OneLockHolderAtATime) {
  // ACQUIRE races: exactly one winner per name.
  for (int round = 0; round < 5; ++round) {
    const std::string name = "race" + std::to_string(round);
    const long long granted = RunOnAll(daemons_, 3, 1, [&](Client& client, size_t, int) {
      return client.Command({"LOCK", "ACQUIRE", name, "60"}).type == REDIS_REPLY_STRING ? 1 : 0;
    });
    EXPECT_EQ(granted, 1) << name;
  }

  // BLOCK under contention: every client of every daemon enters the critical section
  // kSections times; inside, a GET + SET through its own daemon would lose increments if two
  // holders ever overlapped.
  constexpr int kSections = 8;
  std::atomic<int> inside{0};
  std::atomic<int> overlaps{0};
  const long long entered = RunOnAll(daemons_, 2, kSections, [&](Client& client, size_t, int) {
    Reply token = client.Command({"LOCK", "BLOCK", "section", "10", "10"});
    if (token.type != REDIS_REPLY_STRING) {
      ADD_FAILURE() << "LOCK BLOCK: " << Show(token);
      return 0;
    }
    if (inside.fetch_add(1) != 0) overlaps++;
    Reply seen = client.Command({"GET", "guarded"});
    const long long value = seen.is_nil() ? 0 : std::stoll(seen.str);
    std::this_thread::sleep_for(std::chrono::microseconds(300));  // an overlap would show
    EXPECT_EQ(Show(client.Command({"SET", "guarded", std::to_string(value + 1)})), "+OK");
    inside.fetch_sub(1);
    EXPECT_EQ(Show(client.Command({"LOCK", "RELEASE", "section", token.str})), ":1");
    return 1;
  });
  const long long expected = static_cast<long long>(daemons_.size()) * 2 * kSections;
  EXPECT_EQ(entered, expected);
  EXPECT_EQ(overlaps.load(), 0);
  Client client = daemon(1).Connect();
  EXPECT_EQ(Show(client.Command({"GET", "guarded"})), "\"" + std::to_string(expected) + "\"");
  EXPECT_EQ(Show(client.Command({"LOCK", "OWNER", "section"})), "(nil)");
}

TEST_P(RedisDaemonsTest, FencingNumbersGrowInTheOrderOfHolders) {
  // Inside its critical section each holder compares its number with the last holder's: the
  // order in which daemons grant the lock is the order of the numbers.
  constexpr int kSections = 8;
  std::mutex mu;
  long long last = 0;
  std::vector<long long> out_of_order;
  const long long entered = RunOnAll(daemons_, 2, kSections, [&](Client& client, size_t, int) {
    Reply grant = client.Command({"LOCK", "BLOCK", "ledger", "10", "10", "FENCED"});
    if (grant.type != REDIS_REPLY_ARRAY || grant.elements.size() != 2) {
      ADD_FAILURE() << "LOCK BLOCK … FENCED: " << Show(grant);
      return 0;
    }
    {
      std::lock_guard lock(mu);
      if (grant.elements[1].integer <= last) out_of_order.push_back(grant.elements[1].integer);
      last = grant.elements[1].integer;
    }
    EXPECT_EQ(Show(client.Command({"LOCK", "RELEASE", "ledger", grant.elements[0].str})), ":1");
    return 1;
  });
  const long long expected = static_cast<long long>(daemons_.size()) * 2 * kSections;
  EXPECT_EQ(entered, expected);
  EXPECT_TRUE(out_of_order.empty()) << out_of_order.size() << " numbers out of order";
  EXPECT_EQ(last, expected);  // one number per acquisition, none lost or repeated
}

TEST_P(RedisDaemonsTest, ASessionLockFreesAWaiterOnAnotherDaemonWhenItsClientCloses) {
  auto holder = std::make_unique<Client>(daemon(0).port());
  ASSERT_EQ(Show(holder->Command({"LOCK", "ACQUIRE", "import", "60", "OWNER", "a", "SESSION"})),
            "\"a\"");
  Reply waited;
  std::thread waiter([&] {
    Client client = daemon(1).Connect();
    waited = client.Command({"LOCK", "BLOCK", "import", "60", "5", "OWNER", "b"});
  });
  EXPECT_TRUE(WaitForInfoField(daemon(1), "blocked_clients"));
  const Clock::time_point closed = Clock::now();
  holder.reset();
  waiter.join();
  // Woken by the release, not by the TTL (60 s) or its timeout (5 s).
  EXPECT_LT(MillisBetween(closed, Clock::now()), 1000);
  EXPECT_EQ(Show(waited), "\"b\"");
}

TEST_P(RedisDaemonsTest, FunnelNeverHasMoreThanItsLimitOfHolders) {
  constexpr int kLimit = 3;
  constexpr int kSections = 6;
  std::atomic<int> inside{0}, most{0};
  const long long entered = RunOnAll(daemons_, 3, kSections, [&](Client& client, size_t, int) {
    Reply token =
        client.Command({"FUNNEL", "ACQUIRE", "pool", std::to_string(kLimit), "10", "BLOCK", "20"});
    if (token.type != REDIS_REPLY_STRING) {
      ADD_FAILURE() << "FUNNEL ACQUIRE … BLOCK: " << Show(token);
      return 0;
    }
    const int now = ++inside;
    int seen = most;
    while (now > seen && !most.compare_exchange_weak(seen, now)) {
    }
    std::this_thread::sleep_for(std::chrono::microseconds(500));  // an excess would show
    --inside;
    EXPECT_EQ(Show(client.Command({"FUNNEL", "RELEASE", "pool", token.str})), ":1");
    return 1;
  });
  EXPECT_EQ(entered, static_cast<long long>(daemons_.size()) * 3 * kSections);
  EXPECT_LE(most.load(), kLimit);
  EXPECT_GE(most.load(), 1);
  Client client = daemon(1).Connect();
  EXPECT_EQ(Show(client.Command({"FUNNEL", "COUNT", "pool"})), ":0");
}

TEST_P(RedisDaemonsTest, AFunnelWaiterOnAnotherDaemonGetsAReleasedSlotAtOnce) {
  Client holder = daemon(0).Connect();
  Reply token = holder.Command({"FUNNEL", "ACQUIRE", "export", "1", "60"});
  ASSERT_EQ(token.type, REDIS_REPLY_STRING) << Show(token);
  Reply waited;
  std::thread waiter([&] {
    Client client = daemon(1).Connect();
    waited = client.Command({"FUNNEL", "ACQUIRE", "export", "1", "60", "BLOCK", "5"});
  });
  EXPECT_TRUE(WaitForInfoField(daemon(1), "blocked_clients"));
  const Clock::time_point released = Clock::now();
  EXPECT_EQ(Show(holder.Command({"FUNNEL", "RELEASE", "export", token.str})), ":1");
  waiter.join();
  // Woken by the release (Redis's client tracking), not by the TTL (60 s) or its timeout (5 s).
  EXPECT_LT(MillisBetween(released, Clock::now()), 1000);
  EXPECT_EQ(waited.type, REDIS_REPLY_STRING) << Show(waited);
  EXPECT_EQ(Show(holder.Command({"FUNNEL", "COUNT", "export"})), ":1");
}

TEST_P(RedisDaemonsTest, ThrottleIsExactAcrossDaemons) {
  constexpr int kMax = 50;
  const long long allowed = RunOnAll(daemons_, 3, 25, [](Client& client, size_t, int) {
    return IntegerOf(client, {"THROTTLE", "ATTEMPT", "login", std::to_string(kMax), "60"});
  });
  EXPECT_EQ(allowed, kMax);
  for (Daemon* d : daemons_) {
    Client client = d->Connect();
    EXPECT_EQ(Show(client.Command({"THROTTLE", "ATTEMPTS", "login"})), ":" + std::to_string(kMax));
    EXPECT_EQ(Show(client.Command({"THROTTLE", "TOOMANY", "login", "50"})), ":1");
  }

  // HIT counts every hit exactly.
  const long long hits = RunOnAll(daemons_, 2, 10, [](Client& client, size_t, int) {
    return IntegerOf(client, {"THROTTLE", "HIT", "hits", "60"}) > 0 ? 1 : 0;
  });
  Client client = daemon(0).Connect();
  EXPECT_EQ(Show(client.Command({"THROTTLE", "ATTEMPTS", "hits"})), ":" + std::to_string(hits));

  // GCRA: a burst of max_burst + 1 requests passes within one period, however many daemons ask.
  const long long cell = RunOnAll(daemons_, 2, 10, [](Client& c, size_t, int) {
    Reply reply = c.Command({"CL.THROTTLE", "api", "4", "1", "60"});
    EXPECT_EQ(reply.elements.size(), 5u) << Show(reply);
    return reply.elements.size() == 5 && reply.elements[0].integer == 0 ? 1 : 0;
  });
  EXPECT_EQ(cell, 5);
}

TEST_P(RedisDaemonsTest, CountersAreExactAcrossDaemons) {
  constexpr int kPerClient = 40;
  RunOnAll(daemons_, 3, kPerClient, [](Client& client, size_t, int) {
    // Every daemon adds 1s and 3s, and takes 2s back: the sum is known in advance.
    IntegerOf(client, {"INCREMENT", "hits"});
    IntegerOf(client, {"INCREMENT", "weighted", "3"});
    IntegerOf(client, {"DECREMENT", "weighted", "2"});
    return 0;
  });
  const long long n = static_cast<long long>(daemons_.size()) * 3 * kPerClient;
  for (Daemon* d : daemons_) {
    Client client = d->Connect();
    EXPECT_EQ(Show(client.Command({"GET", "hits"})), "\"" + std::to_string(n) + "\"");
    EXPECT_EQ(Show(client.Command({"GET", "weighted"})), "\"" + std::to_string(n) + "\"");
  }
  EXPECT_EQ(RunOnAll(daemons_, 3, 5,
                     [](Client& c, size_t, int) {
                       return IntegerOf(c, {"ADD", "once", "v", "60"});
                     }),
            1);
}

TEST_P(RedisDaemonsTest, TagFlushIsVisibleEverywhereAtOnce) {
  constexpr int kRounds = 3;
  for (int round = 0; round < kRounds; ++round) {
    {
      Client writer = daemon(round).Connect();
      ASSERT_EQ(Show(writer.Command({"TAGS", "people,authors", "PUT", "john", "v", "600"})), "+OK");
    }
    struct Read {
      Clock::time_point start, end;
      bool hit;
    };
    std::mutex mu;
    std::vector<Read> reads;
    std::atomic<bool> stop{false};
    std::vector<std::thread> readers;
    for (Daemon* d : daemons_) {
      readers.emplace_back([&, port = d->port()] {
        Client client(port);
        std::vector<Read> mine;
        while (!stop) {
          const auto start = Clock::now();
          Reply reply = client.Command({"TAGS", "authors,people", "GET", "john"});
          mine.push_back({start, Clock::now(), reply.type == REDIS_REPLY_STRING});
          if (!reply.ok()) break;
        }
        std::lock_guard lock(mu);
        reads.insert(reads.end(), mine.begin(), mine.end());
      });
    }
    std::this_thread::sleep_for(milliseconds(50));  // the readers read before the flush
    Client flusher = daemon(round + 1).Connect();
    const auto flush_sent = Clock::now();
    EXPECT_EQ(Show(flusher.Command({"TAGS", "authors", "FLUSH"})), "+OK");
    const auto flushed = Clock::now();
    std::this_thread::sleep_for(milliseconds(50));  // and after it
    stop = true;
    for (auto& t : readers) t.join();

    int before = 0, after = 0, stale = 0;
    for (const Read& read : reads) {
      if (read.end < flush_sent) {
        before++;
        EXPECT_TRUE(read.hit) << "a read before the flush missed";
      } else if (read.start > flushed) {
        after++;
        if (read.hit) stale++;
      }
    }
    EXPECT_GT(before, 0);
    EXPECT_GT(after, 0);
    EXPECT_EQ(stale, 0) << "reads that started after the flush still saw the item";
    for (Daemon* d : daemons_) {
      Client client = d->Connect();
      EXPECT_EQ(Show(client.Command({"TAGS", "people,authors", "GET", "john"})), "(nil)");
    }
  }
}

TEST_P(RedisDaemonsTest, RememberIsSingleFlightAcrossDaemons) {
  constexpr int kRounds = 3;
  constexpr int kClientsPerDaemon = 2;
  const int clients = static_cast<int>(daemons_.size()) * kClientsPerDaemon;
  for (int round = 0; round < kRounds; ++round) {
    const std::string key = "report" + std::to_string(round);
    const std::string value = "computed-" + std::to_string(round);
    std::barrier start(clients);
    std::atomic<int> computed{0};
    std::mutex mu;
    std::map<std::string, int> replies;
    std::vector<std::thread> threads;
    for (int c = 0; c < clients; ++c) {
      threads.emplace_back([&, port = daemon(c).port()] {
        Client client(port);
        start.arrive_and_wait();
        Reply reply = client.Command({"REMEMBER", key});
        if (reply.is_nil()) {
          // This caller holds the fill lease: compute (slowly), then store.
          computed++;
          std::this_thread::sleep_for(milliseconds(30));  // "compute"
          EXPECT_EQ(Show(client.Command({"PUT", key, value, "60"})), "+OK");
          return;
        }
        std::lock_guard lock(mu);
        replies[Show(reply)]++;
      });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(computed.load(), 1) << key;
    EXPECT_EQ(replies.size(), 1u);
    EXPECT_EQ(replies["\"" + value + "\""], clients - 1) << key;
  }
}

// Milliseconds from the waker's reply on one daemon to the waiter's reply on another, for
// `rounds` rounds, waiter and waker moving round the daemons.
class WakeupRounds {
 public:
  explicit WakeupRounds(std::vector<Daemon*> daemons) : daemons_(std::move(daemons)) {
    for (Daemon* d : daemons_) clients_.push_back(std::make_unique<Client>(d->port()));
  }

  // `wait` runs on the waiter's daemon and parks (INFO `parked_field` shows it); then `wake`
  // runs on the waker's daemon.
  double Round(int round, const std::string& parked_field,
               const std::function<Reply(Client&)>& wait,
               const std::function<void(Client&)>& wake) {
    const size_t waker = round % daemons_.size();
    const size_t waiter = (round + 1) % daemons_.size();
    Clock::time_point replied;
    std::thread thread([&] {
      Reply reply = wait(*clients_[waiter]);
      replied = Clock::now();
      EXPECT_EQ(reply.type, REDIS_REPLY_STRING) << Show(reply);
    });
    EXPECT_TRUE(WaitForInfoField(*daemons_[waiter], parked_field));
    // The waiter's first look must be over, or it would find the change by itself.
    std::this_thread::sleep_for(milliseconds(15));
    wake(*clients_[waker]);
    const Clock::time_point woken = Clock::now();
    thread.join();
    return std::max(0.0, MillisBetween(woken, replied));
  }

  Client& client(size_t i) { return *clients_[i % clients_.size()]; }

 private:
  std::vector<Daemon*> daemons_;
  std::vector<std::unique_ptr<Client>> clients_;
};

double P50(std::vector<double> latencies, const std::string& what) {
  std::sort(latencies.begin(), latencies.end());
  const double p50 = latencies[latencies.size() / 2];
  std::printf("[ timing ] %s: p50 %.2f ms, max %.2f ms over %zu rounds\n", what.c_str(), p50,
              latencies.back(), latencies.size());
  return p50;
}

TEST_P(RedisDaemonsTest, WaitersWakeWithinMillisecondsOfAnotherDaemonsWrite) {
  WakeupRounds rounds(daemons_);
  std::vector<double> lock_latencies;
  for (int round = 0; round < kWakeupRounds; ++round) {
    Client& holder = rounds.client(round);
    Reply held = holder.Command({"LOCK", "ACQUIRE", "job", "60"});
    ASSERT_EQ(held.type, REDIS_REPLY_STRING) << Show(held);
    std::string token;
    lock_latencies.push_back(rounds.Round(
        round, "lock_waiters",
        [&](Client& c) {
          Reply reply = c.Command({"LOCK", "BLOCK", "job", "60", "10"});
          token = reply.str;
          return reply;
        },
        [&](Client& c) {
          EXPECT_EQ(Show(c.Command({"LOCK", "RELEASE", "job", held.str})), ":1");
        }));
    ASSERT_EQ(Show(rounds.client(round + 1).Command({"LOCK", "RELEASE", "job", token})), ":1");
  }
  EXPECT_LT(P50(lock_latencies, std::to_string(GetParam()) +
                                    " daemons: LOCK BLOCK woken by another daemon's RELEASE"),
            5.0);

  std::vector<double> remember_latencies;
  for (int round = 0; round < kWakeupRounds; ++round) {
    const std::string key = "fill" + std::to_string(round);
    ASSERT_EQ(Show(rounds.client(round).Command({"REMEMBER", key})), "(nil)");  // the lease
    remember_latencies.push_back(rounds.Round(
        round, "remember_waiters",
        [&](Client& c) {
          return c.Command({"REMEMBER", key});
        },
        [&](Client& c) {
          EXPECT_EQ(Show(c.Command({"PUT", key, "value", "60"})), "+OK");
        }));
  }
  EXPECT_LT(P50(remember_latencies,
                std::to_string(GetParam()) + " daemons: REMEMBER woken by another daemon's PUT"),
            5.0);

  std::vector<double> funnel_latencies;
  for (int round = 0; round < kWakeupRounds; ++round) {
    Reply held = rounds.client(round).Command({"FUNNEL", "ACQUIRE", "gate", "1", "60"});
    ASSERT_EQ(held.type, REDIS_REPLY_STRING) << Show(held);
    std::string token;
    funnel_latencies.push_back(rounds.Round(
        round, "lock_waiters",
        [&](Client& c) {
          Reply reply = c.Command({"FUNNEL", "ACQUIRE", "gate", "1", "60", "BLOCK", "10"});
          token = reply.str;
          return reply;
        },
        [&](Client& c) {
          EXPECT_EQ(Show(c.Command({"FUNNEL", "RELEASE", "gate", held.str})), ":1");
        }));
    ASSERT_EQ(Show(rounds.client(round + 1).Command({"FUNNEL", "RELEASE", "gate", token})), ":1");
  }
  EXPECT_LT(P50(funnel_latencies, std::to_string(GetParam()) +
                                      " daemons: FUNNEL BLOCK woken by another daemon's RELEASE"),
            5.0);
}

INSTANTIATE_TEST_SUITE_P(Daemons, RedisDaemonsTest, ::testing::Values(2, 4),
                         [](const auto& info) { return std::to_string(info.param); });

}  // namespace
}  // namespace arvel::integration
