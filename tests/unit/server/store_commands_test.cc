// STORE SELECT FAKE ASSERT against an in-process server.

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include "tests/unit/server/server_fixture.h"

namespace arvel::testing {
namespace {

std::vector<std::string> Strings(const Reply& r) {
  std::vector<std::string> out;
  for (const Reply& e : r.elements) out.push_back(e.str);
  return out;
}

TEST(StoreCommandsTest, StoreNamesAndSwitches) {
  ServerFixture server;
  Client c = server.Connect();
  EXPECT_EQ(c.Command({"STORE"}).str, "array");
  std::vector<std::string> names = Strings(c.Command({"STORE", "LIST"}));
  EXPECT_NE(std::find(names.begin(), names.end(), "array"), names.end());
  EXPECT_NE(std::find(names.begin(), names.end(), "null"), names.end());
  EXPECT_EQ(c.Command({"STORE", "list"}).elements.size(), names.size());

  EXPECT_EQ(c.Command({"STORE", "null"}).str, "OK");
  EXPECT_EQ(c.Command({"STORE"}).str, "null");
  EXPECT_EQ(c.Command({"STORE", "nosuch"}).str, "ERR no such store 'nosuch'");
  EXPECT_EQ(c.Command({"STORE"}).str, "null");  // unchanged by the failed switch
  EXPECT_EQ(c.Command({"STORE", "a", "b"}).str, "ERR syntax error");

  // The switch is per connection.
  Client other = server.Connect();
  EXPECT_EQ(other.Command({"STORE"}).str, "array");
}

TEST(StoreCommandsTest, SwitchingStoresIsolatesData) {
  ServerFixture server;
  Client c = server.Connect();
  ASSERT_EQ(c.Command({"SET", "k", "v"}).str, "OK");
  ASSERT_EQ(c.Command({"STORE", "null"}).str, "OK");
  EXPECT_TRUE(c.Command({"GET", "k"}).is_nil());
  ASSERT_EQ(c.Command({"SET", "k", "other"}).str, "OK");  // vanishes into the null store
  EXPECT_TRUE(c.Command({"GET", "k"}).is_nil());
  ASSERT_EQ(c.Command({"STORE", "array"}).str, "OK");
  EXPECT_EQ(c.Command({"GET", "k"}).str, "v");
}

TEST(StoreCommandsTest, SelectAcceptsOnlyDatabaseZero) {
  ServerFixture server;
  Client c = server.Connect();
  EXPECT_EQ(c.Command({"SELECT", "0"}).str, "OK");
  EXPECT_EQ(c.Command({"SELECT", "1"}).str, "ERR DB index is out of range");
  EXPECT_EQ(c.Command({"SELECT", "-1"}).str, "ERR DB index is out of range");
  EXPECT_EQ(c.Command({"SELECT", "zero"}).str, "ERR value is not an integer or out of range");
  EXPECT_EQ(c.Command({"SELECT"}).str, "ERR wrong number of arguments for 'select' command");
}

TEST(StoreCommandsTest, FakeIsPrivateAndEmptyAndOffRestores) {
  ServerFixture server;
  Client c = server.Connect();
  ASSERT_EQ(c.Command({"SET", "k", "real"}).str, "OK");
  ASSERT_EQ(c.Command({"FAKE"}).str, "OK");
  EXPECT_EQ(c.Command({"STORE"}).str, "fake");
  EXPECT_TRUE(c.Command({"GET", "k"}).is_nil());
  ASSERT_EQ(c.Command({"SET", "k", "faked"}).str, "OK");
  EXPECT_EQ(c.Command({"GET", "k"}).str, "faked");

  Client other = server.Connect();
  EXPECT_EQ(other.Command({"GET", "k"}).str, "real");  // the fake is this connection's alone

  ASSERT_EQ(c.Command({"FAKE", "OFF"}).str, "OK");
  EXPECT_EQ(c.Command({"STORE"}).str, "array");
  EXPECT_EQ(c.Command({"GET", "k"}).str, "real");
  EXPECT_EQ(c.Command({"FAKE", "OFF"}).str, "OK");  // harmless when not faking
  EXPECT_EQ(c.Command({"FAKE", "ON"}).str, "ERR syntax error");
}

TEST(StoreCommandsTest, FakeReturnsToTheStoreItReplaced) {
  ServerFixture server;
  Client c = server.Connect();
  ASSERT_EQ(c.Command({"STORE", "null"}).str, "OK");
  ASSERT_EQ(c.Command({"FAKE"}).str, "OK");
  ASSERT_EQ(c.Command({"SET", "a", "1"}).str, "OK");
  ASSERT_EQ(c.Command({"FAKE"}).str, "OK");  // a second FAKE starts over, empty
  EXPECT_TRUE(c.Command({"GET", "a"}).is_nil());
  ASSERT_EQ(c.Command({"FAKE", "OFF"}).str, "OK");
  EXPECT_EQ(c.Command({"STORE"}).str, "null");

  // STORE name while faking ends the fake.
  ASSERT_EQ(c.Command({"FAKE"}).str, "OK");
  ASSERT_EQ(c.Command({"STORE", "array"}).str, "OK");
  ASSERT_EQ(c.Command({"FAKE", "OFF"}).str, "OK");
  EXPECT_EQ(c.Command({"STORE"}).str, "array");
}

TEST(StoreCommandsTest, FakeTravelNeedsAFakeAndACount) {
  ServerFixture server;
  Client c = server.Connect();
  const std::string without_fake =
      "ERR FAKE TRAVEL moves the clock of a fake store: call FAKE first";
  EXPECT_EQ(Text(c.Command({"FAKE", "TRAVEL", "10"})), "-" + without_fake);
  ASSERT_EQ(c.Command({"FAKE"}).str, "OK");
  const std::string bad = "-ERR FAKE TRAVEL seconds must be a non-negative integer";
  EXPECT_EQ(Text(c.Command({"FAKE", "TRAVEL", "-1"})), bad);
  EXPECT_EQ(Text(c.Command({"FAKE", "TRAVEL", "soon"})), bad);
  EXPECT_EQ(Text(c.Command({"FAKE", "TRAVEL", "9223372036854776"})), bad);
  EXPECT_EQ(Text(c.Command({"FAKE", "TRAVEL", "0"})), "+OK");
  ASSERT_EQ(c.Command({"FAKE", "OFF"}).str, "OK");
  EXPECT_EQ(Text(c.Command({"FAKE", "TRAVEL", "10"})), "-" + without_fake);
}

// Expiry, tags, locks and throttle windows all follow the fake's clock; the real store does not.
TEST(StoreCommandsTest, FakeTravelMovesTheFakesClock) {
  ServerFixture server;
  Client c = server.Connect();
  ASSERT_EQ(Text(c.Command({"PUT", "real", "v", "100"})), "+OK");
  ASSERT_EQ(c.Command({"FAKE"}).str, "OK");
  EXPECT_EQ(Text(c.Command({"PUT", "k", "v", "10"})), "+OK");
  EXPECT_EQ(Text(c.Command({"TAGS", "t", "PUT", "tagged", "v", "5"})), "+OK");
  const std::string token = Text(c.Command({"LOCK", "ACQUIRE", "l", "5"}));
  EXPECT_EQ(Text(c.Command({"THROTTLE", "HIT", "login", "60"})), ":1");
  EXPECT_EQ(Text(c.Command({"THROTTLE", "AVAILABLEIN", "login"})), ":60");
  EXPECT_EQ(Text(c.Command({"PUT", "page", "v", "60"})), "+OK");
  EXPECT_EQ(Text(c.Command({"FLEXIBLE", "page", "3", "60"})), "[$v, $fresh]");

  EXPECT_EQ(Text(c.Command({"FAKE", "TRAVEL", "5"})), "+OK");
  EXPECT_EQ(Text(c.Command({"TTL", "k"})), ":5");
  EXPECT_EQ(Text(c.Command({"TAGS", "t", "GET", "tagged"})), "(nil)");
  const std::string next = Text(c.Command({"LOCK", "ACQUIRE", "l", "5"}));
  EXPECT_EQ(next.size(), 33u) << next;  // the lock ran out: a new holder
  EXPECT_NE(next, token);
  EXPECT_EQ(Text(c.Command({"THROTTLE", "AVAILABLEIN", "login"})), ":55");
  EXPECT_EQ(Text(c.Command({"FLEXIBLE", "page", "3", "60"})), "[$v, $refresh]");  // 5 s old

  EXPECT_EQ(Text(c.Command({"FAKE", "TRAVEL", "55"})), "+OK");
  EXPECT_EQ(Text(c.Command({"GET", "k"})), "(nil)");
  EXPECT_EQ(Text(c.Command({"ASSERT", "MISSING", "k"})), "+OK");
  EXPECT_EQ(Text(c.Command({"THROTTLE", "ATTEMPTS", "login"})), ":0");

  ASSERT_EQ(c.Command({"FAKE", "OFF"}).str, "OK");
  const std::string ttl = Text(c.Command({"TTL", "real"}));
  EXPECT_TRUE(ttl == ":100" || ttl == ":99") << ttl;
}

TEST(StoreCommandsTest, FakeTravelEndsRememberLeasesThatRanOut) {
  ServerFixture server;
  Client c = server.Connect();
  ASSERT_EQ(c.Command({"FAKE"}).str, "OK");
  EXPECT_EQ(Text(c.Command({"REMEMBER", "report", "LEASE", "30"})), "(nil)");  // the lease
  EXPECT_EQ(Text(c.Command({"FAKE", "TRAVEL", "30"})), "+OK");
  // Its lease over, the holder asking again gets it again at once instead of waiting 30 s.
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(Text(c.Command({"REMEMBER", "report"})), "(nil)");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_EQ(Text(c.Command({"PUT", "report", "done", "60"})), "+OK");
  EXPECT_EQ(Text(c.Command({"REMEMBER", "report"})), "$done");
}

TEST(StoreCommandsTest, AssertStoredAndMissingOnAFake) {
  ServerFixture server;
  Client c = server.Connect();
  ASSERT_EQ(c.Command({"FAKE"}).str, "OK");
  EXPECT_EQ(c.Command({"ASSERT", "MISSING", "k"}).str, "OK");
  EXPECT_EQ(c.Command({"ASSERT", "STORED", "k"}).str,
            "ERR assertion failed: key 'k' is missing (it was never written)");
  ASSERT_EQ(c.Command({"SET", "k", "a"}).str, "OK");
  EXPECT_EQ(c.Command({"ASSERT", "STORED", "k"}).str, "OK");
  EXPECT_EQ(c.Command({"ASSERT", "STORED", "k", "a"}).str, "OK");
  EXPECT_EQ(c.Command({"assert", "stored", "k", "b"}).str,
            "ERR assertion failed: key 'k' holds 'a', expected 'b'");
  EXPECT_EQ(c.Command({"ASSERT", "MISSING", "k"}).str,
            "ERR assertion failed: key 'k' holds 'a', expected it to be missing");
  ASSERT_EQ(c.Command({"DEL", "k"}).integer, 1);
  EXPECT_EQ(c.Command({"ASSERT", "STORED", "k"}).str,
            "ERR assertion failed: key 'k' is missing (it was written, last as 'a', but has "
            "since been forgotten or has expired)");
  EXPECT_EQ(c.Command({"ASSERT", "MISSING", "k"}).str, "OK");
}

TEST(StoreCommandsTest, AssertWorksOnAnyStore) {
  ServerFixture server;
  Client c = server.Connect();
  EXPECT_EQ(c.Command({"ASSERT", "STORED", "nokey"}).str,
            "ERR assertion failed: key 'nokey' is missing");
  EXPECT_EQ(c.Command({"ASSERT", "MISSING", "nokey"}).str, "OK");
  ASSERT_EQ(c.Command({"SET", "k", std::string("x\r\n\0'y", 6)}).str, "OK");
  EXPECT_EQ(c.Command({"ASSERT", "STORED", "k", "z"}).str,
            "ERR assertion failed: key 'k' holds 'x\\x0d\\x0a\\x00\\'y', expected 'z'");
  std::string big(100, 'v');
  ASSERT_EQ(c.Command({"SET", "big", big}).str, "OK");
  EXPECT_EQ(c.Command({"ASSERT", "MISSING", "big"}).str,
            "ERR assertion failed: key 'big' holds '" + std::string(64, 'v') +
                "'... (100 bytes), expected it to be missing");
}

TEST(StoreCommandsTest, AssertArguments) {
  ServerFixture server;
  Client c = server.Connect();
  EXPECT_EQ(c.Command({"ASSERT", "BOGUS", "k"}).str, "ERR syntax error");
  EXPECT_EQ(c.Command({"ASSERT", "MISSING", "k", "v"}).str, "ERR syntax error");
  EXPECT_EQ(c.Command({"ASSERT", "STORED", "k", "v", "w"}).str, "ERR syntax error");
  EXPECT_EQ(c.Command({"ASSERT", "STORED"}).str,
            "ERR wrong number of arguments for 'assert' command");
}

TEST(StoreCommandsTest, ResetEndsTheFake) {
  ServerFixture server;
  Client c = server.Connect();
  ASSERT_EQ(c.Command({"RESET"}).str, "RESET");
  ASSERT_EQ(c.Command({"STORE", "null"}).str, "OK");
  ASSERT_EQ(c.Command({"FAKE"}).str, "OK");
  ASSERT_EQ(c.Command({"RESET"}).str, "RESET");
  EXPECT_EQ(c.Command({"STORE"}).str, "array");
}

}  // namespace
}  // namespace arvel::testing
