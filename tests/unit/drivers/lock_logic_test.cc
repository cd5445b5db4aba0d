// The lock and lease decisions (drivers/lock_logic.h), on bare KeyUpdates and through a real
// ArrayStore with a manual clock: acquire is put-if-absent, only the owner releases or extends,
// expired records are free, a lease is taken over only from the record it names.

#include "drivers/lock_logic.h"

#include <gtest/gtest.h>

#include <limits>
#include <set>
#include <string>

#include "drivers/array_store.h"
#include "drivers/null_store.h"
#include "tests/unit/drivers/store_test_util.h"

namespace arvel::drivers {
namespace {

using testing::FakeClock;
using testing::ReadEntry;
using namespace std::string_literals;

constexpr int64_t kNow = 1'700'000'000'000;

KeyUpdate Absent() { return KeyUpdate{}; }
KeyUpdate Holding(const Entry& entry) {
  KeyUpdate update;
  update.current = &entry;
  return update;
}

// ---- Decisions on one KeyUpdate

TEST(LockLogicTest, AcquireTakesAFreeLock) {
  KeyUpdate lock = Absent();
  LockAttempt attempt = TryAcquireLock(lock, "t1", 5000, kNow);
  EXPECT_TRUE(attempt.acquired);
  EXPECT_EQ(attempt.expire_at_ms, kNow + 5000);
  EXPECT_EQ(lock.action, KeyUpdate::Action::kPut);
  EXPECT_EQ(lock.value, "t1");
  EXPECT_EQ(lock.expire_at_ms, kNow + 5000);
}

TEST(LockLogicTest, AcquireWithTtlZeroNeverExpires) {
  KeyUpdate lock = Absent();
  EXPECT_TRUE(TryAcquireLock(lock, "t1", 0, kNow).acquired);
  EXPECT_EQ(lock.expire_at_ms, 0);
}

TEST(LockLogicTest, AcquireLeavesAHeldLockAloneAndReportsItsExpiry) {
  const Entry held{"t1", kNow + 700};
  for (const char* token : {"t2", "t1"}) {  // the owner itself too
    KeyUpdate lock = Holding(held);
    LockAttempt attempt = TryAcquireLock(lock, token, 5000, kNow);
    EXPECT_FALSE(attempt.acquired);
    EXPECT_EQ(attempt.expire_at_ms, kNow + 700);
    EXPECT_EQ(lock.action, KeyUpdate::Action::kKeep);
  }
}

TEST(LockLogicTest, OnlyTheOwnerReleases) {
  const Entry held{"t1", 0};
  KeyUpdate other = Holding(held);
  EXPECT_FALSE(TryReleaseLock(other, "t2"));
  EXPECT_EQ(other.action, KeyUpdate::Action::kKeep);
  KeyUpdate prefix = Holding(held);
  EXPECT_FALSE(TryReleaseLock(prefix, "t"));
  KeyUpdate owner = Holding(held);
  EXPECT_TRUE(TryReleaseLock(owner, "t1"));
  EXPECT_EQ(owner.action, KeyUpdate::Action::kErase);
  KeyUpdate free = Absent();
  EXPECT_FALSE(TryReleaseLock(free, "t1"));
}

TEST(LockLogicTest, OnlyTheOwnerExtends) {
  const Entry held{"t1", kNow + 10};
  KeyUpdate other = Holding(held);
  EXPECT_FALSE(TryExtendLock(other, "t2", 5000, kNow));
  KeyUpdate owner = Holding(held);
  EXPECT_TRUE(TryExtendLock(owner, "t1", 5000, kNow));
  EXPECT_EQ(owner.action, KeyUpdate::Action::kExpire);
  EXPECT_EQ(owner.expire_at_ms, kNow + 5000);
  KeyUpdate forever = Holding(held);
  EXPECT_TRUE(TryExtendLock(forever, "t1", 0, kNow));
  EXPECT_EQ(forever.expire_at_ms, 0);
  KeyUpdate free = Absent();
  EXPECT_FALSE(TryExtendLock(free, "t1", 5000, kNow));
}

TEST(LockLogicTest, ForceReleaseFreesAnyHeldLock) {
  const Entry held{"t1", 0};
  KeyUpdate lock = Holding(held);
  EXPECT_TRUE(ForceReleaseLock(lock));
  EXPECT_EQ(lock.action, KeyUpdate::Action::kErase);
  KeyUpdate free = Absent();
  EXPECT_FALSE(ForceReleaseLock(free));
}

TEST(LockLogicTest, ExpirySaturates) {
  const int64_t max = std::numeric_limits<int64_t>::max();
  EXPECT_EQ(ExpiryAfter(kNow, max), max);
  EXPECT_EQ(ExpiryAfter(kNow, 0), 0);
  EXPECT_EQ(ExpiryAfter(kNow, 1), kNow + 1);
}

TEST(LockLogicTest, LeaseIsTakenWhenFreeOrFromThePreviousHolder) {
  KeyUpdate free = Absent();
  EXPECT_TRUE(TryTakeLease(free, "", "a", 1000, kNow));
  EXPECT_EQ(free.value, "a");
  EXPECT_EQ(free.expire_at_ms, kNow + 1000);

  const Entry held{"a", kNow + 1000};
  KeyUpdate stranger = Holding(held);
  EXPECT_FALSE(TryTakeLease(stranger, "", "b", 1000, kNow));  // held elsewhere
  KeyUpdate wrong = Holding(held);
  EXPECT_FALSE(TryTakeLease(wrong, "z", "b", 1000, kNow));
  KeyUpdate handover = Holding(held);
  EXPECT_TRUE(TryTakeLease(handover, "a", "b", 1000, kNow));
  EXPECT_EQ(handover.value, "b");
}

TEST(LockLogicTest, LeaseIsDroppedOnlyByItsHolder) {
  const Entry held{"a", 0};
  KeyUpdate other = Holding(held);
  EXPECT_FALSE(DropLease(other, "b"));
  KeyUpdate holder = Holding(held);
  EXPECT_TRUE(DropLease(holder, "a"));
  EXPECT_EQ(holder.action, KeyUpdate::Action::kErase);
}

TEST(LockLogicTest, TokensAre128RandomBitsInHex) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    std::optional<std::string> token = NewLockToken();
    ASSERT_TRUE(token.has_value());
    ASSERT_EQ(token->size(), 32u);
    EXPECT_EQ(token->find_first_not_of("0123456789abcdef"), std::string::npos);
    seen.insert(*token);
  }
  EXPECT_EQ(seen.size(), 1000u);
}

