// REMEMBER key [LEASE seconds] (SPEC §4): the server half of Laravel's remember() with
// stampede protection. A hit answers the value. On a miss exactly one caller gets nil — it now
// holds the fill lease, computes the value and stores it with any write (PUT, FOREVER, SET,
// ADD…) — while the other callers wait, parked, for that value (server/fill_leases.h).
//
// Choices where the spec leaves room:
// - LEASE: a positive integer number of seconds; default [server] remember_lease.
// - Inside MULTI/EXEC nobody waits (a waiter would stall the transaction): a miss answers nil,
//   granting the lease when it is free; when someone else holds it the caller gets nil without
//   the lease and should compute the value anyway.
// - The null store never holds a value: every caller gets nil at once and no lease is kept (as
//   remember() on Laravel's NullStore calls the callback every time).
//
// FLEXIBLE key fresh stale [LEASE seconds] (SPEC §4): Laravel's flexible() (stale-while-
// revalidate) done by the server. The reply is [value-or-nil, state]: fresh, stale, refresh (this
// caller now holds the refresh lease) or fill (a miss: REMEMBER's single flight, whose waiters
// get [value, "fresh"]).
// - A value's age comes from its TTL: the refresher writes it with `PUT key value stale`, so it
//   expires `stale` seconds after its write, and its age is stale minus its TTL left. That needs
//   no write time kept anywhere, so every driver — and every daemon on a shared one — agrees.
//   A value without expiry, or with more TTL left than `stale`, counts as fresh.
// - The refresh lease is a kLease record named after the version of the value it refreshes (its
//   expiry and a digest of its bytes): the refresher's write starts a new version, so once that
//   one goes stale in turn the next refresh needs a new lease at once. A refresher that goes
//   away or FORGETs the key gives it up (FillLeases::RefreshTaken); one that never writes holds it
//   until it runs out (LEASE, default [server] remember_lease).
// - fresh and stale are whole seconds, 0 <= fresh <= stale, stale > 0.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "common/errors.h"
#include "drivers/lock_logic.h"
#include "drivers/store.h"
#include "drivers/tag_set.h"
#include "server/command_table.h"
#include "server/commands/arguments.h"
#include "server/commands/store_ops.h"
#include "server/commands/value_logic.h"
#include "server/connection.h"
#include "server/fill_leases.h"
#include "server/server.h"

