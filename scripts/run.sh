#!/usr/bin/env bash
# Installs what is missing, builds arvel-cached, and starts it on 127.0.0.1:6380 with the
# in-memory `array` store. Extra arguments go to the daemon (e.g. --port 7000, --config x.toml).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DARVEL_TESTS=OFF -DARVEL_BENCH=OFF >/dev/null
cmake --build build -j"$(nproc)" --target arvel-cached
exec build/arvel-cached "$@"
