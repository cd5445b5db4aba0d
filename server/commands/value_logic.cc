#include "server/commands/value_logic.h"

#include <cmath>
#include <cstdio>
#include <limits>
#include <memory>
#include <unordered_map>
#include <unordered_set>

#include "common/errors.h"
#include "config/config.h"
#include "server/commands/arguments.h"
#include "server/server.h"
#include "server/watch_registry.h"

namespace arvel::server {

using drivers::Entry;

namespace {
constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
}  // namespace

Result<ExpiryChange> ParsePositiveExpiry(std::string_view text, ExpiryUnit unit, bool absolute,
                                         std::string_view command) {
  std::optional<int64_t> amount = ParseInt64(text);
  if (!amount) return Status::Error(std::string(errors::kNotInteger));
  bool seconds = unit == ExpiryUnit::kSeconds;
  if (*amount <= 0 || (seconds && *amount > kMax / 1000)) {
    return Status::Error(errors::InvalidExpire(command));
  }
  int64_t ms = seconds ? *amount * 1000 : *amount;
  if (absolute) return ExpiryChange::At(ms);
  // Redis adds the time now here and refuses a sum that overflows; the decision adds the
  // store's time later, which is the same check give or take the request's latency.
  if (ms > kMax - drivers::NowMs()) return Status::Error(errors::InvalidExpire(command));
  return ExpiryChange::In(ms);
}

std::optional<int64_t> Negate(int64_t by) {
  if (by == kMin) return std::nullopt;
  return -by;
}

void WriteValueOr(protocol::ReplyWriter& writer, const Entry* entry,
                  const std::optional<std::string>& fallback) {
  if (entry) {
    writer.Bulk(entry->value);
  } else if (fallback) {
    writer.Bulk(*fallback);
  } else {
    writer.Null();
  }
}

std::optional<std::string> OptionalArg(const CommandContext& ctx, size_t index) {
  if (index >= ctx.argc()) return std::nullopt;
  return std::string(ctx.arg(index));
}

bool ArityAtMost(CommandContext& ctx, size_t max_argc) {
  if (ctx.argc() <= max_argc) return true;
  ctx.reply().Error(errors::WrongArity(ctx.spec().name));
  return false;
}

int64_t ParseLease(CommandContext& ctx, ArgumentParser& args) {
  // As the configuration allows at most (options.cc: remember_lease max).
  constexpr int64_t kMaxLeaseSeconds = 2147483647;
  int64_t seconds = ctx.server().config().server.remember_lease;
  if (args.Flag("LEASE")) {
    seconds = args.Integer();
    if (args.ok() && (seconds <= 0 || seconds > kMaxLeaseSeconds)) args.Fail(errors::kBadLease);
  }
  return seconds * 1000;
}

std::vector<std::string> UniqueKeys(std::span<const std::string_view> keys) {
  std::vector<std::string> unique;
  unique.reserve(keys.size());
  std::unordered_set<std::string_view> seen;
  for (std::string_view key : keys) {
    if (seen.insert(key).second) unique.emplace_back(key);
  }
  return unique;
}

KeyValues CollectPairs(std::span<const std::string_view> args, size_t first) {
  KeyValues pairs;
  std::unordered_map<std::string_view, size_t> index;
  for (size_t i = first; i + 1 < args.size(); i += 2) {
    auto [it, inserted] = index.emplace(args[i], pairs.keys.size());
    if (inserted) {
      pairs.keys.emplace_back(args[i]);
      pairs.values.emplace_back(args[i + 1]);
    } else {
      pairs.values[it->second] = std::string(args[i + 1]);
    }
  }
  return pairs;
}

void IncrementAndReply(CommandContext& ctx, std::string_view key, int64_t delta) {
  ExecuteAndReply(ctx, drivers::op::Increment{drivers::Space::kData, std::string(key), delta},
                  ReplyInteger);
}

bool ParseDelta(CommandContext& ctx, std::string_view text, bool negate, int64_t& delta) {
  std::optional<int64_t> amount = ParseInt64(text);
  if (!amount) {
    ctx.reply().Error(errors::kNotInteger);
    return false;
  }
  std::optional<int64_t> negated = negate ? Negate(*amount) : amount;
  if (!negated) {
    ctx.reply().Error(errors::kDecrOverflow);
    return false;
  }
  delta = *negated;
  return true;
}

void ReplyWithValues(CommandContext& ctx, std::span<const std::string_view> keys) {
  ReadAndReply(ctx, drivers::Space::kData, keys,
               [](protocol::ReplyWriter& writer, std::span<const Entry* const> entries) {
                 writer.ArrayHeader(entries.size());
                 for (const Entry* entry : entries) {
                   if (entry) {
                     writer.Bulk(entry->value);
                   } else {
                     writer.Null();
                   }
                 }
               });
}

void FlushAndReply(CommandContext& ctx) {
  drivers::Store* store = &ctx.store();
  WatchRegistry* watches = &ctx.server().watches();
  auto watched = std::make_shared<std::vector<std::string>>(watches->WatchedKeys(store));
  auto flush = [store, watches](PendingReply pending) {
    store->Flush([store, watches, pending](const Status& status) mutable {
      watches->EndFlush(store);
      FinishWith(pending, status, [](protocol::ReplyWriter& writer) { writer.Ok(); });
    });
  };
  if (watched->empty()) return flush(ctx.Suspend());
  // As in Redis, the flush dirties only WATCHes of keys that exist: look them up first.
  std::vector<std::string_view> keys(watched->begin(), watched->end());
  store->Read(drivers::Space::kData, keys,
              [watches, store, watched, flush, pending = ctx.Suspend()](
                  const Status& status, std::span<const drivers::Entry* const> entries) {
                std::vector<std::string> existing;
                for (size_t i = 0; i < watched->size(); ++i) {
                  // A failed lookup: every watched key counts as touched.
                  if (!status.ok() || entries[i] != nullptr) existing.push_back((*watched)[i]);
                }
                watches->BeginFlush(store, std::move(existing));
                flush(pending);
              });
}

namespace {
ExpiryChange DefaultExpiry(CommandContext& ctx) {
  const int64_t ttl = ctx.store().capabilities().default_put_ttl_s;
  return ttl > 0 ? ExpiryChange::InSeconds(ttl) : ExpiryChange::Never();
}
}  // namespace

bool ParseWriteExpiry(CommandContext& ctx, size_t index, std::optional<ExpiryChange>& expiry) {
  if (index >= ctx.argc()) {
    expiry = DefaultExpiry(ctx);
    return true;
  }
  std::optional<int64_t> ttl = ParseInt64(ctx.arg(index));
  if (!ttl) {
    ctx.reply().Error(errors::kNotInteger);
    return false;
  }
  expiry.reset();
  if (*ttl > 0) expiry = ExpiryChange::InSeconds(*ttl);
  return true;
}

}  // namespace arvel::server
