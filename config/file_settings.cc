// Reading cache.toml with toml11. toml11 reports problems by throwing, recurses once per nested
// array or inline table (and walks dotted keys with deep recursion), slows down quadratically on
// long lines and misreads invalid UTF-8 inside strings, so this file is the boundary: the input
// is screened for size, line length, encoding and nesting first, every exception is caught, and
// what comes out is a FileSettings or a one-line Status.

#include <algorithm>
#include <charconv>
#include <map>
#include <optional>
#include <sstream>
#include <toml.hpp>
#include <utility>
#include <vector>

#include "config/file_settings.h"
#include "config/values.h"

namespace arvel::config {
namespace {

using TomlValue = toml::basic_value<toml::discard_comments, std::map, std::vector>;
using TomlTable = TomlValue::table_type;

// Deep enough for any sensible file, shallow enough that toml11's recursion stays far from the
// stack limit even under AddressSanitizer.
constexpr int kMaxNesting = 64;
// Dotted keys ("a.b.c = 1") nest tables too; a key cannot span lines, so a per-line count of the
// dots outside strings and comments bounds that depth.
constexpr int kMaxDotsPerLine = 64;
// toml11 rescans the current line for every value it reads, so time grows with the square of a
// line's length; lines of a real cache.toml are well under 100 bytes.
constexpr size_t kMaxLineBytes = 4096;

// The 1-based number of the first line longer than kMaxLineBytes, or 0.
uint32_t FirstLongLine(std::string_view text) {
  uint32_t line = 1;
  for (size_t start = 0; start < text.size(); ++line) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    if (end - start > kMaxLineBytes) return line;
    start = end + 1;
  }
  return 0;
}

// Finds the first line nesting deeper than the limits, following TOML's lexical rules for
// strings and comments so that brackets inside them do not count. Returns 0 if there is none.
class NestingScanner {
 public:
  explicit NestingScanner(std::string_view text) : text_(text) {}

  uint32_t FirstTooDeepLine() {
    while (pos_ < text_.size()) {
      if (!Step()) return line_;
    }
    return 0;
  }

 private:
  enum class State { kCode, kComment, kBasic, kLiteral, kMultiBasic, kMultiLiteral };

  // Consumes one character (or a whole delimiter); false when a limit is exceeded.
  bool Step() {
    char c = text_[pos_];
    if (c == '\n') {
      NewLine();
      return true;
    }
    switch (state_) {
      case State::kCode:
        return StepCode(c);
      case State::kComment:
        break;
      case State::kBasic:
        if (c == '\\') SkipEscaped();
        if (c == '"') state_ = State::kCode;
        break;
      case State::kLiteral:
        if (c == '\'') state_ = State::kCode;
        break;
      case State::kMultiBasic:
        if (c == '\\') SkipEscaped();
        if (AtTriple('"')) return CloseMultiLine('"');
        break;
      case State::kMultiLiteral:
        if (AtTriple('\'')) return CloseMultiLine('\'');
        break;
    }
    ++pos_;
    return true;
  }

  bool StepCode(char c) {
    if (c == '#') {
      state_ = State::kComment;
    } else if (c == '"' || c == '\'') {
      return OpenString(c);
    } else if (c == '[' || c == '{') {
      if (++depth_ > kMaxNesting) return false;
    } else if (c == ']' || c == '}') {
      depth_ = std::max(0, depth_ - 1);
    } else if (c == '.') {
      if (++dots_ > kMaxDotsPerLine) return false;
    }
    ++pos_;
    return true;
  }

  bool OpenString(char quote) {
    bool multi = AtTriple(quote);
    if (quote == '"') state_ = multi ? State::kMultiBasic : State::kBasic;
    if (quote == '\'') state_ = multi ? State::kMultiLiteral : State::kLiteral;
    pos_ += multi ? 3 : 1;
    return true;
  }

