// The Arvel cache facade (SPEC §4): PUT FOREVER HAS FORGET FLUSH ADD INCREMENT DECREMENT PULL
// MANY PUTMANY. `GET key [default]` is the string family's GET: these commands and the Redis ones
// share their keys.
//
// TTLs are integer seconds. As Laravel's Repository does, ttl <= 0 forgets the key in PUT and
// PUTMANY and makes ADD store nothing (:0); a missing ttl means no expiry, except on a store
// with a default TTL (the redis driver applies its store's `ttl` setting).

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "common/errors.h"
#include "config/config.h"
#include "drivers/store.h"
#include "server/client_state.h"
#include "server/command_table.h"
#include "server/commands/arguments.h"
#include "server/commands/store_ops.h"
#include "server/commands/value_logic.h"
#include "server/fill_leases.h"
#include "server/server.h"

namespace arvel::server {

namespace {

using drivers::Entry;
using drivers::Space;

// PUT and FOREVER: stores the value with `expiry`, or forgets the key when there is none.
void StoreValue(CommandContext& ctx, std::optional<ExpiryChange> expiry) {
  std::string key(ctx.arg(1));
  if (!expiry) return ExecuteAndReply(ctx, drivers::op::Delete{Space::kData, {key}}, ReplyOk);
  ExecuteAndReply(ctx, drivers::op::Set{Space::kData, key, std::string(ctx.arg(2)), *expiry},
                  ReplyOk);
}

void Put(CommandContext& ctx) {
  std::optional<ExpiryChange> expiry;
  if (ArityAtMost(ctx, 4) && ParseWriteExpiry(ctx, 3, expiry)) StoreValue(ctx, expiry);
}

void Forever(CommandContext& ctx) { StoreValue(ctx, ExpiryChange::Never()); }

void Has(CommandContext& ctx) {
  ReadAndReply(ctx, Space::kData, ctx.arg(1),
               [](protocol::ReplyWriter& writer, std::span<const Entry* const> entries) {
                 writer.Integer(entries[0] ? 1 : 0);
               });
}

void Forget(CommandContext& ctx) {
  // A REMEMBER lease holder that gives up hands the lease on, even when there is nothing to erase
  // (no write happens then, so no write notification would tell the waiters).
  ctx.server().fill_leases().Forgotten(ctx.store(), ctx.arg(1), ctx.client().id);
  ExecuteAndReply(ctx, drivers::op::Delete{Space::kData, {std::string(ctx.arg(1))}},
                  ReplyInteger);
}

void Flush(CommandContext& ctx) { FlushAndReply(ctx); }

void Add(CommandContext& ctx) {
  std::optional<ExpiryChange> expiry;
  if (!ArityAtMost(ctx, 4) || !ParseWriteExpiry(ctx, 3, expiry)) return;
  if (!expiry) return ctx.reply().Integer(0);  // Laravel's add() refuses a ttl <= 0
  drivers::op::Set set{Space::kData, std::string(ctx.arg(1)), std::string(ctx.arg(2)), *expiry};
  set.condition = drivers::op::Condition::kIfAbsent;
  ExecuteAndReply(ctx, std::move(set), ReplyApplied);
}

// INCREMENT / DECREMENT key [by]: by defaults to 1.
void AddToCounter(CommandContext& ctx, bool negate) {
  if (!ArityAtMost(ctx, 3)) return;
  int64_t delta = negate ? -1 : 1;
  if (ctx.argc() == 3 && !ParseDelta(ctx, ctx.arg(2), negate, delta)) return;
  IncrementAndReply(ctx, ctx.arg(1), delta);
}
void Increment(CommandContext& ctx) { AddToCounter(ctx, false); }
void Decrement(CommandContext& ctx) { AddToCounter(ctx, true); }

void Pull(CommandContext& ctx) {
  if (!ArityAtMost(ctx, 3)) return;
  ExecuteAndReply(ctx, drivers::op::Take{Space::kData, std::string(ctx.arg(1))},
                  [fallback = OptionalArg(ctx, 2)](protocol::ReplyWriter& writer,
                                                   const drivers::OpResult& result) {
                    if (!result.value && fallback) return writer.Bulk(*fallback);
                    ReplyValueOrNull(writer, result);
                  });
}

void Many(CommandContext& ctx) { ReplyWithValues(ctx, ctx.args().subspan(1)); }

void PutMany(CommandContext& ctx) {
  if (ctx.argc() % 2 != 0) return ctx.reply().Error(errors::WrongArity(ctx.spec().name));
  std::optional<ExpiryChange> expiry;
  if (!ParseWriteExpiry(ctx, 1, expiry)) return;
  KeyValues pairs = CollectPairs(ctx.args(), 2);
  if (!expiry) {
    return ExecuteAndReply(ctx, drivers::op::Delete{Space::kData, std::move(pairs.keys)}, ReplyOk);
  }
  ExecuteAndReply(
      ctx, drivers::op::SetMany{Space::kData, std::move(pairs.keys), std::move(pairs.values), *expiry},
      ReplyOk);
}

}  // namespace

void RegisterCacheCommands(CommandTable& table) {
  constexpr uint32_t kRead = kReadOnly | kFast;
  constexpr uint32_t kWriteFast = kWrite | kFast;
  table.Register({"put", -3, kWriteFast, 1, 1, 1, Put, "cache",
                  "Stores a value, for ttl seconds if given (ttl <= 0 forgets the key).",
                  "key value [ttl]"});
  table.Register({"forever", 3, kWriteFast, 1, 1, 1, Forever, "cache",
                  "Stores a value with no expiry.", "key value"});
  table.Register({"has", 2, kRead, 1, 1, 1, Has, "cache", "Whether a key exists.", "key"});
  table.Register({"forget", 2, kWriteFast, 1, 1, 1, Forget, "cache", "Removes a key.", "key"});
  table.Register(
      {"flush", 1, kWrite, 0, 0, 0, Flush, "cache", "Removes every key of the current store.", ""});
  table.Register({"add", -3, kWriteFast, 1, 1, 1, Add, "cache",
                  "Stores a value only if the key is absent.", "key value [ttl]"});
  table.Register({"increment", -2, kWriteFast, 1, 1, 1, Increment, "cache",
                  "Adds to the integer value of a key (0 when missing), keeping its TTL.",
                  "key [by]"});
  table.Register({"decrement", -2, kWriteFast, 1, 1, 1, Decrement, "cache",
                  "Subtracts from the integer value of a key (0 when missing), keeping its TTL.",
                  "key [by]"});
  table.Register({"pull", -2, kWriteFast, 1, 1, 1, Pull, "cache",
                  "Returns the value of a key and removes the key.", "key [default]"});
  table.Register({"many", -2, kRead, 1, -1, 1, Many, "cache", "Returns the values of several keys.",
                  "key [key ...]"});
  table.Register({"putmany", -4, kWrite, 2, -1, 2, PutMany, "cache",
                  "Stores several values with one ttl (ttl <= 0 forgets them).",
                  "ttl key value [key value ...]"});
}

}  // namespace arvel::server
