// ArrayStore under max_memory: LRU eviction order, OOM, protected spaces, write floods.

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "common/errors.h"
#include "drivers/array_store.h"
#include "drivers/value_decisions.h"
#include "tests/unit/drivers/store_test_util.h"

namespace arvel::drivers {
namespace {

using testing::FakeClock;
using testing::FlushStore;
using testing::Get;
using testing::Put;
using testing::RecordingObserver;
using testing::RunUpdate;

std::string Key(int i) { return "k" + std::to_string(i); }

class ArrayStoreMemoryTest : public ::testing::Test {
 protected:
  ArrayStoreOptions Options(size_t max_memory) {
    ArrayStoreOptions options;
    options.max_memory = max_memory;
    options.clock = clock_.Function();
    return options;
  }
  // A store whose limit holds exactly `keys` entries Key(0..keys-1) => `value` (plus half an
  // entry). Key(expiring), if given, expires 5 ms from now.
  std::unique_ptr<ArrayStore> StoreHolding(int keys, const std::string& value, int expiring = -1) {
    auto fill = [&](ArrayStore& store, int count) {
      for (int i = 0; i < count; ++i) {
        EXPECT_TRUE(Put(store, Key(i), value, i == expiring ? clock_.now_ms + 5 : 0).ok());
      }
    };
    ArrayStore probe("probe", Options(0));
    fill(probe, keys);
    const size_t full = probe.used_memory();
    EXPECT_TRUE(Put(probe, Key(keys), value).ok());
    const size_t one_more = probe.used_memory() - full;
    auto store = std::make_unique<ArrayStore>("memory", Options(full + one_more / 2));
    fill(*store, keys);
    EXPECT_EQ(store->stats().evictions, 0u);
    return store;
  }
  FakeClock clock_;
};

// APPEND and SETRANGE build the new value from a copy of the old one; the string they grow
// has room for about twice its size, which must not be charged: one string can grow until it
// alone fills the limit, less the store's own overhead.
TEST_F(ArrayStoreMemoryTest, OneStringCanGrowToTheLimitByAppendAndSetRange) {
  constexpr size_t kLimit = 1 << 20;
  constexpr size_t kChunk = 4096;
  const std::string chunk(kChunk, 'x');
  for (bool by_setrange : {false, true}) {
    ArrayStore store("memory", Options(kLimit));
    int64_t size = 0;
    for (;;) {
      Status status =
          RunUpdate(store, Space::kData, {"grow"}, [&](std::span<KeyUpdate> u, int64_t) {
            if (by_setrange) {
              OverwriteRange(u[0], static_cast<uint64_t>(size), chunk);
            } else {
              ASSERT_TRUE(AppendValue(u[0], chunk, 512 << 20).ok());
            }
          });
      if (!status.ok()) {
        EXPECT_EQ(status.message(), errors::kOom);
        break;
      }
      size += kChunk;
      ASSERT_LE(store.used_memory(), kLimit);
    }
    EXPECT_EQ(std::ssize(Get(store, "grow").value_or("")), size);
    EXPECT_GE(size, static_cast<int64_t>(kLimit - 2 * kChunk))
        << (by_setrange ? "SETRANGE" : "APPEND");
    EXPECT_LE(store.used_memory(), kLimit);
  }
}

TEST_F(ArrayStoreMemoryTest, UnlimitedStoreNeverEvicts) {
  ArrayStore store("memory", Options(0));
  for (int i = 0; i < 10000; ++i) ASSERT_TRUE(Put(store, Key(i), std::string(100, 'v')).ok());
  EXPECT_EQ(store.max_memory(), 0u);
  EXPECT_EQ(store.stats().evictions, 0u);
  EXPECT_EQ(store.approximate_keys(), 10000);
}

TEST_F(ArrayStoreMemoryTest, EvictsTheLeastRecentlyReadKeyFirst) {
  std::unique_ptr<ArrayStore> store = StoreHolding(10, std::string(100, 'v'));
  EXPECT_EQ(Get(*store, Key(0)), std::string(100, 'v'));  // k0 becomes the most recent
  ASSERT_TRUE(Put(*store, "new1", std::string(100, 'v')).ok());
  EXPECT_EQ(store->stats().evictions, 1u);
  EXPECT_EQ(Get(*store, Key(1)), std::nullopt);  // the oldest untouched one went
  EXPECT_TRUE(Get(*store, Key(0)));
  EXPECT_TRUE(Get(*store, Key(2)));  // now k3 is the least recent
  ASSERT_TRUE(Put(*store, "new2", std::string(100, 'v')).ok());
  EXPECT_EQ(store->stats().evictions, 2u);
  EXPECT_EQ(Get(*store, Key(3)), std::nullopt);
  for (int i : {0, 2, 4, 5, 6, 7, 8, 9}) EXPECT_TRUE(Get(*store, Key(i))) << i;
  EXPECT_LE(store->used_memory(), store->max_memory());
}

TEST_F(ArrayStoreMemoryTest, UpdatesRefreshRecencyToo) {
  std::unique_ptr<ArrayStore> store = StoreHolding(10, std::string(100, 'v'));
  // A read-only Update (e.g. a failed ADD) counts as a use of k0.
  ASSERT_TRUE(RunUpdate(*store, Space::kData, {Key(0)}, [](std::span<KeyUpdate>, int64_t) {}).ok());
  ASSERT_TRUE(Put(*store, "new", std::string(100, 'v')).ok());
  EXPECT_EQ(store->stats().evictions, 1u);
  EXPECT_TRUE(Get(*store, Key(0)));
  EXPECT_EQ(Get(*store, Key(1)), std::nullopt);
}

TEST_F(ArrayStoreMemoryTest, OverwritingTheOldestKeyDoesNotEvictIt) {
  std::unique_ptr<ArrayStore> store = StoreHolding(10, std::string(100, 'v'));
  // k0 is the least recent, and the bigger value needs room: others go, never k0 itself.
  ASSERT_TRUE(Put(*store, Key(0), std::string(300, 'w')).ok());
  EXPECT_GE(store->stats().evictions, 1u);
  EXPECT_EQ(Get(*store, Key(0)), std::string(300, 'w'));
  EXPECT_EQ(Get(*store, Key(1)), std::nullopt);
  EXPECT_LE(store->used_memory(), store->max_memory());
}

TEST_F(ArrayStoreMemoryTest, SmallerOverwriteAtTheLimitNeedsNoEviction) {
  std::unique_ptr<ArrayStore> store = StoreHolding(10, std::string(100, 'v'));
  ASSERT_TRUE(Put(*store, Key(5), "tiny").ok());
  EXPECT_EQ(store->stats().evictions, 0u);
  EXPECT_EQ(store->approximate_keys(), 10);
}

TEST_F(ArrayStoreMemoryTest, DueKeysAreReclaimedBeforeLiveOnesAreEvicted) {
  std::unique_ptr<ArrayStore> store = StoreHolding(10, std::string(100, 'v'), /*expiring=*/7);
  clock_.now_ms += 5;  // k7 is due but nobody has looked at it
  ASSERT_TRUE(Put(*store, "new", std::string(100, 'v')).ok());
  EXPECT_EQ(store->stats().evictions, 0u);
  EXPECT_EQ(store->stats().expired, 1u);
  EXPECT_TRUE(Get(*store, Key(0)));
}

TEST_F(ArrayStoreMemoryTest, ValueLargerThanMaxMemoryFailsWithOomAndWritesNothing) {
  ArrayStore store("memory", Options(64 * 1024));
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(Put(store, Key(i), "small").ok());
  RecordingObserver observer;
  store.set_observer(&observer);
  Status status = Put(store, "huge", std::string(100 * 1024, 'x'));
  EXPECT_FALSE(status.ok());
  EXPECT_EQ(status.message(), errors::kOom);
  EXPECT_EQ(Get(store, "huge"), std::nullopt);
  EXPECT_EQ(store.stats().evictions, 0u) << "evicted keys for a write that could never fit";
  EXPECT_EQ(store.approximate_keys(), 10);
  EXPECT_EQ(store.stats().writes, 10u);
  EXPECT_TRUE(observer.events.empty());
}

TEST_F(ArrayStoreMemoryTest, OomInAMultiKeyUpdateWritesNoneOfTheKeys) {
  ArrayStore store("memory", Options(64 * 1024));
  ASSERT_TRUE(Put(store, "a", "old").ok());
  Status status =
      RunUpdate(store, Space::kData, {"a", "b", "c"}, [](std::span<KeyUpdate> updates, int64_t) {
        updates[0].Put("new", 0);
        updates[1].Erase();
        updates[2].Put(std::string(80 * 1024, 'x'), 0);
      });
  EXPECT_EQ(status.message(), errors::kOom);
  EXPECT_EQ(Get(store, "a"), "old");
  EXPECT_EQ(Get(store, "c"), std::nullopt);
}

TEST_F(ArrayStoreMemoryTest, WriteFloodOfTenTimesMaxMemoryStaysUnderTheLimit) {
  constexpr size_t kMax = 1 << 20;
  ArrayStore store("memory", Options(kMax));
  std::mt19937 rng(5);
  size_t written = 0;
  int i = 0;
  while (written < 10 * kMax) {
    const std::string key = Key(static_cast<int>(rng() % 30000));
    std::string value(20 + rng() % 600, 'v');
    written += key.size() + value.size();
    const int64_t expire = rng() % 4 == 0 ? clock_.now_ms + 1 + rng() % 1000 : 0;
    ASSERT_TRUE(
        Put(store, key, std::move(value), expire, i % 5 ? Space::kData : Space::kTagged).ok());
    ASSERT_LE(store.used_memory(), kMax) << "after write " << i;
    if (i % 3 == 0) Get(store, Key(static_cast<int>(rng() % 30000)));
    if (i % 1000 == 0) {
      clock_.now_ms += 10;
      store.Tick(clock_.now_ms);
      ASSERT_LE(store.used_memory(), kMax) << "after tick " << i;
    }
    ++i;
  }
  EXPECT_GT(store.stats().evictions, 1000u);
  EXPECT_GT(store.used_memory(), kMax / 2) << "evicted far more than needed";
  ASSERT_TRUE(FlushStore(store).ok());
  EXPECT_EQ(store.used_memory(), 0u);
}

TEST_F(ArrayStoreMemoryTest, LocksThrottleTagVersionsAndLeasesAreNeverEvicted) {
  constexpr size_t kMax = 256 * 1024;
  ArrayStore store("memory", Options(kMax));
  const Space protected_spaces[] = {Space::kLock, Space::kThrottle, Space::kTagVersion,
                                    Space::kLease};
  for (Space space : protected_spaces) {
    for (int i = 0; i < 100; ++i) ASSERT_TRUE(Put(store, Key(i), "x", 0, space).ok());
  }
  for (int i = 0; i < 20000; ++i) {
    const Space space = i % 2 ? Space::kData : Space::kTagged;
    ASSERT_TRUE(Put(store, "flood" + std::to_string(i), std::string(100, 'v'), 0, space).ok());
  }
  EXPECT_GT(store.stats().evictions, 0u);
  EXPECT_EQ(Get(store, "flood0", Space::kTagged), std::nullopt);  // tagged items are evictable
  for (Space space : protected_spaces) {
    for (int i = 0; i < 100; ++i) ASSERT_EQ(Get(store, Key(i), space), "x") << i;
  }
  EXPECT_LE(store.used_memory(), kMax);
}

TEST_F(ArrayStoreMemoryTest, ProtectedWritesEvictDataAndFailOnlyWhenNothingIsLeft) {
  constexpr size_t kMax = 128 * 1024;
  ArrayStore store("memory", Options(kMax));
  for (int i = 0; i < 200; ++i) ASSERT_TRUE(Put(store, Key(i), std::string(200, 'v')).ok());
  int locks = 0;
  Status status;
  while (locks < 100000) {
    status = Put(store, "lock" + std::to_string(locks), std::string(200, 'o'), 0, Space::kLock);
    if (!status.ok()) break;
    ++locks;
    ASSERT_LE(store.used_memory(), kMax);
  }
  EXPECT_EQ(status.message(), errors::kOom);
  EXPECT_EQ(testing::CountKeys(store), 0);  // every data key made room for locks first
  EXPECT_EQ(store.stats().evictions, 200u);
  for (int i = 0; i < locks; ++i) ASSERT_TRUE(Get(store, "lock" + std::to_string(i), Space::kLock));
}

TEST_F(ArrayStoreMemoryTest, EvictionAndExpiryAreNotReportedAsWrites) {
  std::unique_ptr<ArrayStore> store = StoreHolding(10, std::string(100, 'v'));
  RecordingObserver observer;
  store->set_observer(&observer);
  const uint64_t writes = store->stats().writes;
  ASSERT_TRUE(Put(*store, "new", std::string(100, 'v')).ok());
  EXPECT_EQ(store->stats().evictions, 1u);
  ASSERT_EQ(observer.events.size(), 1u);
  EXPECT_EQ(observer.events[0].key, "new");
  EXPECT_EQ(store->stats().writes, writes + 1);
}

}  // namespace
}  // namespace arvel::drivers
