// The Arvel facade (SPEC §4) over a real connection to an in-process server (array store).
// Replies are compared as text: "+OK", ":1", "$value", "(nil)", "-ERR …", "[a, b]".

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "tests/unit/server/server_fixture.h"

namespace arvel::testing {
namespace {

using namespace std::string_literals;

class CacheCommandsTest : public ::testing::Test {
 protected:
  std::string Run(const std::vector<std::string>& args) { return Text(client_.Command(args)); }

  ServerFixture server_;
  Client client_ = server_.Connect();
};

const std::string kNotInteger = "-ERR value is not an integer or out of range";

// ---- PUT FOREVER HAS FORGET FLUSH

TEST_F(CacheCommandsTest, PutWithoutTtlNeverExpires) {
  EXPECT_EQ(Run({"PUT", "k", "v"}), "+OK");
  EXPECT_EQ(Run({"GET", "k"}), "$v");
  EXPECT_EQ(Run({"TTL", "k"}), ":-1");
}

TEST_F(CacheCommandsTest, PutWithTtl) {
  EXPECT_EQ(Run({"PUT", "k", "v", "100"}), "+OK");
  EXPECT_EQ(Run({"TTL", "k"}), ":100");
  EXPECT_EQ(Run({"PUT", "k", "w"}), "+OK");  // a later PUT without ttl drops the expiry
  EXPECT_EQ(Run({"TTL", "k"}), ":-1");
  EXPECT_EQ(Run({"PUT", "k", "v", "9223372036854775807"}), "+OK");  // as late as can be
  EXPECT_EQ(Run({"PEXPIRETIME", "k"}), ":9223372036854775807");
}

TEST_F(CacheCommandsTest, PutNonPositiveTtlForgets) {
  EXPECT_EQ(Run({"PUT", "k", "v"}), "+OK");
  EXPECT_EQ(Run({"PUT", "k", "w", "0"}), "+OK");
  EXPECT_EQ(Run({"HAS", "k"}), ":0");
  EXPECT_EQ(Run({"PUT", "k", "v"}), "+OK");
  EXPECT_EQ(Run({"PUT", "k", "w", "-5"}), "+OK");
  EXPECT_EQ(Run({"HAS", "k"}), ":0");
  EXPECT_EQ(Run({"PUT", "k", "w", "-9223372036854775808"}), "+OK");
  EXPECT_EQ(Run({"HAS", "k"}), ":0");
}

TEST_F(CacheCommandsTest, PutErrors) {
  EXPECT_EQ(Run({"PUT", "k", "v", "abc"}), kNotInteger);
  EXPECT_EQ(Run({"PUT", "k", "v", "1.5"}), kNotInteger);
  EXPECT_EQ(Run({"PUT", "k", "v", "1", "x"}), "-ERR wrong number of arguments for 'put' command");
  EXPECT_EQ(Run({"PUT", "k"}), "-ERR wrong number of arguments for 'put' command");
  EXPECT_EQ(Run({"HAS", "k"}), ":0");
}

TEST_F(CacheCommandsTest, PutAndSetShareKeys) {
  EXPECT_EQ(Run({"SET", "k", "from-set"}), "+OK");
  EXPECT_EQ(Run({"PULL", "k"}), "$from-set");
  EXPECT_EQ(Run({"PUT", "k", "from-put", "100"}), "+OK");
  EXPECT_EQ(Run({"GET", "k"}), "$from-put");
  EXPECT_EQ(Run({"TTL", "k"}), ":100");
}

TEST_F(CacheCommandsTest, Forever) {
  EXPECT_EQ(Run({"PUT", "k", "v", "100"}), "+OK");
  EXPECT_EQ(Run({"FOREVER", "k", "w"}), "+OK");
  EXPECT_EQ(Run({"GET", "k"}), "$w");
  EXPECT_EQ(Run({"TTL", "k"}), ":-1");
  EXPECT_EQ(Run({"FOREVER", "k"}), "-ERR wrong number of arguments for 'forever' command");
}

TEST_F(CacheCommandsTest, HasAndForget) {
  EXPECT_EQ(Run({"HAS", "k"}), ":0");
  EXPECT_EQ(Run({"FORGET", "k"}), ":0");
  EXPECT_EQ(Run({"PUT", "k", "v"}), "+OK");
  EXPECT_EQ(Run({"HAS", "k"}), ":1");
  EXPECT_EQ(Run({"FORGET", "k"}), ":1");
  EXPECT_EQ(Run({"HAS", "k"}), ":0");
}

TEST_F(CacheCommandsTest, Flush) {
  EXPECT_EQ(Run({"PUTMANY", "100", "a", "1", "b", "2"}), "+OK");
  EXPECT_EQ(Run({"FLUSH"}), "+OK");
  EXPECT_EQ(Run({"DBSIZE"}), ":0");
  EXPECT_EQ(Run({"FLUSH", "x"}), "-ERR wrong number of arguments for 'flush' command");
}

TEST_F(CacheCommandsTest, BinarySafe) {
  std::string key = "\r\n\0k"s, value = "\0\r\nv\0"s;
  EXPECT_EQ(Run({"PUT", key, value, "100"}), "+OK");
  EXPECT_EQ(Run({"MANY", key}), "[$" + value + "]");
  EXPECT_EQ(Run({"PULL", key}), "$" + value);
  EXPECT_EQ(Run({"HAS", key}), ":0");
}

// ---- ADD

TEST_F(CacheCommandsTest, AddOnlyWhenAbsent) {
  EXPECT_EQ(Run({"ADD", "k", "1"}), ":1");
  EXPECT_EQ(Run({"ADD", "k", "2"}), ":0");
  EXPECT_EQ(Run({"GET", "k"}), "$1");
  EXPECT_EQ(Run({"TTL", "k"}), ":-1");
  EXPECT_EQ(Run({"ADD", "t", "1", "100"}), ":1");
  EXPECT_EQ(Run({"TTL", "t"}), ":100");
  EXPECT_EQ(Run({"ADD", "t", "2", "200"}), ":0");
  EXPECT_EQ(Run({"TTL", "t"}), ":100");
}

TEST_F(CacheCommandsTest, AddWithNonPositiveTtlStoresNothing) {
  EXPECT_EQ(Run({"ADD", "k", "1", "0"}), ":0");
  EXPECT_EQ(Run({"ADD", "k", "1", "-1"}), ":0");
  EXPECT_EQ(Run({"HAS", "k"}), ":0");
  EXPECT_EQ(Run({"ADD", "k", "1", "x"}), kNotInteger);
  EXPECT_EQ(Run({"ADD", "k", "1", "1", "1"}), "-ERR wrong number of arguments for 'add' command");
}

TEST_F(CacheCommandsTest, AddHasOneWinnerAcrossClients) {
  constexpr int kClients = 4, kKeys = 100;
  std::atomic<int> wins{0};
  std::vector<std::thread> threads;
  for (int c = 0; c < kClients; ++c) {
    threads.emplace_back([&, c] {
      Client client = server_.Connect();
      for (int i = 0; i < kKeys; ++i) {
        wins += client.Command({"ADD", "k" + std::to_string(i), std::to_string(c)}).integer;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(wins.load(), kKeys);
}

// ---- INCREMENT DECREMENT

TEST_F(CacheCommandsTest, IncrementAndDecrement) {
  EXPECT_EQ(Run({"INCREMENT", "n"}), ":1");
  EXPECT_EQ(Run({"INCREMENT", "n", "5"}), ":6");
  EXPECT_EQ(Run({"DECREMENT", "n"}), ":5");
  EXPECT_EQ(Run({"DECREMENT", "n", "10"}), ":-5");
  EXPECT_EQ(Run({"DECREMENT", "m", "-3"}), ":3");
  EXPECT_EQ(Run({"GET", "n"}), "$-5");
}

TEST_F(CacheCommandsTest, IncrementKeepsTtl) {
  EXPECT_EQ(Run({"PUT", "n", "1", "100"}), "+OK");
  EXPECT_EQ(Run({"INCREMENT", "n", "2"}), ":3");
  EXPECT_EQ(Run({"DECREMENT", "n"}), ":2");
  EXPECT_EQ(Run({"TTL", "n"}), ":100");
}

TEST_F(CacheCommandsTest, IncrementErrors) {
  EXPECT_EQ(Run({"PUT", "s", "abc"}), "+OK");
  EXPECT_EQ(Run({"INCREMENT", "s"}), kNotInteger);
  EXPECT_EQ(Run({"DECREMENT", "s", "2"}), kNotInteger);
  EXPECT_EQ(Run({"GET", "s"}), "$abc");
  EXPECT_EQ(Run({"INCREMENT", "n", "x"}), kNotInteger);
  EXPECT_EQ(Run({"HAS", "n"}), ":0");
  EXPECT_EQ(Run({"PUT", "n", "9223372036854775807"}), "+OK");
  EXPECT_EQ(Run({"INCREMENT", "n"}), "-ERR increment or decrement would overflow");
  EXPECT_EQ(Run({"DECREMENT", "n", "-9223372036854775808"}), "-ERR decrement would overflow");
  EXPECT_EQ(Run({"INCREMENT", "n", "1", "2"}),
            "-ERR wrong number of arguments for 'increment' command");
}

// ---- PULL MANY PUTMANY

TEST_F(CacheCommandsTest, Pull) {
  EXPECT_EQ(Run({"PULL", "k"}), "(nil)");
  EXPECT_EQ(Run({"PULL", "k", "fallback"}), "$fallback");
  EXPECT_EQ(Run({"HAS", "k"}), ":0");  // the default is not stored
  EXPECT_EQ(Run({"PUT", "k", "v", "100"}), "+OK");
  EXPECT_EQ(Run({"PULL", "k", "fallback"}), "$v");
  EXPECT_EQ(Run({"HAS", "k"}), ":0");
  EXPECT_EQ(Run({"PULL", "k", "a", "b"}), "-ERR wrong number of arguments for 'pull' command");
}

TEST_F(CacheCommandsTest, PullGivesEachValueToOneClient) {
  constexpr int kClients = 4, kKeys = 100;
  for (int i = 0; i < kKeys; ++i) Run({"PUT", "k" + std::to_string(i), "v"});
  std::atomic<int> pulled{0};
  std::vector<std::thread> threads;
  for (int c = 0; c < kClients; ++c) {
    threads.emplace_back([&] {
      Client client = server_.Connect();
      for (int i = 0; i < kKeys; ++i) {
        if (!client.Command({"PULL", "k" + std::to_string(i)}).is_nil()) ++pulled;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(pulled.load(), kKeys);
}

TEST_F(CacheCommandsTest, Many) {
  EXPECT_EQ(Run({"PUT", "a", "1"}), "+OK");
  EXPECT_EQ(Run({"PUT", "c", "3"}), "+OK");
  EXPECT_EQ(Run({"MANY", "a", "b", "c", "a"}), "[$1, (nil), $3, $1]");
  EXPECT_EQ(Run({"MANY"}), "-ERR wrong number of arguments for 'many' command");
}

TEST_F(CacheCommandsTest, PutMany) {
  EXPECT_EQ(Run({"PUTMANY", "100", "a", "1", "b", "2"}), "+OK");
  EXPECT_EQ(Run({"MANY", "a", "b"}), "[$1, $2]");
  EXPECT_EQ(Run({"TTL", "a"}), ":100");
  EXPECT_EQ(Run({"TTL", "b"}), ":100");
  EXPECT_EQ(Run({"PUTMANY", "100", "a", "x", "a", "y"}), "+OK");  // the last value wins
  EXPECT_EQ(Run({"GET", "a"}), "$y");
  EXPECT_EQ(Run({"PUTMANY", "0", "a", "1", "c", "3"}), "+OK");  // ttl <= 0 forgets them
  EXPECT_EQ(Run({"MANY", "a", "b", "c"}), "[(nil), $2, (nil)]");
  EXPECT_EQ(Run({"PUTMANY", "-1", "b", "1"}), "+OK");
  EXPECT_EQ(Run({"HAS", "b"}), ":0");
}

TEST_F(CacheCommandsTest, PutManyErrors) {
  EXPECT_EQ(Run({"PUTMANY", "10", "a", "1", "b"}),
            "-ERR wrong number of arguments for 'putmany' command");
  EXPECT_EQ(Run({"PUTMANY", "10", "a"}), "-ERR wrong number of arguments for 'putmany' command");
  EXPECT_EQ(Run({"PUTMANY", "x", "a", "1"}), kNotInteger);
  EXPECT_EQ(Run({"DBSIZE"}), ":0");
}

}  // namespace
}  // namespace arvel::testing
