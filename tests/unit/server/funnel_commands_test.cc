// FUNNEL (SPEC §4, Concurrency limiting) on an array store whose clock the test moves, so slot
// TTLs run out without sleeping; and on a FAKE store moved by FAKE TRAVEL. The behaviour every
// driver shares is in conformance_funnel_test.cc.

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "tests/unit/server/server_fixture.h"

namespace arvel::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

class FunnelExpiryTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(Run({"STORE", "clocked"}), "+OK"); }
  std::string Run(const std::vector<std::string>& args) { return Text(client_.Command(args)); }
  bool Acquire(const std::string& limit, const std::string& ttl) {
    return client_.Command({"FUNNEL", "ACQUIRE", "jobs", limit, ttl}).type == REDIS_REPLY_STRING;
  }

  FakeClock clock_;
  ServerFixture server_{TestConfig(), ClockedArrayStore("clocked", clock_)};
  Client client_ = server_.Connect();
};

TEST_F(FunnelExpiryTest, SlotsRunOutWithTheirTtl) {
  EXPECT_TRUE(Acquire("3", "10"));
  EXPECT_TRUE(Acquire("3", "20"));
  EXPECT_TRUE(Acquire("3", "0"));
  EXPECT_FALSE(Acquire("3", "10"));
  clock_.Advance(seconds(10));  // the first slot's expiry: no longer held
  EXPECT_EQ(Run({"FUNNEL", "COUNT", "jobs"}), ":2");
  EXPECT_TRUE(Acquire("3", "5"));
  EXPECT_FALSE(Acquire("3", "5"));
  clock_.Advance(seconds(20));
  EXPECT_EQ(Run({"FUNNEL", "COUNT", "jobs"}), ":1");  // ttl 0 stays
  EXPECT_TRUE(Acquire("2", "5"));
  EXPECT_FALSE(Acquire("2", "5"));
}

TEST_F(FunnelExpiryTest, TheRecordGoesWithItsLastSlot) {
  EXPECT_TRUE(Acquire("2", "10"));
  EXPECT_TRUE(Acquire("2", "30"));
  clock_.Advance(seconds(30));
  EXPECT_EQ(Run({"FUNNEL", "COUNT", "jobs"}), ":0");
}

TEST(FunnelFakeTest, FakeTravelRunsSlotsOut) {
  ServerFixture server;
  Client client = server.Connect();
  EXPECT_EQ(Text(client.Command({"FAKE"})), "+OK");
  EXPECT_EQ(client.Command({"FUNNEL", "ACQUIRE", "mail", "1", "60"}).type, REDIS_REPLY_STRING);
  EXPECT_EQ(Text(client.Command({"FUNNEL", "ACQUIRE", "mail", "1", "60"})), "(nil)");
  EXPECT_EQ(Text(client.Command({"FAKE", "TRAVEL", "61"})), "+OK");
  EXPECT_EQ(Text(client.Command({"FUNNEL", "COUNT", "mail"})), ":0");
  EXPECT_EQ(client.Command({"FUNNEL", "ACQUIRE", "mail", "1", "60"}).type, REDIS_REPLY_STRING);
}

TEST(FunnelBlockTest, BlockInsideMultiDoesNotWait) {
  ServerFixture server;
  Client client = server.Connect();
  EXPECT_EQ(client.Command({"FUNNEL", "ACQUIRE", "full", "1", "0"}).type, REDIS_REPLY_STRING);
  EXPECT_EQ(Text(client.Command({"MULTI"})), "+OK");
  EXPECT_EQ(Text(client.Command({"FUNNEL", "ACQUIRE", "full", "1", "10", "BLOCK", "5"})),
            "+QUEUED");
  EXPECT_EQ(Text(client.Command({"FUNNEL", "COUNT", "full"})), "+QUEUED");
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(Text(client.Command({"EXEC"})), "[(nil), :1]");
  EXPECT_LT(MillisSince(start), 500);
}

TEST(FunnelHelpTest, HelpListsTheSubcommands) {
  ServerFixture server;
  Client client = server.Connect();
  const Reply help = client.Command({"FUNNEL", "HELP"});
  ASSERT_EQ(help.type, REDIS_REPLY_ARRAY);
  EXPECT_NE(Text(help).find("ACQUIRE <name> <limit> <ttl> [BLOCK <timeout>] [SESSION]"),
            std::string::npos);
  EXPECT_EQ(Text(client.Command({"FUNNEL", "BOGUS"})).substr(0, 5), "-ERR ");
  EXPECT_EQ(Text(client.Command({"FUNNEL", "COUNT"})),
            "-ERR wrong number of arguments for 'funnel|count' command");
}

}  // namespace
}  // namespace arvel::testing
