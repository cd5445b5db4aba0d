// FakeStore: an array store that records the writes made to it (FAKE / ASSERT).

#include "drivers/fake_store.h"

#include <gtest/gtest.h>

#include "tests/unit/drivers/store_test_util.h"

namespace arvel::drivers {
namespace {

using testing::Erase;
using testing::Get;
using testing::Put;
using testing::RunUpdate;

TEST(FakeStoreTest, StartsEmptyAndBehavesAsAnArrayStore) {
  FakeStore store("fake");
  EXPECT_EQ(store.driver(), "array");
  EXPECT_EQ(testing::CountKeys(store), 0);
  EXPECT_EQ(store.write_count(), 0u);
  ASSERT_TRUE(Put(store, "k", "v").ok());
  EXPECT_EQ(Get(store, "k"), "v");
  EXPECT_EQ(testing::ScanAll(store), std::vector<std::string>{"k"});
}

TEST(FakeStoreTest, RecordsTheLastValueWritten) {
  FakeStore store;
  EXPECT_EQ(store.LastWrite("k"), nullptr);
  EXPECT_FALSE(store.WasWritten("k"));
  ASSERT_TRUE(Put(store, "k", "one").ok());
  ASSERT_TRUE(Put(store, "k", "two").ok());
  ASSERT_NE(store.LastWrite("k"), nullptr);
  EXPECT_EQ(*store.LastWrite("k"), "two");
  EXPECT_TRUE(store.WasWritten("k"));
  EXPECT_FALSE(store.WasErased("k"));
  EXPECT_EQ(store.write_count(), 2u);
  EXPECT_FALSE(store.WasWritten("other"));
}

TEST(FakeStoreTest, RecordsErasesAndKeepsHistoryAfterTheKeyIsGone) {
  FakeStore store;
  ASSERT_TRUE(Put(store, "k", "v").ok());
  ASSERT_TRUE(Erase(store, "k").ok());
  EXPECT_EQ(Get(store, "k"), std::nullopt);
  EXPECT_TRUE(store.WasErased("k"));
  EXPECT_TRUE(store.WasWritten("k"));
  EXPECT_EQ(*store.LastWrite("k"), "v");
  ASSERT_TRUE(Erase(store, "never").ok());  // nothing changed: nothing recorded
  EXPECT_FALSE(store.WasErased("never"));
  EXPECT_EQ(store.write_count(), 2u);
  ASSERT_TRUE(testing::FlushStore(store).ok());
  EXPECT_TRUE(store.WasWritten("k"));
}

TEST(FakeStoreTest, RecordsOnlyDataKeysAndRealChanges) {
  FakeStore store;
  ASSERT_TRUE(Put(store, "k", "tagged", 0, Space::kTagged).ok());
  ASSERT_TRUE(Put(store, "k", "lock", 0, Space::kLock).ok());
  ASSERT_TRUE(RunUpdate(store, Space::kData, {"k"}, [](std::span<KeyUpdate>, int64_t) {}).ok());
  EXPECT_FALSE(store.WasWritten("k"));
  EXPECT_EQ(store.write_count(), 0u);
  ASSERT_TRUE(Put(store, std::string("b\0in", 4), "x").ok());
  EXPECT_TRUE(store.WasWritten(std::string("b\0in", 4)));
  EXPECT_FALSE(store.WasWritten("b"));
}

TEST(FakeStoreTest, ExpiryChangesCountAsWritesButNotAsValues) {
  FakeStore store;
  ASSERT_TRUE(Put(store, "k", "v").ok());
  ASSERT_TRUE(testing::SetExpiry(store, "k", NowMs() + 60'000).ok());
  EXPECT_EQ(store.write_count(), 2u);
  EXPECT_EQ(*store.LastWrite("k"), "v");
  EXPECT_FALSE(store.WasErased("k"));
  ASSERT_TRUE(testing::SetExpiry(store, "k", NowMs() - 1).ok());  // expiry in the past: removed
  EXPECT_TRUE(store.WasErased("k"));
}

}  // namespace
}  // namespace arvel::drivers
