#pragma once
// The options table: every configuration key, described once. The TOML reader, the environment
// fallback, the command-line flags, --help, --check-config (Describe) and ReferenceTable() all
// walk this table, so adding an option is one row here and one member in config.h.

#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <variant>

#include "common/status.h"
#include "config/config.h"

namespace arvel::config {

// The table an option lives in: the top level of cache.toml, [server], or [stores.NAME].
enum class Section { kTop, kServer, kStore };

enum class Kind {
  kString,
  kInteger,   // within [min, max]
  kByteSize,  // integer bytes or a size string ("256mb"), within [min, max]
  kChoice,    // one of `choices`
  kBool,      // TOML true/false; in the environment true/false, yes/no, on/off, 1/0
};

// How --check-config shows the value.
enum class Mask { kNone, kSecret, kUrlPassword };

// Where a checked value is stored. Integer fields only receive values within the option's
// [min, max], which the table keeps within the field's type.
using Field = std::variant<std::string*, int*, int64_t*, uint64_t*, bool*>;

// A checked value: strings for kString/kChoice, integers for kInteger/kByteSize/kBool (0/1).
using Value = std::variant<int64_t, std::string>;

inline constexpr int64_t kInt32Max = std::numeric_limits<int32_t>::max();
inline constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();

struct Option {
  Section section = Section::kTop;
  std::string_view key = {};  // within its table
  Kind kind = Kind::kString;
  std::string_view default_text = {};  // parsed like an environment value; shown in the docs
  std::string_view env = {};           // CACHE_* fallback, or "" for none
  std::string_view flag = {};          // command-line flag that overrides it, or ""
  std::string_view description = {};
  int64_t min = 0;
  int64_t max = kInt64Max;
  std::span<const std::string_view> choices = {};
  // kStore: the driver this key belongs to; "" = every driver.
  std::string_view driver = {};
  // kStore: a top-level key whose effective value is the default instead of env/default_text.
  std::string_view inherits = {};
  Mask mask = Mask::kNone;
  // Whether "" is a meaningful value. If not, "" in cache.toml is an error and an empty
  // environment variable counts as unset.
  bool allow_empty = false;
  // Extra check on string values beyond kind/choices; returns the problem text.
  Status (*check)(std::string_view value) = nullptr;
  Field (*field)(Config& config, StoreConfig& store) = nullptr;

  // "server.port", "stores.NAME.host" (with `store` for NAME), "default".
  std::string Path(std::string_view store = "NAME") const;
};

// Every option, in the order of the docs and --check-config.
std::span<const Option> Options();

// The option `key` of `section`, or nullptr.
const Option* FindOption(Section section, std::string_view key);

// The driver names in their documented order: array, file, database, redis, null.
std::span<const std::string_view> DriverNames();

// "array, file, database, redis, null" — for messages.
std::string JoinNames(std::span<const std::string_view> names);

// The environment section of --help: every CACHE_* variable and the key it stands for.
std::string EnvironmentHelp();

}  // namespace arvel::config
