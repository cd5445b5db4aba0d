// Commands through the in-process server on a `redis` store: how many upstream calls each
// costs (counted on the Redis side with MONITOR, which shows the commands clients send apart
// from those scripts make, and cross-checked with INFO commandstats), and what is particular to
// the driver (PUT without ttl gets the store's ttl; errors while Redis is down).

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/unit/drivers/redis_test_server.h"
#include "tests/unit/server/server_fixture.h"

namespace arvel::testing {
namespace {

using std::chrono::milliseconds;

// The commands Redis received from clients (not from scripts) while `action` ran, read with
// MONITOR on a connection of its own. Everything the daemon sent for `action` was answered
// before `action` returned, so it is all in the stream ahead of a marker sent afterwards.
std::vector<std::string> Monitor(int port, const std::function<void()>& action) {
  redisContext* c = redisConnect("127.0.0.1", port);
  EXPECT_TRUE(c != nullptr && c->err == 0);
  timeval tv{5, 0};
  redisSetTimeout(c, tv);
  auto* ok = static_cast<redisReply*>(redisCommand(c, "MONITOR"));
  if (ok) freeReplyObject(ok);
  action();
  const std::string marker = "arvel-monitor-end";
  RedisCommand(port, {"ECHO", marker});
  std::vector<std::string> lines;
  void* reply = nullptr;
  while (redisGetReply(c, &reply) == REDIS_OK) {
    auto* r = static_cast<redisReply*>(reply);
    std::string line(r->str, r->len);
    freeReplyObject(r);
    if (line.find(marker) != std::string::npos) break;
    // Commands a script runs carry "[db lua]"; the tag reclaimer's SCANs run on their own.
    if (line.find(" lua]") != std::string::npos) continue;
    if (line.find("\"SCAN\"") != std::string::npos) continue;
    lines.push_back(line.substr(line.find('"')));
  }
  redisFree(c);
  return lines;
}

// calls= of every cmdstat_ line of INFO commandstats, by command.
std::map<std::string, long> CommandStats(const RedisTestServer& redis) {
  std::string info = redis.Command({"INFO", "commandstats"});
  std::map<std::string, long> calls;
  std::istringstream lines(info.substr(1));
  for (std::string line; std::getline(lines, line);) {
    if (!line.starts_with("cmdstat_")) continue;
    const size_t colon = line.find(':');
    calls[line.substr(8, colon - 8)] = std::stol(line.substr(line.find("calls=") + 6));
  }
  return calls;
}

class RedisStoreCommandsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!RedisServerInstalled()) GTEST_SKIP() << kNoRedisServer;
    redis_ = std::make_unique<RedisTestServer>();
    config::CommandLine line;
    line.port = 0;
    auto config = config::LoadConfigText(
        "default = \"shared\"\n[stores.shared]\ndriver = \"redis\"\nport = " +
            std::to_string(redis_->port()) + "\nprefix = \"app\"\nttl = 600\n",
        "redis.toml", line, {});
    ASSERT_TRUE(config.ok()) << config.status().message();
    server_ = std::make_unique<ServerFixture>(*config);
    client_ = std::make_unique<Client>(server_->Connect());
    ASSERT_EQ(Text(client_->Command({"PUT", "warmup", "x"})), "+OK");
    // Let the change listener subscribe and the tracking start before anything is counted.
    for (int i = 0; i < 100; ++i) {
      if (redis_->Command({"CLIENT", "LIST"}).find("cmd=client|tracking") != std::string::npos) {
        break;
      }
      std::this_thread::sleep_for(milliseconds(10));
    }
  }
  void TearDown() override {
    client_.reset();
    server_.reset();
    redis_.reset();
  }

  std::string Run(const std::vector<std::string>& args) { return Text(client_->Command(args)); }

  // The upstream commands one daemon command caused.
  std::vector<std::string> Upstream(const std::vector<std::string>& args, std::string* reply) {
    return Monitor(redis_->port(), [&] { *reply = Run(args); });
  }

  std::unique_ptr<RedisTestServer> redis_;
  std::unique_ptr<ServerFixture> server_;
  std::unique_ptr<Client> client_;
};

