#include "server/commands/arguments.h"

#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>

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

}  // namespace arvel::server
