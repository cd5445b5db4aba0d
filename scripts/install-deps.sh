#!/usr/bin/env bash
# Installs every Debian package arvel-cached needs to build, test and benchmark (idempotent).
set -euo pipefail
packages=(
  build-essential cmake pkg-config clang libclang-rt-14-dev
  libuv1-dev libhiredis-dev libspdlog-dev libtoml11-dev libcli11-dev nlohmann-json3-dev
  libsqlite3-dev libpq-dev libssl-dev libabsl-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  redis-server redis-tools python3-redis postgresql
)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Debian starts redis-server on 6379 when installed; the tests start their own on free ports.

# ioredis for the Node client test (tests/integration/node_client_test.js), when npm is here.
if command -v npm >/dev/null 2>&1 && [ ! -d tests/integration/node_modules/ioredis ]; then
  (cd "$(dirname "$0")/../tests/integration" &&
    npm install --no-audit --no-fund --silent >/dev/null 2>&1) ||
    echo "npm install of ioredis failed: the Node client test will be skipped"
fi
