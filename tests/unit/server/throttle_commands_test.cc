// THROTTLE and CL.THROTTLE (SPEC §4, Rate limiting) over real connections to an in-process
// server (array store, and the null store). Concurrency is real: several hiredis clients on
// threads of their own hit one limiter. Windows are 1 s to keep the tests short.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "tests/unit/server/server_fixture.h"

namespace arvel::testing {
namespace {

class ThrottleCommandsTest : public ::testing::Test {
 protected:
  std::string Run(const std::vector<std::string>& args) { return Text(client_.Command(args)); }

  // `threads` clients send `each` ATTEMPTs of key `key` at once; returns how many were allowed.
  int ConcurrentAttempts(int threads, int each, const std::string& max_attempts) {
    std::atomic<int> allowed{0};
    std::atomic<int> errors{0};
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) {
      workers.emplace_back([&, client = server_.Connect()]() mutable {
        for (int i = 0; i < each; ++i) {
          Reply reply = client.Command({"THROTTLE", "ATTEMPT", "shared", max_attempts, "60"});
          if (reply.type != REDIS_REPLY_INTEGER) ++errors;
          allowed += reply.integer == 1 ? 1 : 0;
        }
      });
    }
    for (std::thread& worker : workers) worker.join();
    EXPECT_EQ(errors.load(), 0);
    return allowed.load();
  }

