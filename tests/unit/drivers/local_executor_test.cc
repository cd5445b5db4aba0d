// The generic executor: each operation of the vocabulary (drivers/operation.h) on an ArrayStore
// with a fake clock, including the value prefix of tagged items.

#include "drivers/local_executor.h"

#include <gtest/gtest.h>

#include "common/errors.h"
#include "drivers/array_store.h"
#include "drivers/rate_limiter.h"
#include "tests/unit/drivers/store_test_util.h"

namespace arvel::drivers {
namespace {

using testing::FakeClock;
using testing::Get;
using testing::ReadEntry;

class LocalExecutorTest : public ::testing::Test {
 protected:
  // Executes `operation` (the array store completes at once) and returns its outcome.
  std::pair<Status, OpResult> Run(Operation operation) {
    std::optional<std::pair<Status, OpResult>> outcome;
    store_.Execute(std::move(operation), [&](const Status& status, OpResult result) {
      outcome.emplace(status, std::move(result));
    });
    EXPECT_TRUE(outcome.has_value());
    return outcome.value_or(std::make_pair(Status::Error("ERR no completion"), OpResult{}));
  }
  OpResult Ok(Operation operation) {
    auto [status, result] = Run(std::move(operation));
    EXPECT_TRUE(status.ok()) << status.message();
    return result;
  }

