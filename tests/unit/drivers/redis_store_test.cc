// The redis driver as a store: key layout and prefixes in a shared database, reads, walks,
// availability (a server that dies, stalls, refuses the password, or was never there),
// scripts lost upstream, and change notifications between two "daemons".

#include "drivers/redis_store.h"

#include <gtest/gtest.h>

#include <chrono>
#include <set>
#include <string>
#include <vector>

#include "common/errors.h"
#include "drivers/lock_logic.h"
#include "drivers/redis_notifications.h"
#include "tests/unit/drivers/redis_store_test_util.h"
#include "tests/unit/drivers/store_test_util.h"

namespace arvel::drivers {
namespace {

using testing::CloseRedis;
using testing::Exec;
using testing::OpenRedis;
using testing::OptionsFor;
using testing::ReadKeys;
using testing::ReadOne;
using testing::TestLoop;
using testing::UniquePrefix;
using std::chrono::milliseconds;
using std::chrono::steady_clock;

int64_t ElapsedMs(steady_clock::time_point start) {
  return std::chrono::duration_cast<milliseconds>(steady_clock::now() - start).count();
}

op::Set Put(std::string key, std::string value, ExpiryChange expiry = ExpiryChange::Never()) {
  return op::Set{Space::kData, std::move(key), std::move(value), expiry};
}

class RedisStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!arvel::testing::RedisServerInstalled()) GTEST_SKIP() << arvel::testing::kNoRedisServer;
    redis_ = arvel::testing::SharedRedisServer();
    ASSERT_NE(redis_, nullptr);
  }
  void Close(std::unique_ptr<RedisStore>& store) {
    if (!store) return;
    CloseRedis(loop_, *store);
    store.reset();
  }
  Status Wrote(Store& store, Operation op) { return Exec(loop_, store, std::move(op)).first; }

  TestLoop loop_;
  arvel::testing::RedisTestServer* redis_ = nullptr;
};

TEST(RedisKeysTest, LayoutParsingAndPatterns) {
  RedisKeys keys("app");
  EXPECT_EQ(keys.Key(Space::kData, "user1"), "app:d:user1");
  EXPECT_EQ(keys.Key(Space::kLock, "job"), "app:l:job");
  EXPECT_EQ(keys.Key(Space::kThrottle, "w"), "app:r:w");
  auto parsed = keys.Parse("app:t:abc:def");
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->first, Space::kTagged);
  EXPECT_EQ(parsed->second, "abc:def");
  EXPECT_FALSE(keys.Parse("other:d:x"));
  EXPECT_FALSE(keys.Parse("app:#scratch"));
  EXPECT_FALSE(keys.Parse("app:z:x"));
  EXPECT_EQ(keys.Pattern(Space::kData), "app:d:*");
  EXPECT_EQ(keys.AllPattern(), "app:[dtvlre]:*");
  EXPECT_EQ(RedisKeys("a*b[1]").Pattern(Space::kData), "a\\*b\\[1\\]:d:*");
  EXPECT_EQ(RedisKeys("").Key(Space::kData, "k"), "d:k");
}

