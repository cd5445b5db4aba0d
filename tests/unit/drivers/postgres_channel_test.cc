// Change notifications between PostgreSQL stores (drivers/postgres_channel.h): stores on one
// table but different connections — as far as PostgreSQL can tell, different daemons — hear of
// each other's writes (keys, binary keys, spaces, flushes) within milliseconds, never of their
// own twice, and never of another prefix's. Runs when ARVEL_TEST_POSTGRES_URL names a reachable
// database (scripts/start-postgres.sh).

#include "drivers/postgres_channel.h"

#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <unistd.h>
#include <uv.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "config/config.h"
#include "drivers/database_store.h"
#include "drivers/lock_logic.h"
#include "drivers/postgres_store.h"
#include "drivers/store.h"
#include "tests/unit/drivers/store_test_util.h"

namespace arvel::drivers {
namespace {

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

TEST(ChangeMessageTest, EveryKeyRoundTripsAsPrintableText) {
  std::string all_bytes;
  for (int c = 0; c < 256; ++c) all_bytes += static_cast<char>(c);
  for (const std::string& key :
       {std::string("plain:key"), std::string("a\\xff\\"), all_bytes, std::string()}) {
    const std::string payload = EncodeChange(Space::kLock, "pre:fix", key);
    for (unsigned char c : payload) EXPECT_TRUE(c >= 0x20 && c < 0x7f) << payload;
    std::optional<ChangeMessage> change = DecodeChange(payload);
    ASSERT_TRUE(change) << payload;
    EXPECT_FALSE(change->all);
    EXPECT_EQ(change->space, Space::kLock);
    EXPECT_EQ(change->prefix, "pre:fix");
    EXPECT_EQ(change->key, key);
  }
  EXPECT_EQ(EncodeChange(Space::kData, "p", "k"), "0:1:pk");
  std::optional<ChangeMessage> flush = DecodeChange(EncodeFlush(""));
  ASSERT_TRUE(flush);
  EXPECT_TRUE(flush->all);
  EXPECT_EQ(flush->prefix, "");
  // Prefixes are told apart by length, not by where a separator happens to be.
  EXPECT_EQ(DecodeChange(EncodeChange(Space::kData, "a:b", "c"))->prefix, "a:b");
  for (std::string_view bad :
       {"", "0:", "9:0:k", "0:5:ab", "0:x:k", "0:0:\\q", "0:0:\\x4", "*:0:k"}) {
    EXPECT_FALSE(DecodeChange(bad)) << bad;
  }
}

class PostgresChannelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    uv_loop_init(&loop_);
    uv_timer_init(&loop_, &wake_);
    uv_timer_start(
        &wake_, [](uv_timer_t*) {}, 5, 5);
    if (PostgresUrl().empty()) GTEST_SKIP() << "ARVEL_TEST_POSTGRES_URL is not set";
    const std::string error = PgExec("SELECT 1");
    if (!error.empty()) GTEST_SKIP() << "PostgreSQL unreachable: " << error;
    table_ = "arvel_channel_" + std::to_string(getpid()) + "_" + std::to_string(++counter_);
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
  }

  // An open store on the test's table that notifies (its channel listens).
  Store& NewStore(const std::string& prefix = "test") {
    config::StoreConfig config;
    config.name = "db";
    config.driver = "database";
    config.prefix = prefix;
    config.url = PostgresUrl();
    config.table = table_;
    stores_.push_back(MakeDatabaseStore(config, &loop_));
    Store& store = *stores_.back();
    std::optional<Status> opened;
    store.Open([&](const Status& status) { opened = status; });
    EXPECT_TRUE(RunUntil([&] { return opened.has_value(); }));
    EXPECT_TRUE(opened && opened->ok());
    EXPECT_TRUE(RunUntil([&] { return store.capabilities().notifies_remote_changes; }));
    return store;
  }

  bool RunUntil(const std::function<bool()>& done,
                std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
    const auto deadline = SteadyClock::now() + timeout;
    while (!done()) {
      if (SteadyClock::now() > deadline) return false;
      uv_run(&loop_, UV_RUN_ONCE);
    }
    return true;
  }

