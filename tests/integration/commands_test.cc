// Scripted sessions over every command family in scope, against the real binary:
// the cache facade (SPEC §4), stores and fakes, and the Redis commands of §5.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <ctime>

#include "tests/integration/daemon.h"

namespace arvel::integration {
namespace {

using ::testing::AllOf;
using ::testing::Contains;
using ::testing::HasSubstr;

class CommandsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    daemon_ = Daemon::Start();
    ASSERT_NE(daemon_->port(), 0);
  }
  Client Connect() { return daemon_->Connect(); }

  std::unique_ptr<Daemon> daemon_;
};

std::vector<std::string> Strings(const Reply& reply) {
  std::vector<std::string> out;
  for (const Reply& e : reply.elements) out.push_back(e.str);
  std::sort(out.begin(), out.end());
  return out;
}

// ---------------------------------------------------------------------------------------------
// The cache facade (SPEC §4)

TEST_F(CommandsTest, FacadeGetPutHasForget) {
  Client c = Connect();
  RunScript(c, {
                   {{"GET", "k"}, "(nil)"},
                   {{"GET", "k", "fallback"}, "\"fallback\""},
                   {{"PUT", "k", "v"}, "+OK"},
                   {{"GET", "k"}, "\"v\""},
                   {{"GET", "k", "fallback"}, "\"v\""},
                   {{"HAS", "k"}, ":1"},
                   {{"HAS", "nope"}, ":0"},
                   {{"TTL", "k"}, ":-1"},
                   {{"FORGET", "k"}, ":1"},
                   {{"FORGET", "k"}, ":0"},
                   {{"HAS", "k"}, ":0"},
                   {{"put", "Lower", "case"}, "+OK"},
                   {{"gEt", "Lower"}, "\"case\""},
                   {{"PUT", "k"}, "-ERR wrong number of arguments for 'put' command"},
                   {{"PUT", "k", "v", "60", "extra"}, "-ERR*"},
                   {{"HAS"}, "-ERR wrong number of arguments for 'has' command"},
               });
}

TEST_F(CommandsTest, FacadePutWithTtl) {
  Client c = Connect();
  RunScript(c, {
                   {{"PUT", "t", "v", "100"}, "+OK"},
                   {{"GET", "t"}, "\"v\""},
                   {{"PUT", "zero", "v", "0"}, "+OK"},
                   {{"HAS", "zero"}, ":0"},
                   {{"PUT", "t2", "v", "100"}, "+OK"},
                   {{"PUT", "t2", "v", "-5"}, "+OK"},
                   {{"HAS", "t2"}, ":0"},
                   {{"PUT", "bad", "v", "soon"}, "-ERR value is not an integer or out of range"},
                   {{"PUT", "bad", "v", "1.5"}, "-ERR value is not an integer or out of range"},
                   {{"HAS", "bad"}, ":0"},
               });
  long long ttl = IntegerOf(c, {"TTL", "t"});
  EXPECT_GE(ttl, 99);
  EXPECT_LE(ttl, 100);
}

TEST_F(CommandsTest, FacadeForeverClearsTtl) {
  Client c = Connect();
  RunScript(c, {
                   {{"PUT", "f", "old", "100"}, "+OK"},
                   {{"FOREVER", "f", "new"}, "+OK"},
                   {{"GET", "f"}, "\"new\""},
                   {{"TTL", "f"}, ":-1"},
                   {{"FOREVER", "f"}, "-ERR wrong number of arguments for 'forever' command"},
               });
}

TEST_F(CommandsTest, FacadeAdd) {
  Client c = Connect();
  RunScript(c, {
                   {{"ADD", "a", "1"}, ":1"},
                   {{"ADD", "a", "2"}, ":0"},
                   {{"GET", "a"}, "\"1\""},
                   {{"ADD", "b", "x", "100"}, ":1"},
                   {{"ADD", "b", "y", "100"}, ":0"},
                   {{"GET", "b"}, "\"x\""},
                   {{"ADD", "c", "x", "never"}, "-ERR value is not an integer or out of range"},
               });
  long long ttl = IntegerOf(c, {"TTL", "b"});
  EXPECT_GE(ttl, 99);
  EXPECT_LE(ttl, 100);
}