TEST_F(RedisStoreTest, KeysLiveUnderThePrefixAndSpace) {
  const std::string prefix = UniquePrefix("layout");
  auto store = OpenRedis(loop_, OptionsFor(redis_->port(), prefix));
  ASSERT_TRUE(Wrote(*store, Put("user1", "v")).ok());
  ASSERT_TRUE(Wrote(*store, op::Acquire{Space::kLock, "user1", "tok", 10'000}).ok());
  EXPECT_EQ(redis_->Command({"GET", prefix + ":d:user1"}), "$v");
  EXPECT_EQ(redis_->Command({"GET", prefix + ":l:user1"}), "$tok");
  Close(store);
}

TEST_F(RedisStoreTest, TwoPrefixesShareOneDatabase) {
  auto a = OpenRedis(loop_, OptionsFor(redis_->port(), UniquePrefix("a")), nullptr, "a");
  auto b = OpenRedis(loop_, OptionsFor(redis_->port(), UniquePrefix("b")), nullptr, "b");
  for (auto* store : {a.get(), b.get()}) {
    ASSERT_TRUE(Wrote(*store, Put("k", store->name())).ok());
    ASSERT_TRUE(Wrote(*store, Put("only_" + store->name(), "x")).ok());
    ASSERT_TRUE(Wrote(*store, op::Acquire{Space::kLock, "job", "t", 0}).ok());
  }
  EXPECT_EQ(ReadOne(loop_, *a, Space::kData, "k")->value, "a");
  EXPECT_EQ(ReadOne(loop_, *b, Space::kData, "k")->value, "b");
  auto count = [&](Store& store) {
    std::optional<int64_t> n;
    store.Count([&](const Status& status, int64_t c) {
      EXPECT_TRUE(status.ok()) << status.message();
      n = c;
    });
    loop_.RunUntil([&] { return n.has_value(); });
    return n.value_or(-1);
  };
  EXPECT_EQ(count(*a), 2);
  EXPECT_EQ(count(*b), 2);

  std::optional<Status> flushed;
  a->Flush([&](const Status& status) { flushed = status; });
  ASSERT_TRUE(loop_.RunUntil([&] { return flushed.has_value(); }));
  ASSERT_TRUE(flushed->ok()) << flushed->message();
  EXPECT_EQ(count(*a), 0);
  EXPECT_FALSE(ReadOne(loop_, *a, Space::kLock, "job"));
  EXPECT_EQ(count(*b), 2);
  EXPECT_EQ(ReadOne(loop_, *b, Space::kData, "k")->value, "b");
  EXPECT_EQ(ReadOne(loop_, *b, Space::kLock, "job")->value, "t");
  Close(a);
  Close(b);
}

TEST_F(RedisStoreTest, ReadGivesValuesAndExpiriesReadValuesOnlyValues) {
  auto store = OpenRedis(loop_, OptionsFor(redis_->port(), UniquePrefix("read")));
  const int64_t at = NowMs() + 60'000;
  ASSERT_TRUE(Wrote(*store, Put("a", "1", ExpiryChange::At(at))).ok());
  ASSERT_TRUE(Wrote(*store, Put("b", std::string("bin\0\xff", 5))).ok());
  auto [status, entries] = ReadKeys(loop_, *store, Space::kData, {"a", "missing", "b", "a"});
  ASSERT_TRUE(status.ok()) << status.message();
  ASSERT_EQ(entries.size(), 4u);
  EXPECT_EQ(entries[0]->value, "1");
  EXPECT_EQ(entries[0]->expire_at_ms, at);
  EXPECT_FALSE(entries[1]);
  EXPECT_EQ(entries[2]->value, std::string("bin\0\xff", 5));
  EXPECT_EQ(entries[2]->expire_at_ms, 0);
  EXPECT_EQ(entries[3]->value, "1");
  auto [values_status, values] =
      ReadKeys(loop_, *store, Space::kData, {"a", "missing", "b"}, /*values_only=*/true);
  ASSERT_TRUE(values_status.ok());
  EXPECT_EQ(values[0]->value, "1");
  EXPECT_FALSE(values[1]);
  EXPECT_EQ(values[2]->value, std::string("bin\0\xff", 5));
  auto [one_status, one] = ReadKeys(loop_, *store, Space::kData, {"a"}, true);
  EXPECT_EQ(one[0]->value, "1");
  EXPECT_EQ(store->stats().hits, 6u);
  EXPECT_EQ(store->stats().misses, 2u);
  Close(store);
}

TEST_F(RedisStoreTest, ScanSpacesAndRandomKeyStayWithinTheStore) {
  auto store = OpenRedis(loop_, OptionsFor(redis_->port(), UniquePrefix("walk")));
  auto other = OpenRedis(loop_, OptionsFor(redis_->port(), UniquePrefix("noise")));
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(Wrote(*other, Put("n" + std::to_string(i), "x")).ok());
  std::set<std::string> expected;
  for (int i = 0; i < 30; ++i) {
    expected.insert("k" + std::to_string(i));
    ASSERT_TRUE(Wrote(*store, Put("k" + std::to_string(i), "v")).ok());
  }
  ASSERT_TRUE(Wrote(*store, op::Acquire{Space::kLock, "lock", "t", 0}).ok());
  auto walk = [&](Space space) {
    std::set<std::string> seen;
    uint64_t cursor = 0;
    do {
      bool done = false;
      store->ScanSpace(space, cursor, 7,
                       [&](const Status& status, uint64_t next, std::vector<std::string> keys) {
                         EXPECT_TRUE(status.ok()) << status.message();
                         seen.insert(keys.begin(), keys.end());
                         cursor = next;
                         done = true;
                       });
      EXPECT_TRUE(loop_.RunUntil([&] { return done; }));
    } while (cursor != 0);
    return seen;
  };
  EXPECT_EQ(walk(Space::kData), expected);
  EXPECT_EQ(walk(Space::kLock), (std::set<std::string>{"lock", FenceKey("lock")}));
  EXPECT_TRUE(walk(Space::kTagged).empty());
  for (int i = 0; i < 5; ++i) {
    std::optional<std::optional<std::string>> key;
    store->RandomKey([&](const Status& status, std::optional<std::string> k) { key = k; });
    ASSERT_TRUE(loop_.RunUntil([&] { return key.has_value(); }));
    ASSERT_TRUE(key->has_value());
    EXPECT_TRUE(expected.count(**key)) << **key;
  }
  Close(store);
  Close(other);
}

TEST_F(RedisStoreTest, UpdateIsRefused) {
  auto store = OpenRedis(loop_, OptionsFor(redis_->port(), UniquePrefix("update")));
  std::optional<Status> status;
  std::string_view keys[] = {"k"};
  store->Update(Space::kData, keys, [](std::span<KeyUpdate>, int64_t) {},
                [&](const Status& s) { status = s; });
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->message(), "ERR the redis driver executes operations, not closures");
  Close(store);
}

TEST_F(RedisStoreTest, LostScriptsAreSentAgain) {
  auto store = OpenRedis(loop_, OptionsFor(redis_->port(), UniquePrefix("noscript")));
  ASSERT_TRUE(Wrote(*store, op::Acquire{Space::kLock, "l", "t", 10'000}).ok());
  EXPECT_EQ(redis_->Command({"SCRIPT", "FLUSH"}), "+OK");
  auto [status, result] = Exec(loop_, *store, op::ReleaseIf{Space::kLock, "l", "t"});
  EXPECT_TRUE(status.ok()) << status.message();
  EXPECT_TRUE(result.applied);
  auto [read_status, entries] = ReadKeys(loop_, *store, Space::kLock, {"l"});
  EXPECT_TRUE(read_status.ok()) << read_status.message();
  Close(store);
}

TEST_F(RedisStoreTest, WritesNotifyTheObserverBeforeCompleting) {
  RedisStoreOptions options = OptionsFor(redis_->port(), UniquePrefix("observe"));
  options.notifications = false;  // only this daemon's own reports
  auto store = OpenRedis(loop_, options);
  testing::RecordingObserver observer;
  store->set_observer(&observer);
  bool seen_at_completion = false;
  store->Execute(Put("k", "v"), [&](const Status&, OpResult) {
    seen_at_completion = !observer.events.empty();
  });
  ASSERT_TRUE(loop_.RunUntil([&] { return seen_at_completion; }));
  EXPECT_EQ(observer.events[0].key, "k");
  // A refused write changed nothing: nobody is told (WATCH must not abort for it).
  observer.events.clear();
  Exec(loop_, *store, op::Set{Space::kData, "k", "w", {}, op::Condition::kIfAbsent});
  Exec(loop_, *store, op::ReleaseIf{Space::kLock, "k", "nobody"});
  EXPECT_TRUE(observer.events.empty());
  store->set_observer(nullptr);
  Close(store);
}

// Two "daemons": a change of a lock or a fill lease through one reaches the other's observer
// through Redis's client tracking; expiries count; ordinary writes are not announced; the
// writer hears of its own write directly (and, for writes made by a script, once more from
// Redis: NOLOOP does not recognise them); notify-keyspace-events is left alone.
TEST_F(RedisStoreTest, OtherDaemonsLearnOfLockAndLeaseChanges) {
  const std::string prefix = UniquePrefix("notify");
  auto writer = OpenRedis(loop_, OptionsFor(redis_->port(), prefix), nullptr, "writer");
  auto watcher = OpenRedis(loop_, OptionsFor(redis_->port(), prefix), nullptr, "watcher");
  ASSERT_TRUE(loop_.RunUntil([&] { return watcher->capabilities().notifies_remote_changes; }));
  ASSERT_TRUE(loop_.RunUntil([&] { return writer->capabilities().notifies_remote_changes; }));
  testing::RecordingObserver observer;
  watcher->set_observer(&observer);
  testing::RecordingObserver own;
  writer->set_observer(&own);
  auto count = [](const testing::RecordingObserver& o, Space space, const std::string& key) {
    int n = 0;
    for (const auto& e : o.events) n += e.space == space && e.key == key;
    return n;
  };
  auto seen = [&](Space space, const std::string& key) { return count(observer, space, key) > 0; };

  auto start = steady_clock::now();
  ASSERT_TRUE(Wrote(*writer, op::Acquire{Space::kLock, "job", "t", 0}).ok());
  ASSERT_TRUE(loop_.RunUntil([&] { return seen(Space::kLock, "job"); }, 1000));
  EXPECT_LT(ElapsedMs(start), 100);
  EXPECT_GE(count(own, Space::kLock, "job"), 1);
  writer->set_observer(nullptr);
  observer.events.clear();
  ASSERT_TRUE(Wrote(*writer, op::Delete{Space::kLock, {"job"}}).ok());
  EXPECT_TRUE(loop_.RunUntil([&] { return seen(Space::kLock, "job"); }, 1000));

  // A fill lease taken and dropped elsewhere (REMEMBER waiters then read the value).
  observer.events.clear();
  ASSERT_TRUE(Wrote(*writer, op::Acquire{Space::kLease, "report", "t", 10'000}).ok());
  EXPECT_TRUE(loop_.RunUntil([&] { return seen(Space::kLease, "report"); }, 1000));
  observer.events.clear();
  ASSERT_TRUE(Wrote(*writer, op::ReleaseIf{Space::kLease, "report", "t"}).ok());
  EXPECT_TRUE(loop_.RunUntil([&] { return seen(Space::kLease, "report"); }, 1000));

  // An expiry is a change too.
  ASSERT_TRUE(Wrote(*writer, op::Acquire{Space::kLock, "short", "t", 30}).ok());
  ASSERT_TRUE(loop_.RunUntil([&] { return seen(Space::kLock, "short"); }, 1000));
  observer.events.clear();
  EXPECT_TRUE(loop_.RunUntil([&] { return seen(Space::kLock, "short"); }, 3000));

  // Ordinary writes cost no notification; keys of another prefix are not this store's business.
  auto stranger = OpenRedis(loop_, OptionsFor(redis_->port(), UniquePrefix("stranger")));
  observer.events.clear();
  ASSERT_TRUE(Wrote(*writer, Put("user1", "v")).ok());
  ASSERT_TRUE(Wrote(*stranger, op::Acquire{Space::kLock, "job", "t", 0}).ok());
  loop_.RunFor(50);
  EXPECT_TRUE(observer.events.empty());
  watcher->set_observer(nullptr);
  EXPECT_EQ(redis_->Command({"CONFIG", "GET", "notify-keyspace-events"}),
            "[$notify-keyspace-events, $]");
  Close(stranger);
  Close(writer);
  Close(watcher);
}

// ---- Availability (a private server each, so they can kill it)

class RedisAvailabilityTest : public RedisStoreTest {
 protected:
  RedisStoreOptions Fast(int port) {
    RedisStoreOptions options = OptionsFor(port, UniquePrefix("avail"));
    options.timeout_ms = 300;
    options.connect_timeout_ms = 300;
    return options;
  }
};

TEST_F(RedisAvailabilityTest, AKilledServerFailsCallsFastAndTheStoreHeals) {
  arvel::testing::RedisTestServer redis;
  auto store = OpenRedis(loop_, Fast(redis.port()));
  ASSERT_TRUE(Wrote(*store, Put("k", "v")).ok());
  redis.Kill();
  auto start = steady_clock::now();
  Status status = Wrote(*store, Put("k", "w"));
  EXPECT_LT(ElapsedMs(start), 400);
  EXPECT_TRUE(status.message().starts_with("ERR store 'redis' unavailable: ")) << status.message();
  EXPECT_FALSE(store->Health().ok());
  // While down: at once.
  start = steady_clock::now();
  status = Wrote(*store, Put("k", "w"));
  EXPECT_LT(ElapsedMs(start), 50);
  EXPECT_TRUE(status.message().starts_with("ERR store 'redis' unavailable: ")) << status.message();
  auto [read_status, entries] = ReadKeys(loop_, *store, Space::kData, {"k"}, true);
  EXPECT_TRUE(read_status.message().starts_with("ERR store 'redis' unavailable"));

  ASSERT_TRUE(redis.Restart());
  ASSERT_TRUE(loop_.RunUntil([&] { return store->Health().ok(); }, 5000));
  EXPECT_TRUE(Wrote(*store, Put("k", "again")).ok());
  EXPECT_EQ(ReadOne(loop_, *store, Space::kData, "k")->value, "again");
  Close(store);
}

TEST_F(RedisAvailabilityTest, AStalledServerTimesOutAndInFlightCallsFail) {
  arvel::testing::RedisTestServer redis;
  auto store = OpenRedis(loop_, Fast(redis.port()));
  ASSERT_TRUE(Wrote(*store, Put("k", "v")).ok());
  redis.Pause();
  std::vector<Status> results;
  auto start = steady_clock::now();
  for (int i = 0; i < 5; ++i) {
    store->Execute(op::Increment{Space::kData, "n" + std::to_string(i), 1},
                   [&](const Status& status, OpResult) { results.push_back(status); });
  }
  ASSERT_TRUE(loop_.RunUntil([&] { return results.size() == 5; }, 3000));
  const int64_t elapsed = ElapsedMs(start);
  EXPECT_GE(elapsed, 250);
  EXPECT_LT(elapsed, 700);
  for (const Status& status : results) {
    EXPECT_EQ(status.message(), "ERR store 'redis' unavailable: timeout");
  }
  bool idle = false;
  store->WhenIdle([&] { idle = true; });
  EXPECT_TRUE(idle);
  redis.Resume();
  ASSERT_TRUE(loop_.RunUntil([&] { return store->Health().ok(); }, 5000));
  EXPECT_TRUE(Wrote(*store, Put("k", "w")).ok());
  Close(store);
}

TEST_F(RedisAvailabilityTest, NothingListeningMeansUnavailableFromTheStart) {
  Status opened;
  auto store = OpenRedis(loop_, Fast(arvel::testing::FreeLoopbackPort()), &opened);
  EXPECT_TRUE(opened.message().starts_with("ERR store 'redis' unavailable: ")) << opened.message();
  auto start = steady_clock::now();
  Status status = Wrote(*store, Put("k", "v"));
  EXPECT_LT(ElapsedMs(start), 50);
  EXPECT_TRUE(status.message().starts_with("ERR store 'redis' unavailable: ")) << status.message();
  Close(store);
}

TEST_F(RedisAvailabilityTest, CallsMadeWhileConnectingWaitForTheConnection) {
  arvel::testing::RedisTestServer redis;
  auto store = std::make_unique<RedisStore>("redis", loop_.get(), Fast(redis.port()));
  store->Open([](const Status&) {});
  std::optional<Status> status;
  store->Execute(Put("k", "v"), [&](const Status& s, OpResult) { status = s; });
  ASSERT_TRUE(loop_.RunUntil([&] { return status.has_value(); }));
  EXPECT_TRUE(status->ok()) << status->message();
  Close(store);
}

TEST_F(RedisAvailabilityTest, ALazyStoreConnectsOnFirstUse) {
  arvel::testing::RedisTestServer redis;
  RedisStoreOptions options = Fast(redis.port());
  options.lazy = true;
  auto store = OpenRedis(loop_, options);
  // Housekeeping walks leave it asleep.
  bool walked = false;
  store->ScanSpace(Space::kTagged, 0, 10, [&](const Status&, uint64_t, std::vector<std::string>) {
    walked = true;
  });
  EXPECT_TRUE(walked);
  const std::string clients = redis.Command({"CLIENT", "LIST"});
  EXPECT_EQ(clients.find("id=", clients.find("id=") + 1), std::string::npos) << clients;
  EXPECT_TRUE(Wrote(*store, Put("k", "v")).ok());
  Close(store);
}

TEST_F(RedisAvailabilityTest, PasswordAndDatabase) {
  arvel::testing::RedisTestServer redis;
  ASSERT_EQ(redis.Command({"CONFIG", "SET", "requirepass", "pw"}), "+OK");
  RedisStoreOptions options = Fast(redis.port());
  options.password = "wrong";
  Status opened;
  auto refused = OpenRedis(loop_, options, &opened);
  EXPECT_TRUE(opened.message().find("WRONGPASS") != std::string::npos) << opened.message();
  Close(refused);
  options.password = "pw";
  options.db = 3;
  auto store = OpenRedis(loop_, options, &opened);
  ASSERT_TRUE(opened.ok()) << opened.message();
  ASSERT_TRUE(Wrote(*store, Put("k", "in3")).ok());
  EXPECT_EQ(arvel::testing::RedisCommands(redis.port(), {{"AUTH", "pw"}, {"SELECT", "3"},
                                                         {"GET", options.prefix + ":d:k"}}),
            "$in3");
  Close(store);
}

TEST_F(RedisAvailabilityTest, CloseWaitsForCallsInFlight) {
  arvel::testing::RedisTestServer redis;
  auto store = OpenRedis(loop_, Fast(redis.port()));
  std::optional<Status> status;
  store->Execute(Put("k", "v"), [&](const Status& s, OpResult) { status = s; });
  bool closed = false;
  store->Close([&](const Status&) { closed = true; });
  EXPECT_FALSE(closed);
  ASSERT_TRUE(loop_.RunUntil([&] { return closed; }));
  ASSERT_TRUE(status.has_value());
  EXPECT_TRUE(status->ok()) << status->message();
  EXPECT_EQ(redis.Command({"GET", store->keys().Key(Space::kData, "k")}), "$v");
  store.reset();
}

}  // namespace
}  // namespace arvel::drivers
