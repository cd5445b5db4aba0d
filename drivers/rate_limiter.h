#pragma once
// Rate limiting (SPEC §4) as decisions over one Space::kThrottle record: Laravel's RateLimiter
// (a fixed window) for THROTTLE, and redis-cell's GCRA for CL.THROTTLE. Each command is one
// decision inside one Store::Update, so checking and counting are a single atomic step on every
// driver. Design notes in rate_limiter.cc.
//
// The decisions are pure: they take the record, the store's clock (`now_ms`) and their
// parameters, touch nothing else, and are safe on a driver's worker thread.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"
#include "drivers/store_types.h"

namespace arvel::drivers {

// The kThrottle keys of the two limiters: distinct prefixes, so THROTTLE's `x` and
// CL.THROTTLE's `x` are different records and neither can name the other's.
std::string FixedWindowKey(std::string_view key);
std::string GcraKey(std::string_view key);

// Laravel's RateLimiter. The record's value is the number of attempts in the current window, its
// expiry the end of the window: the window starts at the first hit and lasts `decay`; when the
// record expires the count starts again from zero. Counts are >= 0.
class FixedWindowLimiter {
 public:
  // ATTEMPT: when fewer than `max_attempts` attempts were made in the window, counts one (the
  // window starting now if there is none) and returns true; otherwise changes nothing.
  // REQUIRES: decay_ms > 0.
  static bool Attempt(KeyUpdate& record, int64_t max_attempts, int64_t decay_ms, int64_t now_ms);
  // HIT: counts `amount` attempts and returns the attempts in the window afterwards; nullopt,
  // changing nothing, if the count would overflow. REQUIRES: decay_ms > 0, amount >= 0.
  static std::optional<int64_t> Hit(KeyUpdate& record, int64_t decay_ms, int64_t amount,
                                    int64_t now_ms);
  // DECREMENT: takes `amount` attempts back from the window (never below 0, keeping its end)
  // and returns the attempts left; 0, changing nothing, when there is no window.
  // REQUIRES: amount >= 0.
  static int64_t GiveBack(KeyUpdate& record, int64_t amount);
  // ATTEMPTS: the attempts in the window (0 when there is none).
  static int64_t Attempts(const Entry* record);
  // REMAINING: attempts left before `max_attempts`, never below 0.
  static int64_t Remaining(const Entry* record, int64_t max_attempts);
  // TOOMANY: whether the window already holds `max_attempts` attempts.
  static bool TooManyAttempts(const Entry* record, int64_t max_attempts);
  // AVAILABLEIN: whole seconds until the window ends, rounded up; 0 when there is none.
  static int64_t AvailableIn(const Entry* record, int64_t now_ms);
  // CLEAR: forgets the window. True when there was one.
  static bool Clear(KeyUpdate& record);
};

// What CL.THROTTLE answers, in redis-cell's order and units (seconds, rounded up).
struct GcraReply {
  bool limited = false;
  int64_t limit = 0;         // max_burst + 1
  int64_t remaining = 0;     // requests that would still be allowed right now
  int64_t retry_after = -1;  // seconds until this request would be allowed; -1 when allowed
                             // (or when it never can be: quantity > limit)
  int64_t reset_after = 0;   // seconds until the bucket is full again
};

// redis-cell's GCRA: `count` requests per `period` seconds with bursts of up to max_burst + 1.
// The record holds the theoretical arrival time (TAT, Unix nanoseconds) and expires when the
// bucket is full again.
class Gcra {
 public:
  // Validates CL.THROTTLE's arguments: max_burst >= 0, count > 0, period > 0 (seconds),
  // quantity >= 0. Errors are RESP texts.
  static Result<Gcra> Make(int64_t max_burst, int64_t count, int64_t period_s, int64_t quantity);

  // Applies `quantity` requests if the bucket allows them all, else nothing; quantity 0 only
  // looks. Returns the reply.
  GcraReply Decide(KeyUpdate& record, int64_t now_ms) const;

 private:
  Gcra() = default;

  int64_t emission_ns_ = 0;   // the nominal spacing of requests: period / count
  int64_t tolerance_ns_ = 0;  // how far ahead of schedule a caller may be: emission * limit
  int64_t increment_ns_ = 0;  // what this request adds to the TAT: emission * quantity
  int64_t limit_ = 0;
};

}  // namespace arvel::drivers
