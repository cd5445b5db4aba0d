#include "server/command_table.h"

#include <cctype>
#include <string>

#include "absl/strings/string_view.h"
#include "common/numbers.h"
#include "server/command_docs.h"

namespace arvel::server {

namespace {
constexpr size_t kMaxNameLength = 64;

CommandTable BuildDefault() {
  CommandTable table;
  for (auto* family :
       {RegisterConnectionCommands, RegisterServerCommands, RegisterStringCommands,
        RegisterBitCommands, RegisterKeyCommands, RegisterCacheCommands, RegisterStoreCommands,
        RegisterTransactionCommands, RegisterIntrospectionCommands, RegisterLockCommands,
        RegisterFunnelCommands, RegisterRememberCommands, RegisterTagCommands,
        RegisterThrottleCommands, RegisterScriptCommands, RegisterDiagnosticCommands,
        RegisterObjectCommands}) {
    family(table);
  }
  table.IndexSubcommands();
  return table;
}
}  // namespace

const CommandTable& CommandTable::Default() {
  static const CommandTable table = BuildDefault();
  return table;
}

void CommandTable::Register(const CommandSpec& spec) {
  index_.emplace(std::string(spec.name), specs_.size());
  specs_.push_back(spec);
}

void CommandTable::IndexSubcommands() {
  subcommands_.assign(specs_.size(), {});
  for (size_t i = 0; i < specs_.size(); ++i) {
    for (const SubcommandDoc& sub : DocFor(specs_[i]).subcommands) {
      subcommands_[i].push_back(std::string(specs_[i].name) + "|" + sub.name);
    }
  }
}

std::string_view CommandTable::StatsName(const CommandSpec& spec,
                                         std::span<const std::string_view> args) const {
  const size_t i = static_cast<size_t>(&spec - specs_.data());
  if (&spec < specs_.data() || i >= subcommands_.size() || subcommands_[i].empty() ||
      args.size() < 2) {
    return spec.name;
  }
  for (const std::string& full : subcommands_[i]) {
    if (EqualsIgnoreCase(std::string_view(full).substr(spec.name.size() + 1), args[1])) return full;
  }
  return spec.name;
}

const CommandSpec* CommandTable::Find(std::string_view name) const {
  if (name.size() > kMaxNameLength) return nullptr;
  // Lower-case into a stack buffer: lookups happen on every request and must not allocate.
  char lower[kMaxNameLength];
  for (size_t i = 0; i < name.size(); ++i) {
    lower[i] = static_cast<char>(std::tolower(static_cast<unsigned char>(name[i])));
  }
  // absl's string_view is its own type in Debian's build (not std::string_view).
  auto it = index_.find(absl::string_view(lower, name.size()));
  return it == index_.end() ? nullptr : &specs_[it->second];
}

}  // namespace arvel::server
