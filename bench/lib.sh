# shellcheck shell=bash
# The prologue every bench/*.sh script shares (sourced, not run): option parsing, the temporary
# directory and the clean-up on exit, CPU pinning, starting redis-server and arvel-cached on free
# loopback ports, and the redis-benchmark runner. A script sources it, sets its defaults, calls
# parse_options "$@", then bench_setup.
#
# Variables a script may set before parse_options (all have defaults here):
#   binary rounds requests clients keyspace run_timeout   the common options' values
# Hooks a script may define:
#   script_option ARGS...   handles one option of its own: sets consumed=N (arguments used) and
#                           returns 0, or returns 1 when it does not know "$1"
#   quick_defaults          applies --quick's values (explicit options still win over them)
#   on_exit                 extra clean-up, run before the temporary directory is removed

# shellcheck disable=SC2034  # the defaults are the sourcing script's variables
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
binary="$root/build/arvel-cached"
rounds=3
requests=200000
clients=50
keyspace=100000
run_timeout=120
quick=0
consumed=0
pids=()
server_cpu=()
client_cpu=()

# usage: the comment block at the top of the running script, without the shebang.
usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; }

# positive_integer NAME VALUE: exits 2 unless VALUE is a positive integer.
positive_integer() {
  [[ "$2" =~ ^[1-9][0-9]*$ ]] && return 0
  echo "$1 needs a positive integer, not '$2'" >&2
  exit 2
}

# parse_options ARGS...: the options every script takes —
#   --quick, --binary PATH (or PATH alone), --rounds N, --requests|-n N, --clients|-c N,
#   --keyspace|-r N, --timeout SECONDS, -h|--help
# — and the script's own through script_option. Sets the variables above.
parse_options() {
  local -A given=()
  local name
  while [[ $# -gt 0 ]]; do
    if declare -F script_option >/dev/null && script_option "$@"; then
      shift "$consumed"
      continue
    fi
    case "$1" in
      --quick) quick=1 ;;
      --binary|--rounds|--requests|-n|--clients|-c|--keyspace|-r|--timeout)
        [[ $# -ge 2 ]] || { echo "$1 needs a value" >&2; exit 2; }
        case "$1" in
          --binary) given[binary]="$2" ;;
          --rounds) given[rounds]="$2" ;;
          --requests|-n) given[requests]="$2" ;;
          --clients|-c) given[clients]="$2" ;;
          --keyspace|-r) given[keyspace]="$2" ;;
          --timeout) given[run_timeout]="$2" ;;
        esac
        shift
        ;;
      -h|--help) usage; exit 0 ;;
      -*) echo "unknown option: $1" >&2; usage >&2; exit 2 ;;
      *) given[binary]="$1" ;;  # the binary may also be given as a plain argument
    esac
    shift
  done
  if [[ $quick -eq 1 ]] && declare -F quick_defaults >/dev/null; then quick_defaults; fi
  for name in "${!given[@]}"; do
    [[ $name == binary ]] || positive_integer "--${name/run_/}" "${given[$name]}"
    printf -v "$name" '%s' "${given[$name]}"
  done
}

# require_tools TOOL...: exits 1 naming the first tool that is not installed.
require_tools() {
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null && continue
    echo "$tool not found (Debian: apt-get install redis-server redis-tools python3 ...)" >&2
    exit 1
  done
}

# bench_setup PREFIX: checks $binary, makes the temporary directory $work (named after PREFIX)
# and arranges that everything in $pids is stopped and $work removed on exit, also on Ctrl-C.
bench_setup() {
  [[ -x "$binary" ]] || { echo "arvel-cached binary not found: $binary" >&2; exit 1; }
  binary="$(readlink -f "$binary")"  # the daemon runs in a temporary directory
  work="$(mktemp -d "${TMPDIR:-/tmp}/$1-XXXXXX")"
  trap bench_cleanup EXIT
  trap 'exit 130' INT TERM
}

bench_cleanup() {
  stop_pids "${pids[@]}"
  if declare -F on_exit >/dev/null; then on_exit || true; fi
  rm -rf "$work"
}

# free_port -> a loopback TCP port nobody listened on a moment ago.
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# wait_for_ping PORT: waits (10 s at most) until a Redis-speaking server on PORT answers PING.
wait_for_ping() {
  local port="$1"
  for _ in $(seq 1 100); do
    [[ "$(redis-cli -h 127.0.0.1 -p "$port" PING 2>/dev/null)" == "PONG" ]] && return 0
    sleep 0.1
  done
  echo "server on port $port did not answer PING" >&2
  return 1
}

