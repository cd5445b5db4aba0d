#include "server/commands/store_ops.h"

#include <limits>

namespace arvel::server {

namespace {
// On a store that completes inline (array, null) the store calls back before it returns, so the
// reply is written at once, through the command's own writer: no reply slot, and callbacks that
// capture one pointer, which std::function holds without allocating (the hot path of GET/SET).
void WriteReadReply(protocol::ReplyWriter& writer, const Status& status,
                    std::span<const drivers::Entry* const> entries, const ReadReplyFn& reply) {
  if (!status.ok()) return writer.Error(status.message());
  reply(writer, entries);
}

void WriteResultReply(protocol::ReplyWriter& writer, const Status& status,
                      const drivers::OpResult& result, const ResultReplyFn& reply) {
  if (!status.ok()) return writer.Error(status.message());
  reply(writer, result);
}

void ReadInline(CommandContext& ctx, drivers::Space space, std::span<const std::string_view> keys,
                bool expiries, const ReadReplyFn& reply) {
  struct State {
    protocol::ReplyWriter* writer;
    const ReadReplyFn* reply;
    bool completed = false;
  } state{&ctx.reply(), &reply};
  State* s = &state;
  auto done = [s](const Status& status, std::span<const drivers::Entry* const> entries) {
    WriteReadReply(*s->writer, status, entries, *s->reply);
    s->completed = true;
  };
  if (expiries) {
    ctx.store().Read(space, keys, done);
  } else {
    ctx.store().ReadValues(space, keys, done);
  }
  if (!state.completed) ctx.reply().Error("ERR internal: store did not complete inline");
}

void ReadWith(CommandContext& ctx, drivers::Space space, std::span<const std::string_view> keys,
              bool expiries, ReadReplyFn reply) {
  if (ctx.store().completes_inline()) return ReadInline(ctx, space, keys, expiries, reply);
  auto done = [pending = ctx.SuspendForOneCall(), reply = std::move(reply)](
                  const Status& status, std::span<const drivers::Entry* const> entries) mutable {
    pending.Finish(
        [&](protocol::ReplyWriter& writer) { WriteReadReply(writer, status, entries, reply); });
  };
  if (expiries) {
    ctx.store().Read(space, keys, std::move(done));
  } else {
    ctx.store().ReadValues(space, keys, std::move(done));
  }
}
}  // namespace

void ReadAndReply(CommandContext& ctx, drivers::Space space, std::span<const std::string_view> keys,
                  ReadReplyFn reply) {
  ReadWith(ctx, space, keys, false, std::move(reply));
}

void ReadAndReply(CommandContext& ctx, drivers::Space space, std::string_view key,
                  ReadReplyFn reply) {
  ReadWith(ctx, space, std::span<const std::string_view>(&key, 1), false, std::move(reply));
}

void ReadEntriesAndReply(CommandContext& ctx, drivers::Space space, std::string_view key,
                         ReadReplyFn reply) {
  ReadWith(ctx, space, std::span<const std::string_view>(&key, 1), true, std::move(reply));
}

void ExecuteThenFinish(drivers::Store& store, drivers::Operation operation, ResultReplyFn reply,
                       PendingReply pending) {
  store.Execute(std::move(operation), [reply = std::move(reply), pending = std::move(pending)](
                                          const Status& status, drivers::OpResult result) mutable {
    pending.Finish(
        [&](protocol::ReplyWriter& writer) { WriteResultReply(writer, status, result, reply); });
  });
}

void ExecuteAndReply(CommandContext& ctx, drivers::Operation operation, ResultReplyFn reply) {
  if (ctx.store().completes_inline()) {  // see ReadInline
    struct State {
      protocol::ReplyWriter* writer;
      const ResultReplyFn* reply;
      bool completed = false;
    } state{&ctx.reply(), &reply};
    State* s = &state;
    ctx.store().Execute(std::move(operation), [s](const Status& status, drivers::OpResult result) {
      WriteResultReply(*s->writer, status, result, *s->reply);
      s->completed = true;
    });
    if (!state.completed) ctx.reply().Error("ERR internal: store did not complete inline");
    return;
  }
  ExecuteThenFinish(ctx.store(), std::move(operation), std::move(reply), ctx.SuspendForOneCall());
}

void ReplyOk(protocol::ReplyWriter& writer, const drivers::OpResult&) { writer.Ok(); }

void ReplyInteger(protocol::ReplyWriter& writer, const drivers::OpResult& result) {
  writer.Integer(result.integer);
}

void ReplyApplied(protocol::ReplyWriter& writer, const drivers::OpResult& result) {
  writer.Integer(result.applied ? 1 : 0);
}

void ReplyValueOrNull(protocol::ReplyWriter& writer, const drivers::OpResult& result) {
  if (result.value) {
    writer.Bulk(*result.value);
  } else {
    writer.Null();
  }
}

std::optional<int64_t> ExpireAt(int64_t now_ms, int64_t amount, bool seconds) {
  int64_t ms = amount;
  if (seconds) {
    if (amount > std::numeric_limits<int64_t>::max() / 1000 ||
        amount < std::numeric_limits<int64_t>::min() / 1000) {
      return std::nullopt;
    }
    ms = amount * 1000;
  }
  if (ms > 0 && now_ms > std::numeric_limits<int64_t>::max() - ms) return std::nullopt;
  return now_ms + ms;
}

}  // namespace arvel::server
