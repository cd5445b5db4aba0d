#pragma once
// Logic shared by the string, key and cache command families: expiry arguments, integer and
// float arithmetic on stored values, and the few decisions and replies that several commands
// make the same way (GET/PULL defaults, MGET/MANY, MSET/PUTMANY pairs, FLUSHDB/FLUSH).
//

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

class ArgumentParser;

// ---- Expiry

using drivers::ExpiryChange;

enum class ExpiryUnit : uint8_t { kSeconds, kMilliseconds };

// Redis's rule for the expiry argument of SET EX/PX/EXAT/PXAT, SETEX, PSETEX and GETEX: a
// positive integer whose value in ms (plus now, when relative) fits in int64.
// Errors: kNotInteger, or InvalidExpire(command).
Result<ExpiryChange> ParsePositiveExpiry(std::string_view text, ExpiryUnit unit, bool absolute,
                                         std::string_view command);

// ---- Numbers

// -by for DECRBY and DECREMENT; nullopt when `by` has no negation (INT64_MIN).
std::optional<int64_t> Negate(int64_t by);
// ---- Values and keys

// GET key [default]: writes the value, else `fallback` if given, else nil.
void WriteValueOr(protocol::ReplyWriter& writer, const drivers::Entry* entry,
                  const std::optional<std::string>& fallback);
// The optional argument at args[index] (GET key [default], PULL key [default]).
std::optional<std::string> OptionalArg(const CommandContext& ctx, size_t index);

// INCR, DECR, INCRBY, DECRBY, INCREMENT and DECREMENT: adds `delta` to `key` atomically and
// replies with the new value (see IncrementInteger).
void IncrementAndReply(CommandContext& ctx, std::string_view key, int64_t delta);
// Parses the amount of INCRBY/DECRBY/INCREMENT/DECREMENT into `delta`, negated when
// `negate`. On failure replies kNotInteger or kDecrOverflow and returns false.
bool ParseDelta(CommandContext& ctx, std::string_view text, bool negate, int64_t& delta);

// The expiry of a facade write (PUT, ADD, PUTMANY, TAGS PUT/ADD) whose optional ttl is
// args[index]: none when absent — unless the store applies a default TTL
// (capabilities().default_put_ttl_s: the redis driver's `ttl`, as Arvel's RedisStore) — and nullopt (forget, or refuse for ADD) when ttl <= 0.
// Replies kNotInteger and returns false when the ttl is not an integer.
bool ParseWriteExpiry(CommandContext& ctx, size_t index, std::optional<ExpiryChange>& expiry);

// Replies "wrong number of arguments" and returns false when the command has more than
// `max_argc` arguments (name included): the upper bound of a negative arity.
bool ArityAtMost(CommandContext& ctx, size_t max_argc);

// REMEMBER's [LEASE seconds] at the parser's position, in milliseconds: the configured
// [server] remember_lease when absent; kBadLease latched when not a positive 32-bit count.
int64_t ParseLease(CommandContext& ctx, ArgumentParser& args);

// `keys` without repeats, in first-seen order: an operation takes each key once.
std::vector<std::string> UniqueKeys(std::span<const std::string_view> keys);

// key value pairs, deduplicated: for a key given twice the last value wins (as MSET does).
struct KeyValues {
  std::vector<std::string> keys;
  std::vector<std::string> values;  // values[i] belongs to keys[i]
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