TEST(LockLogicTest, FencedAcquireAdvancesTheCounterOnlyWhenItAcquires) {
  KeyUpdate lock = Absent();
  KeyUpdate counter = Absent();
  LockAttempt first = TryAcquireFencedLock(lock, counter, "t1", 0, kNow);
  EXPECT_TRUE(first.acquired);
  EXPECT_EQ(first.fence, 1);
  EXPECT_EQ(counter.action, KeyUpdate::Action::kPut);
  EXPECT_EQ(counter.value, "1");
  EXPECT_EQ(counter.expire_at_ms, 0);  // never expires

  const Entry held{"t1", 0};
  const Entry count{"41", 0};
  KeyUpdate busy = Holding(held);
  KeyUpdate unchanged = Holding(count);
  EXPECT_EQ(TryAcquireFencedLock(busy, unchanged, "t2", 0, kNow).fence, 0);
  EXPECT_EQ(unchanged.action, KeyUpdate::Action::kKeep);

  KeyUpdate free = Absent();
  KeyUpdate next = Holding(count);
  EXPECT_EQ(TryAcquireFencedLock(free, next, "t2", 0, kNow).fence, 42);
  EXPECT_EQ(next.value, "42");
  EXPECT_EQ(FenceOf(&count), 41);
  EXPECT_EQ(FenceOf(nullptr), 0);
}

