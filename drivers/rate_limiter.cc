// Design. Both limiters keep one record per key in Space::kThrottle and make every command one
// decision over that record inside one Store::Update. Checking a limit and counting a request
// are therefore a single atomic step on every driver (and across daemons on a shared one): N
// concurrent ATTEMPTs against max_attempts M find the record in N distinct states, and exactly
// min(N, M) of them see fewer than M attempts.
//
// Fixed window (THROTTLE, Laravel's RateLimiter). Laravel keeps two cache entries, the count and
// a ":timer" with the window's end; here one record carries both: the value is the count and the
// record's expiry is the end of the window. The first hit creates the record expiring `decay`
// later, later hits keep that expiry (the window does not slide), and when the record expires
// the store treats it as absent, so the next hit opens a new window without any clean-up.
// Where Laravel's max_attempts 0 lets one attempt through on a fresh key (its tooManyAttempts
// looks for the timer first), ATTEMPT and TOOMANY here agree that 0 allows nothing.
//
// GCRA (CL.THROTTLE, redis-cell). The record holds the theoretical arrival time (TAT): when the
// bucket would be empty again if requests came exactly at the nominal rate. A request of
// `quantity` moves the TAT by quantity * emission interval; it is allowed when the moved TAT is
// at most `tolerance` (the burst: emission * (max_burst + 1)) ahead of now. Times are integer
// nanoseconds as in redis-cell, the replies are its whole seconds rounded up. The record expires
// when its TAT passes (the bucket is full again and an absent record means exactly that), and a
// peek (quantity 0) writes nothing.

#include "drivers/rate_limiter.h"

#include <algorithm>
#include <charconv>
#include <limits>

#include "common/errors.h"

