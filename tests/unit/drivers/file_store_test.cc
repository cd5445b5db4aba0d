// FileStore (the `file` driver) against a real directory: layout, encoding, expiry, atomic
// updates between threads and between stores sharing a tree, scans, flush, prune, torn files,
// and the unavailable paths (a path that cannot be created, a full disk).

#include "drivers/file_store.h"

#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <thread>

#include "drivers/file_entry.h"
#include "drivers/file_lock.h"

namespace arvel::drivers {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

// A fresh directory, removed on destruction.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "arvel-file-store-XXXXXX").string();
    path_ = mkdtemp(pattern.data());
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::string ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void WriteText(const std::string& path, std::string_view text) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

std::string AllBytes() {
  std::string bytes;
  for (int i = 0; i < 256; ++i) bytes += static_cast<char>(i);
  return bytes;
}

// A FileStore on a loop of its own, with synchronous wrappers that run the loop until the
// completion arrives (at most 10 s).
class Harness {
 public:
  explicit Harness(std::string path, std::string prefix = "test", std::string name = "files",
                   size_t threads = 4, bool lazy = false) {
    uv_loop_init(&loop_);
    uv_timer_init(&loop_, &wakeup_);
    store_ = std::make_unique<FileStore>(name, &loop_,
                                         FileStoreOptions{std::move(path), prefix, threads, lazy});
    open_status_ = Wait<Status>([&](auto finish) { store_->Open(finish); });
  }
  ~Harness() {
    Status closed = Wait<Status>([&](auto finish) { store_->Close(finish); });
    EXPECT_TRUE(closed.ok()) << closed.message();
    store_.reset();
    uv_close(reinterpret_cast<uv_handle_t*>(&wakeup_), nullptr);
    uv_run(&loop_, UV_RUN_DEFAULT);
    uv_loop_close(&loop_);
  }

  FileStore& store() { return *store_; }
  uv_loop_t* loop() { return &loop_; }
  const Status& open_status() const { return open_status_; }

  // Calls start(finish) and runs the loop until finish(value) has run.
  template <typename T, typename Start>
  T Wait(Start start) {
    std::optional<T> result;
    start([&](const T& value) { result = value; });
    RunUntil([&] { return result.has_value(); });
    EXPECT_TRUE(result.has_value()) << "no completion within 10 s";
    return result.value_or(T{});
  }

  void RunUntil(const std::function<bool()>& done) {
    // The repeating timer makes every UV_RUN_ONCE return, so the deadline is checked.
    uv_timer_start(
        &wakeup_, [](uv_timer_t*) {}, 5, 5);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!done() && std::chrono::steady_clock::now() < deadline) uv_run(&loop_, UV_RUN_ONCE);
    uv_timer_stop(&wakeup_);
  }

  Status Update(Space space, std::vector<std::string> keys, UpdateFn fn) {
    std::vector<std::string_view> views(keys.begin(), keys.end());
    return Wait<Status>([&](auto finish) { store_->Update(space, views, fn, finish); });
  }
  Status Put(std::string_view key, std::string value, int64_t expire_at_ms = 0,
             Space space = Space::kData) {
    return Update(space, {std::string(key)},
                  [&](std::span<KeyUpdate> u, int64_t) { u[0].Put(value, expire_at_ms); });
  }
  Status Erase(std::string_view key, Space space = Space::kData) {
    return Update(space, {std::string(key)}, [](std::span<KeyUpdate> u, int64_t) { u[0].Erase(); });
  }
  struct ReadResult {
    Status status;
    std::vector<std::optional<Entry>> entries;
  };
  ReadResult Read(Space space, std::vector<std::string> keys) {
    std::vector<std::string_view> views(keys.begin(), keys.end());
    ReadResult result;
    bool done = false;
    store_->Read(space, views, [&](const Status& status, std::span<const Entry* const> found) {
      result.status = status;
      for (const Entry* e : found) result.entries.push_back(e ? std::optional(*e) : std::nullopt);
      done = true;
    });
    RunUntil([&] { return done; });
    return result;
  }
  std::optional<std::string> Get(std::string_view key, Space space = Space::kData) {
    ReadResult r = Read(space, {std::string(key)});
    EXPECT_TRUE(r.status.ok()) << r.status.message();
    if (r.entries.empty() || !r.entries[0]) return std::nullopt;
    return r.entries[0]->value;
  }
  struct Page {
    Status status;
    uint64_t cursor = 0;
    std::vector<std::string> keys;
  };
  Page Scan(uint64_t cursor, size_t count, Space space = Space::kData) {
    Page page;
    bool done = false;
    store_->ScanSpace(space, cursor, count,
                      [&](const Status& status, uint64_t next, std::vector<std::string> keys) {
                        page = {status, next, std::move(keys)};
                        done = true;
                      });
    RunUntil([&] { return done; });
    return page;
  }
  std::vector<std::string> ScanAll(size_t count, Space space = Space::kData) {
    std::vector<std::string> all;
    uint64_t cursor = 0;
    int pages = 0;
    do {
      Page page = Scan(cursor, count, space);
      EXPECT_TRUE(page.status.ok()) << page.status.message();
      all.insert(all.end(), page.keys.begin(), page.keys.end());
      cursor = page.cursor;
    } while (cursor != 0 && ++pages < 100000);
    return all;
  }
  int64_t Count() {
    int64_t count = -1;
    bool done = false;
    store_->Count([&](const Status& status, int64_t n) {
      EXPECT_TRUE(status.ok()) << status.message();
      count = n;
      done = true;
    });
    RunUntil([&] { return done; });
    return count;
  }
  std::optional<std::string> RandomKey() {
    std::optional<std::string> key;
    bool done = false;
    store_->RandomKey([&](const Status& status, std::optional<std::string> k) {
      EXPECT_TRUE(status.ok()) << status.message();
      key = std::move(k);
      done = true;
    });
    RunUntil([&] { return done; });
    return key;
  }
  Status Flush() {
    return Wait<Status>([&](auto finish) { store_->Flush(finish); });
  }
  // Lets one prune slice run (BlockingStore::Tick prunes at most once a second).
  void Prune() {
    prune_clock_ += 2000;
    store_->Tick(NowMs() + prune_clock_);
    // The prune runs on a worker: on a one-thread store, a Count queued behind it completes
    // after it.
    Count();
  }

