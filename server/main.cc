// arvel-cached: a cache daemon speaking the Redis protocol. See README.md and SPEC.md §1.

#include <spdlog/spdlog.h>

#include <csignal>
#include <cstdio>

#include "config/config.h"
#include "server/health_check.h"
#include "server/logging.h"
#include "server/server.h"

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);  // a client that hangs up must not kill the daemon
  arvel::config::ParsedArgs args = arvel::config::ParseCommandLine(argc, argv);
  if (args.exit_code) return *args.exit_code;

  const arvel::config::Environment env = arvel::config::ProcessEnvironment();
  auto config = arvel::config::LoadConfig(args.line, env);
  if (!config.ok()) {
    std::fprintf(stderr, "arvel-cached: %s\n", config.status().message().c_str());
    return 2;
  }
  if (args.line.check_config) {
    std::fputs(arvel::config::Describe(*config).c_str(), stdout);
    return 0;
  }
  if (args.line.ping) return arvel::server::Ping(*config);
  arvel::server::SetUpLogging(config->server);
  for (const std::string& line : arvel::config::DescribeSources(*config, args.line, env)) {
    spdlog::info("{}", line);
  }
  arvel::server::Server server(std::move(*config));
  arvel::Status listening = server.Listen();
  if (!listening.ok()) {
    spdlog::error("{}", listening.message());
    return 1;
  }
  return server.Run();
}
