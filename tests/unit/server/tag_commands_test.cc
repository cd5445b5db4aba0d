// TAGS (SPEC §4, Tags) over real connections to an in-process server (array store, and the null
// store): items addressed by key and tag set in any order, invisible to the plain commands,
// flushed per tag, and their memory given back by the reclaimer — 100k items, forever ones
// included. Replies are compared as text: "+OK", ":1", "$value", "(nil)", "-ERR …", "[a, b]".

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "server/info.h"
#include "tests/unit/server/server_fixture.h"

namespace arvel::testing {
namespace {

using Clock = std::chrono::steady_clock;

class TagCommandsTest : public ::testing::Test {
 protected:
  std::string Run(const std::vector<std::string>& args) { return Text(client_.Command(args)); }

  // A field of the array store's line in INFO's "# Stores" section ("used_memory", "keys").
  int64_t StoreField(const std::string& field) {
    auto info = server::ParseInfo(client_.Command({"INFO", "stores"}).str);
    const std::string& line = info["store_array"];
    const size_t at = line.find("," + field + "=");
    if (at == std::string::npos) return -1;
    return std::stoll(line.substr(at + field.size() + 2));
  }

  // Sends every command before reading any reply (one round trip per batch).
  void Pipeline(const std::vector<std::vector<std::string>>& commands) {
    for (const auto& args : commands) {
      std::vector<const char*> argv;
      std::vector<size_t> lens;
      for (const std::string& arg : args) {
        argv.push_back(arg.data());
        lens.push_back(arg.size());
      }
      redisAppendCommandArgv(client_.context(), static_cast<int>(args.size()), argv.data(),
                             lens.data());
    }
    for (size_t i = 0; i < commands.size(); ++i) {
      void* reply = nullptr;
      ASSERT_EQ(redisGetReply(client_.context(), &reply), REDIS_OK);
      const auto* r = static_cast<redisReply*>(reply);
      ASSERT_NE(r->type, REDIS_REPLY_ERROR) << r->str;
      freeReplyObject(reply);
    }
  }

