// Generic key commands with Redis 7 semantics on the connection's current store: DEL, EXISTS,
// the EXPIRE and TTL families, TYPE, KEYS, SCAN, RANDOMKEY, DBSIZE and FLUSHDB/FLUSHALL. They
// see only user keys (Space::kData), and every value is a string.
//
// KEYS walks the store's Scan from cursor 0 until it comes back to 0. A batch that completes
// later continues the walk from its callback, so a slow store parks only this client; batches
// that complete at once are taken by a loop rather than by recursion.

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "common/errors.h"
#include "drivers/store.h"
#include "server/command_table.h"
#include "server/commands/arguments.h"
#include "server/commands/glob.h"
#include "server/commands/store_ops.h"
#include "server/commands/value_logic.h"

namespace arvel::server {

namespace {

using drivers::Entry;
using drivers::KeyUpdate;
using drivers::Space;

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();

// ---- DEL, UNLINK, EXISTS, TOUCH, TYPE

// DEL and UNLINK (the store reclaims memory itself, so both delete at once).
void Del(CommandContext& ctx) {
  ExecuteAndReply(ctx, drivers::op::Delete{Space::kData, UniqueKeys(ctx.args().subspan(1))},
                  ReplyInteger);
}

// EXISTS and TOUCH: how many of the keys exist, a key named twice counting twice.
void Exists(CommandContext& ctx) {
  ReadAndReply(ctx, Space::kData, ctx.args().subspan(1),
               [](protocol::ReplyWriter& writer, std::span<const Entry* const> entries) {
                 writer.Integer(std::count_if(entries.begin(), entries.end(),
                                              [](const Entry* entry) { return entry != nullptr; }));
               });
}

// ---- RENAME, RENAMENX, COPY

void RenameKey(CommandContext& ctx, bool if_absent) {
  drivers::op::Rename rename{std::string(ctx.arg(1)), std::string(ctx.arg(2)), if_absent};
  ExecuteAndReply(ctx, std::move(rename), if_absent ? ReplyApplied : ReplyOk);
}
void Rename(CommandContext& ctx) { RenameKey(ctx, false); }
void RenameNx(CommandContext& ctx) { RenameKey(ctx, true); }

// COPY's DB argument: the daemon has database 0 only (SELECT's rule).
void CheckCopyDb(ArgumentParser& args) {
  std::string_view text = args.Next();
  std::optional<int64_t> db = ParseInt64(text);
  if (!db) return args.Fail(errors::kNotInteger);
  if (*db < std::numeric_limits<int32_t>::min() || *db > std::numeric_limits<int32_t>::max()) {
    return args.Fail(errors::kNotInt32);
  }
  if (*db != 0) args.Fail(errors::kDbIndex);
}

void Copy(CommandContext& ctx) {
  ArgumentParser args(ctx.args(), 3);
  bool replace = false;
  while (args.ok() && args.HasNext()) {
    if (args.Flag("REPLACE")) {
      replace = true;
    } else if (args.remaining() >= 2 && args.Flag("DB")) {
      CheckCopyDb(args);
    } else {
      args.Fail(errors::kSyntax);
    }
  }
  if (!args.Finish(ctx)) return;
  if (ctx.arg(1) == ctx.arg(2)) return ctx.reply().Error(errors::kSameObject);
  ExecuteAndReply(ctx, drivers::op::Copy{std::string(ctx.arg(1)), std::string(ctx.arg(2)), replace},
                  ReplyApplied);
}

void Type(CommandContext& ctx) {
  ReadAndReply(ctx, Space::kData, ctx.arg(1),
               [](protocol::ReplyWriter& writer, std::span<const Entry* const> entries) {
                 writer.Simple(entries[0] ? "string" : "none");
               });
}

// ---- EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT, PERSIST

// Parses the options after the time. Returns the error text, empty when they are fine.
std::string ParseExpireCondition(std::span<const std::string_view> options,
                                 drivers::op::Expire& out) {
  for (std::string_view option : options) {
    if (EqualsIgnoreCase(option, "NX")) {
      out.nx = true;
    } else if (EqualsIgnoreCase(option, "XX")) {
      out.xx = true;
    } else if (EqualsIgnoreCase(option, "GT")) {
      out.gt = true;
    } else if (EqualsIgnoreCase(option, "LT")) {
      out.lt = true;
    } else {
      return errors::UnsupportedOption(option);
    }
  }
  if (out.nx && (out.xx || out.gt || out.lt)) return std::string(errors::kExpireNxConflict);
  if (out.gt && out.lt) return std::string(errors::kExpireGtLtConflict);
  return {};
}

// The time argument in ms. Unlike SET's, any integer goes (a past time deletes the key), but
// not one whose ms value, plus now when `relative`, overflows.
Result<int64_t> ParseExpireTime(std::string_view text, ExpiryUnit unit, bool relative,
                                std::string_view command) {
  std::optional<int64_t> when = ParseInt64(text);
  if (!when) return Status::Error(std::string(errors::kNotInteger));
  if (unit == ExpiryUnit::kSeconds) {
    if (*when > kMax / 1000 || *when < kMin / 1000) {
      return Status::Error(errors::InvalidExpire(command));
    }
    *when *= 1000;
  }
  if (relative && *when > kMax - drivers::NowMs()) {
    return Status::Error(errors::InvalidExpire(command));
  }
  return *when;
}

void ExpireKey(CommandContext& ctx, ExpiryUnit unit, bool relative) {
  drivers::op::Expire expire;
  std::string error = ParseExpireCondition(ctx.args().subspan(3), expire);
  if (!error.empty()) return ctx.reply().Error(error);
  Result<int64_t> when = ParseExpireTime(ctx.arg(2), unit, relative, ctx.spec().name);
  if (!when.ok()) return ctx.reply().Error(when.status().message());
  expire.key = std::string(ctx.arg(1));
  // A time already past deletes the key, as Redis does.
  expire.expiry = relative ? ExpiryChange::In(*when) : ExpiryChange::At(*when);
  ExecuteAndReply(ctx, std::move(expire),
                  [](protocol::ReplyWriter& writer, const drivers::OpResult& result) {
                    writer.Integer(result.applied ? 1 : 0);
                  });
}

void Expire(CommandContext& ctx) { ExpireKey(ctx, ExpiryUnit::kSeconds, true); }
void PExpire(CommandContext& ctx) { ExpireKey(ctx, ExpiryUnit::kMilliseconds, true); }
void ExpireAt(CommandContext& ctx) { ExpireKey(ctx, ExpiryUnit::kSeconds, false); }
void PExpireAt(CommandContext& ctx) { ExpireKey(ctx, ExpiryUnit::kMilliseconds, false); }

void Persist(CommandContext& ctx) {
  drivers::op::Expire expire;
  expire.key = std::string(ctx.arg(1));
  expire.expiry = ExpiryChange::Never();
  expire.xx = true;  // only a key with an expiry changes
  ExecuteAndReply(ctx, std::move(expire), ReplyApplied);
}

// ---- TTL, PTTL, EXPIRETIME, PEXPIRETIME

enum class ExpiryReport : uint8_t { kTtlSeconds, kTtlMs, kAtSeconds, kAtMs };

// What the TTL family replies for `entry`: -2 when missing, -1 without expiry. TTL rounds to
// the nearest second, as Redis does.
int64_t ReportExpiry(const Entry* entry, ExpiryReport report, int64_t now_ms) {
  if (!entry) return -2;
  int64_t at = entry->expire_at_ms;
  if (at == 0) return -1;
  int64_t ttl = std::max<int64_t>(at - now_ms, 0);
  switch (report) {
    case ExpiryReport::kTtlSeconds:
      return (ttl + 500) / 1000;
    case ExpiryReport::kTtlMs:
      return ttl;
    case ExpiryReport::kAtSeconds:
      return at / 1000;
    case ExpiryReport::kAtMs:
      return at;
  }
  return -1;
}

void ReplyExpiry(CommandContext& ctx, ExpiryReport report) {
  ReadEntriesAndReply(
      ctx, Space::kData, ctx.arg(1),
      [report, store = &ctx.store()](protocol::ReplyWriter& writer,
                                     std::span<const Entry* const> entries) {
        writer.Integer(ReportExpiry(entries[0], report, store->now_ms()));
      });
}

void Ttl(CommandContext& ctx) { ReplyExpiry(ctx, ExpiryReport::kTtlSeconds); }
void PTtl(CommandContext& ctx) { ReplyExpiry(ctx, ExpiryReport::kTtlMs); }
void ExpireTime(CommandContext& ctx) { ReplyExpiry(ctx, ExpiryReport::kAtSeconds); }
void PExpireTime(CommandContext& ctx) { ReplyExpiry(ctx, ExpiryReport::kAtMs); }

// ---- KEYS

constexpr size_t kKeysBatch = 1024;

struct KeysWalk {
  drivers::Store* store = nullptr;
  std::string pattern;
  PendingReply pending;
  uint64_t cursor = 0;
  absl::flat_hash_set<std::string> matches;  // a set: Scan may return a key twice
  bool stepping = false;                     // Step's loop is running
  bool batch_done = false;                   // a batch completed inside Step's loop
};

void Step(const std::shared_ptr<KeysWalk>& walk);

void OnKeysBatch(const std::shared_ptr<KeysWalk>& walk, const Status& status, uint64_t next,
                 std::vector<std::string> batch) {
  if (!status.ok()) {
    return FinishWith(walk->pending, status, [](protocol::ReplyWriter&) {});  // the error
  }
  for (std::string& key : batch) {
    if (GlobMatch(walk->pattern, key)) walk->matches.insert(std::move(key));
  }
  walk->cursor = next;
  if (next == 0) {
    return FinishWith(walk->pending, status, [&](protocol::ReplyWriter& writer) {
      writer.ArrayHeader(walk->matches.size());
      for (const std::string& key : walk->matches) writer.Bulk(key);
    });
  }
  if (walk->stepping) {
    walk->batch_done = true;
  } else {
    Step(walk);
  }
}

// Asks for batches until one completes later or the walk ends.
void Step(const std::shared_ptr<KeysWalk>& walk) {
  walk->stepping = true;
  do {
    walk->batch_done = false;
    // The client left: stop, and do not touch its store (a FAKE store went with it).
    if (!walk->pending.alive()) break;
    walk->store->Scan(walk->cursor, kKeysBatch,
                      [walk](const Status& status, uint64_t next, std::vector<std::string> keys) {
                        OnKeysBatch(walk, status, next, std::move(keys));
                      });
  } while (walk->batch_done);
  walk->stepping = false;
}

void Keys(CommandContext& ctx) {
  auto walk = std::make_shared<KeysWalk>();
  walk->store = &ctx.store();
  walk->pattern = std::string(ctx.arg(1));
  walk->pending = ctx.Suspend();
  Step(walk);
}

// ---- SCAN

struct ScanRequest {
  uint64_t cursor = 0;
  int64_t count = 10;
  std::optional<std::string> pattern;  // none: every key
  bool strings = true;                 // TYPE, if given, is "string"
};

// Redis reads the cursor with strtoull: no leading space, nothing after the digits, in range.
bool ParseCursor(std::string_view text, uint64_t& cursor) {
  std::string copy(text);
  if (!copy.empty() && std::isspace(static_cast<unsigned char>(copy[0]))) return false;
  errno = 0;
  char* end = nullptr;
  cursor = std::strtoull(copy.c_str(), &end, 10);
  return *end == '\0' && errno != ERANGE;
}

// Parses MATCH COUNT TYPE. Returns the error text, empty when they are fine.
std::string ParseScanOptions(std::span<const std::string_view> args, ScanRequest& out) {
  for (size_t i = 0; i < args.size(); i += 2) {
    if (i + 1 == args.size()) return std::string(errors::kSyntax);
    std::string_view option = args[i];
    std::string_view value = args[i + 1];
    if (EqualsIgnoreCase(option, "COUNT")) {
      std::optional<int64_t> count = ParseInt64(value);
      if (!count) return std::string(errors::kNotInteger);
      if (*count < 1) return std::string(errors::kSyntax);
      out.count = *count;
    } else if (EqualsIgnoreCase(option, "MATCH")) {
      out.pattern = value == "*" ? std::nullopt : std::optional<std::string>(value);
    } else if (EqualsIgnoreCase(option, "TYPE")) {
      out.strings = EqualsIgnoreCase(value, "string");
    } else {
      return std::string(errors::kSyntax);
    }
  }
  return {};
}

void WriteScanReply(protocol::ReplyWriter& writer, uint64_t cursor,
                    const std::vector<std::string>& keys) {
  writer.ArrayHeader(2);
  writer.Bulk(std::to_string(cursor));
  writer.ArrayHeader(keys.size());
  for (const std::string& key : keys) writer.Bulk(key);
}

void Scan(CommandContext& ctx) {
  ScanRequest request;
  if (!ParseCursor(ctx.arg(1), request.cursor)) return ctx.reply().Error(errors::kInvalidCursor);
  std::string error = ParseScanOptions(ctx.args().subspan(2), request);
  if (!error.empty()) return ctx.reply().Error(error);
  // Every key here is a string: another TYPE ends the iteration at once, with nothing.
  if (!request.strings) return WriteScanReply(ctx.reply(), 0, {});
  ctx.store().Scan(
      request.cursor, static_cast<size_t>(request.count),
      [pending = ctx.Suspend(), pattern = std::move(request.pattern)](
          const Status& status, uint64_t next, std::vector<std::string> keys) mutable {
        // Like Redis, MATCH filters what the step fetched, so a page may be empty.
        if (pattern) {
          std::erase_if(keys, [&](const std::string& k) { return !GlobMatch(*pattern, k); });
        }
        FinishWith(pending, status,
                   [&](protocol::ReplyWriter& writer) { WriteScanReply(writer, next, keys); });
      });
}

// ---- RANDOMKEY, DBSIZE, FLUSHDB, FLUSHALL

void RandomKey(CommandContext& ctx) {
  ctx.store().RandomKey(
      [pending = ctx.Suspend()](const Status& status, std::optional<std::string> key) mutable {
        FinishWith(pending, status, [&](protocol::ReplyWriter& writer) {
          if (key) {
            writer.Bulk(*key);
          } else {
            writer.Null();
          }
        });
      });
}

void DbSize(CommandContext& ctx) {
  ctx.store().Count([pending = ctx.Suspend()](const Status& status, int64_t count) mutable {
    FinishWith(pending, status, [&](protocol::ReplyWriter& writer) { writer.Integer(count); });
  });
}

// FLUSHDB and FLUSHALL [ASYNC | SYNC]: both empty the connection's current store only; the mode
// makes no difference (the store reclaims memory as it sees fit).
void FlushDb(CommandContext& ctx) {
  bool mode_ok = ctx.argc() == 1 || (ctx.argc() == 2 && (EqualsIgnoreCase(ctx.arg(1), "ASYNC") ||
                                                         EqualsIgnoreCase(ctx.arg(1), "SYNC")));
  if (!mode_ok) return ctx.reply().Error(errors::kSyntax);
  FlushAndReply(ctx);
}

}  // namespace

void RegisterKeyCommands(CommandTable& table) {
  constexpr uint32_t kRead = kReadOnly | kFast;
  constexpr uint32_t kWriteFast = kWrite | kFast;
  table.Register(
      {"del", -2, kWrite, 1, -1, 1, Del, "generic", "Deletes one or more keys.", "key [key ...]"});
  table.Register({"unlink", -2, kWriteFast, 1, -1, 1, Del, "generic", "Deletes one or more keys.",
                  "key [key ...]"});
  table.Register({"exists", -2, kRead | kNoTouch, 1, -1, 1, Exists, "generic",
                  "Counts how many of the keys exist.", "key [key ...]"});
  table.Register({"touch", -2, kRead, 1, -1, 1, Exists, "generic",
                  "Counts how many of the keys exist, marking them as used.", "key [key ...]"});
  table.Register({"rename", 3, kWrite, 1, 2, 1, Rename, "generic",
                  "Renames a key, overwriting the destination.", "key newkey"});
  table.Register({"renamenx", 3, kWriteFast, 1, 2, 1, RenameNx, "generic",
                  "Renames a key only when the new name does not exist.", "key newkey"});
  table.Register({"copy", -3, kWrite, 1, 2, 1, Copy, "generic",
                  "Copies the value of a key to a new key.",
                  "source destination [DB destination-db] [REPLACE]"});
  table.Register({"type", 2, kRead | kNoTouch, 1, 1, 1, Type, "generic",
                  "Returns the type of the value of a key: string or none.", "key"});
  table.Register({"expire", -3, kWriteFast, 1, 1, 1, Expire, "generic",
                  "Sets the expiry of a key in seconds from now.",
                  "key seconds [NX | XX | GT | LT]"});
  table.Register({"pexpire", -3, kWriteFast, 1, 1, 1, PExpire, "generic",
                  "Sets the expiry of a key in milliseconds from now.",
                  "key milliseconds [NX | XX | GT | LT]"});
  table.Register({"expireat", -3, kWriteFast, 1, 1, 1, ExpireAt, "generic",
                  "Sets the expiry of a key to a Unix time in seconds.",
                  "key unix-time-seconds [NX | XX | GT | LT]"});
  table.Register({"pexpireat", -3, kWriteFast, 1, 1, 1, PExpireAt, "generic",
                  "Sets the expiry of a key to a Unix time in milliseconds.",
                  "key unix-time-milliseconds [NX | XX | GT | LT]"});
  table.Register({"persist", 2, kWriteFast, 1, 1, 1, Persist, "generic",
                  "Removes the expiry of a key.", "key"});
  table.Register({"ttl", 2, kRead | kNoTouch, 1, 1, 1, Ttl, "generic",
                  "Returns the seconds a key has left (-1 no expiry, -2 missing).", "key"});
  table.Register({"pttl", 2, kRead | kNoTouch, 1, 1, 1, PTtl, "generic",
                  "Returns the milliseconds a key has left (-1 no expiry, -2 missing).", "key"});
  table.Register({"expiretime", 2, kRead | kNoTouch, 1, 1, 1, ExpireTime, "generic",
                  "Returns the Unix time in seconds at which a key expires.", "key"});
  table.Register({"pexpiretime", 2, kRead | kNoTouch, 1, 1, 1, PExpireTime, "generic",
                  "Returns the Unix time in milliseconds at which a key expires.", "key"});
  table.Register({"keys", 2, kReadOnly, 0, 0, 0, Keys, "generic",
                  "Returns every key matching a glob pattern.", "pattern"});
  table.Register({"scan", -2, kReadOnly, 0, 0, 0, Scan, "generic",
                  "Iterates over the keys with a cursor.",
                  "cursor [MATCH pattern] [COUNT count] [TYPE type]"});
  table.Register(
      {"randomkey", 1, kReadOnly, 0, 0, 0, RandomKey, "generic", "Returns a random key.", ""});
  table.Register({"dbsize", 1, kRead, 0, 0, 0, DbSize, "server",
                  "Returns the number of keys in the current store.", ""});
  table.Register({"flushdb", -1, kWrite, 0, 0, 0, FlushDb, "server",
                  "Removes every key of the current store.", "[ASYNC | SYNC]"});
  table.Register({"flushall", -1, kWrite | kAdmin, 0, 0, 0, FlushDb, "server",
                  "Removes every key of the current store.", "[ASYNC | SYNC]"});
}

}  // namespace arvel::server
