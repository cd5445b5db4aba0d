#pragma once
// Container commands (LOCK, THROTTLE, TAGS): a table of subcommands, each with its own arity,
// looked up case-insensitively. One lookup serves them all, so the arity and unknown-subcommand
// errors read the same everywhere ("wrong number of arguments for 'lock|acquire' command").

#include <cstddef>
#include <limits>
#include <span>
#include <string>
#include <string_view>

#include "common/errors.h"
#include "server/command.h"
#include "server/commands/arguments.h"

namespace arvel::server {

inline constexpr size_t kAnyArgc = std::numeric_limits<size_t>::max();

template <typename Run>
struct Subcommand {
  std::string_view name;  // lower case
  size_t min_argc;        // arguments of the whole request, command name included
  size_t max_argc;        // kAnyArgc: no upper bound
  Run run;
};

// The entry of `table` named `name` that accepts the request's argument count. Otherwise replies
// with the wrong-arity or unknown-subcommand error of `command` and returns nullptr.
template <typename Run, size_t N>
const Subcommand<Run>* FindSubcommand(CommandContext& ctx, const Subcommand<Run> (&table)[N],
                                      std::string_view name, std::string_view command) {
  for (const Subcommand<Run>& candidate : table) {
    if (!EqualsIgnoreCase(name, candidate.name)) continue;
    if (ctx.argc() >= candidate.min_argc && ctx.argc() <= candidate.max_argc) return &candidate;
    ctx.reply().Error(errors::WrongArity(std::string(command) + "|" + std::string(candidate.name)));
    return nullptr;
  }
  ctx.reply().Error(errors::UnknownSubcommand(name, command));
  return nullptr;
}

// A HELP subcommand's reply: one status line each, as Redis writes its help.
inline void ReplyHelp(CommandContext& ctx, std::span<const std::string_view> lines) {
  ctx.reply().ArrayHeader(lines.size());
  for (std::string_view line : lines) ctx.reply().Simple(line);
}

}  // namespace arvel::server