  // A multi-line string ends at the last quote of the run (TOML allows up to two quotes
  // right before the closing delimiter). Ending late is the safe side: no brackets hide there.
  bool CloseMultiLine(char quote) {
    while (pos_ < text_.size() && text_[pos_] == quote) ++pos_;
    state_ = State::kCode;
    return true;
  }

  // Skips the character after a backslash, so \" does not end the string; a newline there is
  // still counted as a line.
  void SkipEscaped() {
    if (pos_ + 1 < text_.size() && text_[pos_ + 1] != '\n') ++pos_;
  }

  bool AtTriple(char quote) const {
    return pos_ + 2 < text_.size() && text_[pos_] == quote && text_[pos_ + 1] == quote &&
           text_[pos_ + 2] == quote;
  }

  void NewLine() {
    ++line_;
    dots_ = 0;
    ++pos_;
    // Single-line strings and comments end at the newline (an unterminated string is a
    // syntax error toml11 reports; nothing after it is parsed).
    if (state_ == State::kComment || state_ == State::kBasic || state_ == State::kLiteral) {
      state_ = State::kCode;
    }
  }

  std::string_view text_;
  size_t pos_ = 0;
  uint32_t line_ = 1;
  int depth_ = 0;
  int dots_ = 0;
  State state_ = State::kCode;
};

// Length of the well-formed UTF-8 sequence at the start of `text` (Unicode table 3-7: no overlong
// forms, no surrogates, nothing past U+10FFFF), or 0 if it is not one.
size_t Utf8SequenceLength(std::string_view text) {
  auto byte = [&text](size_t i) { return static_cast<unsigned char>(text[i]); };
  auto continuation = [&](size_t i, unsigned char low = 0x80, unsigned char high = 0xBF) {
    return i < text.size() && byte(i) >= low && byte(i) <= high;
  };
  unsigned char lead = byte(0);
  if (lead <= 0x7F) return 1;
  if (lead >= 0xC2 && lead <= 0xDF) return continuation(1) ? 2 : 0;
  if (lead >= 0xE0 && lead <= 0xEF) {
    unsigned char low = lead == 0xE0 ? 0xA0 : 0x80;
    unsigned char high = lead == 0xED ? 0x9F : 0xBF;
    return continuation(1, low, high) && continuation(2) ? 3 : 0;
  }
  if (lead >= 0xF0 && lead <= 0xF4) {
    unsigned char low = lead == 0xF0 ? 0x90 : 0x80;
    unsigned char high = lead == 0xF4 ? 0x8F : 0xBF;
    return continuation(1, low, high) && continuation(2) && continuation(3) ? 4 : 0;
  }
  return 0;
}

// TOML files must be UTF-8, and toml11 3.7's own handling of bad UTF-8 inside strings reads out
// of bounds (it rewinds a copy of the string with an iterator into the whole file), so invalid
// bytes are refused here first. Returns the 1-based line of the first bad byte, or 0.
uint32_t FirstInvalidUtf8Line(std::string_view text) {
  uint32_t line = 1;
  for (size_t pos = 0; pos < text.size();) {
    size_t length = Utf8SequenceLength(text.substr(pos));
    if (length == 0) return line;
    if (text[pos] == '\n') ++line;
    pos += length;
  }
  return 0;
}

// toml11's messages are several lines: "[error] toml::parse_x: what\n --> file\n 3 | text\n
// | ^--- note". Keep "what" and the line of the last excerpt shown, which is where it failed.
std::string CondenseSyntaxError(std::string_view file_name, const std::string& what,
                                uint32_t fallback_line) {
  std::istringstream lines(what);
  std::string first;
  std::getline(lines, first);
  std::string_view message = first;
  if (message.starts_with("[error] ")) message.remove_prefix(8);
  if (message.starts_with("toml::")) {
    size_t colon = message.find(": ");
    message.remove_prefix(colon == std::string_view::npos ? message.size() : colon + 2);
  }
  uint32_t line = fallback_line;
  std::string note;
  for (std::string text; std::getline(lines, text);) {
    size_t bar = text.find(" | ");
    uint32_t number = 0;
    size_t start = text.find_first_not_of(' ');
    if (bar != std::string::npos && start < bar &&
        std::from_chars(text.data() + start, text.data() + bar, number).ptr == text.data() + bar) {
      line = number;
    }
    size_t marker = text.find("^--- ");
    if (marker != std::string::npos) note = text.substr(marker + 5);
  }
  while (!message.empty() && message.back() == ' ') message.remove_suffix(1);
  std::string reason = message.empty() ? note : std::string(message);
  if (reason.empty()) reason = "invalid TOML";
  return std::string(file_name) + ":" + std::to_string(line) + ": " + Printable(reason);
}

class Reader {
 public:
  explicit Reader(std::string_view file_name) : file_name_(file_name) {}

