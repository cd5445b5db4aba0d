#!/usr/bin/env bash
# A/B throughput comparison: Debian's redis-server vs arvel-cached under the same
# redis-benchmark loads, on loopback. See bench/README.md.
#
#   bench/compare.sh [--quick] [--binary PATH | PATH] [--rounds N] [--requests N] [--clients N]
#
# Rounds alternate A/B (redis, arvel, redis, arvel, ...) so drift on the machine hits both; the
# table shows the median req/s of each side and the ratio arvel/redis.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
# shellcheck source=bench/lib.sh
source "$root/bench/lib.sh"
binary="$root/build/arvel-cached"
rounds=3
requests=200000
clients=50
keyspace=100000
run_timeout=120

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; }

while [[ $# -gt 0 ]]; do
  case "$1" in
    --quick) rounds=1; requests=2000; run_timeout=30 ;;
    --binary) binary="$2"; shift ;;
    --rounds) rounds="$2"; shift ;;
    --requests|-n) requests="$2"; shift ;;
    --clients|-c) clients="$2"; shift ;;
    -h|--help) usage; exit 0 ;;
    -*) echo "unknown option: $1" >&2; usage >&2; exit 2 ;;
    *) binary="$1" ;;  # the binary may also be given as a plain argument
  esac
  shift
done

for tool in redis-server redis-benchmark; do
  if ! command -v "$tool" >/dev/null; then
    echo "$tool not found (apt-get install redis-server redis-tools)" >&2
    exit 1
  fi
done
[[ -x "$binary" ]] || { echo "arvel-cached binary not found: $binary" >&2; exit 1; }
binary="$(readlink -f "$binary")"  # the daemon runs in a temporary directory

work="$(mktemp -d "${TMPDIR:-/tmp}/arvel-bench-XXXXXX")"
pids=()
cleanup() {
  stop_pids "${pids[@]}"
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

pin_cpus

start_redis() {
  redis_port="$(free_port)"
  "${server_cpu[@]}" redis-server --bind 127.0.0.1 --port "$redis_port" --save '' \
    --appendonly no --daemonize no --dir "$work" --logfile "$work/redis.log" &
  pids+=($!)
  wait_for_ping "$redis_port"
}

start_arvel() {
  ( cd "$work" && exec env CACHE_PORT=1 "${server_cpu[@]}" "$binary" --bind 127.0.0.1 \
      --port 0 --log-level info 2>"$work/arvel.log" ) &
  pids+=($!)
  arvel_port="$(wait_for_listening "$work/arvel.log" "${pids[-1]}")"
  if [[ -z "$arvel_port" ]]; then
    echo "arvel-cached did not start:" >&2
    cat "$work/arvel.log" >&2
    exit 1
  fi
  wait_for_ping "$arvel_port"
}

# bench PORT PIPELINE ARGS... -> prints req/s of the single test run.
bench() {
  local port="$1" pipeline="$2"
  shift 2
  timeout "$run_timeout" "${client_cpu[@]}" redis-benchmark -h 127.0.0.1 -p "$port" -q --csv \
    -n "$requests" -c "$clients" -P "$pipeline" -r "$keyspace" "$@" 2>/dev/null |
    awk -F'","' 'NR > 1 && NF > 1 { print $2; exit }'
}

# Workloads: name | pipeline | redis command | arvel command
workloads=(
  "SET -P1|1|-t set|-t set"
  "GET -P1|1|-t get|-t get"
  "SET -P16|16|-t set|-t set"
  "GET -P16|16|-t get|-t get"
  "PUT ttl -P1|1|SET key:__rand_int__ value EX 60|PUT key:__rand_int__ value 60"
)

start_redis
start_arvel
# Preload both so GET hits.
bench "$redis_port" 16 -t set >/dev/null
bench "$arvel_port" 16 -t set >/dev/null

echo "redis-server $(redis-server --version | awk '{print $3}' | cut -d= -f2) on :$redis_port," \
  "arvel-cached ($binary) on :$arvel_port"
echo "rounds=$rounds requests=$requests clients=$clients keyspace=$keyspace" \
  "cpu pinning=${server_cpu[*]:-none}"
echo
printf '%-14s %14s %14s %8s\n' "workload" "redis req/s" "arvel req/s" "ratio"
printf '%-14s %14s %14s %8s\n' "--------" "-----------" "-----------" "-----"
failed=0
for workload in "${workloads[@]}"; do
  IFS='|' read -r name pipeline redis_cmd arvel_cmd <<<"$workload"
  redis_results=()
  arvel_results=()
  for _ in $(seq 1 "$rounds"); do
    # shellcheck disable=SC2086  # the commands are word lists on purpose
    redis_results+=("$(bench "$redis_port" "$pipeline" $redis_cmd)")
    # shellcheck disable=SC2086
    arvel_results+=("$(bench "$arvel_port" "$pipeline" $arvel_cmd)")
  done
  redis_rps="$(printf '%s\n' "${redis_results[@]}" | grep -E '^[0-9.]+$' | median)"
  arvel_rps="$(printf '%s\n' "${arvel_results[@]}" | grep -E '^[0-9.]+$' | median)"
  ratio="$(ratio "$arvel_rps" "$redis_rps")"
  printf '%-14s %14.0f %14.0f %8s\n' "$name" "$redis_rps" "$arvel_rps" "$ratio"
  if [[ "$redis_rps" == "0" || "$arvel_rps" == "0" ]]; then failed=1; fi
done

for pid in "${pids[@]}"; do
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "a server died during the run" >&2
    failed=1
  fi
done
if [[ $failed -ne 0 ]]; then
  echo "some workloads produced no result (see $work/*.log)" >&2
  exit 1
fi
