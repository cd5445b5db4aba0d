#include "server/commands/store_ops.h"

#include <limits>

namespace arvel::server {

void ReplyValue::Write(protocol::ReplyWriter& writer) const {
  switch (kind) {
    case Kind::kOk:
      writer.Ok();
      break;
    case Kind::kNull:
      writer.Null();
      break;
    case Kind::kInteger:
      writer.Integer(integer);
      break;
    case Kind::kBulk:
      writer.Bulk(text);
      break;
    case Kind::kError:
      writer.Error(text);
      break;
    case Kind::kSimple:
      writer.Simple(text);
      break;
    case Kind::kIntegerArray:
      writer.ArrayHeader(integers.size());
      for (int64_t v : integers) writer.Integer(v);
      break;
  }
}

void ReadAndReply(CommandContext& ctx, drivers::Space space, std::span<const std::string_view> keys,
                  ReadReplyFn reply) {
  ctx.store().Read(
      space, keys,
      [pending = ctx.Suspend(), reply = std::move(reply)](
          const Status& status, std::span<const drivers::Entry* const> entries) mutable {
        pending.Finish([&](protocol::ReplyWriter& writer) {
          if (!status.ok()) {
            writer.Error(status.message());
          } else {
            reply(writer, entries);
          }
        });
      });
}

void ReadAndReply(CommandContext& ctx, drivers::Space space, std::string_view key,
                  ReadReplyFn reply) {
  ReadAndReply(ctx, space, std::span<const std::string_view>(&key, 1), std::move(reply));
}

void UpdateThenFinish(drivers::Store& store, drivers::Space space,
                      std::span<const std::string_view> keys, DecideFn decide,
                      PendingReply pending) {
  // The decision runs where the driver runs it; its reply travels back through `result`.
  auto result = std::make_shared<ReplyValue>();
  store.Update(
      space, keys,
      [result, decide = std::move(decide)](std::span<drivers::KeyUpdate> updates, int64_t now) {
        *result = decide(updates, now);
      },
      [result, pending = std::move(pending)](const Status& status) mutable {
        pending.Finish([&](protocol::ReplyWriter& writer) {
          if (!status.ok()) {
            writer.Error(status.message());
          } else {
            result->Write(writer);
          }
        });
      });
}

void UpdateAndReply(CommandContext& ctx, drivers::Space space,
                    std::span<const std::string_view> keys, DecideFn decide) {
  UpdateThenFinish(ctx.store(), space, keys, std::move(decide), ctx.Suspend());
}

void UpdateAndReply(CommandContext& ctx, drivers::Space space, std::string_view key,
                    DecideFn decide) {
  UpdateAndReply(ctx, space, std::span<const std::string_view>(&key, 1), std::move(decide));
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
