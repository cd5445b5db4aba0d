#include "server/commands/arguments.h"

#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>

#include "common/errors.h"
#include "server/command.h"

namespace arvel::server {

std::string_view ArgumentParser::Next() {
  if (!HasNext()) {
    Fail(errors::kSyntax);
    return {};
  }
  return args_[pos_++];
}

int64_t ArgumentParser::Integer() {
  std::string_view arg = Next();
  if (!ok()) return 0;
  std::optional<int64_t> value = ParseInt64(arg);
  if (!value) {
    Fail(errors::kNotInteger);
    return 0;
  }
  return *value;
}

bool ArgumentParser::Flag(std::string_view token) {
  if (!HasNext() || !EqualsIgnoreCase(args_[pos_], token)) return false;
  ++pos_;
  return true;
}

void ArgumentParser::Fail(std::string_view message) {
  if (error_.empty()) error_ = std::string(message);
}

bool ArgumentParser::Finish(CommandContext& ctx) {
  if (HasNext()) Fail(errors::kSyntax);
  if (ok()) return true;
  ctx.reply().Error(error_);
  return false;
}

namespace {
// Seconds whose milliseconds still fit in int64.
constexpr int64_t kMaxSeconds = std::numeric_limits<int64_t>::max() / 1000;
}  // namespace

int64_t TtlMs(ArgumentParser& args, std::string_view command) {
  const int64_t ttl = args.Integer();
  if (args.ok() && (ttl < 0 || ttl > kMaxSeconds)) args.Fail(errors::InvalidExpire(command));
  return ttl * 1000;
}

int64_t TimeoutMs(ArgumentParser& args) {
  const std::string_view text = args.Next();
  if (!args.ok()) return 0;
  const std::optional<long double> seconds = ParseLongDouble(text);
  if (!seconds || std::isinf(*seconds) || *seconds > kMaxSeconds) {
    args.Fail(errors::kBadTimeout);
  } else if (*seconds < 0) {
    args.Fail(errors::kNegativeTimeout);
  } else {
    return static_cast<int64_t>(std::ceil(*seconds * 1000));
  }
  return 0;
}

}  // namespace arvel::server