TEST_F(CommandsTest, FacadeIncrementDecrement) {
  Client c = Connect();
  RunScript(c, {
                   {{"INCREMENT", "n"}, ":1"},
                   {{"INCREMENT", "n", "5"}, ":6"},
                   {{"DECREMENT", "n"}, ":5"},
                   {{"DECREMENT", "n", "10"}, ":-5"},
                   {{"GET", "n"}, "\"-5\""},
                   {{"DECREMENT", "fresh"}, ":-1"},
                   {{"INCREMENT", "n", "lots"}, "-ERR value is not an integer or out of range"},
                   {{"PUT", "word", "abc"}, "+OK"},
                   {{"INCREMENT", "word"}, "-ERR value is not an integer or out of range"},
                   {{"GET", "word"}, "\"abc\""},
                   {{"PUT", "max", "9223372036854775807"}, "+OK"},
                   {{"INCREMENT", "max"}, "-ERR increment or decrement would overflow"},
               });
}

TEST_F(CommandsTest, FacadeIncrementKeepsTtl) {
  Client c = Connect();
  RunScript(c, {
                   {{"PUT", "n", "5", "100"}, "+OK"},
                   {{"INCREMENT", "n", "2"}, ":7"},
               });
  long long ttl = IntegerOf(c, {"TTL", "n"});
  EXPECT_GE(ttl, 99);
  EXPECT_LE(ttl, 100);
}

TEST_F(CommandsTest, FacadePull) {
  Client c = Connect();
  RunScript(c, {
                   {{"PUT", "p", "v"}, "+OK"},
                   {{"PULL", "p"}, "\"v\""},
                   {{"PULL", "p"}, "(nil)"},
                   {{"HAS", "p"}, ":0"},
                   {{"PULL", "p", "fallback"}, "\"fallback\""},
                   {{"HAS", "p"}, ":0"},
               });
}

TEST_F(CommandsTest, FacadeManyAndPutMany) {
  Client c = Connect();
  RunScript(c,
            {
                {{"PUTMANY", "100", "x", "1", "y", "2"}, "+OK"},
                {{"MANY", "x", "missing", "y"}, "[\"1\", (nil), \"2\"]"},
                {{"MANY", "missing"}, "[(nil)]"},
                {{"PUTMANY", "0", "x", "9"}, "+OK"},
                {{"HAS", "x"}, ":0"},
                {{"GET", "y"}, "\"2\""},
                {{"PUTMANY", "100", "x"}, "-ERR wrong number of arguments for 'putmany' command"},
                {{"PUTMANY", "100", "x", "1", "y"},
                 "-ERR wrong number of arguments for 'putmany' command"},
                {{"PUTMANY", "soon", "x", "1"}, "-ERR value is not an integer or out of range"},
                {{"MANY"}, "-ERR wrong number of arguments for 'many' command"},
            });
  long long ttl = IntegerOf(c, {"TTL", "y"});
  EXPECT_GE(ttl, 99);
  EXPECT_LE(ttl, 100);
}

TEST_F(CommandsTest, FacadeFlushEmptiesTheCurrentStore) {
  Client c = Connect();
  RunScript(c, {
                   {{"PUT", "a", "1"}, "+OK"},
                   {{"SET", "b", "2"}, "+OK"},
                   {{"DBSIZE"}, ":2"},
                   {{"FLUSH"}, "+OK"},
                   {{"DBSIZE"}, ":0"},
                   {{"GET", "a"}, "(nil)"},
               });
}

TEST_F(CommandsTest, FacadeAndRedisCommandsShareKeys) {
  Client c = Connect();
  RunScript(c, {
                   {{"PUT", "p", "put-value"}, "+OK"},
                   {{"STRLEN", "p"}, ":9"},
                   {{"EXISTS", "p"}, ":1"},
                   {{"TYPE", "p"}, "+string"},
                   {{"SET", "s", "set-value"}, "+OK"},
                   {{"HAS", "s"}, ":1"},
                   {{"PULL", "s"}, "\"set-value\""},
                   {{"EXISTS", "s"}, ":0"},
                   {{"MSET", "m1", "a", "m2", "b"}, "+OK"},
                   {{"MANY", "m1", "m2"}, "[\"a\", \"b\"]"},
                   {{"TTL", "m1"}, ":-1"},
               });
}

TEST_F(CommandsTest, FacadeTtlExpires) {
  Client c = Connect();
  RunScript(c, {
                   {{"PUT", "short", "v", "1"}, "+OK"},
                   {{"PUTMANY", "1", "m", "v"}, "+OK"},
                   {{"ADD", "added", "v", "1"}, ":1"},
                   {{"SET", "px", "v", "PX", "300"}, "+OK"},
               });
  // The daemon runs on the real clock (another process): poll until the last 1 s key is gone;
  // the others were written before it.
  const auto deadline = std::chrono::steady_clock::now() + milliseconds(5000);
  while (Show(c.Command({"HAS", "added"})) != ":0" && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(20));
  }
  RunScript(c, {
                   {{"HAS", "short"}, ":0"},
                   {{"GET", "m"}, "(nil)"},
                   {{"ADD", "added", "again"}, ":1"},
                   {{"EXISTS", "px"}, ":0"},
                   {{"DBSIZE"}, ":1"},
               });
}

