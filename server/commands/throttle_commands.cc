// THROTTLE ATTEMPT | HIT | DECREMENT | ATTEMPTS | REMAINING | TOOMANY | AVAILABLEIN | CLEAR | HELP
// and CL.THROTTLE (SPEC §4, Rate limiting): Laravel's RateLimiter (a fixed window starting at the
// first hit) and redis-cell's GCRA, in Space::kThrottle of the connection's current store. Each
// command is one atomic decision over one record (drivers/rate_limiter.h), so counting is
// exact across clients on every driver.
//
// Choices where Laravel, redis-cell or the spec leave room:
// - max_attempts, amount, max_burst and quantity are integers >= 0; decay, count and period are
//   integers > 0 (seconds for decay and period). Anything else is an error before the store is
//   touched.
// - Queries (ATTEMPTS, REMAINING, TOOMANY, AVAILABLEIN) are decisions that change nothing, so
//   they judge the window by the same clock as the writes.
// - The null store keeps nothing and never limits, as Laravel's RateLimiter over a NullStore:
//   ATTEMPT :1, HIT, DECREMENT and ATTEMPTS :0, REMAINING max_attempts, TOOMANY :0, AVAILABLEIN :0,
//   CLEAR :0. CL.THROTTLE on it finds a full bucket every time.

#include <cstdint>
#include <functional>
#include <iterator>
#include <limits>
#include <span>
#include <string>
#include <string_view>

#include "common/errors.h"
#include "drivers/rate_limiter.h"
#include "drivers/store.h"
#include "server/command_table.h"
#include "server/commands/arguments.h"
#include "server/commands/store_ops.h"
#include "server/commands/subcommands.h"