  FakeClock clock_;
  ArrayStore store_{"array", ArrayStoreOptions{.clock = clock_.Function()}};
};

TEST_F(LocalExecutorTest, SetHonoursItsConditionAndReturnsTheOldValue) {
  EXPECT_TRUE(Ok(op::Set{Space::kData, "k", "1", ExpiryChange::In(1000)}).applied);
  OpResult nx = Ok(op::Set{Space::kData, "k", "2", ExpiryChange::Never(),
                           op::Condition::kIfAbsent, /*return_old=*/true});
  EXPECT_FALSE(nx.applied);
  EXPECT_EQ(nx.value, "1");
  EXPECT_FALSE(Ok(op::Set{Space::kData, "x", "2", ExpiryChange::Never(),
                          op::Condition::kIfPresent})
                   .applied);
  OpResult keep = Ok(op::Set{Space::kData, "k", "3", ExpiryChange::Keep()});
  EXPECT_TRUE(keep.applied);
  EXPECT_EQ(ReadEntry(store_, Space::kData, "k")->expire_at_ms, clock_.now_ms + 1000);
  EXPECT_EQ(Get(store_, "x"), std::nullopt);
}

TEST_F(LocalExecutorTest, AnExpiryInThePastRemovesTheKey) {
  Ok(op::Set{Space::kData, "k", "1", ExpiryChange::Never()});
  EXPECT_TRUE(Ok(op::Set{Space::kData, "k", "2", ExpiryChange::At(clock_.now_ms - 1)}).applied);
  EXPECT_EQ(Get(store_, "k"), std::nullopt);
  Ok(op::Set{Space::kData, "k", "1", ExpiryChange::Never()});
  EXPECT_TRUE(Ok(op::Expire{Space::kData, "k", ExpiryChange::At(0)}).applied);  // EXPIREAT k 0
  EXPECT_EQ(Get(store_, "k"), std::nullopt);
}

TEST_F(LocalExecutorTest, ExpireConditionsFollowRedis) {
  Ok(op::Set{Space::kData, "k", "v", ExpiryChange::Never()});
  op::Expire gt{Space::kData, "k", ExpiryChange::In(5000)};
  gt.gt = true;
  EXPECT_FALSE(Ok(gt).applied);  // no expiry counts as infinite
  op::Expire nx = gt;
  nx.gt = false;
  nx.nx = true;
  EXPECT_TRUE(Ok(nx).applied);
  EXPECT_FALSE(Ok(nx).applied);
  op::Expire persist{Space::kData, "k", ExpiryChange::Never()};
  persist.xx = true;
  persist.return_value = true;
  OpResult persisted = Ok(persist);
  EXPECT_TRUE(persisted.applied);
  EXPECT_EQ(persisted.value, "v");
  EXPECT_FALSE(Ok(persist).applied);
  EXPECT_EQ(ReadEntry(store_, Space::kData, "k")->expire_at_ms, 0);
}

TEST_F(LocalExecutorTest, CountersKeepTheirExpiryAndRefuseWhatIsNotANumber) {
  Ok(op::Set{Space::kData, "n", "41", ExpiryChange::In(1000)});
  EXPECT_EQ(Ok(op::Increment{Space::kData, "n", 1}).integer, 42);
  EXPECT_EQ(ReadEntry(store_, Space::kData, "n")->expire_at_ms, clock_.now_ms + 1000);
  Ok(op::Set{Space::kData, "s", "abc", ExpiryChange::Never()});
  auto [status, result] = Run(op::Increment{Space::kData, "s", 1});
  EXPECT_EQ(status.message(), errors::kNotInteger);
  EXPECT_EQ(Get(store_, "s"), "abc");
  EXPECT_EQ(Ok(op::IncrementFloat{"f", 10.5L}).value, "10.5");
  EXPECT_EQ(Ok(op::Append{"s", "de", 100}).integer, 5);
  EXPECT_EQ(Run(op::Append{"s", "x", 5}).first.message(), errors::kStringTooLong);
  EXPECT_EQ(Ok(op::SetRange{"r", 2, "xy"}).integer, 4);
  EXPECT_EQ(Get(store_, "r"), std::string("\0\0xy", 4));
}

TEST_F(LocalExecutorTest, ManyKeysAtOnce) {
  EXPECT_TRUE(Ok(op::SetMany{Space::kData, {"a", "b"}, {"1", "2"}, ExpiryChange::Never()}).applied);
  EXPECT_FALSE(
      Ok(op::SetMany{Space::kData, {"b", "c"}, {"3", "4"}, ExpiryChange::Never(), true}).applied);
  EXPECT_EQ(Get(store_, "c"), std::nullopt);
  EXPECT_EQ(Ok(op::Delete{Space::kData, {"a", "b", "c"}}).integer, 2);
  Ok(op::Set{Space::kData, "t", "v", ExpiryChange::Never()});
  EXPECT_EQ(Ok(op::Take{Space::kData, "t"}).value, "v");
  EXPECT_EQ(Ok(op::Take{Space::kData, "t"}).value, std::nullopt);
}

TEST_F(LocalExecutorTest, SetBitGrowsTheValueAndKeepsItsExpiry) {
  EXPECT_EQ(Ok(op::SetBit{"b", 9, false}).integer, 0);
  EXPECT_EQ(Get(store_, "b"), std::string(2, '\0'));
  Ok(op::Set{Space::kData, "a", "a", ExpiryChange::In(1000)});
  EXPECT_EQ(Ok(op::SetBit{"a", 1, true}).integer, 1);  // 'a' is 0110 0001
  EXPECT_EQ(Ok(op::SetBit{"a", 7, true}).integer, 1);
  EXPECT_EQ(Ok(op::SetBit{"a", 6, false}).integer, 0);
  EXPECT_EQ(Get(store_, "a"), "a");
  EXPECT_EQ(Ok(op::SetBit{"a", 0, true}).integer, 0);
  EXPECT_EQ(Get(store_, "a"), "\xe1");
  EXPECT_EQ(ReadEntry(store_, Space::kData, "a")->expire_at_ms, clock_.now_ms + 1000);
}

TEST_F(LocalExecutorTest, RenameMovesTheValueWithItsExpiry) {
  EXPECT_EQ(Run(op::Rename{"a", "b"}).first.message(), errors::kNoSuchKey);
  EXPECT_EQ(Run(op::Rename{"a", "a", true}).first.message(), errors::kNoSuchKey);
  Ok(op::Set{Space::kData, "a", "1", ExpiryChange::In(1000)});
  Ok(op::Set{Space::kData, "b", "2", ExpiryChange::Never()});
  EXPECT_FALSE(Ok(op::Rename{"a", "b", true}).applied);
  EXPECT_TRUE(Ok(op::Rename{"a", "a"}).applied);
  EXPECT_FALSE(Ok(op::Rename{"a", "a", true}).applied);
  EXPECT_TRUE(Ok(op::Rename{"a", "b"}).applied);
  EXPECT_EQ(Get(store_, "a"), std::nullopt);
  EXPECT_EQ(Get(store_, "b"), "1");
  EXPECT_EQ(ReadEntry(store_, Space::kData, "b")->expire_at_ms, clock_.now_ms + 1000);
  EXPECT_TRUE(Ok(op::Rename{"b", "c", true}).applied);
  EXPECT_EQ(Get(store_, "c"), "1");
}

TEST_F(LocalExecutorTest, CopyWritesOnlyAnAbsentDestinationUnlessReplacing) {
  EXPECT_FALSE(Ok(op::Copy{"a", "b"}).applied);
  Ok(op::Set{Space::kData, "a", "1", ExpiryChange::In(1000)});
  Ok(op::Set{Space::kData, "b", "2", ExpiryChange::Never()});
  EXPECT_FALSE(Ok(op::Copy{"a", "b"}).applied);
  EXPECT_EQ(Get(store_, "b"), "2");
  EXPECT_TRUE(Ok(op::Copy{"a", "b", true}).applied);
  EXPECT_EQ(Get(store_, "a"), "1");
  EXPECT_EQ(Get(store_, "b"), "1");
  EXPECT_EQ(ReadEntry(store_, Space::kData, "b")->expire_at_ms, clock_.now_ms + 1000);
}

TEST_F(LocalExecutorTest, RenameAndCopyTellTheObserverOfEveryKeyTheyChange) {
  testing::RecordingObserver observer;
  store_.set_observer(&observer);
  Ok(op::Set{Space::kData, "a", "1", ExpiryChange::Never()});
  observer.events.clear();
  Ok(op::Rename{"a", "b"});
  ASSERT_EQ(observer.events.size(), 2u);
  EXPECT_EQ(observer.events[0].key, "a");
  EXPECT_EQ(observer.events[1].key, "b");
  observer.events.clear();
  Ok(op::Rename{"b", "b"});
  EXPECT_TRUE(observer.events.empty());
  Ok(op::Copy{"b", "c"});
  ASSERT_EQ(observer.events.size(), 1u);
  EXPECT_EQ(observer.events[0].key, "c");
  store_.set_observer(nullptr);
}

TEST_F(LocalExecutorTest, APrefixHidesRecordsOfAnotherScopeAndIsStoredWithTheValue) {
  Ok(op::Set{Space::kTagged, "item", "41", ExpiryChange::In(1000), op::Condition::kAlways, false,
             "3:a=1"});
  EXPECT_EQ(Get(store_, "item", Space::kTagged), "3:a=141");
  EXPECT_EQ(Ok(op::Increment{Space::kTagged, "item", 1, "3:a=1"}).integer, 42);
  EXPECT_EQ(Get(store_, "item", Space::kTagged), "3:a=142");
  EXPECT_EQ(ReadEntry(store_, Space::kTagged, "item")->expire_at_ms, clock_.now_ms + 1000);
  // Another scope sees nothing there, and removing "its" item leaves the record alone.
  EXPECT_EQ(Ok(op::Take{Space::kTagged, "item", "3:a=2"}).value, std::nullopt);
  EXPECT_EQ(Ok(op::Delete{Space::kTagged, {"item"}, "3:a=2"}).integer, 0);
  EXPECT_EQ(Ok(op::Delete{Space::kTagged, {"item"}, "3:a=1"}).integer, 1);
  EXPECT_EQ(Get(store_, "item", Space::kTagged), std::nullopt);
}

TEST_F(LocalExecutorTest, LocksAndLeasesCompareTheirToken) {
  OpResult first = Ok(op::Acquire{Space::kLock, "job", "t1", 1000});
  EXPECT_TRUE(first.applied);
  OpResult second = Ok(op::Acquire{Space::kLock, "job", "t2", 1000});
  EXPECT_FALSE(second.applied);
  EXPECT_EQ(second.expire_at_ms, clock_.now_ms + 1000);
  EXPECT_FALSE(Ok(op::ExtendIf{Space::kLock, "job", "t2", 5000}).applied);
  EXPECT_TRUE(Ok(op::ExtendIf{Space::kLock, "job", "t1", 5000}).applied);
  EXPECT_FALSE(Ok(op::ReleaseIf{Space::kLock, "job", "t2"}).applied);
  EXPECT_TRUE(Ok(op::ReleaseIf{Space::kLock, "job", "t1"}).applied);
  EXPECT_TRUE(Ok(op::TakeLease{"k", "", "a", 1000}).applied);
  EXPECT_FALSE(Ok(op::TakeLease{"k", "", "b", 1000}).applied);
  EXPECT_TRUE(Ok(op::TakeLease{"k", "a", "b", 1000}).applied);  // hand-over
}

TEST_F(LocalExecutorTest, FixedWindowAndGcra) {
  op::WindowHit attempt{FixedWindowKey("login"), 60'000};
  attempt.max_attempts = 2;
  EXPECT_TRUE(Ok(attempt).applied);
  OpResult second = Ok(attempt);
  EXPECT_TRUE(second.applied);
  EXPECT_EQ(second.integer, 2);
  EXPECT_FALSE(Ok(attempt).applied);
  EXPECT_EQ(Ok(op::WindowHit{FixedWindowKey("login"), 60'000, 3}).integer, 5);
  OpResult cell = Ok(op::CellThrottle{GcraKey("api"), 1, 10, 60, 1});
  ASSERT_EQ(cell.integers.size(), 5u);
  EXPECT_EQ(cell.integers[0], 0);  // allowed
  EXPECT_EQ(cell.integers[1], 2);  // limit = max_burst + 1
}

TEST_F(LocalExecutorTest, GenerationsAreKeptOrReplaced) {
  OpResult ensured = Ok(op::EnsureGenerations{{"a", "b"}, {"g1", "g2"}});
  EXPECT_EQ(ensured.values, (std::vector<std::string>{"g1", "g2"}));
  ensured = Ok(op::EnsureGenerations{{"a"}, {"g3"}});
  EXPECT_EQ(ensured.values, (std::vector<std::string>{"g1"}));
  Ok(op::ReplaceGenerations{{"a"}, {"g4"}});
  EXPECT_EQ(Get(store_, "a", Space::kTagVersion), "g4");
}

TEST(OperationTest, DescribesItself) {
  Operation set = op::Set{Space::kData, "k", "v", ExpiryChange::Never()};
  EXPECT_EQ(NameOf(set), "set");
  EXPECT_TRUE(IsBlindWrite(set));
  EXPECT_FALSE(IsBlindWrite(op::Set{Space::kData, "k", "v", ExpiryChange::Keep()}));
  Operation del = op::Delete{Space::kLock, {"a", "b"}};
  EXPECT_EQ(SpaceOf(del), Space::kLock);
  EXPECT_EQ(KeysOf(del), (std::vector<std::string_view>{"a", "b"}));
}

}  // namespace
}  // namespace arvel::drivers
