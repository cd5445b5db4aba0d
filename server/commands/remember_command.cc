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

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "common/errors.h"
#include "drivers/store.h"
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

}  // namespace

void RegisterRememberCommands(CommandTable& table) {
  table.Register({"remember", -2, kWrite | kBlocking, 1, 1, 1, Remember, "cache",
                  "Returns the value, or nil and the fill lease to exactly one caller on a miss "
                  "while the others wait for the value.",
                  "key [LEASE seconds]"});
}

}  // namespace arvel::server
