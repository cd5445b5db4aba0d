#pragma once
// Logging setup: spdlog to stderr, as text or as JSON lines (SPEC §1).

#include "common/status.h"
#include "config/config.h"

namespace arvel::server {

// Installs the stderr logger with the configured level and format.
void SetUpLogging(const config::ServerConfig& config);

}  // namespace arvel::server
