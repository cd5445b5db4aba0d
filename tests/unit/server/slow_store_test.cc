// A slow store never delays clients of another store (SPEC §6): with a store whose every call
// takes 500 ms kept busy by several clients, PING and GET on the array store still answer within
// a few milliseconds, and the slow store's clients get their (correct) replies in the end.

#include "tests/unit/server/slow_store.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>

#include "tests/unit/server/server_fixture.h"

namespace arvel::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

constexpr auto kDelay = milliseconds(500);

// A disk or database that takes half a second per request, one at a time.
constexpr SlowStoreOptions kHalfSecondStore{
    .threads = 1, .read_delay = kDelay, .write_delay = kDelay};

TEST(SlowStoreTest, ASlowStoreNeverDelaysClientsOfAnotherStore) {
  SlowStoreServer server(kHalfSecondStore);
  Client fast(server.port());
  ASSERT_EQ(Text(fast.Command({"SET", "k", "v"})), "+OK");

  // Three clients keep the slow store busy: each of their commands waits for the one before.
  constexpr int kSlowClients = 3;
  std::atomic<int> slow_done{0};
  std::vector<std::string> slow_replies(kSlowClients);
  std::vector<milliseconds> slow_took(kSlowClients);
  std::vector<std::thread> slow;
  for (int c = 0; c < kSlowClients; ++c) {
    slow.emplace_back([&, c] {
      Client client(server.port());
      EXPECT_EQ(Text(client.Command({"STORE", "slow"})), "+OK");
      auto start = steady_clock::now();
      EXPECT_EQ(Text(client.Command({"PUT", "s" + std::to_string(c), "slow-value"})), "+OK");
      slow_replies[c] = Text(client.Command({"GET", "s" + std::to_string(c)}));
      slow_took[c] = std::chrono::duration_cast<milliseconds>(steady_clock::now() - start);
      ++slow_done;
    });
  }

  // Meanwhile the array store's client measures its latency, command after command.
  milliseconds worst{0};
  int commands = 0;
  // Measure from the moment the slow store is busy (the slow clients start at once).
  for (auto begun = steady_clock::now();
       server.probe().in_flight == 0 && steady_clock::now() - begun < std::chrono::seconds(5);) {
    std::this_thread::yield();
  }
  EXPECT_GT(server.probe().in_flight.load(), 0);
  while (slow_done < kSlowClients) {
    for (const std::vector<std::string>& command :
         {std::vector<std::string>{"PING"}, std::vector<std::string>{"GET", "k"}}) {
      auto start = steady_clock::now();
      std::string reply = Text(fast.Command(command));
      worst =
          std::max(worst, std::chrono::duration_cast<milliseconds>(steady_clock::now() - start));
      EXPECT_TRUE(reply == "+PONG" || reply == "$v") << reply;
      ++commands;
    }
    std::this_thread::sleep_for(milliseconds(5));  // a client's pace, not a flood
  }
  for (auto& t : slow) t.join();

  EXPECT_GT(commands, 50);
  EXPECT_LT(worst, milliseconds(50)) << "over " << commands << " commands";
  for (int c = 0; c < kSlowClients; ++c) {
    EXPECT_EQ(slow_replies[c], "$slow-value");
    EXPECT_GE(slow_took[c], 2 * kDelay);  // really slow: a PUT and a GET, 500 ms each
  }
}

TEST(SlowStoreTest, RepliesStayInOrderBehindASlowCommand) {
  SlowStoreServer server(kHalfSecondStore);
  Client slow_client(server.port());
  ASSERT_EQ(Text(slow_client.Command({"STORE", "slow"})), "+OK");
  // Pipelined: the PING queued behind a slow GET on the same connection answers in order.
  auto start = steady_clock::now();
  redisAppendCommand(slow_client.context(), "GET missing");
  redisAppendCommand(slow_client.context(), "PING");
  void* first = nullptr;
  void* second = nullptr;
  ASSERT_EQ(redisGetReply(slow_client.context(), &first), REDIS_OK);
  ASSERT_EQ(redisGetReply(slow_client.context(), &second), REDIS_OK);
  EXPECT_EQ(static_cast<redisReply*>(first)->type, REDIS_REPLY_NIL);
  EXPECT_EQ(std::string(static_cast<redisReply*>(second)->str), "PONG");
  freeReplyObject(first);
  freeReplyObject(second);
  EXPECT_GE(steady_clock::now() - start, kDelay);
}

}  // namespace
}  // namespace arvel::testing