TEST_F(RedisStoreCommandsTest, OneUpstreamCallPerCommand) {
  struct Expected {
    std::vector<std::string> command;
    std::string reply_prefix;
    std::string upstream;  // the command Redis saw (first word)
  };
  std::string token;
  const std::vector<Expected> cases = {
      {{"PUT", "k", "v"}, "+OK", "\"SET\""},
      {{"GET", "k"}, "$v", "\"GET\""},
      {{"FORGET", "k"}, ":1", "\"DEL\""},
      {{"INCREMENT", "n", "5"}, ":5", "\"INCRBY\""},
      {{"ADD", "a", "1", "60"}, ":1", "\"SET\""},
      {{"PULL", "a"}, "$1", "\"GETDEL\""},
      {{"MANY", "n", "a", "k"}, "[$5, (nil), (nil)]", "\"MGET\""},
      {{"HAS", "n"}, ":1", "\"GET\""},
      {{"LOCK", "ACQUIRE", "job", "10", "OWNER", "me"}, "$me", "\"EVALSHA\""},
      {{"LOCK", "RELEASE", "job", "me"}, ":1", "\"EVALSHA\""},
      {{"THROTTLE", "ATTEMPT", "login", "5", "60"}, ":1", "\"EVALSHA\""},
      {{"CL.THROTTLE", "cell", "5", "10", "60"}, "[:0", "\"EVALSHA\""},
  };
  for (const Expected& c : cases) {
    std::string reply;
    std::vector<std::string> seen = Upstream(c.command, &reply);
    EXPECT_TRUE(reply.starts_with(c.reply_prefix)) << c.command[0] << ": " << reply;
    ASSERT_EQ(seen.size(), 1u) << c.command[0] << " " << c.command[1] << " sent:\n"
                               << ::testing::PrintToString(seen);
    EXPECT_TRUE(seen[0].starts_with(c.upstream)) << seen[0];
  }
  // The same, as Redis counts them: one SET for a PUT, and scripts are one EVALSHA each.
  ASSERT_EQ(redis_->Command({"CONFIG", "RESETSTAT"}), "+OK");
  Run({"PUT", "k", "v"});
  Run({"LOCK", "ACQUIRE", "job2", "10"});
  std::map<std::string, long> calls = CommandStats(*redis_);
  EXPECT_EQ(calls["set"], 2);      // the PUT's, and the one the acquire script runs
  EXPECT_EQ(calls["evalsha"], 1);  // the acquire
}

TEST_F(RedisStoreCommandsTest, TagsCostTwoCallsAndFlushOne) {
  std::string reply;
  EXPECT_EQ(Upstream({"TAGS", "a,b", "PUT", "k", "v"}, &reply).size(), 2u);  // generations, item
  EXPECT_EQ(reply, "+OK");
  EXPECT_EQ(Upstream({"TAGS", "a,b", "GET", "k"}, &reply).size(), 2u);
  EXPECT_EQ(reply, "$v");
  EXPECT_EQ(Upstream({"TAGS", "a", "FLUSH"}, &reply).size(), 1u);
  EXPECT_EQ(Run({"TAGS", "a,b", "GET", "k"}), "(nil)");
}

TEST_F(RedisStoreCommandsTest, PutWithoutTtlGetsTheStoresTtl) {
  EXPECT_EQ(Run({"PUT", "k", "v"}), "+OK");
  EXPECT_EQ(Run({"TTL", "k"}), ":600");
  EXPECT_EQ(Run({"FOREVER", "f", "v"}), "+OK");
  EXPECT_EQ(Run({"TTL", "f"}), ":-1");
  EXPECT_EQ(Run({"SET", "s", "v"}), "+OK");  // plain Redis commands keep Redis semantics
  EXPECT_EQ(Run({"TTL", "s"}), ":-1");
  EXPECT_EQ(redis_->Command({"TTL", "app:d:k"}), ":600");
}

TEST_F(RedisStoreCommandsTest, RedisDownGivesUnavailableAndHeals) {
  redis_->Kill();
  const auto start = std::chrono::steady_clock::now();
  std::string reply = Run({"GET", "warmup"});
  EXPECT_EQ(reply.rfind("-ERR store 'shared' unavailable: ", 0), 0u) << reply;
  EXPECT_LT(MillisSince(start), 1500);
  EXPECT_EQ(Run({"PUT", "k", "v"}).rfind("-ERR store 'shared' unavailable: ", 0), 0u);
  ASSERT_TRUE(redis_->Restart());
  std::string healed;
  for (int i = 0; i < 100 && healed != "+OK"; ++i) {
    std::this_thread::sleep_for(milliseconds(50));
    healed = Run({"PUT", "k", "v"});
  }
  EXPECT_EQ(healed, "+OK");
  EXPECT_EQ(Run({"GET", "k"}), "$v");
}

}  // namespace
}  // namespace arvel::testing
