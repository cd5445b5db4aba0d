// NullStore: reads miss, writes succeed and vanish.

#include "drivers/null_store.h"

#include <gtest/gtest.h>

#include "tests/unit/drivers/store_test_util.h"

namespace arvel::drivers {
namespace {

using testing::CountKeys;
using testing::Get;
using testing::Put;
using testing::RecordingObserver;
using testing::RunUpdate;
using testing::ScanOnce;

TEST(NullStoreTest, NameAndDriver) {
  NullStore store("off");
  EXPECT_EQ(store.name(), "off");
  EXPECT_EQ(store.driver(), "null");
  EXPECT_TRUE(store.Health().ok());
}

TEST(NullStoreTest, ReadsMissAndCountMisses) {
  NullStore store("off");
  std::vector<std::string_view> keys = {"a", "b"};
  size_t entries_seen = 0;
  store.Read(Space::kData, keys, [&](const Status& status, std::span<const Entry* const> entries) {
    EXPECT_TRUE(status.ok());
    entries_seen = entries.size();
    for (const Entry* entry : entries) EXPECT_EQ(entry, nullptr);
  });
  EXPECT_EQ(entries_seen, 2u);
  EXPECT_EQ(store.stats().misses, 2u);
  Get(store, "lock", Space::kLock);
  EXPECT_EQ(store.stats().misses, 2u);
}

TEST(NullStoreTest, UpdateRunsTheFunctionAgainstAbsentKeysAndKeepsNothing) {
  NullStore store("off");
  RecordingObserver observer;
  store.set_observer(&observer);
  int64_t seen_now = 0;
  int calls = 0;
  const int64_t before = NowMs();
  ASSERT_TRUE(RunUpdate(store, Space::kData, {"a", "b", "c"},
                        [&](std::span<KeyUpdate> updates, int64_t now) {
                          ++calls;
                          seen_now = now;
                          ASSERT_EQ(updates.size(), 3u);
                          for (const KeyUpdate& u : updates) EXPECT_EQ(u.current, nullptr);
                          EXPECT_EQ(updates[1].key, "b");
                          updates[0].Put("1", 0);
                          updates[1].Erase();
                          updates[2].Expire(now + 10);
                        })
                  .ok());
  EXPECT_EQ(calls, 1);
  EXPECT_GE(seen_now, before);
  EXPECT_LE(seen_now, NowMs());
  EXPECT_EQ(Get(store, "a"), std::nullopt);
  EXPECT_EQ(CountKeys(store), 0);
  ASSERT_EQ(observer.events.size(), 1u);  // only the put "happened"
  EXPECT_EQ(observer.events[0].key, "a");
  EXPECT_EQ(store.stats().writes, 1u);
}

TEST(NullStoreTest, IterationAndRandomKeyAreEmpty) {
  NullStore store("off");
  ASSERT_TRUE(Put(store, "a", "1").ok());
  testing::ScanPage page = ScanOnce(store, 12345, 10);
  EXPECT_EQ(page.cursor, 0u);
  EXPECT_TRUE(page.keys.empty());
  EXPECT_EQ(testing::Random(store), std::nullopt);
  EXPECT_EQ(store.approximate_keys(), 0);
  EXPECT_EQ(store.used_memory(), 0u);
}

TEST(NullStoreTest, FlushSucceedsAndNotifies) {
  NullStore store("off");
  RecordingObserver observer;
  store.set_observer(&observer);
  ASSERT_TRUE(testing::FlushStore(store).ok());
  ASSERT_EQ(observer.events.size(), 1u);
  EXPECT_TRUE(observer.events[0].all);
}

}  // namespace
}  // namespace arvel::drivers
