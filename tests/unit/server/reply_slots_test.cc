// Ordered reply slots (server/connection.h): a connection keeps running pipelined commands while
// earlier ones wait on a store or on another client, and the replies still leave in request
// order. The store here is a SlowStore (slow_store.h) with many worker threads whose every call
// takes a fixed time, like a disk or a database that serves requests in parallel; it also
// records whether any of its calls overlapped a write, which the ordering rules forbid for the
// calls of one connection.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "server/command_table.h"
#include "server/server.h"
#include "tests/unit/server/server_fixture.h"
#include "tests/unit/server/slow_store.h"

namespace arvel::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;
using Commands = std::vector<std::vector<std::string>>;

std::vector<std::string> Texts(const std::vector<Reply>& replies) {
  std::vector<std::string> out;
  for (const Reply& reply : replies) out.push_back(Text(reply));
  return out;
}

std::string Resp(const std::vector<std::string>& args) {
  std::string out = "*" + std::to_string(args.size()) + "\r\n";
  for (const auto& a : args) out += "$" + std::to_string(a.size()) + "\r\n" + a + "\r\n";
  return out;
}

// A plain socket, for watching exactly which bytes arrive when.
class RawSocket {
 public:
  explicit RawSocket(int port) : fd_(socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      throw std::runtime_error("cannot connect to test server");
    }
  }
  ~RawSocket() { Close(); }
  void Close() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }
  void Send(const std::string& bytes) {
    for (size_t sent = 0; sent < bytes.size();) {
      ssize_t n = send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) throw std::runtime_error("send failed");
      sent += static_cast<size_t>(n);
    }
  }
  // Reads until `done(bytes so far)`, the end of the stream, or `timeout`.
  template <typename DoneFn>
  std::string ReadUntil(DoneFn done, milliseconds timeout, bool* closed = nullptr) {
    std::string got;
    auto deadline = steady_clock::now() + timeout;
    if (closed) *closed = false;
    while (!done(got)) {
      auto left = std::chrono::duration_cast<milliseconds>(deadline - steady_clock::now());
      if (left.count() <= 0) break;
      pollfd pfd{fd_, POLLIN, 0};
      if (poll(&pfd, 1, static_cast<int>(left.count())) <= 0) break;
      char buf[65536];
      ssize_t n = recv(fd_, buf, sizeof(buf), 0);
      if (n <= 0) {
        if (closed) *closed = true;
        break;
      }
      got.append(buf, static_cast<size_t>(n));
    }
    return got;
  }
  std::string ReadExactly(size_t n, milliseconds timeout) {
    return ReadUntil([n](const std::string& got) { return got.size() >= n; }, timeout);
  }
  // Everything that arrives within `window`.
  std::string ReadFor(milliseconds window) {
    return ReadUntil([](const std::string&) { return false; }, window);
  }

 private:
  int fd_;
};

// Waits (up to 5 s) until `predicate()`.
template <typename Predicate>
bool Eventually(Predicate predicate) {
  auto start = steady_clock::now();
  while (!predicate()) {
    if (MillisSince(start) > 5000) return false;
    std::this_thread::sleep_for(milliseconds(2));
  }
  return true;
}

// ---- Overlap and order on a slow store -----------------------------------------------------

