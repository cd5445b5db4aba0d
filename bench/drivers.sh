#!/usr/bin/env bash
# Store drivers side by side: the same redis-benchmark loads against one arvel-cached per store
# driver (array in memory, file on disk), on loopback. See bench/README.md.
#
#   bench/drivers.sh [--quick] [--binary PATH | PATH] [--requests N] [--clients N]
#                    [--keyspace N] [--timeout SECONDS] [--dir PATH] [--drivers "array file sqlite"]
#
# --dir puts the on-disk stores (file tree, SQLite file) under PATH (default: a temporary
# directory, usually /tmp): their numbers are those of that file system's fsync. --drivers picks
# the stores (default "array file"). Prints req/s and p50/p99 latency per workload and driver.
set -euo pipefail

# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
requests=20000
clients=50
keyspace=10000
run_timeout=300
data_dir=""
drivers=(array file)

script_option() {
  case "$1" in
    --dir) data_dir="${2:?--dir needs a path}" ;;
    --drivers) read -r -a drivers <<<"${2:?--drivers needs a list}" ;;
    *) return 1 ;;
  esac
  consumed=2
}
quick_defaults() { requests=500; keyspace=500; run_timeout=60; }
parse_options "$@"
require_tools redis-benchmark redis-cli python3 timeout
bench_setup arvel-drivers
[[ -n "$data_dir" ]] || data_dir="$work"
data_dir="$(readlink -f "$data_dir")"
on_exit() { rm -rf "$data_dir/arvel-bench-files" "$data_dir"/arvel-bench.sqlite*; }
pin_cpus

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
  mkdir -p "$work/$driver"
  store_config "$driver" >"$work/$driver/cache.toml"
  start_arvel "$driver" -- --config cache.toml
  ports[$driver]="$server_port"
  run_benchmark "$server_port" 16 -t set >/dev/null  # preload so GETs hit
done
for workload in "${workloads[@]}"; do
  IFS='|' read -r name pipeline command <<<"$workload"
  for driver in "${drivers[@]}"; do
    # shellcheck disable=SC2086  # the command is a word list on purpose
    read -r rps p50 p99 <<<"$(run_benchmark "${ports[$driver]}" "$pipeline" $command)" || true
    printf '%-16s %-7s %12.0f %10s %10s\n' "$name" "$driver" "${rps:-0}" "${p50:--}" "${p99:--}"
    [[ -n "${rps:-}" && "${rps:-0}" != "0" ]] || failed=1
  done
done

all_alive || failed=1
if [[ $failed -ne 0 ]]; then
  echo "some workloads produced no result (see $work/*/arvel.log)" >&2
  exit 1
fi
