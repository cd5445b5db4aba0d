// The start-up log's account of where the configuration came from: the file and what chose it,
// the CACHE_* variables and flags in use, and each variable that a file or flag overrode.

#include <set>
#include <string>
#include <vector>

#include "config/config.h"
#include "config/options.h"

namespace arvel::config {
namespace {

std::string Join(const std::set<std::string>& names) {
  std::string text;
  for (const std::string& name : names) text += (text.empty() ? "" : ", ") + name;
  return text;
}

std::string FileLine(const Config& config, const CommandLine& line, const Environment& env) {
  if (config.source.empty()) return "configuration file: none";
  std::string chosen_by = "found in the working directory";
  if (line.config_path) {
    chosen_by = "named by --config";
  } else if (auto it = env.find("CACHE_CONFIG"); it != env.end() && !it->second.empty()) {
    chosen_by = "named by CACHE_CONFIG";
  }
  return "configuration file: " + config.source + " (" + chosen_by + ")";
}

}  // namespace

std::vector<std::string> DescribeSources(const Config& config, const CommandLine& line,
                                         const Environment& env) {
  std::set<std::string> used_env, used_flags;
  std::vector<std::string> overrides;
  for (const auto& [path, origin] : config.origins) {
    if (origin.starts_with("env ")) used_env.insert(origin.substr(4));
    if (origin.starts_with("flag ")) used_flags.insert(origin.substr(5));
  }
  for (const Option& option : Options()) {
    if (option.env.empty()) continue;
    auto set = env.find(std::string(option.env));
    if (set == env.end() || (set->second.empty() && !option.allow_empty)) continue;
    const std::string env_origin = "env " + std::string(option.env);
    for (const auto& [path, origin] : config.origins) {
      bool same_option =
          option.section == Section::kStore
              ? path.starts_with("stores.") && path.ends_with("." + std::string(option.key))
              : path == option.Path();
      if (!same_option || origin == env_origin || origin == "default") continue;
      overrides.push_back(path + ": " + origin + " overrides " + std::string(option.env));
    }
  }
  std::vector<std::string> lines{FileLine(config, line, env)};
  lines.push_back("environment: " + (used_env.empty() ? "none" : Join(used_env)));
  lines.push_back("flags: " + (used_flags.empty() ? "none" : Join(used_flags)));
  lines.insert(lines.end(), overrides.begin(), overrides.end());
  return lines;
}

}  // namespace arvel::config
