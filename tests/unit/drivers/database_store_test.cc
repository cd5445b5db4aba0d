// The `database` driver (drivers/sqlite_store.h, drivers/postgres_store.h) through the Store
// interface, on a real loop: every test runs on an SQLite file, and on PostgreSQL when
// ARVEL_TEST_POSTGRES_URL names a reachable database (scripts/start-postgres.sh prints one; each
// test gets tables of its own and drops them). Covers binary safety, expiry, key spaces, atomic
// updates between workers and between stores sharing a database (two daemons), scans under
// concurrent writes, count/random/flush by prefix, pruning, lazy open, and unavailability.

#include "drivers/database_store.h"

#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <sqlite3.h>
#include <unistd.h>
#include <uv.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/errors.h"
#include "config/config.h"
#include "drivers/sqlite_store.h"
#include "drivers/store.h"
#include "tests/unit/drivers/store_test_util.h"

namespace arvel::drivers {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using SteadyClock = std::chrono::steady_clock;
using testing::RecordingObserver;

constexpr auto kTimeout = std::chrono::seconds(20);

class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "arvel-db-store-XXXXXX").string();
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

std::string PostgresUrl() {
  const char* url = std::getenv("ARVEL_TEST_POSTGRES_URL");
  return url ? url : "";
}

// Runs `sql` on PostgreSQL with a connection of its own; "" when it worked, else the error.
std::string PgExec(const std::string& url, const std::string& sql) {
  PGconn* conn = PQconnectdb(url.c_str());
  std::string error;
  if (PQstatus(conn) != CONNECTION_OK) {
    error = PQerrorMessage(conn);
  } else {
    PQsetNoticeProcessor(
        conn, [](void*, const char*) {}, nullptr);
    PGresult* result = PQexec(conn, sql.c_str());
    const ExecStatusType status = PQresultStatus(result);
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) error = PQerrorMessage(conn);
    PQclear(result);
  }
  PQfinish(conn);
  return error;
}

// The first column of the first row of `sql` as an integer; -1 on error.
int64_t PgScalar(const std::string& url, const std::string& sql) {
  PGconn* conn = PQconnectdb(url.c_str());
  int64_t value = -1;
  if (PQstatus(conn) == CONNECTION_OK) {
    PGresult* result = PQexec(conn, sql.c_str());
    if (PQresultStatus(result) == PGRES_TUPLES_OK && PQntuples(result) > 0) {
      value = std::atoll(PQgetvalue(result, 0, 0));
    }
    PQclear(result);
  }
  PQfinish(conn);
  return value;
}

int64_t SqliteScalar(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  int64_t value = -1;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK) {
    sqlite3_busy_timeout(db, 5000);
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW) {
      value = sqlite3_column_int64(stmt, 0);
    }
    sqlite3_finalize(stmt);
  }
  sqlite3_close(db);
  return value;
}

bool SqliteExec(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  bool ok = sqlite3_open(path.c_str(), &db) == SQLITE_OK &&
            sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK;
  sqlite3_close(db);
  return ok;
}

// A libuv loop the tests pump until a completion arrives (a timer wakes it now and then, so a
// completion that never comes fails the test instead of hanging it).
class Loop {
 public:
  Loop() {
    uv_loop_init(&loop_);
    uv_timer_init(&loop_, &wake_);
    uv_timer_start(
        &wake_, [](uv_timer_t*) {}, 5, 5);
  }
  ~Loop() {
    uv_close(reinterpret_cast<uv_handle_t*>(&wake_), nullptr);
    uv_run(&loop_, UV_RUN_DEFAULT);
    uv_loop_close(&loop_);
  }
  uv_loop_t* get() { return &loop_; }

  // Runs the loop until `done()`; false if kTimeout passes first.
  bool RunUntil(const std::function<bool()>& done) {
    const auto deadline = SteadyClock::now() + kTimeout;
    while (!done()) {
      if (SteadyClock::now() > deadline) return false;
      uv_run(&loop_, UV_RUN_ONCE);
    }
    return true;
  }

 private:
  uv_loop_t loop_{};
  uv_timer_t wake_{};
};

UpdateFn IncrementFn() {
  return [](std::span<KeyUpdate> keys, int64_t) {
    for (KeyUpdate& key : keys) {
      const int64_t value = key.current ? std::stoll(key.current->value) : 0;
      key.Put(std::to_string(value + 1), key.current ? key.current->expire_at_ms : 0);
    }
  };
}

// ---------------------------------------------------------------------------------------------

class DatabaseStoreTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (postgres()) {
      url_ = PostgresUrl();
      if (url_.empty()) GTEST_SKIP() << "ARVEL_TEST_POSTGRES_URL is not set";
      const std::string error = PgExec(url_, "SELECT 1");
      if (!error.empty()) GTEST_SKIP() << "PostgreSQL unreachable: " << error;
      table_ = "arvel_unit_" + std::to_string(getpid()) + "_" + std::to_string(++counter_);
    } else {
      url_ = "sqlite://" + dir_.path() + "/db/cache.sqlite";
      table_ = "cache";
    }
  }

  void TearDown() override {
    for (auto& store : stores_) CloseStore(*store);
    stores_.clear();
    if (postgres() && !url_.empty()) {
      (void)PgExec(url_, "DROP TABLE IF EXISTS " + table_ + ", " + table_ + "_locks");
    }
  }

  bool postgres() const { return GetParam() == "postgres"; }

  config::StoreConfig Config(const std::string& prefix = "test") const {
    config::StoreConfig config;
    config.name = "db";
    config.driver = "database";
    config.url = url_;
    config.table = table_;
    config.prefix = prefix;
    return config;
  }

  // A store, opened; the test fails if it did not open.
  Store& NewStore(const std::string& prefix = "test") { return NewStore(Config(prefix), true); }
  Store& NewStore(const config::StoreConfig& config, bool expect_open) {
    stores_.push_back(MakeDatabaseStore(config, loop_.get()));
    Store& store = *stores_.back();
    Status status = Wait<Status>([&](auto done) { store.Open(done); });
    if (expect_open) {
      EXPECT_TRUE(status.ok()) << status.message();
    }
    return store;
  }

  void CloseStore(Store& store) {
    bool closed = false;
    store.Close([&](const Status&) { closed = true; });
    EXPECT_TRUE(loop_.RunUntil([&] { return closed; }));
    uv_run(loop_.get(), UV_RUN_NOWAIT);  // the pool's handle finishes closing
  }

  // Calls `start(done)` and runs the loop until `done(result)` was called.
  template <typename T, typename Start>
  T Wait(Start start) {
    std::optional<T> result;
    start([&](const T& value) { result = value; });
    EXPECT_TRUE(loop_.RunUntil([&] { return result.has_value(); })) << "no completion";
    return result.value_or(T());
  }

  std::vector<std::optional<Entry>> Read(Store& store, Space space,
                                         std::vector<std::string_view> keys) {
    std::vector<std::optional<Entry>> out;
    bool called = false;
    store.Read(space, keys, [&](const Status& status, std::span<const Entry* const> entries) {
      EXPECT_TRUE(status.ok()) << status.message();
      for (const Entry* e : entries) out.push_back(e ? std::optional<Entry>(*e) : std::nullopt);
      called = true;
    });
    EXPECT_TRUE(loop_.RunUntil([&] { return called; }));
    return out;
  }
  std::optional<std::string> Get(Store& store, std::string_view key, Space space = Space::kData) {
    auto entries = Read(store, space, {key});
    if (entries.empty() || !entries[0]) return std::nullopt;
    return entries[0]->value;
  }

  Status Update(Store& store, Space space, std::vector<std::string_view> keys, UpdateFn fn) {
    return Wait<Status>([&](auto done) { store.Update(space, keys, std::move(fn), done); });
  }
  Status Put(Store& store, std::string_view key, std::string value, int64_t expire_at = 0,
             Space space = Space::kData) {
    return Update(store, space, {key}, [value, expire_at](std::span<KeyUpdate> keys, int64_t) {
      keys[0].Put(value, expire_at);
    });
  }

  struct Page {
    uint64_t cursor = 0;
    std::vector<std::string> keys;
  };
  Page ScanPage(Store& store, Space space, uint64_t cursor, size_t count) {
    Page page;
    bool called = false;
    store.ScanSpace(space, cursor, count,
                    [&](const Status& status, uint64_t next, std::vector<std::string> keys) {
                      EXPECT_TRUE(status.ok()) << status.message();
                      page = {next, std::move(keys)};
                      called = true;
                    });
    EXPECT_TRUE(loop_.RunUntil([&] { return called; }));
    return page;
  }
  std::multiset<std::string> ScanAll(Store& store, Space space = Space::kData, size_t count = 7) {
    std::multiset<std::string> keys;
    uint64_t cursor = 0;
    do {
      Page page = ScanPage(store, space, cursor, count);
      keys.insert(page.keys.begin(), page.keys.end());
      cursor = page.cursor;
    } while (cursor != 0);
    return keys;
  }

  int64_t Count(Store& store) {
    std::optional<int64_t> count;
    store.Count([&](const Status& status, int64_t n) {
      EXPECT_TRUE(status.ok()) << status.message();
      count = n;
    });
    EXPECT_TRUE(loop_.RunUntil([&] { return count.has_value(); }));
    return count.value_or(-1);
  }

  std::optional<std::string> RandomKey(Store& store) {
    std::optional<std::string> key;
    bool called = false;
    store.RandomKey([&](const Status& status, std::optional<std::string> k) {
      EXPECT_TRUE(status.ok()) << status.message();
      key = std::move(k);
      called = true;
    });
    EXPECT_TRUE(loop_.RunUntil([&] { return called; }));
    return key;
  }

  Status Flush(Store& store) {
    return Wait<Status>([&](auto done) { store.Flush(done); });
  }

  // Rows physically in the data table (expired ones included), for pruning.
  int64_t RawRows() {
    const std::string sql = "SELECT count(*) FROM " + table_;
    return postgres() ? PgScalar(url_, sql) : SqliteScalar(dir_.path() + "/db/cache.sqlite", sql);
  }

  inline static int counter_ = 0;
  TempDir dir_;
  Loop loop_;
  std::string url_;
  std::string table_;
  std::vector<std::unique_ptr<Store>> stores_;
};

