// FUNNEL ACQUIRE | RELEASE | COUNT | HELP (SPEC §4, Concurrency limiting): Laravel's funnel —
// at most `limit` holders of a name at once — kept as one record per name in Space::kLock of
// the connection's current store (drivers/funnel_logic.h), apart from every lock and key. Taking
// and giving back a slot are one atomic operation each (op::Funnel), so the limit holds across
// every client of a daemon, and across daemons on shared drivers. BLOCK parks the client in the
// server's LockWaiters (first come, first served, as LOCK BLOCK); SESSION slots are given back
// by the server's SessionLocks when their connection closes.
//
// Choices where Laravel or the spec leave room:
// - limit: an integer >= 1. ttl: integer seconds >= 0; 0 = held until released. BLOCK's
//   timeout: seconds >= 0, decimals allowed; 0 tries once (as LOCK BLOCK).
// - Options after the positional arguments, in any order: BLOCK timeout, SESSION.
// - Inside MULTI/EXEC, BLOCK tries once (a wait would stall the transaction).
// - The null store keeps nothing, as with LOCK: every ACQUIRE gets a token, RELEASE answers :1,
//   COUNT 0.
// - COUNT reads the record and counts the slots live by the store's clock.

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
#include "drivers/funnel_logic.h"
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

bool IsNullStore(const drivers::Store& store) { return store.capabilities().keeps_nothing; }

void WarnNullFunnelsOnce(const drivers::Store& store) {
  static std::atomic<bool> warned{false};
  if (warned.exchange(true)) return;
  spdlog::warn("store '{}' uses the null driver: every FUNNEL slot is granted, nothing is limited",
               store.name());
}

struct SlotRequest {
  std::string key;  // the funnel's FunnelKey
  int64_t limit = 0;
  int64_t ttl_ms = 0;
  int64_t timeout_ms = 0;
  bool session = false;
};

// name limit ttl [BLOCK timeout] [SESSION]
SlotRequest ParseAcquire(ArgumentParser& args) {
  SlotRequest request;
  request.key = drivers::FunnelKey(args.Next());
  request.limit = args.Integer();
  if (args.ok() && request.limit < 1) args.Fail(errors::kBadFunnelLimit);
  request.ttl_ms = TtlMs(args, "funnel");
  while (args.ok() && args.HasNext()) {
    if (args.Flag("SESSION")) {
      request.session = true;
    } else if (args.Flag("BLOCK")) {
      request.timeout_ms = TimeoutMs(args);
    } else {
      args.Fail(errors::kSyntax);
    }
  }
  return request;
}

// One try, answered with the token or nil. A slot taken for a client that went away meanwhile
// is given back: nobody else knows its token.
void TryOnce(CommandContext& ctx, SlotRequest request, std::string token) {
  drivers::Store* store = &ctx.store();
  store->Execute(
      drivers::op::Funnel{request.key, token, request.limit, request.ttl_ms},
      [pending = ctx.Suspend(), server = &ctx.server(), store, key = request.key, token,
       session = request.session](const Status& status, drivers::OpResult result) mutable {
        if (result.applied && !pending.alive()) {
          return drivers::GiveBackSlot(*store, std::move(key), std::move(token));
        }
        if (result.applied && session) {
          server->session_locks().Add(pending.client_id(), *store, key, token,
                                      HoldKind::kFunnelSlot);
        }
        FinishWith(pending, status, [&](protocol::ReplyWriter& writer) {
          if (!result.applied) return writer.Null();
          writer.Bulk(token);
        });
      });
}

void Acquire(CommandContext& ctx, ArgumentParser& args) {
  SlotRequest request = ParseAcquire(args);
  if (!args.Finish(ctx)) return;
  std::optional<std::string> token = drivers::NewLockToken();
  if (!token) return ctx.reply().Error(errors::kNoLockToken);
  drivers::Store& store = ctx.store();
  if (IsNullStore(store)) {
    WarnNullFunnelsOnce(store);
    return ctx.reply().Bulk(*token);
  }
  if (request.timeout_ms == 0 || ctx.conn().in_transaction()) {
    return TryOnce(ctx, std::move(request), std::move(*token));
  }
  ctx.server().lock_waiters().Wait(
      {&store, std::move(request.key), std::move(*token), request.ttl_ms, request.timeout_ms, false,
       request.session, request.limit},
      ctx.Suspend());
}

void Release(CommandContext& ctx, ArgumentParser& args) {
  std::string key = drivers::FunnelKey(args.Next());
  const std::string_view token = args.Next();
  if (!args.Finish(ctx)) return;
  if (IsNullStore(ctx.store())) return ctx.reply().Integer(1);
  // An empty token would tell SessionLocks to forget every holder (FORCERELEASE's meaning).
  if (!token.empty()) ctx.server().session_locks().Forget(ctx.store(), key, token);
  ExecuteAndReply(ctx, drivers::op::Funnel{std::move(key), std::string(token), 0, 0, true},
                  ReplyApplied);
}

void Count(CommandContext& ctx, ArgumentParser& args) {
  const std::string key = drivers::FunnelKey(args.Next());
  if (!args.Finish(ctx)) return;
  ReadAndReply(ctx, drivers::Space::kLock, key,
               [now_ms = ctx.store().now_ms()](protocol::ReplyWriter& writer,
                                               std::span<const drivers::Entry* const> entries) {
                 const auto slots = drivers::LiveSlots(entries[0], now_ms);
                 writer.Integer(static_cast<int64_t>(slots.size()));
               });
}

void Help(CommandContext& ctx, ArgumentParser&) {
  static constexpr std::string_view kLines[] = {
      "FUNNEL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
      "ACQUIRE <name> <limit> <ttl> [BLOCK <timeout>] [SESSION]",
      "    Take one of limit slots for ttl seconds (0 = until released): a token, or nil when",
      "    all are held. BLOCK: wait up to timeout seconds, first come first served. SESSION:",
      "    given back when this connection closes.",
      "RELEASE <name> <token>",
      "    Give back the slot of token: 1, else 0.",
      "COUNT <name>",
      "    The number of slots held now.",
  };
  ReplyHelp(ctx, kLines);
}

using FunnelSubcommand = Subcommand<void (*)(CommandContext&, ArgumentParser&)>;
constexpr FunnelSubcommand kSubcommands[] = {
    {"acquire", 5, 8, Acquire},
    {"release", 4, 4, Release},
    {"count", 3, 3, Count},
    {"help", 2, 2, Help},
};

void Funnel(CommandContext& ctx) {
  const FunnelSubcommand* sub = FindSubcommand(ctx, kSubcommands, ctx.arg(1), "funnel");
  if (sub == nullptr) return;
  ArgumentParser args(ctx.args(), 2);
  sub->run(ctx, args);
}

}  // namespace

void RegisterFunnelCommands(CommandTable& table) {
  table.Register({"funnel", -2, kWrite | kBlocking, 0, 0, 0, Funnel, "cache",
                  "Concurrency limiting: take, wait for, give back or count the slots of a "
                  "funnel.",
                  "ACQUIRE name limit ttl [BLOCK timeout] [SESSION] | RELEASE name token | "
                  "COUNT name | HELP"});
}

}  // namespace arvel::server
