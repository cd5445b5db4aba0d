// TAGS tag[,tag…] SUBCOMMAND args… (SPEC §4, Tags): the Arvel facade — PUT FOREVER GET HAS
// FORGET ADD INCREMENT DECREMENT PULL MANY PUTMANY TOUCH REMEMBER — on items addressed by their
// key and a set of tags, and FLUSH, which invalidates every item stored under a set containing
// one of the tags.
//
// Built on drivers/tag_set.h: a command first resolves the set's scope (its tags' current
// generations), then reads the item's record or executes one operation on it. The operations
// are the plain facade's (drivers/operation.h) on the record key, with the scope's value prefix,
// so TAGS … INCREMENT behaves exactly like INCREMENT.
//
// Choices where Laravel or the spec leave room:
// - As the plain commands: ttl <= 0 makes PUT forget the item and ADD store nothing (:0); no ttl
//   means no expiry, except on a store with a default TTL (redis applies its `ttl`); INCREMENT and
//   DECREMENT keep the item's TTL.
// - Only commands that store something create generations (and REMEMBER, whose miss promises a
//   write). GET, HAS, MANY, PULL, FORGET, TOUCH and PUT/PUTMANY with ttl <= 0 read them: a tag
//   without a generation has no items.
// - TOUCH with ttl <= 0 forgets the item, as PUT does.
// - A TAGS FLUSH sends a REMEMBER lease holder's write to a new item, so the REMEMBER calls
//   waiting on this daemon for tagged items of the store get nil at once and compute the value
//   themselves (FillLeases::TagsFlushed).
// - Tagged items live in Space::kTagged: GET, KEYS, SCAN and DBSIZE never see them; the plain
//   FLUSH empties the whole store, tagged items and generations included.
// - FLUSH tells the store's TagReclaimer, which then gives the flushed items' memory back at
//   full pace (server/server.h).

#include <cstdint>
#include <functional>
#include <iterator>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/errors.h"
#include "config/config.h"
#include "drivers/store.h"
#include "drivers/tag_reclaimer.h"
#include "drivers/tag_set.h"
#include "server/command_table.h"
#include "server/commands/arguments.h"
#include "server/commands/store_ops.h"
#include "server/commands/subcommands.h"
#include "server/commands/value_logic.h"
#include "server/connection.h"
#include "server/fill_leases.h"
#include "server/server.h"

