#pragma once
// The two shapes every data command takes on the Store interface:
//   ReadAndReply    — look keys up, reply from what was found;
//   ExecuteAndReply — execute one Operation (drivers/operation.h), reply from its OpResult.
// On a store that completes later (file, database, redis) both suspend the command (a reply
// slot) and finish the reply on the loop thread; on one that completes inline (array, null)
// they reply at once, allocating nothing of their own. A store error becomes the reply.

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "drivers/store.h"
#include "protocol/resp_writer.h"
#include "server/command.h"

namespace arvel::server {

using ReadReplyFn =
    std::function<void(protocol::ReplyWriter&, std::span<const drivers::Entry* const> entries)>;
using ResultReplyFn = std::function<void(protocol::ReplyWriter&, const drivers::OpResult& result)>;

// Reads the values of `keys` from the connection's current store (Store::ReadValues: expiries
// are not known), then `reply(writer, entries)`.
void ReadAndReply(CommandContext& ctx, drivers::Space space, std::span<const std::string_view> keys,
                  ReadReplyFn reply);
void ReadAndReply(CommandContext& ctx, drivers::Space space, std::string_view key,
                  ReadReplyFn reply);
// The same with the entries' expiries (Store::Read), for TTL and friends.
void ReadEntriesAndReply(CommandContext& ctx, drivers::Space space, std::string_view key,
                         ReadReplyFn reply);

// Executes `operation` on the current store and replies with `reply(writer, result)`; an error
// (the store's, or the operation's refusal) becomes the reply.
void ExecuteAndReply(CommandContext& ctx, drivers::Operation operation, ResultReplyFn reply);
// The same on an explicit store, finishing `pending` (for commands that chain).
void ExecuteThenFinish(drivers::Store& store, drivers::Operation operation, ResultReplyFn reply,
                       PendingReply pending);

// Replies for the common result shapes.
void ReplyOk(protocol::ReplyWriter& writer, const drivers::OpResult&);
void ReplyInteger(protocol::ReplyWriter& writer, const drivers::OpResult& result);
void ReplyApplied(protocol::ReplyWriter& writer, const drivers::OpResult& result);  // :1 / :0
void ReplyValueOrNull(protocol::ReplyWriter& writer, const drivers::OpResult& result);

// Expiry arithmetic shared by SET EX, PUT ttl, EXPIRE…: the absolute ms for `amount` units
// (seconds when `seconds`) from `now_ms`, or nullopt on overflow.
std::optional<int64_t> ExpireAt(int64_t now_ms, int64_t amount, bool seconds);

}  // namespace arvel::server
