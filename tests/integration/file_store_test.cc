// The `file` store against the real binary: acknowledged writes survive kill -9, two daemons on
// one path share keys, locks, counters, throttles and flushes atomically, and a path that cannot
// be written (not a directory, read-only, full) makes only that store unavailable, with a clear
// reason, until it is fixed.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mount.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "tests/integration/daemon.h"

namespace arvel::integration {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

// A configuration whose default store is a `file` store at `path`, plus an array store.
std::string FileConfig(const std::string& path) {
  return "default = \"files\"\n"
         "[stores.files]\ndriver = \"file\"\npath = \"" +
         path +
         "\"\n"
         "[stores.memory]\ndriver = \"array\"\n";
}

std::unique_ptr<Daemon> StartOn(const std::string& path) {
  auto daemon = Daemon::Start(DaemonOptions().Config(FileConfig(path)));
  EXPECT_NE(daemon->port(), 0);
  return daemon;
}

// Runs `commands_each` commands from `clients` threads spread over the daemons; returns the sum
// of their integer replies.
long long SumOverClients(const std::vector<Daemon*>& daemons, int clients, int commands_each,
                         const std::vector<std::string>& command) {
  std::atomic<long long> sum{0};
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      Client client = daemons[c % daemons.size()]->Connect();
      for (int i = 0; i < commands_each; ++i) {
        Reply reply = client.Command(command);
        EXPECT_EQ(reply.type, REDIS_REPLY_INTEGER) << Show(reply);
        sum += reply.integer;
      }
    });
  }
  for (auto& t : threads) t.join();
  return sum;
}

// Paths of the ".tmp-*" files anywhere under `dir` (the tree may change while it is walked).
std::vector<std::string> TempFilesUnder(const std::string& dir) {
  std::vector<std::string> temps;
  std::error_code ec;
  std::filesystem::recursive_directory_iterator it(dir, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    if (it->path().filename().string().starts_with(".tmp-")) temps.push_back(it->path());
  }
  return temps;
}

TEST(FileStoreIntegrationTest, AcknowledgedWritesSurviveKill9) {
  TempDir shared;
  const std::string path = shared.path() + "/cache";
  auto daemon = StartOn(path);
  Client c = daemon->Connect();
  RunScript(c, {
                   {{"PUT", "before", "kept"}, "+OK"},
                   {{"PUT", "ttl", "kept", "600"}, "+OK"},
                   {{"TAGS", "t", "PUT", "tagged", "kept"}, "+OK"},
                   {{"LOCK", "ACQUIRE", "job", "600", "OWNER", "me"}, "\"me\""},
               });
  // A writer acknowledged up to some value when the daemon dies mid-stream.
  std::atomic<long long> acknowledged{-1};
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    Client w = daemon->Connect(milliseconds(2000));
    for (long long i = 0; !stop; ++i) {
      if (Show(w.Command({"PUT", "counter", std::to_string(i)})) != "+OK") return;
      acknowledged = i;
    }
  });
  const auto writing = std::chrono::steady_clock::now() + milliseconds(10000);
  while (acknowledged < 50 && std::chrono::steady_clock::now() < writing) {
    std::this_thread::sleep_for(milliseconds(5));
  }
  EXPECT_GE(acknowledged, 50) << "the writer stalled before the kill";
  daemon->Signal(SIGKILL);
  ASSERT_TRUE(daemon->WaitExit(milliseconds(5000)).has_value());
  stop = true;
  writer.join();

  auto restarted = StartOn(path);
  Client r = restarted->Connect();
  RunScript(r, {
                   {{"GET", "before"}, "\"kept\""},
                   {{"GET", "ttl"}, "\"kept\""},
                   {{"TAGS", "t", "GET", "tagged"}, "\"kept\""},
                   {{"LOCK", "OWNER", "job"}, "\"me\""},
               });
  long long ttl = IntegerOf(r, {"TTL", "ttl"});
  EXPECT_GT(ttl, 500);
  // The last acknowledged value, or the one in flight when the daemon died: never older, never
  // torn.
  Reply counter = r.Command({"GET", "counter"});
  ASSERT_EQ(counter.type, REDIS_REPLY_STRING) << Show(counter);
  long long value = std::stoll(counter.str);
  EXPECT_GE(value, acknowledged.load());
  EXPECT_LE(value, acknowledged.load() + 1);
  // Whatever temp file the kill left mid-write goes as the restarted daemon opens the store
  // (its workers open in the background, so give them a moment).
  std::vector<std::string> temps;
  for (int i = 0; i < 100 && !(temps = TempFilesUnder(path)).empty(); ++i) {
    std::this_thread::sleep_for(milliseconds(50));
  }
  EXPECT_THAT(temps, ::testing::IsEmpty());
}

