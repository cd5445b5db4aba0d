// Generic key commands over a real connection to an in-process server (array store). Replies are
// compared as text: "+OK", ":1", "$value", "(nil)", "-ERR …", "[a, b]".

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "drivers/store.h"
#include "tests/unit/server/server_fixture.h"

namespace arvel::testing {
namespace {

using namespace std::string_literals;

class KeyCommandsTest : public ::testing::Test {
 protected:
  std::string Run(const std::vector<std::string>& args) { return Text(client_.Command(args)); }
  int64_t Int(const std::vector<std::string>& args) { return client_.Command(args).integer; }
  // The keys of a KEYS reply, sorted.
  std::vector<std::string> Keys(const std::string& pattern) {
    std::vector<std::string> keys;
    for (const Reply& r : client_.Command({"KEYS", pattern}).elements) keys.push_back(r.str);
    std::sort(keys.begin(), keys.end());
    return keys;
  }
  void Fill(int n, const std::string& prefix) {
    for (int i = 0; i < n; i += 100) {
      std::vector<std::string> args = {"MSET"};
      for (int j = i; j < std::min(n, i + 100); ++j) {
        args.push_back(prefix + std::to_string(j));
        args.push_back("v");
      }
      ASSERT_EQ(Run(args), "+OK");
    }
  }