 private:
  uv_loop_t loop_{};
  uv_timer_t wakeup_{};
  std::unique_ptr<FileStore> store_;
  Status open_status_;
  int64_t prune_clock_ = 0;
};

std::string RecordPath(const FileStore& store, Space space, std::string_view key,
                       std::string_view prefix = "test") {
  std::string hash = FileRecordHash(prefix, space, key);
  return store.root() + "/" + std::string(SpaceDirectoryName(space)) + "/" + hash.substr(0, 2) +
         "/" + hash.substr(2, 2) + "/" + hash + ".json";
}

// ---- codec ------------------------------------------------------------------------------------

TEST(FileEntryTest, Base64RoundTripsAndRejectsNonCanonicalText) {
  for (size_t n = 0; n < 20; ++n) {
    std::string bytes = AllBytes().substr(250 - n * 10, n * 3);
    EXPECT_EQ(Base64Decode(Base64Encode(bytes)), bytes);
  }
  EXPECT_EQ(Base64Encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(Base64Encode("fo"), "Zm8=");
  EXPECT_EQ(Base64Decode("Zm8="), "fo");
  EXPECT_FALSE(Base64Decode("Zm8"));       // no padding
  EXPECT_FALSE(Base64Decode("Zm9="));      // non-zero bits under the padding
  EXPECT_FALSE(Base64Decode("Z=8="));      // padding in the middle
  EXPECT_FALSE(Base64Decode("Zm8=Zm8="));  // padding before the end
  EXPECT_FALSE(Base64Decode("Zm 8"));
}

TEST(FileEntryTest, Utf8ValidationAgreesWithTheJsonLibrary) {
  EXPECT_TRUE(IsValidUtf8("plain ascii"));
  EXPECT_TRUE(IsValidUtf8("h\xC3\xA9llo \xE2\x82\xAC \xF0\x9F\x98\x80"));
  EXPECT_FALSE(IsValidUtf8("\xC0\xAF"));          // overlong
  EXPECT_FALSE(IsValidUtf8("\xED\xA0\x80"));      // surrogate
  EXPECT_FALSE(IsValidUtf8("\xF4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\xE2\x82"));          // truncated
  // Whatever the validator accepts, the JSON library must serialize without complaint, and what
  // it rejects the library must reject too (else a value could be stored unencoded and fail).
  std::mt19937 rng(7);
  for (int i = 0; i < 20000; ++i) {
    std::string s(1 + rng() % 6, '\0');
    for (char& c : s) c = static_cast<char>(rng() % 4 == 0 ? rng() % 128 : 0x80 + rng() % 128);
    bool dumped = true;
    try {
      (void)nlohmann::json(s).dump();
    } catch (const nlohmann::json::exception&) {
      dumped = false;
    }
    EXPECT_EQ(IsValidUtf8(s), dumped) << "bytes " << Base64Encode(s);
  }
}

TEST(FileEntryTest, RecordsRoundTripTextAndBinary) {
  FileRecord text{Space::kLock, "user:1", {"héllo", 1234}};
  std::string json = EncodeFileRecord(text);
  EXPECT_NE(json.find("\"value\":\"héllo\""), std::string::npos) << json;
  EXPECT_EQ(json.find("base64"), std::string::npos);
  auto decoded = DecodeFileRecord(json);
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->space, Space::kLock);
  EXPECT_EQ(decoded->key, "user:1");
  EXPECT_EQ(decoded->entry.value, "héllo");
  EXPECT_EQ(decoded->entry.expire_at_ms, 1234);

  FileRecord binary{Space::kData, std::string("k\xFF\0", 3), {AllBytes(), 0}};
  json = EncodeFileRecord(binary);
  EXPECT_NE(json.find("\"value_base64\":true"), std::string::npos);
  EXPECT_NE(json.find("\"key_base64\":true"), std::string::npos);
  decoded = DecodeFileRecord(json);
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->key, binary.key);
  EXPECT_EQ(decoded->entry.value, AllBytes());
}

