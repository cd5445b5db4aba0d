#pragma once
// The two shapes every data command takes on the Store interface:
//   ReadAndReply   — look keys up, reply from what was found;
//   UpdateAndReply — decide atomically per key (possibly on a driver's worker thread), reply
//                    with the ReplyValue the decision produced.
// Both suspend the connection and finish the reply on the loop thread, whether the store
// completes at once (array, null) or later (file, database, redis). A store error becomes the
// reply.

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

// A reply decided inside an UpdateFn, where no writer is at hand (it may run on another thread).
struct ReplyValue {
  enum class Kind : uint8_t { kOk, kNull, kInteger, kBulk, kError, kSimple, kIntegerArray };
  Kind kind = Kind::kOk;
  int64_t integer = 0;
  std::string text;               // kBulk, kError (full text), kSimple
  std::vector<int64_t> integers;  // kIntegerArray

  static ReplyValue Ok() { return {}; }
  static ReplyValue Null() { return Of(Kind::kNull); }
  static ReplyValue Integer(int64_t v) {
    ReplyValue r = Of(Kind::kInteger);
    r.integer = v;
    return r;
  }
  static ReplyValue Bulk(std::string s) { return Text(Kind::kBulk, std::move(s)); }
  static ReplyValue Error(std::string_view message) {
    return Text(Kind::kError, std::string(message));
  }
  static ReplyValue Simple(std::string_view s) { return Text(Kind::kSimple, std::string(s)); }
  static ReplyValue Integers(std::vector<int64_t> v) {
    ReplyValue r = Of(Kind::kIntegerArray);
    r.integers = std::move(v);
    return r;
  }

  void Write(protocol::ReplyWriter& writer) const;

 private:
  static ReplyValue Of(Kind kind) {
    ReplyValue r;
    r.kind = kind;
    return r;
  }
  static ReplyValue Text(Kind kind, std::string text) {
    ReplyValue r = Of(kind);
    r.text = std::move(text);
    return r;
  }
};

using ReadReplyFn =
    std::function<void(protocol::ReplyWriter&, std::span<const drivers::Entry* const> entries)>;
using DecideFn = std::function<ReplyValue(std::span<drivers::KeyUpdate> keys, int64_t now_ms)>;

// Reads `keys` from the connection's current store, then `reply(writer, entries)`.
void ReadAndReply(CommandContext& ctx, drivers::Space space, std::span<const std::string_view> keys,
                  ReadReplyFn reply);
void ReadAndReply(CommandContext& ctx, drivers::Space space, std::string_view key,
                  ReadReplyFn reply);

// Runs `decide` atomically over `keys` of the current store and replies with its result.
void UpdateAndReply(CommandContext& ctx, drivers::Space space,
                    std::span<const std::string_view> keys, DecideFn decide);
void UpdateAndReply(CommandContext& ctx, drivers::Space space, std::string_view key,
                    DecideFn decide);

// Same as UpdateAndReply on an explicit store, finishing `pending` (for commands that chain).
void UpdateThenFinish(drivers::Store& store, drivers::Space space,
                      std::span<const std::string_view> keys, DecideFn decide,
                      PendingReply pending);

// Expiry arithmetic shared by SET EX, PUT ttl, EXPIRE…: the absolute ms for `amount` units
// (seconds when `seconds`) from `now_ms`, or nullopt on overflow.
std::optional<int64_t> ExpireAt(int64_t now_ms, int64_t amount, bool seconds);

}  // namespace arvel::server
