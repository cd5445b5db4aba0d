// Merging the sources. For each option the first source that has it wins: flag, cache.toml,
// (for a store's prefix/ttl: the top-level value), CACHE_* environment, built-in default. Values
// from cache.toml were checked by the reader; flag and environment values are checked here, and
// only when they are the ones used, so a bad variable shadowed by the file does no harm.

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

#include "config/config.h"
#include "config/file_settings.h"
#include "config/input_limits.h"
#include "config/options.h"
#include "config/values.h"

extern char** environ;

namespace arvel::config {
namespace {

// A value chosen for an option, with where it came from.
struct Setting {
  Value value;
  std::string origin;   // for Describe: "flag --port", "cache.toml:7", "env CACHE_PORT", "default"
  std::string subject;  // for messages: "--port", "cache.toml:7: server.port", "CACHE_PORT"
};

std::optional<RawValue> FlagValue(const CommandLine& line, std::string_view flag) {
  auto text = [](const std::optional<std::string>& value) -> std::optional<RawValue> {
    if (!value) return std::nullopt;
    return RawValue{.data = *value, .shown = Quote(*value)};
  };
  if (flag == "--bind") return text(line.bind);
  if (flag == "--store") return text(line.store);
  if (flag == "--log-level") return text(line.log_level);
  if (flag == "--port" && line.port) {
    return RawValue{.data = int64_t{*line.port}, .shown = std::to_string(*line.port)};
  }
  return std::nullopt;
}

std::optional<std::string> EnvValue(const Option& option, const Environment& env) {
  if (option.env.empty()) return std::nullopt;
  auto found = env.find(std::string(option.env));
  if (found == env.end()) return std::nullopt;
  // Compose files often pass VAR=${UNSET}; treat that as unset unless "" means something.
  if (found->second.empty() && !option.allow_empty) return std::nullopt;
  return found->second;
}

Result<Setting> Checked(const Option& option, const RawValue& raw, std::string origin,
                        std::string subject) {
  Result<Value> value = CheckValue(option, raw);
  if (!value.ok()) return Status::Error(subject + ": " + value.status().message());
  return Setting{std::move(*value), std::move(origin), std::move(subject)};
}

class Resolver {
 public:
  Resolver(const CommandLine& line, const Environment& env) : line_(line), env_(env) {}

  // The winning value of `option`. `file` holds the keys of its table in cache.toml;
  // `path` names it in messages.
  Result<Setting> Resolve(const Option& option, const std::map<std::string, FileValue>& file,
                          const std::string& path) const {
    if (!option.flag.empty()) {
      if (std::optional<RawValue> raw = FlagValue(line_, option.flag)) {
        return Checked(option, *raw, "flag " + std::string(option.flag), std::string(option.flag));
      }
    }
    if (auto found = file.find(std::string(option.key)); found != file.end()) {
      const FileValue& value = found->second;
      return Setting{value.value, value.origin, value.origin + ": " + path};
    }
    if (!option.inherits.empty()) {
      auto top = inherited_.find(std::string(option.inherits));
      if (top != inherited_.end()) {
        return Setting{top->second, "top-level " + std::string(option.inherits), path};
      }
    }
    if (std::optional<std::string> text = EnvValue(option, env_)) {
      std::string name(option.env);
      return Checked(option, TextValue(*text), "env " + name, name);
    }
    return Checked(option, TextValue(option.default_text), "default", path + " (default)");
  }

  // Makes `value` the default of store options that inherit the top-level `key`.
  void Inherit(std::string_view key, const Value& value) { inherited_[std::string(key)] = value; }

