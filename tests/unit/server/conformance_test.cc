// The driver conformance suite (see conformance.h): the same commands, the same expected
// replies, for every driver. Instantiated here for the local drivers (array, file); other
// drivers instantiate it in their own files.

#include "tests/unit/server/conformance.h"

#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <future>
#include <latch>
#include <set>
#include <thread>
#include <utility>

#include "config/config.h"

namespace arvel::testing {

using namespace std::string_literals;
using std::chrono::milliseconds;

namespace {

// Every setup also gets a plain array store named "side", to show that a store's commands
// (FLUSH above all) leave the others alone.
constexpr std::string_view kSideStore = "\n[stores.side]\ndriver = \"array\"\n";

std::string MakeTempDir() {
  std::string pattern =
      (std::filesystem::temp_directory_path() / "arvel-conformance-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  return pattern;
}

int64_t UnixSeconds() {
  using namespace std::chrono;
  return duration_cast<seconds>(system_clock::now().time_since_epoch()).count();
}

// Integer value of an integer reply's text (":5" -> 5); -999 for anything else.
long long IntOf(const std::string& text) {
  return text.size() > 1 && text[0] == ':' ? std::stoll(text.substr(1)) : -999;
}

}  // namespace

void StoreConformanceTest::SetUp() {
  const StoreSetup& setup = GetParam();
  if (setup.skip_reason) {
    std::string reason = setup.skip_reason();
    if (!reason.empty()) GTEST_SKIP() << reason;
  }
  dir_ = MakeTempDir();
  config_text_ = setup.config(dir_) + std::string(kSideStore);
  Restart();
  if (HasFatalFailure()) return;
  ASSERT_EQ(Run({"PING"}), "+PONG");
}

void StoreConformanceTest::Restart() {
  client_.reset();
  server_.reset();
  config::CommandLine line;
  line.port = 0;
  // One daemon per test: the shared drivers' stores are declared this daemon's alone, so
  // MULTI/EXEC and WATCH keep their Redis meaning (shared_transactions_test.cc covers `many`).
  auto config =
      config::LoadConfigText(config_text_, "conformance.toml", line, {{"CACHE_DAEMONS", "one"}});
  ASSERT_TRUE(config.ok()) << config.status().message() << "\n" << config_text_;
  server_ = std::make_unique<ServerFixture>(*config);
  client_ = std::make_unique<Client>(server_->Connect());
}

std::unique_ptr<ServerFixture> StoreConformanceTest::AnotherDaemon() const {
  config::CommandLine line;
  line.port = 0;
  auto config = config::LoadConfigText(config_text_, "conformance.toml", line, {});
  if (!config.ok()) throw std::runtime_error(config.status().message());
  return std::make_unique<ServerFixture>(*config);
}

void StoreConformanceTest::TearDown() {
  client_.reset();
  server_.reset();  // stops the server, closing its stores, before their files go
  if (!dir_.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
}

// ---- the Arvel facade -------------------------------------------------------------------------

TEST_P(StoreConformanceTest, PutGetWithDefault) {
  EXPECT_EQ(Run({"GET", "k"}), "(nil)");
  EXPECT_EQ(Run({"GET", "k", "fallback"}), "$fallback");
  EXPECT_EQ(Run({"PUT", "k", "v"}), "+OK");
  EXPECT_EQ(Run({"GET", "k"}), "$v");
  EXPECT_EQ(Run({"GET", "k", "fallback"}), "$v");
  EXPECT_EQ(Run({"TTL", "k"}), ":-1");
  EXPECT_EQ(Run({"PUT", "k", "w", "100"}), "+OK");
  EXPECT_EQ(Run({"GET", "k"}), "$w");
  EXPECT_EQ(Run({"TTL", "k"}), ":100");
  EXPECT_EQ(Run({"PUT", "k", "x", "0"}), "+OK");  // ttl <= 0 forgets
  EXPECT_EQ(Run({"HAS", "k"}), ":0");
  EXPECT_EQ(Run({"PUT", "k", "v", "abc"}), "-ERR value is not an integer or out of range");
}

TEST_P(StoreConformanceTest, ForeverHasForget) {
  EXPECT_EQ(Run({"PUT", "k", "v", "100"}), "+OK");
  EXPECT_EQ(Run({"FOREVER", "k", "w"}), "+OK");
  EXPECT_EQ(Run({"GET", "k"}), "$w");
  EXPECT_EQ(Run({"TTL", "k"}), ":-1");
  EXPECT_EQ(Run({"HAS", "k"}), ":1");
  EXPECT_EQ(Run({"FORGET", "k"}), ":1");
  EXPECT_EQ(Run({"FORGET", "k"}), ":0");
  EXPECT_EQ(Run({"HAS", "k"}), ":0");
}

TEST_P(StoreConformanceTest, FlushEmptiesThisStoreOnly) {
  const std::string self = Run({"STORE"}).substr(1);
  EXPECT_EQ(Run({"STORE", "side"}), "+OK");
  EXPECT_EQ(Run({"PUT", "k", "side"}), "+OK");
  EXPECT_EQ(Run({"STORE", self}), "+OK");
  EXPECT_EQ(Run({"PUTMANY", "100", "k", "1", "b", "2"}), "+OK");
  EXPECT_EQ(Run({"TAGS", "t", "PUT", "k", "tagged"}), "+OK");
  EXPECT_EQ(Run({"THROTTLE", "HIT", "k", "60"}), ":1");
  EXPECT_EQ(Run({"LOCK", "ACQUIRE", "k", "60", "OWNER", "me"}), "$me");
  EXPECT_EQ(Run({"FLUSH"}), "+OK");
  EXPECT_EQ(Run({"DBSIZE"}), ":0");
  EXPECT_EQ(Run({"GET", "k"}), "(nil)");
  EXPECT_EQ(Run({"TAGS", "t", "GET", "k"}), "(nil)");
  EXPECT_EQ(Run({"THROTTLE", "ATTEMPTS", "k"}), ":0");
  EXPECT_EQ(Run({"LOCK", "OWNER", "k"}), "(nil)");
  EXPECT_EQ(Run({"STORE", "side"}), "+OK");
  EXPECT_EQ(Run({"GET", "k"}), "$side");
}

TEST_P(StoreConformanceTest, AddStoresOnlyWhenAbsent) {
  EXPECT_EQ(Run({"ADD", "k", "1"}), ":1");
  EXPECT_EQ(Run({"ADD", "k", "2"}), ":0");
  EXPECT_EQ(Run({"GET", "k"}), "$1");
  EXPECT_EQ(Run({"ADD", "t", "1", "100"}), ":1");
  EXPECT_EQ(Run({"TTL", "t"}), ":100");
  EXPECT_EQ(Run({"ADD", "t", "2", "200"}), ":0");
  EXPECT_EQ(Run({"TTL", "t"}), ":100");
  EXPECT_EQ(Run({"ADD", "z", "1", "0"}), ":0");
  EXPECT_EQ(Run({"HAS", "z"}), ":0");
}

TEST_P(StoreConformanceTest, AddHasOneWinnerAcrossClients) {
  constexpr int kClients = 4, kKeys = 25;
  std::atomic<int> wins{0};
  std::vector<std::thread> threads;
  for (int c = 0; c < kClients; ++c) {
    threads.emplace_back([&, c] {
      Client client = Connect();
      for (int i = 0; i < kKeys; ++i) {
        wins += client.Command({"ADD", "k" + std::to_string(i), std::to_string(c)}).integer;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(wins.load(), kKeys);
}

TEST_P(StoreConformanceTest, IncrementAndDecrement) {
  EXPECT_EQ(Run({"INCREMENT", "n"}), ":1");
  EXPECT_EQ(Run({"INCREMENT", "n", "5"}), ":6");
  EXPECT_EQ(Run({"DECREMENT", "n"}), ":5");
  EXPECT_EQ(Run({"DECREMENT", "n", "10"}), ":-5");
  EXPECT_EQ(Run({"GET", "n"}), "$-5");
  EXPECT_EQ(Run({"PUT", "t", "1", "100"}), "+OK");
  EXPECT_EQ(Run({"INCREMENT", "t", "2"}), ":3");
  EXPECT_EQ(Run({"TTL", "t"}), ":100");  // keeps the key's TTL
  EXPECT_EQ(Run({"PUT", "s", "abc"}), "+OK");
  EXPECT_EQ(Run({"INCREMENT", "s"}), "-ERR value is not an integer or out of range");
  EXPECT_EQ(Run({"PUT", "big", "9223372036854775807"}), "+OK");
  EXPECT_EQ(Run({"INCREMENT", "big"}), "-ERR increment or decrement would overflow");
}

TEST_P(StoreConformanceTest, IncrementIsExactAcrossClients) {
  constexpr int kClients = 4, kEach = 25;
  std::vector<std::thread> threads;
  for (int c = 0; c < kClients; ++c) {
    threads.emplace_back([&] {
      Client client = Connect();
      for (int i = 0; i < kEach; ++i) client.Command({"INCREMENT", "counter"});
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(Run({"GET", "counter"}), "$" + std::to_string(kClients * kEach));
}

TEST_P(StoreConformanceTest, PullGetsAndForgets) {
  EXPECT_EQ(Run({"PULL", "k"}), "(nil)");
  EXPECT_EQ(Run({"PULL", "k", "fallback"}), "$fallback");
  EXPECT_EQ(Run({"HAS", "k"}), ":0");
  EXPECT_EQ(Run({"PUT", "k", "v", "100"}), "+OK");
  EXPECT_EQ(Run({"PULL", "k"}), "$v");
  EXPECT_EQ(Run({"HAS", "k"}), ":0");
}

TEST_P(StoreConformanceTest, PullGivesEachValueToOneClient) {
  constexpr int kClients = 4, kKeys = 25;
  for (int i = 0; i < kKeys; ++i) Run({"PUT", "k" + std::to_string(i), "v"});
  std::atomic<int> pulled{0};
  std::vector<std::thread> threads;
  for (int c = 0; c < kClients; ++c) {
    threads.emplace_back([&] {
      Client client = Connect();
      for (int i = 0; i < kKeys; ++i) {
        if (!client.Command({"PULL", "k" + std::to_string(i)}).is_nil()) ++pulled;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(pulled.load(), kKeys);
}

TEST_P(StoreConformanceTest, ManyAndPutMany) {
  EXPECT_EQ(Run({"PUT", "a", "1"}), "+OK");
  EXPECT_EQ(Run({"MANY", "a", "b", "a"}), "[$1, (nil), $1]");
  EXPECT_EQ(Run({"PUTMANY", "100", "a", "x", "b", "y", "a", "z"}), "+OK");  // the last wins
  EXPECT_EQ(Run({"MANY", "a", "b", "c"}), "[$z, $y, (nil)]");
  EXPECT_EQ(Run({"TTL", "b"}), ":100");
  EXPECT_EQ(Run({"PUTMANY", "0", "a", "1"}), "+OK");  // ttl <= 0 forgets them
  EXPECT_EQ(Run({"MANY", "a", "b"}), "[(nil), $y]");
}

// ---- Redis strings ----------------------------------------------------------------------------

TEST_P(StoreConformanceTest, SetOptions) {
  EXPECT_EQ(Run({"SET", "k", "v", "NX"}), "+OK");
  EXPECT_EQ(Run({"SET", "k", "w", "NX"}), "(nil)");
  EXPECT_EQ(Run({"SET", "k", "w", "XX"}), "+OK");
  EXPECT_EQ(Run({"SET", "m", "w", "XX"}), "(nil)");
  EXPECT_EQ(Run({"SET", "k", "v", "EX", "100"}), "+OK");
  EXPECT_EQ(Run({"TTL", "k"}), ":100");
  EXPECT_EQ(Run({"SET", "k", "v2", "KEEPTTL"}), "+OK");
  EXPECT_EQ(Run({"TTL", "k"}), ":100");
  EXPECT_EQ(Run({"SET", "k", "v3", "GET"}), "$v2");
  EXPECT_EQ(Run({"TTL", "k"}), ":-1");
  EXPECT_EQ(Run({"SET", "k", "v", "PX", "100000"}), "+OK");
  long long pttl = IntOf(Run({"PTTL", "k"}));
  EXPECT_GT(pttl, 98000);
  EXPECT_LE(pttl, 100000);
  EXPECT_EQ(Run({"SET", "k", "v", "EXAT", std::to_string(UnixSeconds() + 100)}), "+OK");
  long long ttl = IntOf(Run({"TTL", "k"}));
  EXPECT_GE(ttl, 98);
  EXPECT_LE(ttl, 100);
  EXPECT_EQ(Run({"SET", "k", "v", "EX", "0"}), "-ERR invalid expire time in 'set' command");
  EXPECT_EQ(Run({"SET", "k", "v", "NX", "XX"}), "-ERR syntax error");
  EXPECT_EQ(Run({"SETNX", "k", "x"}), ":0");
  EXPECT_EQ(Run({"SETEX", "e", "100", "v"}), "+OK");
  EXPECT_EQ(Run({"TTL", "e"}), ":100");
  EXPECT_EQ(Run({"PSETEX", "p", "100000", "v"}), "+OK");
  EXPECT_EQ(Run({"TTL", "p"}), ":100");
}

TEST_P(StoreConformanceTest, GetVariants) {
  EXPECT_EQ(Run({"SET", "k", "v"}), "+OK");
  EXPECT_EQ(Run({"GETEX", "k", "EX", "100"}), "$v");
  EXPECT_EQ(Run({"TTL", "k"}), ":100");
  EXPECT_EQ(Run({"GETEX", "k", "PERSIST"}), "$v");
  EXPECT_EQ(Run({"TTL", "k"}), ":-1");
  EXPECT_EQ(Run({"GETEX", "k"}), "$v");
  EXPECT_EQ(Run({"GETEX", "missing", "EX", "10"}), "(nil)");
  EXPECT_EQ(Run({"GETSET", "k", "w"}), "$v");
  EXPECT_EQ(Run({"GETDEL", "k"}), "$w");
  EXPECT_EQ(Run({"GETDEL", "k"}), "(nil)");
  EXPECT_EQ(Run({"SET", "s", "Hello World"}), "+OK");
  EXPECT_EQ(Run({"STRLEN", "s"}), ":11");
  EXPECT_EQ(Run({"GETRANGE", "s", "0", "4"}), "$Hello");
  EXPECT_EQ(Run({"GETRANGE", "s", "-5", "-1"}), "$World");
}

TEST_P(StoreConformanceTest, MultiKeyStrings) {
  EXPECT_EQ(Run({"MSET", "a", "1", "b", "2"}), "+OK");
  EXPECT_EQ(Run({"MGET", "a", "b", "c"}), "[$1, $2, (nil)]");
  EXPECT_EQ(Run({"MSETNX", "c", "3", "a", "9"}), ":0");  // all or nothing
  EXPECT_EQ(Run({"MGET", "a", "c"}), "[$1, (nil)]");
  EXPECT_EQ(Run({"MSETNX", "c", "3", "d", "4"}), ":1");
  EXPECT_EQ(Run({"MGET", "c", "d"}), "[$3, $4]");
  EXPECT_EQ(Run({"DEL", "a", "b", "zz"}), ":2");
  EXPECT_EQ(Run({"EXISTS", "c", "c", "a"}), ":2");
  EXPECT_EQ(Run({"UNLINK", "c"}), ":1");
  EXPECT_EQ(Run({"TOUCH", "c", "d"}), ":1");
}

TEST_P(StoreConformanceTest, Counters) {
  EXPECT_EQ(Run({"INCR", "n"}), ":1");
  EXPECT_EQ(Run({"INCRBY", "n", "10"}), ":11");
  EXPECT_EQ(Run({"DECR", "n"}), ":10");
  EXPECT_EQ(Run({"DECRBY", "n", "20"}), ":-10");
  EXPECT_EQ(Run({"SET", "f", "10.5"}), "+OK");
  EXPECT_EQ(Run({"INCRBYFLOAT", "f", "0.1"}), "$10.6");
  EXPECT_EQ(Run({"INCRBYFLOAT", "f", "-5"}), "$5.6");
  EXPECT_EQ(Run({"SET", "e", "5.0e3"}), "+OK");
  EXPECT_EQ(Run({"INCRBYFLOAT", "e", "2.0e2"}), "$5200");
  EXPECT_EQ(Run({"INCRBYFLOAT", "new", "3"}), "$3");
  EXPECT_EQ(Run({"SET", "s", "abc"}), "+OK");
  EXPECT_EQ(Run({"INCR", "s"}), "-ERR value is not an integer or out of range");
  EXPECT_EQ(Run({"INCRBYFLOAT", "s", "1"}), "-ERR value is not a valid float");
}

TEST_P(StoreConformanceTest, AppendAndSetRange) {
  EXPECT_EQ(Run({"APPEND", "k", "Hello"}), ":5");
  EXPECT_EQ(Run({"APPEND", "k", " World"}), ":11");
  EXPECT_EQ(Run({"SETRANGE", "k", "6", "Redis"}), ":11");
  EXPECT_EQ(Run({"GET", "k"}), "$Hello Redis");
  EXPECT_EQ(Run({"SETRANGE", "z", "3", "x"}), ":4");
  EXPECT_EQ(Run({"GET", "z"}), "$"s + std::string(3, '\0') + "x");
  EXPECT_EQ(Run({"SETRANGE", "k", "-1", "x"}), "-ERR offset is out of range");
}

// ---- keys and expiry --------------------------------------------------------------------------

TEST_P(StoreConformanceTest, ExpireFamily) {
  EXPECT_EQ(Run({"EXPIRE", "missing", "10"}), ":0");
  EXPECT_EQ(Run({"TTL", "missing"}), ":-2");
  EXPECT_EQ(Run({"PTTL", "missing"}), ":-2");
  EXPECT_EQ(Run({"SET", "k", "v"}), "+OK");
  EXPECT_EQ(Run({"TTL", "k"}), ":-1");
  EXPECT_EQ(Run({"EXPIRETIME", "k"}), ":-1");
  EXPECT_EQ(Run({"EXPIRE", "k", "100", "XX"}), ":0");  // no expiry yet
  EXPECT_EQ(Run({"EXPIRE", "k", "100", "NX"}), ":1");
  EXPECT_EQ(Run({"TTL", "k"}), ":100");
  EXPECT_EQ(Run({"EXPIRE", "k", "50", "GT"}), ":0");
  EXPECT_EQ(Run({"EXPIRE", "k", "200", "GT"}), ":1");
  EXPECT_EQ(Run({"EXPIRE", "k", "150", "LT"}), ":1");
  EXPECT_EQ(Run({"TTL", "k"}), ":150");
  EXPECT_EQ(Run({"PERSIST", "k"}), ":1");
  EXPECT_EQ(Run({"PERSIST", "k"}), ":0");
  EXPECT_EQ(Run({"PEXPIRE", "k", "100000"}), ":1");
  EXPECT_EQ(Run({"TTL", "k"}), ":100");
  const int64_t at = UnixSeconds() + 500;
  EXPECT_EQ(Run({"EXPIREAT", "k", std::to_string(at)}), ":1");
  EXPECT_EQ(Run({"EXPIRETIME", "k"}), ":" + std::to_string(at));
  EXPECT_EQ(Run({"PEXPIREAT", "k", std::to_string(at * 1000)}), ":1");
  EXPECT_EQ(Run({"PEXPIRETIME", "k"}), ":" + std::to_string(at * 1000));
  EXPECT_EQ(Run({"TYPE", "k"}), "+string");
  EXPECT_EQ(Run({"TYPE", "missing"}), "+none");
  EXPECT_EQ(Run({"EXPIRE", "k", "0"}), ":1");  // an expiry in the past deletes
  EXPECT_EQ(Run({"EXISTS", "k"}), ":0");
}

TEST_P(StoreConformanceTest, ValuesExpire) {
  EXPECT_EQ(Run({"SET", "k", "v", "PX", "100"}), "+OK");
  EXPECT_EQ(Run({"PUT", "forever", "v"}), "+OK");
  std::this_thread::sleep_for(milliseconds(Settle(250)));  // drivers expire by the real clock
  EXPECT_EQ(Run({"GET", "k"}), "(nil)");
  EXPECT_EQ(Run({"EXISTS", "k"}), ":0");
  EXPECT_EQ(Run({"TTL", "k"}), ":-2");
  EXPECT_EQ(Run({"MANY", "k", "forever"}), "[(nil), $v]");
  EXPECT_EQ(Run({"KEYS", "*"}), "[$forever]");
  EXPECT_EQ(Run({"ADD", "k", "again"}), ":1");  // an expired key counts as absent
  EXPECT_EQ(Run({"INCREMENT", "gone"}), ":1");
}

TEST_P(StoreConformanceTest, ScanKeysDbsizeRandomkeyFlushdb) {
  std::set<std::string> all;
  for (int batch = 0; batch < 3; ++batch) {
    std::vector<std::string> mset = {"MSET"};
    for (int i = batch * 100; i < batch * 100 + 100; ++i) {
      mset.push_back("key:" + std::to_string(i));
      mset.push_back("v");
      all.insert("key:" + std::to_string(i));
    }
    ASSERT_EQ(Run(mset), "+OK");
  }
  std::multiset<std::string> seen;
  std::string cursor = "0";
  int calls = 0;
  do {
    Reply reply = Command({"SCAN", cursor, "COUNT", "10"});
    ASSERT_EQ(reply.type, REDIS_REPLY_ARRAY);
    ASSERT_EQ(reply.elements.size(), 2u);
    cursor = reply.elements[0].str;
    for (const Reply& key : reply.elements[1].elements) seen.insert(key.str);
  } while (cursor != "0" && ++calls < 10000);
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()), all);

  Reply matched = Command({"KEYS", "key:1?"});
  std::set<std::string> keys;
  for (const Reply& key : matched.elements) keys.insert(key.str);
  EXPECT_EQ(keys.size(), 10u);
  EXPECT_TRUE(keys.count("key:17"));
  EXPECT_EQ(Command({"KEYS", "*"}).elements.size(), 300u);
  EXPECT_EQ(Run({"DBSIZE"}), ":300");
  std::string random = Run({"RANDOMKEY"});
  EXPECT_TRUE(all.count(random.substr(1))) << random;
  EXPECT_EQ(Run({"FLUSHDB"}), "+OK");
  EXPECT_EQ(Run({"DBSIZE"}), ":0");
  EXPECT_EQ(Run({"RANDOMKEY"}), "(nil)");
  EXPECT_EQ(Run({"SCAN", "0"}), "[$0, []]");
  EXPECT_EQ(Run({"KEYS", "*"}), "[]");
}

TEST_P(StoreConformanceTest, ScanMatchAndCount) {
  EXPECT_EQ(Run({"MSET", "user:1", "a", "user:2", "b", "job:1", "c"}), "+OK");
  std::set<std::string> users;
  std::string cursor = "0";
  int calls = 0;
  do {
    Reply reply = Command({"SCAN", cursor, "MATCH", "user:*", "COUNT", "1"});
    ASSERT_EQ(reply.elements.size(), 2u);
    cursor = reply.elements[0].str;
    for (const Reply& key : reply.elements[1].elements) users.insert(key.str);
  } while (cursor != "0" && ++calls < 1000);
  EXPECT_EQ(users, (std::set<std::string>{"user:1", "user:2"}));
}

TEST_P(StoreConformanceTest, BinaryKeysAndValues) {
  std::string bytes;
  for (int i = 0; i < 256; ++i) bytes += static_cast<char>(i);
  const std::string key = "bin\0\r\n\xFF"s + bytes;
  EXPECT_EQ(Run({"SET", key, bytes}), "+OK");
  EXPECT_EQ(Run({"GET", key}), "$" + bytes);
  EXPECT_EQ(Run({"STRLEN", key}), ":256");
  EXPECT_EQ(Run({"PUT", "p", bytes, "100"}), "+OK");
  EXPECT_EQ(Run({"MANY", "p", key}), "[$" + bytes + ", $" + bytes + "]");
  EXPECT_EQ(Run({"APPEND", "p", "\xC3"}), ":257");  // now ends in a broken UTF-8 sequence
  EXPECT_EQ(Run({"GET", "p"}), "$" + bytes + "\xC3");
  EXPECT_EQ(Run({"SET", "utf8", "h\xC3\xA9llo"}), "+OK");
  EXPECT_EQ(Run({"GET", "utf8"}), "$h\xC3\xA9llo");
  Reply keys = Command({"KEYS", "bin*"});
  ASSERT_EQ(keys.elements.size(), 1u);
  EXPECT_EQ(keys.elements[0].str, key);
  EXPECT_EQ(Run({"PULL", key}), "$" + bytes);
}

// ---- transactions -----------------------------------------------------------------------------

// EXEC is isolated on every driver: another client's writes never land between the commands of
// a transaction, even on a store that completes later (file, database).
TEST_P(StoreConformanceTest, ExecIsIsolatedFromOtherClients) {
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    Client other = Connect();
    for (int i = 0; i < 2000 && !stop; ++i) other.Command({"SET", "k", "other"});
  });
  std::vector<std::string> replies;
  for (int round = 0; round < 15; ++round) {
    Run({"MULTI"});
    for (const char* v : {"1", "2", "3"}) {
      Run({"SET", "k", v});
      Run({"GET", "k"});
    }
    replies.push_back(Run({"EXEC"}));
  }
  stop = true;
  writer.join();
  for (size_t round = 0; round < replies.size(); ++round) {
    EXPECT_EQ(replies[round], "[+OK, $1, +OK, $2, +OK, $3]") << "round " << round;
  }
}

TEST_P(StoreConformanceTest, MultiExecAndWatch) {
  EXPECT_EQ(Run({"MULTI"}), "+OK");
  EXPECT_EQ(Run({"SET", "a", "1"}), "+QUEUED");
  EXPECT_EQ(Run({"INCR", "a"}), "+QUEUED");
  EXPECT_EQ(Run({"PUT", "b", "x", "100"}), "+QUEUED");
  EXPECT_EQ(Run({"MGET", "a", "b"}), "+QUEUED");
  EXPECT_EQ(Run({"EXEC"}), "[+OK, :2, +OK, [$2, $x]]");
  EXPECT_EQ(Run({"MULTI"}), "+OK");
  EXPECT_EQ(Run({"SET", "a", "dropped"}), "+QUEUED");
  EXPECT_EQ(Run({"DISCARD"}), "+OK");
  EXPECT_EQ(Run({"GET", "a"}), "$2");

  EXPECT_EQ(Run({"WATCH", "a"}), "+OK");
  Client other = Connect();
  EXPECT_EQ(Text(other.Command({"PUT", "a", "theirs"})), "+OK");
  EXPECT_EQ(Run({"MULTI"}), "+OK");
  EXPECT_EQ(Run({"SET", "a", "mine"}), "+QUEUED");
  EXPECT_EQ(Run({"EXEC"}), "(nil)");
  EXPECT_EQ(Run({"GET", "a"}), "$theirs");
}

// ---- the cache model: tags, locks, throttle, remember -----------------------------------------

TEST_P(StoreConformanceTest, Tags) {
  EXPECT_EQ(Run({"TAGS", "people,authors", "PUT", "k", "v"}), "+OK");
  EXPECT_EQ(Run({"TAGS", "authors,people", "GET", "k"}), "$v");
  EXPECT_EQ(Run({"TAGS", "people", "GET", "k"}), "(nil)");
  EXPECT_EQ(Run({"GET", "k"}), "(nil)");
  EXPECT_EQ(Run({"DBSIZE"}), ":0");
  EXPECT_EQ(Run({"TAGS", "people", "FOREVER", "k", "p"}), "+OK");
  EXPECT_EQ(Run({"TAGS", "other", "INCREMENT", "n", "5"}), ":5");
  EXPECT_EQ(Run({"TAGS", "other", "MANY", "n", "k"}), "[$5, (nil)]");
  EXPECT_EQ(Run({"TAGS", "authors", "FLUSH"}), "+OK");
  EXPECT_EQ(Run({"TAGS", "people,authors", "GET", "k"}), "(nil)");
  EXPECT_EQ(Run({"TAGS", "people", "GET", "k"}), "$p");
  EXPECT_EQ(Run({"TAGS", "other", "PULL", "n"}), "$5");
  EXPECT_EQ(Run({"TAGS", "people,authors", "ADD", "k", "again"}), ":1");
  EXPECT_EQ(Run({"TAGS", "authors,people", "GET", "k"}), "$again");
}

TEST_P(StoreConformanceTest, Locks) {
  Reply token = Command({"LOCK", "ACQUIRE", "job", "10"});
  ASSERT_EQ(token.type, REDIS_REPLY_STRING) << Text(token);
  EXPECT_EQ(token.str.size(), 32u);
  EXPECT_EQ(Run({"LOCK", "ACQUIRE", "job", "10"}), "(nil)");
  EXPECT_EQ(Run({"LOCK", "OWNER", "job"}), "$" + token.str);
  EXPECT_EQ(Run({"LOCK", "RELEASE", "job", "not-the-owner"}), ":0");
  EXPECT_EQ(Run({"LOCK", "EXTEND", "job", token.str, "100"}), ":1");
  EXPECT_EQ(Run({"LOCK", "RELEASE", "job", token.str}), ":1");
  EXPECT_EQ(Run({"LOCK", "OWNER", "job"}), "(nil)");
  EXPECT_EQ(Run({"LOCK", "ACQUIRE", "x", "0", "OWNER", "w1"}), "$w1");
  EXPECT_EQ(Run({"EXISTS", "x"}), ":0");  // locks never collide with keys
  EXPECT_EQ(Run({"SET", "x", "v"}), "+OK");
  EXPECT_EQ(Run({"LOCK", "OWNER", "x"}), "$w1");
  EXPECT_EQ(Run({"LOCK", "FORCERELEASE", "x"}), ":1");
  EXPECT_EQ(Run({"LOCK", "FORCERELEASE", "x"}), ":0");
  EXPECT_EQ(Run({"GET", "x"}), "$v");
}

TEST_P(StoreConformanceTest, OneLockHolderAmongClients) {
  constexpr int kClients = 6;
  std::atomic<int> granted{0};
  std::vector<std::thread> threads;
  for (int c = 0; c < kClients; ++c) {
    threads.emplace_back([&] {
      Client client = Connect();
      if (!client.Command({"LOCK", "ACQUIRE", "contended", "60"}).is_nil()) ++granted;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(granted.load(), 1);
}

// The fencing number of a FENCED grant ([token, fence]); -1 for any other reply.
long long FenceOf(const Reply& grant) {
  if (grant.type != REDIS_REPLY_ARRAY || grant.elements.size() != 2) return -1;
  if (grant.elements[1].type != REDIS_REPLY_INTEGER) return -1;
  return grant.elements[1].integer;
}

TEST_P(StoreConformanceTest, FencingNumbersGrowWithEveryAcquisition) {
  Reply first = Command({"LOCK", "ACQUIRE", "ledger", "60", "FENCED"});
  ASSERT_EQ(first.type, REDIS_REPLY_ARRAY) << Text(first);
  ASSERT_EQ(first.elements.size(), 2u);
  const std::string token = first.elements[0].str;
  EXPECT_EQ(token.size(), 32u);
  const long long f1 = FenceOf(first);
  EXPECT_GE(f1, 1);
  EXPECT_EQ(Run({"LOCK", "FENCE", "ledger"}), ":" + std::to_string(f1));
  EXPECT_EQ(Run({"LOCK", "ACQUIRE", "ledger", "60", "FENCED"}), "(nil)");
  EXPECT_EQ(Run({"LOCK", "FENCE", "ledger"}), ":" + std::to_string(f1));  // a refusal takes none
  EXPECT_EQ(Run({"LOCK", "RELEASE", "ledger", token}), ":1");
  EXPECT_EQ(Run({"LOCK", "FENCE", "ledger"}), "(nil)");
  // Options in any order; the number survives RELEASE and FORCERELEASE.
  EXPECT_EQ(Run({"LOCK", "ACQUIRE", "ledger", "60", "FENCED", "OWNER", "w2"}),
            "[$w2, :" + std::to_string(f1 + 1) + "]");
  EXPECT_EQ(Run({"LOCK", "FORCERELEASE", "ledger"}), ":1");
  // An acquisition without FENCED takes a number too, which LOCK FENCE tells.
  EXPECT_EQ(Run({"LOCK", "ACQUIRE", "ledger", "60", "OWNER", "w3"}), "$w3");
  EXPECT_EQ(Run({"LOCK", "FENCE", "ledger"}), ":" + std::to_string(f1 + 2));
  EXPECT_EQ(Run({"LOCK", "OWNER", "ledger"}), "$w3");
  EXPECT_EQ(Run({"LOCK", "RELEASE", "ledger", "w3"}), ":1");
  EXPECT_EQ(FenceOf(Command({"LOCK", "ACQUIRE", "ledger", "0", "OWNER", "w4", "FENCED"})), f1 + 3);
  // Each name counts for itself; nothing of it shows among the keys.
  EXPECT_EQ(Run({"LOCK", "FENCE", "other"}), "(nil)");
  EXPECT_EQ(FenceOf(Command({"LOCK", "ACQUIRE", "other", "60", "FENCED"})), 1);
  EXPECT_EQ(Run({"DBSIZE"}), ":0");
  EXPECT_EQ(Run({"LOCK", "ACQUIRE", "ledger", "60", "BOGUS"}), "-ERR syntax error");
}

TEST_P(StoreConformanceTest, NoLockNameReachesAFencingCounter) {
  // Whatever bytes a name has, its lock and its counter stay apart from every other name's.
  const std::string ff = "\xff";
  const std::string names[] = {"job", ff + "fjob", ff, ff + ff + "fjob", ""};
  for (const std::string& name : names) {
    EXPECT_EQ(FenceOf(Command({"LOCK", "ACQUIRE", name, "60", "OWNER", "t", "FENCED"})), 1)
        << Text(Command({"LOCK", "OWNER", name}));
  }
  for (const std::string& name : names) {
    EXPECT_EQ(Run({"LOCK", "OWNER", name}), "$t");
    EXPECT_EQ(Run({"LOCK", "FENCE", name}), ":1");
  }
}

TEST_P(StoreConformanceTest, BlockFencedGetsTheNextNumber) {
  const long long held =
      FenceOf(Command({"LOCK", "ACQUIRE", "queue", "60", "OWNER", "a", "FENCED"}));
  ASSERT_GE(held, 1);
  EXPECT_EQ(Run({"LOCK", "BLOCK", "queue", "60", "0", "FENCED"}), "(nil)");
  auto waiter = std::async(std::launch::async, [port = server().port()] {
    Client client(port);
    return client.Command({"LOCK", "BLOCK", "queue", "60", "5", "OWNER", "b", "FENCED"});
  });
  WaitForBlocked(client(), 1);
  EXPECT_EQ(Run({"LOCK", "RELEASE", "queue", "a"}), ":1");
  ASSERT_EQ(waiter.wait_for(milliseconds(5000)), std::future_status::ready);
  EXPECT_EQ(Text(waiter.get()), "[$b, :" + std::to_string(held + 1) + "]");
  EXPECT_EQ(Run({"LOCK", "FENCE", "queue"}), ":" + std::to_string(held + 1));
}

TEST_P(StoreConformanceTest, SessionLockIsFreeOnceItsClientCloses) {
  auto holder = std::make_unique<Client>(Connect());
  ASSERT_EQ(Text(holder->Command({"LOCK", "ACQUIRE", "nightly", "60", "SESSION", "OWNER", "w1"})),
            "$w1");
  auto waiter = std::async(std::launch::async, [port = server().port()] {
    Client client(port);
    return Text(client.Command({"LOCK", "BLOCK", "nightly", "60", "5", "OWNER", "w2"}));
  });
  WaitForBlocked(client(), 1);
  EXPECT_EQ(Run({"LOCK", "OWNER", "nightly"}), "$w1");
  const auto closed = std::chrono::steady_clock::now();
  holder.reset();
  // The waiter gets the lock as soon as the holder's connection is gone: long before the TTL
  // (60 s) or its own timeout (5 s). The bound leaves room for a sanitizer build's pace.
  ASSERT_EQ(waiter.wait_for(milliseconds(5000)), std::future_status::ready);
  EXPECT_LT(MillisSince(closed), 1000);
  EXPECT_EQ(waiter.get(), "$w2");
  EXPECT_EQ(Run({"LOCK", "OWNER", "nightly"}), "$w2");
}

TEST_P(StoreConformanceTest, SessionLockWithNoWaiterIsFreeWithin100Ms) {
  auto holder = std::make_unique<Client>(Connect());
  ASSERT_EQ(FenceOf(holder->Command({"LOCK", "BLOCK", "report", "0", "1", "SESSION", "FENCED"})),
            1);
  const auto closed = std::chrono::steady_clock::now();
  holder.reset();
  std::string owner;
  while ((owner = Run({"LOCK", "OWNER", "report"})) != "(nil)" && MillisSince(closed) < 2000) {
    std::this_thread::sleep_for(milliseconds(1));  // poll: the close is the server's to notice
  }
  EXPECT_EQ(owner, "(nil)");
  EXPECT_LT(MillisSince(closed), 100);
}

TEST_P(StoreConformanceTest, ReleasedSessionLockIsForgotten) {
  auto holder = std::make_unique<Client>(Connect());
  ASSERT_EQ(Text(holder->Command({"LOCK", "ACQUIRE", "batch", "60", "OWNER", "w1", "SESSION"})),
            "$w1");
  EXPECT_EQ(Text(holder->Command({"LOCK", "RELEASE", "batch", "w1"})), ":1");
  ASSERT_EQ(Text(holder->Command({"LOCK", "ACQUIRE", "forced", "60", "OWNER", "w1", "SESSION"})),
            "$w1");
  EXPECT_EQ(Run({"LOCK", "FORCERELEASE", "forced"}), ":1");
  // The same token takes both locks again, without SESSION: closing must not free them.
  EXPECT_EQ(Run({"LOCK", "ACQUIRE", "batch", "60", "OWNER", "w1"}), "$w1");
  EXPECT_EQ(Run({"LOCK", "ACQUIRE", "forced", "60", "OWNER", "w1"}), "$w1");
  holder.reset();
  while (InfoField(client(), "clients", "connected_clients") > 1) {
    std::this_thread::sleep_for(milliseconds(1));  // until the server has seen the close
  }
  // Time for a release the close might have sent to land.
  std::this_thread::sleep_for(milliseconds(100));
  EXPECT_EQ(Run({"LOCK", "OWNER", "batch"}), "$w1");
  EXPECT_EQ(Run({"LOCK", "OWNER", "forced"}), "$w1");
}

TEST_P(SharedStoreConformanceTest, FencingNumbersSurviveARestart) {
  const long long before = FenceOf(Command({"LOCK", "ACQUIRE", "ledger", "60", "FENCED"}));
  ASSERT_GE(before, 1);
  EXPECT_EQ(Run({"LOCK", "FORCERELEASE", "ledger"}), ":1");
  ASSERT_NO_FATAL_FAILURE(Restart());
  EXPECT_EQ(FenceOf(Command({"LOCK", "ACQUIRE", "ledger", "60", "FENCED"})), before + 1);
}

TEST_P(SharedStoreConformanceTest, FencingNumbersInterleaveAcrossDaemons) {
  std::unique_ptr<ServerFixture> other = AnotherDaemon();
  Client there = other->Connect();
  long long last = 0;
  for (int i = 0; i < 10; ++i) {
    // Alternating daemons, so each number must account for the other daemon's acquisitions.
    Client& client = i % 2 == 0 ? this->client() : there;
    const Reply grant = client.Command({"LOCK", "ACQUIRE", "shared", "60", "FENCED"});
    const long long fence = FenceOf(grant);
    ASSERT_EQ(fence, last + 1) << "acquisition " << i << ": " << Text(grant);
    ASSERT_EQ(Text(client.Command({"LOCK", "RELEASE", "shared", grant.elements[0].str})), ":1");
    last = fence;
  }
  // Concurrent acquisitions through both daemons still get distinct, growing numbers.
  std::vector<long long> seen[2];
  std::vector<std::thread> threads;
  for (int d = 0; d < 2; ++d) {
    threads.emplace_back([&, d, port = d == 0 ? server().port() : other->port()] {
      Client client(port);
      const auto start = std::chrono::steady_clock::now();
      while (seen[d].size() < 20 && MillisSince(start) < 20000) {
        const Reply grant = client.Command({"LOCK", "ACQUIRE", "shared", "60", "FENCED"});
        if (grant.type == REDIS_REPLY_ARRAY) {
          seen[d].push_back(FenceOf(grant));
          client.Command({"LOCK", "RELEASE", "shared", grant.elements[0].str});
        }
        // Leaves the other daemon's client a chance between our turns.
        std::this_thread::sleep_for(milliseconds(1));
      }
    });
  }
  for (auto& t : threads) t.join();
  std::set<long long> all;
  for (const auto& numbers : seen) {
    for (size_t i = 0; i < numbers.size(); ++i) {
      EXPECT_GT(numbers[i], last);
      if (i > 0) EXPECT_GT(numbers[i], numbers[i - 1]);
      all.insert(numbers[i]);
    }
  }
  EXPECT_EQ(all.size(), 40u);
  EXPECT_EQ(*all.rbegin(), last + 40);
}

TEST_P(StoreConformanceTest, Throttle) {
  EXPECT_EQ(Run({"THROTTLE", "ATTEMPT", "login", "2", "60"}), ":1");
  EXPECT_EQ(Run({"THROTTLE", "ATTEMPT", "login", "2", "60"}), ":1");
  EXPECT_EQ(Run({"THROTTLE", "ATTEMPT", "login", "2", "60"}), ":0");
  EXPECT_EQ(Run({"THROTTLE", "ATTEMPTS", "login"}), ":2");
  EXPECT_EQ(Run({"THROTTLE", "REMAINING", "login", "5"}), ":3");
  EXPECT_EQ(Run({"THROTTLE", "TOOMANY", "login", "2"}), ":1");
  EXPECT_EQ(Run({"THROTTLE", "AVAILABLEIN", "login"}), ":60");
  EXPECT_EQ(Run({"THROTTLE", "HIT", "login", "60", "3"}), ":5");
  // DECREMENT gives attempts back, never below 0, and keeps the window's end.
  EXPECT_EQ(Run({"THROTTLE", "DECREMENT", "login", "2"}), ":3");
  EXPECT_EQ(Run({"THROTTLE", "DECREMENT", "login"}), ":2");
  EXPECT_EQ(Run({"THROTTLE", "AVAILABLEIN", "login"}), ":60");
  EXPECT_EQ(Run({"THROTTLE", "DECREMENT", "login", "10"}), ":0");
  EXPECT_EQ(Run({"THROTTLE", "ATTEMPTS", "login"}), ":0");
  EXPECT_EQ(Run({"THROTTLE", "AVAILABLEIN", "login"}), ":60");
  EXPECT_EQ(Run({"THROTTLE", "DECREMENT", "nobody"}), ":0");  // no window: none is made
  EXPECT_EQ(Run({"THROTTLE", "CLEAR", "nobody"}), ":0");
  EXPECT_EQ(Run({"THROTTLE", "DECREMENT", "login", "-1"}).substr(0, 4), "-ERR");
  EXPECT_EQ(Run({"THROTTLE", "CLEAR", "login"}), ":1");
  EXPECT_EQ(Run({"THROTTLE", "ATTEMPTS", "login"}), ":0");
  EXPECT_EQ(Run({"EXISTS", "login"}), ":0");
}

TEST_P(StoreConformanceTest, ThrottleCountsExactlyAcrossClients) {
  constexpr int kClients = 4, kEach = 20, kMax = 50;
  std::atomic<int> allowed{0};
  std::vector<std::thread> threads;
  for (int c = 0; c < kClients; ++c) {
    threads.emplace_back([&] {
      Client client = Connect();
      for (int i = 0; i < kEach; ++i) {
        allowed +=
            client.Command({"THROTTLE", "ATTEMPT", "api", std::to_string(kMax), "60"}).integer;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(allowed.load(), kMax);
  EXPECT_EQ(Run({"THROTTLE", "ATTEMPTS", "api"}), ":" + std::to_string(kMax));
}

TEST_P(StoreConformanceTest, RememberFillsWaiters) {
  EXPECT_EQ(Run({"PUT", "hit", "cached", "60"}), "+OK");
  EXPECT_EQ(Run({"REMEMBER", "hit"}), "$cached");
  EXPECT_EQ(Run({"REMEMBER", "report"}), "(nil)");  // this client holds the fill lease
  auto waiter = std::async(std::launch::async, [port = server().port()] {
    Client client(port);
    return Text(client.Command({"REMEMBER", "report"}));
  });
  EXPECT_EQ(waiter.wait_for(milliseconds(200)), std::future_status::timeout);
  EXPECT_EQ(Run({"PUT", "report", "computed", "60"}), "+OK");
  ASSERT_EQ(waiter.wait_for(milliseconds(5000)), std::future_status::ready);
  EXPECT_EQ(waiter.get(), "$computed");
  EXPECT_EQ(Run({"REMEMBER", "report"}), "$computed");
}

TEST_P(StoreConformanceTest, TaggedPutManyAndTouch) {
  EXPECT_EQ(Run({"TAGS", "a,b", "PUTMANY", "60", "x", "1", "y", "2", "x", "3"}), "+OK");
  EXPECT_EQ(Run({"TAGS", "b,a", "MANY", "x", "y", "z"}), "[$3, $2, (nil)]");
  EXPECT_EQ(Run({"TAGS", "a", "GET", "x"}), "(nil)");
  EXPECT_EQ(Run({"GET", "x"}), "(nil)");
  EXPECT_EQ(Run({"TAGS", "a,b", "TOUCH", "x", "60"}), ":1");
  EXPECT_EQ(Run({"TAGS", "a,b", "TOUCH", "z", "60"}), ":0");
  EXPECT_EQ(Run({"TAGS", "never", "TOUCH", "x", "60"}), ":0");
  EXPECT_EQ(Run({"TAGS", "a,b", "GET", "x"}), "$3");
  EXPECT_EQ(Run({"TAGS", "a,b", "TOUCH", "x", "0"}), ":1");  // ttl <= 0 forgets
  EXPECT_EQ(Run({"TAGS", "a,b", "HAS", "x"}), ":0");
  EXPECT_EQ(Run({"TAGS", "a,b", "PUTMANY", "-1", "y", "gone"}), "+OK");
  EXPECT_EQ(Run({"TAGS", "a,b", "HAS", "y"}), ":0");
  EXPECT_EQ(Run({"TAGS", "a,b", "PUTMANY", "60", "x"}),
            "-ERR wrong number of arguments for 'tags|putmany' command");
  EXPECT_EQ(Run({"TAGS", "a,b", "TOUCH", "x", "soon"}),
            "-ERR value is not an integer or out of range");
}

TEST_P(StoreConformanceTest, TaggedRememberFillsWaiters) {
  EXPECT_EQ(Run({"TAGS", "reports", "PUT", "hit", "cached", "60"}), "+OK");
  EXPECT_EQ(Run({"TAGS", "reports", "REMEMBER", "hit"}), "$cached");
  EXPECT_EQ(Run({"REMEMBER", "hit"}), "(nil)");  // the plain key is another item
  EXPECT_EQ(Run({"TAGS", "reports", "REMEMBER", "daily", "LEASE", "30"}), "(nil)");  // the lease
  auto waiter = std::async(std::launch::async, [port = server().port()] {
    Client client(port);
    return Text(client.Command({"TAGS", "reports", "REMEMBER", "daily"}));
  });
  EXPECT_EQ(waiter.wait_for(milliseconds(200)), std::future_status::timeout);
  EXPECT_EQ(Run({"PUT", "daily", "plain", "60"}), "+OK");  // not the tagged item: still waiting
  EXPECT_EQ(waiter.wait_for(milliseconds(200)), std::future_status::timeout);
  EXPECT_EQ(Run({"TAGS", "reports", "PUT", "daily", "computed", "60"}), "+OK");
  ASSERT_EQ(waiter.wait_for(milliseconds(5000)), std::future_status::ready);
  EXPECT_EQ(waiter.get(), "$computed");
  EXPECT_EQ(Run({"TAGS", "reports", "REMEMBER", "daily"}), "$computed");
}

TEST_P(StoreConformanceTest, TaggedRememberHolderThatForgetsPassesTheLeaseOn) {
  EXPECT_EQ(Run({"TAGS", "t", "REMEMBER", "k"}), "(nil)");
  auto waiter = std::async(std::launch::async, [port = server().port()] {
    Client client(port);
    return Text(client.Command({"TAGS", "t", "REMEMBER", "k"}));
  });
  EXPECT_EQ(waiter.wait_for(milliseconds(200)), std::future_status::timeout);
  EXPECT_EQ(Run({"TAGS", "t", "FORGET", "k"}), ":0");
  ASSERT_EQ(waiter.wait_for(milliseconds(5000)), std::future_status::ready);
  EXPECT_EQ(waiter.get(), "(nil)");  // the waiter holds the lease now
}

TEST_P(StoreConformanceTest, TagsFlushEndsTaggedFills) {
  EXPECT_EQ(Run({"TAGS", "t,u", "REMEMBER", "k"}), "(nil)");
  auto waiter = std::async(std::launch::async, [port = server().port()] {
    Client client(port);
    return Text(client.Command({"TAGS", "t,u", "REMEMBER", "k"}));
  });
  EXPECT_EQ(waiter.wait_for(milliseconds(200)), std::future_status::timeout);
  EXPECT_EQ(Run({"TAGS", "u", "FLUSH"}), "+OK");
  ASSERT_EQ(waiter.wait_for(milliseconds(5000)), std::future_status::ready);
  EXPECT_EQ(waiter.get(), "(nil)");
}

TEST_P(StoreConformanceTest, FlexibleStates) {
  EXPECT_EQ(Run({"FLEXIBLE", "k", "5", "60"}), "[(nil), $fill]");  // this client fills it
  EXPECT_EQ(Run({"PUT", "k", "v1", "60"}), "+OK");
  EXPECT_EQ(Run({"FLEXIBLE", "k", "5", "60"}), "[$v1, $fresh]");
  EXPECT_EQ(Run({"PUT", "k", "v1", "30"}), "+OK");  // 30 s of 60 left: written 30 s ago
  EXPECT_EQ(Run({"FLEXIBLE", "k", "5", "60"}), "[$v1, $refresh]");
  EXPECT_EQ(Run({"FLEXIBLE", "k", "5", "60"}), "[$v1, $stale]");
  EXPECT_EQ(Run({"PUT", "k", "v2", "60"}), "+OK");
  EXPECT_EQ(Run({"FLEXIBLE", "k", "5", "60"}), "[$v2, $fresh]");
  EXPECT_EQ(Run({"PUT", "k", "v2", "30"}), "+OK");  // the new version goes stale: a new lease
  EXPECT_EQ(Run({"FLEXIBLE", "k", "5", "60"}), "[$v2, $refresh]");
  EXPECT_EQ(Run({"FOREVER", "forever", "v"}), "+OK");
  EXPECT_EQ(Run({"FLEXIBLE", "forever", "1", "2"}), "[$v, $fresh]");  // no expiry: fresh
  const std::string bad =
      "-ERR FLEXIBLE fresh and stale must be whole seconds with 0 <= fresh <= stale and stale > 0";
  EXPECT_EQ(Run({"FLEXIBLE", "k", "10", "5"}), bad);
  EXPECT_EQ(Run({"FLEXIBLE", "k", "0", "0"}), bad);
  EXPECT_EQ(Run({"FLEXIBLE", "k", "-1", "5"}), bad);
  EXPECT_EQ(Run({"FLEXIBLE", "k", "1", "5", "LEASE", "0"}), "-ERR LEASE must be a positive integer");
}

TEST_P(StoreConformanceTest, FlexibleRefreshLeaseEndsWithItsClient) {
  EXPECT_EQ(Run({"PUT", "k", "v", "30"}), "+OK");  // stale for fresh = 5, stale = 60
  {
    Client refresher = Connect();
    EXPECT_EQ(Text(refresher.Command({"FLEXIBLE", "k", "5", "60", "LEASE", "60"})),
              "[$v, $refresh]");
    EXPECT_EQ(Run({"FLEXIBLE", "k", "5", "60"}), "[$v, $stale]");
  }  // the refresher goes away without writing
  std::string reply;
  for (int i = 0; i < 100 && reply != "[$v, $refresh]"; ++i) {
    reply = Run({"FLEXIBLE", "k", "5", "60"});  // the close is handled on the next loop turn
    if (reply != "[$v, $refresh]") std::this_thread::sleep_for(milliseconds(10));
  }
  EXPECT_EQ(reply, "[$v, $refresh]");
  EXPECT_EQ(Run({"FORGET", "k"}), ":1");  // this client gives up: its lease goes with the key
  EXPECT_EQ(Run({"PUT", "k", "v", "30"}), "+OK");
  EXPECT_EQ(Run({"FLEXIBLE", "k", "5", "60"}), "[$v, $refresh]");
}

// SPEC §4: 50 concurrent callers on a stale key: exactly one refresh, 49 served stale at once.
TEST_P(StoreConformanceTest, FlexibleHasOneRefresherAmongManyCallers) {
  EXPECT_EQ(Run({"PUT", "k", "old", "5"}), "+OK");  // 5 s of 60 left: stale for fresh = 10
  constexpr int kCallers = 50;
  // Every caller stays connected until all have answers: a refresher that hung up would give
  // its lease up, and a later caller would rightly get "refresh" again.
  std::latch answered(kCallers);
  std::vector<std::future<std::pair<std::string, int64_t>>> callers;
  for (int i = 0; i < kCallers; ++i) {
    callers.push_back(std::async(std::launch::async, [port = server().port(), &answered] {
      Client client(port);
      const auto start = std::chrono::steady_clock::now();
      std::string reply = Text(client.Command({"FLEXIBLE", "k", "10", "60"}));
      const auto waited = std::chrono::steady_clock::now() - start;
      answered.arrive_and_wait();
      return std::make_pair(reply, static_cast<int64_t>(
                                       std::chrono::duration_cast<milliseconds>(waited).count()));
    }));
  }
  int refresh = 0;
  int stale = 0;
  for (auto& caller : callers) {
    const auto [reply, waited_ms] = caller.get();
    refresh += reply == "[$old, $refresh]";
    stale += reply == "[$old, $stale]";
    EXPECT_LT(waited_ms, 2000) << reply;  // nobody waits for the refresher
  }
  EXPECT_EQ(refresh, 1);
  EXPECT_EQ(stale, kCallers - 1);
}

TEST_P(StoreConformanceTest, FlexibleFillIsSingleFlight) {
  EXPECT_EQ(Run({"FLEXIBLE", "k", "5", "60"}), "[(nil), $fill]");
  auto waiter = std::async(std::launch::async, [port = server().port()] {
    Client client(port);
    return Text(client.Command({"FLEXIBLE", "k", "5", "60"}));
  });
  EXPECT_EQ(waiter.wait_for(milliseconds(200)), std::future_status::timeout);
  EXPECT_EQ(Run({"PUT", "k", "filled", "60"}), "+OK");
  ASSERT_EQ(waiter.wait_for(milliseconds(5000)), std::future_status::ready);
  EXPECT_EQ(waiter.get(), "[$filled, $fresh]");
}

// ---- the local drivers ------------------------------------------------------------------------

StoreSetup ArraySetup() {
  StoreSetup setup;
  setup.name = "array";
  setup.config = [](const std::string&) {
    return "default = \"memory\"\n[stores.memory]\ndriver = \"array\"\n"s;
  };
  return setup;
}

StoreSetup FileSetup() {
  StoreSetup setup;
  setup.name = "file";
  setup.config = [](const std::string& dir) {
    return "default = \"files\"\n[stores.files]\ndriver = \"file\"\npath = \"" + dir + "/cache\"\n";
  };
  return setup;
}

ARVEL_CONFORMANCE_SUITE(Local, ArraySetup(), FileSetup());
INSTANTIATE_TEST_SUITE_P(Shared, SharedStoreConformanceTest,
                         ::testing::Values(FileSetup(), SqliteSetup(), PostgresSetup(),
                                           RedisSetup()),
                         StoreSetupName);

}  // namespace arvel::testing