TEST_F(CommandsTest, UnknownCommandUsesTheRedisText) {
  Client c = Connect();
  RunScript(
      c, {
             {{"FOO", "a", "b"}, "-ERR unknown command 'FOO', with args beginning with: 'a' 'b' "},
             {{"LPUSH", "list", "x"},
              "-ERR unknown command 'LPUSH', with args beginning with: 'list' 'x' "},
             {{"HSET", "h", "f", "v"}, "-ERR unknown command*"},
             {{"SUBSCRIBE", "ch"}, "-ERR unknown command*"},
             {{"EVAL", "return 1", "0"}, ":1"},
             {{"PING"}, "+PONG"},
         });
}

// ---------------------------------------------------------------------------------------------
// Stores, SELECT, FAKE, ASSERT (SPEC §4 "Stores and testing")

TEST_F(CommandsTest, StoreSwitchesPerConnection) {
  Client c = Connect();
  Client other = Connect();
  RunScript(c, {
                   {{"STORE"}, "\"array\""},
                   {{"PUT", "k", "in-array"}, "+OK"},
                   {{"STORE", "null"}, "+OK"},
                   {{"STORE"}, "\"null\""},
                   {{"PUT", "k", "vanishes"}, "+OK"},
                   {{"GET", "k"}, "(nil)"},
                   {{"HAS", "k"}, ":0"},
                   {{"STORE", "nowhere"}, "-ERR*"},
                   {{"STORE"}, "\"null\""},
               });
  RunScript(other, {
                       {{"STORE"}, "\"array\""},
                       {{"GET", "k"}, "\"in-array\""},
                   });
  RunScript(c, {
                   {{"STORE", "array"}, "+OK"},
                   {{"GET", "k"}, "\"in-array\""},
               });
}

TEST_F(CommandsTest, StoreListNamesEveryStore) {
  Client c = Connect();
  Reply list = c.Command({"STORE", "LIST"});
  ASSERT_EQ(list.type, REDIS_REPLY_ARRAY) << Show(list);
  std::vector<std::string> names = Strings(list);
  for (const char* name : {"array", "file", "database", "redis", "null"}) {
    EXPECT_THAT(names, Contains(name));
  }
}

TEST_F(CommandsTest, ConfiguredStoresAreListed) {
  auto daemon = Daemon::Start(
      DaemonOptions().Config("default = \"memory\"\n[stores.memory]\ndriver = \"array\"\n"
                             "[stores.off]\ndriver = \"null\"\n"));
  ASSERT_NE(daemon->port(), 0);
  Client c = daemon->Connect();
  EXPECT_EQ(Show(c.Command({"STORE"})), "\"memory\"");
  std::vector<std::string> names = Strings(c.Command({"STORE", "LIST"}));
  EXPECT_THAT(names, AllOf(Contains("memory"), Contains("off")));
  RunScript(c, {
                   {{"PUT", "k", "v"}, "+OK"},
                   {{"STORE", "off"}, "+OK"},
                   {{"GET", "k"}, "(nil)"},
                   {{"STORE", "memory"}, "+OK"},
                   {{"GET", "k"}, "\"v\""},
               });
}

TEST_F(CommandsTest, StoresAreSeparateKeyspaces) {
  auto daemon = Daemon::Start(DaemonOptions().Config(
      "[stores.one]\ndriver = \"array\"\n[stores.two]\ndriver = \"array\"\n"));
  ASSERT_NE(daemon->port(), 0);
  Client c = daemon->Connect();
  RunScript(c, {
                   {{"STORE", "one"}, "+OK"},
                   {{"PUT", "k", "1"}, "+OK"},
                   {{"STORE", "two"}, "+OK"},
                   {{"GET", "k"}, "(nil)"},
                   {{"PUT", "k", "2"}, "+OK"},
                   {{"FLUSH"}, "+OK"},
                   {{"STORE", "one"}, "+OK"},
                   {{"GET", "k"}, "\"1\""},
               });
}

TEST_F(CommandsTest, SelectZeroOnly) {
  Client c = Connect();
  RunScript(c, {
                   {{"SELECT", "0"}, "+OK"},
                   {{"SELECT", "1"}, "-ERR DB index is out of range"},
                   {{"SELECT", "-1"}, "-ERR DB index is out of range"},
                   {{"SELECT", "x"}, "-ERR value is not an integer or out of range"},
               });
}