TEST(FileEntryTest, GarbageDoesNotDecode) {
  std::string good = EncodeFileRecord({Space::kData, "k", {"v", 0}});
  for (std::string bad : {std::string(), std::string("{"), std::string("[]"), std::string("null"),
                          good.substr(0, good.size() / 2),
                          std::string("{\"format\":2,\"space\":\"data\",\"key\":\"k\","
                                      "\"expire_at_ms\":0,\"value\":\"v\"}"),
                          std::string("{\"format\":1,\"space\":\"nope\",\"key\":\"k\","
                                      "\"expire_at_ms\":0,\"value\":\"v\"}"),
                          std::string("{\"format\":1,\"space\":\"data\",\"key\":\"k\","
                                      "\"expire_at_ms\":-5,\"value\":\"v\"}"),
                          std::string("{\"format\":1,\"space\":\"data\",\"key\":\"k\","
                                      "\"expire_at_ms\":0,\"value\":\"!!\",\"value_base64\":true}"),
                          std::string("\xFF\xFE garbage")}) {
    EXPECT_FALSE(DecodeFileRecord(bad)) << bad;
  }
}

TEST(FileEntryTest, NamesAreHashesOfPrefixSpaceAndKey) {
  std::string a = FileRecordHash("p", Space::kData, "k");
  EXPECT_EQ(a.size(), 64u);
  EXPECT_TRUE(IsRecordFileName(a + ".json"));
  EXPECT_NE(a, FileRecordHash("p", Space::kLock, "k"));
  EXPECT_NE(a, FileRecordHash("q", Space::kData, "k"));
  EXPECT_NE(FileRecordHash("ab", Space::kData, "c"), FileRecordHash("a", Space::kData, "bc"));
  EXPECT_FALSE(IsRecordFileName(".tmp-1-2"));
  EXPECT_FALSE(IsRecordFileName("../" + a.substr(3) + ".json"));
  EXPECT_EQ(HashPosition("0123456789abcdef00"), 0x0123456789abcdefULL);
}

TEST(FileEntryTest, PrefixDirectoriesCannotEscapeThePath) {
  EXPECT_EQ(FileStore::PrefixDirectory("arvel_cache"), "arvel_cache");
  EXPECT_EQ(FileStore::PrefixDirectory("app-1"), "app-1");
  for (std::string_view prefix : {"..", "../x", "a/b", "", ".", "app:cache", "/etc"}) {
    std::string dir = FileStore::PrefixDirectory(prefix);
    EXPECT_EQ(dir[0], '~') << prefix;
    EXPECT_EQ(dir.find('/'), std::string::npos) << prefix;
  }
  EXPECT_NE(FileStore::PrefixDirectory("a:b"), FileStore::PrefixDirectory("a;b"));
}

// ---- store ------------------------------------------------------------------------------------

TEST(FileStoreTest, OpensCreatingTheTreeAndRoundTripsValues) {
  TempDir dir;
  Harness h(dir.path() + "/nested/cache");
  ASSERT_TRUE(h.open_status().ok()) << h.open_status().message();
  EXPECT_EQ(h.store().driver(), "file");
  EXPECT_TRUE(fs::is_directory(h.store().root() + "/data"));
  EXPECT_TRUE(fs::is_directory(h.store().root() + "/.locks"));

  EXPECT_EQ(h.Get("missing"), std::nullopt);
  ASSERT_TRUE(h.Put("k", "v").ok());
  EXPECT_EQ(h.Get("k"), "v");
  ASSERT_TRUE(h.Put("k", "v2").ok());
  EXPECT_EQ(h.Get("k"), "v2");
  ASSERT_TRUE(h.Put("", "empty key").ok());
  EXPECT_EQ(h.Get(""), "empty key");
  ASSERT_TRUE(h.Put("empty", "").ok());
  EXPECT_EQ(h.Get("empty"), "");
  ASSERT_TRUE(h.Put(std::string("bin\0\xFF", 5), AllBytes()).ok());
  EXPECT_EQ(h.Get(std::string("bin\0\xFF", 5)), AllBytes());
  EXPECT_EQ(h.store().stats().hits, 5u);
  EXPECT_EQ(h.store().stats().misses, 1u);
  EXPECT_EQ(h.store().stats().writes, 5u);
}

