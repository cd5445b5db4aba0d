#!/usr/bin/env bash
# Installs what is missing, builds arvel-cached, and starts it on 127.0.0.1:6380 with the
# in-memory `array` store. Extra arguments go to the daemon (e.g. --port 7000, --config x.toml).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh build
scripts/build.sh build
exec build/arvel-cached "$@"