TEST_F(CommandsTest, FakeIsPrivateAndRecordsWrites) {
  Client c = Connect();
  Client other = Connect();
  RunScript(c, {
                   {{"PUT", "real", "value"}, "+OK"},
                   {{"FAKE"}, "+OK"},
                   {{"GET", "real"}, "(nil)"},
                   {{"DBSIZE"}, ":0"},
                   {{"PUT", "k", "v"}, "+OK"},
                   {{"ASSERT", "STORED", "k"}, "+OK"},
                   {{"ASSERT", "STORED", "k", "v"}, "+OK"},
                   {{"ASSERT", "MISSING", "nope"}, "+OK"},
               });
  RunScript(other, {
                       {{"GET", "k"}, "(nil)"},
                       {{"GET", "real"}, "\"value\""},
                   });
  RunScript(c, {
                   {{"FAKE", "OFF"}, "+OK"},
                   {{"STORE"}, "\"array\""},
                   {{"GET", "k"}, "(nil)"},
                   {{"GET", "real"}, "\"value\""},
               });
}

TEST_F(CommandsTest, FailedAssertionsNameTheKeyAndValue) {
  Client c = Connect();
  ASSERT_EQ(Show(c.Command({"FAKE"})), "+OK");
  ASSERT_EQ(Show(c.Command({"PUT", "stored-key", "seen-value"})), "+OK");
  Reply wrong_value = c.Command({"ASSERT", "STORED", "stored-key", "other-value"});
  EXPECT_TRUE(Matches(Show(wrong_value), "-ERR assertion failed*")) << Show(wrong_value);
  EXPECT_THAT(wrong_value.str, AllOf(HasSubstr("stored-key"), HasSubstr("seen-value")));
  Reply missing = c.Command({"ASSERT", "STORED", "absent-key"});
  EXPECT_TRUE(Matches(Show(missing), "-ERR assertion failed*")) << Show(missing);
  EXPECT_THAT(missing.str, HasSubstr("absent-key"));
  Reply present = c.Command({"ASSERT", "MISSING", "stored-key"});
  EXPECT_TRUE(Matches(Show(present), "-ERR assertion failed*")) << Show(present);
  EXPECT_THAT(present.str, HasSubstr("stored-key"));
}

TEST_F(CommandsTest, FakeStartsEmptyEachTime) {
  Client c = Connect();
  RunScript(c, {
                   {{"FAKE"}, "+OK"},
                   {{"PUT", "k", "v"}, "+OK"},
                   {{"FAKE", "OFF"}, "+OK"},
                   {{"FAKE"}, "+OK"},
                   {{"ASSERT", "MISSING", "k"}, "+OK"},
                   {{"GET", "k"}, "(nil)"},
                   {{"FAKE", "OFF"}, "+OK"},
               });
}

// ---------------------------------------------------------------------------------------------
// Redis string commands (SPEC §5)

TEST_F(CommandsTest, SetOptions) {
  Client c = Connect();
  RunScript(c, {
                   {{"SET", "k", "v1"}, "+OK"},
                   {{"SET", "k", "v2", "NX"}, "(nil)"},
                   {{"SET", "k", "v2", "XX"}, "+OK"},
                   {{"SET", "missing", "v", "XX"}, "(nil)"},
                   {{"EXISTS", "missing"}, ":0"},
                   {{"SET", "k", "v3", "GET"}, "\"v2\""},
                   {{"SET", "new", "v", "GET"}, "(nil)"},
                   {{"SET", "k", "v", "EX", "100"}, "+OK"},
                   {{"SET", "k", "v4", "KEEPTTL"}, "+OK"},
                   {{"SET", "k", "v", "EX", "0"}, "-ERR invalid expire time in 'set' command"},
                   {{"SET", "k", "v", "PX", "-1"}, "-ERR invalid expire time in 'set' command"},
                   {{"SET", "k", "v", "EX", "abc"}, "-ERR value is not an integer or out of range"},
                   {{"SET", "k", "v", "NX", "XX"}, "-ERR syntax error"},
                   {{"SET", "k", "v", "EX", "10", "PX", "100"}, "-ERR syntax error"},
                   {{"SET", "k", "v", "BOGUS"}, "-ERR syntax error"},
                   {{"GET", "k"}, "\"v4\""},
               });
  long long ttl = IntegerOf(c, {"TTL", "k"});
  EXPECT_GE(ttl, 99);
  EXPECT_LE(ttl, 100);
}

