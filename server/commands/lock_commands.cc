// LOCK ACQUIRE | BLOCK | RELEASE | EXTEND | FORCERELEASE | OWNER | HELP (SPEC §4, Atomic locks):
// Laravel's atomic locks, kept in Space::kLock of the connection's current store (lock `x` never
// collides with key `x`). Every decision is one atomic store Update (drivers/lock_logic.h), so
// mutual exclusion holds on every driver; LOCK BLOCK parks the client in the server's
// LockWaiters (server/lock_waiters.h), first come, first served.
//
// Choices where Laravel or the spec leave room:
// - ttl: integer seconds >= 0; 0 = held until released.
// - BLOCK's timeout: seconds >= 0, decimals allowed (as BLPOP's). 0 tries once, as Laravel's
//   block(0) does; it does not mean "forever" as it does for BLPOP.
// - Inside MULTI/EXEC, BLOCK tries once like ACQUIRE: a wait would stall the transaction (Redis
//   answers a blocking command inside MULTI as if it timed out at once).
// - Acquiring a lock that is held fails even for the same owner token (Laravel's acquire()).
// - The null store keeps nothing and grants every lock, as Laravel's NoLock: ACQUIRE and BLOCK
//   answer the token, RELEASE, EXTEND and FORCERELEASE answer :1, OWNER nil. Logged once.

#include <spdlog/spdlog.h>

#include <atomic>
#include <cmath>
#include <cstdint>
#include <iterator>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "common/errors.h"
#include "drivers/lock_logic.h"
#include "drivers/store.h"
#include "server/command_table.h"
#include "server/commands/arguments.h"
#include "server/commands/store_ops.h"
#include "server/commands/subcommands.h"
#include "server/commands/value_logic.h"
#include "server/connection.h"
#include "server/lock_waiters.h"
#include "server/server.h"