TEST(ReplySlotsTest, PipelinedGetsOnASlowStoreOverlapAndComeBackInOrder) {
  SlowStoreServer server;  // every call takes 10 ms; 16 workers
  Client client = server.ConnectSlow();
  constexpr int kKeys = 16;
  for (int i = 0; i < kKeys; ++i) {
    std::string n = std::to_string(i);
    ASSERT_EQ(Text(client.Command({"PUT", "k" + n, "value-" + n})), "+OK");
  }
  Commands gets;
  for (int i = 0; i < kKeys; ++i) gets.push_back({"GET", "k" + std::to_string(i)});

  auto start = steady_clock::now();
  std::vector<Reply> replies = client.Pipeline(gets);
  const int64_t took_ms = MillisSince(start);

  ASSERT_EQ(replies.size(), static_cast<size_t>(kKeys));
  for (int i = 0; i < kKeys; ++i) EXPECT_EQ(Text(replies[i]), "$value-" + std::to_string(i));
  // One after another they would take 160 ms.
  EXPECT_LT(took_ms, 80) << "16 pipelined GETs of 10 ms each";
  EXPECT_GE(server.probe().max_in_flight, 4);
  EXPECT_FALSE(server.probe().write_overlapped);
  std::printf("[ timing ] 16 pipelined GETs, 10 ms per store call: %lld ms\n",
              static_cast<long long>(took_ms));
}

TEST(ReplySlotsTest, ALaterCommandSeesAnEarlierWriteOfTheSameConnection) {
  // Writes take four times as long as reads: a read that overtook a write would see the old
  // value every time.
  SlowStoreServer server(
      {.threads = 16, .read_delay = milliseconds(5), .write_delay = milliseconds(20)});
  Client client = server.ConnectSlow();
  std::vector<Reply> replies = client.Pipeline({{"SET", "k", "v1"},
                                                {"GET", "k"},
                                                {"SET", "k", "v2"},
                                                {"GET", "k"},
                                                {"GET", "other"},
                                                {"INCR", "n"},
                                                {"INCR", "n"},
                                                {"GET", "n"},
                                                {"DEL", "k"},
                                                {"EXISTS", "k"},
                                                {"PUT", "k", "v3"},
                                                {"MANY", "k", "n", "other"}});
  EXPECT_EQ(Texts(replies),
            (std::vector<std::string>{"+OK", "$v1", "+OK", "$v2", "(nil)", ":1", ":2", "$2", ":1",
                                      ":0", "+OK", "[$v3, $2, (nil)]"}));
  EXPECT_FALSE(server.probe().write_overlapped) << "a write overlapped another call";
}

TEST(ReplySlotsTest, ReadsOverlapButAWriteWaitsForThemAndTheyForIt) {
  SlowStoreServer server(
      {.threads = 16, .read_delay = milliseconds(20), .write_delay = milliseconds(20)});
  Client client = server.ConnectSlow();
  ASSERT_EQ(Text(client.Command({"PUT", "k", "old"})), "+OK");
  // 4 reads (20 ms together), a write (20 ms), 4 reads (20 ms together): about 60 ms; with no
  // overlap 180 ms, with the write overlapping the reads they would see either value.
  Commands pipeline;
  for (int i = 0; i < 4; ++i) pipeline.push_back({"GET", "k"});
  pipeline.push_back({"PUT", "k", "new"});
  for (int i = 0; i < 4; ++i) pipeline.push_back({"GET", "k"});
  auto start = steady_clock::now();
  std::vector<std::string> replies = Texts(client.Pipeline(pipeline));
  const int64_t took_ms = MillisSince(start);
  EXPECT_EQ(replies, (std::vector<std::string>{"$old", "$old", "$old", "$old", "+OK", "$new",
                                               "$new", "$new", "$new"}));
  EXPECT_FALSE(server.probe().write_overlapped);
  EXPECT_LT(took_ms, 150);
}

TEST(ReplySlotsTest, InlineRepliesWaitBehindASlowReply) {
  SlowStoreServer server({.threads = 4, .read_delay = milliseconds(50)});
  Client client = server.ConnectSlow();
  ASSERT_EQ(Text(client.Command({"PUT", "k", "slow-value"})), "+OK");
  std::vector<Reply> replies = client.Pipeline({{"GET", "k"},
                                                {"PING"},
                                                {"ECHO", "hi"},
                                                {"NOSUCHCOMMAND"},
                                                {"GET"},
                                                {"GET", "k"},
                                                {"PING", "last"}});
  ASSERT_EQ(replies.size(), 7u);
  EXPECT_EQ(Text(replies[0]), "$slow-value");
  EXPECT_EQ(Text(replies[1]), "+PONG");
  EXPECT_EQ(Text(replies[2]), "$hi");
  EXPECT_EQ(replies[3].str.rfind("ERR unknown command 'NOSUCHCOMMAND'", 0), 0u) << replies[3].str;
  EXPECT_EQ(Text(replies[4]), "-ERR wrong number of arguments for 'get' command");
  EXPECT_EQ(Text(replies[5]), "$slow-value");
  EXPECT_EQ(Text(replies[6]), "$last");
}