TEST(FileStoreTest, ALazyStoreCreatesNothingUntilItsFirstWrite) {
  TempDir dir;
  const std::string path = dir.path() + "/storage/cache";
  Harness h(path, "test", "file", 2, /*lazy=*/true);
  ASSERT_TRUE(h.open_status().ok());
  EXPECT_EQ(h.Get("k"), std::nullopt);
  EXPECT_EQ(h.Get("k", Space::kLock), std::nullopt);
  EXPECT_TRUE(h.ScanAll(10, Space::kTagged).empty());
  EXPECT_EQ(h.Count(), 0);
  EXPECT_EQ(h.RandomKey(), std::nullopt);
  EXPECT_TRUE(h.Flush().ok());
  h.Prune();
  EXPECT_FALSE(fs::exists(dir.path() + "/storage"));
  ASSERT_TRUE(h.Put("k", "v").ok());
  EXPECT_EQ(h.Get("k"), "v");
  EXPECT_TRUE(fs::is_directory(path + "/test/.locks"));
}

TEST(FileStoreTest, OneReadableJsonFilePerKeyUnderTheFanOut) {
  TempDir dir;
  Harness h(dir.path());
  ASSERT_TRUE(h.Put("user:1", "alice", 4102444800000).ok());
  std::string path = RecordPath(h.store(), Space::kData, "user:1");
  ASSERT_TRUE(fs::exists(path)) << path;
  nlohmann::json json = nlohmann::json::parse(ReadText(path));
  EXPECT_EQ(json["key"], "user:1");
  EXPECT_EQ(json["space"], "data");
  EXPECT_EQ(json["value"], "alice");
  EXPECT_EQ(json["expire_at_ms"], 4102444800000);
  // Nothing else is left in the leaf directory (no temp files).
  EXPECT_EQ(
      std::distance(fs::directory_iterator(fs::path(path).parent_path()), fs::directory_iterator()),
      1);
}

TEST(FileStoreTest, SpacesAreSeparate) {
  TempDir dir;
  Harness h(dir.path());
  ASSERT_TRUE(h.Put("x", "data").ok());
  ASSERT_TRUE(h.Put("x", "lock", 0, Space::kLock).ok());
  EXPECT_EQ(h.Get("x"), "data");
  EXPECT_EQ(h.Get("x", Space::kLock), "lock");
  EXPECT_EQ(h.Get("x", Space::kThrottle), std::nullopt);
  EXPECT_EQ(h.ScanAll(10), std::vector<std::string>{"x"});
  EXPECT_EQ(h.ScanAll(10, Space::kLock), std::vector<std::string>{"x"});
  EXPECT_EQ(h.Count(), 1);
}

TEST(FileStoreTest, ExpiredEntriesReadAsAbsentAndTheirFilesGo) {
  TempDir dir;
  Harness h(dir.path());
  const int64_t now = NowMs();
  ASSERT_TRUE(h.Put("soon", "v", now + 150).ok());
  ASSERT_TRUE(h.Put("past", "v", now - 1).ok());  // an expiry in the past stores nothing
  EXPECT_FALSE(fs::exists(RecordPath(h.store(), Space::kData, "past")));
  auto read = h.Read(Space::kData, {"soon"});
  ASSERT_TRUE(read.entries[0]);
  EXPECT_EQ(read.entries[0]->expire_at_ms, now + 150);
  std::this_thread::sleep_for(milliseconds(200));  // a read judges expiry by the real clock
  EXPECT_EQ(h.Get("soon"), std::nullopt);
  EXPECT_FALSE(fs::exists(RecordPath(h.store(), Space::kData, "soon")));
  EXPECT_TRUE(h.ScanAll(10).empty());
}

TEST(FileStoreTest, UpdateAppliesEveryKindOfDecisionAndReportsChanges) {
  TempDir dir;
  Harness h(dir.path());
  ASSERT_TRUE(h.Put("a", "1").ok());
  ASSERT_TRUE(h.Put("b", "2").ok());
  ASSERT_TRUE(h.Put("c", "3").ok());
  const int64_t later = NowMs() + 100000;
  int calls = 0;
  ASSERT_TRUE(
      h.Update(Space::kData, {"a", "b", "c", "d", "e"}, [&](std::span<KeyUpdate> u, int64_t) {
         ++calls;
         EXPECT_EQ(u[0].current->value, "1");
         EXPECT_EQ(u[3].current, nullptr);
         u[0].Put(u[0].current->value + "!", 0);
         u[1].Erase();
         u[2].Expire(later);
         u[3].Erase();        // absent: no change
         u[4].Expire(later);  // absent: no change
       }).ok());
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(h.Get("a"), "1!");
  EXPECT_EQ(h.Get("b"), std::nullopt);
  auto c = h.Read(Space::kData, {"c"});
  EXPECT_EQ(c.entries[0]->value, "3");
  EXPECT_EQ(c.entries[0]->expire_at_ms, later);
  EXPECT_FALSE(fs::exists(RecordPath(h.store(), Space::kData, "e")));
  EXPECT_EQ(h.store().stats().writes, 3u + 3u);
}