  FakeClock clock_;  // only TagExpiryTest's store follows it
  ServerFixture server_{TestConfig(), ClockedArrayStore("clocked", clock_)};
  Client client_ = server_.Connect();
};

// Expiry on clock_: the client works on the "clocked" store; the tests move time, not sleep.
class TagExpiryTest : public TagCommandsTest {
 protected:
  void SetUp() override { ASSERT_EQ(Run({"STORE", "clocked"}), "+OK"); }
};

const std::string kNotInteger = "-ERR value is not an integer or out of range";

// ---- Addressing

TEST_F(TagCommandsTest, TagSetsAreOrderInsensitiveAndDuplicatesCollapse) {
  EXPECT_EQ(Run({"TAGS", "people,authors", "PUT", "k", "v"}), "+OK");
  EXPECT_EQ(Run({"TAGS", "authors,people", "GET", "k"}), "$v");
  EXPECT_EQ(Run({"TAGS", "people,authors,people", "GET", "k"}), "$v");
  EXPECT_EQ(Run({"TAGS", "people", "GET", "k"}), "(nil)");
  EXPECT_EQ(Run({"TAGS", "people,authors,x", "GET", "k"}), "(nil)");
}

TEST_F(TagCommandsTest, TaggedItemsAreInvisibleToPlainCommands) {
  EXPECT_EQ(Run({"TAGS", "t", "PUT", "k", "tagged"}), "+OK");
  EXPECT_EQ(Run({"GET", "k"}), "(nil)");
  EXPECT_EQ(Run({"EXISTS", "k"}), ":0");
  EXPECT_EQ(Run({"KEYS", "*"}), "[]");
  EXPECT_EQ(Run({"SCAN", "0"}), "[$0, []]");
  EXPECT_EQ(Run({"DBSIZE"}), ":0");
  EXPECT_EQ(Run({"SET", "k", "plain"}), "+OK");
  EXPECT_EQ(Run({"TAGS", "t", "GET", "k"}), "$tagged");
  EXPECT_EQ(Run({"GET", "k"}), "$plain");
  EXPECT_EQ(Run({"DBSIZE"}), ":1");
}

TEST_F(TagCommandsTest, FlushOfOneTagOfASetHidesItAndSparesOtherTags) {
  Run({"TAGS", "a,b", "PUT", "k", "ab"});
  Run({"TAGS", "a", "PUT", "k", "a"});
  Run({"TAGS", "b", "FOREVER", "k", "b"});
  Run({"TAGS", "c", "PUT", "k", "c"});
  Run({"SET", "k", "plain"});
  EXPECT_EQ(Run({"TAGS", "b", "FLUSH"}), "+OK");
  EXPECT_EQ(Run({"TAGS", "a,b", "GET", "k"}), "(nil)");
  EXPECT_EQ(Run({"TAGS", "b", "GET", "k"}), "(nil)");
  EXPECT_EQ(Run({"TAGS", "a", "GET", "k"}), "$a");
  EXPECT_EQ(Run({"TAGS", "c", "GET", "k"}), "$c");
  EXPECT_EQ(Run({"GET", "k"}), "$plain");
  EXPECT_EQ(Run({"TAGS", "a,b", "PUT", "k", "again"}), "+OK");
  EXPECT_EQ(Run({"TAGS", "b,a", "GET", "k"}), "$again");
}

TEST_F(TagCommandsTest, FlushOfSeveralTags) {
  Run({"TAGS", "a", "PUT", "k", "a"});
  Run({"TAGS", "b", "PUT", "k", "b"});
  Run({"TAGS", "c", "PUT", "k", "c"});
  EXPECT_EQ(Run({"TAGS", "a,b", "FLUSH"}), "+OK");
  EXPECT_EQ(Run({"TAGS", "a", "HAS", "k"}), ":0");
  EXPECT_EQ(Run({"TAGS", "b", "HAS", "k"}), ":0");
  EXPECT_EQ(Run({"TAGS", "c", "HAS", "k"}), ":1");
}

TEST_F(TagCommandsTest, StoreFlushRemovesTaggedItemsToo) {
  Run({"TAGS", "t", "PUT", "k", "v"});
  EXPECT_EQ(Run({"FLUSH"}), "+OK");
  EXPECT_EQ(Run({"TAGS", "t", "GET", "k"}), "(nil)");
  EXPECT_EQ(StoreField("keys"), 0);
}

// ---- The facade under tags

TEST_F(TagCommandsTest, PutGetHasForgetForever) {
  EXPECT_EQ(Run({"TAGS", "t", "GET", "k", "fallback"}), "$fallback");
  EXPECT_EQ(Run({"TAGS", "t", "HAS", "k"}), ":0");
  EXPECT_EQ(Run({"TAGS", "t", "FOREVER", "k", "v"}), "+OK");
  EXPECT_EQ(Run({"TAGS", "t", "HAS", "k"}), ":1");
  EXPECT_EQ(Run({"TAGS", "t", "GET", "k", "fallback"}), "$v");
  EXPECT_EQ(Run({"TAGS", "t", "FORGET", "k"}), ":1");
  EXPECT_EQ(Run({"TAGS", "t", "FORGET", "k"}), ":0");
  EXPECT_EQ(Run({"TAGS", "never-used", "FORGET", "k"}), ":0");
}

TEST_F(TagExpiryTest, PutWithTtlExpiresAndTtlZeroForgets) {
  EXPECT_EQ(Run({"TAGS", "t", "PUT", "k", "v", "1"}), "+OK");
  EXPECT_EQ(Run({"TAGS", "t", "PUT", "gone", "v"}), "+OK");
  EXPECT_EQ(Run({"TAGS", "t", "PUT", "gone", "v", "0"}), "+OK");
  EXPECT_EQ(Run({"TAGS", "t", "HAS", "gone"}), ":0");
  EXPECT_EQ(Run({"TAGS", "t", "GET", "k"}), "$v");
  clock_.Advance(std::chrono::milliseconds(1001));
  EXPECT_EQ(Run({"TAGS", "t", "GET", "k"}), "(nil)");
}

TEST_F(TagExpiryTest, TouchAndPutManyExpireOnTheClock) {
  EXPECT_EQ(Run({"TAGS", "t", "PUTMANY", "2", "a", "1", "b", "2"}), "+OK");
  EXPECT_EQ(Run({"TAGS", "t", "TOUCH", "a", "10"}), ":1");
  clock_.Advance(std::chrono::milliseconds(2001));
  EXPECT_EQ(Run({"TAGS", "t", "MANY", "a", "b"}), "[$1, (nil)]");
  clock_.Advance(std::chrono::milliseconds(8000));
  EXPECT_EQ(Run({"TAGS", "t", "HAS", "a"}), ":0");
  EXPECT_EQ(Run({"TAGS", "t", "TOUCH", "a", "10"}), ":0");  // expired: nothing to touch
}

TEST_F(TagCommandsTest, AddStoresOnlyWhenAbsent) {
  EXPECT_EQ(Run({"TAGS", "t", "ADD", "k", "first"}), ":1");
  EXPECT_EQ(Run({"TAGS", "t", "ADD", "k", "second"}), ":0");
  EXPECT_EQ(Run({"TAGS", "t", "GET", "k"}), "$first");
  EXPECT_EQ(Run({"TAGS", "t", "ADD", "other", "v", "0"}), ":0");
  EXPECT_EQ(Run({"TAGS", "t", "HAS", "other"}), ":0");
  EXPECT_EQ(Run({"TAGS", "u", "ADD", "k", "under u"}), ":1");  // another set, another item
}

TEST_F(TagCommandsTest, IncrementAndDecrement) {
  EXPECT_EQ(Run({"TAGS", "t", "INCREMENT", "n"}), ":1");
  EXPECT_EQ(Run({"TAGS", "t", "INCREMENT", "n", "10"}), ":11");
  EXPECT_EQ(Run({"TAGS", "t", "DECREMENT", "n"}), ":10");
  EXPECT_EQ(Run({"TAGS", "t", "DECREMENT", "n", "20"}), ":-10");
  EXPECT_EQ(Run({"TAGS", "t", "GET", "n"}), "$-10");
  EXPECT_EQ(Run({"TAGS", "t", "PUT", "s", "text"}), "+OK");
  EXPECT_EQ(Run({"TAGS", "t", "INCREMENT", "s"}), kNotInteger);
  EXPECT_EQ(Run({"TAGS", "t", "INCREMENT", "n", "x"}), kNotInteger);
  EXPECT_EQ(Run({"TAGS", "t", "GET", "s"}), "$text");
}

TEST_F(TagCommandsTest, PullAndMany) {
  Run({"TAGS", "t", "PUT", "a", "1"});
  Run({"TAGS", "t", "PUT", "b", "2"});
  EXPECT_EQ(Run({"TAGS", "t", "MANY", "a", "missing", "b"}), "[$1, (nil), $2]");
  EXPECT_EQ(Run({"TAGS", "t", "PULL", "a"}), "$1");
  EXPECT_EQ(Run({"TAGS", "t", "PULL", "a"}), "(nil)");
  EXPECT_EQ(Run({"TAGS", "t", "PULL", "a", "fallback"}), "$fallback");
  EXPECT_EQ(Run({"TAGS", "never-used", "MANY", "a", "b"}), "[(nil), (nil)]");
}

TEST_F(TagCommandsTest, ValuesAndKeysAreBinarySafe) {
  const std::string key("k\0:1", 4);
  const std::string value("v\r\n\0,=:", 7);
  EXPECT_EQ(Run({"TAGS", "t=1,t 2", "PUT", key, value}), "+OK");
  EXPECT_EQ(client_.Command({"TAGS", "t 2,t=1", "GET", key}).str, value);
}

TEST_F(TagCommandsTest, WorksInsideTransactions) {
  EXPECT_EQ(Run({"MULTI"}), "+OK");
  EXPECT_EQ(Run({"TAGS", "t", "PUT", "k", "v"}), "+QUEUED");
  EXPECT_EQ(Run({"TAGS", "t", "GET", "k"}), "+QUEUED");
  EXPECT_EQ(Run({"TAGS", "t", "FLUSH"}), "+QUEUED");
  EXPECT_EQ(Run({"TAGS", "t", "GET", "k"}), "+QUEUED");
  EXPECT_EQ(Run({"EXEC"}), "[+OK, $v, +OK, (nil)]");
}

// ---- Errors

TEST_F(TagCommandsTest, BadTagListsSubcommandsAndArguments) {
  EXPECT_EQ(Run({"TAGS", "", "GET", "k"}), "-ERR the tag list is empty");
  EXPECT_EQ(Run({"TAGS", "a,,b", "GET", "k"}), "-ERR empty tag in the tag list");
  EXPECT_EQ(Run({"TAGS", "a,", "FLUSH"}), "-ERR empty tag in the tag list");
  EXPECT_EQ(Run({"TAGS", "t", "NOPE", "k"}), "-ERR unknown subcommand 'NOPE'. Try TAGS HELP.");
  EXPECT_EQ(Run({"TAGS", "t", "PUT", "k"}),
            "-ERR wrong number of arguments for 'tags|put' command");
  EXPECT_EQ(Run({"TAGS", "t", "FLUSH", "extra"}),
            "-ERR wrong number of arguments for 'tags|flush' command");
  EXPECT_EQ(Run({"TAGS", "t"}), "-ERR wrong number of arguments for 'tags' command");
  EXPECT_EQ(Run({"TAGS", "t", "PUT", "k", "v", "soon"}), kNotInteger);
  EXPECT_EQ(Run({"TAGS"}), "-ERR wrong number of arguments for 'tags' command");
  EXPECT_EQ(Text(client_.Command({"TAGS", "HELP"})).substr(0, 6), "[+TAGS");
}

// ---- The null store

TEST_F(TagCommandsTest, NullStoreMissesEverything) {
  EXPECT_EQ(Run({"STORE", "null"}), "+OK");
  EXPECT_EQ(Run({"TAGS", "t", "PUT", "k", "v"}), "+OK");
  EXPECT_EQ(Run({"TAGS", "t", "GET", "k"}), "(nil)");
  EXPECT_EQ(Run({"TAGS", "t", "ADD", "k", "v"}), ":1");
  EXPECT_EQ(Run({"TAGS", "t", "INCREMENT", "n"}), ":1");
  EXPECT_EQ(Run({"TAGS", "t", "INCREMENT", "n"}), ":1");
  EXPECT_EQ(Run({"TAGS", "t", "PUTMANY", "60", "k", "v"}), "+OK");
  EXPECT_EQ(Run({"TAGS", "t", "TOUCH", "k", "60"}), ":0");
  EXPECT_EQ(Run({"TAGS", "t", "REMEMBER", "k"}), "(nil)");
  EXPECT_EQ(Run({"TAGS", "t", "REMEMBER", "k"}), "(nil)");  // no lease kept: nobody waits
  EXPECT_EQ(Run({"TAGS", "t", "FLUSH"}), "+OK");
}

// ---- Reclaiming

// 100k tagged items, half with no expiry: after the flush the reclaimer gives the memory back
// (to within a few hundred bytes of table rounding), without any client touching the items.
TEST_F(TagCommandsTest, FlushedItemsMemoryReturnsToBaseline) {
  constexpr int kItems = 100'000;
  constexpr int kBatch = 10'000;
  Run({"TAGS", "other", "PUT", "survivor", "v"});
  Run({"TAGS", "t", "FLUSH"});  // t's generation now exists, as it will after the last flush
  const int64_t baseline = StoreField("used_memory");
  ASSERT_GT(baseline, 0);
  for (int first = 0; first < kItems; first += kBatch) {
    std::vector<std::vector<std::string>> commands;
    for (int i = first; i < first + kBatch; ++i) {
      const std::string key = "key:" + std::to_string(i);
      commands.push_back(
          i % 2 ? std::vector<std::string>{"TAGS", "t", "FOREVER", key, "value"}
                : std::vector<std::string>{"TAGS", "t,u", "PUT", key, "value", "3600"});
    }
    Pipeline(commands);
  }
  EXPECT_EQ(Run({"TAGS", "t", "GET", "key:1"}), "$value");
  EXPECT_GT(StoreField("used_memory"), baseline + kItems * 64);

  ASSERT_EQ(Run({"TAGS", "t", "FLUSH"}), "+OK");
  EXPECT_EQ(Run({"TAGS", "t", "GET", "key:1"}), "(nil)");
  EXPECT_EQ(Run({"TAGS", "u,t", "GET", "key:0"}), "(nil)");
  const auto start = Clock::now();
  int64_t used = StoreField("used_memory");
  while (used > baseline + 512 && Clock::now() - start < std::chrono::seconds(60)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    used = StoreField("used_memory");
  }
  EXPECT_LE(used, baseline + 512);
  EXPECT_EQ(StoreField("keys"), 4);  // the survivor and the generations of other, t and u
  EXPECT_EQ(Run({"TAGS", "other", "GET", "survivor"}), "$v");
}

}  // namespace
}  // namespace arvel::testing
