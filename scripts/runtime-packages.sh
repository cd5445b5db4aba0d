#!/usr/bin/env bash
# Prints the Debian packages that hold the shared libraries BINARY links directly, one a line:
# what a runtime image must install to run it (docker/Dockerfile); apt brings their own
# dependencies. Fails if a library is not found or belongs to no package.
set -euo pipefail
binary=${1:?usage: runtime-packages.sh BINARY}
paths=$(ldd "$binary")
for needed in $(objdump -p "$binary" | awk '$1 == "NEEDED" { print $2 }'); do
  lib=$(awk -v name="$needed" '$1 == name && $2 == "=>" { print $3 }' <<<"$paths")
  [ -n "$lib" ] && [ "$lib" != "not" ] || { echo "runtime-packages.sh: $needed not found" >&2; exit 1; }
  real=$(readlink -f "$lib")
  # dpkg records a file under /lib or /usr/lib (merged /usr): match the multiarch folder + name.
  pattern="*/$(basename "$(dirname "$real")")/$(basename "$real")"
  owner=$(dpkg -S "$pattern" 2>/dev/null | head -n1 | cut -d: -f1) || true
  [ -n "$owner" ] || { echo "runtime-packages.sh: no package holds $real" >&2; exit 1; }
  echo "$owner"
done | sort -u
