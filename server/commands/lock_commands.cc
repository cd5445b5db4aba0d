// LOCK ACQUIRE | BLOCK | RELEASE | EXTEND | FORCERELEASE | OWNER | FENCE | HELP
// (SPEC §4, Atomic locks): Laravel's atomic locks, kept in Space::kLock of the connection's
// current store (lock `x` never collides with key `x`). Every decision is one atomic store
// Update (drivers/lock_logic.h), so mutual exclusion holds on every driver; LOCK BLOCK parks the
// client in the server's LockWaiters (server/lock_waiters.h), first come, first served.
//
// Choices where Laravel or the spec leave room:
// - ttl: integer seconds >= 0; 0 = held until released.
// - BLOCK's timeout: seconds >= 0, decimals allowed (as BLPOP's). 0 tries once, as Laravel's
//   block(0) does; it does not mean "forever" as it does for BLPOP.
// - Inside MULTI/EXEC, BLOCK tries once like ACQUIRE: a wait would stall the transaction (Redis
//   answers a blocking command inside MULTI as if it timed out at once).
// - Acquiring a lock that is held fails even for the same owner token (Laravel's acquire()).
// - The null store keeps nothing and grants every lock, as Laravel's NoLock: ACQUIRE and BLOCK
//   answer the token, RELEASE, EXTEND and FORCERELEASE answer :1, OWNER and FENCE nil. Logged
//   once. Its fencing numbers come from one counter of the daemon (never a record), so they
//   still grow with every acquisition of a name — until the daemon restarts.
// - Options after the positional arguments, in any order: OWNER token, SESSION, FENCED.
// - Every acquisition advances the lock's fencing counter, FENCED or not, so that LOCK FENCE can
//   answer for any holder (drivers/lock_logic.h).
// - SESSION locks (server/session_locks.h) are forgotten by any client's RELEASE with their
//   token and by FORCERELEASE; a lock that merely expires stays on the list, and is released on
//   close only if its token holds it again.

#include <spdlog/spdlog.h>

#include <atomic>
#include <cstdint>
#include <iterator>
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
#include "server/session_locks.h"