TEST(ReplySlotsTest, AFastStoreReplyWaitsBehindASlowStoreReplyAcrossStore) {
  SlowStoreServer server({.threads = 4, .read_delay = milliseconds(50)});
  Client client = server.Connect();
  ASSERT_EQ(Text(client.Command({"PUT", "k", "fast-value"})), "+OK");
  ASSERT_EQ(Text(client.Command({"STORE", "slow"})), "+OK");
  ASSERT_EQ(Text(client.Command({"PUT", "k", "slow-value"})), "+OK");
  ASSERT_EQ(Text(client.Command({"STORE", "array"})), "+OK");
  std::vector<Reply> replies = client.Pipeline({{"STORE", "slow"},
                                                {"GET", "k"},
                                                {"STORE", "array"},
                                                {"GET", "k"},
                                                {"STORE"},
                                                {"STORE", "slow"},
                                                {"GET", "k"},
                                                {"STORE"},
                                                {"STORE", "array"},
                                                {"GET", "k"}});
  EXPECT_EQ(Texts(replies), (std::vector<std::string>{"+OK", "$slow-value", "+OK", "$fast-value",
                                                      "$array", "+OK", "$slow-value", "$slow",
                                                      "+OK", "$fast-value"}));
}

// ---- Waiting commands hold only their own slot ---------------------------------------------

TEST(ReplySlotsTest, CommandsBehindAWaitingLockBlockRunAndReplyAfterIt) {
  ServerFixture server;
  Client holder = server.Connect();
  ASSERT_EQ(Text(holder.Command({"LOCK", "ACQUIRE", "x", "10", "OWNER", "a"})), "$a");

  // The FORCERELEASE behind the LOCK BLOCK runs while the BLOCK waits, so the BLOCK gets the
  // lock at once: with the connection parked it would wait out its 5 s and get nil.
  Client waiter = server.Connect();
  auto start = steady_clock::now();
  std::vector<Reply> replies = waiter.Pipeline({{"LOCK", "BLOCK", "x", "10", "5", "OWNER", "b"},
                                                {"PING"},
                                                {"LOCK", "FORCERELEASE", "x"},
                                                {"PING", "after"}});
  EXPECT_EQ(Texts(replies), (std::vector<std::string>{"$b", "+PONG", ":1", "$after"}));
  EXPECT_LT(MillisSince(start), 2000);
  EXPECT_EQ(Text(holder.Command({"LOCK", "OWNER", "x"})), "$b");
}

TEST(ReplySlotsTest, RepliesBehindAWaitingLockBlockAreHeldBackUntilItIsAnswered) {
  ServerFixture server;
  Client holder = server.Connect();
  ASSERT_EQ(Text(holder.Command({"LOCK", "ACQUIRE", "x", "10", "OWNER", "a"})), "$a");
  ASSERT_EQ(Text(holder.Command({"PUT", "k", "v"})), "+OK");

  RawSocket waiter(server.port());
  waiter.Send(Resp({"LOCK", "BLOCK", "x", "10", "5", "OWNER", "b"}) + Resp({"PING"}) +
              Resp({"PUT", "k", "from-waiter"}) + Resp({"GET", "k"}));
  // The commands behind the BLOCK have run (the PUT is visible to others)...
  EXPECT_TRUE(Eventually([&] { return Text(holder.Command({"GET", "k"})) == "$from-waiter"; }));
  // ...but none of their replies has been sent.
  EXPECT_EQ(waiter.ReadFor(milliseconds(100)), "");
  ASSERT_EQ(Text(holder.Command({"LOCK", "RELEASE", "x", "a"})), ":1");
  const std::string expected = "$1\r\nb\r\n+PONG\r\n+OK\r\n$11\r\nfrom-waiter\r\n";
  EXPECT_EQ(waiter.ReadExactly(expected.size(), milliseconds(2000)), expected);
}

