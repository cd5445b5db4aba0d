// libFuzzer target: arbitrary bytes as the text of a cache.toml. Loading must never crash, hang
// or leak, and every failure must be a one-line message naming the file.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "config/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  arvel::config::CommandLine line;
  // Environment values are used where the file is silent, so exercise that path too.
  arvel::config::Environment env = {{"CACHE_HOST", "h"}, {"CACHE_MAX_MEMORY", "1mb"}};
  arvel::Result<arvel::config::Config> config =
      arvel::config::LoadConfigText(text, "cache.toml", line, env);
  if (config.ok()) {
    // What --check-config would print must render for anything that loads.
    if (arvel::config::Describe(*config).empty()) std::abort();
    if (config->FindStore(config->default_store) == nullptr) std::abort();
    return 0;
  }
  const std::string& message = config.status().message();
  if (message.find('\n') != std::string::npos) std::abort();
  if (!message.starts_with("cache.toml")) std::abort();
  return 0;
}
