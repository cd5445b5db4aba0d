// The rate limiter decisions (drivers/rate_limiter.h) through a real ArrayStore with a manual
// clock: Laravel's fixed window for THROTTLE, and redis-cell's GCRA for CL.THROTTLE (its README
// example and the schedule its own test suite walks through, in whole seconds rounded up).

#include "drivers/rate_limiter.h"

#include <gtest/gtest.h>

#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "drivers/array_store.h"
#include "tests/unit/drivers/store_test_util.h"

namespace arvel::drivers {
namespace {

using testing::FakeClock;

constexpr int64_t kSecond = 1000;
constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

// One kThrottle record of a real store; Decide runs a decision on it at the clock's time.
class RecordTest : public ::testing::Test {
 protected:
  template <typename Fn>
  auto Decide(Fn fn) {
    decltype(fn(std::declval<KeyUpdate&>(), int64_t{})) result{};
    const std::string_view keys[] = {"record"};
    store_.Update(
        Space::kThrottle, keys,
        [&](std::span<KeyUpdate> updates, int64_t now_ms) { result = fn(updates[0], now_ms); },
        [](const Status& status) { EXPECT_TRUE(status.ok()) << status.message(); });
    return result;
  }
  std::optional<Entry> Record() { return testing::ReadEntry(store_, Space::kThrottle, "record"); }
  void Advance(int64_t ms) { clock_.now_ms += ms; }