TEST_F(CommandsTest, SetAbsoluteExpiry) {
  Client c = Connect();
  long long now = static_cast<long long>(std::time(nullptr));
  RunScript(c, {
                   {{"SET", "a", "v", "EXAT", std::to_string(now + 200)}, "+OK"},
                   {{"SET", "b", "v", "PXAT", std::to_string((now + 300) * 1000)}, "+OK"},
                   {{"SET", "past", "v", "EXAT", std::to_string(now - 10)}, "+OK"},
                   {{"EXISTS", "past"}, ":0"},
               });
  EXPECT_NEAR(IntegerOf(c, {"EXPIRETIME", "a"}), now + 200, 1);
  EXPECT_NEAR(IntegerOf(c, {"PEXPIRETIME", "b"}), (now + 300) * 1000, 1000);
  EXPECT_NEAR(IntegerOf(c, {"TTL", "b"}), 300, 2);
}

TEST_F(CommandsTest, StringCommands) {
  Client c = Connect();
  RunScript(c, {
                   {{"SETNX", "k", "1"}, ":1"},
                   {{"SETNX", "k", "2"}, ":0"},
                   {{"SETEX", "ex", "100", "v"}, "+OK"},
                   {{"SETEX", "ex", "0", "v"}, "-ERR invalid expire time in 'setex' command"},
                   {{"PSETEX", "pex", "100000", "v"}, "+OK"},
                   {{"GETSET", "k", "3"}, "\"1\""},
                   {{"GETDEL", "k"}, "\"3\""},
                   {{"GETDEL", "k"}, "(nil)"},
                   {{"SET", "g", "v"}, "+OK"},
                   {{"GETEX", "g", "EX", "100"}, "\"v\""},
                   {{"GETEX", "g", "PERSIST"}, "\"v\""},
                   {{"TTL", "g"}, ":-1"},
                   {{"GETEX", "missing", "PERSIST"}, "(nil)"},
                   {{"MSET", "a", "1", "b", "2"}, "+OK"},
                   {{"MGET", "a", "missing", "b"}, "[\"1\", (nil), \"2\"]"},
                   {{"MSETNX", "b", "x", "c", "y"}, ":0"},
                   {{"EXISTS", "c"}, ":0"},
                   {{"MSETNX", "c", "x", "d", "y"}, ":1"},
                   {{"MSET", "a"}, "-ERR wrong number of arguments for 'mset' command"},
                   {{"APPEND", "s", "Hello"}, ":5"},
                   {{"APPEND", "s", " World"}, ":11"},
                   {{"STRLEN", "s"}, ":11"},
                   {{"STRLEN", "missing"}, ":0"},
                   {{"GETRANGE", "s", "0", "4"}, "\"Hello\""},
                   {{"GETRANGE", "s", "-5", "-1"}, "\"World\""},
                   {{"SETRANGE", "s", "6", "Redis"}, ":11"},
                   {{"GET", "s"}, "\"Hello Redis\""},
                   {{"SETRANGE", "s", "-1", "x"}, "-ERR offset is out of range"},
               });
  EXPECT_NEAR(IntegerOf(c, {"TTL", "ex"}), 100, 1);
  EXPECT_NEAR(IntegerOf(c, {"PTTL", "pex"}), 100000, 1000);
}

TEST_F(CommandsTest, CounterCommands) {
  Client c = Connect();
  RunScript(c, {
                   {{"INCR", "n"}, ":1"},
                   {{"INCRBY", "n", "10"}, ":11"},
                   {{"DECR", "n"}, ":10"},
                   {{"DECRBY", "n", "20"}, ":-10"},
                   {{"INCRBY", "n", "abc"}, "-ERR value is not an integer or out of range"},
                   {{"SET", "s", "abc"}, "+OK"},
                   {{"INCR", "s"}, "-ERR value is not an integer or out of range"},
                   {{"SET", "s", " 1"}, "+OK"},
                   {{"INCR", "s"}, "-ERR value is not an integer or out of range"},
                   {{"SET", "max", "9223372036854775807"}, "+OK"},
                   {{"INCR", "max"}, "-ERR increment or decrement would overflow"},
                   {{"INCRBYFLOAT", "f", "10.5"}, "\"10.5\""},
                   {{"INCRBYFLOAT", "f", "0.1"}, "\"10.6\""},
                   {{"INCRBYFLOAT", "f", "-5"}, "\"5.6\""},
                   {{"INCRBYFLOAT", "f", "x"}, "-ERR value is not a valid float"},
                   {{"SET", "e", "v", "EX", "100"}, "+OK"},
                   {{"SET", "e", "5", "KEEPTTL"}, "+OK"},
                   {{"INCR", "e"}, ":6"},
               });
  EXPECT_NEAR(IntegerOf(c, {"TTL", "e"}), 100, 1);
}

// ---------------------------------------------------------------------------------------------
// Redis key commands (SPEC §5)