  Result<FileSettings> Read(const TomlValue& root) {
    for (const auto& [key, value] : root.as_table()) ReadRootKey(key, value);
    if (error_) return Status::Error(error_->second);
    std::stable_sort(settings_.stores.begin(), settings_.stores.end(),
                     [](const StoreTable& a, const StoreTable& b) { return a.line < b.line; });
    return std::move(settings_);
  }

 private:
  void ReadRootKey(const std::string& key, const TomlValue& value) {
    if (key == "server") {
      if (!ExpectTable("server", value)) return;
      for (const auto& [name, item] : value.as_table()) {
        ReadKey(Section::kServer, "server." + name, name, item, settings_.server);
      }
    } else if (key == "stores") {
      if (!ExpectTable("stores", value)) return;
      for (const auto& [name, item] : value.as_table()) ReadStore(name, item);
    } else {
      ReadKey(Section::kTop, key, key, value, settings_.top);
    }
  }

  void ReadStore(const std::string& name, const TomlValue& value) {
    std::string path = "stores." + name;
    if (!ExpectTable(path, value)) return;
    uint32_t line = value.location().line();
    if (name.empty()) return Fail(line, "stores: a store name must not be empty");
    StoreTable store{.name = name, .line = line, .origin = Origin(line)};
    const TomlTable& table = value.as_table();
    auto driver = table.find("driver");
    if (driver == table.end()) {
      Fail(line, Printable(path) + ": missing required key 'driver'");
    } else {
      ReadKey(Section::kStore, path + ".driver", "driver", driver->second, store.values);
    }
    auto driver_value = store.values.find("driver");
    std::string driver_name = driver_value == store.values.end()
                                  ? ""
                                  : std::get<std::string>(driver_value->second.value);
    for (const auto& [key, item] : table) {
      if (key == "driver") continue;
      if (!driver_name.empty() && !DriverTakes(driver_name, key)) {
        Fail(item.location().line(), Printable(path + "." + key) + ": the " + driver_name +
                                         " driver takes no such key (it takes " +
                                         KeysOf(driver_name) + ")");
        continue;
      }
      ReadKey(Section::kStore, path + "." + key, key, item, store.values);
    }
    settings_.stores.push_back(std::move(store));
  }

  // Checks one key against its option and records it in `into`.
  void ReadKey(Section section, const std::string& path, const std::string& key,
               const TomlValue& value, std::map<std::string, FileValue>& into) {
    uint32_t line = value.location().line();
    const Option* option = FindOption(section, key);
    if (option == nullptr) return Fail(line, "unknown key '" + Printable(path) + "'");
    Result<Value> checked = CheckValue(*option, Raw(value));
    if (!checked.ok()) return Fail(line, Printable(path) + ": " + checked.status().message());
    into[key] = FileValue{.value = std::move(*checked), .origin = Origin(line)};
  }

  bool ExpectTable(const std::string& path, const TomlValue& value) {
    if (value.is_table()) return true;
    Fail(value.location().line(), Printable(path) + ": expected a table, got " + Raw(value).shown);
    return false;
  }

  static bool DriverTakes(std::string_view driver, std::string_view key) {
    const Option* option = FindOption(Section::kStore, key);
    return option == nullptr || option->driver.empty() || option->driver == driver;
  }

