#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test:
#   1. unit + integration tests (GoogleTest, redis-cli, python3-redis) on a release build,
#   2. the same tests under AddressSanitizer + UndefinedBehaviorSanitizer,
#   3. each libFuzzer target for a short run (clang),
#   4. a quick side-by-side benchmark smoke run against redis-server.
# It starts PostgreSQL on 127.0.0.1 (scripts/start-postgres.sh, as root) for the database driver's
# tests, unless ARVEL_TEST_POSTGRES_URL already names one.
# Set ARVEL_TEST_QUICK=1 to skip steps 2-4.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
jobs=$(nproc)
# The database driver's PostgreSQL tests need a real server; without one they are skipped.
if [ -z "${ARVEL_TEST_POSTGRES_URL:-}" ] && [ "$(id -u)" = 0 ]; then
  if ! ARVEL_TEST_POSTGRES_URL=$(scripts/start-postgres.sh); then
    # In CI a missing server is a failure; on a laptop the PostgreSQL tests just skip.
    [ "${CI:-}" = true ] && { echo "PostgreSQL could not be started" >&2; exit 1; }
    ARVEL_TEST_POSTGRES_URL=
  fi
  export ARVEL_TEST_POSTGRES_URL
fi

echo "== build and test (release)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$jobs"
(cd build && ctest --output-on-failure -j1)
[ "${ARVEL_TEST_QUICK:-0}" = 1 ] && exit 0

echo "== build and test (ASan + UBSan)"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DARVEL_SANITIZE=ON -DARVEL_BENCH=OFF >/dev/null
cmake --build build-asan -j"$jobs"
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --output-on-failure -j1)

echo "== fuzz (short runs)"
CC=clang CXX=clang++ cmake -S . -B build-fuzz -DARVEL_FUZZ=ON -DARVEL_TESTS=OFF \
  -DARVEL_BENCH=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fuzz_targets=$(for f in tests/fuzz/*_fuzz.cc; do basename "$f" .cc; done)
cmake --build build-fuzz -j"$jobs" --target $fuzz_targets
for target in $fuzz_targets; do
  fuzzer=build-fuzz/$target
  name=${target%_fuzz}   # resp_parser -> seeds in tests/fuzz/corpus/resp
  corpus=$(mktemp -d)                # new inputs go here, never into the seed folder
  "$fuzzer" -max_total_time="${ARVEL_FUZZ_SECONDS:-30}" -rss_limit_mb=2048 "$corpus" \
    "tests/fuzz/corpus/${name%%_*}"
  rm -rf "$corpus"
done

echo "== benchmark smoke run"
bench/compare.sh --quick build/arvel-cached
echo "all tests passed"
