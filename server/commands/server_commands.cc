// Server commands: INFO CONFIG TIME SHUTDOWN.
//
// CONFIG answers from the effective configuration (cache.toml + CACHE_* + flags) under the
// Redis parameter names clients ask for; the configuration is fixed for the life of the
// process, so CONFIG SET is refused rather than half-applied.

#include <cctype>
#include <chrono>
#include <limits>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "common/errors.h"
#include "drivers/store.h"
#include "server/client_state.h"
#include "server/command_table.h"
#include "server/commands/subcommands.h"
#include "server/commands/arguments.h"
#include "server/commands/glob.h"
#include "server/info.h"
#include "server/server.h"

namespace arvel::server {

namespace {

// ---- INFO ----------------------------------------------------------------------------------

void ReplyInfo(protocol::ReplyWriter& w, const std::string& text) {
  // RESP3 clients get a verbatim string, as from Redis; RESP2 ones a bulk string.
  w.Verbatim(text, "txt");
}

void Info(CommandContext& ctx) {
  auto sections = std::make_shared<InfoSections>(InfoSections::Parse(ctx.args().subspan(1)));
  Server* server = &ctx.server();
  // Counted before this client parks itself below, so INFO does not report its own wait.
  size_t blocked = server->blocked_clients();
  if (!sections->Has("keyspace")) {
    return ReplyInfo(ctx.reply(), ComposeInfo(*server, *sections, {}, blocked));
  }
  // The Keyspace line needs the store's live key count, which a shared backend answers later.
  KeyspaceFigures keyspace{-1, ctx.store().expiry_stats()};
  ctx.store().Count([server, sections, blocked, keyspace, pending = ctx.Suspend()](
                        const Status& status, int64_t count) mutable {
    keyspace.keys = status.ok() ? count : -1;
    pending.Finish([&](protocol::ReplyWriter& w) {
      ReplyInfo(w, ComposeInfo(*server, *sections, keyspace, blocked));
    });
  });
}

// ---- CONFIG --------------------------------------------------------------------------------

struct ConfigParameter {
  std::string_view name;
  std::string (*value)(const Server& server);
};

// Redis's loglevel vocabulary for ours.
std::string RedisLogLevel(const Server& server) {
  const std::string& level = server.config().server.log_level;
  if (level == "trace" || level == "debug") return "debug";
  if (level == "info") return "notice";
  return "warning";
}

// The parameters clients and tools ask for, under their Redis names, in the order CONFIG GET
// lists them.
constexpr ConfigParameter kConfigParameters[] = {
    {"bind", [](const Server& s) { return s.config().server.bind; }},
    {"port", [](const Server& s) { return std::to_string(s.port()); }},
    {"timeout", [](const Server& s) { return std::to_string(s.config().server.timeout); }},
    {"maxclients", [](const Server& s) { return std::to_string(s.config().server.max_clients); }},
    {"maxmemory", [](const Server& s) { return std::to_string(EffectiveMaxMemory(s)); }},
    {"maxmemory-policy", [](const Server&) { return std::string("allkeys-lru"); }},
    {"databases", [](const Server&) { return std::string("1"); }},
    {"save", [](const Server&) { return std::string(); }},
    {"appendonly", [](const Server&) { return std::string("no"); }},
    {"proto-max-bulk-len",
     [](const Server& s) { return std::to_string(s.config().server.proto_max_bulk_len); }},
    {"hz", [](const Server&) { return std::string("10"); }},
    {"loglevel", RedisLogLevel},
    {"slowlog-log-slower-than",
     [](const Server& s) { return std::to_string(s.config().server.slowlog_log_slower_than); }},
    {"slowlog-max-len",
     [](const Server& s) { return std::to_string(s.config().server.slowlog_max_len); }},
    {"busy-reply-threshold",
     [](const Server& s) { return std::to_string(s.config().server.busy_reply_threshold); }},
    {"lua-time-limit",
     [](const Server& s) { return std::to_string(s.config().server.busy_reply_threshold); }},
    {"latency-monitor-threshold", [](const Server&) { return std::string("0"); }},
};

// Parameter names are lower case and, as in Redis, patterns match them in any case.
bool GlobMatches(std::string_view pattern, std::string_view name) {
  std::string lower(pattern);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return GlobMatch(lower, name);
}

void ConfigGet(CommandContext& ctx) {
  if (ctx.argc() < 3) return ctx.reply().Error(errors::WrongArity("config|get"));
  std::vector<const ConfigParameter*> matched;
  for (const ConfigParameter& parameter : kConfigParameters) {
    for (size_t i = 2; i < ctx.argc(); ++i) {
      if (GlobMatches(ctx.arg(i), parameter.name)) {
        matched.push_back(&parameter);
        break;
      }
    }
  }
  auto& w = ctx.reply();
  w.MapHeader(matched.size());
  for (const ConfigParameter* parameter : matched) {
    w.Bulk(parameter->name);
    w.Bulk(parameter->value(ctx.server()));
  }
}

// The parameters CONFIG SET may change while the daemon runs: limits read at each use. The rest
// of the configuration (stores, ports, memory) is fixed at start-up.
constexpr int64_t kInt32Max = std::numeric_limits<int32_t>::max();

struct TunableParameter {
  std::string_view name;
  int64_t config::ServerConfig::*field;
  int64_t min, max;
};

constexpr TunableParameter kTunableParameters[] = {
    {"busy-reply-threshold", &config::ServerConfig::busy_reply_threshold, 1, kInt32Max},
    {"lua-time-limit", &config::ServerConfig::busy_reply_threshold, 1, kInt32Max},
    {"slowlog-log-slower-than", &config::ServerConfig::slowlog_log_slower_than, -1,
     kInt32Max},
    {"slowlog-max-len", &config::ServerConfig::slowlog_max_len, 0, kInt32Max},
};

// CONFIG SET name value [name value …]: all or nothing, as in Redis 7.
void ConfigSet(CommandContext& ctx) {
  if (ctx.argc() < 4 || ctx.argc() % 2 != 0) {
    return ctx.reply().Error(errors::WrongArity("config|set"));
  }
  std::vector<std::pair<const TunableParameter*, int64_t>> changes;
  for (size_t i = 2; i < ctx.argc(); i += 2) {
    const TunableParameter* parameter = nullptr;
    for (const TunableParameter& candidate : kTunableParameters) {
      if (EqualsIgnoreCase(ctx.arg(i), candidate.name)) parameter = &candidate;
    }
    if (parameter == nullptr) return ctx.reply().Error(errors::ConfigSetUnsupported(ctx.arg(i)));
    const std::optional<int64_t> value = ParseInt64(ctx.arg(i + 1));
    if (!value || *value < parameter->min || *value > parameter->max) {
      return ctx.reply().Error("ERR CONFIG SET failed (possibly related to argument '" +
                               std::string(ctx.arg(i)) + "') - argument must be between " +
                               std::to_string(parameter->min) + " and " +
                               std::to_string(parameter->max) + " inclusive");
    }
    changes.emplace_back(parameter, *value);
  }
  config::ServerConfig& server = ctx.server().mutable_server_config();
  for (const auto& [parameter, value] : changes) server.*(parameter->field) = value;
  ctx.reply().Ok();
}

void ConfigResetStat(CommandContext& ctx) {
  if (ctx.argc() != 2) return ctx.reply().Error(errors::WrongArity("config|resetstat"));
  ResetInfoStats(ctx.server());
  ctx.reply().Ok();
}

void ConfigRewrite(CommandContext& ctx) { ctx.reply().Error(errors::kConfigRewriteUnsupported); }

void ConfigHelp(CommandContext& ctx) {
  static constexpr std::string_view kLines[] = {
      "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
      "GET <pattern> [<pattern> ...]",
      "    Return parameters matching the glob-like <pattern> and their values.",
      "SET <directive> <value>",
      "    Not supported: edit cache.toml and restart.",
      "RESETSTAT",
      "    Reset statistics reported by the INFO command.",
      "HELP",
      "    Print this help."};
  ReplyHelp(ctx, kLines);
}

void Config(CommandContext& ctx) {
  static constexpr std::pair<std::string_view, Handler> kSubcommands[] = {
      {"get", ConfigGet},
      {"set", ConfigSet},
      {"resetstat", ConfigResetStat},
      {"rewrite", ConfigRewrite},
      {"help", ConfigHelp}};
  for (const auto& [name, handler] : kSubcommands) {
    if (EqualsIgnoreCase(ctx.arg(1), name)) return handler(ctx);
  }
  ctx.reply().Error(errors::UnknownSubcommand(ctx.arg(1), "CONFIG"));
}

// ---- TIME, SHUTDOWN ------------------------------------------------------------------------

void Time(CommandContext& ctx) {
  auto now = std::chrono::system_clock::now().time_since_epoch();
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(now).count();
  auto& w = ctx.reply();
  w.ArrayHeader(2);
  w.Bulk(std::to_string(us / 1000000));
  w.Bulk(std::to_string(us % 1000000));
}

// SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT]. There is nothing to save (file and database
// stores write through) and nothing to wait for but replies in flight, so the modifiers are
// checked and otherwise change nothing.
void Shutdown(CommandContext& ctx) {
  // kNoMulti: refused inside MULTI (and the transaction with it), never queued, as in Redis.
  if (ctx.client().in_multi) {
    ctx.client().multi_error = true;
    return ctx.reply().Error(errors::kNotInMulti);
  }
  std::set<std::string> seen;
  for (size_t i = 1; i < ctx.argc(); ++i) {
    std::string option(ctx.arg(i));
    for (char& c : option) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (option != "NOSAVE" && option != "SAVE" && option != "NOW" && option != "FORCE" &&
        option != "ABORT") {
      return ctx.reply().Error(errors::kSyntax);
    }
    seen.insert(std::move(option));
  }
  bool conflicting =
      (seen.count("SAVE") && seen.count("NOSAVE")) || (seen.count("ABORT") && seen.size() > 1);
  if (conflicting) return ctx.reply().Error(errors::kSyntax);
  // A shutdown never waits for a save here, so there is never one in progress to abort.
  if (seen.count("ABORT")) return ctx.reply().Error(errors::kNoShutdownInProgress);
  // Like Redis, no reply: the connection closes as the server stops.
  ctx.server().Shutdown();
}

}  // namespace

void RegisterServerCommands(CommandTable& table) {
  table.Register({"info", -1, kReadOnly, 0, 0, 0, Info, "server",
                  "Returns information and statistics about the server.",
                  "[section [section ...]]"});
  table.Register({"config", -2, kAdmin, 0, 0, 0, Config, "server",
                  "Reads the effective configuration (CONFIG GET), changes the run-time limits "
                  "(CONFIG SET), resets statistics.",
                  // REWRITE is not offered: cache.toml is the configuration. SET changes the
                  // run-time limits only (kTunableParameters).
                  "GET parameter [parameter ...] | SET parameter value [parameter value ...] | "
                  "RESETSTAT | HELP"});
  table.Register(
      {"time", 1, kReadOnly | kFast, 0, 0, 0, Time, "server", "Returns the server time.", ""});
  table.Register({"shutdown", -1, kAdmin | kNoMulti | kConnectionState | kAllowBusy, 0, 0, 0,
                  Shutdown, "server",
                  "Finishes replies in flight, closes the stores and stops the server.",
                  "[NOSAVE|SAVE] [NOW] [FORCE] [ABORT]"});
}

}  // namespace arvel::server