# wait_for_listening LOG PID -> the port an arvel-cached started with --port 0 logged
# ("listening on ADDR:PORT"); empty when PID died or 10 s passed first.
wait_for_listening() {
  local log="$1" pid="$2" port=""
  for _ in $(seq 1 100); do
    port="$(sed -n 's/.*listening on [^ ]*:\([0-9][0-9]*\) .*/\1/p' "$log" 2>/dev/null |
      head -n1 || true)"
    [[ -n "$port" ]] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "$port"
}

# start_redis [ARG...]: starts Debian's redis-server on a free loopback port, without
# persistence, with ARGs added, on $server_cpu; sets server_port and server_pid.
start_redis() {
  server_port="$(free_port)"
  "${server_cpu[@]}" redis-server --bind 127.0.0.1 --port "$server_port" --save '' \
    --appendonly no --daemonize no --dir "$work" --logfile "$work/redis-$server_port.log" "$@" &
  server_pid=$!
  pids+=("$server_pid")
  wait_for_ping "$server_port"
}

# start_arvel NAME [VAR=VALUE...] [-- ARG...]: starts arvel-cached ($arvel_binary if set, else
# $binary) in $work/NAME with the environment VARs and the ARGs, on 127.0.0.1 and a port it
# picks itself (--port 0), on $server_cpu; its log is $work/NAME/arvel.log. Sets server_port
# and server_pid; exits 1 when it does not start. CACHE_PORT=1 keeps a CACHE_PORT of the
# caller's environment out (the daemon reads it as its own port).
start_arvel() {
  local name="$1" bin="${arvel_binary:-$binary}" environment=(CACHE_PORT=1)
  shift
  while [[ $# -gt 0 && "$1" != -- ]]; do environment+=("$1"); shift; done
  [[ $# -gt 0 ]] && shift
  mkdir -p "$work/$name"
  ( cd "$work/$name" && exec env "${environment[@]}" "${server_cpu[@]}" "$bin" \
      --bind 127.0.0.1 --port 0 "$@" 2>"$work/$name/arvel.log" ) &
  server_pid=$!
  pids+=("$server_pid")
  server_port="$(wait_for_listening "$work/$name/arvel.log" "$server_pid")"
  if [[ -z "$server_port" ]]; then
    echo "arvel-cached ($name) did not start:" >&2
    cat "$work/$name/arvel.log" >&2
    exit 1
  fi
  wait_for_ping "$server_port"
}

# run_benchmark PORT PIPELINE ARG... -> "req/s p50_ms p99_ms" of one redis-benchmark test
# (-n $requests -c $clients -r $keyspace, on $client_cpu, at most $run_timeout seconds); prints
# nothing when the run produced no number.
run_benchmark() {
  local port="$1" pipeline="$2"
  shift 2
  timeout "$run_timeout" "${client_cpu[@]}" redis-benchmark -h 127.0.0.1 -p "$port" -q --csv \
    -n "$requests" -c "$clients" -P "$pipeline" -r "$keyspace" "$@" 2>/dev/null |
    awk -F'","' 'NR > 1 && NF > 1 { print $2, $5, $7; exit }'
}

# rps_of "req/s p50 p99" -> req/s (0 when empty).
rps_of() { local rps="${1%% *}"; echo "${rps:-0}"; }

# all_alive: whether every process in $pids still runs; names the dead ones otherwise.
all_alive() {
  local pid ok=0
  for pid in "${pids[@]}"; do
    kill -0 "$pid" 2>/dev/null && continue
    echo "a server died during the run (pid $pid; logs in $work)" >&2
    ok=1
  done
  return $ok
}

# median: the median of the numbers on stdin, one per line (0 when there are none).
median() {
  sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print 0; else print v[int((NR + 1) / 2)] }'
}

# ratio A B -> A / B with two decimals, or n/a.
ratio() {
  awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'
}

# stop_pids PID...: asks each process to stop (SIGTERM), gives each 5 s, then kills it.
stop_pids() {
  local pid
  for pid in "$@"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "$@"; do
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
}

# pin_cpus: with two or more cores (and taskset), sets server_cpu=(taskset -c 0) and
# client_cpu=(taskset -c 1), so every server meets the same competition for CPU and the load
# generator does not take it from them; otherwise leaves both empty.
pin_cpus() {
  server_cpu=()
  client_cpu=()
  if command -v taskset >/dev/null && [[ "$(nproc)" -ge 2 ]]; then
    server_cpu=(taskset -c 0)
    client_cpu=(taskset -c 1)
  fi
}