TEST(FileStoreTest, AKeyNamedTwiceInOneUpdateGetsBothDecisionsInOrder) {
  TempDir dir;
  Harness h(dir.path());
  ASSERT_TRUE(h.Update(Space::kData, {"k", "k"}, [](std::span<KeyUpdate> u, int64_t) {
                 EXPECT_EQ(u[0].current, nullptr);
                 EXPECT_EQ(u[1].current, nullptr);
                 u[0].Put("first", 0);
                 u[1].Put("second", 0);
               }).ok());
  EXPECT_EQ(h.Get("k"), "second");
}

TEST(FileStoreTest, TornAndForeignFilesReadAsAbsentAndAreRemoved) {
  TempDir dir;
  Harness h(dir.path());
  ASSERT_TRUE(h.Put("torn", "a long enough value").ok());
  std::string torn = RecordPath(h.store(), Space::kData, "torn");
  std::string text = ReadText(torn);
  WriteText(torn, text.substr(0, text.size() / 2));
  EXPECT_EQ(h.Get("torn"), std::nullopt);
  EXPECT_FALSE(fs::exists(torn));

  // A valid record of another key at this key's name is no better.
  std::string misplaced = RecordPath(h.store(), Space::kData, "x");
  WriteText(misplaced, EncodeFileRecord({Space::kData, "y", {"v", 0}}));
  EXPECT_EQ(h.Get("x"), std::nullopt);
  EXPECT_FALSE(fs::exists(misplaced));

  // An update over garbage replaces it.
  WriteText(torn, "\x01\x02garbage");
  ASSERT_TRUE(h.Update(Space::kData, {"torn"}, [](std::span<KeyUpdate> u, int64_t) {
                 EXPECT_EQ(u[0].current, nullptr);
                 u[0].Put("fresh", 0);
               }).ok());
  EXPECT_EQ(h.Get("torn"), "fresh");
  EXPECT_TRUE(h.store().Health().ok());
}

TEST(FileStoreTest, ScanReturnsEveryKeyWithSmallAndLargeCounts) {
  TempDir dir;
  Harness h(dir.path());
  std::set<std::string> expected;
  for (int i = 0; i < 300; ++i) {
    expected.insert("key:" + std::to_string(i));
    ASSERT_TRUE(h.Put("key:" + std::to_string(i), "v").ok());
  }
  for (size_t count : {1, 10, 1000}) {
    std::vector<std::string> all = h.ScanAll(count);
    EXPECT_EQ(std::set<std::string>(all.begin(), all.end()), expected) << count;
    EXPECT_EQ(all.size(), expected.size()) << "no duplicates without 64-bit hash collisions";
  }
  EXPECT_EQ(h.Count(), 300);
}

TEST(FileStoreTest, ScanKeepsItsPromiseWhileKeysComeAndGo) {
  TempDir dir;
  Harness h(dir.path());
  std::set<std::string> stable;
  for (int i = 0; i < 200; ++i) {
    stable.insert("stable:" + std::to_string(i));
    ASSERT_TRUE(h.Put("stable:" + std::to_string(i), "v").ok());
  }
  std::set<std::string> seen;
  uint64_t cursor = 0;
  int step = 0;
  do {
    Harness::Page page = h.Scan(cursor, 7);
    ASSERT_TRUE(page.status.ok());
    seen.insert(page.keys.begin(), page.keys.end());
    cursor = page.cursor;
    ASSERT_TRUE(h.Put("churn:" + std::to_string(step), "v").ok());
    if (step > 3) {
      ASSERT_TRUE(h.Erase("churn:" + std::to_string(step - 3)).ok());
    }
    ++step;
  } while (cursor != 0);
  for (const std::string& key : stable) EXPECT_TRUE(seen.count(key)) << key;
}

TEST(FileStoreTest, ScanIgnoresTempFilesAndStrangers) {
  TempDir dir;
  Harness h(dir.path());
  ASSERT_TRUE(h.Put("k", "v").ok());
  std::string leaf = fs::path(RecordPath(h.store(), Space::kData, "k")).parent_path();
  WriteText(leaf + "/.tmp-1-1", "partial");
  WriteText(leaf + "/README", "not ours");
  WriteText(h.store().root() + "/data/zz/README", "not ours");
  EXPECT_EQ(h.ScanAll(10), std::vector<std::string>{"k"});
  EXPECT_EQ(h.Count(), 1);
}

TEST(FileStoreTest, RandomKeyFindsLiveKeysOnly) {
  TempDir dir;
  Harness h(dir.path());
  EXPECT_EQ(h.RandomKey(), std::nullopt);
  const int64_t now = NowMs();
  for (int i = 0; i < 30; ++i) {
    ASSERT_TRUE(h.Put("gone:" + std::to_string(i), "v", now + 100).ok());
  }
  ASSERT_TRUE(h.Put("live", "v").ok());
  std::this_thread::sleep_for(milliseconds(150));  // RANDOMKEY judges expiry by the real clock
  for (int i = 0; i < 5; ++i) EXPECT_EQ(h.RandomKey(), "live");
  ASSERT_TRUE(h.Erase("live").ok());
  EXPECT_EQ(h.RandomKey(), std::nullopt);
}

