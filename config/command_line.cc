// The command line of SPEC §1, parsed with CLI11. CLI11 reports --help and errors by throwing;
// they are caught here and turned into an exit code, so that main() and the tests decide what
// happens next. Integer flags are read as text and converted here, so a bad one is refused
// naming the flag and the range its option has in the options table; everything else is
// checked by LoadConfig against the same table as cache.toml and the environment.

#include <CLI/CLI.hpp>
#include <algorithm>
#include <charconv>
#include <iostream>
#include <limits>
#include <string>

#include "config/config.h"
#include "config/options.h"

namespace arvel::config {
namespace {

constexpr int kUsageError = 2;

std::string OneLine(std::string text) {
  for (char& c : text) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  while (!text.empty() && text.back() == ' ') text.pop_back();
  return text;
}

// The value of the integer flag `flag` (an option of the table), or "--port: 'abc' is not an
// integer in 0–65535".
Result<int> FlagInteger(std::string_view flag, const std::string& text) {
  const Option* option = nullptr;
  for (const Option& o : Options()) {
    if (o.flag == flag) option = &o;
  }
  const int64_t min = option ? option->min : std::numeric_limits<int>::min();
  const int64_t max = option ? std::min<int64_t>(option->max, std::numeric_limits<int>::max())
                             : std::numeric_limits<int>::max();
  int64_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error == std::errc() && end == text.data() + text.size() && value >= min && value <= max) {
    return static_cast<int>(value);
  }
  return Status::Error(std::string(flag) + ": '" + OneLine(text) + "' is not an integer in " +
                       std::to_string(min) + "–" + std::to_string(max));
}

}  // namespace

ParsedArgs ParseCommandLine(int argc, char** argv) {
  return ParseCommandLine(argc, argv, std::cout, std::cerr);
}

ParsedArgs ParseCommandLine(int argc, const char* const* argv, std::ostream& out,
                            std::ostream& err) {
  CLI::App app("arvel-cached: a cache daemon speaking the Redis protocol.", "arvel-cached");
  app.footer(EnvironmentHelp());
  std::string config_path, bind, port, store, log_level;
  bool version = false;
  ParsedArgs parsed;
  CLI::Option* config_option = app.add_option("--config", config_path,
                                              "Config file (default: $CACHE_CONFIG, else "
                                              "./cache.toml if it exists)")
                                   ->type_name("PATH");
  CLI::Option* bind_option =
      app.add_option("--bind", bind, "Address to listen on (server.bind)")->type_name("ADDR");
  CLI::Option* port_option =
      app.add_option("--port", port, "Port to listen on, 0 = any free port (server.port)")
          ->type_name("N");
  CLI::Option* store_option =
      app.add_option("--store", store, "Store that new connections use (default)")
          ->type_name("NAME");
  CLI::Option* level_option =
      app.add_option("--log-level", log_level, "trace|debug|info|warn|error (server.log_level)")
          ->type_name("LEVEL");
  app.add_flag("--check-config", parsed.line.check_config,
               "Validate and print the effective configuration, then exit");
  app.add_flag("--ping", parsed.line.ping,
               "Send PING to the configured address (AUTH first if a password is set); exit 0 "
               "on PONG, else 1. For health checks");
  app.add_flag("--version", version, "Print the version and exit");

  try {
    app.parse(argc > 0 ? argc : 0, argv);
  } catch (const CLI::CallForHelp&) {
    out << app.help();
    parsed.exit_code = 0;
    return parsed;
  } catch (const CLI::ParseError& e) {
    err << "arvel-cached: " << OneLine(e.what()) << " (see --help)\n";
    parsed.exit_code = kUsageError;
    return parsed;
  }
  if (version) {
    out << "arvel-cached " << ARVEL_VERSION << "\n";
    parsed.exit_code = 0;
    return parsed;
  }
  if (config_option->count() > 0) parsed.line.config_path = config_path;
  if (bind_option->count() > 0) parsed.line.bind = bind;
  if (port_option->count() > 0) {
    Result<int> value = FlagInteger("--port", port);
    if (!value.ok()) {
      err << "arvel-cached: " << value.status().message() << " (see --help)\n";
      parsed.exit_code = kUsageError;
      return parsed;
    }
    parsed.line.port = *value;
  }
  if (store_option->count() > 0) parsed.line.store = store;
  if (level_option->count() > 0) parsed.line.log_level = log_level;
  return parsed;
}

}  // namespace arvel::config