TEST(LockLogicTest, LockAndCounterKeysNeverMeet) {
  const std::string ff = "\xff";
  EXPECT_EQ(LockKey("job"), "job");
  EXPECT_EQ(LockKey(""), "");
  EXPECT_EQ(LockKey(ff + "fjob"), ff + ff + "fjob");
  EXPECT_EQ(FenceKey("job"), ff + "fjob");
  std::set<std::string> keys;
  for (const std::string& name : {"job"s, ff + "fjob", ff, ff + ff, ""s, "f"s, ff + "f"}) {
    EXPECT_TRUE(keys.insert(LockKey(name)).second) << name;
    EXPECT_TRUE(keys.insert(FenceKey(LockKey(name))).second) << name;
  }
}

// ---- Through a store

class LockOnStoreTest : public ::testing::Test {
 protected:
  LockAttempt Acquire(std::string_view name, std::string token, int64_t ttl_ms) {
    LockAttempt result;
    bool done = false;
    store_.Execute(op::Acquire{Space::kLock, std::string(name), std::move(token), ttl_ms},
                   [&](const Status& status, OpResult attempt) {
                     EXPECT_TRUE(status.ok());
                     result = {attempt.applied, attempt.expire_at_ms, attempt.integer};
                     done = true;
                   });
    EXPECT_TRUE(done);
    return result;
  }

  FakeClock clock_;
  ArrayStore store_{"array", ArrayStoreOptions{.clock = clock_.Function()}};
};

TEST_F(LockOnStoreTest, ExpiredLockIsFreeWithoutAnyoneRemovingIt) {
  EXPECT_TRUE(Acquire("job", "t1", 1000).acquired);
  LockAttempt held = Acquire("job", "t2", 1000);
  EXPECT_FALSE(held.acquired);
  EXPECT_EQ(held.expire_at_ms, clock_.now_ms + 1000);
  clock_.now_ms += 999;
  EXPECT_FALSE(Acquire("job", "t2", 1000).acquired);
  clock_.now_ms += 1;  // expired at expire_at: the store counts it absent
  EXPECT_TRUE(Acquire("job", "t2", 1000).acquired);
}

TEST_F(LockOnStoreTest, FencingNumbersOutliveReleaseAndExpiry) {
  EXPECT_EQ(Acquire("job", "t1", 1000).fence, 1);
  EXPECT_EQ(Acquire("job", "t2", 1000).fence, 0);  // held: no number taken
  GiveBackLock(store_, "job", "t1");
  EXPECT_EQ(Acquire("job", "t2", 1000).fence, 2);
  clock_.now_ms += 1000;  // expired
  EXPECT_EQ(Acquire("job", "t3", 0).fence, 3);
  EXPECT_EQ(Acquire("other", "t1", 0).fence, 1);
  EXPECT_EQ(testing::Get(store_, FenceKey("job"), Space::kLock), "3");
}

TEST_F(LockOnStoreTest, LocksLiveInTheirOwnSpace) {
  ASSERT_TRUE(testing::Put(store_, "job", "data").ok());
  EXPECT_TRUE(Acquire("job", "t1", 0).acquired);
  EXPECT_EQ(testing::Get(store_, "job"), "data");
  EXPECT_EQ(testing::Get(store_, "job", Space::kLock), "t1");
}

TEST_F(LockOnStoreTest, GiveBackReleasesOnlyThatToken) {
  EXPECT_TRUE(Acquire("job", "t1", 0).acquired);
  GiveBackLock(store_, "job", "t2");
  EXPECT_EQ(testing::Get(store_, "job", Space::kLock), "t1");
  GiveBackLock(store_, "job", "t1");
  EXPECT_FALSE(ReadEntry(store_, Space::kLock, "job").has_value());
}

TEST(LockOnNullStoreTest, EveryAcquireSucceeds) {
  NullStore store("null");
  for (int i = 0; i < 2; ++i) {
    bool acquired = false;
    store.Execute(op::Acquire{Space::kLock, "job", "t", 1000},
                  [&](const Status&, OpResult attempt) { acquired = attempt.applied; });
    EXPECT_TRUE(acquired);
  }
}

}  // namespace
}  // namespace arvel::drivers