TEST(FileStoreTest, FlushRemovesThisStoresFilesAndNothingElse) {
  TempDir dir;
  Harness mine(dir.path(), "mine");
  Harness other(dir.path(), "other");
  ASSERT_TRUE(mine.Put("a", "1").ok());
  ASSERT_TRUE(mine.Put("t", "1", 0, Space::kTagged).ok());
  ASSERT_TRUE(mine.Put("l", "1", 0, Space::kLock).ok());
  ASSERT_TRUE(other.Put("a", "2").ok());
  WriteText(dir.path() + "/unrelated.txt", "keep me");
  WriteText(mine.store().root() + "/notes.txt", "keep me too");
  std::string leaf = fs::path(RecordPath(mine.store(), Space::kData, "a", "mine")).parent_path();
  WriteText(leaf + "/stranger", "and me");

  ASSERT_TRUE(mine.Flush().ok());
  EXPECT_EQ(mine.Get("a"), std::nullopt);
  EXPECT_EQ(mine.Get("t", Space::kTagged), std::nullopt);
  EXPECT_EQ(mine.Get("l", Space::kLock), std::nullopt);
  EXPECT_EQ(mine.Count(), 0);
  EXPECT_EQ(other.Get("a"), "2");
  EXPECT_EQ(ReadText(dir.path() + "/unrelated.txt"), "keep me");
  EXPECT_EQ(ReadText(mine.store().root() + "/notes.txt"), "keep me too");
  EXPECT_EQ(ReadText(leaf + "/stranger"), "and me");
  EXPECT_TRUE(fs::exists(mine.store().root() + "/.locks"));
  // Still usable afterwards.
  ASSERT_TRUE(mine.Put("a", "3").ok());
  EXPECT_EQ(mine.Get("a"), "3");
}

TEST(FileStoreTest, PruneRemovesExpiredFilesAndOldTempFiles) {
  TempDir dir;
  Harness h(dir.path(), "test", "files", 1);
  // Records that expired long ago, as a stopped daemon would have left them.
  const int64_t past = NowMs() - 1000;
  for (int i = 0; i < 50; ++i) {
    for (Space space : {Space::kData, Space::kLock}) {
      std::string key = "short:" + std::to_string(i);
      WriteText(RecordPath(h.store(), space, key), EncodeFileRecord({space, key, {"v", past}}));
    }
  }
  ASSERT_TRUE(h.Put("keep", "v").ok());
  std::string leaf = fs::path(RecordPath(h.store(), Space::kData, "keep")).parent_path();
  WriteText(leaf + "/.tmp-99-1", "crashed writer");
  WriteText(leaf + "/.tmp-99-2", "live writer");
  struct timeval old_times[2] = {{1000, 0}, {1000, 0}};
  ASSERT_EQ(utimes((leaf + "/.tmp-99-1").c_str(), old_times), 0);
  EXPECT_EQ(h.Count(), 51);  // counted until pruned
  h.Prune();                 // one call: a slice of each space while the budget lasts
  EXPECT_EQ(h.Count(), 1);
  size_t lock_files = 0;
  for (auto& e : fs::recursive_directory_iterator(h.store().root() + "/lock")) {
    lock_files += e.is_regular_file();
  }
  EXPECT_EQ(lock_files, 0u);
  EXPECT_FALSE(fs::exists(leaf + "/.tmp-99-1"));
  EXPECT_TRUE(fs::exists(leaf + "/.tmp-99-2"));
  EXPECT_EQ(h.Get("keep"), "v");
}

// Temp files a kill -9 left mid-write go at start-up and in the prune as soon as their stripe
// is free; one whose stripe is held (a live writer) stays, and so does a fresh one whose name
// names no stripe (an older version's writer), until it is old.
TEST(FileStoreTest, StartUpAndPruneRemoveTempFilesOfCrashedWriters) {
  TempDir dir;
  std::string leaf;
  std::string root;
  {
    Harness first(dir.path(), "test", "files", 1);
    ASSERT_TRUE(first.Put("keep", "v").ok());
    leaf = fs::path(RecordPath(first.store(), Space::kData, "keep")).parent_path();
    root = first.store().root();
  }
  WriteText(leaf + "/.tmp-3c.99-1", "crashed writer");
  WriteText(root + "/.tmp-00.99-2", "crashed probe");
  WriteText(leaf + "/.tmp-99-3", "crashed old-style writer");
  struct timeval old_times[2] = {{1000, 0}, {1000, 0}};
  ASSERT_EQ(utimes((leaf + "/.tmp-99-3").c_str(), old_times), 0);
  WriteText(leaf + "/.tmp-99-4", "live old-style writer");
  WriteText(leaf + "/.tmp-5a.99-5", "live writer");
  StripeLocks writer;
  ASSERT_TRUE(writer.Acquire(root + "/.locks", {0x5a}, StripeLocks::Mode::kExclusive).ok());

  Harness h(dir.path(), "test", "files", 1);
  ASSERT_TRUE(h.open_status().ok()) << h.open_status().message();
  EXPECT_FALSE(fs::exists(leaf + "/.tmp-3c.99-1"));
  EXPECT_FALSE(fs::exists(root + "/.tmp-00.99-2"));
  EXPECT_FALSE(fs::exists(leaf + "/.tmp-99-3"));
  EXPECT_TRUE(fs::exists(leaf + "/.tmp-99-4"));
  EXPECT_TRUE(fs::exists(leaf + "/.tmp-5a.99-5"));
  EXPECT_EQ(h.Get("keep"), "v");

  // The writer dies too; more crashed writers appear (another daemon on the path).
  writer.Release();
  WriteText(leaf + "/.tmp-ff.98-1", "crashed writer");
  WriteText(root + "/.tmp-00.98-2", "crashed probe");
  h.Prune();
  EXPECT_FALSE(fs::exists(leaf + "/.tmp-5a.99-5"));
  EXPECT_FALSE(fs::exists(leaf + "/.tmp-ff.98-1"));
  EXPECT_FALSE(fs::exists(root + "/.tmp-00.98-2"));
  EXPECT_TRUE(fs::exists(leaf + "/.tmp-99-4"));
  EXPECT_EQ(h.Get("keep"), "v");
}

