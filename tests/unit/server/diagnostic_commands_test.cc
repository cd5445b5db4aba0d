// MONITOR, SLOWLOG, LATENCY and INFO commandstats/errorstats/latencystats (issue 9) over real
// connections to an in-process server, compared with the formats Redis 7 uses.

#include <gtest/gtest.h>

#include <regex>
#include <string>
#include <vector>

#include "server/command_stats.h"
#include "tests/unit/server/server_fixture.h"

namespace arvel::testing {
namespace {

config::Config LogEverything() {
  config::Config config = TestConfig();
  config.server.slowlog_log_slower_than = 0;
  config.server.slowlog_max_len = 5;
  return config;
}

// The INFO line `field:value` of `section`, or "" if absent.
std::string InfoLine(Client& client, const std::string& section, const std::string& field) {
  const std::string text = client.Command({"INFO", section}).str;
  const size_t at = text.find("\r\n" + field + ":");
  if (at == std::string::npos) return "";
  const size_t start = at + 2 + field.size() + 1;
  return text.substr(start, text.find("\r\n", start) - start);
}

TEST(SlowlogTest, RecordsCommandsAtLeastAsSlowAsTheThreshold) {
  ServerFixture server(LogEverything());
  Client client = server.Connect();
  EXPECT_EQ(Text(client.Command({"SLOWLOG", "RESET"})), "+OK");
  client.Command({"SET", "k", "v"});
  Reply entries = client.Command({"SLOWLOG", "GET", "1"});
  ASSERT_EQ(entries.elements.size(), 1u) << Text(entries);
  const Reply& entry = entries.elements[0];
  ASSERT_EQ(entry.elements.size(), 6u) << Text(entry);
  EXPECT_EQ(Text(entry.elements[3]), "[$SET, $k, $v]");
  EXPECT_GT(entry.elements[1].integer, 1700000000);  // Unix seconds
  EXPECT_GE(entry.elements[2].integer, 0);           // microseconds
  EXPECT_TRUE(std::regex_match(entry.elements[4].str, std::regex(R"(127\.0\.0\.1:\d+)")));
  // The newest first, at most slowlog_max_len.
  for (int i = 0; i < 10; ++i) client.Command({"ECHO", std::to_string(i)});
  EXPECT_EQ(Text(client.Command({"SLOWLOG", "LEN"})), ":5");
  Reply all = client.Command({"SLOWLOG", "GET", "-1"});
  ASSERT_EQ(all.elements.size(), 5u);
  EXPECT_EQ(Text(all.elements[0].elements[3]), "[$SLOWLOG, $LEN]");
  EXPECT_GT(all.elements[0].elements[0].integer, all.elements[1].elements[0].integer);
  EXPECT_EQ(Text(client.Command({"SLOWLOG", "GET", "-2"})),
            "-ERR count should be greater than or equal to -1");
}

TEST(SlowlogTest, TrimsLongArgumentsAndRedactsPasswords) {
  ServerFixture server(LogEverything());
  Client client = server.Connect();
  std::vector<std::string> many{"MSET"};
  for (int i = 0; i < 40; ++i) many.push_back(i % 2 == 0 ? "k" + std::to_string(i) : "v");
  client.Command(many);
  Reply entry = client.Command({"SLOWLOG", "GET", "1"}).elements.at(0);
  ASSERT_EQ(entry.elements[3].elements.size(), 32u);
  EXPECT_EQ(entry.elements[3].elements[31].str, "... (10 more arguments)");
  client.Command({"SET", "long", std::string(200, 'x')});
  entry = client.Command({"SLOWLOG", "GET", "1"}).elements.at(0);
  EXPECT_EQ(entry.elements[3].elements[2].str, std::string(128, 'x') + "... (72 more bytes)");
  client.Command({"AUTH", "secret"});
  entry = client.Command({"SLOWLOG", "GET", "1"}).elements.at(0);
  EXPECT_EQ(Text(entry.elements[3]), "[$AUTH, $(redacted)]");
}

TEST(SlowlogTest, TheDefaultThresholdKeepsFastCommandsOut) {
  ServerFixture server;
  Client client = server.Connect();
  client.Command({"SET", "k", "v"});
  EXPECT_EQ(Text(client.Command({"SLOWLOG", "LEN"})), ":0");
  EXPECT_EQ(Text(client.Command({"CONFIG", "GET", "slowlog-log-slower-than"})),
            "[$slowlog-log-slower-than, $10000]");
}

TEST(MonitorTest, StreamsEveryCommandInRedisFormat) {
  ServerFixture server;
  Client monitor = server.Connect();
  Client client = server.Connect();
  ASSERT_EQ(Text(monitor.Command({"MONITOR"})), "+OK");
  client.Command({"SET", "k", "a \"b\"\n\x01"});
  client.Command({"EVAL", "return redis.call('GET', KEYS[1])", "1", "k"});
  client.Command({"AUTH", "secret"});
  std::vector<std::string> lines;
  for (int i = 0; i < 4; ++i) {
    redisReply* raw = nullptr;
    ASSERT_EQ(redisGetReply(monitor.context(), reinterpret_cast<void**>(&raw)), REDIS_OK);
    ASSERT_EQ(raw->type, REDIS_REPLY_STATUS);
    lines.emplace_back(raw->str, raw->len);
    freeReplyObject(raw);
  }
  const std::string prefix = R"(\d{10}\.\d{6} \[0 127\.0\.0\.1:\d+\] )";
  EXPECT_TRUE(std::regex_match(lines[0], std::regex(prefix + R"("SET" "k" "a \\"b\\"\\n\\x01")")))
      << lines[0];
  // A script is shown before the commands it runs.
  EXPECT_TRUE(std::regex_match(lines[1], std::regex(prefix + R"("EVAL" .*)"))) << lines[1];
  EXPECT_TRUE(std::regex_match(lines[2], std::regex(R"(\d{10}\.\d{6} \[0 lua\] "GET" "k")")))
      << lines[2];
  EXPECT_TRUE(std::regex_match(lines[3], std::regex(prefix + R"re("AUTH" "\(redacted\)")re")))
      << lines[3];
}

TEST(LatencyTest, TheMonitorIsOffSoThereAreNoEvents) {
  ServerFixture server;
  Client client = server.Connect();
  EXPECT_EQ(Text(client.Command({"LATENCY", "LATEST"})), "[]");
  EXPECT_EQ(Text(client.Command({"LATENCY", "HISTORY", "command"})), "[]");
  EXPECT_EQ(Text(client.Command({"LATENCY", "RESET"})), ":0");
  EXPECT_EQ(Text(client.Command({"LATENCY", "GRAPH", "command"})),
            "-ERR No samples available for event 'command'");
}

TEST(CommandStatsTest, InfoCountsCallsFailuresRejectionsAndErrors) {
  ServerFixture server;
  Client client = server.Connect();
  client.Command({"SET", "k", "v"});
  client.Command({"SET", "n", "1"});
  client.Command({"INCR", "k"});  // fails: not an integer
  client.Command({"GET"});        // rejected: arity
  client.Command({"NOSUCH"});     // unknown
  EXPECT_TRUE(std::regex_match(
      InfoLine(client, "commandstats", "cmdstat_set"),
      std::regex(R"(calls=2,usec=\d+,usec_per_call=\d+\.\d\d,rejected_calls=0,failed_calls=0)")));
  EXPECT_TRUE(std::regex_match(InfoLine(client, "commandstats", "cmdstat_incr"),
                               std::regex(R"(calls=1,.*,rejected_calls=0,failed_calls=1)")));
  EXPECT_TRUE(std::regex_match(InfoLine(client, "commandstats", "cmdstat_get"),
                               std::regex(R"(calls=0,.*,rejected_calls=1,failed_calls=0)")));
  EXPECT_EQ(InfoLine(client, "errorstats", "errorstat_ERR"), "count=3");
  EXPECT_EQ(InfoLine(client, "stats", "total_error_replies"), "3");
  EXPECT_TRUE(std::regex_match(InfoLine(client, "latencystats", "latency_percentiles_usec_set"),
                               std::regex(R"(p50=\d+\.\d{3},p99=\d+\.\d{3},p99\.9=\d+\.\d{3})")));
  // Default INFO has errorstats but not the per-command sections; all has them.
  const std::string defaults = client.Command({"INFO"}).str;
  EXPECT_NE(defaults.find("# Errorstats"), std::string::npos);
  EXPECT_EQ(defaults.find("# Commandstats"), std::string::npos);
  const std::string all = client.Command({"INFO", "all"}).str;
  EXPECT_NE(all.find("# Commandstats"), std::string::npos);
  EXPECT_NE(all.find("# Latencystats"), std::string::npos);
  EXPECT_EQ(Text(client.Command({"CONFIG", "RESETSTAT"})), "+OK");
  EXPECT_EQ(InfoLine(client, "errorstats", "errorstat_ERR"), "");
  EXPECT_EQ(InfoLine(client, "commandstats", "cmdstat_set"), "");
}

TEST(CommandStatsTest, ErrorsInsideTransactionsAndScriptsCountPerCommand) {
  ServerFixture server;
  Client client = server.Connect();
  client.Command({"SET", "k", "v"});
  client.Command({"MULTI"});
  client.Command({"INCR", "k"});
  client.Command({"EXEC"});
  EXPECT_TRUE(std::regex_match(InfoLine(client, "commandstats", "cmdstat_incr"),
                               std::regex(R"(calls=1,.*,failed_calls=1)")));
  EXPECT_TRUE(std::regex_match(InfoLine(client, "commandstats", "cmdstat_exec"),
                               std::regex(R"(calls=1,.*,failed_calls=0)")));
}

TEST(LatencyHistogramTest, PercentilesAreWithinABucketOfTheTruth) {
  server::LatencyHistogram histogram;
  EXPECT_EQ(histogram.Percentile(50), 0);
  for (int usec = 1; usec <= 10000; ++usec) histogram.Record(usec);
  EXPECT_NEAR(histogram.Percentile(50), 5000, 5000 * 0.07);
  EXPECT_NEAR(histogram.Percentile(99), 9900, 9900 * 0.07);
  EXPECT_NEAR(histogram.Percentile(100), 10000, 10000 * 0.07);
  EXPECT_EQ(histogram.count(), 10000u);
  server::LatencyHistogram small;
  small.Record(3);
  EXPECT_EQ(small.Percentile(50), 3);
}

}  // namespace
}  // namespace arvel::testing