  FakeClock clock_;
  ArrayStore store_{"test", {0, clock_.Function()}};
};

// ---- Fixed window (THROTTLE)

class FixedWindowTest : public RecordTest {
 protected:
  bool Attempt(int64_t max, int64_t decay_ms) {
    return Decide([&](KeyUpdate& record, int64_t now) {
      return FixedWindowLimiter::Attempt(record, max, decay_ms, now);
    });
  }
  std::optional<int64_t> Hit(int64_t decay_ms, int64_t amount) {
    return Decide([&](KeyUpdate& record, int64_t now) {
      return FixedWindowLimiter::Hit(record, decay_ms, amount, now);
    });
  }
  int64_t Attempts() {
    return Decide(
        [](KeyUpdate& record, int64_t) { return FixedWindowLimiter::Attempts(record.current); });
  }
  int64_t AvailableIn() {
    return Decide([](KeyUpdate& record, int64_t now) {
      return FixedWindowLimiter::AvailableIn(record.current, now);
    });
  }
};

TEST_F(FixedWindowTest, AttemptCountsUntilTheLimitThenRefusesWithoutCounting) {
  EXPECT_TRUE(Attempt(3, 60 * kSecond));
  EXPECT_TRUE(Attempt(3, 60 * kSecond));
  EXPECT_TRUE(Attempt(3, 60 * kSecond));
  EXPECT_FALSE(Attempt(3, 60 * kSecond));
  EXPECT_FALSE(Attempt(3, 60 * kSecond));
  EXPECT_EQ(Attempts(), 3);
}

TEST_F(FixedWindowTest, WindowStartsAtTheFirstHitAndDoesNotSlide) {
  const int64_t start = clock_.now_ms;
  EXPECT_EQ(Hit(10 * kSecond, 1), 1);
  Advance(4 * kSecond);
  EXPECT_EQ(Hit(10 * kSecond, 2), 3);
  ASSERT_TRUE(Record().has_value());
  EXPECT_EQ(Record()->expire_at_ms, start + 10 * kSecond);
  EXPECT_EQ(Record()->value, "3");
}

TEST_F(FixedWindowTest, WindowResetsAfterDecay) {
  EXPECT_TRUE(Attempt(1, kSecond));
  EXPECT_FALSE(Attempt(1, kSecond));
  Advance(kSecond - 1);
  EXPECT_FALSE(Attempt(1, kSecond));
  Advance(1);
  EXPECT_EQ(Attempts(), 0);
  EXPECT_TRUE(Attempt(1, kSecond));
}

TEST_F(FixedWindowTest, MaxAttemptsZeroAllowsNothing) {
  EXPECT_FALSE(Attempt(0, kSecond));
  EXPECT_FALSE(Record().has_value());
  EXPECT_TRUE(FixedWindowLimiter::TooManyAttempts(nullptr, 0));
}

TEST_F(FixedWindowTest, HitOfZeroOpensAWindowWithNoAttempts) {
  EXPECT_EQ(Hit(5 * kSecond, 0), 0);
  EXPECT_EQ(AvailableIn(), 5);
  EXPECT_EQ(Attempts(), 0);
}

TEST_F(FixedWindowTest, HitThatWouldOverflowChangesNothing) {
  EXPECT_EQ(Hit(kSecond, kMax), kMax);
  EXPECT_EQ(Hit(kSecond, 1), std::nullopt);
  EXPECT_EQ(Attempts(), kMax);
}

TEST_F(FixedWindowTest, AvailableInRoundsUpAndIsZeroWithoutAWindow) {
  EXPECT_EQ(AvailableIn(), 0);
  Hit(3 * kSecond, 1);
  EXPECT_EQ(AvailableIn(), 3);
  Advance(1);
  EXPECT_EQ(AvailableIn(), 3);
  Advance(2 * kSecond);
  EXPECT_EQ(AvailableIn(), 1);
  Advance(kSecond - 1);
  EXPECT_EQ(AvailableIn(), 0);
}

TEST_F(FixedWindowTest, RemainingAndTooMany) {
  const Entry two{"2", 0};
  EXPECT_EQ(FixedWindowLimiter::Remaining(nullptr, 5), 5);
  EXPECT_EQ(FixedWindowLimiter::Remaining(&two, 5), 3);
  EXPECT_EQ(FixedWindowLimiter::Remaining(&two, 1), 0);  // never below 0
  EXPECT_FALSE(FixedWindowLimiter::TooManyAttempts(nullptr, 1));
  EXPECT_FALSE(FixedWindowLimiter::TooManyAttempts(&two, 3));
  EXPECT_TRUE(FixedWindowLimiter::TooManyAttempts(&two, 2));
}

TEST_F(FixedWindowTest, ClearForgetsTheWindow) {
  EXPECT_FALSE(
      Decide([](KeyUpdate& record, int64_t) { return FixedWindowLimiter::Clear(record); }));
  Hit(kSecond, 1);
  EXPECT_TRUE(Decide([](KeyUpdate& record, int64_t) { return FixedWindowLimiter::Clear(record); }));
  EXPECT_FALSE(Record().has_value());
}

TEST(RateLimiterKeysTest, TheTwoLimitersNeverShareARecord) {
  EXPECT_NE(FixedWindowKey("x"), GcraKey("x"));
  // Neither prefix is a prefix of the other, so no user key maps onto the other's record.
  const std::string window = FixedWindowKey("");
  const std::string cell = GcraKey("");
  EXPECT_NE(window.compare(0, cell.size(), cell), 0);
  EXPECT_NE(cell.compare(0, window.size(), window), 0);
}

// ---- GCRA (CL.THROTTLE)

class GcraTest : public RecordTest {
 protected:
  std::vector<int64_t> Throttle(int64_t max_burst, int64_t count, int64_t period,
                                int64_t quantity = 1) {
    Result<Gcra> gcra = Gcra::Make(max_burst, count, period, quantity);
    EXPECT_TRUE(gcra.ok()) << gcra.status().message();
    if (!gcra.ok()) return {};
    const GcraReply r =
        Decide([&](KeyUpdate& record, int64_t now) { return gcra->Decide(record, now); });
    return {r.limited ? 1 : 0, r.limit, r.remaining, r.retry_after, r.reset_after};
  }
};

TEST_F(GcraTest, ReadmeExample) {
  // CL.THROTTLE user123 15 30 60 → allowed, limit 16, 15 left, retry -1, full again in 2 s.
  EXPECT_EQ(Throttle(15, 30, 60), (std::vector<int64_t>{0, 16, 15, -1, 2}));
}

// The schedule of redis-cell's own test: limit 5 (max_burst 4), one request a second.
TEST_F(GcraTest, FollowsRedisCellsSchedule) {
  struct Step {
    int64_t at_ms;
    int64_t quantity;
    std::vector<int64_t> reply;
  };
  const Step steps[] = {
      {0, 6, {1, 5, 5, -1, 0}},  // more than the limit can never pass
      {0, 1, {0, 5, 4, -1, 1}},    {0, 1, {0, 5, 3, -1, 2}},    {0, 1, {0, 5, 2, -1, 3}},
      {0, 1, {0, 5, 1, -1, 4}},    {0, 1, {0, 5, 0, -1, 5}},    {0, 1, {1, 5, 0, 1, 5}},
      {3000, 1, {0, 5, 2, -1, 3}}, {3100, 1, {0, 5, 1, -1, 4}},  // reset 3.9 s rounds up
      {4000, 1, {0, 5, 1, -1, 4}}, {8000, 1, {0, 5, 4, -1, 1}}, {9500, 1, {0, 5, 4, -1, 1}},
      {9500, 0, {0, 5, 4, -1, 1}},  // quantity 0 peeks
      {9500, 2, {0, 5, 2, -1, 3}}, {9500, 5, {1, 5, 2, 3, 3}},
  };
  const int64_t start = clock_.now_ms;
  for (const Step& step : steps) {
    clock_.now_ms = start + step.at_ms;
    EXPECT_EQ(Throttle(4, 1, 1, step.quantity), step.reply) << "at " << step.at_ms;
  }
}

TEST_F(GcraTest, PeekWritesNothing) {
  EXPECT_EQ(Throttle(2, 1, 10, 0), (std::vector<int64_t>{0, 3, 3, -1, 0}));
  EXPECT_FALSE(Record().has_value());
  Throttle(2, 1, 10);
  const std::optional<Entry> before = Record();
  EXPECT_EQ(Throttle(2, 1, 10, 0), (std::vector<int64_t>{0, 3, 2, -1, 10}));
  ASSERT_TRUE(Record().has_value());
  EXPECT_EQ(Record()->value, before->value);
}

TEST_F(GcraTest, RecordExpiresWhenTheBucketIsFullAgain) {
  Throttle(1, 1, 2);
  ASSERT_TRUE(Record().has_value());
  EXPECT_EQ(Record()->expire_at_ms, clock_.now_ms + 2 * kSecond);
  Advance(2 * kSecond);
  EXPECT_FALSE(Record().has_value());
}

TEST_F(GcraTest, FractionalIntervalsRoundUp) {
  // Three a second: 333.33 ms apart, so the bucket is full again in 0.33 s → 1.
  EXPECT_EQ(Throttle(0, 3, 1), (std::vector<int64_t>{0, 1, 0, -1, 1}));
  EXPECT_EQ(Throttle(0, 3, 1), (std::vector<int64_t>{1, 1, 0, 1, 1}));
  Advance(334);
  EXPECT_EQ(Throttle(0, 3, 1)[0], 0);
}

TEST(GcraMakeTest, ValidatesArguments) {
  EXPECT_EQ(Gcra::Make(-1, 1, 1, 1).status().message(),
            "ERR max_burst must be a non-negative integer");
  EXPECT_EQ(Gcra::Make(0, 0, 1, 1).status().message(), "ERR count must be a positive integer");
  EXPECT_EQ(Gcra::Make(0, 1, 0, 1).status().message(), "ERR period must be a positive integer");
  EXPECT_EQ(Gcra::Make(0, 1, 1, -1).status().message(),
            "ERR quantity must be a non-negative integer");
  EXPECT_FALSE(Gcra::Make(0, 1, kMax, 1).ok());           // period overflows nanoseconds
  EXPECT_FALSE(Gcra::Make(0, 2'000'000'000, 1, 1).ok());  // finer than a nanosecond
  EXPECT_FALSE(Gcra::Make(kMax, 1, 1, 1).ok());           // the burst overflows
  EXPECT_TRUE(Gcra::Make(0, 1, 1, kMax).ok());            // a huge quantity is just limited
}

TEST_F(GcraTest, HugeQuantityIsLimitedWithoutRetry) {
  EXPECT_EQ(Throttle(3, 1, 1, kMax), (std::vector<int64_t>{1, 4, 4, -1, 0}));
}

}  // namespace
}  // namespace arvel::drivers
