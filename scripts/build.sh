#!/usr/bin/env bash
# Builds the daemon alone (release, no tests or benchmarks): BUILD_DIR/arvel-cached.
# Usage: scripts/build.sh [BUILD_DIR]   (default: build). Used by scripts/run.sh and by
# docker/Dockerfile's build stage; the packages come from `scripts/install-deps.sh build`.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build}
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Release -DARVEL_TESTS=OFF -DARVEL_BENCH=OFF >/dev/null
cmake --build "$dir" -j"$(nproc)" --target arvel-cached