TEST(FileStoreTest, PruneDoesABoundedSliceOfWorkPerCall) {
  TempDir dir;
  Harness h(dir.path(), "test", "files", 1);
  const int64_t past = NowMs() - 1000;
  const int total = static_cast<int>(FileStore::kPruneFiles) + 500;
  for (int i = 0; i < total; ++i) {
    std::string key = "k" + std::to_string(i);
    WriteText(RecordPath(h.store(), Space::kData, key),
              EncodeFileRecord({Space::kData, key, {"v", past}}));
  }
  h.Prune();
  const int64_t left = h.Count();
  EXPECT_GT(left, 0);
  EXPECT_LT(left, total);
  EXPECT_GE(left, total - static_cast<int64_t>(FileStore::kPruneFiles) - 100);
  for (int i = 0; i < 4 && h.Count() > 0; ++i) h.Prune();
  EXPECT_EQ(h.Count(), 0);
}

// Increments `key` `times` times through `h`, `parallel` updates in flight at once.
void IncrementMany(Harness& h, const std::string& key, int times, int parallel) {
  int done = 0;
  int started = 0;
  std::function<void()> start_one = [&] {
    ++started;
    std::string_view keys[] = {key};
    h.store().Update(
        Space::kData, keys,
        [](std::span<KeyUpdate> u, int64_t) {
          int64_t n = u[0].current ? std::stoll(u[0].current->value) : 0;
          u[0].Put(std::to_string(n + 1), 0);
        },
        [&](const Status& status) {
          EXPECT_TRUE(status.ok()) << status.message();
          ++done;
          if (started < times) start_one();
        });
  };
  for (int i = 0; i < parallel && started < times; ++i) start_one();
  h.RunUntil([&] { return done == times; });
  EXPECT_EQ(done, times);
}

TEST(FileStoreTest, UpdatesAreAtomicBetweenWorkerThreads) {
  TempDir dir;
  Harness h(dir.path(), "test", "files", 4);
  IncrementMany(h, "counter", 200, 8);
  EXPECT_EQ(h.Get("counter"), "200");
}

TEST(FileStoreTest, UpdatesAreAtomicBetweenStoresSharingATree) {
  TempDir dir;
  std::atomic<int> failures{0};
  // Two stores on two loops (as two daemons would be), hammering one key at once.
  auto run = [&] {
    Harness h(dir.path(), "shared", "files", 3);
    if (!h.open_status().ok()) ++failures;
    IncrementMany(h, "counter", 150, 6);
  };
  std::thread a(run), b(run);
  a.join();
  b.join();
  EXPECT_EQ(failures, 0);
  Harness check(dir.path(), "shared");
  EXPECT_EQ(check.Get("counter"), "300");
}

TEST(FileStoreTest, MultiKeyUpdatesAreNeverSeenHalfDone) {
  TempDir dir;
  Harness writer(dir.path(), "test", "files", 2);
  ASSERT_TRUE(writer
                  .Update(Space::kData, {"a", "b"},
                          [](std::span<KeyUpdate> u, int64_t) {
                            u[0].Put("0", 0);
                            u[1].Put("0", 0);
                          })
                  .ok());
  std::atomic<bool> stop{false};
  std::atomic<int> torn{0};
  std::thread reader([&] {
    Harness h(dir.path(), "test", "reader", 2);
    while (!stop) {
      auto r = h.Read(Space::kData, {"a", "b"});
      if (r.entries.size() == 2 && r.entries[0] && r.entries[1] &&
          r.entries[0]->value != r.entries[1]->value) {
        ++torn;
      }
    }
  });
  for (int i = 1; i <= 100; ++i) {
    ASSERT_TRUE(writer
                    .Update(Space::kData, {"a", "b"},
                            [i](std::span<KeyUpdate> u, int64_t) {
                              u[0].Put(std::to_string(i), 0);
                              u[1].Put(std::to_string(i), 0);
                            })
                    .ok());
  }
  stop = true;
  reader.join();
  EXPECT_EQ(torn, 0);
}

