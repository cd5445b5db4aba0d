#!/usr/bin/env bash
# The `redis` store as a proxy: redis-benchmark GET/SET against one Debian redis-server three
# ways side by side — directly, through arvel-cached (a redis store as its default store), and
# through Debian's nutcracker (twemproxy) — on loopback. See bench/README.md.
#
#   bench/redis.sh [--quick] [--binary PATH | PATH] [--rounds N] [--requests N] [--clients N]
#                  [--pool N] [--pin]
#
# Each round runs every workload against the three setups (the order rotates from round to
# round); the table shows each setup's median req/s and its ratio to direct Redis, and a second
# one the CPU time Redis and each proxy spent per request (user + system, from /proc: steadier
# than throughput on a busy machine). --pool sets
# the redis store's pool_size (CACHE_REDIS_POOL; default: the store's default). --pin puts
# redis-server and both proxies on core 0 and redis-benchmark on core 1; by default nothing is
# pinned, so a proxied run spreads three processes over the machine's cores.
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
pool=""
pin=0

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; }

while [[ $# -gt 0 ]]; do
  case "$1" in
    --quick) rounds=1; requests=2000; run_timeout=30 ;;
    --binary) binary="$2"; shift ;;
    --rounds) rounds="$2"; shift ;;
    --requests|-n) requests="$2"; shift ;;
    --clients|-c) clients="$2"; shift ;;
    --pool) pool="$2"; shift ;;
    --pin) pin=1 ;;
    -h|--help) usage; exit 0 ;;
    -*) echo "unknown option: $1" >&2; usage >&2; exit 2 ;;
    *) binary="$1" ;;
  esac
  shift
done

for tool in redis-server redis-benchmark redis-cli nutcracker python3; do
  if ! command -v "$tool" >/dev/null; then
    echo "$tool not found (apt-get install redis-server redis-tools nutcracker python3)" >&2
    exit 1
  fi
done
[[ -x "$binary" ]] || { echo "arvel-cached binary not found: $binary" >&2; exit 1; }
binary="$(readlink -f "$binary")"

work="$(mktemp -d "${TMPDIR:-/tmp}/arvel-bench-redis-XXXXXX")"
pids=()
cleanup() {
  stop_pids "${pids[@]}"
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

server_cpu=()
client_cpu=()
[[ $pin == 1 ]] && pin_cpus

redis_port="$(free_port)"
"${server_cpu[@]}" redis-server --bind 127.0.0.1 --port "$redis_port" --save '' \
  --appendonly no --daemonize no --dir "$work" --logfile "$work/redis.log" &
pids+=($!)
wait_for_ping "$redis_port"

# arvel-cached: the implicit `redis` store, configured by environment as in Arvel.
arvel_env=(CACHE_CONNECTION=redis CACHE_HOST=127.0.0.1 "CACHE_PORT=$redis_port")
[[ -n "$pool" ]] && arvel_env+=("CACHE_REDIS_POOL=$pool")
( cd "$work" && exec env "${arvel_env[@]}" "${server_cpu[@]}" "$binary" --bind 127.0.0.1 \
    --port 0 --log-level info 2>"$work/arvel.log" ) &
pids+=($!)
arvel_port="$(wait_for_listening "$work/arvel.log" "${pids[-1]}")"
[[ -n "$arvel_port" ]] || { echo "arvel-cached did not start:" >&2; cat "$work/arvel.log" >&2; exit 1; }
wait_for_ping "$arvel_port"

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
pids+=($!)
wait_for_ping "$nutcracker_port"

# bench PORT PIPELINE ARGS... -> req/s of the single test run.
bench() {
  local port="$1" pipeline="$2"
  shift 2
  timeout "$run_timeout" "${client_cpu[@]}" redis-benchmark -h 127.0.0.1 -p "$port" -q --csv \
    -n "$requests" -c "$clients" -P "$pipeline" -r "$keyspace" "$@" 2>/dev/null |
    awk -F'","' 'NR > 1 && NF > 1 { print $2; exit }'
}

setups=(direct arvel twemproxy)
declare -A port_of=([direct]=$redis_port [arvel]=$arvel_port [twemproxy]=$nutcracker_port)
declare -A pid_of=([redis]=${pids[0]} [arvel]=${pids[1]} [twemproxy]=${pids[2]})
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
  rps="$(bench "${port_of[$setup]}" "$@")"
  local redis1 proxy1=0
  redis1="$(cpu_ticks "${pid_of[redis]}")"
  [[ -n "$proxy_pid" ]] && proxy1="$(cpu_ticks "$proxy_pid")"
  echo "${rps:-0} $(per_request $((redis1 - redis0))) $(per_request $((proxy1 - proxy0)))"
}

# Preload: the keys GET asks for (arvel's live under its prefix, the others share Redis's).
bench "$redis_port" 16 -t set >/dev/null
bench "$arvel_port" 16 -t set >/dev/null

echo "redis-server $(redis-server --version | awk '{print $3}' | cut -d= -f2) on :$redis_port;" \
  "arvel-cached ($binary) on :$arvel_port; nutcracker $(nutcracker -V 2>&1 | awk '{print $NF}')" \
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
