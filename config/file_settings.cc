// Reading cache.toml with toml11. This file is the boundary around it: the input is screened
// first (config/input_limits.h), every exception toml11 throws is caught, and what comes out is a
// FileSettings or a one-line Status.

#include "config/file_settings.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <map>
#include <optional>
#include <sstream>
#include <toml.hpp>
#include <utility>
#include <vector>

#include "config/input_limits.h"
#include "config/values.h"

namespace arvel::config {
namespace {

using TomlValue = toml::basic_value<toml::discard_comments, std::map, std::vector>;
using TomlTable = TomlValue::table_type;

// The key a `key = value` line starts with, as written minus the blanks around dots
// ("a . 'b c'" gives "a.'b c'"); nullopt for any other line (a table header, a continuation).
std::optional<std::string> KeyOfLine(std::string_view line) {
  std::string key;
  char quote = 0;
  for (char c : line) {
    if (quote) {
      key += c;
      if (c == quote) quote = 0;
    } else if (c == '"' || c == '\'') {
      quote = c;
      key += c;
    } else if (c == '=') {
      if (key.empty() || key.back() == '.') return std::nullopt;
      return key;
    } else if (c == ' ' || c == '\t') {
      continue;
    } else if (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.') {
      key += c;
    } else {
      return std::nullopt;
    }
  }
  return std::nullopt;
}

// The name a table header line opens ("[stores.r]" gives "stores.r"); nullopt for other lines.
std::optional<std::string> TableOfLine(std::string_view line) {
  size_t start = line.find_first_not_of(" \t");
  if (start == std::string_view::npos || line[start] != '[') return std::nullopt;
  line.remove_prefix(start);
  const size_t brackets = line.starts_with("[[") ? 2 : 1;
  size_t end = line.find(']', brackets);
  if (end == std::string_view::npos) return std::nullopt;
  std::string name;
  for (char c : line.substr(brackets, end - brackets)) {
    if (c != ' ' && c != '\t') name += c;
  }
  return name;
}

// What a syntax error on line `number` (1-based) of `text` is about: "KEY: " when the line is a
// `key = value` line, "after KEY: " when it is not (a continuation of a multi-line value, stray
// text) and a key comes before it, both with the table around them ("server.port: "); "after
// [TABLE]: " when a table header comes first; "" for a table header line or when nothing comes
// before.
std::string KeyContext(std::string_view text, uint32_t number) {
  std::vector<std::string_view> lines;
  for (size_t start = 0; start <= text.size() && lines.size() < number;) {
    size_t end = std::min(text.find('\n', start), text.size());
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  auto is_header = [](std::string_view line) {
    size_t start = line.find_first_not_of(" \t");
    return start != std::string_view::npos && line[start] == '[';
  };
  if (number == 0 || lines.size() < number || is_header(lines[number - 1])) return "";
  std::optional<std::string> key;
  size_t at = number;
  while (at > 0 && !key) {
    --at;
    if (std::optional<std::string> table = TableOfLine(lines[at])) {
      return "after [" + Printable(*table) + "]: ";  // no key of this table before the error
    }
    key = KeyOfLine(lines[at]);
  }
  if (!key) return "";
  std::string table;
  for (size_t i = at; i-- > 0 && table.empty();) table = TableOfLine(lines[i]).value_or("");
  const std::string name = table.empty() ? *key : table + "." + *key;
  return (at + 1 == number ? "" : "after ") + Printable(name) + ": ";
}

// toml11's messages are several lines: "[error] toml::parse_x: what\n --> file\n 3 | text\n
// | ^--- note". Keep "what" and the line of the last excerpt shown, which is where it failed,
// and name the key the error is in or after (KeyContext).
std::string CondenseSyntaxError(std::string_view file_name, std::string_view text,
                                const std::string& what, uint32_t fallback_line) {
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
  return std::string(file_name) + ":" + std::to_string(line) + ": " + KeyContext(text, line) +
         Printable(reason);
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
    std::string driver_name =
        driver_value == store.values.end() ? "" : std::get<std::string>(driver_value->second.value);
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
    } else if (value.is_boolean()) {
      raw.data = value.as_boolean();
      raw.shown = value.as_boolean() ? "true" : "false";
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
    return Status::Error(CondenseSyntaxError(file_name, text, e.what(), e.location().line()));
  } catch (const std::exception& e) {
    return Status::Error(file_name + ": invalid TOML: " + Printable(e.what()));
  }
}

}  // namespace

Result<FileSettings> ReadConfigText(std::string_view text, std::string_view file_name) {
  std::string name(file_name);
  Status limits = CheckInputLimits(text, name);
  if (!limits.ok()) return limits;
  Result<TomlValue> root = ParseToml(text, name);
  if (!root.ok()) return root.status();
  try {
    return Reader(name).Read(*root);
  } catch (const std::exception& e) {  // toml11 accessors throw on misuse; report, never crash
    return Status::Error(name + ": " + Printable(e.what()));
  }
}

}  // namespace arvel::config