TEST(FileStoreIntegrationTest, TwoDaemonsShareOnePathAtomically) {
  TempDir shared;
  const std::string path = shared.path() + "/cache";
  auto a = StartOn(path);
  auto b = StartOn(path);
  Client ca = a->Connect();
  Client cb = b->Connect();

  // A lock held through one daemon is refused through the other.
  Reply token = ca.Command({"LOCK", "ACQUIRE", "job", "60"});
  ASSERT_EQ(token.type, REDIS_REPLY_STRING) << Show(token);
  EXPECT_EQ(Show(cb.Command({"LOCK", "ACQUIRE", "job", "60"})), "(nil)");
  EXPECT_EQ(Show(cb.Command({"LOCK", "OWNER", "job"})), "\"" + token.str + "\"");
  EXPECT_EQ(Show(ca.Command({"LOCK", "RELEASE", "job", token.str})), ":1");
  EXPECT_EQ(cb.Command({"LOCK", "ACQUIRE", "job", "60"}).type, REDIS_REPLY_STRING);

  // Read-modify-writes spread over both daemons give exact totals.
  std::vector<Daemon*> both = {a.get(), b.get()};
  SumOverClients(both, 4, 50, {"INCREMENT", "hits"});
  EXPECT_EQ(Show(ca.Command({"GET", "hits"})), "\"200\"");
  EXPECT_EQ(Show(cb.Command({"GET", "hits"})), "\"200\"");
  EXPECT_EQ(SumOverClients(both, 4, 30, {"THROTTLE", "ATTEMPT", "api", "70", "60"}), 70);
  EXPECT_EQ(IntegerOf(cb, {"THROTTLE", "ATTEMPTS", "api"}), 70);
  EXPECT_EQ(SumOverClients(both, 4, 1, {"ADD", "once", "x"}), 1);
  // Several daemons may compete for one lock; exactly one wins.
  std::atomic<int> granted{0};
  std::vector<std::thread> lockers;
  for (int i = 0; i < 6; ++i) {
    lockers.emplace_back([&, i] {
      Client client = both[i % 2]->Connect();
      if (client.Command({"LOCK", "ACQUIRE", "contended", "60"}).type == REDIS_REPLY_STRING) {
        ++granted;
      }
    });
  }
  for (auto& t : lockers) t.join();
  EXPECT_EQ(granted.load(), 1);

  // Flushes through one daemon are seen by the other: tags, then the whole store.
  EXPECT_EQ(Show(ca.Command({"TAGS", "people", "PUT", "k", "v"})), "+OK");
  EXPECT_EQ(Show(cb.Command({"TAGS", "people", "GET", "k"})), "\"v\"");
  EXPECT_EQ(Show(cb.Command({"TAGS", "people", "FLUSH"})), "+OK");
  EXPECT_EQ(Show(ca.Command({"TAGS", "people", "GET", "k"})), "(nil)");
  EXPECT_EQ(Show(ca.Command({"PUT", "plain", "v"})), "+OK");
  EXPECT_EQ(Show(cb.Command({"GET", "plain"})), "\"v\"");
  EXPECT_EQ(Show(cb.Command({"FLUSH"})), "+OK");
  EXPECT_EQ(Show(ca.Command({"GET", "plain"})), "(nil)");
  EXPECT_EQ(Show(ca.Command({"GET", "hits"})), "(nil)");
  EXPECT_EQ(Show(ca.Command({"LOCK", "OWNER", "job"})), "(nil)");
  EXPECT_EQ(IntegerOf(ca, {"DBSIZE"}), 0);
}

TEST(FileStoreIntegrationTest, PathUnderAFileIsReportedAndOtherStoresServe) {
  // As root, permissions stop nothing; a path below a character device really cannot exist.
  auto daemon = Daemon::Start(
      DaemonOptions().Config("default = \"memory\"\n[stores.memory]\ndriver = \"array\"\n"
                             "[stores.files]\ndriver = \"file\"\npath = \"/dev/null/cache\"\n"));
  ASSERT_NE(daemon->port(), 0);
  const std::string reason =
      "store 'files' unavailable: cannot create directory '/dev/null/cache': Not a directory";
  EXPECT_TRUE(daemon->WaitForStderr(reason, milliseconds(5000))) << daemon->Stderr();
  Client c = daemon->Connect();
  RunScript(c, {
                   {{"PUT", "k", "v"}, "+OK"},
                   {{"STORE", "files"}, "+OK"},
                   {{"PUT", "k", "v"}, "-ERR " + reason},
                   {{"GET", "k"}, "-ERR " + reason},
                   {{"DBSIZE"}, "-ERR " + reason},
                   {{"STORE", "memory"}, "+OK"},
                   {{"GET", "k"}, "\"v\""},
                   {{"PING"}, "+PONG"},
               });
}