TEST_F(CommandsTest, KeyCommands) {
  Client c = Connect();
  RunScript(c, {
                   {{"MSET", "a", "1", "b", "2", "c", "3"}, "+OK"},
                   {{"EXISTS", "a", "b", "a", "missing"}, ":3"},
                   {{"DEL", "a", "missing"}, ":1"},
                   {{"UNLINK", "b"}, ":1"},
                   {{"TOUCH", "c", "missing"}, ":1"},
                   {{"TYPE", "c"}, "+string"},
                   {{"TYPE", "missing"}, "+none"},
                   {{"TTL", "missing"}, ":-2"},
                   {{"PTTL", "missing"}, ":-2"},
                   {{"TTL", "c"}, ":-1"},
                   {{"EXPIRETIME", "c"}, ":-1"},
                   {{"EXPIRETIME", "missing"}, ":-2"},
                   {{"EXPIRE", "c", "100"}, ":1"},
                   {{"EXPIRE", "missing", "100"}, ":0"},
                   {{"EXPIRE", "c", "soon"}, "-ERR value is not an integer or out of range"},
                   {{"PERSIST", "c"}, ":1"},
                   {{"PERSIST", "c"}, ":0"},
                   {{"TTL", "c"}, ":-1"},
                   {{"PEXPIRE", "c", "100000"}, ":1"},
                   {{"EXPIRE", "c", "0"}, ":1"},
                   {{"EXISTS", "c"}, ":0"},
                   {{"SET", "d", "v"}, "+OK"},
                   {{"EXPIREAT", "d", "1"}, ":1"},
                   {{"EXISTS", "d"}, ":0"},
                   {{"SET", "d", "v"}, "+OK"},
                   {{"PEXPIREAT", "d", "1000"}, ":1"},
                   {{"EXISTS", "d"}, ":0"},
                   {{"DBSIZE"}, ":0"},
               });
}

TEST_F(CommandsTest, KeysScanRandomkey) {
  Client c = Connect();
  RunScript(c, {
                   {{"RANDOMKEY"}, "(nil)"},
                   {{"MSET", "user:1", "a", "user:2", "b", "other", "c"}, "+OK"},
               });
  EXPECT_EQ(Strings(c.Command({"KEYS", "user:*"})), (std::vector<std::string>{"user:1", "user:2"}));
  EXPECT_EQ(Strings(c.Command({"KEYS", "*"})).size(), 3u);
  EXPECT_EQ(Strings(c.Command({"KEYS", "nomatch*"})).size(), 0u);
  std::string random = c.Command({"RANDOMKEY"}).str;
  EXPECT_THAT((std::vector<std::string>{"user:1", "user:2", "other"}), Contains(random));

  std::vector<std::string> seen;
  std::string cursor = "0";
  for (int round = 0; round < 100; ++round) {
    Reply page = c.Command({"SCAN", cursor, "MATCH", "user:*", "COUNT", "1", "TYPE", "string"});
    ASSERT_EQ(page.type, REDIS_REPLY_ARRAY) << Show(page);
    ASSERT_EQ(page.elements.size(), 2u);
    cursor = page.elements[0].str;
    for (const Reply& key : page.elements[1].elements) seen.push_back(key.str);
    if (cursor == "0") break;
  }
  EXPECT_EQ(cursor, "0");
  std::sort(seen.begin(), seen.end());
  seen.erase(std::unique(seen.begin(), seen.end()), seen.end());
  EXPECT_EQ(seen, (std::vector<std::string>{"user:1", "user:2"}));
}

TEST_F(CommandsTest, ScanVisitsEveryKeyOfALargeKeyspace) {
  Client c = Connect();
  for (int i = 0; i < 1000; ++i) c.Append({"SET", "key:" + std::to_string(i), "v"});
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(Show(c.GetReply()), "+OK");
  std::vector<std::string> seen;
  std::string cursor = "0";
  for (int round = 0; round < 2000; ++round) {
    Reply page = c.Command({"SCAN", cursor, "COUNT", "50"});
    ASSERT_EQ(page.elements.size(), 2u) << Show(page);
    cursor = page.elements[0].str;
    for (const Reply& key : page.elements[1].elements) seen.push_back(key.str);
    if (cursor == "0") break;
  }
  std::sort(seen.begin(), seen.end());
  seen.erase(std::unique(seen.begin(), seen.end()), seen.end());
  EXPECT_EQ(seen.size(), 1000u);
}

TEST_F(CommandsTest, FlushdbAndFlushall) {
  Client c = Connect();
  RunScript(c, {
                   {{"MSET", "a", "1", "b", "2"}, "+OK"},
                   {{"FLUSHDB"}, "+OK"},
                   {{"DBSIZE"}, ":0"},
                   {{"SET", "a", "1"}, "+OK"},
                   {{"FLUSHALL"}, "+OK"},
                   {{"DBSIZE"}, ":0"},
                   {{"FLUSHDB", "ASYNC"}, "+OK"},
                   {{"FLUSHALL", "SYNC"}, "+OK"},
               });
}