TEST(ReplySlotsTest, OwnPutWakesOwnRememberWaitingOnASlowStore) {
  SlowStoreServer server;
  Client filler = server.ConnectSlow();
  ASSERT_EQ(Text(filler.Command({"REMEMBER", "k"})), "(nil)");  // holds the fill lease (10 s)

  // The REMEMBER reads (slow), misses and waits behind the filler's lease; the PUT, held back
  // while the REMEMBER's read was in flight, runs once it waits, and its write answers it.
  Client waiter = server.ConnectSlow();
  auto start = steady_clock::now();
  std::vector<Reply> replies = waiter.Pipeline({{"REMEMBER", "k"}, {"PUT", "k", "mine"}});
  EXPECT_EQ(Texts(replies), (std::vector<std::string>{"$mine", "+OK"}));
  EXPECT_LT(MillisSince(start), 2000);
  EXPECT_FALSE(server.probe().write_overlapped);
}

// ---- Connection state keeps exact semantics ------------------------------------------------

TEST(ReplySlotsTest, MultiExecBehindPendingSlots) {
  SlowStoreServer server;
  Client client = server.ConnectSlow();
  std::vector<Reply> replies = client.Pipeline({{"SET", "a", "1"},
                                                {"GET", "a"},
                                                {"MULTI"},
                                                {"GET", "a"},
                                                {"SET", "a", "2"},
                                                {"INCR", "a"},
                                                {"EXEC"},
                                                {"GET", "a"},
                                                {"WATCH", "a"},
                                                {"SET", "a", "4"},
                                                {"MULTI"},
                                                {"GET", "a"},
                                                {"EXEC"},
                                                {"GET", "a"}});
  EXPECT_EQ(Texts(replies),
            (std::vector<std::string>{"+OK", "$1", "+OK", "+QUEUED", "+QUEUED", "+QUEUED",
                                      "[$1, +OK, :3]", "$3", "+OK", "+OK", "+OK", "+QUEUED",
                                      "(nil)", "$4"}));
  EXPECT_FALSE(server.probe().write_overlapped);
}

TEST(ReplySlotsTest, HelloWaitsForEarlierRepliesWhichKeepTheirEncoding) {
  SlowStoreServer server({.threads = 4, .read_delay = milliseconds(50)});
  RawSocket client(server.port());
  client.Send(Resp({"STORE", "slow"}));
  ASSERT_EQ(client.ReadExactly(5, milliseconds(2000)), "+OK\r\n");
  // A nil in RESP2 is $-1, in RESP3 _.
  client.Send(Resp({"GET", "missing"}) + Resp({"HELLO", "3"}) + Resp({"GET", "missing"}));
  std::string got = client.ReadUntil(
      [](const std::string& bytes) {
        return bytes.size() >= 3 && bytes.compare(bytes.size() - 3, 3, "_\r\n") == 0;
      },
      milliseconds(2000));
  EXPECT_EQ(got.rfind("$-1\r\n%", 0), 0u) << got;
  EXPECT_NE(got.find("proto\r\n:3\r\n"), std::string::npos) << got;
  EXPECT_EQ(got.substr(got.size() - 3), "_\r\n") << got;
}

