// Rendering the options table for people: the effective configuration (--check-config), the
// reference table for the docs, and the environment section of --help.

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <sstream>
#include <string>
#include <type_traits>
#include <variant>

#include "config/config.h"
#include "config/options.h"

namespace arvel::config {
namespace {

constexpr std::string_view kMasked = "********";
constexpr size_t kCommentColumn = 44;

// A TOML basic string, so that the output of Describe parses as cache.toml again.
std::string TomlString(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    auto byte = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (byte < 0x20 || byte == 0x7f) {
      char escaped[8];
      std::snprintf(escaped, sizeof(escaped), "\\u%04x", byte);
      out += escaped;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string TomlKey(std::string_view key) {
  bool bare = !key.empty();
  for (char c : key) {
    bare = bare && (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-');
  }
  return bare ? std::string(key) : TomlString(key);
}

// Replaces the password in "scheme://user:password@host/..." and in a "password=" query
// parameter (libpq accepts both) with asterisks. When unsure, masks more rather than less.
std::string MaskUrlPassword(std::string url) {
  size_t scheme = url.find("://");
  if (scheme == std::string::npos) return url;
  size_t authority = scheme + 3;
  size_t at = url.rfind('@');
  size_t colon = url.find(':', authority);
  if (at != std::string::npos && colon != std::string::npos && colon < at) {
    url.replace(colon + 1, at - colon - 1, kMasked);
  }
  for (size_t pos = url.find("password=", authority); pos != std::string::npos;
       pos = url.find("password=", pos + 1)) {
    size_t start = pos + 9;
    size_t end = url.find('&', start);
    url.replace(start, (end == std::string::npos ? url.size() : end) - start, kMasked);
  }
  return url;
}

std::string ShowValue(const Option& option, Field field) {
  if (const auto* text = std::get_if<std::string*>(&field)) {
    const std::string& value = **text;
    if (option.mask == Mask::kSecret && !value.empty()) return TomlString(kMasked);
    if (option.mask == Mask::kUrlPassword) return TomlString(MaskUrlPassword(value));
    return TomlString(value);
  }
  return std::visit(
      [](auto* value) -> std::string {
        if constexpr (std::is_same_v<decltype(value), std::string*>) {
          return *value;
        } else if constexpr (std::is_same_v<decltype(value), bool*>) {
          return *value ? "true" : "false";
        } else {
          return std::to_string(*value);
        }
      },
      field);
}

void Line(std::ostringstream& out, const std::string& assignment, const std::string& origin) {
  out << assignment;
  if (!origin.empty()) {
    size_t pad = assignment.size() < kCommentColumn ? kCommentColumn - assignment.size() : 1;
    out << std::string(pad, ' ') << "# " << origin;
  }
  out << '\n';
}

void DescribeOptions(std::ostringstream& out, Section section, Config& config, StoreConfig& store) {
  for (const Option& option : Options()) {
    if (option.section != section || option.key == "driver") continue;
    if (!option.driver.empty() && option.driver != store.driver) continue;
    auto origin = config.origins.find(option.Path(store.name));
    Line(out, std::string(option.key) + " = " + ShowValue(option, option.field(config, store)),
         origin == config.origins.end() ? "" : origin->second);
  }
}

std::string TypeText(const Option& option) {
  switch (option.kind) {
    case Kind::kString:
      return "string";
    case Kind::kChoice: {
      std::string out;
      for (std::string_view choice : option.choices) {
        out += (out.empty() ? "`" : " \\| `") + std::string(choice) + "`";
      }
      return out;
    }
    case Kind::kInteger:
      if (option.max == kInt64Max) return "integer ≥ " + std::to_string(option.min);
      return "integer " + std::to_string(option.min) + "–" + std::to_string(option.max);
    case Kind::kByteSize:
      return option.min == 0 ? "byte size" : "byte size ≥ " + std::to_string(option.min);
    case Kind::kBool:
      return "boolean";
  }
  return "";
}

std::string DefaultText(const Option& option) {
  if (!option.inherits.empty()) return "top-level `" + std::string(option.inherits) + "`";
  if (option.key == "driver") return "(required)";
  if (option.default_text.empty()) return "`\"\"`";
  return "`" + std::string(option.default_text) + "`";
}

std::string DescriptionText(const Option& option) {
  std::string out;
  if (!option.driver.empty()) out += std::string(option.driver) + ": ";
  out += option.description;
  if (!option.flag.empty()) out += " Flag: `" + std::string(option.flag) + "`.";
  if (option.mask == Mask::kSecret) out += " Masked in `--check-config`.";
  std::string escaped;
  for (char c : out) escaped += c == '|' ? std::string("\\|") : std::string(1, c);
  return escaped;
}

}  // namespace

std::string Describe(const Config& config) {
  Config copy = config;  // the table's field accessors hand out mutable pointers
  StoreConfig no_store;
  std::ostringstream out;
  out << "# Effective configuration: flags > "
      << (copy.source.empty() ? "(no config file)" : copy.source)
      << " > CACHE_* environment > defaults. Secrets are masked.\n";
  DescribeOptions(out, Section::kTop, copy, no_store);
  out << "\n[server]\n";
  DescribeOptions(out, Section::kServer, copy, no_store);
  for (StoreConfig& store : copy.stores) {
    std::string name = "stores." + store.name;
    auto origin = copy.origins.find(name);
    out << '\n';
    Line(out, "[stores." + TomlKey(store.name) + "]",
         origin == copy.origins.end() ? "" : origin->second);
    out << "driver = " << TomlString(store.driver) << '\n';
    DescribeOptions(out, Section::kStore, copy, store);
  }
  return out.str();
}

std::string ReferenceTable() {
  std::string out =
      "| Key | Type | Default | Environment | Description |\n"
      "|---|---|---|---|---|\n";
  for (const Option& option : Options()) {
    std::string env = option.env.empty() ? "" : "`" + std::string(option.env) + "`";
    out += "| `" + option.Path() + "` | " + TypeText(option) + " | " + DefaultText(option) + " | " +
           env + " | " + DescriptionText(option) + " |\n";
  }
  return out;
}

std::string EnvironmentHelp() {
  std::string out =
      "Environment (used where cache.toml does not set a key; flags override both):\n"
      "  CACHE_CONFIG              config file when --config is not given\n";
  for (const Option& option : Options()) {
    if (option.env.empty()) continue;
    std::string name(option.env);
    name.resize(std::max<size_t>(name.size() + 1, 26), ' ');
    std::string path =
        option.section == Section::kStore
            ? "stores.*." + std::string(option.key) + " (" + std::string(option.driver) + ")"
            : option.Path();
    out += "  " + name + path + "\n";
  }
  return out;
}

}  // namespace arvel::config
