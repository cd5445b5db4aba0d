#include "config/values.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <utility>

namespace arvel::config {
namespace {

constexpr size_t kMaxShown = 64;  // longer values are cut in messages

std::string Escape(std::string_view text, bool escape_quotes) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (i == kMaxShown) {
      out += "...";
      break;
    }
    auto c = static_cast<unsigned char>(text[i]);
    if (escape_quotes && (c == '"' || c == '\\')) {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7f) {
      char hex[8];
      std::snprintf(hex, sizeof(hex), "\\x%02x", c);
      out += hex;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

std::optional<int64_t> ParseInteger(std::string_view text) {
  int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::string ExpectedInteger(const Option& option) {
  if (option.max == kInt64Max)
    return "expected an integer of at least " + std::to_string(option.min);
  return "expected an integer from " + std::to_string(option.min) + " to " +
         std::to_string(option.max);
}

std::string ExpectedSize(const Option& option) {
  std::string examples = "(such as 1024 or \"64kb\")";
  if (option.min == 0) return "expected a non-negative byte size " + examples;
  return "expected a byte size " + examples + " of at least " + std::to_string(option.min);
}

// What the option wants, as the start of a problem message.
std::string Expected(const Option& option) {
  switch (option.kind) {
    case Kind::kString:
      return "expected a string";
    case Kind::kChoice:
      return "must be one of " + JoinNames(option.choices);
    case Kind::kInteger:
      return ExpectedInteger(option);
    case Kind::kByteSize:
      return ExpectedSize(option);
    case Kind::kBool:
      return "expected true or false";
  }
  return "invalid value";
}

Status Problem(const Option& option, const RawValue& raw) {
  // Choices list every accepted word; repeating the rejected one adds nothing.
  if (option.kind == Kind::kChoice) return Status::Error(Expected(option));
  return Status::Error(Expected(option) + ", got " + raw.shown);
}

// The raw value in the option's representation, before range and choice checks.
std::optional<Value> Convert(const Option& option, const RawValue& raw) {
  const auto* text = std::get_if<std::string>(&raw.data);
  const auto* number = std::get_if<int64_t>(&raw.data);
  switch (option.kind) {
    case Kind::kString:
    case Kind::kChoice:
      if (text) return Value(*text);
      return std::nullopt;
    case Kind::kInteger:
      if (number) return Value(*number);
      if (text && raw.is_text) {
        if (auto parsed = ParseInteger(*text)) return Value(*parsed);
      }
      return std::nullopt;
    case Kind::kBool:
      if (const auto* flag = std::get_if<bool>(&raw.data)) return Value(int64_t{*flag});
      if (text && raw.is_text) {
        std::string word = *text;
        for (char& c : word) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (word == "true" || word == "yes" || word == "on" || word == "1") return Value(int64_t{1});
        if (word == "false" || word == "no" || word == "off" || word == "0") return Value(int64_t{0});
      }
      return std::nullopt;
    case Kind::kByteSize:
      if (number) return Value(*number);
      if (text) {
        Result<uint64_t> size = ParseByteSize(*text);
        if (size.ok() && *size <= static_cast<uint64_t>(kInt64Max)) {
          return Value(static_cast<int64_t>(*size));
        }
      }
      return std::nullopt;
  }
  return std::nullopt;
}

Status CheckString(const Option& option, const std::string& text) {
  if (text.empty()) {
    if (option.allow_empty) return Status::Ok();
    return Status::Error("must not be empty");
  }
  if (option.kind == Kind::kChoice &&
      std::find(option.choices.begin(), option.choices.end(), text) == option.choices.end()) {
    return Status::Error(Expected(option));
  }
  if (option.check) return option.check(text);
  return Status::Ok();
}

}  // namespace

RawValue TextValue(std::string_view text) {
  return RawValue{.data = std::string(text), .shown = Quote(text), .is_text = true};
}

Result<Value> CheckValue(const Option& option, const RawValue& raw) {
  std::optional<Value> value = Convert(option, raw);
  if (!value) return Problem(option, raw);
  if (const auto* number = std::get_if<int64_t>(&*value)) {
    if (*number < option.min || *number > option.max) return Problem(option, raw);
    return *value;
  }
  Status status = CheckString(option, std::get<std::string>(*value));
  if (!status.ok()) return status;
  return *value;
}

Result<uint64_t> ParseByteSize(std::string_view text) {
  size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) {
    ++digits;
  }
  if (digits == 0) return Status::Error("invalid byte size " + Quote(text));
  uint64_t number = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + digits, number);
  if (ec != std::errc()) return Status::Error("byte size " + Quote(text) + " is too large");

  std::string unit(text.substr(digits));
  std::transform(unit.begin(), unit.end(), unit.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  // Redis's memtoull: a bare k/m/g is decimal, kb/mb/gb binary.
  static constexpr std::pair<std::string_view, uint64_t> kUnits[] = {
      {"", 1},        {"b", 1},           {"k", 1000},       {"kb", 1024},
      {"m", 1000000}, {"mb", 1ULL << 20}, {"g", 1000000000}, {"gb", 1ULL << 30},
  };
  for (const auto& [name, multiplier] : kUnits) {
    if (unit != name) continue;
    if (number > UINT64_MAX / multiplier) {
      return Status::Error("byte size " + Quote(text) + " is too large");
    }
    return number * multiplier;
  }
  return Status::Error("invalid byte size " + Quote(text));
}

std::string Quote(std::string_view text) { return "\"" + Escape(text, true) + "\""; }

std::string Printable(std::string_view text) { return Escape(text, false); }

}  // namespace arvel::config
