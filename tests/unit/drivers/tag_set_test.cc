// Tag sets, generations, item records (drivers/tag_set.h) and the TagReclaimer
// (drivers/tag_reclaimer.h), against a real ArrayStore with a manual clock: canonical sets,
// derived keys that change with every flush, records that name their generations, a write that
// races a flush, and flushed items' memory coming back.

#include "drivers/tag_set.h"

#include <gtest/gtest.h>

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "drivers/array_store.h"
#include "drivers/null_store.h"
#include "drivers/tag_reclaimer.h"
#include "drivers/unavailable_store.h"
#include "tests/unit/drivers/store_test_util.h"

namespace arvel::drivers {
namespace {

using testing::FakeClock;

// Every key of `space` a full ScanSpace iteration returns.
std::vector<std::string> ScanAllSpace(Store& store, Space space) {
  std::vector<std::string> all;
  uint64_t cursor = 0;
  do {
    store.ScanSpace(space, cursor, 100,
                    [&](const Status& status, uint64_t next, std::vector<std::string> keys) {
                      EXPECT_TRUE(status.ok());
                      all.insert(all.end(), keys.begin(), keys.end());
                      cursor = next;
                    });
  } while (cursor != 0);
  return all;
}

TagSet Tags(std::string_view list) {
  Result<TagSet> tags = TagSet::Parse(list);
  EXPECT_TRUE(tags.ok()) << tags.status().message();
  return tags.ok() ? *tags : TagSet();
}

// ---- TagSet

TEST(TagSetTest, IsSortedAndWithoutDuplicates) {
  EXPECT_EQ(Tags("b,a,b").tags(), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(Tags("b,a").tags(), Tags("a,b").tags());
  EXPECT_EQ(Tags("one").tags(), (std::vector<std::string>{"one"}));
}

TEST(TagSetTest, TagsAreBinarySafeExceptForTheComma) {
  EXPECT_EQ(Tags(std::string("a b,x=y,\0z", 10)).tags(),
            (std::vector<std::string>{std::string("\0z", 2), "a b", "x=y"}));
}

TEST(TagSetTest, RejectsEmptyListsAndEmptyTags) {
  EXPECT_EQ(TagSet::Parse("").status().message(), "ERR the tag list is empty");
  for (std::string_view list : {",", "a,", ",a", "a,,b"}) {
    EXPECT_EQ(TagSet::Parse(list).status().message(), "ERR empty tag in the tag list") << list;
  }
}

// ---- Generations and scopes

TEST(GenerationTest, AreRandom128BitHex) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    std::optional<std::string> generation = NewGeneration();
    ASSERT_TRUE(generation.has_value());
    EXPECT_EQ(generation->size(), 32u);
    EXPECT_EQ(generation->find_first_not_of("0123456789abcdef"), std::string::npos);
    seen.insert(*generation);
  }
  EXPECT_EQ(seen.size(), 100u);
}

TEST(GenerationTest, EnsureKeepsExistingAndCreatesMissing) {
  const Entry existing{"g-a", 0};
  KeyUpdate versions[2];
  versions[0].current = &existing;
  const std::vector<std::string> fresh = {"f-a", "f-b"};
  EXPECT_EQ(EnsureGenerations(versions, fresh), (std::vector<std::string>{"g-a", "f-b"}));
  EXPECT_EQ(versions[0].action, KeyUpdate::Action::kKeep);
  EXPECT_EQ(versions[1].action, KeyUpdate::Action::kPut);
  EXPECT_EQ(versions[1].value, "f-b");
  EXPECT_EQ(versions[1].expire_at_ms, 0);
}

TEST(GenerationTest, ExistingNeedsEveryTag) {
  const Entry a{"g-a", 0};
  const Entry* both[] = {&a, &a};
  const Entry* one[] = {&a, nullptr};
  EXPECT_EQ(ExistingGenerations(both), (std::vector<std::string>{"g-a", "g-a"}));
  EXPECT_EQ(ExistingGenerations(one), std::nullopt);
}

TEST(TagScopeTest, KeysDependOnTheSetTheGenerationsAndTheKey) {
  const std::vector<std::string> g1 = {"11", "22"};
  const std::vector<std::string> g2 = {"11", "33"};
  const TagScope scope(Tags("a,b"), g1);
  EXPECT_EQ(scope.ItemKey("k"), TagScope(Tags("b,a"), g1).ItemKey("k"));
  EXPECT_NE(scope.ItemKey("k"), TagScope(Tags("a,b"), g2).ItemKey("k"));
  EXPECT_NE(scope.ItemKey("k"), TagScope(Tags("a,c"), g1).ItemKey("k"));
  EXPECT_NE(scope.ItemKey("k"), scope.ItemKey("l"));
  EXPECT_EQ(scope.ItemKey("k").size(), 32u + 1 + 1);  // digest, ':', key
}

TEST(TagScopeTest, RecordsRoundTripAndNameTheirGenerations) {
  const std::vector<std::string> generations = {"0a", "0b"};
  const TagScope scope(Tags("x=y,b"), generations);
  const std::string value("v:1,2=3\0", 8);
  const std::string record = scope.Encode(value);
  EXPECT_EQ(scope.Decode(record), value);
  EXPECT_EQ(TagScope(Tags("x=y,b"), std::vector<std::string>{"0a", "0c"}).Decode(record),
            std::nullopt);
  std::optional<std::vector<Stamp>> stamps = ParseStamps(record);
  ASSERT_TRUE(stamps.has_value());
  ASSERT_EQ(stamps->size(), 2u);
  EXPECT_EQ((*stamps)[0].tag, "b");
  EXPECT_EQ((*stamps)[0].generation, "0a");
  EXPECT_EQ((*stamps)[1].tag, "x=y");
  EXPECT_EQ((*stamps)[1].generation, "0b");
  EXPECT_EQ(RecordHeader(record), scope.value_prefix());
  EXPECT_EQ(record, scope.value_prefix() + value);
}

TEST(TagScopeTest, MalformedRecordsAreNotItems) {
  for (std::string_view record : {"", "v", "x:", "5:a=1", "4:a=1", "3:=1v", "4:=1,v", "4:a=,v"}) {
    EXPECT_EQ(ParseStamps(record), std::nullopt) << record;
    EXPECT_EQ(RecordHeader(record), std::nullopt) << record;
  }
}

// ---- Through a store

class TaggedStoreTest : public ::testing::Test {
 protected:
  std::optional<TagScope> Scope(std::string_view list, bool create) {
    std::optional<TagScope> result;
    bool called = false;
    ScopeFn done = [&](const Status& status, std::optional<TagScope> scope) {
      called = true;
      EXPECT_TRUE(status.ok()) << status.message();
      result = std::move(scope);
    };
    create ? EnsureScope(store_, Tags(list), done) : ReadScope(store_, Tags(list), done);
    EXPECT_TRUE(called);
    return result;
  }
  void PutItem(const TagScope& scope, std::string_view key, std::string_view value,
               int64_t expire_at = 0) {
    ASSERT_TRUE(
        testing::Put(store_, scope.ItemKey(key), scope.Encode(value), expire_at, Space::kTagged)
            .ok());
  }
  void Put(std::string_view list, std::string_view key, std::string_view value,
           int64_t expire_at = 0) {
    std::optional<TagScope> scope = Scope(list, true);
    ASSERT_TRUE(scope.has_value());
    PutItem(*scope, key, value, expire_at);
  }
  std::optional<std::string> Get(std::string_view list, std::string_view key) {
    std::optional<TagScope> scope = Scope(list, false);
    if (!scope) return std::nullopt;
    std::optional<std::string> record = testing::Get(store_, scope->ItemKey(key), Space::kTagged);
    if (!record) return std::nullopt;
    std::optional<std::string_view> value = scope->Decode(*record);
    return value ? std::optional<std::string>(*value) : std::nullopt;
  }
  void Flush(std::string_view list) {
    bool called = false;
    FlushTags(store_, Tags(list), [&](const Status& status) {
      called = true;
      EXPECT_TRUE(status.ok());
    });
    EXPECT_TRUE(called);
  }
  // Ticks (at most `ticks` times) until `reclaimed` records were reclaimed in all.
  void ReclaimUntil(uint64_t reclaimed, int ticks = 10'000) {
    for (int i = 0; i < ticks && reclaimer_.stats().reclaimed < reclaimed; ++i) {
      reclaimer_.Tick(clock_.now_ms);
    }
    EXPECT_EQ(reclaimer_.stats().reclaimed, reclaimed);
  }
  uint64_t TaggedKeys() { return ScanAllSpace(store_, Space::kTagged).size(); }