namespace arvel::server {

namespace {

void Remember(CommandContext& ctx) {
  ArgumentParser args(ctx.args(), 2);
  const int64_t lease_ms = ParseLease(ctx, args);
  if (!args.Finish(ctx)) return;
  drivers::Store& store = ctx.store();
  if (store.capabilities().keeps_nothing) {
    return ReadAndReply(ctx, drivers::Space::kData, ctx.arg(1),
                        [](protocol::ReplyWriter& writer, std::span<const drivers::Entry* const>) {
                          writer.Null();
                        });
  }
  FillLeases::Claim claim{&store, std::string(ctx.arg(1)), lease_ms, !ctx.conn().in_transaction()};
  ctx.server().fill_leases().Remember(std::move(claim), ctx.Suspend());
}

// Longest FLEXIBLE window, in seconds: its milliseconds must fit with room to spare.
constexpr int64_t kMaxWindowSeconds = int64_t{1} << 40;

// The kLease record of the refresh of `key`'s value version: `value` expiring at `expire_at_ms`
// (the same value written twice within a millisecond is one version). The leading byte keeps it
// apart from REMEMBER's records, which are named by the key alone.
std::string RefreshLeaseKey(std::string_view key, std::string_view value, int64_t expire_at_ms) {
  return "\x01refresh:" + std::to_string(expire_at_ms) + ":" + drivers::DigestHex(value) + ":" +
         std::string(key);
}

// A stale `value`: the caller that takes the version's refresh lease gets "refresh", every
// other caller "stale", at once.
void OfferRefresh(FillLeases& leases, drivers::Store& store, std::string_view key,
                  int64_t expire_at_ms, int64_t lease_ms, std::string value,
                  PendingReply pending) {
  std::optional<std::string> token = drivers::NewLockToken();
  if (!token) {
    return pending.Finish(
        [](protocol::ReplyWriter& writer) { writer.Error(errors::kNoLeaseToken); });
  }
  std::string lease_key = RefreshLeaseKey(key, value, expire_at_ms);
  drivers::op::Acquire acquire{drivers::Space::kLease, lease_key, *token, lease_ms};
  store.Execute(
      std::move(acquire),
      [&leases, &store, key = std::string(key), lease_key = std::move(lease_key),
       token = std::move(*token), value = std::move(value),
       pending](const Status& status, drivers::OpResult result) mutable {
        if (status.ok() && result.applied) {
          leases.RefreshTaken(pending.client_id(), store, std::move(key), std::move(lease_key),
                              std::move(token));
        }
        FinishWith(pending, status, [&](protocol::ReplyWriter& writer) {
          WriteFlexibleReply(writer, value, result.applied ? "refresh" : "stale");
        });
      });
}

void Flexible(CommandContext& ctx) {
  ArgumentParser args(ctx.args(), 2);
  const int64_t fresh = args.Integer();
  const int64_t stale = args.Integer();
  const int64_t lease_ms = ParseLease(ctx, args);
  if (args.ok() && (fresh < 0 || stale <= 0 || fresh > stale || stale > kMaxWindowSeconds)) {
    args.Fail(errors::kBadFlexibleWindow);
  }
  if (!args.Finish(ctx)) return;
  drivers::Store& store = ctx.store();
  if (store.capabilities().keeps_nothing) {
    return WriteFlexibleReply(ctx.reply(), std::nullopt, "fill");
  }
  FillLeases::Claim claim{&store, std::string(ctx.arg(1)), lease_ms, !ctx.conn().in_transaction()};
  claim.flexible = true;
  const std::string_view key = ctx.arg(1);
  store.Read(drivers::Space::kData, std::span<const std::string_view>(&key, 1),
             [pending = ctx.Suspend(), server = &ctx.server(), claim = std::move(claim),
              fresh_ms = fresh * 1000, stale_ms = stale * 1000](
                 const Status& status, std::span<const drivers::Entry* const> entries) mutable {
               if (!status.ok()) {
                 return pending.Finish(
                     [&](protocol::ReplyWriter& writer) { writer.Error(status.message()); });
               }
               const drivers::Entry* entry = entries[0];
               if (entry == nullptr) {
                 return server->fill_leases().Request(std::move(claim), pending);
               }
               const int64_t expire_at = entry->expire_at_ms;
               const int64_t age =
                   expire_at == 0 ? 0 : stale_ms - (expire_at - claim.store->now_ms());
               if (age < fresh_ms) {
                 return pending.Finish([&](protocol::ReplyWriter& writer) {
                   WriteFlexibleReply(writer, entry->value, "fresh");
                 });
               }
               OfferRefresh(server->fill_leases(), *claim.store, claim.key, expire_at,
                            claim.lease_ms, entry->value, pending);
             });
}

}  // namespace

void RegisterRememberCommands(CommandTable& table) {
  table.Register({"remember", -2, kWrite | kBlocking, 1, 1, 1, Remember, "cache",
                  "Returns the value, or nil and the fill lease to exactly one caller on a miss "
                  "while the others wait for the value.",
                  "key [LEASE seconds]"});
  table.Register({"flexible", -4, kWrite | kBlocking, 1, 1, 1, Flexible, "cache",
                  "Stale-while-revalidate: [value, fresh|stale|refresh|fill]; one caller at a "
                  "time refreshes a stale value, a miss is filled as REMEMBER's.",
                  "key fresh stale [LEASE seconds]"});
}

}  // namespace arvel::server