// ---------------------------------------------------------------------------------------------
// Connection and server commands (SPEC §5)

TEST_F(CommandsTest, ConnectionCommands) {
  Client c = Connect();
  RunScript(c, {
                   {{"PING"}, "+PONG"},
                   {{"PING", "hello"}, "\"hello\""},
                   {{"PING", "a", "b"}, "-ERR wrong number of arguments for 'ping' command"},
                   {{"ECHO", "bytes"}, "\"bytes\""},
                   {{"ECHO"}, "-ERR wrong number of arguments for 'echo' command"},
                   {{"AUTH", "pw"},
                    "-ERR AUTH <password> called without any password configured for the "
                    "default user. Are you sure your configuration is correct?"},
                   {{"CLIENT", "SETNAME", "tester"}, "+OK"},
                   {{"CLIENT", "GETNAME"}, "\"tester\""},
                   {{"CLIENT", "SETNAME", "has space"},
                    "-ERR Client names cannot contain spaces, newlines or "
                    "special characters."},
                   {{"CLIENT", "SETINFO", "LIB-NAME", "itest"}, "+OK"},
                   {{"CLIENT", "SETINFO", "LIB-VER", "1.0"}, "+OK"},
                   {{"CLIENT", "NO-EVICT", "on"}, "+OK"},
                   {{"CLIENT", "BOGUS"}, "-ERR unknown subcommand*"},
                   {{"HELLO", "4"}, "-NOPROTO unsupported protocol version"},
                   {{"RESET"}, "+RESET"},
                   {{"CLIENT", "GETNAME"}, "(nil)"},
               });
  long long id = IntegerOf(c, {"CLIENT", "ID"});
  EXPECT_GT(id, 0);
  Reply info = c.Command({"CLIENT", "INFO"});
  EXPECT_THAT(info.str, HasSubstr("id=" + std::to_string(id) + " "));
}

TEST_F(CommandsTest, HelloTwoDescribesTheServer) {
  Client c = Connect();
  Reply hello = c.Command({"HELLO", "2", "SETNAME", "greeter"});
  ASSERT_EQ(hello.type, REDIS_REPLY_ARRAY) << Show(hello);
  ASSERT_EQ(hello.elements.size() % 2, 0u);
  std::map<std::string, std::string> fields;
  for (size_t i = 0; i + 1 < hello.elements.size(); i += 2) {
    const Reply& value = hello.elements[i + 1];
    fields[hello.elements[i].str] =
        value.type == REDIS_REPLY_INTEGER ? std::to_string(value.integer) : value.str;
  }
  EXPECT_EQ(fields["proto"], "2");
  EXPECT_EQ(fields["server"], "redis");
  EXPECT_EQ(fields.count("version"), 1u);
  EXPECT_EQ(Show(c.Command({"CLIENT", "GETNAME"})), "\"greeter\"");
}

TEST_F(CommandsTest, ClientListAndKill) {
  Client c = Connect();
  Client victim = Connect();
  ASSERT_EQ(Show(victim.Command({"CLIENT", "SETNAME", "victim"})), "+OK");
  long long victim_id = IntegerOf(victim, {"CLIENT", "ID"});
  Reply list = c.Command({"CLIENT", "LIST"});
  EXPECT_THAT(list.str,
              AllOf(HasSubstr("name=victim"), HasSubstr("id=" + std::to_string(victim_id))));
  EXPECT_EQ(Show(c.Command({"CLIENT", "KILL", "ID", std::to_string(victim_id)})), ":1");
  EXPECT_FALSE(victim.Command({"PING"}).ok());
  EXPECT_THAT(c.Command({"CLIENT", "LIST"}).str, ::testing::Not(HasSubstr("name=victim")));
  EXPECT_EQ(Show(c.Command({"CLIENT", "KILL", "ID", "999999"})), ":0");
}

TEST_F(CommandsTest, QuitRepliesThenCloses) {
  RawConnection raw = daemon_->ConnectRaw();
  ASSERT_TRUE(raw.Send(Resp({"QUIT"}) + Resp({"PING"})));
  bool closed = false;
  EXPECT_EQ(raw.ReadUntilClose(milliseconds(5000), &closed), "+OK\r\n");
  EXPECT_TRUE(closed);
}