// A small tmpfs under `dir`, when this process may mount one (root with CAP_SYS_ADMIN).
class Tmpfs {
 public:
  explicit Tmpfs(const std::string& dir) : dir_(dir + "/mnt") {
    std::filesystem::create_directories(dir_);
    mounted_ = mount("tmpfs", dir_.c_str(), "tmpfs", 0, "size=512k") == 0;
  }
  ~Tmpfs() {
    if (mounted_) umount2(dir_.c_str(), MNT_DETACH);
  }
  bool mounted() const { return mounted_; }
  const std::string& dir() const { return dir_; }
  bool Remount(bool read_only) {
    return mount("tmpfs", dir_.c_str(), "tmpfs", MS_REMOUNT | (read_only ? MS_RDONLY : 0),
                 "size=512k") == 0;
  }
  // Fills the file system with one file; returns its path.
  std::string Fill() const {
    std::string path = dir_ + "/filler";
    FILE* f = fopen(path.c_str(), "wb");
    std::string chunk(4096, 'x');
    while (f && fwrite(chunk.data(), 1, chunk.size(), f) == chunk.size()) {
    }
    if (f) fclose(f);
    return path;
  }

 private:
  std::string dir_;
  bool mounted_ = false;
};

// Retries `command` until its reply is `expected` (the store reopens with a backoff of up to 5 s).
bool EventuallyReplies(Client& c, const std::vector<std::string>& command,
                       const std::string& expected) {
  for (int i = 0; i < 100; ++i) {
    if (Show(c.Command(command)) == expected) return true;
    std::this_thread::sleep_for(milliseconds(100));
  }
  return false;
}

TEST(FileStoreIntegrationTest, ReadOnlyFileSystemFailsFastAndRecovers) {
  TempDir dir;
  Tmpfs tmpfs(dir.path());
  if (!tmpfs.mounted()) GTEST_SKIP() << "cannot mount a tmpfs here";
  auto daemon = StartOn(tmpfs.dir() + "/cache");
  Client c = daemon->Connect();
  EXPECT_EQ(Show(c.Command({"PUT", "k", "old"})), "+OK");
  ASSERT_TRUE(tmpfs.Remount(/*read_only=*/true));

  Reply refused = c.Command({"PUT", "k", "new"});
  EXPECT_THAT(Show(refused), StartsWith("-ERR store 'files' unavailable: cannot "));
  EXPECT_THAT(Show(refused), HasSubstr("Read-only file system"));
  EXPECT_THAT(Show(c.Command({"GET", "k"})), StartsWith("-ERR store 'files' unavailable"));
  RunScript(c, {
                   {{"STORE", "memory"}, "+OK"},
                   {{"PUT", "m", "v"}, "+OK"},
                   {{"GET", "m"}, "\"v\""},
                   {{"STORE", "files"}, "+OK"},
               });

  ASSERT_TRUE(tmpfs.Remount(/*read_only=*/false));
  EXPECT_TRUE(EventuallyReplies(c, {"GET", "k"}, "\"old\""));
  EXPECT_EQ(Show(c.Command({"PUT", "k", "new"})), "+OK");
  EXPECT_EQ(Show(c.Command({"GET", "k"})), "\"new\"");
}

TEST(FileStoreIntegrationTest, FullDiskFailsClearlyAndRecovers) {
  TempDir dir;
  Tmpfs tmpfs(dir.path());
  if (!tmpfs.mounted()) GTEST_SKIP() << "cannot mount a tmpfs here";
  auto daemon = StartOn(tmpfs.dir() + "/cache");
  Client c = daemon->Connect();
  EXPECT_EQ(Show(c.Command({"PUT", "k", "old"})), "+OK");
  std::string filler = tmpfs.Fill();

  Reply refused = c.Command({"PUT", "k", std::string(64 * 1024, 'n')});
  EXPECT_THAT(Show(refused), StartsWith("-ERR store 'files' unavailable: cannot "));
  EXPECT_THAT(Show(refused), HasSubstr("No space left on device"));
  RunScript(c, {
                   {{"STORE", "memory"}, "+OK"},
                   {{"PING"}, "+PONG"},
                   {{"PUT", "m", "v"}, "+OK"},
                   {{"STORE", "files"}, "+OK"},
               });

  std::filesystem::remove(filler);
  EXPECT_TRUE(EventuallyReplies(c, {"GET", "k"}, "\"old\""));
  EXPECT_EQ(Show(c.Command({"PUT", "k", "new"})), "+OK");
  EXPECT_EQ(Show(c.Command({"GET", "k"})), "\"new\"");
}

}  // namespace
}  // namespace arvel::integration
