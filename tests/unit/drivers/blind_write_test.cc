// Blind writes on the stores whose calls block (drivers/blocking_store.h): SET, PUTMANY, tag
// generation replacement and DEL go to WriteBlocking / EraseBlocking instead of a read-modify-
// write. On the SQLite file, PostgreSQL (when ARVEL_TEST_POSTGRES_URL names a reachable
// database) and the file store: a PUT is one statement (one round trip; no record read), a DEL
// one statement that counts only live keys, the results and observer notifications are those
// of the generic executor, and a blind write never slips between the read and the write of an
// update of the same key in flight on another store sharing the backend.

#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <unistd.h>
#include <uv.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "config/config.h"
#include "drivers/database_store.h"
#include "drivers/file_store.h"
#include "drivers/postgres_store.h"
#include "drivers/sqlite_store.h"
#include "drivers/store.h"
#include "tests/unit/drivers/store_test_util.h"

namespace arvel::drivers {
namespace {

namespace fs = std::filesystem;
using SteadyClock = std::chrono::steady_clock;
using testing::RecordingObserver;

std::string PostgresUrl() {
  const char* url = std::getenv("ARVEL_TEST_POSTGRES_URL");
  return url ? url : "";
}

std::string PgExec(const std::string& sql) {
  PGconn* conn = PQconnectdb(PostgresUrl().c_str());
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

class BlindWriteTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "arvel-blind-XXXXXX").string();
    dir_ = mkdtemp(pattern.data());
    uv_loop_init(&loop_);
    uv_timer_init(&loop_, &wake_);
    uv_timer_start(
        &wake_, [](uv_timer_t*) {}, 5, 5);
    if (GetParam() == "postgres") {
      if (PostgresUrl().empty()) GTEST_SKIP() << "ARVEL_TEST_POSTGRES_URL is not set";
      const std::string error = PgExec("SELECT 1");
      if (!error.empty()) GTEST_SKIP() << "PostgreSQL unreachable: " << error;
      table_ = "arvel_blind_" + std::to_string(getpid()) + "_" + std::to_string(++counter_);
    }
  }

