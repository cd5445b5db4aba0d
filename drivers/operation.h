#pragma once
// The operation vocabulary: every write the cache model makes, as data.
//
// Command handlers build an Operation and hand it to Store::Execute; drivers execute it. A
// driver with local atomicity (array, null, file under its flock, SQLite/PostgreSQL in a
// transaction) executes every operation through the one generic executor
// (drivers/local_executor.h), which turns it into a decision inside Store::Update. A remote
// engine maps each operation to one native command or one server-side script, so every
// operation is one atomic round trip there too — no closure has to run between a read and a
// write on another machine.
//
// Common rules for every operation:
//   - `space` is the key namespace (store.h); keys are the store's own keys in that space.
//   - Absent means: no record, or a record whose expiry has passed at the store's clock.
//   - `prefix` (tagged items, drivers/tag_set.h): when non-empty, a record is present only if
//     its stored value starts with `prefix`; values an operation writes are stored as
//     prefix + value, and values it returns have the prefix removed. Empty for plain keys.
//   - The whole operation is atomic with respect to every other operation and Read on the same
//     store — by any client of any daemon sharing the backend.
//   - Results come back in OpResult (fields named per operation below). A refusal that is the
//     command's own error (not an integer, overflow, string too long) completes the operation
//     with that error Status and changes nothing; so does a store failure.
//   - Relative expiries count from the store's clock when the operation executes.
//
// Operations own their bytes (they may travel to a worker thread or be held in a pipeline).

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "common/status.h"
#include "drivers/store_types.h"

namespace arvel::drivers {

// The expiry a write gives a key.
struct ExpiryChange {
  enum class Mode : uint8_t {
    kNever,     // no expiry (SET without options, PERSIST, FOREVER)
    kRelative,  // `ms` from now (EX, PX, ttl arguments)
    kAbsolute,  // at Unix time `ms` (EXAT, PXAT, EXPIREAT)
    kKeep,      // whatever the key had (KEEPTTL, INCR, APPEND)
  };
  Mode mode = Mode::kNever;
  int64_t ms = 0;

  static ExpiryChange Never() { return {}; }
  static ExpiryChange Keep() { return {Mode::kKeep, 0}; }
  static ExpiryChange In(int64_t ms) { return {Mode::kRelative, ms}; }
  static ExpiryChange At(int64_t ms) { return {Mode::kAbsolute, ms}; }
  // `seconds` from now, saturating (a huge ttl means "as late as can be"). REQUIRES: seconds > 0.
  static ExpiryChange InSeconds(int64_t seconds);

