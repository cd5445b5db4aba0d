// ArrayStore: the Store primitives, key spaces, expiry (lazy and active), observers, memory.
// Eviction and max_memory are in array_store_memory_test.cc, Scan/RandomKey in
// array_store_scan_test.cc.

#include "drivers/array_store.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/unit/drivers/store_test_util.h"

namespace arvel::drivers {
namespace {

using testing::CountKeys;
using testing::Erase;
using testing::FakeClock;
using testing::FlushStore;
using testing::Get;
using testing::Put;
using testing::ReadEntry;
using testing::RecordingObserver;
using testing::RunUpdate;
using testing::ScanAll;
using testing::SetExpiry;

class ArrayStoreTest : public ::testing::Test {
 protected:
  ArrayStoreOptions Options() {
    ArrayStoreOptions options;
    options.clock = clock_.Function();
    return options;
  }
  FakeClock clock_;
  ArrayStore store_{"memory", Options()};
};

TEST_F(ArrayStoreTest, NameAndDriver) {
  EXPECT_EQ(store_.name(), "memory");
  EXPECT_EQ(store_.driver(), "array");
}

TEST_F(ArrayStoreTest, MissingKeyReadsAsNullAndCountsAMiss) {
  EXPECT_EQ(Get(store_, "nope"), std::nullopt);
  EXPECT_EQ(store_.stats().misses, 1u);
  EXPECT_EQ(store_.stats().hits, 0u);
}

TEST_F(ArrayStoreTest, PutThenReadReturnsValueAndCountsAHit) {
  ASSERT_TRUE(Put(store_, "k", "v").ok());
  EXPECT_EQ(Get(store_, "k"), "v");
  EXPECT_EQ(store_.stats().hits, 1u);
  EXPECT_EQ(store_.stats().writes, 1u);
  EXPECT_EQ(CountKeys(store_), 1);
}

TEST_F(ArrayStoreTest, OverwriteReplacesValueAndExpiry) {
  ASSERT_TRUE(Put(store_, "k", "first", clock_.now_ms + 1000).ok());
  ASSERT_TRUE(Put(store_, "k", std::string(100, 'x')).ok());
  std::optional<Entry> entry = ReadEntry(store_, Space::kData, "k");
  ASSERT_TRUE(entry);
  EXPECT_EQ(entry->value, std::string(100, 'x'));
  EXPECT_EQ(entry->expire_at_ms, 0);
  EXPECT_EQ(store_.approximate_keys(), 1);
}

TEST_F(ArrayStoreTest, MultiKeyReadReturnsEntriesInKeyOrder) {
  ASSERT_TRUE(Put(store_, "a", "1").ok());
  ASSERT_TRUE(Put(store_, "c", "3").ok());
  std::vector<std::string_view> keys = {"a", "b", "c", "a"};
  std::vector<std::optional<std::string>> seen;
  store_.Read(Space::kData, keys, [&](const Status& status, std::span<const Entry* const> entries) {
    ASSERT_TRUE(status.ok());
    for (const Entry* entry : entries) {
      seen.push_back(entry ? std::optional<std::string>(entry->value) : std::nullopt);
    }
  });
  EXPECT_EQ(seen, (std::vector<std::optional<std::string>>{"1", std::nullopt, "3", "1"}));
  EXPECT_EQ(store_.stats().hits, 3u);
  EXPECT_EQ(store_.stats().misses, 1u);
}

TEST_F(ArrayStoreTest, KeysAndValuesAreBinarySafe) {
  const std::string key("a\0b\xff", 4);
  const std::string other("a\0c\xff", 4);
  const std::string value("\0\r\n\0", 4);
  ASSERT_TRUE(Put(store_, key, value).ok());
  ASSERT_TRUE(Put(store_, "", "empty key").ok());
  EXPECT_EQ(Get(store_, key), value);
  EXPECT_EQ(Get(store_, other), std::nullopt);
  EXPECT_EQ(Get(store_, ""), "empty key");
  EXPECT_EQ(Get(store_, std::string_view("a", 1)), std::nullopt);
}

TEST_F(ArrayStoreTest, SpacesAreSeparateKeyNamespaces) {
  ASSERT_TRUE(Put(store_, "x", "data").ok());
  ASSERT_TRUE(Put(store_, "x", "owner", 0, Space::kLock).ok());
  ASSERT_TRUE(Put(store_, "y", "3", 0, Space::kThrottle).ok());
  EXPECT_EQ(Get(store_, "x"), "data");
  EXPECT_EQ(Get(store_, "x", Space::kLock), "owner");
  EXPECT_EQ(Get(store_, "x", Space::kTagged), std::nullopt);
  EXPECT_EQ(Get(store_, "y"), std::nullopt);
  EXPECT_EQ(CountKeys(store_), 1);
  EXPECT_EQ(ScanAll(store_), std::vector<std::string>{"x"});
  EXPECT_EQ(store_.approximate_keys(), 3);
  ASSERT_TRUE(Erase(store_, "x", Space::kLock).ok());
  EXPECT_EQ(Get(store_, "x"), "data");
}

TEST_F(ArrayStoreTest, HitsAndMissesCountOnlyDataAndTaggedReads) {
  Get(store_, "a", Space::kLock);
  Get(store_, "a", Space::kThrottle);
  Get(store_, "a", Space::kTagVersion);
  EXPECT_EQ(store_.stats().misses, 0u);
  Get(store_, "a", Space::kTagged);
  EXPECT_EQ(store_.stats().misses, 1u);
}

TEST_F(ArrayStoreTest, UpdateSeesCurrentEntryAndNow) {
  ASSERT_TRUE(Put(store_, "n", "41", clock_.now_ms + 5000).ok());
  int64_t seen_now = 0;
  ASSERT_TRUE(RunUpdate(store_, Space::kData, {"n", "missing"},
                        [&](std::span<KeyUpdate> updates, int64_t now) {
                          seen_now = now;
                          ASSERT_NE(updates[0].current, nullptr);
                          EXPECT_EQ(updates[0].key, "n");
                          EXPECT_EQ(updates[1].current, nullptr);
                          const Entry& current = *updates[0].current;
                          updates[0].Put(std::to_string(std::stoi(current.value) + 1),
                                         current.expire_at_ms);
                        })
                  .ok());
  EXPECT_EQ(seen_now, clock_.now_ms);
  std::optional<Entry> entry = ReadEntry(store_, Space::kData, "n");
  ASSERT_TRUE(entry);
  EXPECT_EQ(entry->value, "42");
  EXPECT_EQ(entry->expire_at_ms, clock_.now_ms + 5000);
  EXPECT_EQ(Get(store_, "missing"), std::nullopt);
}

TEST_F(ArrayStoreTest, EraseRemovesTheKey) {
  ASSERT_TRUE(Put(store_, "k", "v").ok());
  ASSERT_TRUE(Erase(store_, "k").ok());
  EXPECT_EQ(Get(store_, "k"), std::nullopt);
  EXPECT_EQ(CountKeys(store_), 0);
  EXPECT_EQ(store_.stats().writes, 2u);
  ASSERT_TRUE(Erase(store_, "k").ok());  // absent: nothing changes
  EXPECT_EQ(store_.stats().writes, 2u);
}

TEST_F(ArrayStoreTest, KeepWritesNothing) {
  ASSERT_TRUE(Put(store_, "k", "v").ok());
  ASSERT_TRUE(
      RunUpdate(store_, Space::kData, {"k", "other"}, [](std::span<KeyUpdate>, int64_t) {}).ok());
  EXPECT_EQ(Get(store_, "k"), "v");
  EXPECT_EQ(Get(store_, "other"), std::nullopt);
  EXPECT_EQ(store_.stats().writes, 1u);
}

TEST_F(ArrayStoreTest, DuplicateKeysApplyInOrderAndLastWins) {
  ASSERT_TRUE(Put(store_, "k", "old").ok());
  ASSERT_TRUE(
      RunUpdate(store_, Space::kData, {"k", "k", "k"}, [](std::span<KeyUpdate> updates, int64_t) {
        for (const KeyUpdate& u : updates) EXPECT_EQ(u.current->value, "old");
        updates[0].Put("one", 0);
        updates[1].Erase();
        updates[2].Put("three", 0);
      }).ok());
  EXPECT_EQ(Get(store_, "k"), "three");
  ASSERT_TRUE(
      RunUpdate(store_, Space::kData, {"k", "k"}, [](std::span<KeyUpdate> updates, int64_t) {
        updates[0].Put("four", 0);
        updates[1].Erase();
      }).ok());
  EXPECT_EQ(Get(store_, "k"), std::nullopt);
  ASSERT_TRUE(
      RunUpdate(store_, Space::kData, {"n", "n"}, [](std::span<KeyUpdate> updates, int64_t now) {
        EXPECT_EQ(updates[1].current, nullptr);
        updates[0].Put("first", now + 100);
        updates[1].Expire(0);  // applies to the key the first decision created
      }).ok());
  std::optional<Entry> entry = ReadEntry(store_, Space::kData, "n");
  ASSERT_TRUE(entry);
  EXPECT_EQ(entry->value, "first");
  EXPECT_EQ(entry->expire_at_ms, 0);
  EXPECT_EQ(store_.approximate_keys(), 1);
}

TEST_F(ArrayStoreTest, ExpireChangesOnlyTheExpiry) {
  ASSERT_TRUE(Put(store_, "k", "v").ok());
  ASSERT_TRUE(SetExpiry(store_, "k", clock_.now_ms + 100).ok());
  std::optional<Entry> entry = ReadEntry(store_, Space::kData, "k");
  ASSERT_TRUE(entry);
  EXPECT_EQ(entry->value, "v");
  EXPECT_EQ(entry->expire_at_ms, clock_.now_ms + 100);
  ASSERT_TRUE(SetExpiry(store_, "k", 0).ok());  // PERSIST
  clock_.now_ms += 1000;
  EXPECT_EQ(Get(store_, "k"), "v");
}

TEST_F(ArrayStoreTest, ExpireOnMissingKeyIsIgnored) {
  RecordingObserver observer;
  store_.set_observer(&observer);
  ASSERT_TRUE(SetExpiry(store_, "ghost", clock_.now_ms + 100).ok());
  EXPECT_EQ(Get(store_, "ghost"), std::nullopt);
  EXPECT_EQ(store_.approximate_keys(), 0);
  EXPECT_TRUE(observer.events.empty());
  EXPECT_EQ(store_.stats().writes, 0u);
}

TEST_F(ArrayStoreTest, ExpiryInThePastRemovesTheKeyAtOnce) {
  ASSERT_TRUE(Put(store_, "a", "v").ok());
  ASSERT_TRUE(Put(store_, "b", "v").ok());
  ASSERT_TRUE(SetExpiry(store_, "a", clock_.now_ms).ok());
  ASSERT_TRUE(Put(store_, "b", "w", clock_.now_ms - 1).ok());
  ASSERT_TRUE(Put(store_, "c", "w", clock_.now_ms - 1).ok());
  EXPECT_EQ(store_.approximate_keys(), 0);
  EXPECT_EQ(store_.used_memory(), 0u);
  EXPECT_EQ(store_.stats().writes, 4u);   // two puts, two removals; "c" never existed
  EXPECT_EQ(store_.stats().expired, 0u);  // removed by writes, not by expiry
}

TEST_F(ArrayStoreTest, ExpiredKeyIsAbsentForReadsAndReclaimedLazily) {
  ASSERT_TRUE(Put(store_, "k", "v", clock_.now_ms + 10).ok());
  clock_.now_ms += 9;
  EXPECT_EQ(Get(store_, "k"), "v");
  clock_.now_ms += 1;  // expire_at_ms <= now: expired
  EXPECT_EQ(Get(store_, "k"), std::nullopt);
  EXPECT_EQ(store_.stats().expired, 1u);
  EXPECT_EQ(store_.approximate_keys(), 0);
  EXPECT_EQ(store_.used_memory(), 0u);
}

TEST_F(ArrayStoreTest, ExpiredKeyIsAbsentForUpdates) {
  ASSERT_TRUE(Put(store_, "k", "v", clock_.now_ms + 10).ok());
  clock_.now_ms += 10;
  bool saw_current = true;
  ASSERT_TRUE(RunUpdate(store_, Space::kData, {"k"}, [&](std::span<KeyUpdate> updates, int64_t) {
                saw_current = updates[0].current != nullptr;
                updates[0].Expire(0);  // on an absent key: ignored
              }).ok());
  EXPECT_FALSE(saw_current);
  EXPECT_EQ(Get(store_, "k"), std::nullopt);
  EXPECT_EQ(store_.stats().expired, 1u);
}

TEST_F(ArrayStoreTest, ExpiredKeysAreInvisibleToScanRandomKeyBeforeReclaim) {
  ASSERT_TRUE(Put(store_, "short", "v", clock_.now_ms + 10).ok());
  ASSERT_TRUE(Put(store_, "long", "v").ok());
  clock_.now_ms += 10;
  EXPECT_EQ(ScanAll(store_), std::vector<std::string>{"long"});
  for (int i = 0; i < 20; ++i) EXPECT_EQ(testing::Random(store_), "long");
}

TEST_F(ArrayStoreTest, TickReclaimsExpiredKeysNobodyReads) {
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(Put(store_, "t" + std::to_string(i), "v", clock_.now_ms + 10 + i).ok());
  }
  ASSERT_TRUE(Put(store_, "keep", "v", clock_.now_ms + 100000).ok());
  ASSERT_TRUE(Put(store_, "lock", "v", clock_.now_ms + 10, Space::kLock).ok());
  clock_.now_ms += 59;  // t0..t49 and the lock are due
  store_.Tick(clock_.now_ms);
  EXPECT_EQ(store_.stats().expired, 51u);
  EXPECT_EQ(store_.approximate_keys(), 51);
  clock_.now_ms += 1000;
  store_.Tick(clock_.now_ms);
  EXPECT_EQ(store_.stats().expired, 101u);
  EXPECT_EQ(store_.approximate_keys(), 1);
  EXPECT_EQ(Get(store_, "keep"), "v");
  EXPECT_EQ(store_.stats().writes, 102u);  // reclaiming is not a write
}

TEST_F(ArrayStoreTest, TickDoesBoundedWork) {
  const int kKeys = 3 * static_cast<int>(ArrayStore::kMaxExpiredPerTick);
  for (int i = 0; i < kKeys; ++i) {
    ASSERT_TRUE(Put(store_, "t" + std::to_string(i), "v", clock_.now_ms + 1).ok());
  }
  clock_.now_ms += 1;
  store_.Tick(clock_.now_ms);
  EXPECT_GT(store_.stats().expired, 0u);
  EXPECT_LE(store_.stats().expired, ArrayStore::kMaxExpiredPerTick);
  for (int i = 0; i < 100 && store_.approximate_keys() > 0; ++i) store_.Tick(clock_.now_ms);
  EXPECT_EQ(store_.approximate_keys(), 0);
  EXPECT_EQ(store_.stats().expired, static_cast<uint64_t>(kKeys));
}

TEST_F(ArrayStoreTest, TtlChangesKeepTheExpiryOrderRight) {
  ASSERT_TRUE(Put(store_, "a", "v", clock_.now_ms + 10).ok());
  ASSERT_TRUE(Put(store_, "b", "v", clock_.now_ms + 20).ok());
  ASSERT_TRUE(Put(store_, "c", "v", clock_.now_ms + 30).ok());
  ASSERT_TRUE(SetExpiry(store_, "a", clock_.now_ms + 1000).ok());  // later
  ASSERT_TRUE(SetExpiry(store_, "c", clock_.now_ms + 5).ok());     // earlier
  ASSERT_TRUE(Put(store_, "b", "w").ok());                         // no expiry any more
  store_.Tick(clock_.now_ms + 500);
  EXPECT_EQ(store_.stats().expired, 1u);
  EXPECT_EQ(Get(store_, "a"), "v");
  EXPECT_EQ(Get(store_, "b"), "w");
  EXPECT_EQ(Get(store_, "c"), std::nullopt);
}

TEST_F(ArrayStoreTest, CountIncludesOnlyDataKeys) {
  ASSERT_TRUE(Put(store_, "a", "v").ok());
  ASSERT_TRUE(Put(store_, "b", "v").ok());
  ASSERT_TRUE(Put(store_, "t", "v", 0, Space::kTagged).ok());
  ASSERT_TRUE(Put(store_, "l", "v", 0, Space::kLease).ok());
  EXPECT_EQ(CountKeys(store_), 2);
  EXPECT_EQ(store_.approximate_keys(), 4);
}

TEST_F(ArrayStoreTest, FlushClearsEverySpaceAndGivesMemoryBack) {
  EXPECT_EQ(store_.used_memory(), 0u);
  for (int i = 0; i < 1000; ++i) {
    const std::string key = "k" + std::to_string(i);
    ASSERT_TRUE(Put(store_, key, std::string(100, 'v'), i % 2 ? clock_.now_ms + 1000 : 0).ok());
    ASSERT_TRUE(Put(store_, key, "1", 0, static_cast<Space>(i % kSpaceCount)).ok());
  }
  EXPECT_GT(store_.used_memory(), 100'000u);
  RecordingObserver observer;
  store_.set_observer(&observer);
  ASSERT_TRUE(FlushStore(store_).ok());
  EXPECT_EQ(store_.approximate_keys(), 0);
  EXPECT_EQ(CountKeys(store_), 0);
  EXPECT_EQ(store_.used_memory(), 0u);
  EXPECT_EQ(Get(store_, "k1", Space::kTagged), std::nullopt);
  ASSERT_EQ(observer.events.size(), 1u);
  EXPECT_TRUE(observer.events[0].all);
  EXPECT_EQ(observer.events[0].key, "");
  // Still usable afterwards.
  ASSERT_TRUE(Put(store_, "again", "v").ok());
  EXPECT_EQ(Get(store_, "again"), "v");
}

TEST_F(ArrayStoreTest, MemoryGrowsWithValuesAndReturnsToBaselineAfterDeletes) {
  ASSERT_TRUE(Put(store_, "small", "v").ok());
  const size_t one_small = store_.used_memory();
  ASSERT_TRUE(Put(store_, "small", std::string(10000, 'x')).ok());
  EXPECT_GE(store_.used_memory(), one_small + 10000);
  ASSERT_TRUE(Erase(store_, "small").ok());

  const size_t baseline = store_.used_memory();
  for (int i = 0; i < 5000; ++i) {
    ASSERT_TRUE(Put(store_, "key:" + std::to_string(i), std::string(i % 300, 'v')).ok());
  }
  EXPECT_GT(store_.used_memory(), baseline + 5000 * 100);
  // Down to 10 keys: the bucket array shrinks with the table.
  for (int i = 10; i < 5000; ++i) ASSERT_TRUE(Erase(store_, "key:" + std::to_string(i)).ok());
  for (int i = 0; i < 10; ++i) store_.Tick(clock_.now_ms);  // finish the shrink
  EXPECT_LE(store_.used_memory(), baseline + 10 * (one_small + 300) + 64 * sizeof(void*));
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(Erase(store_, "key:" + std::to_string(i)).ok());
  EXPECT_EQ(store_.used_memory(), baseline);
  EXPECT_EQ(baseline, 0u);
}

TEST_F(ArrayStoreTest, MemoryReturnsToBaselineAfterExpiry) {
  for (int i = 0; i < 5000; ++i) {
    ASSERT_TRUE(
        Put(store_, "key:" + std::to_string(i), std::string(50, 'v'), clock_.now_ms + 5).ok());
  }
  EXPECT_GT(store_.used_memory(), 5000u * 100);
  clock_.now_ms += 5;
  for (int i = 0; i < 20; ++i) store_.Tick(clock_.now_ms);
  EXPECT_EQ(store_.approximate_keys(), 0);
  EXPECT_LE(store_.used_memory(), 64u);
}

TEST_F(ArrayStoreTest, ObserverHearsOnlyKeysActuallyChanged) {
  RecordingObserver observer;
  store_.set_observer(&observer);
  ASSERT_TRUE(Put(store_, "a", "1").ok());
  ASSERT_TRUE(Put(store_, "lock", "1", 0, Space::kLock).ok());
  ASSERT_TRUE(Erase(store_, "missing").ok());
  ASSERT_TRUE(SetExpiry(store_, "missing", clock_.now_ms + 10).ok());
  ASSERT_TRUE(
      RunUpdate(store_, Space::kData, {"a", "b"}, [](std::span<KeyUpdate> updates, int64_t) {
        updates[1].Put("2", 0);  // "a" kept
      }).ok());
  ASSERT_TRUE(Put(store_, "gone", "1", clock_.now_ms + 1).ok());
  ASSERT_EQ(observer.events.size(), 4u);
  EXPECT_EQ(observer.events[0].key, "a");
  EXPECT_EQ(observer.events[1].key, "lock");
  EXPECT_EQ(observer.events[1].space, Space::kLock);
  EXPECT_EQ(observer.events[2].key, "b");
  EXPECT_EQ(observer.events[3].key, "gone");
  for (const auto& event : observer.events) EXPECT_FALSE(event.all);
}

// As in Redis 7, a key that expires changed: a WATCH on it fails, its waiters look again.
TEST_F(ArrayStoreTest, ObserverHearsOfExpiredKeysOnceReclaimed) {
  RecordingObserver observer;
  store_.set_observer(&observer);
  ASSERT_TRUE(Put(store_, "active", "1", clock_.now_ms + 1).ok());
  ASSERT_TRUE(Put(store_, "lazy", "1", clock_.now_ms + 1000).ok());
  ASSERT_TRUE(Put(store_, "lock", "1", clock_.now_ms + 1, Space::kLock).ok());
  observer.events.clear();
  clock_.now_ms += 1;
  store_.Tick(clock_.now_ms);
  ASSERT_EQ(observer.events.size(), 2u);
  EXPECT_EQ(observer.events[0].key, "active");
  EXPECT_EQ(observer.events[1].key, "lock");
  EXPECT_EQ(observer.events[1].space, Space::kLock);
  clock_.now_ms += 1000;
  EXPECT_EQ(Get(store_, "lazy"), std::nullopt);  // reclaimed by the read itself
  ASSERT_EQ(observer.events.size(), 3u);
  EXPECT_EQ(observer.events[2].key, "lazy");
  EXPECT_EQ(store_.stats().writes, 3u);  // reclaiming is not a write
}

KeyFacts Inspect(Store& store, std::string_view key, bool* found = nullptr) {
  KeyFacts result;
  bool completed = false;
  store.Inspect(key, [&](const Status& status, const Entry* entry, const KeyFacts& facts) {
    EXPECT_TRUE(status.ok());
    if (found != nullptr) *found = entry != nullptr;
    result = facts;
    completed = true;
  });
  EXPECT_TRUE(completed);
  return result;
}

TEST_F(ArrayStoreTest, InspectTellsIdleSecondsToTheTickAndBytesWithoutTouching) {
  store_.Tick(clock_.now_ms);
  ASSERT_TRUE(Put(store_, "k", std::string(100, 'v')).ok());
  clock_.now_ms += 3000;
  store_.Tick(clock_.now_ms);
  EXPECT_EQ(Inspect(store_, "k").idle_s, 3);
  EXPECT_EQ(Inspect(store_, "k").idle_s, 3);  // inspecting is no access
  {
    NoTouchScope no_touch;
    EXPECT_EQ(Get(store_, "k"), std::string(100, 'v'));
  }
  EXPECT_EQ(Inspect(store_, "k").idle_s, 3);
  EXPECT_EQ(Get(store_, "k"), std::string(100, 'v'));
  EXPECT_EQ(Inspect(store_, "k").idle_s, 0);
  clock_.now_ms += 2000;
  store_.Tick(clock_.now_ms);
  ASSERT_TRUE(Put(store_, "k", "w").ok());  // a write is an access, even in a NoTouchScope
  EXPECT_EQ(Inspect(store_, "k").idle_s, 0);

  const KeyFacts facts = Inspect(store_, "k");
  EXPECT_GE(facts.bytes, sizeof(Node) + 1);
  EXPECT_LE(facts.bytes, store_.used_memory());
  ASSERT_TRUE(Put(store_, "big", std::string(4096, 'x')).ok());
  EXPECT_GT(Inspect(store_, "big").bytes, 4096u);
  bool found = true;
  Inspect(store_, "missing", &found);
  EXPECT_FALSE(found);
}

// Prefetch is a cache hint: present, absent and expired keys, before, during and after a resize.
TEST_F(ArrayStoreTest, PrefetchChangesNothing) {
  std::vector<std::string_view> keys{"a", "missing", "gone"};
  store_.Prefetch(keys);  // an empty store
  ASSERT_TRUE(Put(store_, "a", "1").ok());
  ASSERT_TRUE(Put(store_, "gone", "1", clock_.now_ms + 1).ok());
  clock_.now_ms += 1;
  std::vector<std::string> names;
  for (int i = 0; i < 300; ++i) names.push_back("k" + std::to_string(i));
  for (const std::string& name : names) {
    ASSERT_TRUE(Put(store_, name, "v").ok());  // grows the table: resizes run meanwhile
    std::vector<std::string_view> batch{keys[0], keys[1], keys[2], name};
    store_.Prefetch(batch);
  }
  std::vector<std::string_view> all(names.begin(), names.end());
  store_.Prefetch(all);  // more than kMaxPrefetch: the rest is ignored
  EXPECT_EQ(Get(store_, "a"), "1");
  EXPECT_EQ(Get(store_, "missing"), std::nullopt);
  EXPECT_EQ(Get(store_, "gone"), std::nullopt);
  EXPECT_EQ(CountKeys(store_), 301);
  EXPECT_EQ(store_.stats().hits, 1u);
  EXPECT_EQ(store_.stats().misses, 2u);
}

TEST_F(ArrayStoreTest, ExpiryStatsCountDataKeysWithAnExpiryAndTheirAverageTtl) {
  EXPECT_EQ(store_.expiry_stats()->expires, 0);
  ASSERT_TRUE(Put(store_, "a", "v", clock_.now_ms + 10'000).ok());
  ASSERT_TRUE(Put(store_, "b", "v", clock_.now_ms + 20'000).ok());
  ASSERT_TRUE(Put(store_, "c", "v").ok());
  ASSERT_TRUE(Put(store_, "lock", "v", clock_.now_ms + 5'000, Space::kLock).ok());
  EXPECT_EQ(store_.expiry_stats()->expires, 2);
  EXPECT_EQ(store_.expiry_stats()->avg_ttl_ms, 15'000);
  clock_.now_ms += 4'000;
  EXPECT_EQ(store_.expiry_stats()->avg_ttl_ms, 11'000);
  ASSERT_TRUE(SetExpiry(store_, "c", clock_.now_ms + 2'000).ok());  // c gains one
  ASSERT_TRUE(SetExpiry(store_, "b", 0).ok());                      // b loses its
  EXPECT_EQ(store_.expiry_stats()->expires, 2);
  EXPECT_EQ(store_.expiry_stats()->avg_ttl_ms, 4'000);  // (6 s + 2 s) / 2
  ASSERT_TRUE(Erase(store_, "a").ok());
  EXPECT_EQ(store_.expiry_stats()->expires, 1);
  clock_.now_ms += 2'000;
  store_.Tick(clock_.now_ms);  // c expires
  EXPECT_EQ(store_.expiry_stats()->expires, 0);
  EXPECT_EQ(store_.expiry_stats()->avg_ttl_ms, 0);
  ASSERT_TRUE(Put(store_, "d", "v", clock_.now_ms + 1'000).ok());
  ASSERT_TRUE(FlushStore(store_).ok());
  EXPECT_EQ(store_.expiry_stats()->expires, 0);
}

TEST_F(ArrayStoreTest, PausedExpiryHidesExpiredKeysWithoutRemovingThem) {
  ASSERT_TRUE(Put(store_, "k", "v", clock_.now_ms + 10).ok());
  store_.PauseExpiry(true);
  clock_.now_ms += 10;
  store_.Tick(clock_.now_ms);
  EXPECT_EQ(Get(store_, "k"), std::nullopt);
  EXPECT_EQ(store_.stats().expired, 0u);
  EXPECT_EQ(store_.approximate_keys(), 1);
  // A write still replaces it (it reclaims the old node first).
  ASSERT_TRUE(Put(store_, "k", "w", clock_.now_ms + 10).ok());
  EXPECT_EQ(store_.approximate_keys(), 1);
  EXPECT_EQ(Get(store_, "k"), "w");
  clock_.now_ms += 10;
  store_.PauseExpiry(false);
  EXPECT_EQ(Get(store_, "k"), std::nullopt);
  EXPECT_EQ(store_.stats().expired, 2u);
  EXPECT_EQ(store_.approximate_keys(), 0);
}

// An observer that writes back into the store from inside the notification (as a REMEMBER
// waiter that is handed a lease would).
class ReentrantObserver : public KeyObserver {
 public:
  void OnKeyWritten(Store& store, Space space, std::string_view key, bool all) override {
    if (space != Space::kData) return;
    ++calls;
    EXPECT_TRUE(testing::Put(store, std::string(key), "from observer", 0, Space::kLease).ok());
    EXPECT_EQ(testing::Get(store, key), "v");
  }
  int calls = 0;
};

TEST_F(ArrayStoreTest, ObserverMayCallBackIntoTheStore) {
  ReentrantObserver observer;
  store_.set_observer(&observer);
  ASSERT_TRUE(
      RunUpdate(store_, Space::kData, {"x", "y", "x"}, [](std::span<KeyUpdate> updates, int64_t) {
        for (KeyUpdate& u : updates) u.Put("v", 0);
      }).ok());
  EXPECT_EQ(observer.calls, 3);
  EXPECT_EQ(Get(store_, "x", Space::kLease), "from observer");
  EXPECT_EQ(Get(store_, "y", Space::kLease), "from observer");
}

TEST_F(ArrayStoreTest, WithoutAnInjectedClockUsesNowMs) {
  ArrayStore store("real");
  ASSERT_TRUE(Put(store, "k", "v", NowMs() + 60'000).ok());
  ASSERT_TRUE(Put(store, "old", "v", NowMs() + 60'000).ok());
  ASSERT_TRUE(SetExpiry(store, "old", NowMs() - 1).ok());
  EXPECT_EQ(Get(store, "k"), "v");
  EXPECT_EQ(Get(store, "old"), std::nullopt);
}

TEST(NowMsTest, IsUnixTimeInMilliseconds) {
  const int64_t now = NowMs();
  EXPECT_GT(now, 1'600'000'000'000);  // after 2020
  EXPECT_LT(now, 4'000'000'000'000);  // not microseconds
  EXPECT_GE(NowMs(), now);
}

}  // namespace
}  // namespace arvel::drivers
