// The `null` driver through the server: reads miss, writes succeed and vanish (SPEC §6). It
// cannot pass the conformance suite (nothing is ever stored), so it has its own expectations.

#include <gtest/gtest.h>

#include "config/config.h"
#include "tests/unit/server/conformance.h"

namespace arvel::testing {
namespace {

class NullStoreConformanceTest : public ::testing::Test {
 protected:
  static config::Config NullConfig() {
    config::CommandLine line;
    line.port = 0;
    auto config = config::LoadConfigText("default = \"off\"\n[stores.off]\ndriver = \"null\"\n",
                                         "null.toml", line, {});
    if (!config.ok()) throw std::runtime_error(config.status().message());
    return *config;
  }
  std::string Run(const std::vector<std::string>& args) { return Text(client_.Command(args)); }

  ServerFixture server_{NullConfig()};
  Client client_ = server_.Connect();
};

TEST_F(NullStoreConformanceTest, WritesSucceedAndReadsMiss) {
  EXPECT_EQ(Run({"PUT", "k", "v"}), "+OK");
  EXPECT_EQ(Run({"FOREVER", "k", "v"}), "+OK");
  EXPECT_EQ(Run({"SET", "k", "v", "EX", "100"}), "+OK");
  EXPECT_EQ(Run({"MSET", "a", "1", "b", "2"}), "+OK");
  EXPECT_EQ(Run({"PUTMANY", "100", "a", "1"}), "+OK");
  EXPECT_EQ(Run({"GET", "k"}), "(nil)");
  EXPECT_EQ(Run({"GET", "k", "fallback"}), "$fallback");
  EXPECT_EQ(Run({"HAS", "k"}), ":0");
  EXPECT_EQ(Run({"EXISTS", "k", "a"}), ":0");
  EXPECT_EQ(Run({"MANY", "a", "b"}), "[(nil), (nil)]");
  EXPECT_EQ(Run({"MGET", "a", "b"}), "[(nil), (nil)]");
  EXPECT_EQ(Run({"PULL", "k"}), "(nil)");
  EXPECT_EQ(Run({"FORGET", "k"}), ":0");
  EXPECT_EQ(Run({"TTL", "k"}), ":-2");
  EXPECT_EQ(Run({"TAGS", "t", "PUT", "k", "v"}), "+OK");
  EXPECT_EQ(Run({"TAGS", "t", "GET", "k"}), "(nil)");
}

TEST_F(NullStoreConformanceTest, ConditionalWritesSeeNothingThere) {
  // Every key is absent, so "only if absent" always succeeds and counters start from 0 again.
  EXPECT_EQ(Run({"ADD", "k", "v"}), ":1");
  EXPECT_EQ(Run({"ADD", "k", "v"}), ":1");
  EXPECT_EQ(Run({"SET", "k", "v", "NX"}), "+OK");
  EXPECT_EQ(Run({"SET", "k", "v", "XX"}), "(nil)");
  EXPECT_EQ(Run({"INCREMENT", "n"}), ":1");
  EXPECT_EQ(Run({"INCREMENT", "n"}), ":1");
  EXPECT_EQ(Run({"INCR", "n"}), ":1");
  EXPECT_EQ(Run({"APPEND", "s", "abc"}), ":3");
  EXPECT_EQ(Run({"EXPIRE", "k", "10"}), ":0");
}

TEST_F(NullStoreConformanceTest, TheKeySpaceIsAlwaysEmpty) {
  EXPECT_EQ(Run({"PUT", "k", "v"}), "+OK");
  EXPECT_EQ(Run({"DBSIZE"}), ":0");
  EXPECT_EQ(Run({"KEYS", "*"}), "[]");
  EXPECT_EQ(Run({"SCAN", "0"}), "[$0, []]");
  EXPECT_EQ(Run({"RANDOMKEY"}), "(nil)");
  EXPECT_EQ(Run({"FLUSH"}), "+OK");
  EXPECT_EQ(Run({"FLUSHDB"}), "+OK");
}

TEST_F(NullStoreConformanceTest, LocksAreAlwaysGrantedAndThrottlesNeverCount) {
  // Laravel's NoLock: every acquisition succeeds.
  EXPECT_EQ(Run({"LOCK", "ACQUIRE", "job", "10", "OWNER", "a"}), "$a");
  EXPECT_EQ(Run({"LOCK", "ACQUIRE", "job", "10", "OWNER", "b"}), "$b");
  EXPECT_EQ(Run({"THROTTLE", "ATTEMPT", "api", "1", "60"}), ":1");
  EXPECT_EQ(Run({"THROTTLE", "ATTEMPT", "api", "1", "60"}), ":1");
  EXPECT_EQ(Run({"THROTTLE", "ATTEMPTS", "api"}), ":0");
}

TEST_F(NullStoreConformanceTest, FencedGrantsStillGrowAndNothingIsHeld) {
  // Nothing is kept, but a fence must never go backwards: one counter of the daemon.
  const Reply first = client_.Command({"LOCK", "ACQUIRE", "job", "10", "OWNER", "a", "FENCED"});
  ASSERT_EQ(first.type, REDIS_REPLY_ARRAY) << Text(first);
  ASSERT_EQ(first.elements.size(), 2u);
  EXPECT_EQ(Text(first.elements[0]), "$a");
  const long long fence = first.elements[1].integer;
  EXPECT_EQ(Run({"LOCK", "ACQUIRE", "job", "10", "OWNER", "b", "SESSION", "FENCED"}),
            "[$b, :" + std::to_string(fence + 1) + "]");
  EXPECT_EQ(Run({"LOCK", "BLOCK", "job", "10", "1", "FENCED", "OWNER", "c"}),
            "[$c, :" + std::to_string(fence + 2) + "]");
  EXPECT_EQ(Run({"LOCK", "FENCE", "job"}), "(nil)");
  EXPECT_EQ(Run({"LOCK", "OWNER", "job"}), "(nil)");
}

TEST_F(NullStoreConformanceTest, EveryFunnelSlotIsGrantedAndNoneIsHeld) {
  for (int i = 0; i < 3; ++i) {
    const Reply token = client_.Command({"FUNNEL", "ACQUIRE", "pool", "1", "10", "BLOCK", "1"});
    EXPECT_EQ(token.type, REDIS_REPLY_STRING) << Text(token);
    EXPECT_EQ(token.str.size(), 32u);
  }
  EXPECT_EQ(client_.Command({"FUNNEL", "ACQUIRE", "pool", "1", "0", "SESSION"}).type,
            REDIS_REPLY_STRING);
  EXPECT_EQ(Run({"FUNNEL", "COUNT", "pool"}), ":0");
  EXPECT_EQ(Run({"FUNNEL", "RELEASE", "pool", "anything"}), ":1");  // as LOCK RELEASE there
  EXPECT_EQ(Run({"FUNNEL", "ACQUIRE", "pool", "0", "10"}), "-ERR limit must be a positive integer");
}

}  // namespace
}  // namespace arvel::testing
