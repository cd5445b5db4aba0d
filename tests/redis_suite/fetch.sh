#!/usr/bin/env bash
# Fetches Redis 7.0's test suite from Debian's own `redis` source package into a cache directory
# outside the repository, and prints the unpacked source directory. Idempotent: a directory
# fetched before is reused. Needs tclsh to run the tests (installed here when missing and root)
# and dpkg-dev for `apt-get source` to unpack.
#
#   ARVEL_REDIS_TESTS_CACHE  cache directory (default ${XDG_CACHE_HOME:-/var/cache}/arvel-redis-tests)
set -euo pipefail

cache="${ARVEL_REDIS_TESTS_CACHE:-${XDG_CACHE_HOME:-/var/cache}/arvel-redis-tests}"
mkdir -p "$cache"

as_root() {
  if [[ $(id -u) -eq 0 ]]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "fetch.sh: '$*' needs root" >&2
    return 1
  fi
}

find_source() {
  local dir
  for dir in "$cache"/redis-7.0.*/; do
    [[ -f "$dir/tests/test_helper.tcl" && -x "$dir/runtest" ]] && { echo "${dir%/}"; return 0; }
  done
  return 1
}

apt_updated=0
install_missing() {  # install_missing COMMAND PACKAGE
  command -v "$1" >/dev/null && return 0
  if [[ $apt_updated -eq 0 ]]; then as_root apt-get update -qq >&2; apt_updated=1; fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >&2
}

install_missing tclsh tcl

if ! find_source >/dev/null; then
  # A deb-src entry beside each deb entry of the system's Debian sources.
  if ! grep -rqs '^Types:.*deb-src\|^deb-src ' /etc/apt/sources.list /etc/apt/sources.list.d/; then
    src=/etc/apt/sources.list.d/debian.sources
    if [[ ! -f $src ]]; then
      echo "fetch.sh: no deb-src entry and no $src to mirror" >&2
      exit 1
    fi
    sed 's/^Types: deb$/Types: deb-src/' "$src" |
      as_root tee /etc/apt/sources.list.d/debian-src.sources >/dev/null
  fi
  as_root apt-get update -qq >&2
  apt_updated=1
  install_missing dpkg-source dpkg-dev
  (cd "$cache" && apt-get source -qq redis >&2)
fi

dir="$(find_source)" || {
  echo "fetch.sh: Debian's redis source has no Redis 7.0 test suite under $cache" >&2
  exit 1
}
echo "$dir"