TEST_P(DatabaseStoreTest, StoresBinaryValuesAndKeys) {
  Store& store = NewStore();
  std::string binary;
  for (int c = 0; c < 256; ++c) binary += static_cast<char>(c);
  const std::string key("k\0\xff\x80 key", 9);
  ASSERT_TRUE(Put(store, key, binary).ok());
  ASSERT_TRUE(Put(store, "empty", "").ok());
  EXPECT_EQ(Get(store, key), binary);
  EXPECT_EQ(Get(store, "empty"), "");
  EXPECT_EQ(Get(store, "missing"), std::nullopt);
  EXPECT_EQ(Get(store, std::string_view(key.data(), 2)), std::nullopt);  // "k\0" is another key
}

// Longer than a PostgreSQL B-tree entry may be (~2.7 kB): the store must not index it as is.
TEST_P(DatabaseStoreTest, LongKeysWork) {
  Store& store = NewStore();
  std::string key(20000, 'k');
  key[19999] = 'a';
  std::string sibling = key;
  sibling[19999] = 'b';
  ASSERT_TRUE(Put(store, key, "a").ok());
  ASSERT_TRUE(Put(store, sibling, "b").ok());
  ASSERT_TRUE(Put(store, key, "a2").ok());
  ASSERT_TRUE(Put(store, key, "owner", 0, Space::kLock).ok());
  EXPECT_EQ(Get(store, key), "a2");
  EXPECT_EQ(Get(store, sibling), "b");
  EXPECT_EQ(Get(store, key, Space::kLock), "owner");
  EXPECT_EQ(ScanAll(store).size(), 2u);
  EXPECT_TRUE(store.Health().ok());
}

TEST_P(DatabaseStoreTest, LargeValueRoundTrips) {
  Store& store = NewStore();
  std::string big(3 << 20, 'x');
  for (size_t i = 0; i < big.size(); i += 4096) big[i] = static_cast<char>(i / 4096);
  ASSERT_TRUE(Put(store, "big", big).ok());
  EXPECT_EQ(Get(store, "big"), big);
}

