#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test:
#   1. unit + integration tests (GoogleTest, redis-cli, python3-redis) on a release build,
#   2. the same tests under AddressSanitizer + UndefinedBehaviorSanitizer,
#   3. the same tests under ThreadSanitizer,
#   4. each libFuzzer target for a short run (clang),
#   5. a quick side-by-side benchmark smoke run against redis-server,
#   6. the container image: docker/test-image.sh builds docker/Dockerfile with podman and runs the
#      image's binary as its user (as root; ARVEL_TEST_IMAGE=0 skips it).
# It starts PostgreSQL on 127.0.0.1 (scripts/start-postgres.sh, as root) for the database driver's
# tests, unless ARVEL_TEST_POSTGRES_URL already names one.
# Set ARVEL_TEST_QUICK=1 to skip steps 2-6.
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

# In CI nothing may be skipped (README "Testing"): each ctest run writes every test's output to a
# JUnit file, and a GoogleTest "[  SKIPPED ] Suite.Test" line, or a script test's "SKIP <what>"
# line, fails the run, naming the tests. Elsewhere the skips are only listed.
ctest_junit_args=(--output-junit ctest-junit.xml --test-output-size-passed 100000000)
# Prints the skipped tests found in the given ctest JUnit files, one a line.
skipped_tests() {
  grep -ahoE '\[  SKIPPED \] [A-Za-z_][^ <]*|(^|<system-out>)SKIP [^<]*' "$@" |
    sed -E 's/^<system-out>//; s/^\[  SKIPPED \] //' | sort -u
}
# Fails in CI when the ctest run whose JUnit file is $1 skipped any test other than the ones
# named after it; lists them otherwise.
check_no_skips() {
  local junit=$1 skipped
  shift
  [ -f "$junit" ] || { echo "no $junit: did ctest run?" >&2; return 1; }
  skipped=$(skipped_tests "$junit" | grep -vxF -f <(printf '%s\n' "$@")) || true
  [ -z "$skipped" ] && return 0
  printf 'skipped tests (%s):\n%s\n' "$junit" "$skipped" >&2
  if [ "${CI:-}" = true ]; then
    echo "in CI no test may skip itself: provide what it needs or fix the test" >&2
    return 1
  fi
}

echo "== build and test (release)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$jobs"
(cd build && ctest --output-on-failure -j1 "${ctest_junit_args[@]}")
check_no_skips build/ctest-junit.xml

# Redis 7.0's own test files (from Debian's redis source package) against the release build.
echo "== Redis 7.0's own tests (tests/redis_suite)"
ARVEL_BINARY=build/arvel-cached timeout 1800 tests/redis_suite/run.sh
[ "${ARVEL_TEST_QUICK:-0}" = 1 ] && exit 0

echo "== build and test (ASan + UBSan)"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DARVEL_SANITIZE=ON -DARVEL_BENCH=OFF >/dev/null
cmake --build build-asan -j"$jobs"
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --output-on-failure -j1 "${ctest_junit_args[@]}")
check_no_skips build-asan/ctest-junit.xml

# Data races between the loop thread, the stores' worker threads and the tests' own threads.
# -O1 keeps it about as fast as the ASan step (~2 minutes of tests). Every process writes its
# reports to build-tsan/tsan-reports: the test binaries and also the daemons the black-box tests
# start, whose stderr a test may not look at; any report fails the step.
echo "== build and test (ThreadSanitizer)"
cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-g -O1" \
  -DCMAKE_C_FLAGS_DEBUG="-g -O1" -DARVEL_TSAN=ON -DARVEL_BENCH=OFF >/dev/null
cmake --build build-tsan -j"$jobs"
tsan_reports=$PWD/build-tsan/tsan-reports
rm -rf "$tsan_reports" && mkdir -p "$tsan_reports"
tsan_options="halt_on_error=1 second_deadlock_stack=1 log_path=$tsan_reports/tsan"
tsan_options+=" suppressions=$PWD/tests/tsan_suppressions.txt"  # third-party false positives
tsan_status=0
(cd build-tsan && TSAN_OPTIONS=$tsan_options ctest --output-on-failure -j1 \
  "${ctest_junit_args[@]}") || tsan_status=$?
if compgen -G "$tsan_reports/tsan.*" >/dev/null; then
  cat "$tsan_reports"/tsan.*
  echo "ThreadSanitizer reported the problems above" >&2
  exit 1
fi
[ "$tsan_status" = 0 ] || exit "$tsan_status"
check_no_skips build-tsan/ctest-junit.xml

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
bench/suite.sh --quick build/arvel-cached

if [ "${ARVEL_TEST_IMAGE:-1}" = 1 ]; then
  echo "== container image"
  if [ "$(id -u)" = 0 ]; then
    timeout 3600 docker/test-image.sh
  else
    echo "skipped: docker/test-image.sh needs root (podman build --isolation chroot, chroot)"
  fi
fi
echo "all tests passed"
