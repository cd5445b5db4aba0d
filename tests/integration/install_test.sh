#!/usr/bin/env bash
# `cmake --install` of the build that made $ARVEL_BINARY, into a temporary DESTDIR: the binary,
# the example cache.toml (never overwriting an existing one) and the systemd unit, which must
# pass `systemd-analyze verify` without a warning and score "OK" in `systemd-analyze security`
# (both skipped where systemd-analyze is missing; scripts/install-deps.sh installs it).
# Prints "N passed, M failed" and exits non-zero on any failure.
set -uo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
binary="$(readlink -f "${ARVEL_BINARY:-$here/../../build/arvel-cached}")"
build="$(dirname "$binary")"
work="$(mktemp -d "${TMPDIR:-/tmp}/arvel-install-XXXXXX")"
trap 'rm -rf "$work"' EXIT
passed=0
failed=0

check() {  # check NAME COMMAND...
  local name=$1
  shift
  if "$@" >"$work/out" 2>&1; then
    passed=$((passed + 1)); echo "PASS $name"
  else
    failed=$((failed + 1)); echo "FAIL $name"; sed 's/^/     /' "$work/out"
  fi
}

cache_value() { sed -n "s/^$1:[A-Z]*=//p" "$build/CMakeCache.txt"; }
prefix=$(cache_value CMAKE_INSTALL_PREFIX)
unit_dir=$(cache_value ARVEL_SYSTEMD_UNIT_DIR)
root=$work/root

check "cmake --install into DESTDIR" env DESTDIR="$root" cmake --install "$build"
bin=$root$prefix/bin/arvel-cached
unit=$root$unit_dir/arvel-cached.service
config_path=$(sed -n 's/^ExecStart=.* --config //p' "$unit" 2>/dev/null)
check "binary installed and runs" "$bin" --version
check "unit installed" test -f "$unit"
check "example config installed where the unit reads it ($config_path)" test -f "$root$config_path"
check "example config installed as documentation" \
  test -f "$root$prefix/share/doc/arvel-cached/cache.toml.example"

# The unit's environment and configuration are accepted by the binary.
mapfile -t unit_env < <(sed -n 's/^Environment=//p' "$unit" | sed 's|%S|/var/lib|g')
check "the unit's configuration is valid (--check-config)" \
  env -i "${unit_env[@]}" "$bin" --config "$root$config_path" --check-config

echo 'default = "null"' >>"$root$config_path"
check "a second install keeps an edited cache.toml" bash -c \
  "DESTDIR='$root' cmake --install '$build' >/dev/null && grep -q '^default = \"null\"' '$root$config_path'"

for option in DynamicUser=yes StateDirectory=arvel-cached ProtectSystem=strict \
    NoNewPrivileges=yes ProtectHome=yes PrivateTmp=yes CapabilityBoundingSet= \
    SystemCallFilter=@system-service; do
  check "unit sets $option" grep -qx "$option" "$unit"
done

if command -v systemd-analyze >/dev/null; then
  # verify checks ExecStart's binary on the real root: point it at the one in DESTDIR.
  sed "s|^ExecStart=|ExecStart=$root|" "$unit" >"$work/arvel-cached.service"
  verify() {
    systemd-analyze verify --man=no "$work/arvel-cached.service" >"$work/verify" 2>&1
    local status=$?
    cat "$work/verify"
    [ "$status" = 0 ] && [ ! -s "$work/verify" ]
  }
  check "systemd-analyze verify: no error, no warning" verify
  security() {
    local level
    systemd-analyze security --offline=yes --no-pager "$work/arvel-cached.service" >"$work/security" 2>&1
    level=$(sed -n 's/.*Overall exposure level for arvel-cached.service: \([0-9.]*\).*/\1/p' "$work/security")
    echo "exposure level: ${level:-?}"
    [ -n "$level" ] && awk -v l="$level" 'BEGIN { exit !(l <= 2.0) }'
  }
  check "systemd-analyze security: exposure level at most 2.0" security
else
  echo "SKIP systemd-analyze checks: systemd-analyze is not installed"
fi

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