TEST_P(DatabaseStoreTest, ExpiredEntriesAreInvisible) {
  Store& store = NewStore();
  const int64_t now = NowMs();
  ASSERT_TRUE(Put(store, "soon", "v", now + 1000).ok());
  ASSERT_TRUE(Put(store, "later", "v", now + 60'000).ok());
  ASSERT_TRUE(Put(store, "past", "v", now - 1).ok());  // a past expiry stores nothing
  auto entries = Read(store, Space::kData, {"soon", "later", "past"});
  ASSERT_EQ(entries.size(), 3u);
  ASSERT_TRUE(entries[0] && entries[1]);
  EXPECT_EQ(entries[1]->expire_at_ms, now + 60'000);
  EXPECT_FALSE(entries[2]);
  // The driver judges expiry by the real clock: wait out the 1 s.
  while (NowMs() <= now + 1000) std::this_thread::sleep_for(milliseconds(20));
  EXPECT_EQ(Get(store, "soon"), std::nullopt);
  EXPECT_EQ(Count(store), 1);
  EXPECT_EQ(ScanAll(store), (std::multiset<std::string>{"later"}));
}

TEST_P(DatabaseStoreTest, SpacesAndLocksAreSeparate) {
  Store& store = NewStore();
  ASSERT_TRUE(Put(store, "x", "data").ok());
  ASSERT_TRUE(Put(store, "x", "tagged", 0, Space::kTagged).ok());
  ASSERT_TRUE(Put(store, "x", "owner-token", 0, Space::kLock).ok());
  EXPECT_EQ(Get(store, "x"), "data");
  EXPECT_EQ(Get(store, "x", Space::kTagged), "tagged");
  EXPECT_EQ(Get(store, "x", Space::kLock), "owner-token");
  EXPECT_EQ(Get(store, "x", Space::kThrottle), std::nullopt);
  EXPECT_EQ(Count(store), 1);  // kData only
  EXPECT_EQ(ScanAll(store, Space::kTagged), (std::multiset<std::string>{"x"}));
  // The locks live in <table>_locks.
  const std::string sql = "SELECT count(*) FROM " + table_ + "_locks";
  EXPECT_EQ(postgres() ? PgScalar(url_, sql) : SqliteScalar(dir_.path() + "/db/cache.sqlite", sql),
            1);
}

TEST_P(DatabaseStoreTest, UpdateSeesCurrentAndReportsChanges) {
  Store& store = NewStore();
  RecordingObserver observer;
  store.set_observer(&observer);
  ASSERT_TRUE(Put(store, "a", "1", NowMs() + 60'000).ok());
  std::vector<std::string> seen;
  Status status = Update(store, Space::kData, {"a", "b", "c", "d"},
                         [&](std::span<KeyUpdate> keys, int64_t now) {
                           for (KeyUpdate& k : keys)
                             seen.push_back(k.current ? k.current->value : "-");
                           keys[0].Expire(0);        // a: persist
                           keys[1].Put("2", 0);      // b: new
                           keys[2].Erase();          // c: absent, no change
                           keys[3].Expire(now + 5);  // d: absent, no change
                         });
  ASSERT_TRUE(status.ok()) << status.message();
  EXPECT_EQ(seen, (std::vector<std::string>{"1", "-", "-", "-"}));
  auto entries = Read(store, Space::kData, {"a", "b", "c", "d"});
  ASSERT_TRUE(entries[0] && entries[1]);
  EXPECT_EQ(entries[0]->expire_at_ms, 0);
  EXPECT_EQ(entries[1]->value, "2");
  EXPECT_FALSE(entries[2] || entries[3]);
  std::vector<std::string> written;
  for (const auto& event : observer.events) written.push_back(event.key);
  EXPECT_EQ(written, (std::vector<std::string>{"a", "a", "b"}));  // the Put, then a and b
  store.set_observer(nullptr);
}

TEST_P(DatabaseStoreTest, ConcurrentIncrementsOnOneStoreAreExact) {
  Store& store = NewStore();
  constexpr int kCalls = 200;
  int done = 0;
  for (int i = 0; i < kCalls; ++i) {
    std::string_view keys[] = {"counter"};
    store.Update(Space::kData, keys, IncrementFn(), [&](const Status& status) {
      EXPECT_TRUE(status.ok()) << status.message();
      ++done;
    });
  }
  ASSERT_TRUE(loop_.RunUntil([&] { return done == kCalls; }));
  EXPECT_EQ(Get(store, "counter"), std::to_string(kCalls));
}

// Two stores on one database and prefix behave like two daemons: separate connections, no
// shared in-process lock. Read-modify-writes must still serialize exactly.
TEST_P(DatabaseStoreTest, IncrementsAndAddsAcrossTwoStoresAreExact) {
  Store& first = NewStore();
  Store& second = NewStore();
  constexpr int kCalls = 150;
  int done = 0;
  auto winners = std::make_shared<std::atomic<int>>(0);
  for (int i = 0; i < kCalls; ++i) {
    for (Store* store : {&first, &second}) {
      std::string_view counter[] = {"counter"};
      store->Update(Space::kData, counter, IncrementFn(), [&](const Status& status) {
        EXPECT_TRUE(status.ok()) << status.message();
        ++done;
      });
      std::string_view lock[] = {"mutex"};
      // ADD on the lock space: exactly one of all these may find it absent.
      store->Update(
          Space::kLock, lock,
          [winners](std::span<KeyUpdate> keys, int64_t now) {
            if (keys[0].current) return;
            ++*winners;
            keys[0].Put("owner", now + 60'000);
          },
          [&](const Status& status) {
            EXPECT_TRUE(status.ok()) << status.message();
            ++done;
          });
    }
  }
  ASSERT_TRUE(loop_.RunUntil([&] { return done == 4 * kCalls; }));
  EXPECT_EQ(Get(first, "counter"), std::to_string(2 * kCalls));
  EXPECT_EQ(winners->load(), 1);
}

TEST_P(DatabaseStoreTest, MultiKeyUpdatesDoNotDeadlock) {
  Store& first = NewStore();
  Store& second = NewStore();
  constexpr int kCalls = 60;
  int done = 0;
  for (int i = 0; i < kCalls; ++i) {
    // Opposite key orders in the two stores: sorted locking must keep them from deadlocking.
    std::string_view forward[] = {"a", "b", "c"};
    std::string_view backward[] = {"c", "b", "a"};
    auto count = [&](const Status& status) {
      EXPECT_TRUE(status.ok()) << status.message();
      ++done;
    };
    first.Update(Space::kData, forward, IncrementFn(), count);
    second.Update(Space::kData, backward, IncrementFn(), count);
  }
  ASSERT_TRUE(loop_.RunUntil([&] { return done == 2 * kCalls; }));
  for (std::string_view key : {"a", "b", "c"}) EXPECT_EQ(Get(first, key), "120");
}

TEST_P(DatabaseStoreTest, ScanReturnsEveryKeyPresentThroughout) {
  Store& store = NewStore();
  std::multiset<std::string> stable;
  for (int i = 0; i < 300; ++i) {
    const std::string key = "key:" + std::to_string(i);
    ASSERT_TRUE(Put(store, key, "v").ok());
    if (i % 3 != 0) stable.insert(key);
  }
  ASSERT_TRUE(Put(store, "tagged", "v", 0, Space::kTagged).ok());
  std::multiset<std::string> seen;
  uint64_t cursor = 0;
  int step = 0;
  do {
    Page page = ScanPage(store, Space::kData, cursor, 25);
    seen.insert(page.keys.begin(), page.keys.end());
    cursor = page.cursor;
    // Meanwhile: every third key goes away, new ones arrive, stable ones are rewritten.
    for (int i = step * 9; i < step * 9 + 9 && i < 300; i += 3) {
      const std::string gone = "key:" + std::to_string(i);
      ASSERT_TRUE(Update(store, Space::kData, {gone}, [](std::span<KeyUpdate> keys, int64_t) {
                    keys[0].Erase();
                  }).ok());
      ASSERT_TRUE(Put(store, "new:" + std::to_string(i), "v").ok());
      ASSERT_TRUE(Put(store, "key:" + std::to_string(i + 1), "rewritten").ok());
    }
    ++step;
  } while (cursor != 0);
  for (const std::string& key : stable) EXPECT_EQ(seen.count(key), 1u) << key;
  EXPECT_EQ(seen.count("tagged"), 0u);
}

TEST_P(DatabaseStoreTest, ScanPagesRespectCountAndLockSpaceIsRefused) {
  Store& store = NewStore();
  for (int i = 0; i < 30; ++i) ASSERT_TRUE(Put(store, "k" + std::to_string(i), "v").ok());
  Page page = ScanPage(store, Space::kData, 0, 10);
  EXPECT_EQ(page.keys.size(), 10u);
  EXPECT_NE(page.cursor, 0u);
  EXPECT_EQ(ScanAll(store, Space::kData, 1000).size(), 30u);
  EXPECT_EQ(ScanPage(store, Space::kData, UINT64_MAX, 10).cursor, 0u);
  bool failed = false;
  store.ScanSpace(Space::kLock, 0, 10,
                  [&](const Status& status, uint64_t, auto) { failed = !status.ok(); });
  EXPECT_TRUE(failed);
  EXPECT_TRUE(store.Health().ok());  // refusing a space is not the backend failing
}

TEST_P(DatabaseStoreTest, RandomKeyAndCount) {
  Store& store = NewStore();
  EXPECT_EQ(RandomKey(store), std::nullopt);
  EXPECT_EQ(Count(store), 0);
  std::set<std::string> keys;
  for (int i = 0; i < 20; ++i) {
    keys.insert("r" + std::to_string(i));
    ASSERT_TRUE(Put(store, "r" + std::to_string(i), "v").ok());
  }
  ASSERT_TRUE(Put(store, "dead", "v", NowMs() + 100).ok());
  std::this_thread::sleep_for(milliseconds(150));  // `dead` expires (real clock)
  std::set<std::string> drawn;
  for (int i = 0; i < 60; ++i) {
    std::optional<std::string> key = RandomKey(store);
    ASSERT_TRUE(key);
    EXPECT_TRUE(keys.count(*key)) << *key;
    drawn.insert(*key);
  }
  EXPECT_GT(drawn.size(), 5u);
  EXPECT_EQ(Count(store), 20);
}

TEST_P(DatabaseStoreTest, FlushRemovesOnlyThisPrefix) {
  Store& mine = NewStore("mine");
  Store& other = NewStore("other");
  RecordingObserver observer;
  mine.set_observer(&observer);
  ASSERT_TRUE(Put(mine, "k", "v").ok());
  ASSERT_TRUE(Put(mine, "l", "token", 0, Space::kLock).ok());
  ASSERT_TRUE(Put(other, "k", "theirs").ok());
  ASSERT_TRUE(Put(other, "l", "their-token", 0, Space::kLock).ok());
  ASSERT_TRUE(Flush(mine).ok());
  EXPECT_EQ(Get(mine, "k"), std::nullopt);
  EXPECT_EQ(Get(mine, "l", Space::kLock), std::nullopt);
  EXPECT_EQ(Get(other, "k"), "theirs");
  EXPECT_EQ(Get(other, "l", Space::kLock), "their-token");
  ASSERT_FALSE(observer.events.empty());
  EXPECT_TRUE(observer.events.back().all);
  mine.set_observer(nullptr);
}

TEST_P(DatabaseStoreTest, PruneDeletesExpiredRows) {
  Store& store = NewStore();
  // Each expiry relative to its own write, so a slow machine cannot make a write arrive late.
  int64_t last_expiry = 0;
  for (int i = 0; i < 40; ++i) {
    last_expiry = NowMs() + 500;
    ASSERT_TRUE(Put(store, "short" + std::to_string(i), "v", last_expiry).ok());
  }
  ASSERT_TRUE(Put(store, "lock", "t", NowMs() + 500, Space::kLock).ok());
  ASSERT_TRUE(Put(store, "keep", "v").ok());
  // The rows expire by the real clock; wait until all have.
  while (NowMs() <= last_expiry + 600) std::this_thread::sleep_for(milliseconds(50));
  EXPECT_EQ(RawRows(), 41);  // expired, but still there
  // Tick prunes about once a second, items and locks in their own statements; keep ticking
  // until both are gone.
  const std::string sql = "SELECT count(*) FROM " + table_ + "_locks";
  auto lock_rows = [&] {
    return postgres() ? PgScalar(url_, sql) : SqliteScalar(dir_.path() + "/db/cache.sqlite", sql);
  };
  EXPECT_TRUE(loop_.RunUntil([&] {
    store.Tick(NowMs());
    return RawRows() == 1 && lock_rows() == 0;
  }));
  EXPECT_EQ(Get(store, "keep"), "v");
  EXPECT_EQ(lock_rows(), 0);
}

TEST_P(DatabaseStoreTest, ValuesSurviveReopening) {
  {
    Store& store = NewStore();
    ASSERT_TRUE(Put(store, "durable", "yes").ok());
    CloseStore(store);
    stores_.clear();
  }
  Store& again = NewStore();
  EXPECT_EQ(Get(again, "durable"), "yes");
}

TEST_P(DatabaseStoreTest, ForeignTableLayoutIsReportedClearly) {
  const std::string legacy = table_ + "_legacy";
  const std::string create =
      "CREATE TABLE " + legacy + " (key varchar(255) PRIMARY KEY, value text, expiration int)";
  if (postgres()) {
    ASSERT_EQ(PgExec(url_, create), "");
  } else {
    fs::create_directories(dir_.path() + "/db");
    ASSERT_TRUE(SqliteExec(dir_.path() + "/db/cache.sqlite", create));
  }
  config::StoreConfig config = Config();
  config.table = legacy;
  Store& store = NewStore(config, false);
  Status health = store.Health();
  EXPECT_FALSE(health.ok());
  EXPECT_NE(health.message().find("store 'db' unavailable"), std::string::npos);
  EXPECT_NE(health.message().find("without the columns"), std::string::npos) << health.message();
  if (postgres()) {
    (void)PgExec(url_, "DROP TABLE IF EXISTS " + legacy + ", " + legacy + "_locks");
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, DatabaseStoreTest, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

// ---------------------------------------------------------------------------------------------
// Backend-specific behaviour.

class DatabaseStoreEdgeTest : public ::testing::Test {
 protected:
  void TearDown() override {
    for (auto& store : stores_) {
      bool closed = false;
      store->Close([&](const Status&) { closed = true; });
      EXPECT_TRUE(loop_.RunUntil([&] { return closed; }));
      uv_run(loop_.get(), UV_RUN_NOWAIT);
    }
  }

  Store& Open(const config::StoreConfig& config, Status* status) {
    stores_.push_back(MakeDatabaseStore(config, loop_.get()));
    std::optional<Status> result;
    stores_.back()->Open([&](const Status& s) { result = s; });
    EXPECT_TRUE(loop_.RunUntil([&] { return result.has_value(); }));
    *status = result.value_or(Status::Error("no completion"));
    return *stores_.back();
  }

  static config::StoreConfig Config(const std::string& url) {
    config::StoreConfig config;
    config.name = "db";
    config.driver = "database";
    config.url = url;
    config.prefix = "p";
    return config;
  }

  Status Put(Store& store, std::string_view key) {
    std::optional<Status> result;
    std::string_view keys[] = {key};
    store.Update(
        Space::kData, keys, [](std::span<KeyUpdate> k, int64_t) { k[0].Put("v", 0); },
        [&](const Status& s) { result = s; });
    EXPECT_TRUE(loop_.RunUntil([&] { return result.has_value(); }));
    return result.value_or(Status::Error("no completion"));
  }

  TempDir dir_;
  Loop loop_;
  std::vector<std::unique_ptr<Store>> stores_;
};

TEST_F(DatabaseStoreEdgeTest, UnopenableSqlitePathFailsFastAndRecovers) {
  const std::string blocker = dir_.path() + "/blocker";
  std::ofstream(blocker) << "a file where a directory should be";
  Status status;
  Store& store = Open(Config("sqlite://" + blocker + "/cache.sqlite"), &status);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.message().rfind("ERR store 'db' unavailable: sqlite ", 0), 0u)
      << status.message();
  const auto start = SteadyClock::now();
  Status put = Put(store, "k");
  EXPECT_FALSE(put.ok());
  EXPECT_LT(SteadyClock::now() - start, milliseconds(200));  // fails fast while down
  // Once the path can be created, a periodic retry brings the store back.
  fs::remove(blocker);
  EXPECT_TRUE(loop_.RunUntil([&] {
    store.Tick(NowMs());
    return store.Health().ok();
  }));
  EXPECT_TRUE(Put(store, "k").ok());
}

TEST_F(DatabaseStoreEdgeTest, UnreachablePostgresFailsFastWithTheReason) {
  Status status;
  const auto start = SteadyClock::now();
  Store& store = Open(Config("postgresql://arvel:secret@127.0.0.1:1/none"), &status);
  EXPECT_LT(SteadyClock::now() - start, std::chrono::seconds(5));
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.message().rfind("ERR store 'db' unavailable: postgresql: ", 0), 0u)
      << status.message();
  EXPECT_NE(status.message().find("Connection refused"), std::string::npos) << status.message();
  EXPECT_EQ(status.message().find("secret"), std::string::npos);  // never the password
  EXPECT_EQ(status.message().find('\n'), std::string::npos);
  EXPECT_FALSE(Put(store, "k").ok());
}

TEST_F(DatabaseStoreEdgeTest, ImplicitSqliteStoreCreatesNothingUntilUsed) {
  const std::string path = dir_.path() + "/storage/cache.sqlite";
  config::StoreConfig config = Config("sqlite://" + path);
  config.implicit = true;
  Status status;
  Store& store = Open(config, &status);
  EXPECT_TRUE(status.ok());
  for (int i = 0; i < 3; ++i) store.Tick(NowMs() + i * 2000);  // prune passes
  uv_run(loop_.get(), UV_RUN_NOWAIT);
  std::this_thread::sleep_for(milliseconds(50));  // time for a prune pass to open the file, wrongly
  uv_run(loop_.get(), UV_RUN_NOWAIT);
  EXPECT_FALSE(fs::exists(path));
  EXPECT_TRUE(Put(store, "k").ok());
  EXPECT_TRUE(fs::exists(path));
}

TEST_F(DatabaseStoreEdgeTest, RelativeSqlitePathIsUnderTheWorkingDirectory) {
  const fs::path before = fs::current_path();
  fs::current_path(dir_.path());
  Status status;
  Store& store = Open(Config("sqlite://rel/dir/cache.sqlite"), &status);
  EXPECT_TRUE(status.ok()) << status.message();
  EXPECT_TRUE(Put(store, "k").ok());
  fs::current_path(before);
  EXPECT_TRUE(fs::exists(dir_.path() + "/rel/dir/cache.sqlite"));
  // WAL mode, as the design relies on.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir_.path() + "/rel/dir/cache.sqlite").c_str(), &db), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &stmt, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(stmt), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)), "wal");
  sqlite3_finalize(stmt);
  sqlite3_close(db);
}

TEST_F(DatabaseStoreEdgeTest, InMemorySqliteWorksWhenAskedFor) {
  Status status;
  Store& store = Open(Config("sqlite://:memory:"), &status);
  ASSERT_TRUE(status.ok()) << status.message();
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(Put(store, "k" + std::to_string(i)).ok());
  std::optional<int64_t> count;
  store.Count([&](const Status&, int64_t n) { count = n; });
  ASSERT_TRUE(loop_.RunUntil([&] { return count.has_value(); }));
  EXPECT_EQ(*count, 20);  // one connection, so every call sees the same database
  EXPECT_FALSE(fs::exists(":memory:"));
}

// Counts the "some keys changed elsewhere" reports a store makes.
class RemoteChangeCounter : public KeyObserver {
 public:
  void OnKeyWritten(Store&, Space, std::string_view, bool) override {}
  void OnRemoteChange(Store&) override { ++reports; }
  int reports = 0;
};

TEST_F(DatabaseStoreEdgeTest, SqliteStoresOnOneFileHearOfEachOthersCommits) {
  const std::string url = "sqlite://" + dir_.path() + "/cache.sqlite";
  Status status;
  Store& writer = Open(Config(url), &status);
  ASSERT_TRUE(status.ok()) << status.message();
  Store& waiter = Open(Config(url), &status);  // as a second daemon would
  ASSERT_TRUE(status.ok()) << status.message();
  EXPECT_TRUE(waiter.capabilities().shared);
  EXPECT_TRUE(waiter.capabilities().notifies_remote_changes);
  RemoteChangeCounter counter;
  waiter.set_observer(&counter);
  auto run_for = [&](milliseconds duration) {
    const auto until = SteadyClock::now() + duration;
    (void)loop_.RunUntil([&] { return SteadyClock::now() >= until; });
  };
  run_for(milliseconds(50));  // whatever opening wrote has been reported
  counter.reports = 0;

  // Reads, and updates that change nothing (a failed lock attempt), write nothing: no report,
  // so waiters looking again never wake each other up.
  std::optional<Status> kept;
  std::string_view keys[] = {"k"};
  writer.Update(
      Space::kLock, keys, [](std::span<KeyUpdate>, int64_t) {}, [&](const Status& s) { kept = s; });
  ASSERT_TRUE(loop_.RunUntil([&] { return kept.has_value(); }));
  std::optional<Status> read;
  writer.Read(Space::kData, keys, [&](const Status& s, auto) { read = s; });
  ASSERT_TRUE(loop_.RunUntil([&] { return read.has_value(); }));
  run_for(milliseconds(50));
  EXPECT_EQ(counter.reports, 0);

  // A commit is reported at once.
  const auto start = SteadyClock::now();
  ASSERT_TRUE(Put(writer, "k").ok());
  ASSERT_TRUE(loop_.RunUntil([&] { return counter.reports >= 1; }));
  EXPECT_LT(SteadyClock::now() - start, milliseconds(500));

  // Many commits: at most one report per interval (plus the burst's first and last).
  run_for(milliseconds(50));
  counter.reports = 0;
  const auto burst = SteadyClock::now();
  for (int i = 0; i < 300; ++i) ASSERT_TRUE(Put(writer, "k" + std::to_string(i)).ok());
  const auto elapsed = std::chrono::duration_cast<milliseconds>(SteadyClock::now() - burst).count();
  run_for(milliseconds(50));
  EXPECT_GE(counter.reports, 1);
  EXPECT_LE(counter.reports, elapsed / SqliteStore::kChangeReportIntervalMs + 3)
      << "300 commits over " << elapsed << " ms";
  waiter.set_observer(nullptr);
}

TEST_F(DatabaseStoreEdgeTest, InMemorySqliteIsNotShared) {
  Status status;
  Store& store = Open(Config("sqlite://:memory:"), &status);
  ASSERT_TRUE(status.ok()) << status.message();
  EXPECT_FALSE(store.capabilities().shared);  // no other process can open it
  EXPECT_FALSE(store.capabilities().notifies_remote_changes);
}

TEST_F(DatabaseStoreEdgeTest, UnknownSchemeIsUnavailable) {
  Status status;
  Store& store = Open(Config("mysql://x"), &status);
  EXPECT_FALSE(store.Health().ok());
  EXPECT_NE(store.Health().message().find("unsupported database URL"), std::string::npos);
}

TEST_F(DatabaseStoreEdgeTest, PostgresReconnectsAfterTheServerDropsItsConnections) {
  const std::string base = PostgresUrl();
  if (base.empty()) GTEST_SKIP() << "ARVEL_TEST_POSTGRES_URL is not set";
  if (!PgExec(base, "SELECT 1").empty()) GTEST_SKIP() << "PostgreSQL unreachable";
  const std::string app = "arvel_reconnect_" + std::to_string(getpid());
  const std::string table = app;
  config::StoreConfig config =
      Config(base + (base.find('?') == std::string::npos ? "?" : "&") + "application_name=" + app);
  config.table = table;
  Status status;
  Store& store = Open(config, &status);
  ASSERT_TRUE(status.ok()) << status.message();
  ASSERT_TRUE(Put(store, "k").ok());
  const std::string connections =
      "SELECT count(*) FROM pg_stat_activity WHERE application_name = '" + app + "'";
  // The four workers' and the change channel's, once the channel listens.
  ASSERT_TRUE(loop_.RunUntil([&] { return store.capabilities().notifies_remote_changes; }));
  // What a server restart does to idle connections.
  EXPECT_EQ(PgScalar(base,
                     "SELECT count(pg_terminate_backend(pid, 5000)) FROM pg_stat_activity "
                     "WHERE application_name = '" +
                         app + "'"),
            5);
  for (int i = 0; i < 8; ++i) EXPECT_TRUE(Put(store, "k").ok());  // every worker reconnects
  EXPECT_TRUE(store.Health().ok());
  // So does the change channel, by itself.
  EXPECT_TRUE(loop_.RunUntil([&] {
    return store.capabilities().notifies_remote_changes && PgScalar(base, connections) == 5;
  }));
  (void)PgExec(base, "DROP TABLE IF EXISTS " + table + ", " + table + "_locks");
}

}  // namespace
}  // namespace arvel::drivers
