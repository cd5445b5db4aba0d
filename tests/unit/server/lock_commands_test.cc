// LOCK ACQUIRE | BLOCK | RELEASE | EXTEND | FORCERELEASE | OWNER | FENCE (SPEC §4, Atomic locks)
// over real connections to an in-process server (array store, and the null store). Concurrency is
// real too: several hiredis clients on their own threads. TTLs are 1 s to keep tests short.

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <future>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tests/unit/server/server_fixture.h"

namespace arvel::testing {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// `args` on a connection and thread of its own; the future holds the reply.
std::future<Reply> InBackground(const ServerFixture& server, std::vector<std::string> args) {
  return std::async(std::launch::async,
                    [client = server.Connect(), args]() mutable { return client.Command(args); });
}

bool IsHex(const std::string& s) {
  return s.find_first_not_of("0123456789abcdef") == std::string::npos;
}

class LockCommandsTest : public ::testing::Test {
 protected:
  std::string Run(const std::vector<std::string>& args) { return Text(client_.Command(args)); }
  std::string Acquire(const std::string& name, const std::string& ttl = "10") {
    Reply reply = client_.Command({"LOCK", "ACQUIRE", name, ttl});
    EXPECT_EQ(reply.type, REDIS_REPLY_STRING) << Text(reply);
    return reply.str;
  }

