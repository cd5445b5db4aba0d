// Introspection: COMMAND [COUNT | INFO | DOCS | LIST | GETKEYS | HELP], answered from the
// command table and the documentation parsed from each command's syntax line
// (server/command_docs.h). redis-cli 7 reads COMMAND DOCS at start-up for its hints.

#include <algorithm>
#include <cctype>
#include <string>
#include <vector>

#include "common/errors.h"
#include "server/command_docs.h"
#include "server/command_table.h"
#include "server/commands/subcommands.h"
#include "server/commands/arguments.h"
#include "server/commands/glob.h"

namespace arvel::server {

namespace {

const CommandTable& Table() { return CommandTable::Default(); }

// The documentation of "name" or "container|sub": the command's, and the subcommand's if any.
struct Lookup {
  const CommandDoc* doc = nullptr;
  const SubcommandDoc* sub = nullptr;
};

Lookup Find(std::string_view full_name) {
  size_t bar = full_name.find('|');
  const CommandSpec* spec = Table().Find(full_name.substr(0, bar));
  if (spec == nullptr) return {};
  const CommandDoc& doc = DocFor(*spec);
  if (bar == std::string_view::npos) return {&doc, nullptr};
  const SubcommandDoc* sub = FindSubcommand(doc, full_name.substr(bar + 1));
  return sub == nullptr ? Lookup{} : Lookup{&doc, sub};
}

void AllCommands(CommandContext& ctx) {
  auto& w = ctx.reply();
  w.ArrayHeader(Table().all().size());
  for (const CommandSpec& spec : Table().all()) WriteCommandInfo(w, DocFor(spec));
}

void Count(CommandContext& ctx) {
  if (ctx.argc() != 2) return ctx.reply().Error(errors::WrongArity("command|count"));
  ctx.reply().Integer(static_cast<int64_t>(Table().all().size()));
}

// COMMAND INFO [name ...]: an entry per name, nil for unknown ones; no names: every command.
void Info(CommandContext& ctx) {
  if (ctx.argc() == 2) return AllCommands(ctx);
  auto& w = ctx.reply();
  w.ArrayHeader(ctx.argc() - 2);
  for (size_t i = 2; i < ctx.argc(); ++i) {
    Lookup found = Find(ctx.arg(i));
    if (found.doc == nullptr) {
      w.Null();
    } else if (found.sub != nullptr) {
      WriteSubcommandInfo(w, *found.doc, *found.sub);
    } else {
      WriteCommandInfo(w, *found.doc);
    }
  }
}

// COMMAND DOCS [name ...]: a map of name → documentation; unknown names are left out.
void Docs(CommandContext& ctx) {
  std::vector<std::pair<std::string, Lookup>> found;
  if (ctx.argc() == 2) {
    for (const CommandSpec& spec : Table().all()) {
      found.emplace_back(std::string(spec.name), Lookup{&DocFor(spec), nullptr});
    }
  }
  for (size_t i = 2; i < ctx.argc(); ++i) {
    Lookup lookup = Find(ctx.arg(i));
    if (lookup.doc == nullptr) continue;
    std::string name(ctx.arg(i));
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    found.emplace_back(std::move(name), lookup);
  }
  auto& w = ctx.reply();
  w.MapHeader(found.size());
  for (const auto& [name, lookup] : found) {
    w.Bulk(name);
    if (lookup.sub != nullptr) {
      WriteSubcommandDoc(w, *lookup.doc, *lookup.sub);
    } else {
      WriteCommandDoc(w, *lookup.doc);
    }
  }
}

bool InCategory(const CommandSpec& spec, std::string_view category) {
  for (std::string_view c : AclCategories(spec)) {
    if (EqualsIgnoreCase(c.substr(1), category)) return true;
  }
  return false;
}

// Command names are lower case; patterns match them in any case.
bool GlobMatches(std::string_view pattern, const std::string& name) {
  std::string lower(pattern);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return GlobMatch(lower, name);
}

// COMMAND LIST [FILTERBY MODULE name | ACLCAT category | PATTERN pattern]: every command and
// subcommand name ("config|get"), as Redis lists them.
void List(CommandContext& ctx) {
  std::string_view filter, value;
  if (ctx.argc() != 2) {
    if (ctx.argc() != 5 || !EqualsIgnoreCase(ctx.arg(2), "FILTERBY")) {
      return ctx.reply().Error(errors::kSyntax);
    }
    filter = ctx.arg(3);
    value = ctx.arg(4);
    if (!EqualsIgnoreCase(filter, "MODULE") && !EqualsIgnoreCase(filter, "ACLCAT") &&
        !EqualsIgnoreCase(filter, "PATTERN")) {
      return ctx.reply().Error(errors::kSyntax);
    }
  }
  std::vector<std::string> names;
  for (const CommandSpec& spec : Table().all()) {
    if (EqualsIgnoreCase(filter, "MODULE")) break;  // no modules: nothing comes from one
    if (EqualsIgnoreCase(filter, "ACLCAT") && !InCategory(spec, value)) continue;
    std::vector<std::string> candidates{std::string(spec.name)};
    for (const SubcommandDoc& sub : DocFor(spec).subcommands) {
      candidates.push_back(std::string(spec.name) + "|" + sub.name);
    }
    for (std::string& name : candidates) {
      if (EqualsIgnoreCase(filter, "PATTERN") && !GlobMatches(value, name)) continue;
      names.push_back(std::move(name));
    }
  }
  auto& w = ctx.reply();
  w.ArrayHeader(names.size());
  for (const std::string& name : names) w.Bulk(name);
}

// COMMAND GETKEYS command arg...: the key arguments, from the spec's key positions.
void GetKeys(CommandContext& ctx) {
  if (ctx.argc() < 4) return ctx.reply().Error(errors::WrongArity("command|getkeys"));
  auto command = ctx.args().subspan(2);
  const CommandSpec* spec = Table().Find(command[0]);
  if (spec == nullptr) return ctx.reply().Error(errors::kGetKeysUnknownCommand);
  if (!CommandTable::ArityOk(*spec, command.size())) {
    return ctx.reply().Error(errors::kGetKeysArity);
  }
  if (spec->flags & kNumKeys) {  // EVAL script numkeys key…
    const std::optional<int64_t> count = ParseInt64(command[2]);
    if (!count || *count < 0 || *count > static_cast<int64_t>(command.size()) - 3) {
      return ctx.reply().Error(errors::kGetKeysArity);
    }
    ctx.reply().BulkArray(command.data() + 3, static_cast<size_t>(*count));
    return;
  }
  if (spec->first_key <= 0) return ctx.reply().Error(errors::kGetKeysNoKeys);
  int64_t last =
      spec->last_key >= 0 ? spec->last_key : static_cast<int64_t>(command.size()) + spec->last_key;
  last = std::min<int64_t>(last, static_cast<int64_t>(command.size()) - 1);
  int64_t step = std::max(spec->key_step, 1);
  std::vector<std::string_view> keys;
  for (int64_t i = spec->first_key; i <= last; i += step) keys.push_back(command[i]);
  ctx.reply().BulkArray(keys.data(), keys.size());
}

void Help(CommandContext& ctx) {
  static constexpr std::string_view kLines[] = {
      "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
      "(no subcommand)",
      "    Return details about all commands.",
      "COUNT",
      "    Return the total number of commands in this server.",
      "LIST [FILTERBY (MODULE <module-name>|ACLCAT <category>|PATTERN <pattern>)]",
      "    Return a list of all commands in this server.",
      "INFO [<command-name> ...]",
      "    Return details about multiple commands (all commands if none is given).",
      "DOCS [<command-name> ...]",
      "    Return documentation details about multiple commands (all if none is given).",
      "GETKEYS <full-command>",
      "    Return the keys from a full command.",
      "HELP",
      "    Print this help."};
  ReplyHelp(ctx, kLines);
}

void Command(CommandContext& ctx) {
  if (ctx.argc() == 1) return AllCommands(ctx);
  static constexpr std::pair<std::string_view, Handler> kSubcommands[] = {
      {"count", Count}, {"info", Info},       {"docs", Docs},
      {"list", List},   {"getkeys", GetKeys}, {"help", Help}};
  for (const auto& [name, handler] : kSubcommands) {
    if (EqualsIgnoreCase(ctx.arg(1), name)) return handler(ctx);
  }
  ctx.reply().Error(errors::UnknownSubcommand(ctx.arg(1), "COMMAND"));
}

}  // namespace

void RegisterIntrospectionCommands(CommandTable& table) {
  table.Register({"command", -1, 0, 0, 0, 0, Command, "server",
                  "Returns details about commands: their count, arguments, documentation.",
                  "[COUNT | INFO [command-name [command-name ...]] | "
                  "DOCS [command-name [command-name ...]] | "
                  "LIST [FILTERBY <MODULE module-name|ACLCAT category|PATTERN pattern>] | "
                  "GETKEYS command [arg [arg ...]] | HELP]"});
}

}  // namespace arvel::server
