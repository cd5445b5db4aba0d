#pragma once
// The daemon's configuration: cache.toml + CACHE_* environment + command-line flags, merged with
// the precedence of SPEC §2 (flag > file > environment > default), validated once, and handed to
// the server as one typed value. Options are described by one table (config/options.cc) that
// drives the TOML reader, the environment fallback, --help, --check-config and the reference
// table in the docs.

#include <cstdint>
#include <iosfwd>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace arvel::config {

struct StoreConfig {
  std::string name;    // the key under [stores.NAME], or the driver name for implicit stores
  std::string driver;  // array | file | database | redis | null
  bool implicit = false;
  std::string prefix;  // key prefix in shared backends (defaults to the top-level prefix)
  int64_t ttl = 3600;  // seconds the redis driver applies to PUT without ttl
  std::string daemons = "many";  // file, database, redis: "one" = no other daemon shares it
  // array
  uint64_t max_memory = 0;  // bytes; 0 = unlimited
  // file
  std::string path = "storage/cache";
  // redis
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string password;
  int db = 0;
  int pool_size = 1;                // connections to Redis
  int64_t connect_timeout_ms = 1000;  // connect + AUTH/SELECT + SCRIPT LOAD
  int64_t timeout_ms = 1000;          // a command not answered within it fails
  // database
  std::string url = "sqlite://storage/cache.sqlite";
  std::string table = "cache";
};

struct ServerConfig {
  std::string bind = "127.0.0.1";
  int port = 6380;
  std::string password;
  int64_t max_clients = 10000;
  int64_t timeout = 0;              // idle seconds before close; 0 = never
  std::string log_level = "info";   // trace|debug|info|warn|error
  std::string log_format = "text";  // text|json
  int64_t proto_max_bulk_len = 512LL * 1024 * 1024;
  int64_t proto_max_multibulk_len = 1024 * 1024;
  int64_t proto_inline_max_size = 64 * 1024;
  int64_t client_output_limit = 64LL * 1024 * 1024;
  int64_t remember_lease = 10;  // seconds
  int64_t busy_reply_threshold = 5000;  // ms a script runs before other clients get -BUSY
  int64_t slowlog_log_slower_than = 10000;  // µs; negative: never
  int64_t slowlog_max_len = 128;
  bool protected_mode = true;  // no password: only loopback clients (Redis's protected mode)
};

struct Config {
  std::string default_store = "array";
  std::string prefix = "arvel_cache";
  int64_t ttl = 3600;
  ServerConfig server;
  // Every store: the [stores.*] tables in file order, then the implicit stores named after each
  // driver that no table already defines under that name.
  std::vector<StoreConfig> stores;
  std::string source;  // the config file used, or "" when none
  // Where each option's value came from, for --check-config: key "server.port" or
  // "stores.NAME.host" -> "flag --port", "cache.toml:7", "env CACHE_SERVER_PORT", "default", or
  // "top-level prefix" for a store's inherited prefix/ttl.
  std::map<std::string, std::string> origins;

  const StoreConfig* FindStore(std::string_view name) const;
};

// What the command line asked for (SPEC §1). Unset optionals fall back to file/env/defaults.
struct CommandLine {
  std::optional<std::string> config_path;
  std::optional<std::string> bind;
  std::optional<int> port;
  std::optional<std::string> store;
  std::optional<std::string> log_level;
  bool check_config = false;
  bool ping = false;  // --ping: health-check a running daemon instead of starting one
};

// Environment variables by name, so tests can supply their own.
using Environment = std::map<std::string, std::string>;
// The CACHE_* variables of this process.
Environment ProcessEnvironment();

// Outcome of parsing argv: either run with `line`, or exit now with `exit_code` after the
// parser printed what it had to say (--help or --version on stdout with code 0, a one-line usage
// error on stderr with code 2). Never calls exit().
struct ParsedArgs {
  CommandLine line;
  std::optional<int> exit_code;
};
ParsedArgs ParseCommandLine(int argc, char** argv);  // prints to std::cout / std::cerr
ParsedArgs ParseCommandLine(int argc, const char* const* argv, std::ostream& out,
                            std::ostream& err);

// Loads and validates the effective configuration. The file is --config, else $CACHE_CONFIG,
// else ./cache.toml if it exists, else none; a file named explicitly must be readable. Errors
// are one line naming the file, the line and the key when they come from cache.toml
// ("cache.toml:7: server.port: expected an integer from 0 to 65535, got \"abc\""), the
// variable when from the environment ("CACHE_SERVER_PORT: ...") or the flag ("--port: ...").
Result<Config> LoadConfig(const CommandLine& line, const Environment& env);

// LoadConfig for a file already read: `toml_text` is the content of the file `file_name` (used
// only in messages and Config::source; "" leaves source empty). Any bytes are safe to pass.
Result<Config> LoadConfigText(std::string_view toml_text, std::string_view file_name,
                              const CommandLine& line, const Environment& env);

// Human-readable dump of the effective configuration for --check-config, secrets masked, each
// value followed by where it came from. The output is itself valid TOML.
std::string Describe(const Config& config);

// For the start-up log: the configuration file and what chose it, the CACHE_* variables and
// flags whose values are in use, and one line per key where cache.toml, a flag or a top-level
// value won over a CACHE_* variable that is set ("server.port: cache.toml:3 overrides
// CACHE_SERVER_PORT").
std::vector<std::string> DescribeSources(const Config& config, const CommandLine& line,
                                         const Environment& env);

// Every option as a Markdown table (key, type, default, environment variable, description),
// for docs/configuration.md and the README.
std::string ReferenceTable();

// Parses sizes such as "256mb", "1gb", "64kb", "1024" (bytes), case-insensitive, Redis style:
// k/m/g are powers of 1000 and kb/mb/gb powers of 1024; "b" or no unit means bytes. Errors on
// anything else (signs, spaces, fractions) and on values that do not fit in 64 bits.
Result<uint64_t> ParseByteSize(std::string_view text);

}  // namespace arvel::config