  void TearDown() override {
    for (auto& store : stores_) {
      bool closed = false;
      store->Close([&](const Status&) { closed = true; });
      EXPECT_TRUE(RunUntil([&] { return closed; }));
    }
    stores_.clear();
    uv_close(reinterpret_cast<uv_handle_t*>(&wake_), nullptr);
    uv_run(&loop_, UV_RUN_DEFAULT);
    uv_loop_close(&loop_);
    if (!table_.empty()) (void)PgExec("DROP TABLE IF EXISTS " + table_ + ", " + table_ + "_locks");
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  // A store on the test's backend, opened; every store of a test shares the backend.
  Store& NewStore() {
    if (GetParam() == "file") {
      FileStoreOptions options;
      options.path = dir_ + "/files";
      options.prefix = "test";
      stores_.push_back(std::make_unique<FileStore>("f", &loop_, options));
    } else {
      config::StoreConfig config;
      config.name = "db";
      config.driver = "database";
      config.prefix = "test";
      if (GetParam() == "postgres") {
        config.url = PostgresUrl();
        config.table = table_;
      } else {
        config.url = "sqlite://" + dir_ + "/cache.sqlite";
      }
      stores_.push_back(MakeDatabaseStore(config, &loop_));
    }
    Store& store = *stores_.back();
    std::optional<Status> opened;
    store.Open([&](const Status& status) { opened = status; });
    EXPECT_TRUE(RunUntil([&] { return opened.has_value(); }));
    EXPECT_TRUE(opened && opened->ok()) << (opened ? opened->message() : "no completion");
    return store;
  }

  // What one call costs the backend: SQLite statements, PostgreSQL round trips, or record files
  // read by the file store.
  static uint64_t Cost(Store& store) {
    if (auto* sqlite = dynamic_cast<SqliteStore*>(&store)) return sqlite->statements_run();
    if (auto* postgres = dynamic_cast<PostgresStore*>(&store)) return postgres->round_trips();
    return dynamic_cast<FileStore&>(store).records_read();
  }

  bool RunUntil(const std::function<bool()>& done) {
    const auto deadline = SteadyClock::now() + std::chrono::seconds(20);
    while (!done()) {
      if (SteadyClock::now() > deadline) return false;
      uv_run(&loop_, UV_RUN_ONCE);
    }
    return true;
  }

  struct Outcome {
    Status status;
    OpResult result;
  };
  Outcome Execute(Store& store, Operation operation) {
    std::optional<Outcome> outcome;
    store.Execute(std::move(operation), [&](const Status& status, OpResult result) {
      outcome = Outcome{status, std::move(result)};
    });
    EXPECT_TRUE(RunUntil([&] { return outcome.has_value(); })) << "no completion";
    EXPECT_TRUE(outcome && outcome->status.ok()) << (outcome ? outcome->status.message() : "");
    return outcome.value_or(Outcome{});
  }

  std::optional<Entry> Read(Store& store, std::string_view key, Space space = Space::kData) {
    std::optional<Entry> entry;
    bool called = false;
    std::string_view keys[] = {key};
    store.Read(space, keys, [&](const Status& status, std::span<const Entry* const> entries) {
      EXPECT_TRUE(status.ok()) << status.message();
      if (entries[0]) entry = *entries[0];
      called = true;
    });
    EXPECT_TRUE(RunUntil([&] { return called; }));
    return entry;
  }

  Status Put(Store& store, std::string_view key, std::string value, int64_t expire_at = 0) {
    std::optional<Status> done;
    std::string_view keys[] = {key};
    store.Update(
        Space::kData, keys,
        [value, expire_at](std::span<KeyUpdate> updates, int64_t) {
          updates[0].Put(value, expire_at);
        },
        [&](const Status& status) { done = status; });
    EXPECT_TRUE(RunUntil([&] { return done.has_value(); }));
    return done.value_or(Status::Error("no completion"));
  }

  static op::Set PlainSet(std::string key, std::string value) {
    op::Set set;
    set.key = std::move(key);
    set.value = std::move(value);
    return set;
  }

  inline static int counter_ = 0;
  std::string dir_;
  std::string table_;
  uv_loop_t loop_{};
  uv_timer_t wake_{};
  std::vector<std::unique_ptr<Store>> stores_;
};

TEST_P(BlindWriteTest, PutIsOneStatementAndNeedsNoRead) {
  Store& store = NewStore();
  ASSERT_TRUE(Put(store, "k", "old").ok());  // the file store's tree exists from here on
  const uint64_t before = Cost(store);
  EXPECT_TRUE(Execute(store, PlainSet("k", "new")).result.applied);
  const uint64_t put = Cost(store) - before;
  // SQLite: one INSERT … ON CONFLICT; PostgreSQL: one statement (locks and upsert); the file
  // store: no record read.
  EXPECT_EQ(put, GetParam() == "file" ? 0u : 1u);
  EXPECT_EQ(Read(store, "k")->value, "new");

  // A conditional SET still reads (the generic executor).
  op::Set add = PlainSet("k", "other");
  add.condition = op::Condition::kIfAbsent;
  const uint64_t before_add = Cost(store);
  EXPECT_FALSE(Execute(store, std::move(add)).result.applied);
  EXPECT_GT(Cost(store) - before_add, put);
  EXPECT_EQ(Read(store, "k")->value, "new");
}

TEST_P(BlindWriteTest, DeleteIsOneStatementAndCountsOnlyLiveKeys) {
  Store& store = NewStore();
  ASSERT_TRUE(Put(store, "live", "v").ok());
  ASSERT_TRUE(Put(store, "soon", "v", NowMs() + 30).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(60));  // `soon` expires (real clock)
  RecordingObserver observer;
  store.set_observer(&observer);
  const uint64_t before = Cost(store);
  Outcome outcome = Execute(store, op::Delete{Space::kData, {"live", "soon", "absent"}, {}});
  EXPECT_EQ(outcome.result.integer, 1);
  if (GetParam() == "postgres") EXPECT_EQ(Cost(store) - before, 1u);
  if (GetParam() == "sqlite") EXPECT_EQ(Cost(store) - before, 5u);  // BEGIN, 3 DELETEs, COMMIT
  ASSERT_EQ(observer.events.size(), 1u);
  EXPECT_EQ(observer.events[0].key, "live");
  EXPECT_FALSE(Read(store, "live"));

  ASSERT_TRUE(Put(store, "one", "v").ok());
  const uint64_t after_put = Cost(store);
  EXPECT_EQ(Execute(store, op::Delete{Space::kData, {"one"}, {}}).result.integer, 1);
  if (GetParam() != "file") EXPECT_EQ(Cost(store) - after_put, 1u);
  EXPECT_EQ(Execute(store, op::Delete{Space::kData, {"one"}, {}}).result.integer, 0);
  store.set_observer(nullptr);
}

TEST_P(BlindWriteTest, ResultsExpiriesAndNotificationsMatchTheGenericExecutor) {
  Store& store = NewStore();
  RecordingObserver observer;
  store.set_observer(&observer);

  op::Set timed = PlainSet("timed", "v");
  timed.expiry = ExpiryChange::In(60'000);
  const int64_t start = NowMs();
  EXPECT_TRUE(Execute(store, std::move(timed)).result.applied);
  std::optional<Entry> entry = Read(store, "timed");
  ASSERT_TRUE(entry);
  EXPECT_GE(entry->expire_at_ms, start + 60'000);
  EXPECT_LE(entry->expire_at_ms, NowMs() + 60'000);

  // An expiry already past removes the key (and tells the observer only if it was there).
  op::Set past = PlainSet("timed", "w");
  past.expiry = ExpiryChange::At(1000);
  EXPECT_TRUE(Execute(store, std::move(past)).result.applied);
  EXPECT_FALSE(Read(store, "timed"));
  op::Set past_absent = PlainSet("never", "w");
  past_absent.expiry = ExpiryChange::In(-1);
  EXPECT_TRUE(Execute(store, std::move(past_absent)).result.applied);
  EXPECT_FALSE(Read(store, "never"));
  ASSERT_EQ(observer.events.size(), 2u);
  EXPECT_EQ(observer.events[1].key, "timed");

  // Several keys at once, in any space; the last of a repeated key wins.
  op::SetMany many;
  many.keys = {"a", "b", "a"};
  many.values = {"1", "2", "3"};
  EXPECT_TRUE(Execute(store, std::move(many)).result.applied);
  EXPECT_EQ(Read(store, "a")->value, "3");
  EXPECT_EQ(Read(store, "b")->value, "2");
  EXPECT_TRUE(Execute(store, op::ReplaceGenerations{{"t1", "t2"}, {"g1", "g2"}}).result.applied);
  EXPECT_EQ(Read(store, "t2", Space::kTagVersion)->value, "g2");
  op::Set lock = PlainSet("job", "owner");
  lock.space = Space::kLock;
  EXPECT_TRUE(Execute(store, std::move(lock)).result.applied);
  EXPECT_EQ(Read(store, "job", Space::kLock)->value, "owner");
  EXPECT_FALSE(Read(store, "job"));
  EXPECT_EQ(Execute(store, op::Delete{Space::kLock, {"job"}, {}}).result.integer, 1);
  EXPECT_FALSE(Read(store, "job", Space::kLock));
  EXPECT_EQ(store.stats().writes, observer.events.size());
  store.set_observer(nullptr);
}

// The update below reads the key, then waits; a blind write of the same key from another store
// (another daemon, as far as the backend can tell) must wait for it rather than land between
// its read and its write and be overwritten.
TEST_P(BlindWriteTest, BlindWriteWaitsForAnUpdateInFlight) {
  Store& first = NewStore();
  Store& second = NewStore();
  ASSERT_TRUE(Put(first, "k", "0").ok());
  int done = 0;
  std::string_view keys[] = {"k"};
  first.Update(
      Space::kData, keys,
      [](std::span<KeyUpdate> updates, int64_t) {
        std::this_thread::sleep_for(std::chrono::milliseconds(300));  // holding the key's locks
        updates[0].Put(updates[0].current->value + "+1", 0);
      },
      [&](const Status& status) {
        EXPECT_TRUE(status.ok()) << status.message();
        ++done;
      });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the update holds its locks
  second.Execute(PlainSet("k", "set"), [&](const Status& status, OpResult) {
    EXPECT_TRUE(status.ok()) << status.message();
    ++done;
  });
  ASSERT_TRUE(RunUntil([&] { return done == 2; }));
  // Had the write landed in between, the update would have overwritten it with "0+1".
  EXPECT_EQ(Read(first, "k")->value, "set");
}

TEST_P(BlindWriteTest, DeleteWaitsForAnUpdateInFlight) {
  Store& first = NewStore();
  Store& second = NewStore();
  int done = 0;
  std::string_view keys[] = {"k"};
  first.Update(
      Space::kData, keys,
      [](std::span<KeyUpdate> updates, int64_t) {
        std::this_thread::sleep_for(std::chrono::milliseconds(300));  // holding the key's locks
        updates[0].Put("created", 0);
      },
      [&](const Status& status) {
        EXPECT_TRUE(status.ok()) << status.message();
        ++done;
      });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the update holds its locks
  std::optional<int64_t> deleted;
  second.Execute(op::Delete{Space::kData, {"k"}, {}}, [&](const Status& status, OpResult result) {
    EXPECT_TRUE(status.ok()) << status.message();
    deleted = result.integer;
    ++done;
  });
  ASSERT_TRUE(RunUntil([&] { return done == 2; }));
  // Either order is atomic: the delete saw the key and removed it, or saw nothing and the key
  // stays. Never "removed nothing" with the key gone, nor "removed one" with the key still there.
  EXPECT_EQ(*deleted == 1, !Read(first, "k").has_value());
}

INSTANTIATE_TEST_SUITE_P(Backends, BlindWriteTest, ::testing::Values("sqlite", "postgres", "file"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace arvel::drivers