  FakeClock clock_;  // only LockExpiryTest's store follows it
  ServerFixture server_{TestConfig(), ClockedArrayStore("clocked", clock_)};
  Client client_ = server_.Connect();
};

// Expiry judged by clock_: the client works on the "clocked" store, and the tests move time
// instead of sleeping. (LOCK BLOCK waits by the wall clock, so its tests use the array store.)
class LockExpiryTest : public LockCommandsTest {
 protected:
  void SetUp() override { ASSERT_EQ(Run({"STORE", "clocked"}), "+OK"); }
};

// ---- ACQUIRE RELEASE OWNER FORCERELEASE

TEST_F(LockCommandsTest, AcquireGivesATokenAndExcludesOthers) {
  std::string token = Acquire("job");
  EXPECT_EQ(token.size(), 32u);
  EXPECT_TRUE(IsHex(token)) << token;
  EXPECT_EQ(Run({"LOCK", "ACQUIRE", "job", "10"}), "(nil)");
  EXPECT_EQ(Run({"LOCK", "OWNER", "job"}), "$" + token);
  EXPECT_EQ(Run({"LOCK", "RELEASE", "job", token}), ":1");
  EXPECT_EQ(Run({"LOCK", "OWNER", "job"}), "(nil)");
  EXPECT_EQ(Run({"LOCK", "RELEASE", "job", token}), ":0");  // no longer held
}

TEST_F(LockCommandsTest, TokensAreRandomAndDistinct) {
  std::set<std::string> tokens;
  std::array<int, 16> digit_counts{};
  for (int i = 0; i < 500; ++i) {
    std::string token = Acquire("lock" + std::to_string(i));
    ASSERT_EQ(token.size(), 32u);  // 128 bits in hex
    ASSERT_TRUE(IsHex(token));
    for (char c : token) ++digit_counts[c <= '9' ? c - '0' : c - 'a' + 10];
    tokens.insert(token);
  }
  EXPECT_EQ(tokens.size(), 500u);
  // 16,000 hex digits: each of the 16 values about 1,000 times, never wildly off.
  for (int count : digit_counts) {
    EXPECT_GT(count, 800);
    EXPECT_LT(count, 1200);
  }
}

TEST_F(LockCommandsTest, WrongTokenCannotRelease) {
  std::string token = Acquire("job");
  EXPECT_EQ(Run({"LOCK", "RELEASE", "job", "not-the-owner"}), ":0");
  EXPECT_EQ(Run({"LOCK", "RELEASE", "job", token + "x"}), ":0");
  EXPECT_EQ(Run({"LOCK", "OWNER", "job"}), "$" + token);
  EXPECT_EQ(Run({"LOCK", "RELEASE", "other", token}), ":0");
}

TEST_F(LockCommandsTest, OwnerTokenGivenByTheClient) {
  EXPECT_EQ(Run({"LOCK", "ACQUIRE", "job", "10", "OWNER", "worker-7"}), "$worker-7");
  EXPECT_EQ(Run({"LOCK", "OWNER", "job"}), "$worker-7");
  // Held, even for the same owner (Laravel's acquire()).
  EXPECT_EQ(Run({"LOCK", "ACQUIRE", "job", "10", "owner", "worker-7"}), "(nil)");
  EXPECT_EQ(Run({"LOCK", "RELEASE", "job", "worker-8"}), ":0");
  EXPECT_EQ(Run({"LOCK", "RELEASE", "job", "worker-7"}), ":1");
  EXPECT_EQ(Run({"LOCK", "BLOCK", "job", "10", "1", "OWNER", "worker-9"}), "$worker-9");
}

TEST_F(LockCommandsTest, ForceReleaseIgnoresTheOwner) {
  Acquire("job");
  EXPECT_EQ(Run({"LOCK", "FORCERELEASE", "job"}), ":1");
  EXPECT_EQ(Run({"LOCK", "FORCERELEASE", "job"}), ":0");
  EXPECT_EQ(Run({"LOCK", "OWNER", "job"}), "(nil)");
}

TEST_F(LockCommandsTest, LockIsIndependentOfTheKeyOfTheSameName) {
  EXPECT_EQ(Run({"SET", "x", "value"}), "+OK");
  std::string token = Acquire("x");
  EXPECT_EQ(Run({"GET", "x"}), "$value");
  EXPECT_EQ(Run({"DEL", "x"}), ":1");
  EXPECT_EQ(Run({"LOCK", "OWNER", "x"}), "$" + token);
  EXPECT_EQ(Run({"EXISTS", "x"}), ":0");
  EXPECT_EQ(Run({"DBSIZE"}), ":0");
  EXPECT_EQ(Run({"LOCK", "RELEASE", "x", token}), ":1");
  EXPECT_EQ(Run({"SET", "x", "again"}), "+OK");
  EXPECT_EQ(Run({"LOCK", "OWNER", "x"}), "(nil)");
}

// ---- TTL, EXTEND, expiry

TEST_F(LockExpiryTest, ExpiredLockIsFree) {
  std::string first = Acquire("job", "1");
  EXPECT_EQ(Run({"LOCK", "ACQUIRE", "job", "1"}), "(nil)");
  clock_.Advance(milliseconds(999));
  EXPECT_EQ(Run({"LOCK", "OWNER", "job"}), "$" + first);
  clock_.Advance(milliseconds(2));
  EXPECT_EQ(Run({"LOCK", "OWNER", "job"}), "(nil)");
  std::string second = Acquire("job", "1");
  EXPECT_NE(first, second);
  EXPECT_EQ(Run({"LOCK", "RELEASE", "job", first}), ":0");  // the old owner lost it
}

TEST_F(LockExpiryTest, TtlZeroHoldsUntilReleased) {
  std::string token = Acquire("job", "0");
  clock_.Advance(milliseconds(365LL * 24 * 3600 * 1000));
  EXPECT_EQ(Run({"LOCK", "OWNER", "job"}), "$" + token);
  EXPECT_EQ(Run({"LOCK", "RELEASE", "job", token}), ":1");
}

TEST_F(LockExpiryTest, ExtendRestartsTheTtlOfTheOwnerOnly) {
  std::string token = Acquire("job", "1");
  EXPECT_EQ(Run({"LOCK", "EXTEND", "job", "intruder", "10"}), ":0");
  EXPECT_EQ(Run({"LOCK", "EXTEND", "job", token, "3"}), ":1");
  clock_.Advance(milliseconds(1200));
  EXPECT_EQ(Run({"LOCK", "OWNER", "job"}), "$" + token);  // would have expired without EXTEND
  EXPECT_EQ(Run({"LOCK", "EXTEND", "job", token, "1"}), ":1");
  clock_.Advance(milliseconds(1200));
  EXPECT_EQ(Run({"LOCK", "EXTEND", "job", token, "10"}), ":0");  // expired: not owned any more
  EXPECT_EQ(Run({"LOCK", "EXTEND", "free", token, "10"}), ":0");
}

// ---- BLOCK

TEST_F(LockCommandsTest, BlockGetsAFreeLockAtOnce) {
  Reply reply = client_.Command({"LOCK", "BLOCK", "job", "10", "5"});
  ASSERT_EQ(reply.type, REDIS_REPLY_STRING);
  EXPECT_EQ(reply.str.size(), 32u);
}

TEST_F(LockCommandsTest, BlockTimesOutWithNil) {
  Acquire("job", "0");
  Client waiter = server_.Connect();
  Clock::time_point start = Clock::now();
  EXPECT_EQ(Text(waiter.Command({"LOCK", "BLOCK", "job", "10", "1"})), "(nil)");
  EXPECT_GE(MillisSince(start), 950);
  EXPECT_LT(MillisSince(start), 2500);
  start = Clock::now();
  EXPECT_EQ(Text(waiter.Command({"LOCK", "BLOCK", "job", "10", "0.2"})), "(nil)");
  EXPECT_GE(MillisSince(start), 180);
  EXPECT_LT(MillisSince(start), 1500);
  EXPECT_EQ(Blocked(client_), 0);
}

TEST_F(LockCommandsTest, BlockWithTimeoutZeroTriesOnce) {
  Acquire("job", "0");
  Clock::time_point start = Clock::now();
  EXPECT_EQ(Run({"LOCK", "BLOCK", "job", "10", "0"}), "(nil)");
  EXPECT_LT(MillisSince(start), 500);
}

TEST_F(LockCommandsTest, WaiterIsWokenByRelease) {
  std::string token = Acquire("job", "0");
  std::future<Reply> waiter = InBackground(server_, {"LOCK", "BLOCK", "job", "10", "5"});
  WaitForBlocked(client_, 1);
  Clock::time_point start = Clock::now();
  EXPECT_EQ(Run({"LOCK", "RELEASE", "job", token}), ":1");
  Reply got = waiter.get();
  EXPECT_LT(MillisSince(start), 500);
  ASSERT_EQ(got.type, REDIS_REPLY_STRING);
  EXPECT_EQ(Run({"LOCK", "OWNER", "job"}), "$" + got.str);
}

TEST_F(LockCommandsTest, WaiterIsWokenByForceRelease) {
  Acquire("job", "0");
  std::future<Reply> waiter = InBackground(server_, {"LOCK", "BLOCK", "job", "10", "5"});
  WaitForBlocked(client_, 1);
  EXPECT_EQ(Run({"LOCK", "FORCERELEASE", "job"}), ":1");
  EXPECT_EQ(waiter.wait_for(std::chrono::seconds(2)), std::future_status::ready);
  EXPECT_EQ(waiter.get().type, REDIS_REPLY_STRING);
}

// The holder never comes back: the server itself notices the expiry (a timer at the holder's
// expire time), the waiter sends nothing but its one BLOCK.
TEST_F(LockCommandsTest, WaiterIsWokenWhenTheHolderExpires) {
  Clock::time_point start = Clock::now();
  Acquire("job", "1");
  Client waiter = server_.Connect();
  Reply got = waiter.Command({"LOCK", "BLOCK", "job", "10", "5"});
  ASSERT_EQ(got.type, REDIS_REPLY_STRING) << Text(got);
  EXPECT_GE(MillisSince(start), 950);
  EXPECT_LT(MillisSince(start), 1600);
}

TEST_F(LockCommandsTest, WaiterFollowsAnExtendedHolder) {
  std::string token = Acquire("job", "1");
  std::future<Reply> waiter = InBackground(server_, {"LOCK", "BLOCK", "job", "10", "5"});
  WaitForBlocked(client_, 1);
  Clock::time_point start = Clock::now();
  EXPECT_EQ(Run({"LOCK", "EXTEND", "job", token, "2"}), ":1");
  EXPECT_EQ(waiter.wait_for(std::chrono::milliseconds(1500)), std::future_status::timeout);
  EXPECT_EQ(waiter.get().type, REDIS_REPLY_STRING);
  EXPECT_GE(MillisSince(start), 1900);
  EXPECT_LT(MillisSince(start), 3000);
}

TEST_F(LockCommandsTest, WaitersAreServedInArrivalOrder) {
  std::string token = Acquire("job", "0");
  constexpr int kWaiters = 6;
  std::mutex mu;
  std::vector<int> order;
  std::vector<std::thread> threads;
  for (int i = 0; i < kWaiters; ++i) {
    threads.emplace_back([&, i, client = server_.Connect()]() mutable {
      std::string owner = "w" + std::to_string(i);
      Reply got = client.Command({"LOCK", "BLOCK", "job", "10", "8", "OWNER", owner});
      EXPECT_EQ(got.str, owner);
      {
        std::lock_guard<std::mutex> lock(mu);
        order.push_back(i);
      }
      EXPECT_EQ(Text(client.Command({"LOCK", "RELEASE", "job", owner})), ":1");
    });
    WaitForBlocked(client_, i + 1);  // the next one arrives strictly later
  }
  EXPECT_EQ(Run({"LOCK", "RELEASE", "job", token}), ":1");
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4, 5}));
}