TEST(StripeLocksTest, ExclusiveLocksExcludeOtherThreadsOfTheSameProcess) {
  TempDir dir;
  StripeLocks held;
  ASSERT_TRUE(held.Acquire(dir.path(), {3, 1, 3}, StripeLocks::Mode::kExclusive).ok());
  std::atomic<bool> acquired{false};
  std::thread other([&] {
    StripeLocks mine;
    EXPECT_TRUE(mine.Acquire(dir.path(), {1}, StripeLocks::Mode::kShared).ok());
    acquired = true;
  });
  std::this_thread::sleep_for(milliseconds(100));  // time to acquire, were flock to allow it
  EXPECT_FALSE(acquired) << "flock must exclude another open file description of this process";
  held.Release();
  other.join();
  EXPECT_TRUE(acquired);
}

TEST(FileStoreTest, PathThatCannotBeCreatedMakesTheStoreUnavailable) {
  Harness h("/dev/null/cache", "test", "broken");
  ASSERT_FALSE(h.open_status().ok());
  EXPECT_EQ(h.open_status().message(),
            "ERR store 'broken' unavailable: cannot create directory '/dev/null/cache': Not a "
            "directory");
  EXPECT_FALSE(h.store().Health().ok());
  auto read = h.Read(Space::kData, {"k"});
  EXPECT_EQ(read.status.message(), h.open_status().message());
  EXPECT_EQ(h.Put("k", "v").message(), h.open_status().message());
}

TEST(FileStoreTest, ALazyStoreOnABadPathFailsAtItsFirstWriteAndStaysDown) {
  Harness h("/dev/null/cache", "test", "file", 1, /*lazy=*/true);
  ASSERT_TRUE(h.open_status().ok());  // nothing asked of it yet
  EXPECT_EQ(h.Get("k"), std::nullopt);
  Status put = h.Put("k", "v");
  EXPECT_EQ(put.message(),
            "ERR store 'file' unavailable: cannot create directory '/dev/null/cache': Not a "
            "directory");
  // Its retries really try the path now, instead of reporting it available again.
  const auto deadline = std::chrono::steady_clock::now() + milliseconds(1500);
  h.RunUntil([&] {
    h.store().Tick(NowMs());
    return std::chrono::steady_clock::now() > deadline;
  });
  EXPECT_FALSE(h.store().Health().ok());
}

// A small tmpfs, when this process may mount one (root in a container with CAP_SYS_ADMIN).
class SmallTmpfs {
 public:
  explicit SmallTmpfs(const std::string& dir) : dir_(dir + "/mnt") {
    fs::create_directories(dir_);
    mounted_ = mount("tmpfs", dir_.c_str(), "tmpfs", 0, "size=256k") == 0;
  }
  ~SmallTmpfs() {
    if (mounted_) umount2(dir_.c_str(), MNT_DETACH);
  }
  bool mounted() const { return mounted_; }
  const std::string& dir() const { return dir_; }
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

TEST(FileStoreTest, FullDiskFailsTheWholeUpdateClearlyAndRecovers) {
  TempDir dir;
  SmallTmpfs tmpfs(dir.path());
  if (!tmpfs.mounted()) GTEST_SKIP() << "cannot mount a tmpfs here";
  Harness h(tmpfs.dir() + "/cache", "test", "files", 2);
  ASSERT_TRUE(h.open_status().ok()) << h.open_status().message();
  ASSERT_TRUE(h.Put("a", "old").ok());
  ASSERT_TRUE(h.Put("b", "old").ok());
  std::string filler = tmpfs.Fill();

  Status full = h.Update(Space::kData, {"a", "b"}, [](std::span<KeyUpdate> u, int64_t) {
    u[0].Put(std::string(64 * 1024, 'n'), 0);
    u[1].Put(std::string(64 * 1024, 'n'), 0);
  });
  ASSERT_FALSE(full.ok());
  EXPECT_NE(full.message().find("ERR store 'files' unavailable: cannot "), std::string::npos);
  EXPECT_NE(full.message().find("No space left on device"), std::string::npos) << full.message();
  EXPECT_FALSE(h.store().Health().ok());

  fs::remove(filler);
  // The store retries opening from Tick, with a backoff of 500 ms.
  h.RunUntil([&] {
    h.store().Tick(NowMs());
    return h.store().Health().ok();
  });
  ASSERT_TRUE(h.store().Health().ok());
  EXPECT_EQ(h.Get("a"), "old");  // nothing of the failed update was written
  EXPECT_EQ(h.Get("b"), "old");
  ASSERT_TRUE(h.Put("a", "new").ok());
  EXPECT_EQ(h.Get("a"), "new");
}

}  // namespace
}  // namespace arvel::drivers
