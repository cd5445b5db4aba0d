#include "server/command_table.h"

#include <cctype>
#include <string>

#include "absl/strings/string_view.h"

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