TEST_F(LockCommandsTest, WaitersAreServedInArrivalOrderOnExpiry) {
  Acquire("job", "1");
  std::vector<std::future<Reply>> waiters;
  for (int i = 0; i < 3; ++i) {
    // Each holds its turn for 1 s (ttl 1) and never releases: the next is woken on expiry.
    waiters.push_back(InBackground(
        server_, {"LOCK", "BLOCK", "job", "1", "8", "OWNER", "w" + std::to_string(i)}));
    WaitForBlocked(client_, i + 1);
  }
  Clock::time_point start = Clock::now();
  EXPECT_EQ(waiters[0].get().str, "w0");
  EXPECT_EQ(waiters[1].wait_for(milliseconds(500)), std::future_status::timeout);
  EXPECT_EQ(waiters[1].get().str, "w1");
  EXPECT_EQ(waiters[2].get().str, "w2");
  EXPECT_GE(MillisSince(start), 1900);
}

TEST_F(LockCommandsTest, CriticalSectionsNeverOverlap) {
  constexpr int kClients = 8;
  constexpr int kSections = 25;
  std::atomic<bool> inside{false};
  std::atomic<int> overlaps{0};
  std::atomic<int> entered{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kClients; ++i) {
    threads.emplace_back([&, client = server_.Connect()]() mutable {
      for (int s = 0; s < kSections; ++s) {
        Reply token = client.Command({"LOCK", "BLOCK", "shared", "10", "8"});
        ASSERT_EQ(token.type, REDIS_REPLY_STRING) << Text(token);
        if (inside.exchange(true)) ++overlaps;
        ++entered;
        std::this_thread::sleep_for(std::chrono::microseconds(200));  // an overlap would show
        inside = false;
        ASSERT_EQ(Text(client.Command({"LOCK", "RELEASE", "shared", token.str})), ":1");
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(overlaps.load(), 0);
  EXPECT_EQ(entered.load(), kClients * kSections);
  EXPECT_EQ(Run({"LOCK", "OWNER", "shared"}), "(nil)");
}

TEST_F(LockCommandsTest, WaiterThatDisconnectsLeavesTheQueue) {
  std::string token = Acquire("job", "0");
  {
    Client quitter = server_.Connect();
    redisAppendCommand(quitter.context(), "LOCK BLOCK job 0 10");
    int done = 0;
    while (!done) ASSERT_EQ(redisBufferWrite(quitter.context(), &done), REDIS_OK);
    WaitForBlocked(client_, 1);
  }  // closed while waiting
  WaitForBlocked(client_, 0);
  EXPECT_EQ(InfoField(client_, "stores", "lock_waiters"), 0);
  EXPECT_EQ(Run({"LOCK", "RELEASE", "job", token}), ":1");
  // Nobody took the lock for the client that left.
  EXPECT_EQ(Run({"LOCK", "OWNER", "job"}), "(nil)");
  EXPECT_EQ(Acquire("job").size(), 32u);
}

TEST_F(LockCommandsTest, WaitingClientsDoNotSlowOthers) {
  Acquire("job", "0");
  std::vector<std::future<Reply>> waiters;
  for (int i = 0; i < 20; ++i) {
    waiters.push_back(InBackground(server_, {"LOCK", "BLOCK", "job", "10", "3"}));
  }
  WaitForBlocked(client_, 20);
  Clock::time_point start = Clock::now();
  for (int i = 0; i < 100; ++i) ASSERT_EQ(Run({"PING"}), "+PONG");
  EXPECT_LT(MillisSince(start), 500);
  EXPECT_EQ(Run({"LOCK", "FORCERELEASE", "job"}), ":1");
  int granted = 0;
  for (auto& waiter : waiters) granted += waiter.get().type == REDIS_REPLY_STRING ? 1 : 0;
  EXPECT_EQ(granted, 1);  // ttl 10, nobody releases: the others time out
}

TEST_F(LockCommandsTest, BlockInsideMultiDoesNotWait) {
  Acquire("job", "0");
  Client tx = server_.Connect();
  EXPECT_EQ(Text(tx.Command({"MULTI"})), "+OK");
  EXPECT_EQ(Text(tx.Command({"LOCK", "BLOCK", "job", "10", "5"})), "+QUEUED");
  EXPECT_EQ(Text(tx.Command({"LOCK", "BLOCK", "free", "10", "5", "OWNER", "t"})), "+QUEUED");
  Clock::time_point start = Clock::now();
  EXPECT_EQ(Text(tx.Command({"EXEC"})), "[(nil), $t]");
  EXPECT_LT(MillisSince(start), 500);
}

TEST_F(LockCommandsTest, FencedBlockInsideMultiTriesOnce) {
  Client tx = server_.Connect();
  EXPECT_EQ(Text(tx.Command({"MULTI"})), "+OK");
  EXPECT_EQ(Text(tx.Command({"LOCK", "BLOCK", "free", "10", "5", "OWNER", "t", "FENCED"})),
            "+QUEUED");
  EXPECT_EQ(Text(tx.Command({"LOCK", "FENCE", "free"})), "+QUEUED");
  EXPECT_EQ(Text(tx.Command({"EXEC"})), "[[$t, :1], :1]");
}

// ---- SESSION

// Waits until the server has seen every client but the test's own one go.
void WaitForOneClient(Client& client) {
  const Clock::time_point start = Clock::now();
  while (InfoField(client, "clients", "connected_clients") > 1 && MillisSince(start) < 5000) {
    std::this_thread::sleep_for(milliseconds(1));
  }
}

TEST_F(LockCommandsTest, EverySessionLockOfAClientIsReleasedWhenItCloses) {
  {
    Client holder = server_.Connect();
    EXPECT_EQ(Text(holder.Command({"LOCK", "ACQUIRE", "a", "0", "SESSION", "OWNER", "t"})), "$t");
    EXPECT_EQ(Text(holder.Command({"LOCK", "BLOCK", "b", "0", "1", "OWNER", "t", "SESSION"})),
              "$t");
    EXPECT_EQ(Text(holder.Command({"LOCK", "ACQUIRE", "c", "0", "OWNER", "t"})), "$t");
  }
  WaitForOneClient(client_);
  EXPECT_EQ(Run({"LOCK", "OWNER", "a"}), "(nil)");
  EXPECT_EQ(Run({"LOCK", "OWNER", "b"}), "(nil)");
  EXPECT_EQ(Run({"LOCK", "OWNER", "c"}), "$t");  // taken without SESSION
}

TEST_F(LockExpiryTest, ASessionReleaseLeavesAnotherHolderAlone) {
  {
    Client holder = server_.Connect();
    EXPECT_EQ(Text(holder.Command({"STORE", "clocked"})), "+OK");
    EXPECT_EQ(Text(holder.Command({"LOCK", "ACQUIRE", "job", "1", "OWNER", "a", "SESSION"})), "$a");
    clock_.Advance(milliseconds(1000));  // expired: free for the next holder
    EXPECT_EQ(Run({"LOCK", "ACQUIRE", "job", "10", "OWNER", "b"}), "$b");
  }
  WaitForOneClient(client_);
  EXPECT_EQ(Run({"LOCK", "OWNER", "job"}), "$b");
}

TEST_F(LockCommandsTest, SessionLocksOfAFakeStoreGoWithIt) {
  for (const bool fake_off_first : {false, true}) {
    {
      Client holder = server_.Connect();
      EXPECT_EQ(Text(holder.Command({"FAKE"})), "+OK");
      EXPECT_EQ(Text(holder.Command({"LOCK", "ACQUIRE", "job", "0", "SESSION", "OWNER", "t"})),
                "$t");
      // Afterwards the private store is gone before the client is.
      if (fake_off_first) EXPECT_EQ(Text(holder.Command({"FAKE", "OFF"})), "+OK");
    }
    WaitForOneClient(client_);
    EXPECT_EQ(Run({"PING"}), "+PONG");
    EXPECT_EQ(Run({"LOCK", "OWNER", "job"}), "(nil)");  // never on the shared store
  }
}

// ---- Arguments

TEST_F(LockCommandsTest, ArgumentErrors) {
  EXPECT_EQ(Run({"LOCK", "ACQUIRE", "job", "-1"}), "-ERR invalid expire time in 'lock' command");
  EXPECT_EQ(Run({"LOCK", "ACQUIRE", "job", "ten"}), "-ERR value is not an integer or out of range");
  EXPECT_EQ(Run({"LOCK", "BLOCK", "job", "10", "-1"}), "-ERR timeout is negative");
  EXPECT_EQ(Run({"LOCK", "BLOCK", "job", "10", "soon"}),
            "-ERR timeout is not a float or out of range");
  EXPECT_EQ(Run({"LOCK", "ACQUIRE", "job", "10", "OWNER", ""}),
            "-ERR OWNER token must not be empty");
  EXPECT_EQ(Run({"LOCK", "ACQUIRE", "job", "10", "OWNER"}), "-ERR syntax error");
  EXPECT_EQ(Run({"LOCK", "ACQUIRE", "job", "10", "NOPE", "x"}), "-ERR syntax error");
  EXPECT_EQ(Run({"LOCK", "ACQUIRE", "job", "10", "SESSION", "OWNER"}), "-ERR syntax error");
  EXPECT_EQ(Run({"LOCK", "ACQUIRE", "job", "10", "OWNER", "a", "SESSION", "FENCED", "FENCED"}),
            "-ERR wrong number of arguments for 'lock|acquire' command");
  EXPECT_EQ(Run({"LOCK", "BLOCK", "job", "10", "1", "FENCED", "SESSION", "NOPE"}),
            "-ERR syntax error");
  EXPECT_EQ(Run({"LOCK", "FENCE"}), "-ERR wrong number of arguments for 'lock|fence' command");
  EXPECT_EQ(Run({"LOCK", "RELEASE", "job"}),
            "-ERR wrong number of arguments for 'lock|release' command");
  EXPECT_EQ(Run({"LOCK", "STEAL", "job"}), "-ERR unknown subcommand 'STEAL'. Try LOCK HELP.");
  EXPECT_EQ(Run({"LOCK", "EXTEND", "job", "t", "-5"}),
            "-ERR invalid expire time in 'lock' command");
  EXPECT_EQ(client_.Command({"LOCK", "HELP"}).type, REDIS_REPLY_ARRAY);
  EXPECT_EQ(Run({"LOCK", "OWNER", "job"}), "(nil)");  // nothing was taken
}

// ---- The null store (Laravel's NoLock)

TEST_F(LockCommandsTest, NullStoreGrantsEveryLock) {
  EXPECT_EQ(Run({"STORE", "null"}), "+OK");
  std::string first = Acquire("job");
  std::string second = Acquire("job");
  EXPECT_NE(first, second);
  EXPECT_EQ(Run({"LOCK", "BLOCK", "job", "10", "5", "OWNER", "me"}), "$me");
  EXPECT_EQ(Run({"LOCK", "RELEASE", "job", "anyone"}), ":1");
  EXPECT_EQ(Run({"LOCK", "EXTEND", "job", "anyone", "5"}), ":1");
  EXPECT_EQ(Run({"LOCK", "FORCERELEASE", "job"}), ":1");
  EXPECT_EQ(Run({"LOCK", "OWNER", "job"}), "(nil)");
}

}  // namespace
}  // namespace arvel::testing
