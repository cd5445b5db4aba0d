#include "server/commands/arguments.h"

#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>

#include "common/errors.h"
#include "server/command.h"

namespace arvel::server {

std::optional<int64_t> ParseInt64(std::string_view s) {
  if (s.empty() || s.size() > 20) return std::nullopt;
  size_t digits = s[0] == '-' ? 1 : 0;
  if (digits == s.size()) return std::nullopt;
  if (s[digits] == '0' && s.size() > digits + 1) return std::nullopt;  // leading zero
  if (s == "-0") return std::nullopt;
  int64_t value = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return value;
}

std::optional<long double> ParseLongDouble(std::string_view s) {
  if (s.empty() || s.size() > 5 * 1024) return std::nullopt;
  if (std::isspace(static_cast<unsigned char>(s.front())) ||
      std::isspace(static_cast<unsigned char>(s.back()))) {
    return std::nullopt;
  }
  std::string text(s);  // strtold needs a terminator
  char* end = nullptr;
  errno = 0;
  long double value = std::strtold(text.c_str(), &end);
  if (end != text.c_str() + text.size() || std::isnan(value)) return std::nullopt;
  if (errno == ERANGE && !std::isinf(value)) return std::nullopt;
  return value;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

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