TEST(ReplySlotsTest, QuitClosesAfterThePendingReplies) {
  SlowStoreServer server(
      {.threads = 4, .read_delay = milliseconds(30), .write_delay = milliseconds(30)});
  RawSocket client(server.port());
  client.Send(Resp({"STORE", "slow"}) + Resp({"PUT", "k", "v"}) + Resp({"GET", "k"}) +
              Resp({"QUIT"}) + Resp({"PING"}));
  bool closed = false;
  std::string got =
      client.ReadUntil([](const std::string&) { return false; }, milliseconds(3000), &closed);
  EXPECT_EQ(got, "+OK\r\n+OK\r\n$1\r\nv\r\n+OK\r\n");
  EXPECT_TRUE(closed);
}

TEST(ReplySlotsTest, AProtocolErrorClosesAfterThePendingReplies) {
  SlowStoreServer server({.threads = 4, .read_delay = milliseconds(30)});
  RawSocket client(server.port());
  client.Send(Resp({"STORE", "slow"}));
  ASSERT_EQ(client.ReadExactly(5, milliseconds(2000)), "+OK\r\n");
  client.Send(Resp({"GET", "missing"}) + Resp({"PING"}) + "*1\r\n$x\r\n" + Resp({"PING"}));
  bool closed = false;
  std::string got =
      client.ReadUntil([](const std::string&) { return false; }, milliseconds(3000), &closed);
  EXPECT_EQ(got.rfind("$-1\r\n+PONG\r\n-ERR Protocol error", 0), 0u) << got;
  EXPECT_EQ(got.find("PONG", 12), std::string::npos) << got;
  EXPECT_TRUE(closed);
}

TEST(ReplySlotsTest, ConnectionStateCommandsAreBarriers) {
  const auto& table = server::CommandTable::Default();
  for (const char* name : {"multi", "exec", "discard", "watch", "unwatch", "store", "select",
                           "auth", "hello", "reset", "fake", "client", "quit"}) {
    const server::CommandSpec* spec = table.Find(name);
    ASSERT_NE(spec, nullptr) << name;
    EXPECT_TRUE(spec->flags & server::kConnectionState) << name;
  }
  for (const server::CommandSpec& spec : table.all()) {
    if (spec.flags & (server::kNoMulti | server::kNoAuth)) {
      EXPECT_TRUE(spec.flags & server::kConnectionState) << spec.name;
    }
  }
}

// ---- Limits and going away -----------------------------------------------------------------

TEST(ReplySlotsTest, DisconnectWithPendingSlotsLeavesNothingBehind) {
  SlowStoreServer server(
      {.threads = 4, .read_delay = milliseconds(30), .write_delay = milliseconds(30)});
  Client other = server.ConnectSlow();
  ASSERT_EQ(Text(other.Command({"LOCK", "ACQUIRE", "x", "10", "OWNER", "a"})), "$a");
  ASSERT_EQ(Text(other.Command({"REMEMBER", "r"})), "(nil)");  // holds r's fill lease
  for (int round = 0; round < 3; ++round) {
    RawSocket gone(server.port());
    std::string pipeline = Resp({"STORE", "slow"});
    for (int i = 0; i < 16; ++i) pipeline += Resp({"GET", "k" + std::to_string(i)});
    pipeline += Resp({"LOCK", "BLOCK", "x", "10", "5", "OWNER", "gone"});
    pipeline += Resp({"REMEMBER", "r"});
    pipeline += Resp({"PUT", "k", "v"});
    for (int i = 0; i < 16; ++i) pipeline += Resp({"GET", "k" + std::to_string(i)});
    gone.Send(pipeline);
    std::this_thread::sleep_for(milliseconds(round * 40));  // close at different points
    gone.Close();
  }
  EXPECT_TRUE(Eventually([&] {
    return InfoField(other, "clients", "connected_clients") == 1 &&
           InfoField(other, "clients", "blocked_clients") == 0;
  }));
  EXPECT_TRUE(Eventually([&] {
    return InfoField(other, "stores", "lock_waiters") == 0 &&
           InfoField(other, "stores", "remember_waiters") == 0;
  })) << other.Command({"INFO", "stores"}).str;
  // No lock was handed to a client that went away.
  ASSERT_EQ(Text(other.Command({"LOCK", "RELEASE", "x", "a"})), ":1");
  EXPECT_EQ(Text(other.Command({"LOCK", "OWNER", "x"})), "(nil)");
  EXPECT_EQ(Text(other.Command({"PING"})), "+PONG");
}

