#include "server/commands/value_logic.h"

#include <cmath>
#include <cstdio>
#include <limits>
#include <unordered_map>
#include <unordered_set>

#include "common/errors.h"
#include "config/config.h"
#include "server/commands/arguments.h"
#include "server/server.h"

namespace arvel::server {

using drivers::Entry;
using drivers::KeyUpdate;

namespace {
constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
}  // namespace

ExpiryChange ExpiryChange::InSeconds(int64_t seconds) {
  if (seconds > kMax / 1000) return In(kMax);
  return In(seconds * 1000);
}

int64_t ExpiryChange::Resolve(const Entry* current, int64_t now_ms) const {
  switch (mode) {
    case Mode::kNever:
      return 0;
    case Mode::kRelative:
      return SaturatingAdd(now_ms, ms);
    case Mode::kAbsolute:
      return ms;
    case Mode::kKeep:
      return ExpiryOf(current);
  }
  return 0;
}

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

int64_t SaturatingAdd(int64_t a, int64_t b) {
  if (b > 0 && a > kMax - b) return kMax;
  if (b < 0 && a < kMin - b) return kMin;
  return a + b;
}

void PutOrErase(KeyUpdate& key, std::string value, int64_t expire_at, int64_t now_ms) {
  if (expire_at != 0 && expire_at <= now_ms) {
    if (key.current) key.Erase();
    return;
  }
  key.Put(std::move(value), expire_at);
}

void ExpireOrErase(KeyUpdate& key, int64_t expire_at, int64_t now_ms) {
  if (expire_at != 0 && expire_at <= now_ms) {
    key.Erase();
  } else if (expire_at != key.current->expire_at_ms) {
    key.Expire(expire_at);
  }
}

ReplyValue IncrementInteger(KeyUpdate& key, int64_t delta) {
  int64_t value = 0;
  if (key.current) {
    std::optional<int64_t> parsed = ParseInt64(key.current->value);
    if (!parsed) return ReplyValue::Error(errors::kNotInteger);
    value = *parsed;
  }
  if ((delta < 0 && value < 0 && delta < kMin - value) ||
      (delta > 0 && value > 0 && delta > kMax - value)) {
    return ReplyValue::Error(errors::kIncrOverflow);
  }
  value += delta;
  key.Put(std::to_string(value), ExpiryOf(key.current));
  return ReplyValue::Integer(value);
}

ReplyValue IncrementFloat(KeyUpdate& key, long double delta) {
  long double value = 0;
  if (key.current) {
    std::optional<long double> parsed = ParseLongDouble(key.current->value);
    if (!parsed) return ReplyValue::Error(errors::kNotFloat);
    value = *parsed;
  }
  value += delta;
  if (std::isnan(value) || std::isinf(value)) return ReplyValue::Error(errors::kIncrFloatNaN);
  std::string text = FormatLongDouble(value);
  key.Put(text, ExpiryOf(key.current));
  return ReplyValue::Bulk(std::move(text));
}

std::optional<int64_t> Negate(int64_t by) {
  if (by == kMin) return std::nullopt;
  return -by;
}

std::string FormatLongDouble(long double value) {
  // 17 digits after the point: with 80-bit long doubles, small decimals typed by a user come
  // back as typed once the trailing zeros go ("10.5" + "0.1" = "10.6"). The largest finite
  // long double needs about 4,950 characters.
  char buf[5 * 1024];
  int n = std::snprintf(buf, sizeof(buf), "%.17Lf", value);
  if (n <= 0 || static_cast<size_t>(n) >= sizeof(buf)) return "0";
  std::string_view text(buf, static_cast<size_t>(n));
  if (text.find('.') != std::string_view::npos) {
    while (text.back() == '0') text.remove_suffix(1);
    if (text.back() == '.') text.remove_suffix(1);
  }
  if (text == "-0") return "0";
  return std::string(text);
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

ReplyValue TakeValue(KeyUpdate& key, const std::optional<std::string>& fallback) {
  if (!key.current) return fallback ? ReplyValue::Bulk(*fallback) : ReplyValue::Null();
  key.Erase();
  return ReplyValue::Bulk(key.current->value);
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

std::vector<std::string_view> UniqueKeys(std::span<const std::string_view> keys) {
  std::vector<std::string_view> unique;
  unique.reserve(keys.size());
  std::unordered_set<std::string_view> seen;
  for (std::string_view key : keys) {
    if (seen.insert(key).second) unique.push_back(key);
  }
  return unique;
}

KeyValues CollectPairs(std::span<const std::string_view> args, size_t first) {
  KeyValues pairs;
  std::unordered_map<std::string_view, size_t> index;
  for (size_t i = first; i + 1 < args.size(); i += 2) {
    auto [it, inserted] = index.emplace(args[i], pairs.keys.size());
    if (inserted) {
      pairs.keys.push_back(args[i]);
      pairs.values.emplace_back(args[i + 1]);
    } else {
      pairs.values[it->second] = std::string(args[i + 1]);
    }
  }
  return pairs;
}

int64_t EraseExisting(std::span<KeyUpdate> keys) {
  int64_t erased = 0;
  for (KeyUpdate& key : keys) {
    if (!key.current) continue;
    key.Erase();
    ++erased;
  }
  return erased;
}

void PutAll(std::span<KeyUpdate> keys, std::vector<std::string>& values, const ExpiryChange& expiry,
            int64_t now_ms) {
  for (size_t i = 0; i < keys.size(); ++i) {
    PutOrErase(keys[i], std::move(values[i]), expiry.Resolve(keys[i].current, now_ms), now_ms);
  }
}

void IncrementAndReply(CommandContext& ctx, std::string_view key, int64_t delta) {
  UpdateAndReply(ctx, drivers::Space::kData, key, [delta](std::span<KeyUpdate> keys, int64_t) {
    return IncrementInteger(keys[0], delta);
  });
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
  ctx.store().Flush([pending = ctx.Suspend()](const Status& status) mutable {
    FinishWith(pending, status, [](protocol::ReplyWriter& writer) { writer.Ok(); });
  });
}

namespace {
ExpiryChange DefaultExpiry(CommandContext& ctx) {
  const drivers::Store& store = ctx.store();
  if (store.driver() != "redis") return ExpiryChange::Never();
  const config::StoreConfig* config = ctx.server().config().FindStore(store.name());
  if (config == nullptr || config->ttl <= 0) return ExpiryChange::Never();
  return ExpiryChange::InSeconds(config->ttl);
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