  void Execute(Store& store, Operation operation) {
    bool called = false;
    store.Execute(std::move(operation), [&](const Status& status, OpResult) {
      EXPECT_TRUE(status.ok()) << status.message();
      called = true;
    });
    EXPECT_TRUE(RunUntil([&] { return called; }));
  }

  // Lets notifications in flight arrive.
  void Settle() {
    const auto until = SteadyClock::now() + std::chrono::milliseconds(200);
    RunUntil([&] { return SteadyClock::now() > until; });
  }

  inline static int counter_ = 0;
  std::string table_;
  uv_loop_t loop_{};
  uv_timer_t wake_{};
  std::vector<std::unique_ptr<Store>> stores_;
};

TEST_F(PostgresChannelTest, OtherStoresHearOfWritesOnceAndOnlyTheirPrefix) {
  Store& writer = NewStore();
  Store& reader = NewStore();
  Store& stranger = NewStore("other");
  RecordingObserver mine, theirs, unrelated;
  writer.set_observer(&mine);
  reader.set_observer(&theirs);
  stranger.set_observer(&unrelated);

  const std::string binary("k\0\xff\\x41 \n", 8);
  Execute(writer, op::Set{Space::kData, "plain", "v"});
  Execute(writer, op::Set{Space::kData, binary, "v"});
  Execute(writer, op::Acquire{Space::kLock, "job", "token", 60'000});
  Execute(writer, op::Increment{Space::kThrottle, "counter", 1, {}});  // not announced
  Execute(writer, op::Delete{Space::kData, {"plain"}, {}});
  ASSERT_TRUE(RunUntil([&] { return theirs.events.size() >= 5; }));
  bool flushed = false;
  writer.Flush([&](const Status& status) { flushed = status.ok(); });
  ASSERT_TRUE(RunUntil([&] { return flushed; }));
  ASSERT_TRUE(RunUntil([&] { return theirs.events.size() >= 6; }));
  Settle();

  ASSERT_EQ(theirs.events.size(), 6u);
  EXPECT_EQ(theirs.events[0].key, "plain");
  EXPECT_EQ(theirs.events[1].key, binary);
  // The acquisition wrote the lock and its fencing counter.
  std::set<std::string> lock_keys;
  for (int i : {2, 3}) {
    EXPECT_EQ(theirs.events[i].space, Space::kLock);
    lock_keys.insert(theirs.events[i].key);
  }
  EXPECT_EQ(lock_keys, (std::set<std::string>{"job", FenceKey("job")}));
  EXPECT_EQ(theirs.events[4].key, "plain");
  EXPECT_TRUE(theirs.events[5].all);
  // The writer's observer heard of each write once, from the write itself.
  EXPECT_EQ(mine.events.size(), 7u);
  EXPECT_TRUE(unrelated.events.empty());
  for (Store* store : {&writer, &reader, &stranger}) store->set_observer(nullptr);
}

TEST_F(PostgresChannelTest, ANotificationArrivesWithinMilliseconds) {
  Store& writer = NewStore();
  Store& reader = NewStore();
  RecordingObserver heard;
  reader.set_observer(&heard);
  std::vector<double> latencies;
  for (int i = 0; i < 20; ++i) {
    const std::string key = "k" + std::to_string(i);
    Execute(writer, op::Set{Space::kData, key, "v"});
    const auto written = SteadyClock::now();
    ASSERT_TRUE(RunUntil([&] { return heard.events.size() == static_cast<size_t>(i + 1); }));
    EXPECT_EQ(heard.events.back().key, key);
    latencies.push_back(
        std::chrono::duration<double, std::milli>(SteadyClock::now() - written).count());
  }
  std::sort(latencies.begin(), latencies.end());
  std::printf("[ timing ] write acknowledged -> other store notified: p50 %.2f ms, max %.2f ms\n",
              latencies[latencies.size() / 2], latencies.back());
  EXPECT_LT(latencies[latencies.size() / 2], 10.0);
  reader.set_observer(nullptr);
}

}  // namespace
}  // namespace arvel::drivers