namespace arvel::server {

namespace {

using drivers::Space;

// Redis's texts for a bad blocking timeout; ours for the rest (candidates for common/errors.h).
// Seconds whose milliseconds still fit in int64.
constexpr int64_t kMaxSeconds = std::numeric_limits<int64_t>::max() / 1000;

bool IsNullStore(const drivers::Store& store) { return store.capabilities().keeps_nothing; }

void WarnNullLocksOnce(const drivers::Store& store) {
  static std::atomic<bool> warned{false};
  if (warned.exchange(true)) return;
  spdlog::warn("store '{}' uses the null driver: every LOCK is granted and nothing is excluded",
               store.name());
}

// ttl in seconds, >= 0, as milliseconds.
int64_t ParseTtl(ArgumentParser& args) {
  const int64_t ttl = args.Integer();
  if (args.ok() && (ttl < 0 || ttl > kMaxSeconds)) args.Fail(errors::InvalidExpire("lock"));
  return ttl * 1000;
}

// BLOCK's timeout in seconds (decimals allowed), >= 0, as milliseconds rounded up.
int64_t ParseTimeout(ArgumentParser& args) {
  const std::string_view text = args.Next();
  if (!args.ok()) return 0;
  const std::optional<long double> seconds = ParseLongDouble(text);
  if (!seconds || std::isinf(*seconds) || *seconds > kMaxSeconds) {
    args.Fail(errors::kBadTimeout);
  } else if (*seconds < 0) {
    args.Fail(errors::kNegativeTimeout);
  } else {
    return static_cast<int64_t>(std::ceil(*seconds * 1000));
  }
  return 0;
}

// [OWNER token]: the token given, or nullopt when the server should make one.
std::optional<std::string> ParseOwner(ArgumentParser& args) {
  if (!args.Flag("OWNER")) return std::nullopt;
  const std::string_view token = args.Next();
  if (args.ok() && token.empty()) args.Fail(errors::kEmptyOwner);
  return std::string(token);
}

// One acquire attempt, answered with the token or nil. A lock taken for a client that went away
// meanwhile is given back: nobody else knows its token.
void TryOnce(CommandContext& ctx, std::string_view name, std::string token, int64_t ttl_ms) {
  drivers::Store* store = &ctx.store();
  store->Execute(
      drivers::op::Acquire{Space::kLock, std::string(name), token, ttl_ms},
      [pending = ctx.Suspend(), store, name = std::string(name), token](
          const Status& status, drivers::OpResult attempt) mutable {
        if (attempt.applied && !pending.alive()) {
          return drivers::GiveBackLock(*store, name, std::move(token));
        }
        FinishWith(pending, status, [&](protocol::ReplyWriter& writer) {
          if (attempt.applied) {
            writer.Bulk(token);
          } else {
            writer.Null();
          }
        });
      });
}

// ACQUIRE name ttl [OWNER token] and BLOCK name ttl timeout [OWNER token].
void Acquire(CommandContext& ctx, ArgumentParser& args, bool block) {
  const std::string_view name = args.Next();
  const int64_t ttl_ms = ParseTtl(args);
  const int64_t timeout_ms = block ? ParseTimeout(args) : 0;
  std::optional<std::string> token = ParseOwner(args);
  if (!args.Finish(ctx)) return;
  if (!token) token = drivers::NewLockToken();
  if (!token) return ctx.reply().Error(errors::kNoLockToken);
  drivers::Store& store = ctx.store();
  if (IsNullStore(store)) {
    WarnNullLocksOnce(store);
    return ctx.reply().Bulk(*token);
  }
  if (timeout_ms == 0 || ctx.conn().in_transaction()) {
    return TryOnce(ctx, name, std::move(*token), ttl_ms);
  }
  ctx.server().lock_waiters().Wait(
      {&store, std::string(name), std::move(*token), ttl_ms, timeout_ms}, ctx.Suspend());
}

void AcquireNow(CommandContext& ctx, ArgumentParser& args) { Acquire(ctx, args, false); }
void Block(CommandContext& ctx, ArgumentParser& args) { Acquire(ctx, args, true); }

void Release(CommandContext& ctx, ArgumentParser& args) {
  const std::string_view name = args.Next();
  const std::string_view token = args.Next();
  if (!args.Finish(ctx)) return;
  if (IsNullStore(ctx.store())) return ctx.reply().Integer(1);
  ExecuteAndReply(ctx, drivers::op::ReleaseIf{Space::kLock, std::string(name), std::string(token)},
                  ReplyApplied);
}

void Extend(CommandContext& ctx, ArgumentParser& args) {
  const std::string_view name = args.Next();
  const std::string_view token = args.Next();
  const int64_t ttl_ms = ParseTtl(args);
  if (!args.Finish(ctx)) return;
  if (IsNullStore(ctx.store())) return ctx.reply().Integer(1);
  ExecuteAndReply(
      ctx, drivers::op::ExtendIf{Space::kLock, std::string(name), std::string(token), ttl_ms},
      ReplyApplied);
}

void ForceRelease(CommandContext& ctx, ArgumentParser& args) {
  const std::string_view name = args.Next();
  if (!args.Finish(ctx)) return;
  if (IsNullStore(ctx.store())) return ctx.reply().Integer(1);
  ExecuteAndReply(ctx, drivers::op::Delete{Space::kLock, {std::string(name)}}, ReplyInteger);
}

void Owner(CommandContext& ctx, ArgumentParser& args) {
  const std::string_view name = args.Next();
  if (!args.Finish(ctx)) return;
  ReadAndReply(ctx, Space::kLock, name,
               [](protocol::ReplyWriter& writer, std::span<const drivers::Entry* const> entries) {
                 if (entries[0] == nullptr) return writer.Null();
                 writer.Bulk(entries[0]->value);
               });
}

void Help(CommandContext& ctx, ArgumentParser&) {
  static constexpr std::string_view kLines[] = {
      "LOCK <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
      "ACQUIRE <name> <ttl> [OWNER <token>]",
      "    Take the lock for ttl seconds (0 = until released): its owner token, or nil if held.",
      "BLOCK <name> <ttl> <timeout> [OWNER <token>]",
      "    Wait up to timeout seconds for the lock, first come first served: token or nil.",
      "RELEASE <name> <token>",
      "    Release the lock if token owns it: 1, else 0.",
      "EXTEND <name> <token> <ttl>",
      "    Restart the lock's ttl if token still owns it: 1, else 0.",
      "FORCERELEASE <name>",
      "    Release the lock whoever owns it: 1 if it was held, else 0.",
      "OWNER <name>",
      "    The owner token of the lock, or nil if it is free.",
  };
  ctx.reply().ArrayHeader(std::size(kLines));
  for (std::string_view line : kLines) ctx.reply().Simple(line);
}

using LockSubcommand = Subcommand<void (*)(CommandContext&, ArgumentParser&)>;
constexpr LockSubcommand kSubcommands[] = {
    {"acquire", 4, 6, AcquireNow},
    {"block", 5, 7, Block},
    {"release", 4, 4, Release},
    {"extend", 5, 5, Extend},
    {"forcerelease", 3, 3, ForceRelease},
    {"owner", 3, 3, Owner},
    {"help", 2, 2, Help},
};

void Lock(CommandContext& ctx) {
  const LockSubcommand* sub = FindSubcommand(ctx, kSubcommands, ctx.arg(1), "lock");
  if (sub == nullptr) return;
  ArgumentParser args(ctx.args(), 2);
  sub->run(ctx, args);
}

}  // namespace

void RegisterLockCommands(CommandTable& table) {
  table.Register({"lock", -2, kWrite | kBlocking, 0, 0, 0, Lock, "cache",
                  "Atomic locks: take, wait for, release, extend or inspect a named lock.",
                  "ACQUIRE name ttl [OWNER token] | BLOCK name ttl timeout [OWNER token] | "
                  "RELEASE name token | EXTEND name token ttl | FORCERELEASE name | OWNER name | "
                  "HELP"});
}

}  // namespace arvel::server
