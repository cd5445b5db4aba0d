// OBJECT, MEMORY, CLIENT NO-TOUCH, CLIENT PAUSE/UNPAUSE, INFO keyspace expiry figures and WATCH
// of an expiring key (issue 9), over real connections to an in-process server.

#include <hiredis/hiredis.h>

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "tests/unit/server/server_fixture.h"

namespace arvel::testing {
namespace {

using std::chrono::milliseconds;

// Sends `args` on `client` without waiting for the reply (a Redis "deferring client").
void SendOnly(Client& client, const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  std::vector<size_t> lengths;
  for (const std::string& arg : args) {
    argv.push_back(arg.data());
    lengths.push_back(arg.size());
  }
  ASSERT_EQ(redisAppendCommandArgv(client.context(), static_cast<int>(argv.size()), argv.data(),
                                   lengths.data()),
            REDIS_OK);
  int done = 0;
  while (!done) ASSERT_EQ(redisBufferWrite(client.context(), &done), REDIS_OK);
}

std::string ReadReply(Client& client) {
  void* raw = nullptr;
  if (redisGetReply(client.context(), &raw) != REDIS_OK || raw == nullptr) return "<no reply>";
  auto* reply = static_cast<redisReply*>(raw);
  std::string text = reply->type == REDIS_REPLY_INTEGER ? ":" + std::to_string(reply->integer)
                     : reply->str != nullptr            ? std::string(reply->str, reply->len)
                                                        : "<nil>";
  freeReplyObject(reply);
  return text;
}

TEST(ObjectCommandTest, EncodingRefcountAndFreqAsRedisWouldReportThem) {
  ServerFixture server;
  Client c = server.Connect();
  c.Command({"SET", "int", "12345"});
  c.Command({"SET", "short", "hello"});
  c.Command({"SET", "long", std::string(45, 'x')});
  c.Command({"SET", "zero-padded", "007"});
  EXPECT_EQ(Text(c.Command({"OBJECT", "ENCODING", "int"})), "$int");
  EXPECT_EQ(Text(c.Command({"OBJECT", "encoding", "short"})), "$embstr");
  EXPECT_EQ(Text(c.Command({"OBJECT", "ENCODING", "long"})), "$raw");
  EXPECT_EQ(Text(c.Command({"OBJECT", "ENCODING", "zero-padded"})), "$embstr");
  EXPECT_TRUE(c.Command({"OBJECT", "ENCODING", "missing"}).is_nil());
  EXPECT_EQ(Text(c.Command({"OBJECT", "REFCOUNT", "short"})), ":1");
  c.Command({"SET", "small-int", "42"});
  EXPECT_EQ(Text(c.Command({"OBJECT", "REFCOUNT", "small-int"})), ":2147483647");  // shared
  EXPECT_EQ(Text(c.Command({"OBJECT", "REFCOUNT", "int"})), ":1");
  EXPECT_TRUE(c.Command({"OBJECT", "FREQ", "missing"}).is_nil());
  EXPECT_EQ(c.Command({"OBJECT", "FREQ", "short"}).str.rfind("ERR An LFU maxmemory policy", 0), 0u);
  EXPECT_EQ(Text(c.Command({"OBJECT", "NOPE", "short"})).rfind("-ERR unknown subcommand 'NOPE'", 0),
            0u);
  EXPECT_EQ(Text(c.Command({"OBJECT", "ENCODING"})),
            "-ERR wrong number of arguments for 'object|encoding' command");
  EXPECT_GT(c.Command({"OBJECT", "HELP"}).elements.size(), 8u);
  EXPECT_EQ(Text(c.Command({"COMMAND", "GETKEYS", "OBJECT", "ENCODING", "k"})), "[$k]");
}

TEST(ObjectCommandTest, IdletimeCountsOnlyAccessesThatTouch) {
  ServerFixture server;
  Client c = server.Connect();
  c.Command({"SET", "k", "v"});
  EXPECT_EQ(Text(c.Command({"OBJECT", "IDLETIME", "k"})), ":0");
  std::this_thread::sleep_for(milliseconds(2100));
  // TTL, TYPE, EXISTS and OBJECT look without touching (Redis's LOOKUP_NOTOUCH)...
  c.Command({"TTL", "k"});
  c.Command({"TYPE", "k"});
  c.Command({"EXISTS", "k"});
  EXPECT_GE(c.Command({"OBJECT", "IDLETIME", "k"}).integer, 1);
  // ...and so does every command of a client in NO-TOUCH mode, but TOUCH.
  EXPECT_EQ(Text(c.Command({"CLIENT", "NO-TOUCH", "ON"})), "+OK");
  EXPECT_NE(c.Command({"CLIENT", "INFO"}).str.find(" flags=T "), std::string::npos);
  EXPECT_EQ(Text(c.Command({"GET", "k"})), "$v");
  EXPECT_GE(c.Command({"OBJECT", "IDLETIME", "k"}).integer, 1);
  EXPECT_EQ(Text(c.Command({"TOUCH", "k"})), ":1");
  EXPECT_EQ(Text(c.Command({"OBJECT", "IDLETIME", "k"})), ":0");
  EXPECT_EQ(Text(c.Command({"CLIENT", "NO-TOUCH", "OFF"})), "+OK");
  EXPECT_EQ(Text(c.Command({"CLIENT", "NO-TOUCH", "maybe"})), "-ERR syntax error");
  std::this_thread::sleep_for(milliseconds(1100));
  EXPECT_GE(c.Command({"OBJECT", "IDLETIME", "k"}).integer, 1);
  c.Command({"GET", "k"});
  EXPECT_EQ(Text(c.Command({"OBJECT", "IDLETIME", "k"})), ":0");
}

TEST(MemoryCommandTest, UsageGrowsWithTheValueAndStatsDescribeTheServer) {
  ServerFixture server;
  Client c = server.Connect();
  c.Command({"SET", "small", "v"});
  c.Command({"SET", "big", std::string(10000, 'x')});
  const int64_t small = c.Command({"MEMORY", "USAGE", "small"}).integer;
  const int64_t big = c.Command({"MEMORY", "USAGE", "big", "SAMPLES", "0"}).integer;
  EXPECT_GT(small, 1);
  EXPECT_LT(small, 200);
  EXPECT_GT(big, 10000);
  EXPECT_LT(big, 10000 + 300);
  EXPECT_TRUE(c.Command({"MEMORY", "USAGE", "missing"}).is_nil());
  EXPECT_EQ(Text(c.Command({"MEMORY", "USAGE", "big", "SAMPLES", "x"})),
            "-ERR value is not an integer or out of range");
  EXPECT_EQ(Text(c.Command({"MEMORY", "USAGE", "big", "BOGUS"})), "-ERR syntax error");
  EXPECT_EQ(Text(c.Command({"COMMAND", "GETKEYS", "MEMORY", "USAGE", "key"})), "[$key]");

  Reply stats = c.Command({"MEMORY", "STATS"});
  ASSERT_EQ(stats.elements.size(), 54u) << Text(stats);
  std::map<std::string, int64_t> fields;
  for (size_t i = 0; i + 1 < stats.elements.size(); i += 2) {
    fields[stats.elements[i].str] = stats.elements[i + 1].integer;
  }
  EXPECT_EQ(stats.elements[0].str, "peak.allocated");
  EXPECT_EQ(fields["keys.count"], 2);
  EXPECT_GT(fields["dataset.bytes"], 10000);
  EXPECT_GE(fields["total.allocated"], fields["dataset.bytes"]);
  EXPECT_GE(fields["peak.allocated"], fields["total.allocated"]);
  EXPECT_GT(fields["allocator.resident"], 0);
  EXPECT_EQ(Text(c.Command({"MEMORY", "PURGE"})), "+OK");
  EXPECT_EQ(c.Command({"MEMORY", "DOCTOR"}).str.rfind("Hi Sam", 0), 0u);
  EXPECT_EQ(c.Command({"MEMORY", "MALLOC-STATS"}).str,
            "Stats not supported for the current allocator");
  EXPECT_GT(c.Command({"MEMORY", "HELP"}).elements.size(), 8u);
}

TEST(InfoKeyspaceTest, CountsKeysWithAnExpiryAndTheirAverageTtl) {
  ServerFixture server;
  Client c = server.Connect();
  c.Command({"SET", "a", "v", "EX", "100"});
  c.Command({"SET", "b", "v", "EX", "200"});
  c.Command({"SET", "c", "v"});
  c.Command({"PUT", "d", "v"});
  const std::string info = c.Command({"INFO", "keyspace"}).str;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(info, m, std::regex(R"(db0:keys=4,expires=2,avg_ttl=(\d+)\r\n)")))
      << info;
  const int64_t avg = std::stoll(m[1]);
  EXPECT_GT(avg, 149000);
  EXPECT_LE(avg, 150000);
}

TEST(WatchTest, AKeyThatExpiresAfterWatchFailsTheExec) {
  ServerFixture server;
  Client c = server.Connect();
  c.Command({"SET", "x", "foo", "PX", "50"});
  EXPECT_EQ(Text(c.Command({"WATCH", "x"})), "+OK");
  // Active expiry removes it within a few ticks; nobody reads it.
  for (int i = 0; i < 50 && InfoField(c, "stats", "expired_keys") < 1; ++i) {
    std::this_thread::sleep_for(milliseconds(50));
  }
  c.Command({"MULTI"});
  c.Command({"PING"});
  EXPECT_TRUE(c.Command({"EXEC"}).is_nil());
  // A key that was already gone when watched changes nothing by expiring.
  EXPECT_EQ(Text(c.Command({"WATCH", "x"})), "+OK");
  c.Command({"MULTI"});
  c.Command({"PING"});
  EXPECT_EQ(Text(c.Command({"EXEC"})), "[+PONG]");
}

TEST(ClientPauseTest, WritePausePostponesWritesAndWriteScriptsOnly) {
  ServerFixture server;
  Client admin = server.Connect();
  Client writer = server.Connect();
  Client script = server.Connect();
  Client reader = server.Connect();
  EXPECT_EQ(Text(admin.Command({"CLIENT", "PAUSE", "60000", "WRITE"})), "+OK");
  SendOnly(writer, {"SET", "k", "v"});
  SendOnly(script, {"EVAL", "return redis.call('SET', 'k2', 'v')", "0"});
  WaitForBlocked(admin, 2);
  EXPECT_TRUE(reader.Command({"GET", "k"}).is_nil());
  EXPECT_EQ(Text(reader.Command({"EVAL", "#!lua flags=no-writes\nreturn 7", "0"})), ":7");
  EXPECT_EQ(Text(reader.Command({"SET", "k"})),
            "-ERR wrong number of arguments for 'set' command");  // errors answer at once
  // A queued write is judged at EXEC.
  EXPECT_EQ(Text(reader.Command({"MULTI"})), "+OK");
  EXPECT_EQ(Text(reader.Command({"GET", "k"})), "+QUEUED");
  EXPECT_EQ(Text(reader.Command({"EXEC"})), "[(nil)]");
  EXPECT_EQ(Blocked(admin), 2);
  EXPECT_EQ(Text(admin.Command({"CLIENT", "UNPAUSE"})), "+OK");
  EXPECT_EQ(ReadReply(writer), "OK");
  EXPECT_EQ(ReadReply(script), "OK");
  EXPECT_EQ(Text(reader.Command({"GET", "k"})), "$v");
  EXPECT_EQ(Blocked(admin), 0);
}

TEST(ClientPauseTest, AllPausePostponesEveryCommandUntilItEnds) {
  ServerFixture server;
  Client admin = server.Connect();
  Client other = server.Connect();
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(Text(admin.Command({"CLIENT", "PAUSE", "300"})), "+OK");
  EXPECT_EQ(Text(other.Command({"PING"})), "+PONG");
  EXPECT_GE(MillisSince(start), 250);
  EXPECT_LT(MillisSince(start), 3000);
  EXPECT_EQ(Text(admin.Command({"CLIENT", "PAUSE", "x"})),
            "-ERR timeout is not an integer or out of range");
  EXPECT_EQ(Text(admin.Command({"CLIENT", "PAUSE", "-1"})), "-ERR timeout is negative");
  EXPECT_EQ(Text(admin.Command({"CLIENT", "PAUSE", "10", "READ"})),
            "-ERR CLIENT PAUSE mode must be WRITE or ALL");
  EXPECT_EQ(Text(admin.Command({"CLIENT", "PAUSE"})),
            "-ERR wrong number of arguments for 'client|pause' command");
}

TEST(ClientPauseTest, ExpiredKeysStayUntilThePauseEnds) {
  ServerFixture server;
  Client c = server.Connect();
  c.Command({"SET", "k", "v", "PX", "20"});
  EXPECT_EQ(Text(c.Command({"CLIENT", "PAUSE", "60000", "WRITE"})), "+OK");
  std::this_thread::sleep_for(milliseconds(300));  // several ticks
  EXPECT_TRUE(c.Command({"GET", "k"}).is_nil());
  EXPECT_EQ(InfoField(c, "stats", "expired_keys"), 0);
  EXPECT_EQ(Text(c.Command({"CLIENT", "UNPAUSE"})), "+OK");
  EXPECT_TRUE(c.Command({"GET", "k"}).is_nil());
  EXPECT_EQ(InfoField(c, "stats", "expired_keys"), 1);
}

}  // namespace
}  // namespace arvel::testing
