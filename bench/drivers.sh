#!/usr/bin/env bash
# Store drivers side by side: the same redis-benchmark loads against one arvel-cached per store
# driver (array in memory, file on disk), on loopback. See bench/README.md.
#
#   bench/drivers.sh [--quick] [--binary PATH | PATH] [--requests N] [--clients N]
#                    [--keyspace N] [--dir PATH] [--drivers "array file sqlite"]
#
# --dir puts the on-disk stores (file tree, SQLite file) under PATH (default: a temporary
# directory, usually /tmp): their numbers are those of that file system's fsync. --drivers picks
# the stores (default "array file"). Prints req/s and p50/p99 latency per workload and driver.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
# shellcheck source=bench/lib.sh
source "$root/bench/lib.sh"
binary="$root/build/arvel-cached"
requests=20000
clients=50
keyspace=10000
run_timeout=300
data_dir=""
drivers=(array file)

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; }

while [[ $# -gt 0 ]]; do
  case "$1" in
    --quick) requests=500; keyspace=500; run_timeout=60 ;;
    --binary) binary="$2"; shift ;;
    --requests|-n) requests="$2"; shift ;;
    --clients|-c) clients="$2"; shift ;;
    --keyspace|-r) keyspace="$2"; shift ;;
    --dir) data_dir="$2"; shift ;;
    --drivers) read -r -a drivers <<<"$2"; shift ;;
    -h|--help) usage; exit 0 ;;
    -*) echo "unknown option: $1" >&2; usage >&2; exit 2 ;;
    *) binary="$1" ;;
  esac
  shift
done

command -v redis-benchmark >/dev/null || {
  echo "redis-benchmark not found (apt-get install redis-tools)" >&2
  exit 1
}
[[ -x "$binary" ]] || { echo "arvel-cached binary not found: $binary" >&2; exit 1; }
binary="$(readlink -f "$binary")"

work="$(mktemp -d "${TMPDIR:-/tmp}/arvel-drivers-XXXXXX")"
[[ -n "$data_dir" ]] || data_dir="$work"
data_dir="$(readlink -f "$data_dir")"
pids=()
cleanup() {
  stop_pids "${pids[@]}"
  rm -rf "$work" "$data_dir/arvel-bench-files" "$data_dir"/arvel-bench.sqlite*
}
trap cleanup EXIT
trap 'exit 130' INT TERM

pin_cpus

# start_arvel NAME CONFIG_TEXT -> sets $port
start_arvel() {
  local name="$1" config="$2"
  mkdir -p "$work/$name"
  printf '%s\n' "$config" >"$work/$name/cache.toml"
  ( cd "$work/$name" && exec env CACHE_PORT=1 "${server_cpu[@]}" "$binary" --bind 127.0.0.1 \
      --port 0 --config cache.toml 2>"$work/$name/arvel.log" ) &
  pids+=($!)
  port="$(wait_for_listening "$work/$name/arvel.log" "${pids[-1]}")"
  if [[ -z "$port" ]]; then
    echo "arvel-cached ($name) did not start:" >&2
    cat "$work/$name/arvel.log" >&2
    exit 1
  fi
}

# bench PORT PIPELINE ARGS... -> "req/s p50_ms p99_ms" of the single test run.
bench() {
  local port="$1" pipeline="$2"
  shift 2
  timeout "$run_timeout" "${client_cpu[@]}" redis-benchmark -h 127.0.0.1 -p "$port" -q --csv \
    -n "$requests" -c "$clients" -P "$pipeline" -r "$keyspace" "$@" 2>/dev/null |
    awk -F'","' 'NR > 1 && NF > 1 { print $2, $5, $7; exit }'
}

workloads=(
  "SET -P1|1|-t set"
  "GET -P1|1|-t get"
  "GET -P16|16|-t get"
  "PUT ttl -P1|1|PUT key:__rand_int__ value 60"
  "INCREMENT -P1|1|INCREMENT counter:__rand_int__"
)

# store_config DRIVER -> the cache.toml of a daemon whose default store uses DRIVER.
store_config() {
  case "$1" in
    array) printf 'default = "memory"\n[stores.memory]\ndriver = "array"\n' ;;
    file)
      printf 'default = "files"\n[stores.files]\ndriver = "file"\npath = "%s"\n' \
        "$data_dir/arvel-bench-files"
      ;;
    sqlite)
      printf 'default = "sql"\n[stores.sql]\ndriver = "database"\nurl = "sqlite://%s"\n' \
        "$data_dir/arvel-bench.sqlite"
      ;;
    *) return 1 ;;
  esac
}
for driver in "${drivers[@]}"; do
  store_config "$driver" >/dev/null || { echo "unknown driver: $driver" >&2; exit 2; }
done

echo "arvel-cached ($binary); requests=$requests clients=$clients keyspace=$keyspace" \
  "cpu pinning=${server_cpu[*]:-none}; file store under $data_dir"
echo
printf '%-16s %-7s %12s %10s %10s\n' "workload" "driver" "req/s" "p50 ms" "p99 ms"
printf '%-16s %-7s %12s %10s %10s\n' "--------" "------" "-----" "------" "------"
failed=0
declare -A ports
for driver in "${drivers[@]}"; do
  start_arvel "$driver" "$(store_config "$driver")"
  ports[$driver]="$port"
  bench "$port" 16 -t set >/dev/null  # preload so GETs hit
done
for workload in "${workloads[@]}"; do
  IFS='|' read -r name pipeline command <<<"$workload"
  for driver in "${drivers[@]}"; do
    # shellcheck disable=SC2086  # the command is a word list on purpose
    read -r rps p50 p99 <<<"$(bench "${ports[$driver]}" "$pipeline" $command)" || true
    printf '%-16s %-7s %12.0f %10s %10s\n' "$name" "$driver" "${rps:-0}" "${p50:--}" "${p99:--}"
    [[ -n "${rps:-}" && "${rps:-0}" != "0" ]] || failed=1
  done
done

for pid in "${pids[@]}"; do
  kill -0 "$pid" 2>/dev/null || { echo "a server died during the run" >&2; failed=1; }
done
if [[ $failed -ne 0 ]]; then
  echo "some workloads produced no result (see $work/*/arvel.log)" >&2
  exit 1
fi
