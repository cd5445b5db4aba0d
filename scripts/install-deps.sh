#!/usr/bin/env bash
# Installs the Debian 12 packages arvel-cached needs (idempotent), by group:
#   build   compiler, cmake and the -dev libraries: enough for scripts/build.sh
#           (docker/Dockerfile's build stage runs `scripts/install-deps.sh build`)
#   test    everything the test command needs besides: GoogleTest, Google Benchmark, clang,
#           redis-server, PostgreSQL, python3-redis, Node.js + npm (and ioredis from npm for
#           the Node tests), podman + mmdebstrap (the container image test), systemd
#           (`systemd-analyze verify` of the unit), tcl + dpkg-dev (Redis's own Tcl tests, from
#           `apt-get source redis`: tests/redis_suite)
# With no argument: every group.
set -euo pipefail
cd "$(dirname "$0")/.."
groups=("$@")
[ ${#groups[@]} -gt 0 ] || groups=(build test)

build_packages=(
  build-essential cmake pkg-config
  libuv1-dev libhiredis-dev libspdlog-dev libtoml11-dev libcli11-dev nlohmann-json3-dev
  libsqlite3-dev libpq-dev libssl-dev libabsl-dev liblua5.1-0-dev lua-cjson-dev lua-bitop-dev
)
test_packages=(
  clang libclang-rt-14-dev libgtest-dev libgmock-dev libbenchmark-dev
  redis-server redis-tools python3-redis postgresql
  podman mmdebstrap uidmap fuse-overlayfs curl python3-yaml
  systemd tcl dpkg-dev
)

packages=()
for group in "${groups[@]}"; do
  case "$group" in
    build) packages+=("${build_packages[@]}") ;;
    test) packages+=("${test_packages[@]}") ;;
    *) echo "install-deps.sh: unknown group '$group' (build, test)" >&2; exit 2 ;;
  esac
done
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
# Node.js with npm: Debian's nodejs + npm, unless a node and npm are already there.
if [[ " ${groups[*]} " == *" test "* ]] && ! { command -v node && command -v npm; } >/dev/null; then
  missing+=(nodejs npm)
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Debian starts redis-server on 6379 when installed; the tests start their own on free ports.

# ioredis (npm) for the Node client test and the Node example, as locked in package-lock.json.
if [[ " ${groups[*]} " == *" test "* ]]; then
  for dir in tests/integration examples/node; do
    [ -d "$dir/node_modules/ioredis" ] && continue
    echo "npm ci in $dir"
    (cd "$dir" && npm ci --no-audit --no-fund --silent)
  done
fi