 private:
  const CommandLine& line_;
  const Environment& env_;
  std::map<std::string, Value> inherited_;
};

void Store(const Value& value, Field field) {
  std::visit(
      [&value](auto* target) {
        using T = std::remove_pointer_t<decltype(target)>;
        if constexpr (std::is_same_v<T, std::string>) {
          *target = std::get<std::string>(value);
        } else {
          *target = static_cast<T>(std::get<int64_t>(value));  // range-checked by the table
        }
      },
      field);
}

// Resolves and stores every option of `section` that applies to `store` (or to the top level
// and [server], which have no store).
Status Apply(const Resolver& resolver, Section section,
             const std::map<std::string, FileValue>& file, Config& config, StoreConfig& store,
             std::optional<Setting>* default_store) {
  for (const Option& option : Options()) {
    if (option.section != section || option.key == "driver") continue;
    if (!option.driver.empty() && option.driver != store.driver) continue;
    std::string path = option.Path(store.name);
    Result<Setting> setting = resolver.Resolve(option, file, path);
    if (!setting.ok()) return setting.status();
    Store(setting->value, option.field(config, store));
    config.origins[path] = setting->origin;
    if (default_store && option.key == "default") *default_store = *setting;
  }
  return Status::Ok();
}

Status ApplyStores(const Resolver& resolver, const FileSettings& file, Config& config) {
  static const std::map<std::string, FileValue> kNoFile;
  for (const StoreTable& table : file.stores) {
    StoreConfig store;
    store.name = table.name;
    store.driver = std::get<std::string>(table.values.at("driver").value);
    config.origins["stores." + store.name] = table.origin;
    Status status = Apply(resolver, Section::kStore, table.values, config, store, nullptr);
    if (!status.ok()) return status;
    config.stores.push_back(std::move(store));
  }
  for (std::string_view driver : DriverNames()) {
    if (config.FindStore(driver) != nullptr) continue;
    StoreConfig store;
    store.name = driver;
    store.driver = driver;
    store.implicit = true;
    config.origins["stores." + store.name] = "implicit";
    Status status = Apply(resolver, Section::kStore, kNoFile, config, store, nullptr);
    if (!status.ok()) return status;
    config.stores.push_back(std::move(store));
  }
  return Status::Ok();
}

Status CheckDefaultStore(const Config& config, const Setting& setting) {
  if (config.FindStore(config.default_store) != nullptr) return Status::Ok();
  std::string names;
  for (const StoreConfig& store : config.stores) {
    names += (names.empty() ? "" : ", ") + Printable(store.name);
  }
  return Status::Error(setting.subject + ": no store named '" + Printable(config.default_store) +
                       "' (stores: " + names + ")");
}

// The file to read: --config, else $CACHE_CONFIG, else ./cache.toml if it exists.
struct ConfigFile {
  std::string path;
  std::string named_by;  // "--config" or "CACHE_CONFIG"; "" for ./cache.toml
};

std::optional<ConfigFile> ChooseFile(const CommandLine& line, const Environment& env) {
  if (line.config_path) return ConfigFile{*line.config_path, "--config"};
  auto found = env.find("CACHE_CONFIG");
  if (found != env.end() && !found->second.empty()) {
    return ConfigFile{found->second, "CACHE_CONFIG"};
  }
  std::error_code error;
  if (std::filesystem::exists("cache.toml", error)) return ConfigFile{"cache.toml", ""};
  return std::nullopt;
}

Result<std::string> ReadFile(const ConfigFile& file) {
  std::string prefix = file.named_by.empty() ? "" : file.named_by + ": ";
  std::string problem;
  std::error_code error;
  if (std::filesystem::is_directory(file.path, error)) {
    problem = "is a directory";
  } else {
    std::ifstream in(file.path, std::ios::binary);
    if (in) {
      // One byte past the limit is enough for ReadConfigText to refuse it.
      std::string text;
      std::istreambuf_iterator<char> it(in), end;
      for (; it != end && text.size() <= kMaxConfigBytes; ++it) text.push_back(*it);
      if (!in.bad()) return text;
    }
    problem = std::strerror(errno);
  }
  return Status::Error(prefix + "cannot read '" + Printable(file.path) + "': " + problem);
}

}  // namespace

const StoreConfig* Config::FindStore(std::string_view name) const {
  for (const StoreConfig& store : stores) {
    if (store.name == name) return &store;
  }
  return nullptr;
}

Environment ProcessEnvironment() {
  Environment env;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    std::string_view text(*entry);
    size_t equals = text.find('=');
    if (!text.starts_with("CACHE_") || equals == std::string_view::npos) continue;
    env.emplace(text.substr(0, equals), text.substr(equals + 1));
  }
  return env;
}

Result<Config> LoadConfigText(std::string_view toml_text, std::string_view file_name,
                              const CommandLine& line, const Environment& env) {
  Result<FileSettings> file = ReadConfigText(toml_text, file_name);
  if (!file.ok()) return file.status();
  Config config;
  config.source = std::string(file_name);
  Resolver resolver(line, env);
  StoreConfig no_store;
  std::optional<Setting> default_store;
  Status status = Apply(resolver, Section::kTop, file->top, config, no_store, &default_store);
  if (!status.ok()) return status;
  status = Apply(resolver, Section::kServer, file->server, config, no_store, nullptr);
  if (!status.ok()) return status;
  resolver.Inherit("prefix", config.prefix);
  resolver.Inherit("ttl", config.ttl);
  status = ApplyStores(resolver, *file, config);
  if (status.ok()) status = CheckDefaultStore(config, *default_store);
  if (!status.ok()) return status;
  return config;
}

Result<Config> LoadConfig(const CommandLine& line, const Environment& env) {
  std::optional<ConfigFile> file = ChooseFile(line, env);
  if (!file) return LoadConfigText("", "", line, env);
  Result<std::string> text = ReadFile(*file);
  if (!text.ok()) return text.status();
  return LoadConfigText(*text, file->path, line, env);
}

}  // namespace arvel::config