  FakeClock clock_;  // only KeyExpiryTest's store follows it
  ServerFixture server_{TestConfig(), ClockedArrayStore("clocked", clock_)};
  Client client_ = server_.Connect();
};

// Expiry on clock_: the client works on the "clocked" store; the tests move time, not sleep.
class KeyExpiryTest : public KeyCommandsTest {
 protected:
  void SetUp() override { ASSERT_EQ(Run({"STORE", "clocked"}), "+OK"); }
};

std::string Now(int64_t offset_ms, bool seconds) {
  int64_t at = drivers::NowMs() + offset_ms;
  return std::to_string(seconds ? at / 1000 : at);
}

// ---- DEL UNLINK EXISTS TOUCH TYPE

TEST_F(KeyCommandsTest, DelCountsEachKeyOnce) {
  EXPECT_EQ(Run({"MSET", "a", "1", "b", "2", "c", "3"}), "+OK");
  EXPECT_EQ(Run({"DEL", "a", "a", "missing", "b"}), ":2");
  EXPECT_EQ(Run({"EXISTS", "a", "b", "c"}), ":1");
  EXPECT_EQ(Run({"UNLINK", "c", "c"}), ":1");
  EXPECT_EQ(Run({"DEL", "c"}), ":0");
  EXPECT_EQ(Run({"DEL"}), "-ERR wrong number of arguments for 'del' command");
}

TEST_F(KeyCommandsTest, ExistsCountsDuplicates) {
  EXPECT_EQ(Run({"SET", "a", "1"}), "+OK");
  EXPECT_EQ(Run({"EXISTS", "a"}), ":1");
  EXPECT_EQ(Run({"EXISTS", "a", "a", "a", "b"}), ":3");
  EXPECT_EQ(Run({"TOUCH", "a", "a", "b"}), ":2");
  EXPECT_EQ(Run({"EXISTS", "\0"s}), ":0");
}

TEST_F(KeyCommandsTest, Type) {
  EXPECT_EQ(Run({"TYPE", "k"}), "+none");
  EXPECT_EQ(Run({"SET", "k", "v"}), "+OK");
  EXPECT_EQ(Run({"TYPE", "k"}), "+string");
}

// ---- EXPIRE family

TEST_F(KeyCommandsTest, ExpireSetsTtl) {
  EXPECT_EQ(Run({"EXPIRE", "k", "100"}), ":0");  // missing key
  EXPECT_EQ(Run({"SET", "k", "v"}), "+OK");
  EXPECT_EQ(Run({"EXPIRE", "k", "100"}), ":1");
  EXPECT_EQ(Run({"TTL", "k"}), ":100");
  EXPECT_EQ(Run({"PEXPIRE", "k", "200000"}), ":1");
  EXPECT_EQ(Run({"TTL", "k"}), ":200");
  std::string at_s = Now(300000, true);
  EXPECT_EQ(Run({"EXPIREAT", "k", at_s}), ":1");
  EXPECT_EQ(Run({"EXPIRETIME", "k"}), ":" + at_s);
  std::string at = Now(400000, false);
  EXPECT_EQ(Run({"PEXPIREAT", "k", at}), ":1");
  EXPECT_EQ(Run({"PEXPIRETIME", "k"}), ":" + at);
  EXPECT_EQ(Run({"EXPIRETIME", "k"}), ":" + std::to_string(std::stoll(at) / 1000));
  EXPECT_EQ(Run({"GET", "k"}), "$v");
}

TEST_F(KeyCommandsTest, ExpireInThePastDeletes) {
  for (std::vector<std::string> expire : std::vector<std::vector<std::string>>{
           {"EXPIRE", "k", "0"},
           {"EXPIRE", "k", "-1"},
           {"PEXPIRE", "k", "-9223372036854775808"},
           {"EXPIREAT", "k", "1"},
           {"PEXPIREAT", "k", "0"},
           {"PEXPIREAT", "k", Now(-1, false)},
       }) {
    EXPECT_EQ(Run({"SET", "k", "v"}), "+OK");
    EXPECT_EQ(Run(expire), ":1") << expire[0] << " " << expire[2];
    EXPECT_EQ(Run({"EXISTS", "k"}), ":0") << expire[0] << " " << expire[2];
  }
}

TEST_F(KeyExpiryTest, ExpireHappens) {
  EXPECT_EQ(Run({"SET", "k", "v"}), "+OK");
  EXPECT_EQ(Run({"PEXPIRE", "k", "5"}), ":1");
  clock_.Advance(std::chrono::milliseconds(6));
  EXPECT_EQ(Run({"GET", "k"}), "(nil)");
  EXPECT_EQ(Run({"PTTL", "k"}), ":-2");
}

TEST_F(KeyCommandsTest, ExpireNxXx) {
  EXPECT_EQ(Run({"SET", "k", "v"}), "+OK");
  EXPECT_EQ(Run({"EXPIRE", "k", "100", "XX"}), ":0");  // no expiry yet
  EXPECT_EQ(Run({"TTL", "k"}), ":-1");
  EXPECT_EQ(Run({"EXPIRE", "k", "100", "NX"}), ":1");
  EXPECT_EQ(Run({"EXPIRE", "k", "200", "NX"}), ":0");
  EXPECT_EQ(Run({"TTL", "k"}), ":100");
  EXPECT_EQ(Run({"EXPIRE", "k", "200", "xx"}), ":1");
  EXPECT_EQ(Run({"TTL", "k"}), ":200");
}

TEST_F(KeyCommandsTest, ExpireGtLt) {
  EXPECT_EQ(Run({"SET", "k", "v"}), "+OK");
  // No expiry counts as infinite: GT never beats it, LT always does.
  EXPECT_EQ(Run({"EXPIRE", "k", "100", "GT"}), ":0");
  EXPECT_EQ(Run({"TTL", "k"}), ":-1");
  EXPECT_EQ(Run({"EXPIRE", "k", "100", "LT"}), ":1");
  EXPECT_EQ(Run({"EXPIRE", "k", "200", "LT"}), ":0");
  EXPECT_EQ(Run({"EXPIRE", "k", "50", "LT"}), ":1");
  EXPECT_EQ(Run({"EXPIRE", "k", "20", "GT"}), ":0");
  EXPECT_EQ(Run({"EXPIRE", "k", "300", "GT"}), ":1");
  EXPECT_EQ(Run({"TTL", "k"}), ":300");
  EXPECT_EQ(Run({"EXPIRE", "k", "400", "XX", "GT"}), ":1");
  EXPECT_EQ(Run({"TTL", "k"}), ":400");
  // A past time allowed by LT still deletes the key.
  EXPECT_EQ(Run({"EXPIRE", "k", "-1", "LT"}), ":1");
  EXPECT_EQ(Run({"EXISTS", "k"}), ":0");
}

TEST_F(KeyCommandsTest, ExpireErrors) {
  EXPECT_EQ(Run({"SET", "k", "v"}), "+OK");
  const std::string nx = "-ERR NX and XX, GT or LT options at the same time are not compatible";
  EXPECT_EQ(Run({"EXPIRE", "k", "10", "NX", "XX"}), nx);
  EXPECT_EQ(Run({"EXPIRE", "k", "10", "NX", "GT"}), nx);
  EXPECT_EQ(Run({"PEXPIRE", "k", "10", "LT", "NX"}), nx);
  EXPECT_EQ(Run({"EXPIRE", "k", "10", "GT", "LT"}),
            "-ERR GT and LT options at the same time are not compatible");
  EXPECT_EQ(Run({"EXPIRE", "k", "10", "foo"}), "-ERR Unsupported option foo");
  // Options are checked before the time.
  EXPECT_EQ(Run({"EXPIRE", "k", "abc", "foo"}), "-ERR Unsupported option foo");
  EXPECT_EQ(Run({"EXPIRE", "k", "abc"}), "-ERR value is not an integer or out of range");
  EXPECT_EQ(Run({"EXPIRE", "k", "9223372036854775"}),
            "-ERR invalid expire time in 'expire' command");
  EXPECT_EQ(Run({"PEXPIRE", "k", "9223372036854775807"}),
            "-ERR invalid expire time in 'pexpire' command");
  EXPECT_EQ(Run({"EXPIREAT", "k", "9223372036854775807"}),
            "-ERR invalid expire time in 'expireat' command");
  EXPECT_EQ(Run({"EXPIRE", "k"}), "-ERR wrong number of arguments for 'expire' command");
  EXPECT_EQ(Run({"TTL", "k"}), ":-1");  // none of them changed anything
  EXPECT_EQ(Run({"PEXPIREAT", "k", "9223372036854775807"}), ":1");
  EXPECT_EQ(Run({"PEXPIRETIME", "k"}), ":9223372036854775807");
}

TEST_F(KeyCommandsTest, Persist) {
  EXPECT_EQ(Run({"PERSIST", "k"}), ":0");
  EXPECT_EQ(Run({"SET", "k", "v"}), "+OK");
  EXPECT_EQ(Run({"PERSIST", "k"}), ":0");
  EXPECT_EQ(Run({"EXPIRE", "k", "100"}), ":1");
  EXPECT_EQ(Run({"PERSIST", "k"}), ":1");
  EXPECT_EQ(Run({"TTL", "k"}), ":-1");
  EXPECT_EQ(Run({"GET", "k"}), "$v");
}

TEST_F(KeyCommandsTest, TtlReports) {
  for (const char* command : {"TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME"}) {
    EXPECT_EQ(Run({command, "missing"}), ":-2") << command;
  }
  EXPECT_EQ(Run({"SET", "k", "v"}), "+OK");
  for (const char* command : {"TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME"}) {
    EXPECT_EQ(Run({command, "k"}), ":-1") << command;
  }
  EXPECT_EQ(Run({"SET", "k", "v", "PX", "1600"}), "+OK");
  EXPECT_EQ(Run({"TTL", "k"}), ":2");  // rounded to the nearest second
  EXPECT_EQ(Run({"SET", "k", "v", "PX", "1400"}), "+OK");
  EXPECT_EQ(Run({"TTL", "k"}), ":1");
  int64_t pttl = Int({"PTTL", "k"});
  EXPECT_GT(pttl, 1000);
  EXPECT_LE(pttl, 1400);
}

// ---- KEYS

TEST_F(KeyCommandsTest, KeysMatchesPattern) {
  EXPECT_EQ(Run({"KEYS", "*"}), "[]");
  EXPECT_EQ(Run({"MSET", "hello", "1", "hallo", "2", "hxllo", "3", "hllo", "4", "heeeello", "5"}),
            "+OK");
  EXPECT_EQ(Keys("h?llo"), (std::vector<std::string>{"hallo", "hello", "hxllo"}));
  EXPECT_EQ(Keys("h*llo"),
            (std::vector<std::string>{"hallo", "heeeello", "hello", "hllo", "hxllo"}));
  EXPECT_EQ(Keys("h[ae]llo"), (std::vector<std::string>{"hallo", "hello"}));
  EXPECT_EQ(Keys("h[^e]llo"), (std::vector<std::string>{"hallo", "hxllo"}));
  EXPECT_EQ(Keys("h[a-b]llo"), (std::vector<std::string>{"hallo"}));
  EXPECT_EQ(Keys("hello"), (std::vector<std::string>{"hello"}));
  EXPECT_EQ(Keys("nothing*"), (std::vector<std::string>{}));
}

TEST_F(KeyCommandsTest, KeysWalksEveryBatch) {
  Fill(3000, "key:");
  EXPECT_EQ(Run({"SET", "other", "v"}), "+OK");
  std::vector<std::string> keys = Keys("key:*");
  ASSERT_EQ(keys.size(), 3000u);
  EXPECT_EQ(std::set<std::string>(keys.begin(), keys.end()).size(), 3000u);  // no repeats
  EXPECT_EQ(Keys("key:1?").size(), 10u);
  EXPECT_EQ(Keys("*").size(), 3001u);
}

TEST_F(KeyExpiryTest, KeysSkipsExpired) {
  EXPECT_EQ(Run({"SET", "a", "1"}), "+OK");
  EXPECT_EQ(Run({"SET", "b", "1", "PX", "1"}), "+OK");
  clock_.Advance(std::chrono::milliseconds(2));
  EXPECT_EQ(Run({"KEYS", "*"}), "[$a]");
}

// ---- SCAN

// Runs a full SCAN iteration with `options`, checking each page's shape; returns every key seen.
std::multiset<std::string> ScanAll(Client& client, const std::vector<std::string>& options,
                                   int* calls = nullptr) {
  std::multiset<std::string> seen;
  std::string cursor = "0";
  int n = 0;
  do {
    std::vector<std::string> args = {"SCAN", cursor};
    args.insert(args.end(), options.begin(), options.end());
    Reply page = client.Command(args);
    EXPECT_EQ(page.type, REDIS_REPLY_ARRAY);
    if (page.elements.size() != 2) break;
    cursor = page.elements[0].str;
    for (const Reply& key : page.elements[1].elements) seen.insert(key.str);
    ++n;
  } while (cursor != "0" && n < 100000);
  if (calls) *calls = n;
  return seen;
}

TEST_F(KeyCommandsTest, ScanVisitsEveryKey) {
  Fill(1000, "key:");
  int calls = 0;
  std::multiset<std::string> all = ScanAll(client_, {"COUNT", "7"}, &calls);
  std::set<std::string> unique(all.begin(), all.end());
  EXPECT_EQ(unique.size(), 1000u);
  EXPECT_GT(calls, 10);  // COUNT 7 takes many steps
  for (int i = 0; i < 1000; ++i) EXPECT_TRUE(unique.count("key:" + std::to_string(i)));
}

TEST_F(KeyCommandsTest, ScanMatch) {
  Fill(1000, "key:");
  Fill(100, "other:");
  std::multiset<std::string> matched = ScanAll(client_, {"MATCH", "key:1*", "COUNT", "50"});
  std::set<std::string> unique(matched.begin(), matched.end());
  EXPECT_EQ(unique.size(), 111u);  // 1, 10-19, 100-199
  for (const std::string& key : unique) EXPECT_EQ(key.rfind("key:1", 0), 0u) << key;
  EXPECT_EQ(ScanAll(client_, {"MATCH", "*"}).size(), 1100u);
}

TEST_F(KeyCommandsTest, ScanType) {
  Fill(50, "key:");
  std::multiset<std::string> strings = ScanAll(client_, {"TYPE", "string"});
  EXPECT_EQ(std::set<std::string>(strings.begin(), strings.end()).size(), 50u);
  EXPECT_EQ(ScanAll(client_, {"TYPE", "STRING", "COUNT", "1000"}).size(), 50u);
  EXPECT_EQ(Run({"SCAN", "0", "TYPE", "hash"}), "[$0, []]");
  EXPECT_EQ(Run({"SCAN", "0", "TYPE", "list", "MATCH", "*"}), "[$0, []]");
}

TEST_F(KeyCommandsTest, ScanEmptyStore) { EXPECT_EQ(Run({"SCAN", "0"}), "[$0, []]"); }

TEST_F(KeyCommandsTest, ScanErrors) {
  EXPECT_EQ(Run({"SCAN", "abc"}), "-ERR invalid cursor");
  EXPECT_EQ(Run({"SCAN", " 1"}), "-ERR invalid cursor");
  EXPECT_EQ(Run({"SCAN", "1x"}), "-ERR invalid cursor");
  EXPECT_EQ(Run({"SCAN", "99999999999999999999999"}), "-ERR invalid cursor");
  // The cursor is checked before the options.
  EXPECT_EQ(Run({"SCAN", "abc", "FOO"}), "-ERR invalid cursor");
  EXPECT_EQ(Run({"SCAN", "0", "COUNT", "0"}), "-ERR syntax error");
  EXPECT_EQ(Run({"SCAN", "0", "COUNT", "-1"}), "-ERR syntax error");
  EXPECT_EQ(Run({"SCAN", "0", "COUNT", "x"}), "-ERR value is not an integer or out of range");
  EXPECT_EQ(Run({"SCAN", "0", "MATCH"}), "-ERR syntax error");
  EXPECT_EQ(Run({"SCAN", "0", "FOO", "bar"}), "-ERR syntax error");
  EXPECT_EQ(Run({"SCAN"}), "-ERR wrong number of arguments for 'scan' command");
}

// ---- RANDOMKEY DBSIZE FLUSHDB FLUSHALL

TEST_F(KeyCommandsTest, RandomKeyAndDbSize) {
  EXPECT_EQ(Run({"RANDOMKEY"}), "(nil)");
  EXPECT_EQ(Run({"DBSIZE"}), ":0");
  EXPECT_EQ(Run({"SET", "only", "v"}), "+OK");
  EXPECT_EQ(Run({"RANDOMKEY"}), "$only");
  Fill(10, "k");
  EXPECT_EQ(Run({"DBSIZE"}), ":11");
  std::string key = client_.Command({"RANDOMKEY"}).str;
  EXPECT_EQ(Run({"EXISTS", key}), ":1");
}

TEST_F(KeyCommandsTest, FlushDbAndFlushAll) {
  Fill(10, "k");
  EXPECT_EQ(Run({"FLUSHDB"}), "+OK");
  EXPECT_EQ(Run({"DBSIZE"}), ":0");
  Fill(10, "k");
  EXPECT_EQ(Run({"FLUSHDB", "ASYNC"}), "+OK");
  EXPECT_EQ(Run({"DBSIZE"}), ":0");
  Fill(10, "k");
  EXPECT_EQ(Run({"FLUSHALL", "sync"}), "+OK");
  EXPECT_EQ(Run({"DBSIZE"}), ":0");
  EXPECT_EQ(Run({"FLUSHALL"}), "+OK");
  EXPECT_EQ(Run({"FLUSHDB", "foo"}), "-ERR syntax error");
  EXPECT_EQ(Run({"FLUSHALL", "ASYNC", "SYNC"}), "-ERR syntax error");
}

TEST_F(KeyCommandsTest, NullStoreHoldsNothing) {
  ASSERT_EQ(Run({"STORE", "null"}), "+OK");
  EXPECT_EQ(Run({"SET", "a", "v"}), "+OK");
  EXPECT_EQ(Run({"KEYS", "*"}), "[]");
  EXPECT_EQ(Run({"SCAN", "0"}), "[$0, []]");
  EXPECT_EQ(Run({"DBSIZE"}), ":0");
  EXPECT_EQ(Run({"RANDOMKEY"}), "(nil)");
  EXPECT_EQ(Run({"EXISTS", "a"}), ":0");
  EXPECT_EQ(Run({"EXPIRE", "a", "10"}), ":0");
  EXPECT_EQ(Run({"DEL", "a"}), ":0");
}

// ---- A store that cannot serve: every command reports the store's error, none hangs

config::Config WithBrokenStore() {
  config::Config config = TestConfig();
  config::StoreConfig broken;
  broken.name = "broken";
  broken.driver = "redis";
  broken.host = "127.0.0.1";
  broken.port = 1;  // nothing listens there
  config.stores.push_back(broken);
  return config;
}

TEST(KeyCommandsStoreErrorTest, EveryCommandReportsTheStoreError) {
  ServerFixture server(WithBrokenStore());
  Client client = server.Connect();
  ASSERT_EQ(Text(client.Command({"STORE", "broken"})), "+OK");
  const std::string error = "-ERR store 'broken' unavailable";
  for (std::vector<std::string> command : std::vector<std::vector<std::string>>{
           {"KEYS", "*"},
           {"SCAN", "0"},
           {"DBSIZE"},
           {"RANDOMKEY"},
           {"FLUSHDB"},
           {"DEL", "a", "b"},
           {"EXISTS", "a"},
           {"EXPIRE", "a", "10"},
           {"TTL", "a"},
           {"GET", "a", "default"},
           {"SET", "a", "v", "NX", "GET"},
           {"MSETNX", "a", "1", "b", "2"},
           {"INCR", "a"},
           {"PUT", "a", "v", "10"},
           {"PULL", "a"},
           {"FLUSH"},
       }) {
    EXPECT_EQ(Text(client.Command(command)).substr(0, error.size()), error) << command[0];
  }
  ASSERT_EQ(Text(client.Command({"STORE", "array"})), "+OK");
  EXPECT_EQ(Text(client.Command({"SET", "a", "v"})), "+OK");
}

}  // namespace
}  // namespace arvel::testing