  FakeClock clock_;
  ArrayStore store_{"test", {0, clock_.Function()}};
  TagReclaimer reclaimer_{store_};
};

TEST_F(TaggedStoreTest, ReadsNeverCreateGenerations) {
  EXPECT_EQ(Scope("a", false), std::nullopt);
  EXPECT_EQ(Get("a", "k"), std::nullopt);
  EXPECT_EQ(store_.approximate_keys(), 0);
}

TEST_F(TaggedStoreTest, ItemsAreAddressedByKeyAndSetInAnyOrder) {
  Put("a,b", "k", "v");
  EXPECT_EQ(Get("b,a", "k"), "v");
  EXPECT_EQ(Get("a", "k"), std::nullopt);
  EXPECT_EQ(Get("a,b,c", "k"), std::nullopt);
  EXPECT_EQ(testing::Get(store_, "k"), std::nullopt);  // not a plain key
  EXPECT_EQ(testing::CountKeys(store_), 0);
}

TEST_F(TaggedStoreTest, WritersAgreeOnGenerations) {
  std::optional<TagScope> first = Scope("a,b", true);
  std::optional<TagScope> second = Scope("b,a", true);
  ASSERT_TRUE(first && second);
  EXPECT_EQ(first->ItemKey("k"), second->ItemKey("k"));
}

TEST_F(TaggedStoreTest, FlushOfOneTagHidesEverySetContainingIt) {
  Put("a,b", "k", "ab");
  Put("a", "k", "a");
  Put("b", "k", "b");
  Put("c", "k", "c");
  Flush("b");
  EXPECT_EQ(Get("a,b", "k"), std::nullopt);
  EXPECT_EQ(Get("b", "k"), std::nullopt);
  EXPECT_EQ(Get("a", "k"), "a");
  EXPECT_EQ(Get("c", "k"), "c");
  Put("a,b", "k", "again");
  EXPECT_EQ(Get("a,b", "k"), "again");
}

TEST_F(TaggedStoreTest, WriteRacingAFlushIsHiddenAndReclaimed) {
  // The writer resolved its scope, then the flush ran, then the writer's item Update lands.
  std::optional<TagScope> before = Scope("a,b", true);
  ASSERT_TRUE(before.has_value());
  Flush("a");
  PutItem(*before, "k", "late");
  EXPECT_EQ(Get("a,b", "k"), std::nullopt);
  Put("b", "other", "kept");
  reclaimer_.NoteFlush();
  ReclaimUntil(1);
  EXPECT_EQ(TaggedKeys(), 1u);
  EXPECT_EQ(Get("b", "other"), "kept");
  // A later flush has nothing more to do for it, and it never comes back.
  Flush("a");
  EXPECT_EQ(Get("a,b", "k"), std::nullopt);
}

TEST_F(TaggedStoreTest, ReclaimerGivesFlushedMemoryBackForeverItemsIncluded) {
  Put("other", "survivor", "v");
  Flush("t");  // creates t's generation, so the baseline holds every record that stays
  for (int i = 0; i < 100; ++i) reclaimer_.Tick(clock_.now_ms);
  const size_t baseline = store_.used_memory();
  constexpr int kItems = 20'000;
  std::optional<TagScope> scope = Scope("t", true);
  ASSERT_TRUE(scope.has_value());
  for (int i = 0; i < kItems; ++i) {
    // Half forever, half with an expiry far away.
    PutItem(*scope, "key" + std::to_string(i), "value", i % 2 ? 0 : clock_.now_ms + 3'600'000);
  }
  EXPECT_GT(store_.used_memory(), baseline + kItems * 64);
  Flush("t");
  reclaimer_.NoteFlush();
  ReclaimUntil(kItems);
  for (int i = 0; i < 10; ++i) store_.Tick(clock_.now_ms);  // finishes shrinking the tables
  EXPECT_EQ(TaggedKeys(), 1u);
  EXPECT_EQ(Get("other", "survivor"), "v");
  EXPECT_LE(store_.used_memory(), baseline);
}

TEST_F(TaggedStoreTest, IdlePaceStillReclaims) {
  for (int i = 0; i < 300; ++i) Put("t", "k" + std::to_string(i), "v");
  Flush("t");  // not noted: as if another daemon sharing the backend had flushed
  ReclaimUntil(300, 100);
}

TEST_F(TaggedStoreTest, ExpiredAndLiveRecordsAreLeftAlone) {
  Put("t", "expiring", "v", clock_.now_ms + 1000);
  Put("t", "live", "v");
  clock_.now_ms += 1000;
  for (int i = 0; i < 10; ++i) reclaimer_.Tick(clock_.now_ms);
  EXPECT_EQ(reclaimer_.stats().reclaimed, 0u);
  EXPECT_GT(reclaimer_.stats().passes, 0u);
  EXPECT_EQ(Get("t", "live"), "v");
}

TEST_F(TaggedStoreTest, RecordsThatAreNotItemsAreReclaimed) {
  ASSERT_TRUE(testing::Put(store_, "garbage", "not a record", 0, Space::kTagged).ok());
  ReclaimUntil(1, 100);
}

TEST_F(TaggedStoreTest, WalkDoesNotCountAsHitsOrMisses) {
  Put("t", "k", "v");
  Flush("t");
  const StoreStats before = store_.stats();
  reclaimer_.NoteFlush();
  ReclaimUntil(1);
  EXPECT_EQ(store_.stats().hits, before.hits);
  EXPECT_EQ(store_.stats().misses, before.misses);
}

TEST_F(TaggedStoreTest, CountsTags) {
  EXPECT_EQ(reclaimer_.stats().tags, -1);
  Put("a,b", "k", "v");
  Put("c", "k", "v");
  for (int i = 0; i < 3; ++i) reclaimer_.Tick(clock_.now_ms);
  EXPECT_EQ(reclaimer_.stats().tags, 3);
}

TEST(TagReclaimerTest, NullStoreHasNothingToDo) {
  NullStore store("off");
  TagReclaimer reclaimer(store);
  for (int i = 0; i < 3; ++i) reclaimer.Tick(NowMs());
  EXPECT_EQ(reclaimer.stats().reclaimed, 0u);
  EXPECT_EQ(reclaimer.stats().tags, 0);
}

TEST(TagReclaimerTest, UnavailableStoreIsLeftAlone) {
  UnavailableStore store("down", "redis", "connection refused");
  TagReclaimer reclaimer(store);
  reclaimer.Tick(NowMs());
  EXPECT_EQ(store.stats().errors, 0u);
}

// A driver that does not override ScanSpace: the walk backs off instead of failing every tick.
class NoScanStore : public ArrayStore {
 public:
  NoScanStore() : ArrayStore("noscan") {}
  void ScanSpace(Space space, uint64_t cursor, size_t count, ScanFn done) override {
    ++scans;
    Store::ScanSpace(space, cursor, count, std::move(done));
  }
  int scans = 0;
};

TEST(TagReclaimerTest, BacksOffWhenTheStoreCannotScan) {
  NoScanStore store;
  TagReclaimer reclaimer(store);
  const int64_t now = NowMs();
  reclaimer.Tick(now);
  const int scans = store.scans;
  EXPECT_GT(scans, 0);
  reclaimer.Tick(now + 100);
  EXPECT_EQ(store.scans, scans);
}

}  // namespace
}  // namespace arvel::drivers
