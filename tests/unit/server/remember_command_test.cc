// REMEMBER key [LEASE seconds] (SPEC §4): one filler per miss, the other callers parked until
// the value is written, and the lease handed over when its holder goes away, forgets the key or
// runs out of time. Real connections to an in-process server; concurrency with one hiredis
// client per thread.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "tests/unit/server/server_fixture.h"

namespace arvel::testing {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// A command in flight on a connection of its own; the connection stays open (for follow-up
// commands) until the Pending is destroyed.
struct Pending {
  std::unique_ptr<Client> client;
  std::future<Reply> reply;
};

Pending Send(const ServerFixture& server, std::vector<std::string> args) {
  Pending pending{std::make_unique<Client>(server.Connect()), {}};
  Client* client = pending.client.get();
  pending.reply = std::async(std::launch::async, [client, args] { return client->Command(args); });
  return pending;
}

bool Ready(std::future<Reply>& reply, int ms) {
  return reply.wait_for(milliseconds(ms)) == std::future_status::ready;
}

class RememberCommandTest : public ::testing::Test {
 protected:
  std::string Run(const std::vector<std::string>& args) { return Text(client_.Command(args)); }
  // Fill leases held by clients of the server, and clients parked in REMEMBER (INFO).
  int64_t Leases() { return InfoField(client_, "stores", "remember_leases"); }
  int64_t Waiting() { return InfoField(client_, "stores", "remember_waiters"); }