namespace arvel::server {

namespace {

using drivers::FixedWindowLimiter;
using drivers::Space;

// Seconds whose milliseconds still fit in int64.
constexpr int64_t kMaxSeconds = std::numeric_limits<int64_t>::max() / 1000;

bool IsNullStore(const drivers::Store& store) { return store.capabilities().keeps_nothing; }

// The next argument as an integer >= 0 ("ERR <name> must be a non-negative integer").
int64_t NonNegative(ArgumentParser& args, std::string_view name) {
  const int64_t value = args.Integer();
  if (args.ok() && value < 0) {
    args.Fail("ERR " + std::string(name) + " must be a non-negative integer");
  }
  return value;
}

// The next argument as seconds > 0, returned in milliseconds.
int64_t PositiveSeconds(ArgumentParser& args, std::string_view name) {
  const int64_t seconds = args.Integer();
  if (!args.ok()) return 0;
  if (seconds <= 0) {
    args.Fail("ERR " + std::string(name) + " must be a positive integer");
  } else if (seconds > kMaxSeconds) {
    args.Fail(errors::kNotInteger);  // its milliseconds do not fit
  }
  return args.ok() ? seconds * 1000 : 0;
}

// Replies with `answer(record, now)` for the fixed window of `key` as it is now (a read).
void ReadWindow(CommandContext& ctx, std::string_view key,
                std::function<int64_t(const drivers::Entry* record, int64_t now_ms)> answer) {
  ReadEntriesAndReply(ctx, Space::kThrottle, drivers::FixedWindowKey(key),
                      [answer = std::move(answer), store = &ctx.store()](
                          protocol::ReplyWriter& writer,
                          std::span<const drivers::Entry* const> entries) {
                        writer.Integer(answer(entries[0], store->now_ms()));
                      });
}

void Attempt(CommandContext& ctx, ArgumentParser& args) {
  const std::string_view key = args.Next();
  const int64_t max_attempts = NonNegative(args, "max_attempts");
  const int64_t decay_ms = PositiveSeconds(args, "decay");
  if (!args.Finish(ctx)) return;
  if (IsNullStore(ctx.store())) return ctx.reply().Integer(1);
  drivers::op::WindowHit hit{drivers::FixedWindowKey(key), decay_ms};
  hit.max_attempts = max_attempts;
  ExecuteAndReply(ctx, std::move(hit), ReplyApplied);
}

void Hit(CommandContext& ctx, ArgumentParser& args) {
  const std::string_view key = args.Next();
  const int64_t decay_ms = PositiveSeconds(args, "decay");
  const int64_t amount = args.HasNext() ? NonNegative(args, "amount") : 1;
  if (!args.Finish(ctx)) return;
  if (IsNullStore(ctx.store())) return ctx.reply().Integer(0);
  ExecuteAndReply(ctx, drivers::op::WindowHit{drivers::FixedWindowKey(key), decay_ms, amount},
                  ReplyInteger);
}

// Laravel's RateLimiter::decrement: gives attempts back to a window that exists.
void Decrement(CommandContext& ctx, ArgumentParser& args) {
  const std::string_view key = args.Next();
  const int64_t amount = args.HasNext() ? NonNegative(args, "amount") : 1;
  if (!args.Finish(ctx)) return;
  if (IsNullStore(ctx.store())) return ctx.reply().Integer(0);
  drivers::op::WindowHit give_back{drivers::FixedWindowKey(key)};
  give_back.amount = amount;
  give_back.give_back = true;
  ExecuteAndReply(ctx, std::move(give_back), ReplyInteger);
}

void Attempts(CommandContext& ctx, ArgumentParser& args) {
  const std::string_view key = args.Next();
  if (!args.Finish(ctx)) return;
  if (IsNullStore(ctx.store())) return ctx.reply().Integer(0);
  ReadWindow(ctx, key, [](const drivers::Entry* record, int64_t) {
    return FixedWindowLimiter::Attempts(record);
  });
}

void Remaining(CommandContext& ctx, ArgumentParser& args) {
  const std::string_view key = args.Next();
  const int64_t max_attempts = NonNegative(args, "max_attempts");
  if (!args.Finish(ctx)) return;
  if (IsNullStore(ctx.store())) return ctx.reply().Integer(max_attempts);
  ReadWindow(ctx, key, [max_attempts](const drivers::Entry* record, int64_t) {
    return FixedWindowLimiter::Remaining(record, max_attempts);
  });
}

void TooMany(CommandContext& ctx, ArgumentParser& args) {
  const std::string_view key = args.Next();
  const int64_t max_attempts = NonNegative(args, "max_attempts");
  if (!args.Finish(ctx)) return;
  if (IsNullStore(ctx.store())) return ctx.reply().Integer(0);
  ReadWindow(ctx, key, [max_attempts](const drivers::Entry* record, int64_t) {
    return FixedWindowLimiter::TooManyAttempts(record, max_attempts) ? 1 : 0;
  });
}

void AvailableIn(CommandContext& ctx, ArgumentParser& args) {
  const std::string_view key = args.Next();
  if (!args.Finish(ctx)) return;
  if (IsNullStore(ctx.store())) return ctx.reply().Integer(0);
  ReadWindow(ctx, key, [](const drivers::Entry* record, int64_t now_ms) {
    return FixedWindowLimiter::AvailableIn(record, now_ms);
  });
}

void Clear(CommandContext& ctx, ArgumentParser& args) {
  const std::string_view key = args.Next();
  if (!args.Finish(ctx)) return;
  if (IsNullStore(ctx.store())) return ctx.reply().Integer(0);
  ExecuteAndReply(ctx, drivers::op::Delete{Space::kThrottle, {drivers::FixedWindowKey(key)}},
                  ReplyInteger);
}

void Help(CommandContext& ctx, ArgumentParser&) {
  static constexpr std::string_view kLines[] = {
      "THROTTLE <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
      "ATTEMPT <key> <max_attempts> <decay>",
      "    Count one attempt unless max_attempts were made in the window: 1, else 0.",
      "HIT <key> <decay> [<amount>]",
      "    Count amount attempts (default 1): the attempts in the window afterwards.",
      "DECREMENT <key> [<amount>]",
      "    Give amount attempts (default 1) back to the window: the attempts left (never below 0).",
      "ATTEMPTS <key>",
      "    The attempts in the window.",
      "REMAINING <key> <max_attempts>",
      "    Attempts left in the window (never below 0).",
      "TOOMANY <key> <max_attempts>",
      "    1 if max_attempts were made in the window, else 0.",
      "AVAILABLEIN <key>",
      "    Seconds until the window resets (0 when there is none).",
      "CLEAR <key>",
      "    Forget the window: 1 if there was one, else 0.",
      "The window starts at the first hit and lasts decay seconds.",
  };
  ReplyHelp(ctx, kLines);
}

using ThrottleSubcommand = Subcommand<void (*)(CommandContext&, ArgumentParser&)>;
constexpr ThrottleSubcommand kSubcommands[] = {
    {"attempt", 5, 5, Attempt},   {"hit", 4, 5, Hit},
    {"attempts", 3, 3, Attempts}, {"remaining", 4, 4, Remaining},
    {"toomany", 4, 4, TooMany},   {"availablein", 3, 3, AvailableIn},
    {"clear", 3, 3, Clear},       {"decrement", 3, 4, Decrement},
    {"help", 2, 2, Help},
};

void Throttle(CommandContext& ctx) {
  const ThrottleSubcommand* sub = FindSubcommand(ctx, kSubcommands, ctx.arg(1), "throttle");
  if (sub == nullptr) return;
  ArgumentParser args(ctx.args(), 2);
  sub->run(ctx, args);
}

// CL.THROTTLE key max_burst count period [quantity]
void CellThrottle(CommandContext& ctx) {
  if (ctx.argc() > 6) return ctx.reply().Error(errors::WrongArity(ctx.spec().name));
  ArgumentParser args(ctx.args(), 1);
  const std::string_view key = args.Next();
  const int64_t max_burst = args.Integer();
  const int64_t count = args.Integer();
  const int64_t period = args.Integer();
  const int64_t quantity = args.HasNext() ? args.Integer() : 1;
  if (!args.Finish(ctx)) return;
  Result<drivers::Gcra> gcra = drivers::Gcra::Make(max_burst, count, period, quantity);
  if (!gcra.ok()) return ctx.reply().Error(gcra.status().message());
  ExecuteAndReply(
      ctx, drivers::op::CellThrottle{drivers::GcraKey(key), max_burst, count, period, quantity},
      [](protocol::ReplyWriter& writer, const drivers::OpResult& result) {
        writer.ArrayHeader(result.integers.size());
        for (int64_t v : result.integers) writer.Integer(v);
      });
}

}  // namespace

void RegisterThrottleCommands(CommandTable& table) {
  table.Register(
      {"throttle", -2, kWrite | kFast, 0, 0, 0, Throttle, "cache",
       "Rate limiting with a fixed window that starts at the first hit (Laravel's "
       "RateLimiter).",
       "ATTEMPT key max_attempts decay | HIT key decay [amount] | DECREMENT key [amount] | "
       "ATTEMPTS key | "
       "REMAINING key max_attempts | TOOMANY key max_attempts | AVAILABLEIN key | "
       "CLEAR key | HELP"});
  table.Register({"cl.throttle", -5, kWrite | kFast, 1, 1, 1, CellThrottle, "cache",
                  "Rate limiting with GCRA, compatible with redis-cell: [limited, limit, "
                  "remaining, retry_after, reset_after].",
                  "key max_burst count period [quantity]"});
}

}  // namespace arvel::server