namespace arvel::server {

namespace {

using drivers::Space;
using drivers::TagScope;
using drivers::TagSet;

// Positions in TAGS list SUBCOMMAND key value [ttl].
constexpr size_t kKeyArg = 3;
constexpr size_t kValueArg = 4;
constexpr size_t kTtlArg = 5;

// Builds the operation on items from their record keys and the prefix their records' values
// carry (TagScope::value_prefix).
using ItemsOperation = std::function<drivers::Operation(std::vector<std::string> record_keys,
                                                        std::string value_prefix)>;
// The same on one item.
using ItemOperation =
    std::function<drivers::Operation(std::string record_key, std::string value_prefix)>;
// Writes a reply from item values (nullopt: absent), values[i] for the i-th key asked for.
using ValuesReply = std::function<void(protocol::ReplyWriter& writer,
                                       std::span<const std::optional<std::string_view>> values)>;

// Whether a command may create the set's generations (it stores something) or only reads them.
enum class ScopeUse : uint8_t { kRead, kCreate };

// Runs with the store and the resolved scope (nullopt: the set has no generations, so no items).
using ScopeFn =
    std::function<void(drivers::Store& store, std::optional<TagScope> scope, PendingReply pending)>;

// Resolves the scope of `tags` in the current store, then runs `then` with it — or finishes
// with the store's error.
void WithScope(CommandContext& ctx, const TagSet& tags, ScopeUse use, ScopeFn then) {
  drivers::Store* store = &ctx.store();
  auto resolved = [store, then = std::move(then), pending = ctx.Suspend()](
                      const Status& status, std::optional<TagScope> scope) mutable {
    if (status.ok()) return then(*store, std::move(scope), std::move(pending));
    pending.Finish([&](protocol::ReplyWriter& writer) { writer.Error(status.message()); });
  };
  if (use == ScopeUse::kCreate) return drivers::EnsureScope(*store, tags, std::move(resolved));
  drivers::ReadScope(*store, tags, std::move(resolved));
}

// Resolves the scope of `tags`, then executes the operation `make` builds on items `keys` of
// the current store and replies with its result. A set with no generations has no items: only
// operations that read or remove get there, and they reply as on absent items.
void ExecuteOnItems(CommandContext& ctx, const TagSet& tags, std::vector<std::string> keys,
                    ScopeUse use, ItemsOperation make, ResultReplyFn reply) {
  WithScope(ctx, tags, use,
            [keys = std::move(keys), make = std::move(make), reply = std::move(reply)](
                drivers::Store& store, std::optional<TagScope> scope, PendingReply pending) {
              if (!scope) {
                return pending.Finish([&](protocol::ReplyWriter& writer) { reply(writer, {}); });
              }
              std::vector<std::string> record_keys;
              record_keys.reserve(keys.size());
              for (const std::string& key : keys) record_keys.push_back(scope->ItemKey(key));
              ExecuteThenFinish(store, make(std::move(record_keys), scope->value_prefix()),
                                std::move(reply), std::move(pending));
            });
}

void ExecuteOnItem(CommandContext& ctx, const TagSet& tags, std::string_view key, ScopeUse use,
                   ItemOperation make, ResultReplyFn reply) {
  ExecuteOnItems(
      ctx, tags, {std::string(key)}, use,
      [make = std::move(make)](std::vector<std::string> record_keys, std::string prefix) {
        return make(std::move(record_keys[0]), std::move(prefix));
      },
      std::move(reply));
}

// Reads the records of `keys` under `scope` and replies with their values.
void ReadRecords(drivers::Store& store, TagScope scope, std::span<const std::string> keys,
                 ValuesReply reply, PendingReply pending) {
  std::vector<std::string> record_keys;
  record_keys.reserve(keys.size());
  for (const std::string& key : keys) record_keys.push_back(scope.ItemKey(key));
  const std::vector<std::string_view> views(record_keys.begin(), record_keys.end());
  store.Read(Space::kTagged, views,
             [scope = std::move(scope), reply = std::move(reply), pending](
                 const Status& status, std::span<const drivers::Entry* const> entries) mutable {
               std::vector<std::optional<std::string_view>> values(entries.size());
               for (size_t i = 0; i < entries.size(); ++i) {
                 if (entries[i] != nullptr) values[i] = scope.Decode(entries[i]->value);
               }
               FinishWith(pending, status, [&](protocol::ReplyWriter& w) { reply(w, values); });
             });
}

// Resolves the scope of `tags` (without creating it), reads items `keys` and replies.
void ReadItems(CommandContext& ctx, const TagSet& tags, std::span<const std::string_view> keys,
               ValuesReply reply) {
  WithScope(ctx, tags, ScopeUse::kRead,
            [keys = std::vector<std::string>(keys.begin(), keys.end()), reply = std::move(reply)](
                drivers::Store& store, std::optional<TagScope> scope, PendingReply pending) {
              if (scope) return ReadRecords(store, std::move(*scope), keys, reply, pending);
              const std::vector<std::optional<std::string_view>> none(keys.size());
              pending.Finish([&](protocol::ReplyWriter& writer) { reply(writer, none); });
            });
}

drivers::Operation ForgetOperation(std::string record_key, std::string prefix) {
  return drivers::op::Delete{Space::kTagged, {std::move(record_key)}, std::move(prefix)};
}

// PUT and FOREVER: stores the value with `expiry`, or forgets the item when there is none.
void StoreValue(CommandContext& ctx, const TagSet& tags, std::optional<ExpiryChange> expiry) {
  if (!expiry) {
    return ExecuteOnItem(ctx, tags, ctx.arg(kKeyArg), ScopeUse::kRead, ForgetOperation, ReplyOk);
  }
  ExecuteOnItem(
      ctx, tags, ctx.arg(kKeyArg), ScopeUse::kCreate,
      [value = std::string(ctx.arg(kValueArg)), expiry = *expiry](std::string record_key,
                                                                  std::string prefix) {
        return drivers::op::Set{Space::kTagged, std::move(record_key), value, expiry,
                                drivers::op::Condition::kAlways, false, std::move(prefix)};
      },
      ReplyOk);
}

void Put(CommandContext& ctx, const TagSet& tags) {
  std::optional<ExpiryChange> expiry;
  if (ParseWriteExpiry(ctx, kTtlArg, expiry)) StoreValue(ctx, tags, expiry);
}

void Forever(CommandContext& ctx, const TagSet& tags) {
  StoreValue(ctx, tags, ExpiryChange::Never());
}

void Get(CommandContext& ctx, const TagSet& tags) {
  ReadItems(
      ctx, tags, ctx.args().subspan(kKeyArg, 1),
      [fallback = OptionalArg(ctx, kValueArg)](
          protocol::ReplyWriter& writer, std::span<const std::optional<std::string_view>> values) {
        if (values[0]) return writer.Bulk(*values[0]);
        if (fallback) return writer.Bulk(*fallback);
        writer.Null();
      });
}

void Has(CommandContext& ctx, const TagSet& tags) {
  ReadItems(
      ctx, tags, ctx.args().subspan(kKeyArg, 1),
      [](protocol::ReplyWriter& writer, std::span<const std::optional<std::string_view>> values) {
        writer.Integer(values[0] ? 1 : 0);
      });
}

void ForgetItem(CommandContext& ctx, const TagSet& tags) {
  // As plain FORGET: a REMEMBER lease holder that gives up hands the lease on, even when there
  // is nothing to erase.
  ExecuteOnItem(
      ctx, tags, ctx.arg(kKeyArg), ScopeUse::kRead,
      [leases = &ctx.server().fill_leases(), store = &ctx.store(), client = ctx.client().id](
          std::string record_key, std::string prefix) {
        leases->Forgotten(*store, record_key, client);
        return ForgetOperation(std::move(record_key), std::move(prefix));
      },
      ReplyInteger);
}

void Add(CommandContext& ctx, const TagSet& tags) {
  std::optional<ExpiryChange> expiry;
  if (!ParseWriteExpiry(ctx, kTtlArg, expiry)) return;
  if (!expiry) return ctx.reply().Integer(0);  // Laravel's add() refuses a ttl <= 0
  ExecuteOnItem(
      ctx, tags, ctx.arg(kKeyArg), ScopeUse::kCreate,
      [value = std::string(ctx.arg(kValueArg)), expiry = *expiry](std::string record_key,
                                                                  std::string prefix) {
        return drivers::op::Set{Space::kTagged, std::move(record_key), value, expiry,
                                drivers::op::Condition::kIfAbsent, false, std::move(prefix)};
      },
      ReplyApplied);
}

// INCREMENT / DECREMENT key [by]: by defaults to 1.
void AddToCounter(CommandContext& ctx, const TagSet& tags, bool negate) {
  int64_t delta = negate ? -1 : 1;
  if (ctx.argc() > kValueArg && !ParseDelta(ctx, ctx.arg(kValueArg), negate, delta)) return;
  ExecuteOnItem(
      ctx, tags, ctx.arg(kKeyArg), ScopeUse::kCreate,
      [delta](std::string record_key, std::string prefix) {
        return drivers::op::Increment{Space::kTagged, std::move(record_key), delta,
                                      std::move(prefix)};
      },
      ReplyInteger);
}
void Increment(CommandContext& ctx, const TagSet& tags) { AddToCounter(ctx, tags, false); }
void Decrement(CommandContext& ctx, const TagSet& tags) { AddToCounter(ctx, tags, true); }

void Pull(CommandContext& ctx, const TagSet& tags) {
  ExecuteOnItem(
      ctx, tags, ctx.arg(kKeyArg), ScopeUse::kRead,
      [](std::string record_key, std::string prefix) {
        return drivers::op::Take{Space::kTagged, std::move(record_key), std::move(prefix)};
      },
      [fallback = OptionalArg(ctx, kValueArg)](protocol::ReplyWriter& writer,
                                               const drivers::OpResult& result) {
        if (!result.value && fallback) return writer.Bulk(*fallback);
        ReplyValueOrNull(writer, result);
      });
}

void Many(CommandContext& ctx, const TagSet& tags) {
  ReadItems(
      ctx, tags, ctx.args().subspan(kKeyArg),
      [](protocol::ReplyWriter& writer, std::span<const std::optional<std::string_view>> values) {
        writer.ArrayHeader(values.size());
        for (const std::optional<std::string_view>& value : values) {
          if (value) {
            writer.Bulk(*value);
          } else {
            writer.Null();
          }
        }
      });
}

// PUTMANY ttl key value [key value …]: one ttl for every item; ttl <= 0 forgets them.
void PutMany(CommandContext& ctx, const TagSet& tags) {
  constexpr size_t kTtl = 3;
  if ((ctx.argc() - kTtl) % 2 != 1) return ctx.reply().Error(errors::WrongArity("tags|putmany"));
  std::optional<ExpiryChange> expiry;
  if (!ParseWriteExpiry(ctx, kTtl, expiry)) return;
  KeyValues pairs = CollectPairs(ctx.args(), kTtl + 1);
  if (!expiry) {
    return ExecuteOnItems(
        ctx, tags, std::move(pairs.keys), ScopeUse::kRead,
        [](std::vector<std::string> record_keys, std::string prefix) {
          return drivers::op::Delete{Space::kTagged, std::move(record_keys), std::move(prefix)};
        },
        ReplyOk);
  }
  ExecuteOnItems(
      ctx, tags, std::move(pairs.keys), ScopeUse::kCreate,
      [values = std::move(pairs.values), expiry = *expiry](std::vector<std::string> record_keys,
                                                            std::string prefix) {
        return drivers::op::SetMany{Space::kTagged, std::move(record_keys), values, expiry,
                                    false, std::move(prefix)};
      },
      ReplyOk);
}

// TOUCH key ttl: a new TTL for a present item (:1), counted from now; ttl <= 0 forgets it.
void Touch(CommandContext& ctx, const TagSet& tags) {
  std::optional<ExpiryChange> expiry;
  if (!ParseWriteExpiry(ctx, kValueArg, expiry)) return;
  if (!expiry) {
    return ExecuteOnItem(ctx, tags, ctx.arg(kKeyArg), ScopeUse::kRead, ForgetOperation,
                         ReplyInteger);
  }
  ExecuteOnItem(
      ctx, tags, ctx.arg(kKeyArg), ScopeUse::kRead,
      [expiry = *expiry](std::string record_key, std::string prefix) {
        drivers::op::Expire expire{Space::kTagged, std::move(record_key), expiry};
        expire.prefix = std::move(prefix);
        return expire;
      },
      ReplyApplied);
}

// REMEMBER key [LEASE seconds]: as plain REMEMBER (server/fill_leases.h) on the item. It
// resolves the scope as a write does, creating the generations, since its miss promises a fill.
void Remember(CommandContext& ctx, const TagSet& tags) {
  ArgumentParser args(ctx.args(), kKeyArg + 1);
  const int64_t lease_ms = ParseLease(ctx, args);
  if (!args.Finish(ctx)) return;
  if (ctx.store().capabilities().keeps_nothing) return ctx.reply().Null();
  WithScope(ctx, tags, ScopeUse::kCreate,
            [leases = &ctx.server().fill_leases(), key = std::string(ctx.arg(kKeyArg)), lease_ms,
             may_wait = !ctx.conn().in_transaction()](
                drivers::Store& store, std::optional<TagScope> scope, PendingReply pending) {
              if (!scope) {
                return pending.Finish([](protocol::ReplyWriter& writer) { writer.Null(); });
              }
              leases->Remember({&store, scope->ItemKey(key), lease_ms, may_wait, Space::kTagged,
                                scope->value_prefix()},
                               std::move(pending));
            });
}

void Flush(CommandContext& ctx, const TagSet& tags) {
  drivers::Store* store = &ctx.store();
  Server* server = &ctx.server();
  drivers::FlushTags(
      *store, tags, [store, server, pending = ctx.Suspend()](const Status& status) mutable {
        drivers::TagReclaimer* reclaimer = server->tag_reclaimer(*store);
        if (status.ok() && reclaimer != nullptr) reclaimer->NoteFlush();
        if (status.ok()) server->fill_leases().TagsFlushed(*store);
        FinishWith(pending, status, [](protocol::ReplyWriter& writer) { writer.Ok(); });
      });
}

void Help(CommandContext& ctx) {
  static constexpr std::string_view kLines[] = {
      "TAGS <tag>[,<tag>...] <subcommand> [<arg> ...]. Subcommands are:",
      "PUT <key> <value> [<ttl>]     FOREVER <key> <value>     ADD <key> <value> [<ttl>]",
      "GET <key> [<default>]     HAS <key>     MANY <key> [<key> ...]     PULL <key> [<default>]",
      "FORGET <key>     INCREMENT <key> [<by>]     DECREMENT <key> [<by>]",
      "PUTMANY <ttl> <key> <value> [<key> <value> ...]     REMEMBER <key> [LEASE <seconds>]",
      "    As the plain commands, on the item addressed by <key> and the set of tags.",
      "TOUCH <key> <ttl>",
      "    Give the item a new TTL of <ttl> seconds from now (<ttl> <= 0 forgets it).",
      "FLUSH",
      "    Invalidate every item stored under a set containing any of the tags.",
  };
  ReplyHelp(ctx, kLines);
}

// Arities count "TAGS", the tag list and the subcommand.
using TagSubcommand = Subcommand<void (*)(CommandContext&, const TagSet&)>;
constexpr TagSubcommand kSubcommands[] = {
    {"put", 5, 6, Put},
    {"forever", 5, 5, Forever},
    {"get", 4, 5, Get},
    {"has", 4, 4, Has},
    {"forget", 4, 4, ForgetItem},
    {"add", 5, 6, Add},
    {"increment", 4, 5, Increment},
    {"decrement", 4, 5, Decrement},
    {"pull", 4, 5, Pull},
    {"many", 4, kAnyArgc, Many},
    {"putmany", 6, kAnyArgc, PutMany},
    {"touch", 5, 5, Touch},
    {"remember", 4, 6, Remember},
    {"flush", 3, 3, Flush},
};

void Tags(CommandContext& ctx) {
  if (ctx.argc() == 2) {
    if (EqualsIgnoreCase(ctx.arg(1), "help")) return Help(ctx);
    return ctx.reply().Error(errors::WrongArity(ctx.spec().name));
  }
  const TagSubcommand* sub = FindSubcommand(ctx, kSubcommands, ctx.arg(2), "tags");
  if (sub == nullptr) return;
  Result<TagSet> tags = TagSet::Parse(ctx.arg(1));
  if (!tags.ok()) return ctx.reply().Error(tags.status().message());
  sub->run(ctx, *tags);
}

}  // namespace

void RegisterTagCommands(CommandTable& table) {
  table.Register({"tags", -2, kWrite, 0, 0, 0, Tags, "cache",
                  "Cache commands on items addressed by a key and a set of tags; FLUSH "
                  "invalidates every item stored under any of the tags.",
                  "tags (PUT|FOREVER|GET|HAS|FORGET|ADD|INCREMENT|DECREMENT|PULL|MANY|PUTMANY|TOUCH|"
                  "REMEMBER|FLUSH) [key] "
                  "[arg [arg ...]]"});
}

}  // namespace arvel::server