TEST_F(CommandsTest, InfoFollowsRedisFormatWithStoresSection) {
  Client c = Connect();
  ASSERT_EQ(Show(c.Command({"PUT", "k", "v"})), "+OK");
  ASSERT_EQ(Show(c.Command({"GET", "k"})), "\"v\"");
  ASSERT_EQ(Show(c.Command({"GET", "missing"})), "(nil)");
  Reply info = c.Command({"INFO"});
  ASSERT_EQ(info.type, REDIS_REPLY_STRING) << Show(info);
  for (const char* section : {"# Server\r\n", "# Clients\r\n", "# Memory\r\n", "# Stats\r\n",
                              "# Keyspace\r\n", "# Stores\r\n"}) {
    EXPECT_THAT(info.str, HasSubstr(section));
  }
  auto fields = ParseInfo(info.str);
  EXPECT_EQ(fields["tcp_port"], std::to_string(daemon_->port()));
  EXPECT_EQ(fields["connected_clients"], "1");
  EXPECT_EQ(fields.count("redis_version"), 1u);
  EXPECT_EQ(fields.count("used_memory"), 1u);
  EXPECT_EQ(fields.count("uptime_in_seconds"), 1u);
  EXPECT_GE(std::stoll(fields["total_commands_processed"]), 4);
  EXPECT_EQ(fields["keyspace_hits"], "1");
  EXPECT_EQ(fields["keyspace_misses"], "1");
  EXPECT_THAT(fields["db0"], HasSubstr("keys=1"));
  // The per-store line names the hits, misses, keys, evictions and errors.
  std::string array_line = fields["store_array"];
  for (const char* field :
       {"driver=array", "hits=1", "misses=1", "keys=1", "evictions=0", "errors=0"}) {
    EXPECT_THAT(array_line, HasSubstr(field));
  }
  EXPECT_THAT(fields["store_null"], HasSubstr("driver=null"));
}

TEST_F(CommandsTest, InfoSectionSelection) {
  Client c = Connect();
  std::string server = c.Command({"INFO", "server"}).str;
  EXPECT_THAT(server, HasSubstr("# Server"));
  EXPECT_THAT(server, ::testing::Not(HasSubstr("# Clients")));
  std::string stores = c.Command({"INFO", "stores"}).str;
  EXPECT_THAT(stores, HasSubstr("# Stores"));
  EXPECT_THAT(stores, ::testing::Not(HasSubstr("# Server")));
}

TEST_F(CommandsTest, CommandIntrospection) {
  Client c = Connect();
  long long count = IntegerOf(c, {"COMMAND", "COUNT"});
  EXPECT_GE(count, 60);
  std::vector<std::string> names = Strings(c.Command({"COMMAND", "LIST"}));
  // As in Redis 7, LIST also names subcommands ("client|id"), so it is at least COUNT long.
  EXPECT_GE(static_cast<long long>(names.size()), count);
  for (const char* name : {"get", "set", "put", "forever", "many", "putmany", "store", "fake",
                           "assert", "multi", "exec", "watch", "info", "scan"}) {
    EXPECT_THAT(names, Contains(name));
  }
  Reply info = c.Command({"COMMAND", "INFO", "set", "nosuchcommand"});
  ASSERT_EQ(info.elements.size(), 2u) << Show(info);
  ASSERT_GE(info.elements[0].elements.size(), 2u) << Show(info);
  EXPECT_EQ(info.elements[0].elements[0].str, "set");
  EXPECT_EQ(info.elements[0].elements[1].integer, -3);  // arity, as in Redis
  EXPECT_TRUE(info.elements[1].is_nil());
  Reply docs = c.Command({"COMMAND", "DOCS", "put"});
  ASSERT_EQ(docs.type, REDIS_REPLY_ARRAY) << Show(docs);
  ASSERT_EQ(docs.elements.size(), 2u) << Show(docs);
  EXPECT_EQ(docs.elements[0].str, "put");
  Reply all = c.Command({"COMMAND"});
  EXPECT_EQ(static_cast<long long>(all.elements.size()), count);
}

TEST_F(CommandsTest, ConfigGetAndTime) {
  Client c = Connect();
  Reply config = c.Command({"CONFIG", "GET", "maxclients"});
  EXPECT_EQ(Show(config), "[\"maxclients\", \"10000\"]");
  Reply none = c.Command({"CONFIG", "GET", "no-such-parameter"});
  EXPECT_EQ(Show(none), "[]");
  Reply time = c.Command({"TIME"});
  ASSERT_EQ(time.elements.size(), 2u) << Show(time);
  long long seconds = std::stoll(time.elements[0].str);
  long long micros = std::stoll(time.elements[1].str);
  EXPECT_NEAR(seconds, static_cast<long long>(std::time(nullptr)), 2);
  EXPECT_GE(micros, 0);
  EXPECT_LT(micros, 1000000);
}

}  // namespace
}  // namespace arvel::integration
