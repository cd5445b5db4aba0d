#include "config/options.h"

#include <arpa/inet.h>

#include <array>
#include <cctype>

namespace arvel::config {
namespace {

constexpr std::string_view kDrivers[] = {"array", "file", "database", "redis", "null"};
constexpr std::string_view kDaemons[] = {"many", "one"};
constexpr std::string_view kLogLevels[] = {"trace", "debug", "info", "warn", "error"};
constexpr std::string_view kLogFormats[] = {"text", "json"};

// The server binds with uv_ip4_addr/uv_ip6_addr, which take literals only; a host name would
// fail at start-up with exit 1, so catch it here with the file and line instead.
Status CheckIpAddress(std::string_view value) {
  std::string text(value);
  unsigned char buffer[sizeof(in6_addr)];
  if (inet_pton(AF_INET, text.c_str(), buffer) == 1) return Status::Ok();
  if (inet_pton(AF_INET6, text.c_str(), buffer) == 1) return Status::Ok();
  return Status::Error("expected an IPv4 or IPv6 address such as 127.0.0.1 or ::1");
}

// The table name is spliced into SQL statements, so only plain identifiers are allowed.
Status CheckSqlIdentifier(std::string_view value) {
  bool ok = !value.empty() && value.size() <= 63 &&
            (std::isalpha(static_cast<unsigned char>(value[0])) || value[0] == '_');
  for (char c : value) ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '_');
  if (ok) return Status::Ok();
  return Status::Error("expected an SQL identifier (letters, digits and _, at most 63)");
}

Status CheckDatabaseUrl(std::string_view value) {
  for (std::string_view scheme : {"sqlite://", "postgresql://", "postgres://"}) {
    if (value.starts_with(scheme) && value.size() > scheme.size()) return Status::Ok();
  }
  return Status::Error("expected a URL such as sqlite://PATH or postgresql://USER:PW@HOST/DB");
}

#define TOP_FIELD(member) [](Config& c, StoreConfig&) -> Field { return &c.member; }
#define SERVER_FIELD(member) [](Config& c, StoreConfig&) -> Field { return &c.server.member; }
#define STORE_FIELD(member) [](Config&, StoreConfig& s) -> Field { return &s.member; }

// clang-format off
const Option kOptions[] = {
    {.section = Section::kTop, .key = "default", .kind = Kind::kString, .default_text = "array",
     .env = "CACHE_CONNECTION", .flag = "--store",
     .description = "Store that new connections use; must name a store.",
     .field = TOP_FIELD(default_store)},
    {.section = Section::kTop, .key = "prefix", .kind = Kind::kString,
     .default_text = "arvel_cache", .env = "CACHE_PREFIX",
     .description = "Key prefix inside shared backends; the default for every store.",
     .allow_empty = true, .field = TOP_FIELD(prefix)},
    {.section = Section::kTop, .key = "ttl", .kind = Kind::kInteger, .default_text = "3600",
     .env = "CACHE_TTL",
     .description = "Seconds the redis store applies to PUT without a ttl; the default for every "
                    "store.",
     .max = kInt32Max, .field = TOP_FIELD(ttl)},

    {.section = Section::kServer, .key = "bind", .kind = Kind::kString,
     .default_text = "127.0.0.1", .env = "CACHE_BIND", .flag = "--bind",
     .description = "IP address to listen on.", .check = CheckIpAddress,
     .field = SERVER_FIELD(bind)},
    {.section = Section::kServer, .key = "port", .kind = Kind::kInteger, .default_text = "6380",
     .env = "CACHE_SERVER_PORT", .flag = "--port",
     .description = "TCP port to listen on; 0 picks a free port.", .max = 65535,
     .field = SERVER_FIELD(port)},
    {.section = Section::kServer, .key = "protected_mode", .kind = Kind::kBool,
     .default_text = "true", .env = "CACHE_PROTECTED_MODE",
     .description = "Without a password, refuse clients that are not on the loopback interface "
                    "(`-DENIED`), as Redis does.",
     .max = 1, .field = SERVER_FIELD(protected_mode)},
    {.section = Section::kServer, .key = "password", .kind = Kind::kString, .default_text = "",
     .env = "CACHE_PASSWORD", .description = "Non-empty: clients must AUTH with it.",
     .mask = Mask::kSecret, .allow_empty = true, .field = SERVER_FIELD(password)},
    {.section = Section::kServer, .key = "max_clients", .kind = Kind::kInteger,
     .default_text = "10000", .env = "CACHE_MAX_CLIENTS",
     .description = "Connections beyond this are refused.", .min = 1, .max = kInt32Max,
     .field = SERVER_FIELD(max_clients)},
    {.section = Section::kServer, .key = "timeout", .kind = Kind::kInteger, .default_text = "0",
     .env = "CACHE_CLIENT_TIMEOUT", .description = "Seconds without a complete command before a client is closed (a partial "
     "command does not count; clients waiting for a reply never are); 0 = never.", .max = kInt32Max, .field = SERVER_FIELD(timeout)},
    {.section = Section::kServer, .key = "log_level", .kind = Kind::kChoice,
     .default_text = "info", .env = "CACHE_LOG_LEVEL", .flag = "--log-level",
     .description = "Least severe log messages written.", .choices = kLogLevels,
     .field = SERVER_FIELD(log_level)},
    {.section = Section::kServer, .key = "log_format", .kind = Kind::kChoice,
     .default_text = "text", .env = "CACHE_LOG_FORMAT",
     .description = "Log lines as plain text or JSON.", .choices = kLogFormats,
     .field = SERVER_FIELD(log_format)},
    {.section = Section::kServer, .key = "proto_max_bulk_len", .kind = Kind::kByteSize,
     .default_text = "512mb", .description = "Largest bulk string a client may send.", .min = 1,
     .field = SERVER_FIELD(proto_max_bulk_len)},
    {.section = Section::kServer, .key = "proto_max_multibulk_len", .kind = Kind::kInteger,
     .default_text = "1048576", .description = "Most elements in one client request.", .min = 1,
     .max = kInt32Max, .field = SERVER_FIELD(proto_max_multibulk_len)},
    {.section = Section::kServer, .key = "proto_inline_max_size", .kind = Kind::kByteSize,
     .default_text = "64kb", .description = "Longest inline (telnet-style) command line.",
     .min = 1, .field = SERVER_FIELD(proto_inline_max_size)},
    {.section = Section::kServer, .key = "client_output_limit", .kind = Kind::kByteSize,
     .default_text = "64mb",
     .description = "Unsent reply bytes beyond which a client is disconnected.", .min = 1,
     .field = SERVER_FIELD(client_output_limit)},
    {.section = Section::kServer, .key = "remember_lease", .kind = Kind::kInteger,
     .default_text = "10",
     .description = "Seconds a REMEMBER fill lease lasts before the next waiter gets it.",
     .min = 1, .max = kInt32Max, .field = SERVER_FIELD(remember_lease)},
    {.section = Section::kServer, .key = "busy_reply_threshold", .kind = Kind::kInteger,
     .default_text = "5000",
     .description = "Milliseconds a script (EVAL) runs before other clients are answered -BUSY "
                    "and SCRIPT KILL may stop it.",
     .min = 1, .max = kInt32Max, .field = SERVER_FIELD(busy_reply_threshold)},
    {.section = Section::kServer, .key = "slowlog_log_slower_than", .kind = Kind::kInteger,
     .default_text = "10000",
     .description = "Commands running at least this many microseconds go to SLOWLOG; -1 = none.",
     .min = -1, .max = kInt32Max, .field = SERVER_FIELD(slowlog_log_slower_than)},
    {.section = Section::kServer, .key = "slowlog_max_len", .kind = Kind::kInteger,
     .default_text = "128", .description = "Entries SLOWLOG keeps (the newest).", .min = 0,
     .max = kInt32Max, .field = SERVER_FIELD(slowlog_max_len)},

    {.section = Section::kStore, .key = "driver", .kind = Kind::kChoice,
     .description = "Required. The implementation behind the store.", .choices = kDrivers,
     .field = STORE_FIELD(driver)},
    {.section = Section::kStore, .key = "prefix", .kind = Kind::kString,
     .description = "Key prefix inside the backend.", .inherits = "prefix",
     .allow_empty = true, .field = STORE_FIELD(prefix)},
    {.section = Section::kStore, .key = "ttl", .kind = Kind::kInteger,
     .description = "redis: seconds applied to PUT without a ttl.", .max = kInt32Max,
     .inherits = "ttl", .field = STORE_FIELD(ttl)},
    {.section = Section::kStore, .key = "daemons", .kind = Kind::kChoice, .default_text = "many",
     .env = "CACHE_DAEMONS",
     .description = "file, database, redis: `many` if other daemons may share the backend (a "
                    "MULTI may then hold one command on keys, WATCH is refused); `one` if only "
                    "this daemon uses it (both as in Redis); array and null stores are always one daemon's.",
     .choices = kDaemons, .field = STORE_FIELD(daemons)},
    {.section = Section::kStore, .key = "max_memory", .kind = Kind::kByteSize,
     .default_text = "0", .env = "CACHE_MAX_MEMORY",
     .description = "Memory limit; beyond it least-recently-used keys are evicted. 0 = "
                    "unlimited.",
     .driver = "array", .field = STORE_FIELD(max_memory)},
    {.section = Section::kStore, .key = "path", .kind = Kind::kString,
     .default_text = "storage/cache", .env = "CACHE_FILE_PATH",
     .description = "Directory holding one file per key.", .driver = "file",
     .field = STORE_FIELD(path)},
    {.section = Section::kStore, .key = "host", .kind = Kind::kString,
     .default_text = "127.0.0.1", .env = "CACHE_HOST", .description = "Redis/Valkey host.",
     .driver = "redis", .field = STORE_FIELD(host)},
    {.section = Section::kStore, .key = "port", .kind = Kind::kInteger, .default_text = "6379",
     .env = "CACHE_PORT", .description = "Redis/Valkey port.", .min = 1, .max = 65535,
     .driver = "redis", .field = STORE_FIELD(port)},
    {.section = Section::kStore, .key = "password", .kind = Kind::kString, .default_text = "",
     .env = "CACHE_REDIS_PASSWORD", .description = "Redis AUTH password; empty = none.",
     .driver = "redis", .mask = Mask::kSecret, .allow_empty = true,
     .field = STORE_FIELD(password)},
    {.section = Section::kStore, .key = "db", .kind = Kind::kInteger, .default_text = "0",
     .env = "CACHE_REDIS_DB", .description = "Redis database index.", .max = kInt32Max,
     .driver = "redis", .field = STORE_FIELD(db)},
    {.section = Section::kStore, .key = "pool_size", .kind = Kind::kInteger, .default_text = "1",
     .env = "CACHE_REDIS_POOL",
     .description = "Connections to Redis. With 1, every command is pipelined on it in order; "
                    "with more, keys are spread over them and a client's pipelined writes wait "
                    "for each other.",
     .min = 1, .max = 64, .driver = "redis", .field = STORE_FIELD(pool_size)},
    {.section = Section::kStore, .key = "connect_timeout", .kind = Kind::kInteger,
     .default_text = "1000", .env = "CACHE_REDIS_CONNECT_TIMEOUT",
     .description = "Milliseconds to connect, log in and load scripts before the store counts "
                    "as unavailable.",
     .min = 1, .max = kInt32Max, .driver = "redis", .field = STORE_FIELD(connect_timeout_ms)},
    {.section = Section::kStore, .key = "timeout", .kind = Kind::kInteger, .default_text = "1000",
     .env = "CACHE_REDIS_TIMEOUT",
     .description = "Milliseconds Redis has to answer a command; then the command fails with "
                    "'unavailable' and the store reconnects.",
     .min = 1, .max = kInt32Max, .driver = "redis", .field = STORE_FIELD(timeout_ms)},
    {.section = Section::kStore, .key = "url", .kind = Kind::kString,
     .default_text = "sqlite://storage/cache.sqlite", .env = "CACHE_DATABASE_URL",
     .description = "sqlite://PATH or postgresql://USER:PASSWORD@HOST:PORT/DB (password "
                    "masked in --check-config).",
     .driver = "database", .mask = Mask::kUrlPassword, .check = CheckDatabaseUrl,
     .field = STORE_FIELD(url)},
    {.section = Section::kStore, .key = "table", .kind = Kind::kString, .default_text = "cache",
     .description = "Table of cache entries (locks go in TABLE_locks).", .driver = "database",
     .check = CheckSqlIdentifier, .field = STORE_FIELD(table)},
};
// clang-format on

#undef TOP_FIELD
#undef SERVER_FIELD
#undef STORE_FIELD

}  // namespace

std::string Option::Path(std::string_view store) const {
  switch (section) {
    case Section::kTop:
      return std::string(key);
    case Section::kServer:
      return "server." + std::string(key);
    case Section::kStore:
      return "stores." + std::string(store) + "." + std::string(key);
  }
  return std::string(key);
}

std::span<const Option> Options() { return kOptions; }

const Option* FindOption(Section section, std::string_view key) {
  for (const Option& option : kOptions) {
    if (option.section == section && option.key == key) return &option;
  }
  return nullptr;
}

std::span<const std::string_view> DriverNames() { return kDrivers; }

std::string JoinNames(std::span<const std::string_view> names) {
  std::string out;
  for (std::string_view name : names) {
    if (!out.empty()) out += ", ";
    out += name;
  }
  return out;
}

}  // namespace arvel::config
