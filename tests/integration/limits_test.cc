// Resource limits of the real binary: max_clients, idle timeout, client output limit, and
// max_memory eviction under a write flood (SPEC §3, §6, §7).

#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <string_view>

#include "tests/integration/daemon.h"

namespace arvel::integration {
namespace {

using Clock = std::chrono::steady_clock;

// Field `name` of a comma-separated "a=1,b=2" INFO value; -1 when absent.
long long SubField(const std::string& line, const std::string& name) {
  size_t at = ("," + line).find("," + name + "=");
  if (at == std::string::npos) return -1;
  return std::atoll(line.c_str() + at + name.size() + 1);
}

// Sanitizer runtimes keep memory resident of their own: ASan's quarantine, TSan's shadow memory.
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
#define ARVEL_CHECK_RESIDENT_MEMORY 1
#endif

#ifdef ARVEL_CHECK_RESIDENT_MEMORY
// Resident set size of `pid` in bytes (0 if unknown).
long long ResidentBytes(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atoll(line.c_str() + 6) * 1024;
  }
  return 0;
}
#endif

// Polls `condition` every 50 ms until it holds or `timeout` passes.
template <typename Condition>
bool Eventually(Condition condition, milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (!condition()) {
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(milliseconds(50));
  }
  return true;
}

// Whether the daemon's log mentions `text` within 5 s: a line logged as a client is dropped may
// reach stderr a moment after the client saw its connection close.
bool LogSays(Daemon& daemon, std::string_view text) {
  return Eventually([&] { return daemon.Stderr().find(text) != std::string::npos; },
                    milliseconds(5000));
}

TEST(Limits, MaxClientsRefusesTheExtraClientOnly) {
  auto daemon = Daemon::Start(DaemonOptions().Config("[server]\nmax_clients = 3\n"));
  ASSERT_NE(daemon->port(), 0);
  std::vector<Client> clients;
  for (int i = 0; i < 3; ++i) {
    clients.emplace_back(daemon->port());
    ASSERT_EQ(Show(clients.back().Command({"PING"})), "+PONG") << "client " << i;
  }
  RawConnection extra = daemon->ConnectRaw();
  ASSERT_TRUE(extra.connected());
  bool closed = false;
  EXPECT_EQ(extra.ReadUntilClose(milliseconds(5000), &closed),
            "-ERR max number of clients reached\r\n");
  EXPECT_TRUE(closed);
  for (Client& c : clients) EXPECT_EQ(Show(c.Command({"PING"})), "+PONG");

  // A slot freed by a client that leaves can be taken again.
  clients.pop_back();
  EXPECT_TRUE(Eventually(
      [&] {
        Client again(daemon->port());
        return Show(again.Command({"PING"})) == "+PONG";
      },
      milliseconds(5000)));
}

TEST(Limits, MaxClientsRejectionsAreCounted) {
  auto daemon = Daemon::Start(DaemonOptions().Config("[server]\nmax_clients = 1\n"));
  ASSERT_NE(daemon->port(), 0);
  Client first = daemon->Connect();
  ASSERT_EQ(Show(first.Command({"PING"})), "+PONG");
  for (int i = 0; i < 5; ++i) {
    RawConnection extra = daemon->ConnectRaw();
    EXPECT_EQ(extra.ReadRawValue(), "-ERR max number of clients reached\r\n");
  }
  auto fields = ParseInfo(first.Command({"INFO", "stats"}).str);
  EXPECT_EQ(fields["rejected_connections"], "5");
}

TEST(Limits, IdleClientsAreClosedAfterTimeout) {
  auto daemon = Daemon::Start(DaemonOptions().Config("[server]\ntimeout = 1\n"));
  ASSERT_NE(daemon->port(), 0);
  RawConnection idle = daemon->ConnectRaw();
  Client busy = daemon->Connect();
  auto start = Clock::now();
  // The busy client talks every 200 ms for 2.5 s and must stay connected.
  for (int i = 0; i < 12; ++i) {
    ASSERT_EQ(Show(busy.Command({"PING"})), "+PONG") << "after " << i * 200 << " ms";
    std::this_thread::sleep_for(milliseconds(200));  // the busy client's pace
  }
  EXPECT_TRUE(idle.WaitClosed(milliseconds(5000)));
  EXPECT_GE(Clock::now() - start, milliseconds(900));
  EXPECT_EQ(Show(busy.Command({"PING"})), "+PONG");
}

// The idle clock counts from the last complete command: a client sending a partial command one
// byte at a time is closed as if it were silent.
TEST(Limits, TricklingAPartialCommandDoesNotResetTheIdleClock) {
  auto daemon = Daemon::Start(DaemonOptions().Config("[server]\ntimeout = 1\n"));
  ASSERT_NE(daemon->port(), 0);
  RawConnection trickle = daemon->ConnectRaw();
  ASSERT_TRUE(trickle.Send("*3\r\n$3\r\nSET\r\n"));
  const std::string rest = "$1\r\nk\r\n$5\r\nvalue";  // never completed
  auto start = Clock::now();
  bool closed = false;
  // One byte every 200 ms for about 2.5 s; waiting for the close is the pause.
  for (size_t i = 0; i < 13 && !closed; ++i) {
    closed = trickle.WaitClosed(milliseconds(200));
    if (!closed) trickle.Send(rest.substr(i, 1));
  }
  EXPECT_TRUE(closed) << "still open after trickling for 2.6 s";
  EXPECT_GE(Clock::now() - start, milliseconds(900));
}

TEST(Limits, ZeroTimeoutNeverClosesIdleClients) {
  auto daemon = Daemon::Start(DaemonOptions().Config("[server]\ntimeout = 0\n"));
  ASSERT_NE(daemon->port(), 0);
  Client idle = daemon->Connect();
  std::this_thread::sleep_for(milliseconds(2200));  // past what a 1 s timeout would allow
  EXPECT_EQ(Show(idle.Command({"PING"})), "+PONG");
}

TEST(Limits, TimeoutFromEnvironment) {
  auto daemon = Daemon::Start(DaemonOptions().Env({{"CACHE_CLIENT_TIMEOUT", "1"}}));
  ASSERT_NE(daemon->port(), 0);
  RawConnection idle = daemon->ConnectRaw();
  EXPECT_TRUE(idle.WaitClosed(milliseconds(5000)));
}

// A client that pipelines GETs of a large value and never reads its replies is dropped once its
// output passes client_output_limit; other clients are not affected.
TEST(Limits, ClientThatNeverReadsIsDroppedAtTheOutputLimit) {
  auto daemon = Daemon::Start(DaemonOptions().Config("[server]\nclient_output_limit = 4194304\n"));
  ASSERT_NE(daemon->port(), 0);
  const std::string value(1024 * 1024, 'x');
  Client other = daemon->Connect();
  ASSERT_EQ(Show(other.Command({"SET", "big", value})), "+OK");

  RawConnection hog = daemon->ConnectRaw();
  std::string requests = Resp({"CLIENT", "SETNAME", "hog"});
  for (int i = 0; i < 200; ++i) requests += Resp({"GET", "big"});  // 200 MB of replies
  ASSERT_TRUE(hog.Send(requests));

  bool dropped = Eventually(
      [&] {
        return other.Command({"CLIENT", "LIST"}).str.find("name=hog") == std::string::npos;
      },
      milliseconds(10000));
  EXPECT_TRUE(dropped) << other.Command({"CLIENT", "LIST"}).str;
  if (dropped) {
    // The hog gets at most what was buffered before the drop, then the end of the stream.
    bool closed = false;
    std::string got = hog.ReadUntilClose(milliseconds(10000), &closed);
    EXPECT_TRUE(closed);
    EXPECT_LT(got.size(), 200 * value.size());
    EXPECT_TRUE(LogSays(*daemon, "client_output_limit")) << daemon->Stderr();
  }
  Reply reply = other.Command({"GET", "big"});
  EXPECT_EQ(reply.str.size(), value.size());
  EXPECT_EQ(reply.str, value);
}

// However the server holds back a client that does not read, the memory it spends on that
// client's output stays within client_output_limit.
TEST(Limits, ClientThatNeverReadsCannotGrowServerMemory) {
  auto daemon = Daemon::Start(DaemonOptions().Config("[server]\nclient_output_limit = 4194304\n"));
  ASSERT_NE(daemon->port(), 0);
  const std::string value(1024 * 1024, 'x');
  Client other = daemon->Connect();
  ASSERT_EQ(Show(other.Command({"SET", "big", value})), "+OK");
  RawConnection hog = daemon->ConnectRaw();
  std::string requests;
  for (int i = 0; i < 200; ++i) requests += Resp({"GET", "big"});
  ASSERT_TRUE(hog.Send(requests));
  for (int i = 0; i < 20; ++i) {
    auto fields = ParseInfo(other.Command({"INFO", "clients"}).str);
    EXPECT_LE(std::atoll(fields["client_recent_max_output_buffer"].c_str()), 4194304);
    std::this_thread::sleep_for(milliseconds(50));  // samples over a second of the hog's reads
  }
  EXPECT_EQ(other.Command({"GET", "big"}).str, value);
}

// One reply bigger than client_output_limit (MANY over 6 MB of values) drops that client.
TEST(Limits, OneReplyOverTheOutputLimitDropsTheClient) {
  auto daemon = Daemon::Start(DaemonOptions().Config("[server]\nclient_output_limit = 4194304\n"));
  ASSERT_NE(daemon->port(), 0);
  const std::string value(1024 * 1024, 'z');
  Client other = daemon->Connect();
  std::vector<std::string> many = {"MANY"};
  for (int i = 0; i < 6; ++i) {
    ASSERT_EQ(Show(other.Command({"SET", "part" + std::to_string(i), value})), "+OK");
    many.push_back("part" + std::to_string(i));
  }
  RawConnection greedy = daemon->ConnectRaw();
  ASSERT_TRUE(greedy.Send(Resp(many)));
  bool closed = false;
  std::string got = greedy.ReadUntilClose(milliseconds(10000), &closed);
  EXPECT_TRUE(closed);
  EXPECT_LT(got.size(), 6 * value.size());
  EXPECT_EQ(Show(other.Command({"GET", "part0"})).size(), value.size() + 2);
  EXPECT_TRUE(LogSays(*daemon, "client_output_limit")) << daemon->Stderr();
}

TEST(Limits, ReadingClientIsNotDroppedBelowTheOutputLimit) {
  auto daemon = Daemon::Start(DaemonOptions().Config("[server]\nclient_output_limit = 4194304\n"));
  ASSERT_NE(daemon->port(), 0);
  const std::string value(1024 * 1024, 'y');
  Client c = daemon->Connect();
  ASSERT_EQ(Show(c.Command({"SET", "big", value})), "+OK");
  // Rounds of 3 pipelined 1 MB replies (3 MB, under the 4 MB limit), read between rounds.
  for (int round = 0; round < 10; ++round) {
    for (int i = 0; i < 3; ++i) c.Append({"GET", "big"});
    for (int i = 0; i < 3; ++i) {
      Reply reply = c.GetReply();
      ASSERT_EQ(reply.str.size(), value.size())
          << "round " << round << ": " << Show(reply).substr(0, 80);
    }
  }
}

struct StoreLine {
  long long used_memory = -1;
  long long evictions = -1;
  long long keys = -1;
};

StoreLine ReadStoreLine(Client& client, const std::string& store) {
  auto fields = ParseInfo(client.Command({"INFO", "stores"}).str);
  const std::string& line = fields["store_" + store];
  return {SubField(line, "used_memory"), SubField(line, "evictions"), SubField(line, "keys")};
}

// Writes ~80 MB of values into an array store limited to 8 MB: old keys are evicted, memory
// stays within the limit, and every write is accepted.
TEST(Limits, MaxMemoryEvictsLeastRecentlyUsedKeys) {
  constexpr long long kLimit = 8 * 1024 * 1024;
  constexpr int kValues = 8000;
  constexpr int kBatch = 100;
  auto daemon = Daemon::Start(
      DaemonOptions().Config("default = \"memory\"\n[stores.memory]\ndriver = \"array\"\n"
                             "max_memory = \"8mb\"\n"));
  ASSERT_NE(daemon->port(), 0);
  Client c = daemon->Connect();
  const std::string value(10 * 1024, 'm');
  ASSERT_EQ(Show(c.Command({"PUT", "hot", "kept"})), "+OK");
  long long peak_store_memory = 0;
  int hot_lost_after = -1;  // writes after which "hot" was first missing
  for (int i = 0; i < kValues; i += kBatch) {
    for (int j = i; j < i + kBatch; ++j) {
      c.Append({j % 2 ? "PUT" : "SET", "key:" + std::to_string(j), value});
    }
    c.Append({"GET", "hot"});  // keeps "hot" recently used
    for (int j = 0; j < kBatch; ++j) ASSERT_EQ(Show(c.GetReply()), "+OK") << "write " << i + j;
    if (Show(c.GetReply()) != "\"kept\"" && hot_lost_after < 0) hot_lost_after = i + kBatch;
    if (i % 1000 == 0) {
      peak_store_memory = std::max(peak_store_memory, ReadStoreLine(c, "memory").used_memory);
    }
  }
  // A key read after every 1 MB of writes is never the least recently used one.
  EXPECT_EQ(hot_lost_after, -1) << "the recently read key was evicted after " << hot_lost_after
                                << " writes";
  StoreLine line = ReadStoreLine(c, "memory");
  EXPECT_GT(line.used_memory, 0);
  EXPECT_LE(line.used_memory, kLimit);
  EXPECT_LE(peak_store_memory, kLimit);
  EXPECT_GT(line.evictions, 0);
  EXPECT_GT(line.keys, 0);

  auto info = ParseInfo(c.Command({"INFO"}).str);
  EXPECT_LE(std::atoll(info["used_memory"].c_str()), kLimit + 2 * 1024 * 1024);
  EXPECT_GT(std::atoll(info["evicted_keys"].c_str()), 0);
  long long dbsize = IntegerOf(c, {"DBSIZE"});
  EXPECT_LT(dbsize, kValues / 2);
  EXPECT_GT(dbsize, 100);
  // Least recently used first: the oldest keys are gone, the newest and "hot" are there.
  EXPECT_EQ(Show(c.Command({"EXISTS", "key:0"})), ":0");
  EXPECT_EQ(Show(c.Command({"EXISTS", "key:" + std::to_string(kValues - 1)})), ":1");
  EXPECT_EQ(Show(c.Command({"GET", "hot"})), "\"kept\"");
#ifdef ARVEL_CHECK_RESIDENT_MEMORY
  // Without eviction the process would hold 80 MB of values.
  EXPECT_LT(ResidentBytes(daemon->pid()), 64LL * 1024 * 1024);
#endif
}

TEST(Limits, UnlimitedStoreKeepsEverything) {
  auto daemon = Daemon::Start(DaemonOptions().Config(
      "default = \"memory\"\n[stores.memory]\ndriver = \"array\"\nmax_memory = 0\n"));
  ASSERT_NE(daemon->port(), 0);
  Client c = daemon->Connect();
  const std::string value(10 * 1024, 'u');
  for (int i = 0; i < 1000; ++i) c.Append({"SET", "key:" + std::to_string(i), value});
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(Show(c.GetReply()), "+OK");
  EXPECT_EQ(IntegerOf(c, {"DBSIZE"}), 1000);
  EXPECT_EQ(ReadStoreLine(c, "memory").evictions, 0);
}

#ifdef ARVEL_CHECK_RESIDENT_MEMORY
// glibc keeps what a burst freed unless asked to give it back (server/heap_trimmer.h).
constexpr long long kMiB = 1024 * 1024;

// 600 clients each hold a 64 KB partial request (their input buffers), then all go away: the
// daemon's resident memory falls back near where it started within a few seconds.
TEST(Limits, MemoryOfABurstOfClientsGoesBackToTheSystem) {
  auto daemon = Daemon::Start();
  ASSERT_NE(daemon->port(), 0);
  Client c = daemon->Connect();
  ASSERT_EQ(Show(c.Command({"PING"})), "+PONG");
  const long long baseline = ResidentBytes(daemon->pid());
  {
    const std::string partial = "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$70000\r\n" + std::string(65536, 'p');
    std::vector<RawConnection> clients;
    for (int i = 0; i < 600; ++i) {
      clients.push_back(daemon->ConnectRaw());
      ASSERT_TRUE(clients.back().Send(partial));
    }
    ASSERT_TRUE(Eventually([&] { return ResidentBytes(daemon->pid()) > baseline + 32 * kMiB; },
                           milliseconds(5000)))
        << "the burst did not take memory: " << ResidentBytes(daemon->pid()) / kMiB << " MiB";
  }
  EXPECT_TRUE(Eventually([&] { return ResidentBytes(daemon->pid()) < baseline + 16 * kMiB; },
                         milliseconds(5000)))
      << "still " << ResidentBytes(daemon->pid()) / kMiB << " MiB resident, "
      << baseline / kMiB << " MiB at the start";
}

// 300,000 keys with a 1 s TTL nobody reads again: active expiry removes them and the memory
// goes back, within seconds.
TEST(Limits, MemoryOfExpiredKeysGoesBackToTheSystem) {
  auto daemon = Daemon::Start();
  ASSERT_NE(daemon->port(), 0);
  Client c = daemon->Connect();
  ASSERT_EQ(Show(c.Command({"PING"})), "+PONG");
  const long long baseline = ResidentBytes(daemon->pid());
  constexpr int kKeys = 300000;
  for (int i = 0; i < kKeys; ++i) {
    c.Append({"SET", "key:" + std::to_string(i), "sixteen-byte-val", "EX", "1"});
    if (i % 10000 == 9999) {
      for (int j = 0; j < 10000; ++j) ASSERT_EQ(Show(c.GetReply()), "+OK");
    }
  }
  EXPECT_GT(ResidentBytes(daemon->pid()), baseline + 20 * kMiB);
  EXPECT_TRUE(Eventually([&] { return IntegerOf(c, {"DBSIZE"}) == 0; }, milliseconds(10000)));
  EXPECT_TRUE(Eventually([&] { return ResidentBytes(daemon->pid()) < baseline + 16 * kMiB; },
                         milliseconds(5000)))
      << "still " << ResidentBytes(daemon->pid()) / kMiB << " MiB resident, "
      << baseline / kMiB << " MiB at the start";
}
#endif

}  // namespace
}  // namespace arvel::integration
