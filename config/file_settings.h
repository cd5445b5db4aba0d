#pragma once
// What cache.toml says, checked key by key against the options table but not yet merged with the
// environment, the flags and the defaults (config/loader.cc does that).

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "config/options.h"

namespace arvel::config {

struct FileValue {
  Value value;
  std::string origin;  // "cache.toml:7"
};

struct StoreTable {
  std::string name;
  uint32_t line = 0;
  std::string origin;                            // of the table itself: "cache.toml:10"
  std::map<std::string, FileValue> values = {};  // by key, "driver" included
};

struct FileSettings {
  std::map<std::string, FileValue> top;     // by key: default, prefix, ttl
  std::map<std::string, FileValue> server;  // by key within [server]
  std::vector<StoreTable> stores;           // [stores.NAME] in file order
};

// Parses `text` as the TOML file `file_name` and checks every key. Errors are one line,
// "FILE:LINE: KEY: problem" or "FILE:LINE: problem"; of several, the one earliest in the file.
// Never throws, whatever the bytes.
Result<FileSettings> ReadConfigText(std::string_view text, std::string_view file_name);

}  // namespace arvel::config
