// The funnel decisions (drivers/funnel_logic.h) on bare KeyUpdates: at most `limit` live slots,
// slots that ran out are dropped by every decision, and the record expires with its last slot.

#include "drivers/funnel_logic.h"

#include <gtest/gtest.h>

#include <string>

#include "drivers/lock_logic.h"

namespace arvel::drivers {
namespace {

constexpr int64_t kNow = 1'700'000'000'000;

KeyUpdate On(const Entry* record) {
  KeyUpdate update;
  update.current = record;
  return update;
}

// The record an Update left, from the record it started with.
Entry After(const KeyUpdate& update) { return {update.value, update.expire_at_ms}; }

TEST(FunnelLogicTest, TakesSlotsUpToTheLimit) {
  KeyUpdate first = On(nullptr);
  FunnelOutcome one = TryTakeSlot(first, "a", 2, 5000, kNow);
  EXPECT_TRUE(one.applied);
  EXPECT_EQ(one.held, 1);
  EXPECT_EQ(one.next_expiry, kNow + 5000);
  ASSERT_EQ(first.action, KeyUpdate::Action::kPut);
  const Entry held_one = After(first);
  EXPECT_EQ(held_one.expire_at_ms, kNow + 5000);

  KeyUpdate second = On(&held_one);
  FunnelOutcome two = TryTakeSlot(second, "b", 2, 9000, kNow);
  EXPECT_TRUE(two.applied);
  EXPECT_EQ(two.held, 2);
  EXPECT_EQ(two.next_expiry, kNow + 5000);
  const Entry held_two = After(second);
  EXPECT_EQ(held_two.expire_at_ms, kNow + 9000);  // the latest slot's

  KeyUpdate third = On(&held_two);
  FunnelOutcome full = TryTakeSlot(third, "c", 2, 1000, kNow);
  EXPECT_FALSE(full.applied);
  EXPECT_EQ(full.held, 2);
  EXPECT_EQ(third.action, KeyUpdate::Action::kKeep);  // nothing to prune: no write
}

TEST(FunnelLogicTest, ASlotWithoutTtlKeepsTheRecord) {
  KeyUpdate first = On(nullptr);
  TryTakeSlot(first, "a", 3, 0, kNow);
  const Entry forever = After(first);
  KeyUpdate second = On(&forever);
  FunnelOutcome outcome = TryTakeSlot(second, "b", 3, 1000, kNow);
  EXPECT_EQ(outcome.next_expiry, kNow + 1000);
  EXPECT_EQ(second.expire_at_ms, 0);
}

TEST(FunnelLogicTest, SlotsThatRanOutAreDropped) {
  const Entry record{
      "old " + std::to_string(kNow) + "\ngarbage\nlive " + std::to_string(kNow + 1) + "\n",
      kNow + 1};
  EXPECT_EQ(LiveSlots(&record, kNow).size(), 1u);
  KeyUpdate take = On(&record);
  FunnelOutcome outcome = TryTakeSlot(take, "new", 2, 0, kNow);
  EXPECT_TRUE(outcome.applied);
  EXPECT_EQ(outcome.held, 2);
  EXPECT_EQ(take.value, "live " + std::to_string(kNow + 1) + "\nnew 0\n");
  EXPECT_EQ(take.expire_at_ms, 0);

  KeyUpdate release = On(&record);
  EXPECT_FALSE(ReleaseSlot(release, "old", kNow).applied);  // it ran out: no longer a holder
  EXPECT_EQ(release.action, KeyUpdate::Action::kPut);       // but the record is pruned
  EXPECT_EQ(release.value, "live " + std::to_string(kNow + 1) + "\n");
}

TEST(FunnelLogicTest, ReleaseGivesBackOneSlot) {
  const Entry record{"a 0\nb 0\n", 0};
  KeyUpdate wrong = On(&record);
  EXPECT_FALSE(ReleaseSlot(wrong, "c", kNow).applied);
  EXPECT_EQ(wrong.action, KeyUpdate::Action::kKeep);
  KeyUpdate mine = On(&record);
  FunnelOutcome outcome = ReleaseSlot(mine, "a", kNow);
  EXPECT_TRUE(outcome.applied);
  EXPECT_EQ(outcome.held, 1);
  EXPECT_EQ(mine.value, "b 0\n");
  const Entry one{"b 0\n", 0};
  KeyUpdate last = On(&one);
  EXPECT_TRUE(ReleaseSlot(last, "b", kNow).applied);
  EXPECT_EQ(last.action, KeyUpdate::Action::kErase);
}

TEST(FunnelLogicTest, FunnelKeysMeetNoLockOrCounter) {
  EXPECT_NE(FunnelKey("x"), LockKey("x"));
  EXPECT_NE(FunnelKey("x"), FenceKey(LockKey("x")));
  EXPECT_NE(FunnelKey("x"), LockKey(FunnelKey("x")));
}

}  // namespace
}  // namespace arvel::drivers
