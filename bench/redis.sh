#!/usr/bin/env bash
# The `redis` store as a proxy: redis-benchmark GET/SET against one Debian redis-server three
# ways side by side — directly, through arvel-cached (a redis store as its default store), and
# through Debian's nutcracker (twemproxy) — on loopback. See bench/README.md.
#
#   bench/redis.sh [--quick] [--binary PATH | PATH] [--rounds N] [--requests N] [--clients N]
#                  [--keyspace N] [--timeout SECONDS] [--pool N] [--pin]
#
# Each round runs every workload against the three setups (the order rotates from round to
# round); the table shows each setup's median req/s and its ratio to direct Redis, and a second
# one the CPU time Redis and each proxy spent per request (user + system, from /proc: steadier
# than throughput on a busy machine). --pool sets
# the redis store's pool_size (CACHE_REDIS_POOL; default: the store's default). --pin puts
# redis-server and both proxies on core 0 and redis-benchmark on core 1; by default nothing is
# pinned, so a proxied run spreads three processes over the machine's cores.
set -euo pipefail

# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
pool=""
pin=0

script_option() {
  case "$1" in
    --pool) pool="${2:?--pool needs a number}"; consumed=2 ;;
    --pin) pin=1; consumed=1 ;;
    *) return 1 ;;
  esac
}
quick_defaults() { rounds=1; requests=2000; run_timeout=30; }
parse_options "$@"
require_tools redis-server redis-benchmark redis-cli nutcracker python3 timeout
bench_setup arvel-bench-redis
[[ $pin == 1 ]] && pin_cpus

# shellcheck disable=SC2119  # no extra redis-server arguments
start_redis
redis_port=$server_port redis_pid=$server_pid

# arvel-cached: the implicit `redis` store, configured by environment as in Arvel.
arvel_env=(CACHE_CONNECTION=redis CACHE_HOST=127.0.0.1 "CACHE_PORT=$redis_port")
[[ -n "$pool" ]] && arvel_env+=("CACHE_REDIS_POOL=$pool")
start_arvel arvel "${arvel_env[@]}" -- --log-level info
arvel_port=$server_port arvel_pid=$server_pid

# twemproxy: one pool with the one server, one connection to it (its default).
nutcracker_port="$(free_port)"
cat >"$work/nutcracker.yml" <<EOF
bench:
  listen: 127.0.0.1:$nutcracker_port
  redis: true
  hash: fnv1a_64
  distribution: ketama
  auto_eject_hosts: false
  server_connections: 1
  timeout: 1000
  servers:
   - 127.0.0.1:$redis_port:1
EOF
"${server_cpu[@]}" nutcracker -c "$work/nutcracker.yml" -s "$(free_port)" -a 127.0.0.1 \
  -o "$work/nutcracker.log" &
nutcracker_pid=$!
pids+=("$nutcracker_pid")
wait_for_ping "$nutcracker_port"

setups=(direct arvel twemproxy)
declare -A port_of=([direct]=$redis_port [arvel]=$arvel_port [twemproxy]=$nutcracker_port)
declare -A pid_of=([redis]=$redis_pid [arvel]=$arvel_pid [twemproxy]=$nutcracker_pid)
clk_tck="$(getconf CLK_TCK)"

# cpu_ticks PID -> user + system time of the process so far, in clock ticks.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }

# per_request TICKS -> microseconds per request of one run.
per_request() {
  awk -v t="$1" -v hz="$clk_tck" -v n="$requests" 'BEGIN { printf "%.3f", t * 1e6 / hz / n }'
}