  ServerFixture server_;
  Client client_ = server_.Connect();
};

TEST_F(RememberCommandTest, HitReturnsTheValue) {
  EXPECT_EQ(Run({"PUT", "report", "cached", "60"}), "+OK");
  EXPECT_EQ(Run({"REMEMBER", "report"}), "$cached");
  EXPECT_EQ(Run({"REMEMBER", "report", "LEASE", "5"}), "$cached");
}

TEST_F(RememberCommandTest, MissGivesTheLeaseAndTheWriteFeedsTheWaiter) {
  EXPECT_EQ(Run({"REMEMBER", "report"}), "(nil)");  // we fill it
  Pending waiter = Send(server_, {"REMEMBER", "report"});
  WaitForBlocked(client_, 1);
  EXPECT_FALSE(Ready(waiter.reply, 100));
  Clock::time_point start = Clock::now();
  EXPECT_EQ(Run({"PUT", "report", "computed", "60"}), "+OK");
  EXPECT_EQ(Text(waiter.reply.get()), "$computed");
  EXPECT_LT(MillisSince(start), 500);
  EXPECT_EQ(Leases(), 0);
  EXPECT_EQ(Run({"REMEMBER", "report"}), "$computed");
}

TEST_F(RememberCommandTest, AnyWriteDeliversTheValue) {
  EXPECT_EQ(Run({"REMEMBER", "a"}), "(nil)");
  EXPECT_EQ(Run({"REMEMBER", "b"}), "(nil)");
  Pending forever = Send(server_, {"REMEMBER", "a"});
  Pending set = Send(server_, {"REMEMBER", "b"});
  WaitForBlocked(client_, 2);
  EXPECT_EQ(Run({"FOREVER", "a", "1"}), "+OK");
  EXPECT_EQ(Run({"SET", "b", "2", "EX", "60"}), "+OK");
  EXPECT_EQ(Text(forever.reply.get()), "$1");
  EXPECT_EQ(Text(set.reply.get()), "$2");
}

TEST_F(RememberCommandTest, OneFillerAmongFiftyCallers) {
  constexpr int kCallers = 50;
  std::atomic<int> nils{0};
  std::atomic<int> values{0};
  std::atomic<int> ready{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kCallers; ++i) {
    threads.emplace_back([&, client = server_.Connect()]() mutable {
      ++ready;
      while (ready.load() < kCallers) std::this_thread::yield();  // start together
      Reply reply = client.Command({"REMEMBER", "report"});
      if (reply.is_nil()) {
        ++nils;
        std::this_thread::sleep_for(milliseconds(100));  // "compute"
        EXPECT_EQ(Text(client.Command({"PUT", "report", "computed", "60"})), "+OK");
      } else if (reply.type == REDIS_REPLY_STRING && reply.str == "computed") {
        ++values;
      } else {
        ADD_FAILURE() << Text(reply);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(nils.load(), 1);
  EXPECT_EQ(values.load(), kCallers - 1);
  EXPECT_EQ(Waiting(), 0);
}

TEST_F(RememberCommandTest, HolderDisconnectHandsTheLeaseOver) {
  auto holder = std::make_unique<Client>(server_.Connect());
  EXPECT_EQ(Text(holder->Command({"REMEMBER", "report"})), "(nil)");
  Pending first = Send(server_, {"REMEMBER", "report"});
  WaitForBlocked(client_, 1);
  Pending second = Send(server_, {"REMEMBER", "report"});
  WaitForBlocked(client_, 2);
  Clock::time_point start = Clock::now();
  holder.reset();                               // goes away without filling
  EXPECT_EQ(Text(first.reply.get()), "(nil)");  // the longest waiter fills it now
  EXPECT_LT(MillisSince(start), 500);
  EXPECT_FALSE(Ready(second.reply, 100));
  EXPECT_EQ(Text(first.client->Command({"PUT", "report", "from-first", "60"})), "+OK");
  EXPECT_EQ(Text(second.reply.get()), "$from-first");
}

TEST_F(RememberCommandTest, ExpiredLeaseHandsOver) {
  Clock::time_point start = Clock::now();
  EXPECT_EQ(Run({"REMEMBER", "report", "LEASE", "1"}), "(nil)");  // and never fills it
  Pending waiter = Send(server_, {"REMEMBER", "report"});
  EXPECT_EQ(Text(waiter.reply.get()), "(nil)");
  EXPECT_GE(MillisSince(start), 950);
  EXPECT_LT(MillisSince(start), 2000);
  EXPECT_EQ(Leases(), 1);  // the waiter's now
  // Our late write still counts as the value.
  EXPECT_EQ(Run({"PUT", "report", "late", "60"}), "+OK");
  EXPECT_EQ(Run({"REMEMBER", "report"}), "$late");
}

// FORGET on the key it holds the lease of: the holder gives up (say, its computation failed).
// Needs FORGET to call FillLeases::Forgotten (server/commands/cache_commands.cc): forgetting an
// absent key writes nothing, so no write notification reports it.
TEST_F(RememberCommandTest, ForgetHandsTheLeaseOver) {
  EXPECT_EQ(Run({"REMEMBER", "report"}), "(nil)");
  Pending waiter = Send(server_, {"REMEMBER", "report"});
  WaitForBlocked(client_, 1);
  EXPECT_EQ(Run({"FORGET", "report"}), ":0");
  ASSERT_TRUE(Ready(waiter.reply, 1000));
  EXPECT_EQ(Text(waiter.reply.get()), "(nil)");
  // We lost the lease: asking again waits like everybody else.
  Pending again = Send(server_, {"REMEMBER", "report"});
  EXPECT_FALSE(Ready(again.reply, 100));
  EXPECT_EQ(Text(waiter.client->Command({"PUT", "report", "v", "60"})), "+OK");
  EXPECT_EQ(Text(again.reply.get()), "$v");
}

// Client libraries pool connections: the filler's connection may next serve another caller,
// which must wait for the value like everyone else rather than compute it a second time.
TEST_F(RememberCommandTest, HoldersConnectionAskingAgainWaitsForTheValue) {
  auto pooled = std::make_unique<Client>(server_.Connect());
  EXPECT_EQ(Text(pooled->Command({"REMEMBER", "report"})), "(nil)");
  Client* connection = pooled.get();
  std::future<Reply> again = std::async(std::launch::async, [connection] {
    return connection->Command({"REMEMBER", "report"});
  });
  WaitForBlocked(client_, 1);
  EXPECT_EQ(Run({"PUT", "report", "new", "60"}), "+OK");  // the filler, on another connection
  EXPECT_EQ(Text(again.get()), "$new");
}

TEST_F(RememberCommandTest, WaiterThatDisconnectsIsDropped) {
  EXPECT_EQ(Run({"REMEMBER", "report"}), "(nil)");
  {
    Client quitter = server_.Connect();
    redisAppendCommand(quitter.context(), "REMEMBER report");
    int done = 0;
    while (!done) ASSERT_EQ(redisBufferWrite(quitter.context(), &done), REDIS_OK);
    WaitForBlocked(client_, 1);
  }
  WaitForBlocked(client_, 0);
  EXPECT_EQ(Waiting(), 0);
  EXPECT_EQ(Run({"PUT", "report", "v", "60"}), "+OK");
  // The lease ends on the loop turn after the write.
  Clock::time_point start = Clock::now();
  while (Leases() != 0 && MillisSince(start) < 1000) {
    std::this_thread::sleep_for(milliseconds(2));
  }
  EXPECT_EQ(Leases(), 0);
}

TEST_F(RememberCommandTest, WaitingClientsDoNotSlowOthers) {
  EXPECT_EQ(Run({"REMEMBER", "report"}), "(nil)");
  std::vector<Pending> waiters;
  for (int i = 0; i < 50; ++i) waiters.push_back(Send(server_, {"REMEMBER", "report"}));
  WaitForBlocked(client_, 50);
  Client other = server_.Connect();
  Clock::time_point start = Clock::now();
  for (int i = 0; i < 200; ++i) ASSERT_EQ(Text(other.Command({"PING"})), "+PONG");
  EXPECT_LT(MillisSince(start), 1000);
  EXPECT_EQ(Text(other.Command({"REMEMBER", "elsewhere"})), "(nil)");  // other keys unaffected
  EXPECT_EQ(Run({"PUT", "report", "v"}), "+OK");
  for (Pending& waiter : waiters) EXPECT_EQ(Text(waiter.reply.get()), "$v");
}

TEST_F(RememberCommandTest, InsideMultiNobodyWaits) {
  Client tx = server_.Connect();
  // Lease free: the transaction gets it.
  EXPECT_EQ(Text(tx.Command({"MULTI"})), "+OK");
  EXPECT_EQ(Text(tx.Command({"REMEMBER", "report"})), "+QUEUED");
  EXPECT_EQ(Text(tx.Command({"EXEC"})), "[(nil)]");
  // Lease held: nil at once, without the lease.
  Clock::time_point start = Clock::now();
  EXPECT_EQ(Run({"MULTI"}), "+OK");
  EXPECT_EQ(Run({"REMEMBER", "report"}), "+QUEUED");
  EXPECT_EQ(Run({"EXEC"}), "[(nil)]");
  EXPECT_LT(MillisSince(start), 500);
  Pending waiter = Send(server_, {"REMEMBER", "report"});
  WaitForBlocked(client_, 1);
  EXPECT_EQ(Text(tx.Command({"PUT", "report", "v"})), "+OK");  // the lease was the tx's
  EXPECT_EQ(Text(waiter.reply.get()), "$v");
}

TEST_F(RememberCommandTest, LeaseMustBeAPositiveInteger) {
  EXPECT_EQ(Run({"REMEMBER", "k", "LEASE", "0"}), "-ERR LEASE must be a positive integer");
  EXPECT_EQ(Run({"REMEMBER", "k", "LEASE", "-3"}), "-ERR LEASE must be a positive integer");
  EXPECT_EQ(Run({"REMEMBER", "k", "LEASE", "soon"}),
            "-ERR value is not an integer or out of range");
  EXPECT_EQ(Run({"REMEMBER", "k", "LEASE"}), "-ERR syntax error");
  EXPECT_EQ(Run({"REMEMBER", "k", "FOREVER"}), "-ERR syntax error");
  EXPECT_EQ(Run({"REMEMBER"}), "-ERR wrong number of arguments for 'remember' command");
  EXPECT_EQ(Leases(), 0);  // no lease was handed out
}

TEST_F(RememberCommandTest, LeasesAreKeptPerStoreAndKey) {
  EXPECT_EQ(Run({"REMEMBER", "a"}), "(nil)");
  Client other = server_.Connect();
  EXPECT_EQ(Text(other.Command({"REMEMBER", "b"})), "(nil)");
  EXPECT_EQ(Text(other.Command({"FAKE"})), "+OK");
  EXPECT_EQ(Text(other.Command({"REMEMBER", "a"})), "(nil)");  // a different store
  EXPECT_EQ(Text(other.Command({"FAKE", "OFF"})), "+OK");
  EXPECT_EQ(Leases(), 3);
}

TEST_F(RememberCommandTest, NullStoreNeverWaits) {
  std::vector<Pending> callers;
  for (int i = 0; i < 5; ++i) {
    Pending caller{std::make_unique<Client>(server_.Connect()), {}};
    EXPECT_EQ(Text(caller.client->Command({"STORE", "null"})), "+OK");
    Client* client = caller.client.get();
    caller.reply = std::async(std::launch::async, [client] {
      return client->Command({"REMEMBER", "k"});
    });
    callers.push_back(std::move(caller));
  }
  for (Pending& caller : callers) {
    ASSERT_TRUE(Ready(caller.reply, 1000));
    EXPECT_EQ(Text(caller.reply.get()), "(nil)");  // everyone computes: nothing is ever stored
  }
  EXPECT_EQ(Text(callers[0].client->Command({"PUT", "k", "v"})), "+OK");
  EXPECT_EQ(Text(callers[0].client->Command({"REMEMBER", "k"})), "(nil)");
  EXPECT_EQ(Leases(), 0);
}

}  // namespace
}  // namespace arvel::testing