TEST(ReplySlotsTest, ClientKillWithPendingSlots) {
  SlowStoreServer server({.threads = 4, .read_delay = milliseconds(200)});
  Client killer = server.Connect();
  RawSocket victim(server.port());
  std::string pipeline = Resp({"CLIENT", "SETNAME", "victim"}) + Resp({"STORE", "slow"});
  for (int i = 0; i < 8; ++i) pipeline += Resp({"GET", "k"});
  victim.Send(pipeline);
  ASSERT_TRUE(Eventually([&] { return InfoField(killer, "clients", "blocked_clients") == 1; }));
  std::string list = killer.Command({"CLIENT", "LIST"}).str;
  size_t at = list.find("name=victim");
  ASSERT_NE(at, std::string::npos);
  size_t id_at = list.rfind("id=", at);
  std::string id = list.substr(id_at + 3, list.find(' ', id_at) - id_at - 3);
  EXPECT_EQ(Text(killer.Command({"CLIENT", "KILL", "ID", id})), ":1");
  bool closed = false;
  std::string got =
      victim.ReadUntil([](const std::string&) { return false; }, milliseconds(2000), &closed);
  EXPECT_TRUE(closed);
  EXPECT_EQ(got.find("$-1"), std::string::npos) << "no GET reply after the kill";
  std::this_thread::sleep_for(milliseconds(300));  // the store calls complete after the kill
  EXPECT_EQ(Text(killer.Command({"PING"})), "+PONG");
  EXPECT_EQ(InfoField(killer, "clients", "connected_clients"), 1);
}

TEST(ReplySlotsTest, RepliesHeldBehindAWaitingSlotCountTowardsTheOutputLimit) {
  config::Config config = TestConfig();
  config.server.client_output_limit = 1024 * 1024;
  ServerFixture server(config);
  Client other = server.Connect();
  ASSERT_EQ(Text(other.Command({"LOCK", "ACQUIRE", "x", "10", "OWNER", "a"})), "$a");
  ASSERT_EQ(Text(other.Command({"PUT", "big", std::string(100 * 1024, 'x')})), "+OK");

  // 2 MB of replies pile up behind a LOCK BLOCK that waits 5 s: the client goes long before.
  RawSocket hog(server.port());
  std::string pipeline = Resp({"LOCK", "BLOCK", "x", "10", "5"});
  for (int i = 0; i < 20; ++i) pipeline += Resp({"GET", "big"});
  auto start = steady_clock::now();
  hog.Send(pipeline);
  bool closed = false;
  std::string got =
      hog.ReadUntil([](const std::string&) { return false; }, milliseconds(4000), &closed);
  EXPECT_TRUE(closed);
  EXPECT_EQ(got, "");
  EXPECT_LT(MillisSince(start), 2000);
  EXPECT_EQ(InfoField(other, "stores", "lock_waiters"), 0);
}

TEST(ReplySlotsTest, PendingSlotsAreCapped) {
  ServerFixture server;
  Client holder = server.Connect();
  ASSERT_EQ(Text(holder.Command({"LOCK", "ACQUIRE", "x", "10", "OWNER", "a"})), "$a");
  Client waiter = server.Connect();
  constexpr int kWaits = 1100;
  std::thread sender([&] {
    Commands blocks(kWaits, {"LOCK", "BLOCK", "x", "10", "1"});
    std::vector<Reply> replies = waiter.Pipeline(blocks);
    ASSERT_EQ(replies.size(), static_cast<size_t>(kWaits));
    for (const Reply& reply : replies) EXPECT_TRUE(reply.is_nil()) << Text(reply);
  });
  // 1024 wait at once; the rest start once the first ones time out after a second.
  EXPECT_TRUE(Eventually([&] { return InfoField(holder, "stores", "lock_waiters") == 1024; }));
  std::this_thread::sleep_for(milliseconds(200));  // time for more to park, were it allowed
  EXPECT_EQ(InfoField(holder, "stores", "lock_waiters"), 1024);
  sender.join();
}

