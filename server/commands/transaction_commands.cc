// MULTI / EXEC / DISCARD / WATCH / UNWATCH. Queueing happens in Connection::Dispatch; EXEC runs
// the queue through Connection::RunTransaction, which waits for each command (a store may
// complete later) before starting the next, so replies stay in order inside the EXEC array.

#include "common/errors.h"
#include "server/command_table.h"
#include "server/connection.h"
#include "drivers/store.h"
#include "server/server.h"

namespace arvel::server {

namespace {

void EndTransaction(CommandContext& ctx) {
  ClientState& client = ctx.client();
  client.in_multi = false;
  client.multi_error = false;
  client.queue.clear();
  client.watch_dirty = false;
  client.watching = false;
  ctx.server().watches().UnwatchAll(client.id);
}

void Multi(CommandContext& ctx) {
  if (ctx.client().in_multi) return ctx.reply().Error(errors::kNestedMulti);
  ctx.client().in_multi = true;
  ctx.reply().Ok();
}

void Exec(CommandContext& ctx) {
  ClientState& client = ctx.client();
  if (!client.in_multi) return ctx.reply().Error(errors::kExecWithoutMulti);
  if (client.multi_error) {
    EndTransaction(ctx);
    return ctx.reply().Error(errors::kExecAbort);
  }
  if (client.watch_dirty) {
    EndTransaction(ctx);
    return ctx.reply().NullArray();
  }
  ctx.reply().ArrayHeader(client.queue.size());
  client.in_multi = false;
  client.multi_error = false;
  client.watching = false;
  ctx.server().watches().UnwatchAll(client.id);
  ctx.conn().RunTransaction();  // takes the queue
}

void Discard(CommandContext& ctx) {
  if (!ctx.client().in_multi) return ctx.reply().Error(errors::kDiscardWithoutMulti);
  EndTransaction(ctx);
  ctx.reply().Ok();
}

void Watch(CommandContext& ctx) {
  ClientState& client = ctx.client();
  if (client.in_multi) return ctx.reply().Error(errors::kWatchInMulti);
  if (client.store->capabilities().others_may_write()) {
    return ctx.reply().Error(errors::SharedStoreWatch(client.store->name()));
  }
  for (size_t i = 1; i < ctx.argc(); ++i) {
    ctx.server().watches().Watch(client.id, client.store, ctx.arg(i));
  }
  client.watching = true;
  ctx.reply().Ok();
}

void Unwatch(CommandContext& ctx) {
  ctx.server().watches().UnwatchAll(ctx.client().id);
  ctx.client().watching = false;
  ctx.client().watch_dirty = false;
  ctx.reply().Ok();
}

}  // namespace

void RegisterTransactionCommands(CommandTable& table) {
  table.Register({"multi", 1, kNoMulti | kConnectionState | kAllowBusy | kFast, 0, 0, 0, Multi, "transactions",
                  "Starts a transaction.", ""});
  table.Register({"exec", 1, kNoMulti | kConnectionState, 0, 0, 0, Exec, "transactions",
                  "Executes all commands in a transaction.", ""});
  table.Register({"discard", 1, kNoMulti | kConnectionState | kAllowBusy | kFast, 0, 0, 0, Discard,
                  "transactions", "Discards a transaction.", ""});
  table.Register({"watch", -2, kNoMulti | kConnectionState | kAllowBusy | kFast, 1, -1, 1, Watch, "transactions",
                  "Monitors changes to keys to determine the execution of a transaction.",
                  "key [key ...]"});
  table.Register({"unwatch", 1, kNoMulti | kConnectionState | kAllowBusy | kFast, 0, 0, 0, Unwatch,
                  "transactions", "Forgets about watched keys of a transaction.", ""});
}

}  // namespace arvel::server
