#include "drivers/redis_commands.h"

#include <charconv>
#include <cstdio>
#include <limits>

#include "common/errors.h"
#include "drivers/lock_logic.h"
#include "drivers/rate_limiter.h"

namespace arvel::drivers {

namespace {

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
// Redis refuses a relative expiry whose absolute time overflows; any expiry this far out is
// "as late as can be" (the executor saturates the same way), so it goes as PXAT INT64_MAX. The
// margin covers a Redis clock running ahead of ours.
constexpr int64_t kClockMarginMs = 86'400'000;

using Decode = std::function<Status(const redisReply&, OpResult&)>;

Status Unexpected(const redisReply& reply) {
  return Status::Error("ERR unexpected reply from redis (type " + std::to_string(reply.type) +
                       ")");
}

std::string_view Str(const redisReply& reply) { return {reply.str, reply.len}; }

bool IsString(const redisReply& reply) { return reply.type == REDIS_REPLY_STRING; }

std::optional<std::string> OptionalString(const redisReply& reply) {
  if (IsString(reply)) return std::string(Str(reply));
  return std::nullopt;
}

// ---- Expiries as (mode, ms) pairs, the scripts' convention (redis_scripts.cc).

struct ExpirySpec {
  std::string mode;  // "" none, PX, PXAT, KEEP, PAST
  std::string ms;
};

ExpirySpec Relative(int64_t ms, int64_t now_ms) {
  if (ms <= 0) return {"PAST", ""};
  if (ms >= kMax - now_ms - kClockMarginMs) return {"PXAT", std::to_string(kMax)};
  return {"PX", std::to_string(ms)};
}

// The expiry a write gives (op::Set, op::SetMany): PutOrErase's rules.
ExpirySpec ForWrite(const ExpiryChange& expiry, int64_t now_ms) {
  switch (expiry.mode) {
    case ExpiryChange::Mode::kNever:
      return {};
    case ExpiryChange::Mode::kKeep:
      return {"KEEP", ""};
    case ExpiryChange::Mode::kRelative:
      return Relative(expiry.ms, now_ms);
    case ExpiryChange::Mode::kAbsolute:
      if (expiry.ms == 0) return {};  // resolves to 0: no expiry
      if (expiry.ms < 0) return {"PAST", ""};
      return {"PXAT", std::to_string(expiry.ms)};
  }
  return {};
}

// A lock, lease or window TTL: 0 = no expiry (ExpiryAfter's rule).
ExpirySpec ForTtl(int64_t ttl_ms, int64_t now_ms) {
  if (ttl_ms == 0) return {};
  return Relative(ttl_ms, now_ms);
}

std::string Bit(bool b) { return b ? "1" : ""; }

std::vector<std::string> Upstream(const RedisKeys& keys, Space space,
                                  const std::vector<std::string>& names) {
  std::vector<std::string> out;
  out.reserve(names.size());
  for (const std::string& name : names) out.push_back(keys.Key(space, name));
  return out;
}

UpstreamCall Native(std::vector<std::string> argv, Decode decode) {
  return {std::move(argv), nullptr, std::move(decode)};
}

UpstreamCall Scripted(ScriptId id, std::vector<std::string> keys, std::vector<std::string> args,
                      Decode decode) {
  const RedisScript& script = Script(id);
  return {EvalShaArgv(script, std::move(keys), std::move(args)), &script, std::move(decode)};
}

// ---- Reply shapes

Status AppliedIfInteger(const redisReply& reply, OpResult& result) {
  if (reply.type != REDIS_REPLY_INTEGER) return Unexpected(reply);
  result.applied = reply.integer != 0;
  return Status::Ok();
}

// {applied, count}, each an integer or its text: THROTTLE's scripts.
Status AppliedAndInteger(const redisReply& reply, OpResult& result) {
  if (reply.type != REDIS_REPLY_ARRAY || reply.elements != 2) return Unexpected(reply);
  result.applied = ReplyInteger(*reply.element[0]).value_or(0) != 0;
  result.integer = ReplyInteger(*reply.element[1]).value_or(0);
  return Status::Ok();
}

Status CountIfInteger(const redisReply& reply, OpResult& result) {
  if (reply.type != REDIS_REPLY_INTEGER) return Unexpected(reply);
  result.integer = reply.integer;
  return Status::Ok();
}

Status AppliedUnlessNil(const redisReply& reply, OpResult& result) {
  result.applied = reply.type != REDIS_REPLY_NIL;
  return Status::Ok();
}

Status IntegerResult(const redisReply& reply, OpResult& result) {
  std::optional<int64_t> value = ReplyInteger(reply);
  if (!value) return Unexpected(reply);
  result.integer = *value;
  return Status::Ok();
}

Status ValueOrNil(const redisReply& reply, OpResult& result) {
  if (reply.type != REDIS_REPLY_NIL && !IsString(reply)) return Unexpected(reply);
  result.value = OptionalString(reply);
  return Status::Ok();
}

// {applied, value or nil}
Status AppliedAndValue(const redisReply& reply, OpResult& result) {
  if (reply.type != REDIS_REPLY_ARRAY || reply.elements != 2) return Unexpected(reply);
  result.applied = ReplyInteger(*reply.element[0]).value_or(0) != 0;
  result.value = OptionalString(*reply.element[1]);
  return Status::Ok();
}

// ---- One function per operation

UpstreamCall Translate(const op::Set& op, const RedisKeys& keys, int64_t now_ms) {
  ExpirySpec expiry = ForWrite(op.expiry, now_ms);
  std::string key = keys.Key(op.space, op.key);
  const op::Condition condition = op.condition;
  if (!op.prefix.empty() || expiry.mode == "PAST") {
    std::string cond = condition == op::Condition::kIfAbsent    ? "NX"
                       : condition == op::Condition::kIfPresent ? "XX"
                                                                : "";
    return Scripted(ScriptId::kSet, {std::move(key)},
                    {op.value, std::move(cond), Bit(op.return_old), op.prefix,
                     std::move(expiry.mode), std::move(expiry.ms)},
                    AppliedAndValue);
  }
  std::vector<std::string> argv = {"SET", std::move(key), op.value};
  if (expiry.mode == "KEEP") {
    argv.push_back("KEEPTTL");
  } else if (!expiry.mode.empty()) {
    argv.push_back(std::move(expiry.mode));
    argv.push_back(std::move(expiry.ms));
  }
  if (condition == op::Condition::kIfAbsent) argv.push_back("NX");
  if (condition == op::Condition::kIfPresent) argv.push_back("XX");
  if (!op.return_old) return Native(std::move(argv), AppliedUnlessNil);
  argv.push_back("GET");
  // SET … GET answers the old value whether or not the write applied; the condition tells which.
  return Native(std::move(argv), [condition](const redisReply& reply, OpResult& result) {
    Status status = ValueOrNil(reply, result);
    result.applied = condition == op::Condition::kAlways ||
                     (condition == op::Condition::kIfAbsent) != result.value.has_value();
    return status;
  });
}

UpstreamCall Translate(const op::SetMany& op, const RedisKeys& keys, int64_t now_ms) {
  ExpirySpec expiry = ForWrite(op.expiry, now_ms);
  std::vector<std::string> upstream = Upstream(keys, op.space, op.keys);
  if (op.prefix.empty() && expiry.mode.empty()) {
    std::vector<std::string> argv = {op.if_none_exist ? "MSETNX" : "MSET"};
    for (size_t i = 0; i < upstream.size(); ++i) {
      argv.push_back(std::move(upstream[i]));
      argv.push_back(op.values[i]);
    }
    if (op.if_none_exist) return Native(std::move(argv), AppliedIfInteger);
    return Native(std::move(argv), AppliedUnlessNil);
  }
  std::vector<std::string> args = {Bit(op.if_none_exist), op.prefix, std::move(expiry.mode),
                                   std::move(expiry.ms)};
  args.insert(args.end(), op.values.begin(), op.values.end());
  return Scripted(ScriptId::kSetMany, std::move(upstream), std::move(args), AppliedIfInteger);
}

UpstreamCall Translate(const op::Delete& op, const RedisKeys& keys, int64_t) {
  std::vector<std::string> upstream = Upstream(keys, op.space, op.keys);
  if (!op.prefix.empty()) {
    return Scripted(ScriptId::kDelete, std::move(upstream), {op.prefix}, CountIfInteger);
  }
  upstream.insert(upstream.begin(), "DEL");
  return Native(std::move(upstream), CountIfInteger);
}

UpstreamCall Translate(const op::Take& op, const RedisKeys& keys, int64_t) {
  std::string key = keys.Key(op.space, op.key);
  if (!op.prefix.empty()) {
    return Scripted(ScriptId::kTake, {std::move(key)}, {op.prefix}, ValueOrNil);
  }
  return Native({"GETDEL", std::move(key)}, ValueOrNil);
}

UpstreamCall Translate(const op::Increment& op, const RedisKeys& keys, int64_t) {
  std::string key = keys.Key(op.space, op.key);
  if (!op.prefix.empty()) {
    return Scripted(ScriptId::kIncrement, {std::move(key), keys.ScratchKey()},
                    {op.prefix, std::to_string(op.delta)}, IntegerResult);
  }
  // INCRBY keeps the key's TTL, and its error texts are ours (kNotInteger, kIncrOverflow).
  return Native({"INCRBY", std::move(key), std::to_string(op.delta)}, IntegerResult);
}

UpstreamCall Translate(const op::IncrementFloat& op, const RedisKeys& keys, int64_t) {
  // 21 significant digits print every long double so that strtold (Redis's parser) reads back
  // the very same value; INCRBYFLOAT then formats the sum exactly as FormatLongDouble does.
  char delta[64];
  std::snprintf(delta, sizeof(delta), "%.21Lg", op.delta);
  return Native({"INCRBYFLOAT", keys.Key(Space::kData, op.key), delta},
                [](const redisReply& reply, OpResult& result) {
                  if (!IsString(reply)) return Unexpected(reply);
                  result.value = std::string(Str(reply));
                  return Status::Ok();
                });
}

UpstreamCall Translate(const op::Append& op, const RedisKeys& keys, int64_t) {
  return Scripted(ScriptId::kAppend, {keys.Key(Space::kData, op.key)},
                  {op.suffix, std::to_string(op.max_size)}, IntegerResult);
}

UpstreamCall Translate(const op::SetRange& op, const RedisKeys& keys, int64_t) {
  return Native({"SETRANGE", keys.Key(Space::kData, op.key), std::to_string(op.offset), op.patch},
                IntegerResult);
}

UpstreamCall Translate(const op::SetBit& op, const RedisKeys& keys, int64_t) {
  return Native(
      {"SETBIT", keys.Key(Space::kData, op.key), std::to_string(op.offset), op.bit ? "1" : "0"},
      IntegerResult);
}

// Native RENAME keeps the expiry, answers "ERR no such key" and treats a rename onto itself as
// the executor does.
UpstreamCall Translate(const op::Rename& op, const RedisKeys& keys, int64_t) {
  std::vector<std::string> argv = {op.if_absent ? "RENAMENX" : "RENAME",
                                   keys.Key(Space::kData, op.from), keys.Key(Space::kData, op.to)};
  if (op.if_absent) return Native(std::move(argv), AppliedIfInteger);
  return Native(std::move(argv), AppliedUnlessNil);
}

UpstreamCall Translate(const op::Copy& op, const RedisKeys& keys, int64_t) {
  std::vector<std::string> argv = {"COPY", keys.Key(Space::kData, op.from),
                                   keys.Key(Space::kData, op.to)};
  if (op.replace) argv.push_back("REPLACE");
  return Native(std::move(argv), AppliedIfInteger);
}

std::vector<std::string> ExpireFlags(const op::Expire& op) {
  std::vector<std::string> flags;
  if (op.nx) flags.push_back("NX");
  if (op.xx) flags.push_back("XX");
  if (op.gt) flags.push_back("GT");
  if (op.lt) flags.push_back("LT");
  return flags;
}

UpstreamCall Translate(const op::Expire& op, const RedisKeys& keys, int64_t now_ms) {
  std::string key = keys.Key(op.space, op.key);
  std::vector<std::string> flags = ExpireFlags(op);
  const ExpiryChange::Mode mode = op.expiry.mode;
  // A timed expiry: PEXPIRE/PEXPIREAT, whose past-time and condition rules are the executor's.
  std::string command, ms;
  if (mode == ExpiryChange::Mode::kRelative) {
    const bool huge = op.expiry.ms >= kMax - now_ms - kClockMarginMs;
    command = huge ? "PEXPIREAT" : "PEXPIRE";
    ms = std::to_string(huge ? kMax : op.expiry.ms);
  } else if (mode == ExpiryChange::Mode::kAbsolute) {
    command = "PEXPIREAT";
    ms = std::to_string(op.expiry.ms);
  }
  const bool plain = op.prefix.empty() && !op.return_value;
  if (plain && !command.empty()) {
    std::vector<std::string> argv = {std::move(command), std::move(key), std::move(ms)};
    argv.insert(argv.end(), flags.begin(), flags.end());
    return Native(std::move(argv), AppliedIfInteger);
  }
  if (plain && mode == ExpiryChange::Mode::kNever && flags == std::vector<std::string>{"XX"}) {
    return Native({"PERSIST", std::move(key)}, AppliedIfInteger);
  }
  std::string script_mode = command == "PEXPIRE"     ? "PX"
                            : command == "PEXPIREAT" ? "PXAT"
                            : mode == ExpiryChange::Mode::kNever ? "NEVER"
                                                                 : "KEEP";
  std::vector<std::string> args = {op.prefix, Bit(op.return_value), std::move(script_mode),
                                   std::move(ms)};
  args.insert(args.end(), flags.begin(), flags.end());
  return Scripted(ScriptId::kExpire, {std::move(key)}, std::move(args), AppliedAndValue);
}

UpstreamCall Translate(const op::Acquire& op, const RedisKeys& keys, int64_t now_ms) {
  ExpirySpec ttl = ForTtl(op.ttl_ms, now_ms);
  return Scripted(
      ScriptId::kAcquire, {keys.Key(op.space, op.key), keys.Key(op.space, FenceKey(op.key))},
      {op.token, std::move(ttl.mode), std::move(ttl.ms)},
      [](const redisReply& reply, OpResult& result) {
        if (reply.type != REDIS_REPLY_ARRAY || reply.elements != 3) {
          return Unexpected(reply);
        }
        result.applied = ReplyInteger(*reply.element[0]).value_or(0) != 0;
        // PEXPIRETIME: -1 no expiry (0 here), -2 gone (cannot be: we just read it).
        result.expire_at_ms = std::max<int64_t>(0, ReplyInteger(*reply.element[1]).value_or(0));
        result.integer = ReplyInteger(*reply.element[2]).value_or(0);
        return Status::Ok();
      });
}

UpstreamCall Translate(const op::ReleaseIf& op, const RedisKeys& keys, int64_t) {
  return Scripted(ScriptId::kReleaseIf, {keys.Key(op.space, op.key)}, {op.token},
                  AppliedIfInteger);
}

UpstreamCall Translate(const op::ExtendIf& op, const RedisKeys& keys, int64_t now_ms) {
  ExpirySpec ttl = ForTtl(op.ttl_ms, now_ms);
  return Scripted(ScriptId::kExtendIf, {keys.Key(op.space, op.key)},
                  {op.token, std::move(ttl.mode), std::move(ttl.ms)}, AppliedIfInteger);
}

UpstreamCall Translate(const op::TakeLease& op, const RedisKeys& keys, int64_t now_ms) {
  ExpirySpec ttl = ForTtl(op.ttl_ms, now_ms);
  return Scripted(ScriptId::kTakeLease, {keys.Key(Space::kLease, op.key)},
                  {op.previous, op.token, std::move(ttl.mode), std::move(ttl.ms)},
                  AppliedIfInteger);
}

UpstreamCall Translate(const op::Funnel& op, const RedisKeys& keys, int64_t) {
  // Past 2^52 ms Lua's doubles would round the sum; such a slot is held as long as can be.
  constexpr int64_t kLongestExactMs = int64_t{1} << 52;
  std::string ttl = op.ttl_ms >= kLongestExactMs ? "-1" : std::to_string(op.ttl_ms);
  return Scripted(ScriptId::kFunnel, {keys.Key(Space::kLock, op.key)},
                  {op.token, op.release ? "" : std::to_string(op.limit), std::move(ttl)},
                  [](const redisReply& reply, OpResult& result) {
                    if (reply.type != REDIS_REPLY_ARRAY || reply.elements != 3) {
                      return Unexpected(reply);
                    }
                    result.applied = ReplyInteger(*reply.element[0]).value_or(0) != 0;
                    result.integer = ReplyInteger(*reply.element[1]).value_or(0);
                    result.expire_at_ms = ReplyInteger(*reply.element[2]).value_or(0);
                    return Status::Ok();
                  });
}

UpstreamCall Translate(const op::WindowHit& op, const RedisKeys& keys, int64_t now_ms) {
  if (op.give_back) {
    return Scripted(ScriptId::kWindowGiveBack, {keys.Key(Space::kThrottle, op.key)},
                    {std::to_string(op.amount)}, AppliedAndInteger);
  }
  ExpirySpec window = Relative(op.decay_ms, now_ms);
  if (window.mode == "PAST") window = {"PX", "1"};  // REQUIRES decay_ms > 0; never a refusal
  std::string max = op.max_attempts ? std::to_string(*op.max_attempts) : "";
  std::string amount = op.max_attempts ? "1" : std::to_string(op.amount);
  return Scripted(ScriptId::kWindowHit, {keys.Key(Space::kThrottle, op.key)},
                  {std::move(max), std::move(amount), std::move(window.mode),
                   std::move(window.ms)},
                  AppliedAndInteger);
}

// ---- CL.THROTTLE: the GCRA constants of Gcra::Make, computed again after Make validated the
// arguments (so nothing here can overflow), for the script's decision.

constexpr int64_t kNsPerMs = 1'000'000;
constexpr int64_t kMaxSpanNs = 2'000'000'000'000'000'000;  // rate_limiter.cc's bound

struct GcraConstants {
  int64_t tolerance_ns = 0;
  int64_t increment_ns = 0;
};

GcraConstants ConstantsOf(const op::CellThrottle& op) {
  const int64_t emission = op.period_s * 1'000'000'000 / op.count;
  const int64_t limit = op.max_burst + 1;
  GcraConstants c;
  c.tolerance_ns = emission * limit;
  c.increment_ns = op.quantity > limit ? c.tolerance_ns + 1 : emission * op.quantity;
  return c;
}

// ns as the script's (milliseconds, remainder) pair, floored: -1 ns = (-1, 999999).
std::pair<std::string, std::string> MsPair(int64_t ns) {
  int64_t ms = ns / kNsPerMs, rem = ns % kNsPerMs;
  if (rem < 0) {
    ms -= 1;
    rem += kNsPerMs;
  }
  return {std::to_string(ms), std::to_string(rem)};
}

// redis-cell's reply for a bucket whose TAT is `d_ns` ahead of now, by the very code the local
// executor runs: Gcra::Decide on a record placed d_ns after an arbitrary "now".
GcraReply ReplyFor(const Gcra& gcra, int64_t d_ns) {
  constexpr int64_t kNowMs = 1'000'000'000'000;
  Entry record{std::to_string(kNowMs * kNsPerMs + d_ns), 0};
  KeyUpdate update;
  update.current = &record;
  return gcra.Decide(update, kNowMs);
}

Result<UpstreamCall> Translate(const op::CellThrottle& op, const RedisKeys& keys, int64_t) {
  Result<Gcra> gcra = Gcra::Make(op.max_burst, op.count, op.period_s, op.quantity);
  if (!gcra.ok()) return gcra.status();
  const GcraConstants c = ConstantsOf(op);
  auto [threshold_ms, threshold_rem] = MsPair(c.tolerance_ns - c.increment_ns);
  auto [increment_ms, increment_rem] = MsPair(c.increment_ns);
  return Scripted(ScriptId::kGcra, {keys.Key(Space::kThrottle, op.key)},
                  {std::move(threshold_ms), std::move(threshold_rem), std::move(increment_ms),
                   std::move(increment_rem), std::to_string(kMaxSpanNs / kNsPerMs)},
                  [gcra = std::move(*gcra)](const redisReply& reply, OpResult& result) {
                    if (reply.type != REDIS_REPLY_ARRAY || reply.elements != 3) {
                      return Unexpected(reply);
                    }
                    const bool limited = ReplyInteger(*reply.element[0]).value_or(1) != 0;
                    const int64_t d_ns = ReplyInteger(*reply.element[1]).value_or(0) * kNsPerMs +
                                         ReplyInteger(*reply.element[2]).value_or(0);
                    GcraReply cell = ReplyFor(gcra, d_ns);
                    if (cell.limited != limited) {
                      return Status::Error("ERR the redis GCRA script disagrees with the rate "
                                           "limiter");
                    }
                    result.applied = !limited;
                    result.integers = {limited ? 1 : 0, cell.limit, cell.remaining,
                                       cell.retry_after, cell.reset_after};
                    return Status::Ok();
                  });
}

Status ValuesArray(const redisReply& reply, OpResult& result) {
  if (reply.type != REDIS_REPLY_ARRAY) return Unexpected(reply);
  for (size_t i = 0; i < reply.elements; ++i) {
    if (!IsString(*reply.element[i])) return Unexpected(*reply.element[i]);
    result.values.emplace_back(Str(*reply.element[i]));
  }
  return Status::Ok();
}

UpstreamCall Translate(const op::EnsureGenerations& op, const RedisKeys& keys, int64_t) {
  return Scripted(ScriptId::kEnsureGenerations, Upstream(keys, Space::kTagVersion, op.tags),
                  op.fresh, ValuesArray);
}

UpstreamCall Translate(const op::ReplaceGenerations& op, const RedisKeys& keys, int64_t) {
  std::vector<std::string> argv = {"MSET"};
  for (size_t i = 0; i < op.tags.size(); ++i) {
    argv.push_back(keys.Key(Space::kTagVersion, op.tags[i]));
    argv.push_back(op.fresh[i]);
  }
  return Native(std::move(argv), AppliedUnlessNil);
}

}  // namespace

std::vector<std::string> EvalShaArgv(const RedisScript& script, std::vector<std::string> keys,
                                     std::vector<std::string> args) {
  std::vector<std::string> argv;
  argv.reserve(3 + keys.size() + args.size());
  argv.push_back("EVALSHA");
  argv.push_back(script.sha1);
  argv.push_back(std::to_string(keys.size()));
  for (std::string& key : keys) argv.push_back(std::move(key));
  for (std::string& arg : args) argv.push_back(std::move(arg));
  return argv;
}

Result<UpstreamCall> TranslateOperation(const Operation& operation, const RedisKeys& keys,
                                        int64_t now_ms) {
  return std::visit(
      [&](const auto& op) -> Result<UpstreamCall> { return Translate(op, keys, now_ms); },
      operation);
}

bool MayHaveChanged(const Operation& operation, const OpResult& result) {
  if (std::holds_alternative<op::Delete>(operation)) return result.integer > 0;
  if (std::holds_alternative<op::Take>(operation)) return result.value.has_value();
  if (const auto* range = std::get_if<op::SetRange>(&operation)) return !range->patch.empty();
  if (const auto* rename = std::get_if<op::Rename>(&operation)) {
    return result.applied && rename->from != rename->to;
  }
  if (std::holds_alternative<op::Increment>(operation) ||
      std::holds_alternative<op::IncrementFloat>(operation) ||
      std::holds_alternative<op::Append>(operation) ||
      std::holds_alternative<op::SetBit>(operation) ||
      std::holds_alternative<op::EnsureGenerations>(operation) ||
      std::holds_alternative<op::ReplaceGenerations>(operation)) {
    return true;
  }
  if (const auto* cell = std::get_if<op::CellThrottle>(&operation)) {
    return result.applied && cell->quantity > 0;
  }
  return result.applied;
}

std::vector<std::string_view> KeysItMayChange(const Operation& operation) {
  if (const auto* copy = std::get_if<op::Copy>(&operation)) return {copy->to};
  return KeysOf(operation);
}

Status ErrorReplyStatus(std::string_view error, std::string_view store_name) {
  if (size_t script = error.find(" script: "); script != std::string_view::npos) {
    error = error.substr(0, script);
  }
  for (std::string_view state : {"LOADING", "BUSY", "READONLY", "MASTERDOWN", "NOAUTH",
                                 "WRONGPASS", "NOPERM", "CLUSTERDOWN", "TRYAGAIN"}) {
    if (error.starts_with(state)) return Status::Error(errors::StoreUnavailable(store_name, error));
  }
  return Status::Error(std::string(error));
}

std::optional<int64_t> ReplyInteger(const redisReply& reply) {
  if (reply.type == REDIS_REPLY_INTEGER) return reply.integer;
  if (reply.type != REDIS_REPLY_STRING || reply.len == 0) return std::nullopt;
  int64_t value = 0;
  const char* end = reply.str + reply.len;
  auto [ptr, ec] = std::from_chars(reply.str, end, value);
  if (ec == std::errc::result_out_of_range && ptr == end) {
    return reply.str[0] == '-' ? std::numeric_limits<int64_t>::min() : kMax;
  }
  if (ec != std::errc() || ptr != end) return std::nullopt;
  return value;
}

}  // namespace arvel::drivers
