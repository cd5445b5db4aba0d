// EVAL EVALSHA EVAL_RO EVALSHA_RO SCRIPT: the handlers parse; server/scripting runs the scripts.

#include "server/client_state.h"
#include "server/command_table.h"
#include "server/commands/subcommands.h"
#include "server/scripting/script_engine.h"
#include "server/server.h"

namespace arvel::server {

namespace {

void Eval(CommandContext& ctx) { ctx.server().scripts().Eval(ctx, false, false); }
void EvalSha(CommandContext& ctx) { ctx.server().scripts().Eval(ctx, true, false); }
void EvalRo(CommandContext& ctx) { ctx.server().scripts().Eval(ctx, false, true); }
void EvalShaRo(CommandContext& ctx) { ctx.server().scripts().Eval(ctx, true, true); }

void Load(CommandContext& ctx) { ctx.server().scripts().Load(ctx, ctx.arg(2)); }

void Exists(CommandContext& ctx) {
  ctx.reply().ArrayHeader(ctx.argc() - 2);
  for (size_t i = 2; i < ctx.argc(); ++i) {
    ctx.reply().Integer(ctx.server().scripts().Has(ctx.arg(i)) ? 1 : 0);
  }
}

void Flush(CommandContext& ctx) {
  if (ctx.argc() == 3 && !EqualsIgnoreCase(ctx.arg(2), "sync") &&
      !EqualsIgnoreCase(ctx.arg(2), "async")) {
    return ctx.reply().Error("ERR SCRIPT FLUSH only support SYNC|ASYNC option");
  }
  ctx.server().scripts().Flush();
  ctx.reply().Ok();
}

void Kill(CommandContext& ctx) { ctx.server().scripts().Kill(ctx); }

void Help(CommandContext& ctx) {
  static constexpr std::string_view kLines[] = {
      "SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
      "EXISTS <sha1> [<sha1> ...]",
      "    Return information about the existence of the scripts in the script cache.",
      "FLUSH [ASYNC|SYNC]",
      "    Flush the Lua scripts cache.",
      "KILL",
      "    Kill the currently executing Lua script.",
      "LOAD <script>",
      "    Load a script into the scripts cache without executing it.",
      "HELP",
      "    Print this help.",
  };
  ReplyHelp(ctx, kLines);
}

using ScriptSubcommand = Subcommand<void (*)(CommandContext&)>;
constexpr ScriptSubcommand kSubcommands[] = {
    {"load", 3, 3, Load},   {"exists", 3, kAnyArgc, Exists}, {"flush", 2, 3, Flush},
    {"kill", 2, 2, Kill},   {"help", 2, 2, Help},
};

void Script(CommandContext& ctx) {
  const ScriptSubcommand* sub = FindSubcommand(ctx, kSubcommands, ctx.arg(1), "script");
  if (sub == nullptr) return;
  // While a script runs long, only SCRIPT KILL may reach it (Connection::Dispatch lets every
  // SCRIPT through).
  if (sub->run != Kill && ctx.server().scripts().BusyFor(ctx.client().id)) {
    return ctx.reply().Error(errors::kBusyScript);
  }
  sub->run(ctx);
}

}  // namespace

void RegisterScriptCommands(CommandTable& table) {
  constexpr uint32_t kScript = kConnectionState | kMonitorFirst | kNumKeys;
  table.Register({"eval", -3, kWrite | kScript, 0, 0, 0, Eval, "scripting",
                  "Executes a server-side Lua script.", "script numkeys [key [key ...]] [arg [arg ...]]"});
  table.Register({"evalsha", -3, kWrite | kScript, 0, 0, 0, EvalSha, "scripting",
                  "Executes a server-side Lua script by SHA1 digest.",
                  "sha1 numkeys [key [key ...]] [arg [arg ...]]"});
  table.Register({"eval_ro", -3, kReadOnly | kScript, 0, 0, 0, EvalRo, "scripting",
                  "Executes a read-only server-side Lua script.",
                  "script numkeys [key [key ...]] [arg [arg ...]]"});
  table.Register({"evalsha_ro", -3, kReadOnly | kScript, 0, 0, 0, EvalShaRo, "scripting",
                  "Executes a read-only server-side Lua script by SHA1 digest.",
                  "sha1 numkeys [key [key ...]] [arg [arg ...]]"});
  table.Register({"script", -2, kConnectionState | kAllowBusy, 0, 0, 0, Script, "scripting",
                  "Manages the server-side Lua script cache: load, check, flush, kill.",
                  "LOAD script | EXISTS sha1 [sha1 ...] | FLUSH [ASYNC|SYNC] | KILL | HELP"});
}

}  // namespace arvel::server
