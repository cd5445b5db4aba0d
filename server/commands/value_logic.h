#pragma once
// Logic shared by the string, key and cache command families: expiry arguments, integer and
// float arithmetic on stored values, and the few decisions and replies that several commands
// make the same way (GET/PULL defaults, MGET/MANY, MSET/PUTMANY pairs, FLUSHDB/FLUSH).
//
// Everything that runs inside a DecideFn takes only its arguments, so it is safe on a driver's
// worker thread.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "drivers/store.h"
#include "server/command.h"
#include "server/commands/store_ops.h"

namespace arvel::server {

// ---- Expiry

// The expiry a write gives a key, as the command asked for it. Resolved inside the decision,
// against the store's clock, so relative times count from when the store applies them.
struct ExpiryChange {
  enum class Mode : uint8_t {
    kNever,     // no expiry (SET without options, PERSIST, FOREVER)
    kRelative,  // `ms` from now (EX, PX, ttl arguments)
    kAbsolute,  // at Unix time `ms` (EXAT, PXAT)
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
  int64_t Resolve(const drivers::Entry* current, int64_t now_ms) const;
};

// The expiry of `entry` (0 = never, or no entry).
inline int64_t ExpiryOf(const drivers::Entry* entry) { return entry ? entry->expire_at_ms : 0; }

enum class ExpiryUnit : uint8_t { kSeconds, kMilliseconds };

// Redis's rule for the expiry argument of SET EX/PX/EXAT/PXAT, SETEX, PSETEX and GETEX: a
// positive integer whose value in ms (plus now, when relative) fits in int64.
// Errors: kNotInteger, or InvalidExpire(command).
Result<ExpiryChange> ParsePositiveExpiry(std::string_view text, ExpiryUnit unit, bool absolute,
                                         std::string_view command);

// a + b, clamped to the int64 range.
int64_t SaturatingAdd(int64_t a, int64_t b);

// Writes `value` expiring at `expire_at` (0 = never), or removes the key if that time has
// already passed (Redis deletes a key whose new expiry is in the past).
void PutOrErase(drivers::KeyUpdate& key, std::string value, int64_t expire_at, int64_t now_ms);
// Changes an existing key's expiry to `expire_at` (0 = never), or removes it if already past.
// REQUIRES: key.current.
void ExpireOrErase(drivers::KeyUpdate& key, int64_t expire_at, int64_t now_ms);

// ---- Numbers

// INCRBY and INCREMENT: adds `delta` to the key's integer (0 when absent), keeping its expiry.
// Replies with the new value, or kNotInteger / kIncrOverflow leaving the key as it was.
ReplyValue IncrementInteger(drivers::KeyUpdate& key, int64_t delta);
// INCRBYFLOAT: the same with a long double, formatted as Redis does.
// Errors: kNotFloat, kIncrFloatNaN.
ReplyValue IncrementFloat(drivers::KeyUpdate& key, long double delta);
// -by for DECRBY and DECREMENT; nullopt when `by` has no negation (INT64_MIN).
std::optional<int64_t> Negate(int64_t by);
// Redis's human-friendly long double form: "%.17Lf" without trailing zeros or dot ("10.6",
// "5200", "0"). The stored text of INCRBYFLOAT results.
std::string FormatLongDouble(long double value);

// ---- Values and keys

// GET key [default]: writes the value, else `fallback` if given, else nil.
void WriteValueOr(protocol::ReplyWriter& writer, const drivers::Entry* entry,
                  const std::optional<std::string>& fallback);
// GETDEL and PULL: replies with the value (else `fallback`, else nil) and erases the key.
ReplyValue TakeValue(drivers::KeyUpdate& key, const std::optional<std::string>& fallback);
// The optional argument at args[index] (GET key [default], PULL key [default]).
std::optional<std::string> OptionalArg(const CommandContext& ctx, size_t index);

// DEL, FORGET and the ttl <= 0 forms of PUT/PUTMANY: erases the keys that exist and returns
// how many did.
int64_t EraseExisting(std::span<drivers::KeyUpdate> keys);
// MSET, MSETNX and PUTMANY: writes values[i] to keys[i] with `expiry` (moving the values out).
void PutAll(std::span<drivers::KeyUpdate> keys, std::vector<std::string>& values,
            const ExpiryChange& expiry, int64_t now_ms);

// INCR, DECR, INCRBY, DECRBY, INCREMENT and DECREMENT: adds `delta` to `key` atomically and
// replies with the new value (see IncrementInteger).
void IncrementAndReply(CommandContext& ctx, std::string_view key, int64_t delta);
// Parses the amount of INCRBY/DECRBY/INCREMENT/DECREMENT into `delta`, negated when
// `negate`. On failure replies kNotInteger or kDecrOverflow and returns false.
bool ParseDelta(CommandContext& ctx, std::string_view text, bool negate, int64_t& delta);

// Replies "wrong number of arguments" and returns false when the command has more than
// The expiry of a facade write (PUT, ADD, PUTMANY, TAGS PUT/ADD) whose optional ttl is
// args[index]: none when absent — except on the redis driver, which applies its store's `ttl`
// (SPEC §2) as Arvel's RedisStore does — and nullopt (forget, or refuse for ADD) when ttl <= 0.
// Replies kNotInteger and returns false when the ttl is not an integer.
bool ParseWriteExpiry(CommandContext& ctx, size_t index, std::optional<ExpiryChange>& expiry);

// `max_argc` arguments (name included): the upper bound of a negative arity.
bool ArityAtMost(CommandContext& ctx, size_t max_argc);

// `keys` without repeats, in first-seen order: a store Update takes each key once.
std::vector<std::string_view> UniqueKeys(std::span<const std::string_view> keys);

// key value pairs, deduplicated: for a key given twice the last value wins (as MSET does).
struct KeyValues {
  std::vector<std::string_view> keys;  // views into the request: valid during the handler
  std::vector<std::string> values;     // values[i] belongs to keys[i]
};
// Pairs from args[first], args[first + 1], … REQUIRES: an even number of arguments from `first`.
KeyValues CollectPairs(std::span<const std::string_view> args, size_t first);

// Finishes `pending` with the store's error, or with `write(writer)` when `status` is OK.
template <typename WriteFn>
void FinishWith(PendingReply& pending, const Status& status, WriteFn&& write) {
  pending.Finish([&](protocol::ReplyWriter& writer) {
    if (status.ok()) {
      write(writer);
    } else {
      writer.Error(status.message());
    }
  });
}

// Replies to MGET and MANY: an array with each key's value, nil for a miss.
void ReplyWithValues(CommandContext& ctx, std::span<const std::string_view> keys);
// Replies to FLUSHDB, FLUSHALL and FLUSH: empties the connection's current store, then +OK.
void FlushAndReply(CommandContext& ctx);

}  // namespace arvel::server