  static std::string KeysOf(std::string_view driver) {
    std::string keys;
    for (const Option& option : Options()) {
      if (option.section != Section::kStore || !DriverTakes(driver, option.key)) continue;
      if (!keys.empty()) keys += ", ";
      keys += option.key;
    }
    return keys;
  }

  // The value as a RawValue, quoting it as the file wrote it.
  static RawValue Raw(const TomlValue& value) {
    RawValue raw;
    if (value.is_string()) {
      raw.data = value.as_string().str;
      raw.shown = Quote(value.as_string().str);
    } else if (value.is_table()) {
      raw.shown = "a table";
    } else if (value.is_array()) {
      raw.shown = "an array";
    } else {
      raw.shown = SourceText(value);
      if (value.is_integer() && !Overflowed(value.as_integer(), raw.shown)) {
        raw.data = value.as_integer();
      }
    }
    return raw;
  }

  // The text of a scalar as written in the file (toml11 keeps the line and the column).
  static std::string SourceText(const TomlValue& value) {
    toml::source_location location = value.location();
    const std::string& line = location.line_str();
    size_t start = location.column() - 1;
    if (start >= line.size()) return "a " + toml::stringize(value.type());
    return Printable(std::string_view(line).substr(start, location.region()));
  }

  // toml11 reads integers with operator>>, which saturates on overflow; tell a written
  // 9223372036854775807 from a saturated 99999999999999999999.
  static bool Overflowed(int64_t value, std::string token) {
    if (value != INT64_MAX && value != INT64_MIN) return false;
    token.erase(std::remove(token.begin(), token.end(), '_'), token.end());
    if (!token.empty() && token[0] == '+') token.erase(0, 1);
    return token != std::to_string(value);
  }

  std::string Origin(uint32_t line) const { return file_name_ + ":" + std::to_string(line); }

  // Keeps the error earliest in the file, so the message does not depend on key order.
  void Fail(uint32_t line, std::string message) {
    if (error_ && error_->first <= line) return;
    error_.emplace(line, Origin(line) + ": " + std::move(message));
  }

  std::string file_name_;
  FileSettings settings_;
  std::optional<std::pair<uint32_t, std::string>> error_;
};

Result<TomlValue> ParseToml(std::string_view text, const std::string& file_name) {
  std::istringstream stream{std::string(text)};
  try {
    return toml::parse<toml::discard_comments, std::map, std::vector>(stream, file_name);
  } catch (const toml::exception& e) {
    return Status::Error(CondenseSyntaxError(file_name, e.what(), e.location().line()));
  } catch (const std::exception& e) {
    return Status::Error(file_name + ": invalid TOML: " + Printable(e.what()));
  }
}

}  // namespace

Result<FileSettings> ReadConfigText(std::string_view text, std::string_view file_name) {
  std::string name(file_name);
  if (text.size() > kMaxConfigBytes) {
    return Status::Error(name + ": larger than " + std::to_string(kMaxConfigBytes) + " bytes");
  }
  if (uint32_t line = FirstInvalidUtf8Line(text)) {
    return Status::Error(name + ":" + std::to_string(line) + ": not valid UTF-8");
  }
  if (uint32_t line = FirstLongLine(text)) {
    return Status::Error(name + ":" + std::to_string(line) + ": line longer than " +
                         std::to_string(kMaxLineBytes) + " bytes");
  }
  if (uint32_t line = NestingScanner(text).FirstTooDeepLine()) {
    return Status::Error(name + ":" + std::to_string(line) + ": nested more than " +
                         std::to_string(kMaxNesting) + " levels deep");
  }
  Result<TomlValue> root = ParseToml(text, name);
  if (!root.ok()) return root.status();
  try {
    return Reader(name).Read(*root);
  } catch (const std::exception& e) {  // toml11 accessors throw on misuse; report, never crash
    return Status::Error(name + ": " + Printable(e.what()));
  }
}

}  // namespace arvel::config