  // The absolute expiry (0 = never) for a key currently expiring at `current` (0 = never).
  int64_t Resolve(int64_t current, int64_t now_ms) const;
};

namespace op {

enum class Condition : uint8_t { kAlways, kIfAbsent, kIfPresent };

// SET, SETNX, SETEX, GETSET, PUT, FOREVER, ADD, TAGS PUT/ADD.
// Writes `value` with `expiry` when `condition` holds; an expiry that resolves to a time already
// past removes the key instead (Redis's rule). Result: `applied` (the condition held), and with
// `return_old` the value before (`value`, nullopt when absent) whether or not it applied. A
// blind write (kAlways, !return_old, expiry not kKeep) need not read the key.
struct Set {
  Space space = Space::kData;
  std::string key;
  std::string value;
  ExpiryChange expiry;
  Condition condition = Condition::kAlways;
  bool return_old = false;
  std::string prefix;
};

// MSET, MSETNX, PUTMANY, TAGS PUTMANY. Writes every pair with one expiry; with `if_none_exist`,
// writes nothing when any key is present. Result: `applied`. REQUIRES: keys unique,
// keys.size() == values.size().
struct SetMany {
  Space space = Space::kData;
  std::vector<std::string> keys;
  std::vector<std::string> values;
  ExpiryChange expiry;
  bool if_none_exist = false;
  std::string prefix;
};

// DEL, FORGET, THROTTLE CLEAR, LOCK FORCERELEASE, the tag reclaimer's erase. Removes the keys
// that are present. Result: `integer` = how many were. REQUIRES: keys unique.
struct Delete {
  Space space = Space::kData;
  std::vector<std::string> keys;
  std::string prefix;
};

// GETDEL, PULL. Result: `value` (nullopt when absent); the key is gone afterwards.
struct Take {
  Space space = Space::kData;
  std::string key;
  std::string prefix;
};

// INCR…DECRBY, INCREMENT, DECREMENT. Adds `delta` to the key's integer (0 when absent), keeping
// its expiry. Result: `integer` = the new value. Errors: kNotInteger, kIncrOverflow.
struct Increment {
  Space space = Space::kData;
  std::string key;
  int64_t delta = 0;
  std::string prefix;
};

// INCRBYFLOAT. Result: `value` = the new value as stored (FormatLongDouble). Keeps the expiry.
// Errors: kNotFloat, kIncrFloatNaN.
struct IncrementFloat {
  std::string key;
  long double delta = 0;
};

// APPEND. Result: `integer` = the new length. Keeps the expiry. Error: kStringTooLong when the
// result would exceed `max_size` bytes.
struct Append {
  std::string key;
  std::string suffix;
  int64_t max_size = 0;
};

// SETRANGE. Writes `patch` at `offset`, padding with zero bytes, keeping the expiry (an empty
// patch changes nothing). Result: `integer` = the length afterwards.
struct SetRange {
  std::string key;
  uint64_t offset = 0;
  std::string patch;
};

// SETBIT. Sets the bit at `offset` (bit 0 = the most significant bit of the first byte) to
// `bit`, growing the value with zero bytes as needed (a missing key becomes such a value, even
// for a 0 bit), keeping the expiry. Result: `integer` = the bit before (0 past the end). The
// caller bounds `offset` (the server's string size limit).
struct SetBit {
  std::string key;
  uint64_t offset = 0;
  bool bit = false;
};

// RENAME, RENAMENX (`if_absent`). Moves the value of `from` and its expiry to `to`, replacing
// whatever `to` held (with `if_absent`, nothing changes when `to` is present); `from` is gone
// afterwards. Onto itself (from == to): nothing changes, `applied` as if renamed unless
// `if_absent`. Result: `applied` (renamed). Error: kNoSuchKey when `from` is absent.
struct Rename {
  std::string from;
  std::string to;
  bool if_absent = false;
};

// COPY. Writes the value of `from` and its expiry to `to` when `from` is present and `to` is
// absent (or `replace`). Result: `applied` (copied). REQUIRES: from != to.
struct Copy {
  std::string from;
  std::string to;
  bool replace = false;
};

// EXPIRE family, PERSIST, GETEX, TAGS TOUCH. When the key is present and the condition allows,
// gives it `expiry` (removing it when that time is already past). Conditions as Redis's EXPIRE:
// `nx` only without expiry, `xx` only with one, `gt`/`lt` only when later/earlier than the
// current one (no expiry counts as infinite). Result: `applied`; with `return_value` also
// `value` (the value, when present, whether or not the expiry changed).
struct Expire {
  Space space = Space::kData;
  std::string key;
  ExpiryChange expiry;
  bool nx = false;
  bool xx = false;
  bool gt = false;
  bool lt = false;
  bool return_value = false;
  std::string prefix;
};

// LOCK ACQUIRE/BLOCK (kLock). Put-if-absent of `token` for `ttl_ms` (0 = until released); when
// applied, also advances the lock's fencing counter (the record FenceKey(key) in the same space,
// drivers/lock_logic.h) in the same atomic step. Result: `applied`, `expire_at_ms` = when the
// lock now expires (ours when applied, the holder's otherwise; 0 = never), and when applied
// `integer` = the new holder's fencing number.
struct Acquire {
  Space space = Space::kLock;
  std::string key;
  std::string token;
  int64_t ttl_ms = 0;
};

// LOCK RELEASE, lease drop: removes the record when it holds `token`. Result: `applied`.
struct ReleaseIf {
  Space space = Space::kLock;
  std::string key;
  std::string token;
};

// LOCK EXTEND: restarts the record's TTL (`ttl_ms` from now, 0 = never) when it holds `token`.
// Result: `applied`.
struct ExtendIf {
  Space space = Space::kLock;
  std::string key;
  std::string token;
  int64_t ttl_ms = 0;
};

// REMEMBER fill leases (kLease): takes the lease for `token` for `ttl_ms` (> 0) when the record
// is absent or still names `previous` (a hand-over; empty matches nothing). Result: `applied`.
struct TakeLease {
  std::string key;
  std::string previous;
  std::string token;
  int64_t ttl_ms = 0;
};

// FUNNEL ACQUIRE and RELEASE (kLock, the record FunnelKey(name): drivers/funnel_logic.h). Drops
// the funnel's slots that ran out, then takes a slot for `token` for `ttl_ms` (0 = until
// released) when fewer than `limit` are held — or, with `release`, gives back `token`'s slot.
// Result: `applied` (taken / given back), `integer` = slots held afterwards, `expire_at_ms` =
// the earliest expiry among them (0 = none runs out).
struct Funnel {
  std::string key;
  std::string token;
  int64_t limit = 0;
  int64_t ttl_ms = 0;
  bool release = false;
};

// THROTTLE ATTEMPT (with `max_attempts`) and HIT (without) on the kThrottle record `key`
// (FixedWindowKey). ATTEMPT counts one attempt when fewer than max_attempts were made in the
// window; HIT counts `amount`. The window starts at the first hit and lasts `decay_ms`.
// Result: `applied` (counted), `integer` = attempts in the window afterwards. HIT error:
// kIncrOverflow.
// THROTTLE DECREMENT (`give_back`): takes `amount` attempts back from the window, never below 0,
// keeping its end; without a window nothing changes (`integer` 0, `applied` false).
struct WindowHit {
  std::string key;
  int64_t decay_ms = 0;
  int64_t amount = 1;
  std::optional<int64_t> max_attempts;
  bool give_back = false;
};

// CL.THROTTLE on the kThrottle record `key` (GcraKey): redis-cell's GCRA with these
// arguments (validated by Gcra::Make). Result: `integers` = limited, limit, remaining,
// retry_after, reset_after (redis-cell's reply); `applied` = not limited.
struct CellThrottle {
  std::string key;
  int64_t max_burst = 0;
  int64_t count = 0;
  int64_t period_s = 0;
  int64_t quantity = 1;
};

// TAGS writes (kTagVersion): keeps each tag's generation, recording fresh[i] for a tag that has
// none. Result: `values` = the generations in effect. REQUIRES: same sizes.
struct EnsureGenerations {
  std::vector<std::string> tags;
  std::vector<std::string> fresh;
};

// TAGS FLUSH (kTagVersion): replaces each tag's generation with fresh[i].
struct ReplaceGenerations {
  std::vector<std::string> tags;
  std::vector<std::string> fresh;
};

}  // namespace op

using Operation =
    std::variant<op::Set, op::SetMany, op::Delete, op::Take, op::Increment, op::IncrementFloat,
                 op::Append, op::SetRange, op::SetBit, op::Rename, op::Copy, op::Expire,
                 op::Acquire, op::ReleaseIf, op::ExtendIf, op::TakeLease, op::Funnel,
                 op::WindowHit, op::CellThrottle, op::EnsureGenerations, op::ReplaceGenerations>;

// What an operation produced; which fields are set is said per operation above.
struct OpResult {
  bool applied = false;
  int64_t integer = 0;
  int64_t expire_at_ms = 0;
  std::optional<std::string> value;
  std::vector<int64_t> integers;
  std::vector<std::string> values;
};

// Runs on the loop thread with the operation's result, or the error that refused it.
using OpDone = std::function<void(const Status&, OpResult)>;

// The key space an operation acts on, and the keys it touches (for observers and tests).
Space SpaceOf(const Operation& operation);
std::vector<std::string_view> KeysOf(const Operation& operation);
// A short lower-case name ("set", "delete", "acquire"…) for logs, stats and tests.
std::string_view NameOf(const Operation& operation);
// True when the operation's meaning does not depend on what the store holds (a blind write).
bool IsBlindWrite(const Operation& operation);

}  // namespace arvel::drivers
