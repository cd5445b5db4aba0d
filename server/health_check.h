#pragma once
// `arvel-cached --ping`: the health check of the container image and of monitoring scripts.

#include "config/config.h"

namespace arvel::server {

// Connects to the address `config` makes the daemon listen on (a wildcard bind address such as
// 0.0.0.0 or :: is reached through loopback), sends AUTH first when a password is set, then
// PING, and returns the process exit code: 0 when the reply is PONG, 1 otherwise (with one line
// on stderr saying why). Gives up after two seconds.
int Ping(const config::Config& config);

}  // namespace arvel::server