// ---- CLIENT REPLY ON|OFF|SKIP: dropped replies, never a reply out of step.

// Sends `commands` in one write and reads `replies` replies.
std::vector<std::string> SendAndRead(Client& client,
                                     const std::vector<std::vector<std::string>>& commands,
                                     size_t replies) {
  for (const auto& command : commands) {
    std::vector<const char*> argv;
    std::vector<size_t> lengths;
    for (const std::string& arg : command) {
      argv.push_back(arg.data());
      lengths.push_back(arg.size());
    }
    redisAppendCommandArgv(client.context(), static_cast<int>(argv.size()), argv.data(),
                           lengths.data());
  }
  std::vector<std::string> texts;
  for (size_t i = 0; i < replies; ++i) {
    redisReply* raw = nullptr;
    if (redisGetReply(client.context(), reinterpret_cast<void**>(&raw)) != REDIS_OK) break;
    texts.push_back(raw->type == REDIS_REPLY_ARRAY ? "[" + std::to_string(raw->elements) + "]"
                    : raw->type == REDIS_REPLY_NIL ? "(nil)"
                                                  : std::string(raw->str, raw->len));
    freeReplyObject(raw);
  }
  return texts;
}

TEST(ClientReplyTest, OffDropsRepliesUntilOn) {
  ServerFixture server;
  Client client = server.Connect();
  EXPECT_EQ(SendAndRead(client,
                        {{"CLIENT", "REPLY", "OFF"}, {"PING", "a"}, {"SET", "k", "v"},
                         {"CLIENT", "REPLY", "ON"}, {"PING", "c"}},
                        2),
            (std::vector<std::string>{"OK", "c"}));
  EXPECT_EQ(Text(client.Command({"GET", "k"})), "$v");  // the silenced SET ran
}

TEST(ClientReplyTest, SkipDropsItsOwnAndTheNextReply) {
  ServerFixture server;
  Client client = server.Connect();
  EXPECT_EQ(SendAndRead(client, {{"CLIENT", "REPLY", "SKIP"}, {"PING", "a"}, {"PING", "b"}}, 1),
            (std::vector<std::string>{"b"}));
  // ON right after SKIP answers, and clears the skip.
  EXPECT_EQ(SendAndRead(client, {{"CLIENT", "REPLY", "SKIP"}, {"CLIENT", "REPLY", "ON"}, {"PING"}},
                        2),
            (std::vector<std::string>{"OK", "PONG"}));
  EXPECT_EQ(Text(client.Command({"CLIENT", "REPLY", "MAYBE"})), "-ERR syntax error");
}

// On a store that completes later, EXEC runs past its handler: the replies of its queue are
// dropped with it.
TEST(ClientReplyTest, ExecOnASlowStoreIsSilencedWhole) {
  SlowStoreServer server;
  Client client = server.ConnectSlow();
  EXPECT_EQ(Text(client.Command({"SET", "k", "v"})), "+OK");
  EXPECT_EQ(SendAndRead(client,
                        {{"CLIENT", "REPLY", "OFF"}, {"MULTI"}, {"GET", "k"}, {"EXEC"},
                         {"GET", "missing"}, {"CLIENT", "REPLY", "ON"}, {"PING"}},
                        2),
            (std::vector<std::string>{"OK", "PONG"}));
}

}  // namespace
}  // namespace arvel::testing
