#pragma once
// The command table: every command the daemon knows, registered by its family
// (server/commands/*.cc), looked up case-insensitively by name. COMMAND COUNT/INFO/DOCS/LIST
// answer from it.

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "server/command.h"

namespace arvel::server {

class CommandTable {
 public:
  // The table with every command family registered.
  static const CommandTable& Default();

  void Register(const CommandSpec& spec);
  // nullptr when unknown. `name` in any case.
  const CommandSpec* Find(std::string_view name) const;
  // Every command, in registration order.
  const std::vector<CommandSpec>& all() const { return specs_; }
  // The name INFO commandstats counts a call under: "config|resetstat" for a known subcommand
  // of a container command, as Redis 7 does; else the command's name. Does not allocate.
  std::string_view StatsName(const CommandSpec& spec,
                             std::span<const std::string_view> args) const;
  // Learns every container's subcommands (from its documentation) once all are registered.
  void IndexSubcommands();

  // True when `argc` (name included) satisfies the spec's arity.
  static bool ArityOk(const CommandSpec& spec, size_t argc) {
    return spec.arity >= 0 ? argc == static_cast<size_t>(spec.arity)
                           : argc >= static_cast<size_t>(-spec.arity);
  }

 private:
  std::vector<CommandSpec> specs_;
  std::vector<std::vector<std::string>> subcommands_;  // specs_[i]'s "name|sub" names
  absl::flat_hash_map<std::string, size_t> index_;
};

// Each family adds its commands (one file each under server/commands/).
void RegisterConnectionCommands(CommandTable& table);
void RegisterServerCommands(CommandTable& table);
void RegisterStringCommands(CommandTable& table);
void RegisterBitCommands(CommandTable& table);
void RegisterKeyCommands(CommandTable& table);
void RegisterCacheCommands(CommandTable& table);
void RegisterStoreCommands(CommandTable& table);
void RegisterTransactionCommands(CommandTable& table);
void RegisterIntrospectionCommands(CommandTable& table);
void RegisterLockCommands(CommandTable& table);
void RegisterFunnelCommands(CommandTable& table);
void RegisterRememberCommands(CommandTable& table);
void RegisterTagCommands(CommandTable& table);
void RegisterThrottleCommands(CommandTable& table);
void RegisterScriptCommands(CommandTable& table);
void RegisterDiagnosticCommands(CommandTable& table);
void RegisterObjectCommands(CommandTable& table);

}  // namespace arvel::server