namespace arvel::server {

namespace {

using drivers::Space;

bool IsNullStore(const drivers::Store& store) { return store.capabilities().keeps_nothing; }

void WarnNullLocksOnce(const drivers::Store& store) {
  static std::atomic<bool> warned{false};
  if (warned.exchange(true)) return;
  spdlog::warn("store '{}' uses the null driver: every LOCK is granted and nothing is excluded",
               store.name());
}

// The options after ACQUIRE's and BLOCK's positional arguments.
struct AcquireOptions {
  std::optional<std::string> owner;  // nullopt: the server makes a token
  bool session = false;
  bool fenced = false;
};

// [OWNER token] [SESSION] [FENCED], in any order.
AcquireOptions ParseAcquireOptions(ArgumentParser& args) {
  AcquireOptions options;
  while (args.ok() && args.HasNext()) {
    if (args.Flag("SESSION")) {
      options.session = true;
    } else if (args.Flag("FENCED")) {
      options.fenced = true;
    } else if (args.Flag("OWNER")) {
      const std::string_view token = args.Next();
      if (args.ok() && token.empty()) args.Fail(errors::kEmptyOwner);
      options.owner = std::string(token);
    } else {
      args.Fail(errors::kSyntax);
    }
  }
  return options;
}

// The null store's fencing numbers: one counter of the daemon for every name.
int64_t NextNullFence() {
  static std::atomic<int64_t> last{0};
  return ++last;
}

// One acquire attempt, answered with the token (and fence) or nil. A lock taken for a client
// that went away meanwhile is given back: nobody else knows its token.
void TryOnce(CommandContext& ctx, std::string key, std::string token, int64_t ttl_ms,
             const AcquireOptions& options) {
  drivers::Store* store = &ctx.store();
  store->Execute(drivers::op::Acquire{Space::kLock, key, token, ttl_ms},
                 [pending = ctx.Suspend(), server = &ctx.server(), store, key, token, options](
                     const Status& status, drivers::OpResult attempt) mutable {
                   if (attempt.applied && !pending.alive()) {
                     return drivers::GiveBackLock(*store, key, std::move(token));
                   }
                   if (attempt.applied && options.session) {
                     server->session_locks().Add(pending.client_id(), *store, key, token);
                   }
                   FinishWith(pending, status, [&](protocol::ReplyWriter& writer) {
                     if (!attempt.applied) return writer.Null();
                     WriteLockGrant(writer, token, options.fenced, attempt.integer);
                   });
                 });
}

// ACQUIRE name ttl [options] and BLOCK name ttl timeout [options].
void Acquire(CommandContext& ctx, ArgumentParser& args, bool block) {
  const std::string key = drivers::LockKey(args.Next());
  const int64_t ttl_ms = TtlMs(args, "lock");
  const int64_t timeout_ms = block ? TimeoutMs(args) : 0;
  AcquireOptions options = ParseAcquireOptions(args);
  if (!args.Finish(ctx)) return;
  std::optional<std::string> token = options.owner ? options.owner : drivers::NewLockToken();
  if (!token) return ctx.reply().Error(errors::kNoLockToken);
  drivers::Store& store = ctx.store();
  if (IsNullStore(store)) {
    WarnNullLocksOnce(store);
    return WriteLockGrant(ctx.reply(), *token, options.fenced, NextNullFence());
  }
  if (timeout_ms == 0 || ctx.conn().in_transaction()) {
    return TryOnce(ctx, key, std::move(*token), ttl_ms, options);
  }
  ctx.server().lock_waiters().Wait(
      {&store, key, std::move(*token), ttl_ms, timeout_ms, options.fenced, options.session},
      ctx.Suspend());
}

void AcquireNow(CommandContext& ctx, ArgumentParser& args) { Acquire(ctx, args, false); }
void Block(CommandContext& ctx, ArgumentParser& args) { Acquire(ctx, args, true); }

void Release(CommandContext& ctx, ArgumentParser& args) {
  const std::string key = drivers::LockKey(args.Next());
  const std::string_view token = args.Next();
  if (!args.Finish(ctx)) return;
  if (IsNullStore(ctx.store())) return ctx.reply().Integer(1);
  ctx.server().session_locks().Forget(ctx.store(), key, token);
  ExecuteAndReply(ctx, drivers::op::ReleaseIf{Space::kLock, key, std::string(token)}, ReplyApplied);
}

void Extend(CommandContext& ctx, ArgumentParser& args) {
  const std::string key = drivers::LockKey(args.Next());
  const std::string_view token = args.Next();
  const int64_t ttl_ms = TtlMs(args, "lock");
  if (!args.Finish(ctx)) return;
  if (IsNullStore(ctx.store())) return ctx.reply().Integer(1);
  ExecuteAndReply(ctx, drivers::op::ExtendIf{Space::kLock, key, std::string(token), ttl_ms},
                  ReplyApplied);
}

void ForceRelease(CommandContext& ctx, ArgumentParser& args) {
  const std::string key = drivers::LockKey(args.Next());
  if (!args.Finish(ctx)) return;
  if (IsNullStore(ctx.store())) return ctx.reply().Integer(1);
  ctx.server().session_locks().Forget(ctx.store(), key, {});
  ExecuteAndReply(ctx, drivers::op::Delete{Space::kLock, {key}}, ReplyInteger);
}

void Owner(CommandContext& ctx, ArgumentParser& args) {
  const std::string key = drivers::LockKey(args.Next());
  if (!args.Finish(ctx)) return;
  ReadAndReply(ctx, Space::kLock, key,
               [](protocol::ReplyWriter& writer, std::span<const drivers::Entry* const> entries) {
                 if (entries[0] == nullptr) return writer.Null();
                 writer.Bulk(entries[0]->value);
               });
}

// The lock and its counter in one read: while the lock is held, the counter is its holder's.
void Fence(CommandContext& ctx, ArgumentParser& args) {
  const std::string key = drivers::LockKey(args.Next());
  if (!args.Finish(ctx)) return;
  const std::string counter = drivers::FenceKey(key);
  const std::string_view keys[] = {key, counter};
  ReadAndReply(ctx, Space::kLock, keys,
               [](protocol::ReplyWriter& writer, std::span<const drivers::Entry* const> entries) {
                 if (entries[0] == nullptr) return writer.Null();
                 writer.Integer(drivers::FenceOf(entries[1]));
               });
}

void Help(CommandContext& ctx, ArgumentParser&) {
  static constexpr std::string_view kLines[] = {
      "LOCK <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
      "ACQUIRE <name> <ttl> [OWNER <token>] [SESSION] [FENCED]",
      "    Take the lock for ttl seconds (0 = until released): its owner token, or nil if held.",
      "    SESSION: released when this connection closes. FENCED: reply [token, fence].",
      "BLOCK <name> <ttl> <timeout> [OWNER <token>] [SESSION] [FENCED]",
      "    Wait up to timeout seconds for the lock, first come first served: token or nil.",
      "RELEASE <name> <token>",
      "    Release the lock if token owns it: 1, else 0.",
      "EXTEND <name> <token> <ttl>",
      "    Restart the lock's ttl if token still owns it: 1, else 0.",
      "FORCERELEASE <name>",
      "    Release the lock whoever owns it: 1 if it was held, else 0.",
      "OWNER <name>",
      "    The owner token of the lock, or nil if it is free.",
      "FENCE <name>",
      "    The holder's fencing number (grows with every acquisition), or nil if it is free.",
  };
  ReplyHelp(ctx, kLines);
}

using LockSubcommand = Subcommand<void (*)(CommandContext&, ArgumentParser&)>;
constexpr LockSubcommand kSubcommands[] = {
    {"acquire", 4, 8, AcquireNow},
    {"block", 5, 9, Block},
    {"release", 4, 4, Release},
    {"extend", 5, 5, Extend},
    {"forcerelease", 3, 3, ForceRelease},
    {"owner", 3, 3, Owner},
    {"fence", 3, 3, Fence},
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
                  "ACQUIRE name ttl [OWNER token] [SESSION] [FENCED] | "
                  "BLOCK name ttl timeout [OWNER token] [SESSION] [FENCED] | "
                  "RELEASE name token | EXTEND name token ttl | FORCERELEASE name | OWNER name | "
                  "FENCE name | HELP"});
}

}  // namespace arvel::server