  FakeClock clock_;  // only ThrottleWindowTest's store follows it
  ServerFixture server_{TestConfig(), ClockedArrayStore("clocked", clock_)};
  Client client_ = server_.Connect();
};

// Windows on clock_: the client works on the "clocked" store; the tests move time, not sleep.
class ThrottleWindowTest : public ThrottleCommandsTest {
 protected:
  void SetUp() override { ASSERT_EQ(Run({"STORE", "clocked"}), "+OK"); }
};

const std::string kNotInteger = "-ERR value is not an integer or out of range";

// ---- THROTTLE (fixed window)

TEST_F(ThrottleCommandsTest, ConcurrentAttemptsAllowExactlyTheLimit) {
  EXPECT_EQ(ConcurrentAttempts(8, 50, "137"), 137);
  EXPECT_EQ(Run({"THROTTLE", "ATTEMPTS", "shared"}), ":137");
  EXPECT_EQ(Run({"THROTTLE", "CLEAR", "shared"}), ":1");
  EXPECT_EQ(ConcurrentAttempts(8, 10, "100"), 80);  // fewer attempts than the limit: all pass
  EXPECT_EQ(Run({"THROTTLE", "REMAINING", "shared", "100"}), ":20");
}

TEST_F(ThrottleWindowTest, WindowResetsAfterDecay) {
  EXPECT_EQ(Run({"THROTTLE", "ATTEMPT", "login", "2", "1"}), ":1");
  EXPECT_EQ(Run({"THROTTLE", "ATTEMPT", "login", "2", "1"}), ":1");
  EXPECT_EQ(Run({"THROTTLE", "ATTEMPT", "login", "2", "1"}), ":0");
  EXPECT_EQ(Run({"THROTTLE", "TOOMANY", "login", "2"}), ":1");
  EXPECT_EQ(Run({"THROTTLE", "AVAILABLEIN", "login"}), ":1");
  clock_.Advance(std::chrono::milliseconds(1001));
  EXPECT_EQ(Run({"THROTTLE", "AVAILABLEIN", "login"}), ":0");
  EXPECT_EQ(Run({"THROTTLE", "ATTEMPTS", "login"}), ":0");
  EXPECT_EQ(Run({"THROTTLE", "TOOMANY", "login", "2"}), ":0");
  EXPECT_EQ(Run({"THROTTLE", "ATTEMPT", "login", "2", "1"}), ":1");
}

TEST_F(ThrottleWindowTest, DecrementGivesBackWithinTheWindowAndKeepsItsEnd) {
  EXPECT_EQ(Run({"THROTTLE", "ATTEMPT", "api", "2", "10"}), ":1");
  EXPECT_EQ(Run({"THROTTLE", "ATTEMPT", "api", "2", "10"}), ":1");
  EXPECT_EQ(Run({"THROTTLE", "ATTEMPT", "api", "2", "10"}), ":0");
  clock_.Advance(std::chrono::seconds(6));
  EXPECT_EQ(Run({"THROTTLE", "DECREMENT", "api"}), ":1");
  EXPECT_EQ(Run({"THROTTLE", "ATTEMPT", "api", "2", "10"}), ":1");  // the slot given back
  EXPECT_EQ(Run({"THROTTLE", "ATTEMPT", "api", "2", "10"}), ":0");
  EXPECT_EQ(Run({"THROTTLE", "DECREMENT", "api", "5"}), ":0");
  // The window still ends 10 s after its first hit, not 10 s after the decrement.
  clock_.Advance(std::chrono::milliseconds(4001));
  EXPECT_EQ(Run({"THROTTLE", "ATTEMPTS", "api"}), ":0");
  EXPECT_EQ(Run({"THROTTLE", "DECREMENT", "api"}), ":0");
  EXPECT_EQ(Run({"THROTTLE", "CLEAR", "api"}), ":0");  // nothing was made
}

TEST_F(ThrottleCommandsTest, HitAttemptsRemainingTooManyClear) {
  EXPECT_EQ(Run({"THROTTLE", "ATTEMPTS", "k"}), ":0");
  EXPECT_EQ(Run({"THROTTLE", "REMAINING", "k", "5"}), ":5");
  EXPECT_EQ(Run({"THROTTLE", "HIT", "k", "60"}), ":1");
  EXPECT_EQ(Run({"THROTTLE", "HIT", "k", "60", "3"}), ":4");
  EXPECT_EQ(Run({"THROTTLE", "ATTEMPTS", "k"}), ":4");
  EXPECT_EQ(Run({"THROTTLE", "REMAINING", "k", "5"}), ":1");
  EXPECT_EQ(Run({"THROTTLE", "REMAINING", "k", "2"}), ":0");
  EXPECT_EQ(Run({"THROTTLE", "TOOMANY", "k", "5"}), ":0");
  EXPECT_EQ(Run({"THROTTLE", "TOOMANY", "k", "4"}), ":1");
  EXPECT_EQ(Run({"THROTTLE", "CLEAR", "k"}), ":1");
  EXPECT_EQ(Run({"THROTTLE", "CLEAR", "k"}), ":0");
  EXPECT_EQ(Run({"THROTTLE", "ATTEMPTS", "k"}), ":0");
}

TEST_F(ThrottleCommandsTest, AvailableInIsTheRestOfTheWindowRoundedUp) {
  EXPECT_EQ(Run({"THROTTLE", "AVAILABLEIN", "k"}), ":0");
  EXPECT_EQ(Run({"THROTTLE", "HIT", "k", "10"}), ":1");
  EXPECT_EQ(Run({"THROTTLE", "AVAILABLEIN", "k"}), ":10");
  EXPECT_EQ(Run({"THROTTLE", "HIT", "k", "100"}), ":2");  // the window does not move
  EXPECT_EQ(Run({"THROTTLE", "AVAILABLEIN", "k"}), ":10");
}

TEST_F(ThrottleCommandsTest, LimitersLiveApartFromKeysAndFromEachOther) {
  Run({"THROTTLE", "HIT", "x", "60"});
  Run({"CL.THROTTLE", "x", "1", "1", "60"});
  EXPECT_EQ(Run({"GET", "x"}), "(nil)");
  EXPECT_EQ(Run({"DBSIZE"}), ":0");
  EXPECT_EQ(Run({"THROTTLE", "ATTEMPTS", "x"}), ":1");
  EXPECT_EQ(Run({"THROTTLE", "ATTEMPTS", "gcra:x"}), ":0");
  EXPECT_EQ(Run({"CL.THROTTLE", "window:x", "1", "1", "60"}), "[:0, :2, :1, :-1, :60]");
}

TEST_F(ThrottleCommandsTest, ValidatesArguments) {
  EXPECT_EQ(Run({"THROTTLE", "ATTEMPT", "k", "x", "60"}), kNotInteger);
  EXPECT_EQ(Run({"THROTTLE", "ATTEMPT", "k", "-1", "60"}),
            "-ERR max_attempts must be a non-negative integer");
  EXPECT_EQ(Run({"THROTTLE", "ATTEMPT", "k", "1", "0"}), "-ERR decay must be a positive integer");
  EXPECT_EQ(Run({"THROTTLE", "HIT", "k", "1.5"}), kNotInteger);
  EXPECT_EQ(Run({"THROTTLE", "HIT", "k", "60", "-2"}),
            "-ERR amount must be a non-negative integer");
  EXPECT_EQ(Run({"THROTTLE", "HIT", "k", "99999999999999999"}), kNotInteger);
  EXPECT_EQ(Run({"THROTTLE", "REMAINING", "k", "-5"}),
            "-ERR max_attempts must be a non-negative integer");
  EXPECT_EQ(Run({"THROTTLE", "ATTEMPT", "k", "1"}),
            "-ERR wrong number of arguments for 'throttle|attempt' command");
  EXPECT_EQ(Run({"THROTTLE", "NOPE", "k"}), "-ERR unknown subcommand 'NOPE'. Try THROTTLE HELP.");
  EXPECT_EQ(Run({"THROTTLE"}), "-ERR wrong number of arguments for 'throttle' command");
  EXPECT_EQ(Text(client_.Command({"THROTTLE", "HELP"})).substr(0, 10), "[+THROTTLE");
  EXPECT_EQ(Run({"THROTTLE", "ATTEMPTS", "k"}), ":0");  // nothing was counted
}

TEST_F(ThrottleCommandsTest, HitThatWouldOverflowIsRefused) {
  EXPECT_EQ(Run({"THROTTLE", "HIT", "k", "60", "9223372036854775807"}), ":9223372036854775807");
  EXPECT_EQ(Run({"THROTTLE", "HIT", "k", "60"}), "-ERR increment or decrement would overflow");
}

// ---- CL.THROTTLE (GCRA, redis-cell compatible)

TEST_F(ThrottleCommandsTest, CellMatchesTheRedisCellReadme) {
  EXPECT_EQ(Run({"CL.THROTTLE", "user123", "15", "30", "60"}), "[:0, :16, :15, :-1, :2]");
  EXPECT_EQ(Run({"CL.THROTTLE", "user123", "15", "30", "60", "1"}), "[:0, :16, :14, :-1, :4]");
  // Different limits under different keys (the README's "multiple rate limits").
  EXPECT_EQ(Run({"CL.THROTTLE", "user123-read-rate", "15", "30", "60"}), "[:0, :16, :15, :-1, :2]");
  EXPECT_EQ(Run({"CL.THROTTLE", "user123-write-rate", "5", "10", "60"}), "[:0, :6, :5, :-1, :6]");
}

TEST_F(ThrottleCommandsTest, CellLimitsAfterTheBurstAndSaysWhenToRetry) {
  for (int i = 0; i < 16; ++i) {
    EXPECT_EQ(client_.Command({"CL.THROTTLE", "burst", "15", "30", "60"}).elements[0].integer, 0)
        << i;
  }
  EXPECT_EQ(Run({"CL.THROTTLE", "burst", "15", "30", "60"}), "[:1, :16, :0, :2, :32]");
}

TEST_F(ThrottleCommandsTest, CellQuantityZeroPeeks) {
  EXPECT_EQ(Run({"CL.THROTTLE", "k", "15", "30", "60"}), "[:0, :16, :15, :-1, :2]");
  EXPECT_EQ(Run({"CL.THROTTLE", "k", "15", "30", "60", "0"}), "[:0, :16, :15, :-1, :2]");
  EXPECT_EQ(Run({"CL.THROTTLE", "k", "15", "30", "60", "0"}), "[:0, :16, :15, :-1, :2]");
  EXPECT_EQ(Run({"CL.THROTTLE", "k", "15", "30", "60", "2"}), "[:0, :16, :13, :-1, :6]");
  EXPECT_EQ(Run({"CL.THROTTLE", "fresh", "15", "30", "60", "0"}), "[:0, :16, :16, :-1, :0]");
  EXPECT_EQ(Run({"CL.THROTTLE", "k", "15", "30", "60", "17"}), "[:1, :16, :13, :-1, :6]");
}

TEST_F(ThrottleCommandsTest, CellValidatesArguments) {
  EXPECT_EQ(Run({"CL.THROTTLE", "k", "x", "30", "60"}), kNotInteger);
  EXPECT_EQ(Run({"CL.THROTTLE", "k", "-1", "30", "60"}),
            "-ERR max_burst must be a non-negative integer");
  EXPECT_EQ(Run({"CL.THROTTLE", "k", "15", "0", "60"}), "-ERR count must be a positive integer");
  EXPECT_EQ(Run({"CL.THROTTLE", "k", "15", "30", "0"}), "-ERR period must be a positive integer");
  EXPECT_EQ(Run({"CL.THROTTLE", "k", "15", "30", "60", "-1"}),
            "-ERR quantity must be a non-negative integer");
  EXPECT_EQ(Run({"CL.THROTTLE", "k", "15", "30"}),
            "-ERR wrong number of arguments for 'cl.throttle' command");
  EXPECT_EQ(Run({"CL.THROTTLE", "k", "15", "30", "60", "1", "2"}),
            "-ERR wrong number of arguments for 'cl.throttle' command");
}

// ---- The null store

TEST_F(ThrottleCommandsTest, NullStoreNeverLimits) {
  EXPECT_EQ(Run({"STORE", "null"}), "+OK");
  for (int i = 0; i < 3; ++i) EXPECT_EQ(Run({"THROTTLE", "ATTEMPT", "k", "1", "60"}), ":1");
  EXPECT_EQ(Run({"THROTTLE", "ATTEMPT", "k", "0", "60"}), ":1");
  EXPECT_EQ(Run({"THROTTLE", "HIT", "k", "60", "5"}), ":0");
  EXPECT_EQ(Run({"THROTTLE", "ATTEMPTS", "k"}), ":0");
  EXPECT_EQ(Run({"THROTTLE", "REMAINING", "k", "5"}), ":5");
  EXPECT_EQ(Run({"THROTTLE", "TOOMANY", "k", "1"}), ":0");
  EXPECT_EQ(Run({"THROTTLE", "AVAILABLEIN", "k"}), ":0");
  EXPECT_EQ(Run({"THROTTLE", "CLEAR", "k"}), ":0");
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(Run({"CL.THROTTLE", "k", "15", "30", "60"}), "[:0, :16, :15, :-1, :2]");
  }
  EXPECT_EQ(Run({"THROTTLE", "ATTEMPT", "k", "x", "60"}), kNotInteger);  // still validated
}

}  // namespace
}  // namespace arvel::testing