# measured SETUP PIPELINE ARGS... -> "req/s redis-us proxy-us" of one run.
measured() {
  local setup="$1" proxy_pid=""
  shift
  [[ "$setup" != direct ]] && proxy_pid="${pid_of[$setup]}"
  local redis0 proxy0=0 rps
  redis0="$(cpu_ticks "${pid_of[redis]}")"
  [[ -n "$proxy_pid" ]] && proxy0="$(cpu_ticks "$proxy_pid")"
  rps="$(rps_of "$(run_benchmark "${port_of[$setup]}" "$@")")"
  local redis1 proxy1=0
  redis1="$(cpu_ticks "${pid_of[redis]}")"
  [[ -n "$proxy_pid" ]] && proxy1="$(cpu_ticks "$proxy_pid")"
  echo "${rps:-0} $(per_request $((redis1 - redis0))) $(per_request $((proxy1 - proxy0)))"
}

# Preload: the keys GET asks for (arvel's live under its prefix, the others share Redis's).
run_benchmark "$redis_port" 16 -t set >/dev/null
run_benchmark "$arvel_port" 16 -t set >/dev/null

echo "redis-server $(redis-server --version | awk '{print $3}' | cut -d= -f2) on :$redis_port;" \
  "arvel-cached ($binary) on :$arvel_port; nutcracker $(nutcracker -V 2>&1 | awk 'NR == 1 {print $NF}')" \
  "on :$nutcracker_port"
echo "rounds=$rounds requests=$requests clients=$clients keyspace=$keyspace" \
  "pool=${pool:-default} cpu pinning=${server_cpu[*]:-none}"
echo
printf '%-10s %12s %12s %7s %12s %7s %10s\n' workload "direct" "arvel" "ratio" "twemproxy" \
  "ratio" "arvel/twem"
printf '%-10s %12s %12s %7s %12s %7s %10s\n' -------- "req/s" "req/s" "-----" "req/s" "-----" \
  "----------"

# Workloads: name | pipeline | redis-benchmark test
workloads=("SET -P1|1|set" "GET -P1|1|get" "SET -P16|16|set" "GET -P16|16|get")
failed=0
cpu_rows=()
for workload in "${workloads[@]}"; do
  IFS='|' read -r name pipeline test <<<"$workload"
  declare -A results=([direct]="" [arvel]="" [twemproxy]="")
  for round in $(seq 0 $((rounds - 1))); do
    for i in 0 1 2; do
      setup="${setups[$(((round + i) % 3))]}"
      results[$setup]+="$(measured "$setup" "$pipeline" -t "$test")"$'\n'
    done
  done
  declare -A rps=() redis_us=() proxy_us=()
  for setup in "${setups[@]}"; do
    rps[$setup]="$(printf '%s' "${results[$setup]}" | awk '{ print $1 }' | median)"
    redis_us[$setup]="$(printf '%s' "${results[$setup]}" | awk '{ print $2 }' | median)"
    proxy_us[$setup]="$(printf '%s' "${results[$setup]}" | awk '{ print $3 }' | median)"
    [[ "${rps[$setup]}" == "0" ]] && failed=1
  done
  printf '%-10s %12.0f %12.0f %7s %12.0f %7s %10s\n' "$name" "${rps[direct]}" "${rps[arvel]}" \
    "$(ratio "${rps[arvel]}" "${rps[direct]}")" "${rps[twemproxy]}" \
    "$(ratio "${rps[twemproxy]}" "${rps[direct]}")" "$(ratio "${rps[arvel]}" "${rps[twemproxy]}")"
  cpu_rows+=("$(printf '%-10s %12s %12s %12s %12s %12s' "$name" "${redis_us[direct]}" \
    "${redis_us[arvel]}" "${proxy_us[arvel]}" "${redis_us[twemproxy]}" "${proxy_us[twemproxy]}")")
done

echo
echo "CPU per request, microseconds (median; user + system time of the process over a run)"
printf '%-10s %12s %12s %12s %12s %12s\n' workload "redis" "redis" "arvel" "redis" "twemproxy"
printf '%-10s %12s %12s %12s %12s %12s\n' -------- "(direct)" "(via arvel)" "" "(via twem)" ""
printf '%s\n' "${cpu_rows[@]}"

all_alive || failed=1
if [[ $failed -ne 0 ]]; then
  echo "some workloads produced no result (see $work/*.log)" >&2
  exit 1
fi
