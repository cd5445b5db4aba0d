// String commands over a real connection to an in-process server (array store). Replies are
// compared as text: "+OK", ":1", "$value", "(nil)", "-ERR …", "[a, b]".

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "drivers/store.h"
#include "tests/unit/server/server_fixture.h"

namespace arvel::testing {
namespace {

using namespace std::string_literals;

class StringCommandsTest : public ::testing::Test {
 protected:
  explicit StringCommandsTest(config::Config config = TestConfig())
      : server_(std::move(config), ClockedArrayStore("clocked", clock_)) {}
  std::string Run(const std::vector<std::string>& args) { return Text(client_.Command(args)); }
  int64_t Int(const std::vector<std::string>& args) { return client_.Command(args).integer; }

  FakeClock clock_;  // only StringExpiryTest's store follows it
  ServerFixture server_;
  Client client_ = server_.Connect();
};

// Expiry on clock_: the client works on the "clocked" store; the tests move time, not sleep.
class StringExpiryTest : public StringCommandsTest {
 protected:
  void SetUp() override { ASSERT_EQ(Run({"STORE", "clocked"}), "+OK"); }
};

std::string Now(int64_t offset_ms, bool seconds) {
  int64_t at = drivers::NowMs() + offset_ms;
  return std::to_string(seconds ? at / 1000 : at);
}

// ---- GET / SET

TEST_F(StringCommandsTest, GetAndSet) {
  EXPECT_EQ(Run({"GET", "k"}), "(nil)");
  EXPECT_EQ(Run({"SET", "k", "v"}), "+OK");
  EXPECT_EQ(Run({"GET", "k"}), "$v");
  EXPECT_EQ(Run({"SET", "k", ""}), "+OK");
  EXPECT_EQ(Run({"GET", "k"}), "$");
}

TEST_F(StringCommandsTest, GetWithDefault) {
  EXPECT_EQ(Run({"GET", "k", "fallback"}), "$fallback");
  EXPECT_EQ(Run({"SET", "k", "v"}), "+OK");
  EXPECT_EQ(Run({"GET", "k", "fallback"}), "$v");
  EXPECT_EQ(Run({"GET", "k", "a", "b"}), "-ERR wrong number of arguments for 'get' command");
  EXPECT_EQ(Run({"GET"}), "-ERR wrong number of arguments for 'get' command");
}

TEST_F(StringCommandsTest, BinarySafeKeysAndValues) {
  std::string key = "k\0\r\n"s;
  std::string value = "a\0b\r\n$3\r\nc"s;
  EXPECT_EQ(Run({"SET", key, value}), "+OK");
  EXPECT_EQ(Run({"GET", key}), "$" + value);
  EXPECT_EQ(Run({"GET", "k"}), "(nil)");
  EXPECT_EQ(Run({"STRLEN", key}), ":" + std::to_string(value.size()));
  EXPECT_EQ(Run({"APPEND", key, "\0"s}), ":" + std::to_string(value.size() + 1));
  EXPECT_EQ(Run({"MGET", key, "k"}), "[$" + value + "\0"s + ", (nil)]");
}

TEST_F(StringCommandsTest, SetNxXx) {
  EXPECT_EQ(Run({"SET", "k", "1", "XX"}), "(nil)");
  EXPECT_EQ(Run({"EXISTS", "k"}), ":0");
  EXPECT_EQ(Run({"SET", "k", "1", "NX"}), "+OK");
  EXPECT_EQ(Run({"SET", "k", "2", "nx"}), "(nil)");
  EXPECT_EQ(Run({"GET", "k"}), "$1");
  EXPECT_EQ(Run({"SET", "k", "3", "XX"}), "+OK");
  EXPECT_EQ(Run({"GET", "k"}), "$3");
  EXPECT_EQ(Run({"SET", "k", "4", "NX", "NX"}), "(nil)");  // repeating is allowed
}

TEST_F(StringCommandsTest, SetGet) {
  EXPECT_EQ(Run({"SET", "k", "1", "GET"}), "(nil)");
  EXPECT_EQ(Run({"SET", "k", "2", "GET"}), "$1");
  EXPECT_EQ(Run({"GET", "k"}), "$2");
  // NX GET on an existing key: the old value, nothing written.
  EXPECT_EQ(Run({"SET", "k", "3", "NX", "GET"}), "$2");
  EXPECT_EQ(Run({"GET", "k"}), "$2");
  // XX GET on a missing key: nil, nothing written.
  EXPECT_EQ(Run({"SET", "other", "3", "XX", "GET"}), "(nil)");
  EXPECT_EQ(Run({"EXISTS", "other"}), ":0");
  EXPECT_EQ(Run({"SET", "new", "3", "NX", "GET"}), "(nil)");
  EXPECT_EQ(Run({"GET", "new"}), "$3");
}

TEST_F(StringCommandsTest, SetExpiryOptions) {
  EXPECT_EQ(Run({"SET", "k", "v", "EX", "100"}), "+OK");
  EXPECT_EQ(Run({"TTL", "k"}), ":100");
  EXPECT_EQ(Run({"SET", "k", "v", "PX", "100000"}), "+OK");
  EXPECT_GT(Int({"PTTL", "k"}), 99000);
  EXPECT_LE(Int({"PTTL", "k"}), 100000);
  std::string at = Now(200000, false);
  EXPECT_EQ(Run({"SET", "k", "v", "PXAT", at}), "+OK");
  EXPECT_EQ(Run({"PEXPIRETIME", "k"}), ":" + at);
  std::string at_s = Now(300000, true);
  EXPECT_EQ(Run({"SET", "k", "v", "exat", at_s}), "+OK");
  EXPECT_EQ(Run({"EXPIRETIME", "k"}), ":" + at_s);
  // A plain SET drops the expiry.
  EXPECT_EQ(Run({"SET", "k", "v"}), "+OK");
  EXPECT_EQ(Run({"TTL", "k"}), ":-1");
}

TEST_F(StringCommandsTest, SetKeepTtl) {
  EXPECT_EQ(Run({"SET", "k", "v", "EX", "100"}), "+OK");
  EXPECT_EQ(Run({"SET", "k", "w", "KEEPTTL"}), "+OK");
  EXPECT_EQ(Run({"GET", "k"}), "$w");
  EXPECT_EQ(Run({"TTL", "k"}), ":100");
  EXPECT_EQ(Run({"SET", "fresh", "w", "KEEPTTL"}), "+OK");
  EXPECT_EQ(Run({"TTL", "fresh"}), ":-1");
}

TEST_F(StringExpiryTest, SetExpiresShortly) {
  EXPECT_EQ(Run({"SET", "k", "v", "PX", "1"}), "+OK");
  clock_.Advance(std::chrono::milliseconds(2));
  EXPECT_EQ(Run({"GET", "k"}), "(nil)");
  EXPECT_EQ(Run({"TTL", "k"}), ":-2");
}

TEST_F(StringCommandsTest, SetAtPastTimeDeletes) {
  EXPECT_EQ(Run({"SET", "k", "old"}), "+OK");
  EXPECT_EQ(Run({"SET", "k", "v", "EXAT", "1"}), "+OK");
  EXPECT_EQ(Run({"EXISTS", "k"}), ":0");
  EXPECT_EQ(Run({"SET", "k", "v", "PXAT", Now(-1000, false), "GET"}), "(nil)");
  EXPECT_EQ(Run({"EXISTS", "k"}), ":0");
}

TEST_F(StringCommandsTest, SetOptionErrors) {
  const std::string syntax = "-ERR syntax error";
  const std::string invalid = "-ERR invalid expire time in 'set' command";
  EXPECT_EQ(Run({"SET", "k", "v", "NX", "XX"}), syntax);
  EXPECT_EQ(Run({"SET", "k", "v", "XX", "NX"}), syntax);
  EXPECT_EQ(Run({"SET", "k", "v", "EX"}), syntax);
  EXPECT_EQ(Run({"SET", "k", "v", "EX", "1", "PX", "1"}), syntax);
  EXPECT_EQ(Run({"SET", "k", "v", "EXAT", "1", "PXAT", "1"}), syntax);
  EXPECT_EQ(Run({"SET", "k", "v", "EX", "10", "KEEPTTL"}), syntax);
  EXPECT_EQ(Run({"SET", "k", "v", "KEEPTTL", "PX", "10"}), syntax);
  EXPECT_EQ(Run({"SET", "k", "v", "PERSIST"}), syntax);  // GETEX's option only
  EXPECT_EQ(Run({"SET", "k", "v", "FOO"}), syntax);
  // Every token is checked before the expiry's value.
  EXPECT_EQ(Run({"SET", "k", "v", "EX", "abc", "NX", "XX"}), syntax);
  EXPECT_EQ(Run({"SET", "k", "v", "EX", "abc"}), "-ERR value is not an integer or out of range");
  EXPECT_EQ(Run({"SET", "k", "v", "EX", "1.5"}), "-ERR value is not an integer or out of range");
  EXPECT_EQ(Run({"SET", "k", "v", "EX", "0"}), invalid);
  EXPECT_EQ(Run({"SET", "k", "v", "PX", "-1"}), invalid);
  EXPECT_EQ(Run({"SET", "k", "v", "EXAT", "0"}), invalid);
  EXPECT_EQ(Run({"SET", "k", "v", "EX", "9223372036854775"}), invalid);  // overflows with now
  EXPECT_EQ(Run({"SET", "k", "v", "EX", "9223372036854776"}), invalid);  // overflows * 1000
  EXPECT_EQ(Run({"SET", "k", "v", "PX", "9223372036854775807"}), invalid);
  EXPECT_EQ(Run({"EXISTS", "k"}), ":0");  // nothing was written by any of them
  EXPECT_EQ(Run({"SET", "k", "v", "PXAT", "9223372036854775807"}), "+OK");
  EXPECT_EQ(Run({"SET", "k", "v", "EX", "1", "EX", "100"}), "+OK");  // the last one wins
  EXPECT_EQ(Run({"TTL", "k"}), ":100");
}

// ---- SETNX SETEX PSETEX GETSET GETDEL

TEST_F(StringCommandsTest, SetNx) {
  EXPECT_EQ(Run({"SETNX", "k", "1"}), ":1");
  EXPECT_EQ(Run({"SETNX", "k", "2"}), ":0");
  EXPECT_EQ(Run({"GET", "k"}), "$1");
}

TEST_F(StringCommandsTest, SetExAndPSetEx) {
  EXPECT_EQ(Run({"SETEX", "k", "100", "v"}), "+OK");
  EXPECT_EQ(Run({"GET", "k"}), "$v");
  EXPECT_EQ(Run({"TTL", "k"}), ":100");
  EXPECT_EQ(Run({"PSETEX", "k", "100000", "w"}), "+OK");
  EXPECT_EQ(Run({"GET", "k"}), "$w");
  EXPECT_GT(Int({"PTTL", "k"}), 99000);
  EXPECT_EQ(Run({"SETEX", "k", "0", "v"}), "-ERR invalid expire time in 'setex' command");
  EXPECT_EQ(Run({"PSETEX", "k", "-5", "v"}), "-ERR invalid expire time in 'psetex' command");
  EXPECT_EQ(Run({"SETEX", "k", "x", "v"}), "-ERR value is not an integer or out of range");
  EXPECT_EQ(Run({"SETEX", "k", "10"}), "-ERR wrong number of arguments for 'setex' command");
}

TEST_F(StringCommandsTest, GetSetDropsTtl) {
  EXPECT_EQ(Run({"GETSET", "k", "1"}), "(nil)");
  EXPECT_EQ(Run({"EXPIRE", "k", "100"}), ":1");
  EXPECT_EQ(Run({"GETSET", "k", "2"}), "$1");
  EXPECT_EQ(Run({"GET", "k"}), "$2");
  EXPECT_EQ(Run({"TTL", "k"}), ":-1");
}

TEST_F(StringCommandsTest, GetDel) {
  EXPECT_EQ(Run({"GETDEL", "k"}), "(nil)");
  EXPECT_EQ(Run({"SET", "k", "v"}), "+OK");
  EXPECT_EQ(Run({"GETDEL", "k"}), "$v");
  EXPECT_EQ(Run({"EXISTS", "k"}), ":0");
}

// ---- GETEX

TEST_F(StringCommandsTest, GetExChangesExpiry) {
  EXPECT_EQ(Run({"GETEX", "k"}), "(nil)");
  EXPECT_EQ(Run({"GETEX", "k", "EX", "10"}), "(nil)");
  EXPECT_EQ(Run({"EXISTS", "k"}), ":0");
  EXPECT_EQ(Run({"SET", "k", "v"}), "+OK");
  EXPECT_EQ(Run({"GETEX", "k"}), "$v");
  EXPECT_EQ(Run({"TTL", "k"}), ":-1");
  EXPECT_EQ(Run({"GETEX", "k", "EX", "100"}), "$v");
  EXPECT_EQ(Run({"TTL", "k"}), ":100");
  EXPECT_EQ(Run({"GETEX", "k", "PX", "200000"}), "$v");
  EXPECT_EQ(Run({"TTL", "k"}), ":200");
  std::string at = Now(300000, false);
  EXPECT_EQ(Run({"GETEX", "k", "PXAT", at}), "$v");
  EXPECT_EQ(Run({"PEXPIRETIME", "k"}), ":" + at);
  std::string at_s = Now(400000, true);
  EXPECT_EQ(Run({"GETEX", "k", "EXAT", at_s}), "$v");
  EXPECT_EQ(Run({"EXPIRETIME", "k"}), ":" + at_s);
  EXPECT_EQ(Run({"GETEX", "k", "PERSIST"}), "$v");
  EXPECT_EQ(Run({"TTL", "k"}), ":-1");
  // A time in the past deletes the key after returning its value.
  EXPECT_EQ(Run({"GETEX", "k", "EXAT", "1"}), "$v");
  EXPECT_EQ(Run({"EXISTS", "k"}), ":0");
}

TEST_F(StringCommandsTest, GetExErrors) {
  EXPECT_EQ(Run({"SET", "k", "v", "EX", "100"}), "+OK");
  EXPECT_EQ(Run({"GETEX", "k", "EX", "1", "PERSIST"}), "-ERR syntax error");
  EXPECT_EQ(Run({"GETEX", "k", "PERSIST", "EX", "1"}), "-ERR syntax error");
  EXPECT_EQ(Run({"GETEX", "k", "EX", "1", "PX", "1"}), "-ERR syntax error");
  EXPECT_EQ(Run({"GETEX", "k", "KEEPTTL"}), "-ERR syntax error");
  EXPECT_EQ(Run({"GETEX", "k", "NX"}), "-ERR syntax error");
  EXPECT_EQ(Run({"GETEX", "k", "GET"}), "-ERR syntax error");
  EXPECT_EQ(Run({"GETEX", "k", "EX"}), "-ERR syntax error");
  EXPECT_EQ(Run({"GETEX", "k", "EX", "0"}), "-ERR invalid expire time in 'getex' command");
  EXPECT_EQ(Run({"GETEX", "k", "EX", "abc"}), "-ERR value is not an integer or out of range");
  EXPECT_EQ(Run({"TTL", "k"}), ":100");
  // Redis looks the key up before it checks the expiry value.
  EXPECT_EQ(Run({"GETEX", "missing", "EX", "abc"}), "(nil)");
}

// ---- MGET MSET MSETNX

TEST_F(StringCommandsTest, MSetAndMGet) {
  EXPECT_EQ(Run({"MSET", "a", "1", "b", "2"}), "+OK");
  EXPECT_EQ(Run({"MGET", "a", "missing", "b", "a"}), "[$1, (nil), $2, $1]");
  EXPECT_EQ(Run({"MSET", "a", "1", "a", "2"}), "+OK");  // the last value wins
  EXPECT_EQ(Run({"GET", "a"}), "$2");
  EXPECT_EQ(Run({"MSET", "a", "1", "b"}), "-ERR wrong number of arguments for 'mset' command");
  EXPECT_EQ(Run({"MSET", "a"}), "-ERR wrong number of arguments for 'mset' command");
}

TEST_F(StringCommandsTest, MSetDropsTtl) {
  EXPECT_EQ(Run({"SET", "a", "1", "EX", "100"}), "+OK");
  EXPECT_EQ(Run({"MSET", "a", "2"}), "+OK");
  EXPECT_EQ(Run({"TTL", "a"}), ":-1");
}

TEST_F(StringCommandsTest, MSetNxIsAllOrNothing) {
  EXPECT_EQ(Run({"MSETNX", "a", "1", "b", "2"}), ":1");
  EXPECT_EQ(Run({"MSETNX", "c", "3", "b", "4", "d", "5"}), ":0");
  EXPECT_EQ(Run({"MGET", "a", "b", "c", "d"}), "[$1, $2, (nil), (nil)]");
  EXPECT_EQ(Run({"MSETNX", "e", "1", "e", "2"}), ":1");
  EXPECT_EQ(Run({"GET", "e"}), "$2");
  EXPECT_EQ(Run({"MSETNX", "x", "1", "y"}), "-ERR wrong number of arguments for 'msetnx' command");
}

TEST_F(StringCommandsTest, MSetNxClaimsBothKeysOrNeither) {
  // Clients race to claim overlapping pairs of keys (k0 k1, k1 k2, …). Each successful MSETNX
  // must own both keys of its pair: no key may end up with another client's value.
  constexpr int kClients = 4, kPairs = 200;
  std::vector<std::vector<int>> won(kClients);
  std::vector<std::thread> threads;
  for (int c = 0; c < kClients; ++c) {
    threads.emplace_back([&, c] {
      Client client = server_.Connect();
      for (int i = 0; i < kPairs; ++i) {
        std::string me = std::to_string(c);
        auto reply = client.Command(
            {"MSETNX", "k" + std::to_string(i), me, "k" + std::to_string(i + 1), me});
        if (reply.integer == 1) won[c].push_back(i);
      }
    });
  }
  for (auto& t : threads) t.join();
  int64_t total = 0;
  for (int c = 0; c < kClients; ++c) {
    for (int i : won[c]) {
      EXPECT_EQ(Run({"MGET", "k" + std::to_string(i), "k" + std::to_string(i + 1)}),
                "[$" + std::to_string(c) + ", $" + std::to_string(c) + "]");
      ++total;
    }
  }
  EXPECT_GT(total, 0);
  EXPECT_EQ(Int({"DBSIZE"}), 2 * total);
}

// ---- Counters

TEST_F(StringCommandsTest, IncrDecr) {
  EXPECT_EQ(Run({"INCR", "n"}), ":1");
  EXPECT_EQ(Run({"INCR", "n"}), ":2");
  EXPECT_EQ(Run({"DECR", "n"}), ":1");
  EXPECT_EQ(Run({"INCRBY", "n", "10"}), ":11");
  EXPECT_EQ(Run({"INCRBY", "n", "-20"}), ":-9");
  EXPECT_EQ(Run({"DECRBY", "n", "-9"}), ":0");
  EXPECT_EQ(Run({"DECRBY", "m", "5"}), ":-5");
  EXPECT_EQ(Run({"GET", "m"}), "$-5");
}

TEST_F(StringCommandsTest, IncrKeepsTtl) {
  EXPECT_EQ(Run({"SET", "n", "5", "EX", "100"}), "+OK");
  EXPECT_EQ(Run({"INCR", "n"}), ":6");
  EXPECT_EQ(Run({"INCRBYFLOAT", "n", "0.5"}), "$6.5");
  EXPECT_EQ(Run({"TTL", "n"}), ":100");
}

TEST_F(StringCommandsTest, IncrRejectsNonIntegers) {
  const std::string not_integer = "-ERR value is not an integer or out of range";
  for (std::string bad : {"abc", "1.5", " 1", "1 ", "+1", "01", "-0", "", "99999999999999999999"}) {
    EXPECT_EQ(Run({"SET", "n", bad}), "+OK");
    EXPECT_EQ(Run({"INCR", "n"}), not_integer) << "value '" << bad << "'";
    EXPECT_EQ(Run({"GET", "n"}), "$" + bad);  // unchanged
  }
  EXPECT_EQ(Run({"INCRBY", "x", "abc"}), not_integer);
  EXPECT_EQ(Run({"DECRBY", "x", "1.0"}), not_integer);
  EXPECT_EQ(Run({"EXISTS", "x"}), ":0");
}

TEST_F(StringCommandsTest, IncrOverflow) {
  const std::string overflow = "-ERR increment or decrement would overflow";
  EXPECT_EQ(Run({"SET", "n", "9223372036854775807"}), "+OK");
  EXPECT_EQ(Run({"INCR", "n"}), overflow);
  EXPECT_EQ(Run({"GET", "n"}), "$9223372036854775807");
  EXPECT_EQ(Run({"SET", "n", "-9223372036854775808"}), "+OK");
  EXPECT_EQ(Run({"DECR", "n"}), overflow);
  EXPECT_EQ(Run({"INCRBY", "n", "-1"}), overflow);
  EXPECT_EQ(Run({"INCRBY", "n", "9223372036854775807"}), ":-1");
  EXPECT_EQ(Run({"DECRBY", "n", "-9223372036854775808"}), "-ERR decrement would overflow");
}

TEST_F(StringCommandsTest, IncrIsAtomicAcrossClients) {
  constexpr int kClients = 4, kEach = 250;
  std::vector<std::thread> threads;
  for (int c = 0; c < kClients; ++c) {
    threads.emplace_back([&] {
      Client client = server_.Connect();
      for (int i = 0; i < kEach; ++i) client.Command({"INCR", "n"});
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(Run({"GET", "n"}), "$" + std::to_string(kClients * kEach));
}

TEST_F(StringCommandsTest, IncrByFloat) {
  EXPECT_EQ(Run({"SET", "f", "10.50"}), "+OK");
  EXPECT_EQ(Run({"INCRBYFLOAT", "f", "0.1"}), "$10.6");
  EXPECT_EQ(Run({"INCRBYFLOAT", "f", "-5"}), "$5.6");
  EXPECT_EQ(Run({"GET", "f"}), "$5.6");
  EXPECT_EQ(Run({"SET", "f", "5.0e3"}), "+OK");
  EXPECT_EQ(Run({"INCRBYFLOAT", "f", "2.0e2"}), "$5200");
  EXPECT_EQ(Run({"INCRBYFLOAT", "new", "1.5"}), "$1.5");
  EXPECT_EQ(Run({"INCRBYFLOAT", "new", "-1.5"}), "$0");
  EXPECT_EQ(Run({"SET", "f", "3"}), "+OK");
  EXPECT_EQ(Run({"INCRBYFLOAT", "f", "-3.5"}), "$-0.5");
  EXPECT_EQ(Run({"INCRBYFLOAT", "f", "1e-5"}), "$-0.49999");
}

TEST_F(StringCommandsTest, IncrByFloatErrors) {
  EXPECT_EQ(Run({"SET", "f", "abc"}), "+OK");
  EXPECT_EQ(Run({"INCRBYFLOAT", "f", "1"}), "-ERR value is not a valid float");
  EXPECT_EQ(Run({"INCRBYFLOAT", "g", "abc"}), "-ERR value is not a valid float");
  EXPECT_EQ(Run({"INCRBYFLOAT", "g", " 1"}), "-ERR value is not a valid float");
  EXPECT_EQ(Run({"INCRBYFLOAT", "g", "inf"}), "-ERR increment would produce NaN or Infinity");
  EXPECT_EQ(Run({"SET", "f", "1e4932"}), "+OK");
  EXPECT_EQ(Run({"INCRBYFLOAT", "f", "1e4932"}), "-ERR increment would produce NaN or Infinity");
  EXPECT_EQ(Run({"EXISTS", "g"}), ":0");
}

// ---- APPEND STRLEN GETRANGE SETRANGE

TEST_F(StringCommandsTest, AppendAndStrlen) {
  EXPECT_EQ(Run({"STRLEN", "s"}), ":0");
  EXPECT_EQ(Run({"APPEND", "s", "Hello"}), ":5");
  EXPECT_EQ(Run({"APPEND", "s", " World"}), ":11");
  EXPECT_EQ(Run({"GET", "s"}), "$Hello World");
  EXPECT_EQ(Run({"STRLEN", "s"}), ":11");
  EXPECT_EQ(Run({"EXPIRE", "s", "100"}), ":1");
  EXPECT_EQ(Run({"APPEND", "s", "!"}), ":12");
  EXPECT_EQ(Run({"TTL", "s"}), ":100");  // APPEND keeps the expiry
}

TEST_F(StringCommandsTest, GetRange) {
  EXPECT_EQ(Run({"SET", "s", "This is a string"}), "+OK");
  EXPECT_EQ(Run({"GETRANGE", "s", "0", "3"}), "$This");
  EXPECT_EQ(Run({"GETRANGE", "s", "-3", "-1"}), "$ing");
  EXPECT_EQ(Run({"GETRANGE", "s", "0", "-1"}), "$This is a string");
  EXPECT_EQ(Run({"GETRANGE", "s", "10", "100"}), "$string");
  EXPECT_EQ(Run({"GETRANGE", "s", "-100", "3"}), "$This");
  EXPECT_EQ(Run({"GETRANGE", "s", "5", "3"}), "$");
  EXPECT_EQ(Run({"GETRANGE", "s", "-1", "-5"}), "$");
  EXPECT_EQ(Run({"GETRANGE", "s", "100", "200"}), "$");
  EXPECT_EQ(Run({"GETRANGE", "s", "-9223372036854775808", "9223372036854775807"}),
            "$This is a string");
  EXPECT_EQ(Run({"GETRANGE", "missing", "0", "-1"}), "$");
  EXPECT_EQ(Run({"SET", "e", ""}), "+OK");
  EXPECT_EQ(Run({"GETRANGE", "e", "0", "-1"}), "$");
  EXPECT_EQ(Run({"GETRANGE", "s", "a", "1"}), "-ERR value is not an integer or out of range");
}

TEST_F(StringCommandsTest, SetRange) {
  EXPECT_EQ(Run({"SET", "s", "Hello World"}), "+OK");
  EXPECT_EQ(Run({"SETRANGE", "s", "6", "Redis"}), ":11");
  EXPECT_EQ(Run({"GET", "s"}), "$Hello Redis");
  EXPECT_EQ(Run({"SETRANGE", "s", "11", "!!"}), ":13");
  EXPECT_EQ(Run({"GET", "s"}), "$Hello Redis!!");
  EXPECT_EQ(Run({"SETRANGE", "s", "0", ""}), ":13");
  // A missing key is padded with zero bytes.
  EXPECT_EQ(Run({"SETRANGE", "n", "3", "ab"}), ":5");
  EXPECT_EQ(Run({"GET", "n"}), "$\0\0\0ab"s);
  // Writing nothing to a missing key creates nothing.
  EXPECT_EQ(Run({"SETRANGE", "none", "10", ""}), ":0");
  EXPECT_EQ(Run({"EXISTS", "none"}), ":0");
  EXPECT_EQ(Run({"SETRANGE", "s", "-1", "x"}), "-ERR offset is out of range");
  EXPECT_EQ(Run({"SETRANGE", "s", "x", "x"}), "-ERR value is not an integer or out of range");
  EXPECT_EQ(Run({"SETRANGE", "s", "600000000", "x"}),
            "-ERR string exceeds maximum allowed size (proto-max-bulk-len)");
  EXPECT_EQ(Run({"SETRANGE", "s", "9223372036854775807", "x"}),
            "-ERR string exceeds maximum allowed size (proto-max-bulk-len)");
}

TEST_F(StringCommandsTest, SetRangeKeepsTtl) {
  EXPECT_EQ(Run({"SET", "s", "abc", "EX", "100"}), "+OK");
  EXPECT_EQ(Run({"SETRANGE", "s", "1", "X"}), ":3");
  EXPECT_EQ(Run({"GET", "s"}), "$aXc");
  EXPECT_EQ(Run({"TTL", "s"}), ":100");
}

class SmallBulkTest : public StringCommandsTest {
 protected:
  static config::Config SmallBulk() {
    config::Config config = TestConfig();
    config.server.proto_max_bulk_len = 10;
    return config;
  }
  SmallBulkTest() : StringCommandsTest(SmallBulk()) {}
};

TEST_F(SmallBulkTest, GrowthIsBoundedByProtoMaxBulkLen) {
  const std::string too_long = "-ERR string exceeds maximum allowed size (proto-max-bulk-len)";
  EXPECT_EQ(Run({"SET", "s", "12345"}), "+OK");
  EXPECT_EQ(Run({"APPEND", "s", "67890"}), ":10");
  EXPECT_EQ(Run({"APPEND", "s", "x"}), too_long);
  EXPECT_EQ(Run({"GET", "s"}), "$1234567890");
  EXPECT_EQ(Run({"SETRANGE", "s", "9", "x"}), ":10");
  EXPECT_EQ(Run({"SETRANGE", "s", "10", "x"}), too_long);
  EXPECT_EQ(Run({"SETRANGE", "t", "8", "xyz"}), too_long);
  EXPECT_EQ(Run({"SETRANGE", "t", "1000", ""}), ":0");  // writes nothing, so no error
}

// ---- Transactions see the string commands like any other

TEST_F(StringCommandsTest, InsideMulti) {
  EXPECT_EQ(Run({"MULTI"}), "+OK");
  EXPECT_EQ(Run({"SET", "k", "1"}), "+QUEUED");
  EXPECT_EQ(Run({"INCR", "k"}), "+QUEUED");
  EXPECT_EQ(Run({"GET", "k"}), "+QUEUED");
  EXPECT_EQ(Run({"EXEC"}), "[+OK, :2, $2]");
}

}  // namespace
}  // namespace arvel::testing
