// MONITOR SLOWLOG LATENCY: what operators use to see what the daemon runs. The records live in
// the server (server/command_log.h); these commands show them in Redis's formats.

#include <string>

#include "common/errors.h"
#include "server/client_state.h"
#include "server/command_table.h"
#include "server/commands/subcommands.h"
#include "server/server.h"

namespace arvel::server {

namespace {

void Monitor(CommandContext& ctx) {
  ClientState& client = ctx.client();
  if (!client.monitor) {
    client.monitor = true;
    ctx.server().AddMonitor(client.id);
  }
  ctx.reply().Ok();
}

// ---- SLOWLOG

void SlowlogGet(CommandContext& ctx) {
  const auto& entries = ctx.server().slowlog().entries();
  int64_t count = 10;
  if (ctx.argc() == 3) {
    std::optional<int64_t> asked = ParseInt64(ctx.arg(2));
    if (!asked || *asked < -1) {
      return ctx.reply().Error("ERR count should be greater than or equal to -1");
    }
    count = *asked == -1 ? static_cast<int64_t>(entries.size()) : *asked;
  }
  const size_t n = std::min(entries.size(), static_cast<size_t>(count));
  protocol::ReplyWriter& out = ctx.reply();
  out.ArrayHeader(n);
  for (size_t i = 0; i < n; ++i) {
    const SlowlogEntry& entry = entries[i];
    out.ArrayHeader(6);
    out.Integer(entry.id);
    out.Integer(entry.unix_seconds);
    out.Integer(entry.usec);
    out.ArrayHeader(entry.args.size());
    for (const std::string& arg : entry.args) out.Bulk(arg);
    out.Bulk(entry.client_address);
    out.Bulk(entry.client_name);
  }
}

void SlowlogLen(CommandContext& ctx) {
  ctx.reply().Integer(static_cast<int64_t>(ctx.server().slowlog().entries().size()));
}

void SlowlogReset(CommandContext& ctx) {
  ctx.server().slowlog().Reset();
  ctx.reply().Ok();
}

void SlowlogHelp(CommandContext& ctx) {
  static constexpr std::string_view kLines[] = {
      "SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
      "GET [<count>]",
      "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
      "    Entries are made of:",
      "    id, timestamp, time in microseconds, arguments array, client IP and port,",
      "    client name",
      "LEN",
      "    Return the length of the slowlog.",
      "RESET",
      "    Reset the slowlog.",
      "HELP",
      "    Print this help.",
  };
  ReplyHelp(ctx, kLines);
}

using SlowlogSubcommand = Subcommand<void (*)(CommandContext&)>;
constexpr SlowlogSubcommand kSlowlogSubcommands[] = {
    {"get", 2, 3, SlowlogGet},
    {"len", 2, 2, SlowlogLen},
    {"reset", 2, 2, SlowlogReset},
    {"help", 2, 2, SlowlogHelp},
};

void SlowlogCommand(CommandContext& ctx) {
  const SlowlogSubcommand* sub = FindSubcommand(ctx, kSlowlogSubcommands, ctx.arg(1), "slowlog");
  if (sub != nullptr) sub->run(ctx);
}

// ---- LATENCY: the latency monitor is off (latency-monitor-threshold 0, Redis's default), so
// there are no events; per-command latency is in INFO latencystats.

void LatencyLatest(CommandContext& ctx) { ctx.reply().ArrayHeader(0); }
void LatencyHistory(CommandContext& ctx) { ctx.reply().ArrayHeader(0); }
void LatencyReset(CommandContext& ctx) { ctx.reply().Integer(0); }

void LatencyDoctor(CommandContext& ctx) {
  ctx.reply().Verbatim(
      "Dave, no latency spike was observed during the lifetime of this Redis instance, not in "
      "the slightest bit. I honestly think you ought to sleep tonight.\n");
}

void LatencyGraph(CommandContext& ctx) {
  ctx.reply().Error("ERR No samples available for event '" + std::string(ctx.arg(2)) + "'");
}

void LatencyHelp(CommandContext& ctx) {
  static constexpr std::string_view kLines[] = {
      "LATENCY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
      "DOCTOR",
      "    Return a human readable latency analysis report.",
      "GRAPH <event>",
      "    Return an ASCII latency graph for the <event> class.",
      "HISTORY <event>",
      "    Return time-latency samples for the <event> class.",
      "LATEST",
      "    Return the latest latency samples for all events.",
      "RESET [<event> ...]",
      "    Reset latency data of one or more <event> classes.",
      "    (default: reset all data for all event classes)",
      "HELP",
      "    Print this help.",
  };
  ReplyHelp(ctx, kLines);
}

using LatencySubcommand = Subcommand<void (*)(CommandContext&)>;
constexpr LatencySubcommand kLatencySubcommands[] = {
    {"latest", 2, 2, LatencyLatest}, {"history", 3, 3, LatencyHistory},
    {"reset", 2, kAnyArgc, LatencyReset}, {"doctor", 2, 2, LatencyDoctor},
    {"graph", 3, 3, LatencyGraph},   {"help", 2, 2, LatencyHelp},
};

void LatencyCommand(CommandContext& ctx) {
  const LatencySubcommand* sub = FindSubcommand(ctx, kLatencySubcommands, ctx.arg(1), "latency");
  if (sub != nullptr) sub->run(ctx);
}

}  // namespace

void RegisterDiagnosticCommands(CommandTable& table) {
  table.Register({"monitor", 1, kAdmin, 0, 0, 0, Monitor, "server",
                  "Listens for all requests received by the server in real-time.", ""});
  table.Register({"slowlog", -2, kAdmin, 0, 0, 0, SlowlogCommand, "server",
                  "The slow log: commands that ran longer than slowlog_log_slower_than.",
                  "GET [count] | LEN | RESET | HELP"});
  table.Register({"latency", -2, kAdmin, 0, 0, 0, LatencyCommand, "server",
                  "The latency monitor (off: no events; per-command latency is in INFO "
                  "latencystats).",
                  "LATEST | HISTORY event | RESET [event ...] | DOCTOR | GRAPH event | HELP"});
}

}  // namespace arvel::server
