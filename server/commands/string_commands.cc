// String commands with Redis 7 semantics on the connection's current store: GET (with the Arvel
// facade's optional default), SET and its variants, MGET/MSET, counters, APPEND and ranges.
// Each command is one Read or one atomic Update, so NX/XX, GET, GETSET, MSETNX and the counters
// are atomic on every driver. Arguments are parsed and checked before the store is touched.

#include <algorithm>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "common/errors.h"
#include "drivers/store.h"
#include "server/command_table.h"
#include "server/commands/arguments.h"
#include "server/commands/store_ops.h"
#include "server/commands/value_logic.h"
#include "server/server.h"

namespace arvel::server {

namespace {

using drivers::Entry;
using drivers::Space;

// ---- SET and GETEX options

enum class ExpiryToken : uint8_t { kEx, kPx, kExAt, kPxAt };

std::optional<ExpiryToken> ParseExpiryToken(std::string_view option) {
  if (EqualsIgnoreCase(option, "EX")) return ExpiryToken::kEx;
  if (EqualsIgnoreCase(option, "PX")) return ExpiryToken::kPx;
  if (EqualsIgnoreCase(option, "EXAT")) return ExpiryToken::kExAt;
  if (EqualsIgnoreCase(option, "PXAT")) return ExpiryToken::kPxAt;
  return std::nullopt;
}

// Options of SET (NX XX GET KEEPTTL EX PX EXAT PXAT) or GETEX (PERSIST EX PX EXAT PXAT).
struct StringOptions {
  bool nx = false;
  bool xx = false;
  bool get = false;
  bool keep_ttl = false;
  bool persist = false;
  std::optional<ExpiryToken> expiry;
  std::string_view expiry_text;  // the argument after the expiry token
};

// Accepts what Redis's parseExtendedStringArgumentsOrReply accepts: NX and XX exclude each
// other; one kind of expiry token (repeating the same kind is allowed, the last one wins);
// KEEPTTL and PERSIST exclude every expiry token. False means a syntax error.
bool ParseStringOptions(std::span<const std::string_view> args, size_t first, bool for_set,
                        StringOptions& out) {
  for (size_t i = first; i < args.size(); ++i) {
    std::string_view option = args[i];
    if (std::optional<ExpiryToken> token = ParseExpiryToken(option)) {
      bool conflict = out.keep_ttl || out.persist || (out.expiry && *out.expiry != *token);
      if (conflict || i + 1 == args.size()) return false;
      out.expiry = token;
      out.expiry_text = args[++i];
    } else if (for_set && EqualsIgnoreCase(option, "NX") && !out.xx) {
      out.nx = true;
    } else if (for_set && EqualsIgnoreCase(option, "XX") && !out.nx) {
      out.xx = true;
    } else if (for_set && EqualsIgnoreCase(option, "GET")) {
      out.get = true;
    } else if (for_set && EqualsIgnoreCase(option, "KEEPTTL") && !out.expiry) {
      out.keep_ttl = true;
    } else if (!for_set && EqualsIgnoreCase(option, "PERSIST") && !out.expiry) {
      out.persist = true;
    } else {
      return false;
    }
  }
  return true;
}

// The expiry the options ask for. REQUIRES: options.expiry.
Result<ExpiryChange> ParseOptionExpiry(const StringOptions& options, std::string_view command) {
  ExpiryToken token = *options.expiry;
  ExpiryUnit unit = token == ExpiryToken::kEx || token == ExpiryToken::kExAt
                        ? ExpiryUnit::kSeconds
                        : ExpiryUnit::kMilliseconds;
  bool absolute = token == ExpiryToken::kExAt || token == ExpiryToken::kPxAt;
  return ParsePositiveExpiry(options.expiry_text, unit, absolute, command);
}

// SET's operation, also behind SETEX, PSETEX and GETSET.
// The key is args[1], the value args[value_at].
drivers::op::Set SetOf(CommandContext& ctx, size_t value_at, ExpiryChange expiry) {
  drivers::op::Set set;
  set.key = std::string(ctx.arg(1));
  set.value = std::string(ctx.arg(value_at));
  set.expiry = expiry;
  return set;
}

// SET's reply: the old value with GET, else +OK when written and nil when the condition failed.
void ReplySet(CommandContext& ctx, drivers::op::Set set) {
  const bool get = set.return_old;
  ExecuteAndReply(ctx, std::move(set),
                  [get](protocol::ReplyWriter& writer, const drivers::OpResult& result) {
                    if (get) return ReplyValueOrNull(writer, result);
                    if (result.applied) return writer.Ok();
                    writer.Null();
                  });
}

// ---- Handlers

// Replies with the value of the key, else `fallback` if given, else nil.
void ReadValue(CommandContext& ctx, std::optional<std::string> fallback) {
  if (!fallback) {
    // Plain GET, the hottest command: a reply function without state costs no allocation.
    return ReadAndReply(ctx, Space::kData, ctx.arg(1),
                        [](protocol::ReplyWriter& writer, std::span<const Entry* const> entries) {
                          WriteValueOr(writer, entries[0], std::nullopt);
                        });
  }
  ReadAndReply(ctx, Space::kData, ctx.arg(1),
               [fallback = std::move(fallback)](protocol::ReplyWriter& writer,
                                                std::span<const Entry* const> entries) {
                 WriteValueOr(writer, entries[0], fallback);
               });
}

void Get(CommandContext& ctx) {
  if (ArityAtMost(ctx, 3)) ReadValue(ctx, OptionalArg(ctx, 2));
}

void Set(CommandContext& ctx) {
  StringOptions options;
  if (!ParseStringOptions(ctx.args(), 3, /*for_set=*/true, options)) {
    return ctx.reply().Error(errors::kSyntax);
  }
  drivers::op::Set set = SetOf(ctx, 2, ExpiryChange::Never());
  if (options.nx) set.condition = drivers::op::Condition::kIfAbsent;
  if (options.xx) set.condition = drivers::op::Condition::kIfPresent;
  set.return_old = options.get;
  if (options.keep_ttl) set.expiry = ExpiryChange::Keep();
  if (options.expiry) {
    Result<ExpiryChange> expiry = ParseOptionExpiry(options, ctx.spec().name);
    if (!expiry.ok()) return ctx.reply().Error(expiry.status().message());
    set.expiry = *expiry;
  }
  ReplySet(ctx, std::move(set));
}

void SetNx(CommandContext& ctx) {
  drivers::op::Set set = SetOf(ctx, 2, ExpiryChange::Never());
  set.condition = drivers::op::Condition::kIfAbsent;
  ExecuteAndReply(ctx, std::move(set), ReplyApplied);
}

// SETEX key seconds value / PSETEX key milliseconds value.
void SetWithExpiry(CommandContext& ctx, ExpiryUnit unit) {
  Result<ExpiryChange> expiry = ParsePositiveExpiry(ctx.arg(2), unit, false, ctx.spec().name);
  if (!expiry.ok()) return ctx.reply().Error(expiry.status().message());
  ReplySet(ctx, SetOf(ctx, 3, *expiry));
}
void SetEx(CommandContext& ctx) { SetWithExpiry(ctx, ExpiryUnit::kSeconds); }
void PSetEx(CommandContext& ctx) { SetWithExpiry(ctx, ExpiryUnit::kMilliseconds); }

void GetSet(CommandContext& ctx) {
  drivers::op::Set set = SetOf(ctx, 2, ExpiryChange::Never());
  set.return_old = true;
  ReplySet(ctx, std::move(set));
}

void GetDel(CommandContext& ctx) {
  ExecuteAndReply(ctx, drivers::op::Take{Space::kData, std::string(ctx.arg(1))},
                  ReplyValueOrNull);
}

// GETEX with an invalid expiry: Redis looks the key up before it checks the expiry, so a
// missing key gets nil rather than the error.
void ReplyErrorUnlessMissing(CommandContext& ctx, std::string error) {
  ReadAndReply(ctx, Space::kData, ctx.arg(1),
               [error = std::move(error)](protocol::ReplyWriter& writer,
                                          std::span<const Entry* const> entries) {
                 if (entries[0]) {
                   writer.Error(error);
                 } else {
                   writer.Null();
                 }
               });
}

void GetEx(CommandContext& ctx) {
  StringOptions options;
  if (!ParseStringOptions(ctx.args(), 2, /*for_set=*/false, options)) {
    return ctx.reply().Error(errors::kSyntax);
  }
  if (!options.expiry && !options.persist) return ReadValue(ctx, std::nullopt);
  Result<ExpiryChange> change = ExpiryChange::Never();  // PERSIST
  if (options.expiry) change = ParseOptionExpiry(options, ctx.spec().name);
  if (!change.ok()) return ReplyErrorUnlessMissing(ctx, change.status().message());
  drivers::op::Expire expire;
  expire.key = std::string(ctx.arg(1));
  expire.expiry = *change;
  expire.return_value = true;
  ExecuteAndReply(ctx, std::move(expire), ReplyValueOrNull);
}

void MGet(CommandContext& ctx) { ReplyWithValues(ctx, ctx.args().subspan(1)); }

void MSet(CommandContext& ctx) {
  if (ctx.argc() % 2 == 0) return ctx.reply().Error(errors::WrongArity(ctx.spec().name));
  KeyValues pairs = CollectPairs(ctx.args(), 1);
  ExecuteAndReply(ctx,
                  drivers::op::SetMany{Space::kData, std::move(pairs.keys),
                                       std::move(pairs.values), ExpiryChange::Never()},
                  ReplyOk);
}

void MSetNx(CommandContext& ctx) {
  if (ctx.argc() % 2 == 0) return ctx.reply().Error(errors::WrongArity(ctx.spec().name));
  KeyValues pairs = CollectPairs(ctx.args(), 1);
  ExecuteAndReply(ctx,
                  drivers::op::SetMany{Space::kData, std::move(pairs.keys),
                                       std::move(pairs.values), ExpiryChange::Never(),
                                       /*if_none_exist=*/true},
                  ReplyApplied);
}

void Incr(CommandContext& ctx) { IncrementAndReply(ctx, ctx.arg(1), 1); }
void Decr(CommandContext& ctx) { IncrementAndReply(ctx, ctx.arg(1), -1); }

void IncrBy(CommandContext& ctx) {
  int64_t delta = 0;
  if (ParseDelta(ctx, ctx.arg(2), /*negate=*/false, delta))
    IncrementAndReply(ctx, ctx.arg(1), delta);
}

void DecrBy(CommandContext& ctx) {
  int64_t delta = 0;
  if (ParseDelta(ctx, ctx.arg(2), /*negate=*/true, delta))
    IncrementAndReply(ctx, ctx.arg(1), delta);
}

void IncrByFloat(CommandContext& ctx) {
  std::optional<long double> delta = ParseLongDouble(ctx.arg(2));
  if (!delta) return ctx.reply().Error(errors::kNotFloat);
  ExecuteAndReply(ctx, drivers::op::IncrementFloat{std::string(ctx.arg(1)), *delta},
                  ReplyValueOrNull);
}

// True when a string of `size` + `more` bytes would pass proto_max_bulk_len (Redis refuses to
// build a value that no client could send back).
bool TooLong(int64_t size, int64_t more, int64_t max) { return size > max - more; }

void Append(CommandContext& ctx) {
  int64_t max = ctx.server().config().server.proto_max_bulk_len;
  ExecuteAndReply(ctx, drivers::op::Append{std::string(ctx.arg(1)), std::string(ctx.arg(2)), max},
                  ReplyInteger);
}

void StrLen(CommandContext& ctx) {
  ReadAndReply(ctx, Space::kData, ctx.arg(1),
               [](protocol::ReplyWriter& writer, std::span<const Entry* const> entries) {
                 writer.Integer(entries[0] ? static_cast<int64_t>(entries[0]->value.size()) : 0);
               });
}

// Redis's GETRANGE: negative indexes count from the end, both ends are clamped, an empty
// range is "".
std::string_view Range(std::string_view s, int64_t start, int64_t end) {
  auto size = static_cast<int64_t>(s.size());
  if (start < 0 && end < 0 && start > end) return {};
  if (start < 0) start = std::max<int64_t>(size + start, 0);
  if (end < 0) end = std::max<int64_t>(size + end, 0);
  end = std::min(end, size - 1);
  if (size == 0 || start > end) return {};
  return s.substr(static_cast<size_t>(start), static_cast<size_t>(end - start + 1));
}

void GetRange(CommandContext& ctx) {
  std::optional<int64_t> start = ParseInt64(ctx.arg(2));
  std::optional<int64_t> end = ParseInt64(ctx.arg(3));
  if (!start || !end) return ctx.reply().Error(errors::kNotInteger);
  ReadAndReply(ctx, Space::kData, ctx.arg(1),
               [start = *start, end = *end](protocol::ReplyWriter& writer,
                                            std::span<const Entry* const> entries) {
                 writer.Bulk(entries[0] ? Range(entries[0]->value, start, end) : "");
               });
}

void SetRange(CommandContext& ctx) {
  std::optional<int64_t> offset = ParseInt64(ctx.arg(2));
  if (!offset) return ctx.reply().Error(errors::kNotInteger);
  if (*offset < 0) return ctx.reply().Error(errors::kOffsetOutOfRange);
  std::string patch(ctx.arg(3));
  int64_t max = ctx.server().config().server.proto_max_bulk_len;
  if (!patch.empty() && TooLong(*offset, std::ssize(patch), max)) {
    return ctx.reply().Error(errors::kStringTooLong);
  }
  ExecuteAndReply(ctx,
                  drivers::op::SetRange{std::string(ctx.arg(1)), static_cast<uint64_t>(*offset),
                                        std::move(patch)},
                  ReplyInteger);
}

}  // namespace

void RegisterStringCommands(CommandTable& table) {
  constexpr uint32_t kRead = kReadOnly | kFast;
  constexpr uint32_t kWriteFast = kWrite | kFast;
  table.Register({"get", -2, kRead, 1, 1, 1, Get, "string",
                  "Returns the value of a key, or the default when it is missing.",
                  "key [default]"});
  table.Register({"set", -3, kWrite, 1, 1, 1, Set, "string",
                  "Sets the string value of a key, with an optional condition and expiry.",
                  "key value [NX | XX] [GET] [EX | PX | EXAT | PXAT time | KEEPTTL]"});
  table.Register({"setnx", 3, kWriteFast, 1, 1, 1, SetNx, "string",
                  "Sets a key only when it does not exist.", "key value"});
  table.Register({"setex", 4, kWrite, 1, 1, 1, SetEx, "string",
                  "Sets a key with an expiry in seconds.", "key seconds value"});
  table.Register({"psetex", 4, kWrite, 1, 1, 1, PSetEx, "string",
                  "Sets a key with an expiry in milliseconds.", "key milliseconds value"});
  table.Register({"getdel", 2, kWriteFast, 1, 1, 1, GetDel, "string",
                  "Returns the value of a key and deletes the key.", "key"});
  table.Register({"getex", -2, kWriteFast, 1, 1, 1, GetEx, "string",
                  "Returns the value of a key and changes its expiry.",
                  "key [EX | PX | EXAT | PXAT time | PERSIST]"});
  table.Register({"getset", 3, kWriteFast, 1, 1, 1, GetSet, "string",
                  "Sets a key and returns its previous value.", "key value"});
  table.Register({"mget", -2, kRead, 1, -1, 1, MGet, "string",
                  "Returns the values of several keys.", "key [key ...]"});
  table.Register({"mset", -3, kWrite, 1, -1, 2, MSet, "string", "Sets several keys atomically.",
                  "key value [key value ...]"});
  table.Register({"msetnx", -3, kWrite, 1, -1, 2, MSetNx, "string",
                  "Sets several keys atomically, only if none of them exists.",
                  "key value [key value ...]"});
  table.Register({"incr", 2, kWriteFast, 1, 1, 1, Incr, "string",
                  "Adds one to the integer value of a key (0 when missing).", "key"});
  table.Register({"decr", 2, kWriteFast, 1, 1, 1, Decr, "string",
                  "Subtracts one from the integer value of a key (0 when missing).", "key"});
  table.Register({"incrby", 3, kWriteFast, 1, 1, 1, IncrBy, "string",
                  "Adds an integer to the value of a key (0 when missing).", "key increment"});
  table.Register({"decrby", 3, kWriteFast, 1, 1, 1, DecrBy, "string",
                  "Subtracts an integer from the value of a key (0 when missing).",
                  "key decrement"});
  table.Register({"incrbyfloat", 3, kWriteFast, 1, 1, 1, IncrByFloat, "string",
                  "Adds a floating point number to the value of a key (0 when missing).",
                  "key increment"});
  table.Register({"append", 3, kWriteFast, 1, 1, 1, Append, "string",
                  "Appends a string to the value of a key.", "key value"});
  table.Register({"strlen", 2, kRead, 1, 1, 1, StrLen, "string",
                  "Returns the length of the value of a key.", "key"});
  table.Register({"getrange", 4, kReadOnly, 1, 1, 1, GetRange, "string",
                  "Returns a substring of the value of a key.", "key start end"});
  table.Register({"setrange", 4, kWrite, 1, 1, 1, SetRange, "string",
                  "Overwrites part of the value of a key at an offset.", "key offset value"});
}

}  // namespace arvel::server
