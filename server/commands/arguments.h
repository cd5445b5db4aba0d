#pragma once
// Argument parsing for handlers, with a latched error: read every argument, check once at the end.
//
//   ArgumentParser args(ctx.args(), 2);
//   int64_t ttl = args.Integer();
//   bool nx = args.Flag("NX");
//   if (!args.Finish(ctx)) return;   // replies with the first error and returns false

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "common/numbers.h"

namespace arvel::server {

class CommandContext;

using arvel::EqualsIgnoreCase;
using arvel::ParseInt64;
using arvel::ParseLongDouble;

class ArgumentParser {
 public:
  ArgumentParser(std::span<const std::string_view> args, size_t first) : args_(args), pos_(first) {}

  bool HasNext() const { return pos_ < args_.size(); }
  size_t position() const { return pos_; }
  size_t remaining() const { return args_.size() - pos_; }

  // The next argument; a syntax error (latched) if there is none.
  std::string_view Next();
  // The next argument as an integer; kNotInteger latched on failure.
  int64_t Integer();
  // If the next argument equals `token` (any case), consumes it and returns true.
  bool Flag(std::string_view token);
  // The next argument without consuming it ("" at the end).
  std::string_view Peek() const { return HasNext() ? args_[pos_] : std::string_view(); }

  // Latches `message` (the full RESP error text) unless an error is already latched.
  void Fail(std::string_view message);
  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }

  // Fails with a syntax error if arguments are left over; then, on error, replies with it.
  // Returns true when the handler may go on.
  bool Finish(CommandContext& ctx);

 private:
  std::span<const std::string_view> args_;
  size_t pos_;
  std::string error_;
};

// Seconds arguments of the lock family (LOCK, FUNNEL), as milliseconds. A ttl: whole seconds
// >= 0 (0 = held until released), InvalidExpire(command) latched otherwise. A BLOCK timeout:
// seconds >= 0, decimals allowed (as BLPOP's), rounded up; Redis's errors latched otherwise.
int64_t TtlMs(ArgumentParser& args, std::string_view command);
int64_t TimeoutMs(ArgumentParser& args);

}  // namespace arvel::server
