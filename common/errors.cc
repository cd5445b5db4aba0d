#include "common/errors.h"

#include <algorithm>
#include <cctype>

namespace arvel::errors {

namespace {
std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}
// Redis truncates the echoed arguments so a garbage command cannot produce a huge error.
std::string Clip(std::string_view s) { return std::string(s.substr(0, 128)); }
}  // namespace

std::string UnknownCommand(std::string_view name, const std::string_view* args, size_t nargs) {
  std::string out = "ERR unknown command '" + Clip(name) + "', with args beginning with: ";
  for (size_t i = 0; i < nargs && out.size() < 512; ++i) out += "'" + Clip(args[i]) + "' ";
  return out;
}

std::string WrongArity(std::string_view name) {
  return "ERR wrong number of arguments for '" + Lower(name) + "' command";
}

std::string UnknownSubcommand(std::string_view sub, std::string_view command) {
  std::string upper(command);
  std::transform(upper.begin(), upper.end(), upper.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return "ERR unknown subcommand '" + Clip(sub) + "'. Try " + upper + " HELP.";
}

std::string StoreUnavailable(std::string_view store, std::string_view reason) {
  return "ERR store '" + std::string(store) + "' unavailable: " + std::string(reason);
}

std::string SharedStoreTransaction(std::string_view store) {
  return "ERR store '" + std::string(store) +
         "' is shared with other daemons, which MULTI/EXEC cannot isolate: a transaction on it "
         "may hold one command that reads or writes keys (each command is atomic on its own; "
         "pipeline without MULTI, use PUTMANY/MANY, or set daemons = \"one\" if no other daemon "
         "uses it)";
}

std::string NoAccessTimes(std::string_view store) {
  return "ERR store '" + std::string(store) +
         "' does not keep access times: OBJECT IDLETIME works on in-memory (array) stores";
}

std::string ScriptNeedsInlineStore(std::string_view store) {
  return "ERR scripts run only on stores that answer at once (array, null, FAKE): store '" +
         std::string(store) +
         "' completes its commands later, so a script on it could not keep other clients out "
         "between its calls (each command is atomic on its own; use one command such as "
         "PUTMANY or SET … GET, or LOCK)";
}

std::string SharedStoreWatch(std::string_view store) {
  return "ERR WATCH is not supported on store '" + std::string(store) +
         "': it is shared with other daemons, whose writes cannot be watched reliably (set "
         "daemons = \"one\" if no other daemon uses it)";
}

std::string InvalidExpire(std::string_view command) {
  return "ERR invalid expire time in '" + Lower(command) + "' command";
}

std::string UnsupportedOption(std::string_view option) {
  return "ERR Unsupported option " + Clip(option);
}

std::string NoSuchStore(std::string_view name) { return "ERR no such store '" + Clip(name) + "'"; }

std::string AssertionFailed(std::string_view detail) {
  return "ERR assertion failed: " + std::string(detail);
}

}  // namespace arvel::errors