namespace arvel::drivers {

namespace {

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr int64_t kNsPerMs = 1'000'000;
constexpr int64_t kNsPerSecond = 1'000'000'000;
// No span of a bucket may exceed about 63 years, so that now + tolerance + increment always
// fits in int64 nanoseconds (until the year 2200).
constexpr int64_t kMaxSpanNs = 2'000'000'000'000'000'000;

// The integer a record holds; `fallback` when there is none or it is not one.
int64_t IntegerIn(const Entry* record, int64_t fallback) {
  if (record == nullptr) return fallback;
  int64_t value = 0;
  const std::string& text = record->value;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return fallback;
  return value;
}

int64_t SaturatingSum(int64_t a, int64_t b) { return b > kMax - a ? kMax : a + b; }

// redis-cell's rounding: whole seconds, plus one when a millisecond part remains.
// REQUIRES: ns >= 0.
int64_t RoundUpSeconds(int64_t ns) {
  return ns / kNsPerSecond + ((ns % kNsPerSecond) / kNsPerMs > 0 ? 1 : 0);
}

Status Invalid(std::string_view message) { return Status::Error(std::string(message)); }

}  // namespace

std::string FixedWindowKey(std::string_view key) { return "window:" + std::string(key); }

std::string GcraKey(std::string_view key) { return "gcra:" + std::string(key); }

// ---- Fixed window

bool FixedWindowLimiter::Attempt(KeyUpdate& record, int64_t max_attempts, int64_t decay_ms,
                                 int64_t now_ms) {
  if (Attempts(record.current) >= max_attempts) return false;
  return Hit(record, decay_ms, 1, now_ms).has_value();
}

std::optional<int64_t> FixedWindowLimiter::Hit(KeyUpdate& record, int64_t decay_ms, int64_t amount,
                                               int64_t now_ms) {
  const int64_t attempts = Attempts(record.current);
  if (amount > kMax - attempts) return std::nullopt;
  const int64_t window_end =
      record.current != nullptr ? record.current->expire_at_ms : SaturatingSum(now_ms, decay_ms);
  record.Put(std::to_string(attempts + amount), window_end);
  return attempts + amount;
}

int64_t FixedWindowLimiter::GiveBack(KeyUpdate& record, int64_t amount) {
  if (record.current == nullptr) return 0;
  const int64_t left = std::max<int64_t>(0, Attempts(record.current) - amount);
  record.Put(std::to_string(left), record.current->expire_at_ms);
  return left;
}

int64_t FixedWindowLimiter::Attempts(const Entry* record) {
  return std::max<int64_t>(0, IntegerIn(record, 0));
}

int64_t FixedWindowLimiter::Remaining(const Entry* record, int64_t max_attempts) {
  return std::max<int64_t>(0, max_attempts - Attempts(record));
}

bool FixedWindowLimiter::TooManyAttempts(const Entry* record, int64_t max_attempts) {
  return Attempts(record) >= max_attempts;
}

int64_t FixedWindowLimiter::AvailableIn(const Entry* record, int64_t now_ms) {
  if (record == nullptr || record->expire_at_ms == 0 || record->expire_at_ms <= now_ms) return 0;
  const int64_t left_ms = record->expire_at_ms - now_ms;
  return left_ms / 1000 + (left_ms % 1000 > 0 ? 1 : 0);
}

bool FixedWindowLimiter::Clear(KeyUpdate& record) {
  if (record.current == nullptr) return false;
  record.Erase();
  return true;
}

// ---- GCRA

Result<Gcra> Gcra::Make(int64_t max_burst, int64_t count, int64_t period_s, int64_t quantity) {
  if (max_burst < 0) return Invalid(errors::kNegativeBurst);
  if (count <= 0) return Invalid(errors::kBadCount);
  if (period_s <= 0) return Invalid(errors::kBadPeriod);
  if (quantity < 0) return Invalid(errors::kNegativeQuantity);
  Gcra gcra;
  int64_t period_ns = 0;
  if (__builtin_mul_overflow(period_s, kNsPerSecond, &period_ns))
    return Invalid(errors::kRateOutOfRange);
  gcra.emission_ns_ = period_ns / count;
  if (gcra.emission_ns_ == 0 || __builtin_add_overflow(max_burst, 1, &gcra.limit_) ||
      __builtin_mul_overflow(gcra.emission_ns_, gcra.limit_, &gcra.tolerance_ns_) ||
      gcra.tolerance_ns_ > kMaxSpanNs) {
    return Invalid(errors::kRateOutOfRange);
  }
  // More than the limit can never be allowed; any increment beyond the tolerance answers the
  // same, so a huge quantity needs no arithmetic that could overflow.
  gcra.increment_ns_ =
      quantity > gcra.limit_ ? gcra.tolerance_ns_ + 1 : gcra.emission_ns_ * quantity;
  return gcra;
}

GcraReply Gcra::Decide(KeyUpdate& record, int64_t now_ms) const {
  const int64_t now = now_ms * kNsPerMs;
  // A stored TAT is never further ahead than a tolerance; the bound only guards the arithmetic.
  const int64_t tat = std::min(IntegerIn(record.current, now), now + kMaxSpanNs);
  const int64_t moved_tat = std::max(tat, now) + increment_ns_;
  const int64_t allow_at = moved_tat - tolerance_ns_;
  GcraReply reply;
  reply.limit = limit_;
  int64_t full_in = 0;  // until the bucket is full again
  if (now < allow_at) {
    reply.limited = true;
    if (increment_ns_ <= tolerance_ns_) reply.retry_after = RoundUpSeconds(allow_at - now);
    full_in = std::max<int64_t>(0, tat - now);
  } else {
    full_in = moved_tat - now;
    if (increment_ns_ > 0) {
      record.Put(std::to_string(moved_tat), now_ms + (full_in + kNsPerMs - 1) / kNsPerMs);
    }
  }
  reply.remaining = std::max<int64_t>(0, (tolerance_ns_ - full_in) / emission_ns_);
  reply.reset_after = RoundUpSeconds(full_in);
  return reply;
}

}  // namespace arvel::drivers
