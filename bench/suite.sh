#!/usr/bin/env bash
# The benchmark suite: Debian's redis-server and arvel-cached side by side under the same
# redis-benchmark loads, on loopback, with throughput, p50/p99 latency, memory per key and (where
# the machine counts them) instructions per request. See bench/README.md.
#
#   bench/suite.sh [--quick] [--binary PATH | PATH] [--rounds N] [--requests N] [--clients N]
#                  [--keyspace N] [--timeout SECONDS] [--micro PATH]
#
# Defaults: 5 rounds, 200,000 requests per -P 1 run (5x that at -P 16), 50 clients, a key space
# of 1,000,000 keys preloaded with 16-byte values, 120 s per run. --quick (CI smoke): 1 round,
# 2,000 requests, 10,000 keys, 30 s per run. Each round runs a workload against redis-server,
# then against arvel-cached (A B A B ...); the table shows the medians. Exits non-zero when a
# workload produced no number or a server died. --micro PATH runs the Google Benchmark
# micro-benchmarks (build/arvel_micro_bench) after the table.
set -euo pipefail

# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
rounds=5
requests=200000
clients=50
keyspace=1000000
run_timeout=120
micro=""
script_option() {
  [[ "$1" == --micro ]] || return 1
  micro="${2:?--micro needs the micro-benchmark binary}"
  consumed=2
}
quick_defaults() { rounds=1; requests=2000; keyspace=10000; run_timeout=30; }
parse_options "$@"
[[ -z "$micro" || -x "$micro" ]] || { echo "micro-benchmark binary not found: $micro" >&2; exit 1; }
require_tools redis-server redis-benchmark redis-cli python3 timeout
bench_setup arvel-suite
pin_cpus

value_size=16        # of the preloaded keys, the ones the memory figure is about
big_keyspace=10000   # keys the 4 KB SET workload writes (a bigger space would take gigabytes)
[[ $keyspace -lt $big_keyspace ]] && big_keyspace=$keyspace
mget="MGET$(printf ' key:__rand_int__%.0s' {1..10})"

# Workloads: name | pipeline | requests multiplier | key space (empty: --keyspace) |
#            redis-benchmark arguments for redis | for arvel ("mix": the 90/10 GET/SET mix).
# GETs come first, while every key holds its preloaded value; PUT/SET EX late, so that no key
# expires under a later workload; the 4 KB values last.
workloads=(
  "GET -P1|1|1||-t get|-t get"
  "GET -P16|16|5||-t get|-t get"
  "MGET 10 keys -P1|1|1||$mget|$mget"
  "GET/SET 90/10 -P1|1|1||mix|mix"
  "SET -P1|1|1||-t set|-t set"
  "SET -P16|16|5||-t set|-t set"
  "INCR -P1|1|1||-t incr|-t incr"
  "PUT/SET EX -P1|1|1||SET key:__rand_int__ value EX 60|PUT key:__rand_int__ value 60"
  "SET 4KB -P16|16|1|$big_keyspace|-t set -d 4096|-t set -d 4096"
)

# --- Servers, and the key space loaded into both (the memory figure)

# rss_kib PID -> the process's resident set (VmRSS), KiB.
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

# The SETs of the preload, as RESP: key:%012d like redis-benchmark's -r keys, so GETs hit.
awk -v n="$keyspace" -v size="$value_size" 'BEGIN {
  value = sprintf("%*s", size, ""); gsub(/ /, "v", value)
  for (i = 0; i < n; i++)
    printf "*3\r\n$3\r\nSET\r\n$16\r\nkey:%012d\r\n$%d\r\n%s\r\n", i, size, value
}' >"$work/load.resp"

# load_keys PORT PID -> "keys bytes-per-key": loads the key space, from VmRSS before and after.
load_keys() {
  local port="$1" pid="$2" before after keys
  before="$(rss_kib "$pid")"
  timeout "$run_timeout" redis-cli -h 127.0.0.1 -p "$port" --pipe <"$work/load.resp" \
    >"$work/load-$port.txt" 2>&1 || { tail -n 5 "$work/load-$port.txt" >&2; return 1; }
  grep -q 'errors: 0,' "$work/load-$port.txt" || { tail -n 5 "$work/load-$port.txt" >&2; return 1; }
  after="$(rss_kib "$pid")"
  keys="$(redis-cli -h 127.0.0.1 -p "$port" DBSIZE)"
  awk -v b="$before" -v a="$after" -v k="$keys" \
    'BEGIN { if (k > 0) printf "%d %.1f\n", k, (a - b) * 1024 / k; else print 0, 0 }'
}

# shellcheck disable=SC2119  # no extra redis-server arguments
start_redis
redis_port=$server_port redis_pid=$server_pid
start_arvel arvel -- --log-level info
arvel_port=$server_port arvel_pid=$server_pid
read -r redis_keys redis_per_key <<<"$(load_keys "$redis_port" "$redis_pid")"
read -r arvel_keys arvel_per_key <<<"$(load_keys "$arvel_port" "$arvel_pid")"

# --- Instructions per request: perf stat attached to the server for the length of a run.
# Virtual machines often do not expose the counter ("<not supported>"): then n/a.

perf_ok=0
if command -v perf >/dev/null &&
  perf stat -e instructions -x, -o "$work/perf-probe.txt" -p "$redis_pid" -- sleep 0.2 \
    >/dev/null 2>&1 &&
  awk -F, '$3 == "instructions" && $1 ~ /^[0-9]+$/ { ok = 1 } END { exit !ok }' \
    "$work/perf-probe.txt"; then
  perf_ok=1
fi

# counted PID N COMMAND... -> COMMAND's output, then its instructions per request (of N) in PID,
# or n/a.
counted() {
  local pid="$1" n="$2" perf_pid="" output
  shift 2
  if [[ $perf_ok -eq 1 ]]; then
    perf stat -e instructions -x, -o "$work/perf.txt" -p "$pid" 2>/dev/null &
    perf_pid=$!
    sleep 0.1
  fi
  output="$("$@")"
  if [[ -n "$perf_pid" ]]; then
    kill -INT "$perf_pid" 2>/dev/null || true
    wait "$perf_pid" 2>/dev/null || true
    echo "$output $(awk -F, -v n="$n" '$3 == "instructions" && $1 ~ /^[0-9]+$/ {
      printf "%.0f", $1 / n; found = 1 } END { if (!found) print "n/a" }' "$work/perf.txt")"
  else
    echo "$output n/a"
  fi
}

# run_mix PORT -> "req/s p50 p99" of the 90/10 mix: two redis-benchmark processes at once, 90%
# of the clients and requests running GET, 10% SET, over the preloaded key space; req/s is the
# sum of both (they run for about the same time), the latencies are those of the GETs.
run_mix() {
  local port="$1" get_clients=$((clients * 9 / 10)) get_requests=$((requests * 9 / 10))
  local get_pid set_pid get_line set_line
  clients=$get_clients requests=$get_requests run_benchmark "$port" 1 -t get \
    >"$work/mix-get.txt" &
  get_pid=$!
  clients=$((clients - get_clients)) requests=$((requests - get_requests)) \
    run_benchmark "$port" 1 -t set >"$work/mix-set.txt" &
  set_pid=$!
  wait "$get_pid" "$set_pid" || true
  read -r get_line <"$work/mix-get.txt" || true
  read -r set_line <"$work/mix-set.txt" || true
  [[ -n "${get_line:-}" && -n "${set_line:-}" ]] || return 0
  read -r get_rps p50 p99 <<<"$get_line"
  awk -v g="$get_rps" -v s="${set_line%% *}" -v a="$p50" -v b="$p99" \
    'BEGIN { printf "%.2f %s %s\n", g + s, a, b }'
}

# measure PORT PID PIPELINE ARGS... -> "req/s p50 p99 instructions/request" of one run.
measure() {
  local port="$1" pid="$2" pipeline="$3"
  shift 3
  if [[ "$1" == mix ]]; then
    counted "$pid" "$requests" run_mix "$port"
  else
    counted "$pid" "$requests" run_benchmark "$port" "$pipeline" "$@"
  fi
}

# --- The runs

redis_version="$(redis-server --version | sed -n 's/.*v=\([^ ]*\).*/\1/p')"
echo "redis-server $redis_version on :$redis_port (pid $redis_pid);" \
  "arvel-cached $binary on :$arvel_port (pid $arvel_pid)"
echo "$(nproc) cores ($(lscpu | sed -n 's/^Model name: *//p' | head -n1)), load average" \
  "$(cut -d' ' -f1-3 /proc/loadavg) at start; cpu pinning: servers ${server_cpu[*]:-none}," \
  "redis-benchmark ${client_cpu[*]:-none}"
echo "rounds=$rounds requests=$requests (x5 at -P16 GET/SET) clients=$clients" \
  "keyspace=$keyspace timeout=${run_timeout}s perf instructions=$([[ $perf_ok -eq 1 ]] &&
    echo yes || echo 'not supported here')"
echo

# column RUNS N -> the median of column N over the RUNS ("req/s p50 p99 instr" lines) that
# produced a number, "-" when none did.
column() {
  awk -v c="$2" 'NF == 4 && $c ~ /^[0-9.]+$/ { print $c }' <<<"$1" | median |
    awk '{ print ($1 == 0 ? "-" : $1) }'
}

failed=0
rows=()
for workload in "${workloads[@]}"; do
  IFS='|' read -r name pipeline scale space redis_args arvel_args <<<"$workload"
  n=$((requests * scale))
  redis_runs="" arvel_runs=""
  for _ in $(seq 1 "$rounds"); do
    # shellcheck disable=SC2086  # the arguments are word lists on purpose
    redis_runs+="$(requests=$n keyspace=${space:-$keyspace} \
      measure "$redis_port" "$redis_pid" "$pipeline" $redis_args)"$'\n'
    # shellcheck disable=SC2086
    arvel_runs+="$(requests=$n keyspace=${space:-$keyspace} \
      measure "$arvel_port" "$arvel_pid" "$pipeline" $arvel_args)"$'\n'
  done
  r_rps="$(column "$redis_runs" 1)" a_rps="$(column "$arvel_runs" 1)"
  r_p50="$(column "$redis_runs" 2)" r_p99="$(column "$redis_runs" 3)"
  a_p50="$(column "$arvel_runs" 2)" a_p99="$(column "$arvel_runs" 3)"
  r_ins="$(column "$redis_runs" 4)" a_ins="$(column "$arvel_runs" 4)"
  [[ $perf_ok -eq 1 ]] || { r_ins=n/a; a_ins=n/a; }
  complete="$(awk 'NF == 4 && $1 ~ /^[0-9.]+$/ { n++ } END { print n + 0 }' \
    <<<"$redis_runs$arvel_runs")"
  if [[ $complete -ne $((2 * rounds)) ]]; then
    failed=1
    echo "$name: $((2 * rounds - complete)) of $((2 * rounds)) runs produced no number" >&2
  fi
  rows+=("$name|$r_rps|$a_rps|$r_p50|$r_p99|$a_p50|$a_p99|$r_ins|$a_ins")
  echo "  $name: redis $r_rps, arvel $a_rps req/s ($SECONDS s)" >&2  # progress
  all_alive || { failed=1; break; }
done

# --- The table

table_row() { printf '%-17s %11s %11s %6s %14s %14s %14s  %s\n' "$@"; }
table_row workload "redis req/s" "arvel req/s" ratio "redis p50/p99" "arvel p50/p99" \
  "instr/req r/a" "targets (ratio >= 1.1, p99 <= redis)"
table_row -------- ----------- ----------- ----- "-------------" "-------------" \
  "-------------" "-------"
for row in "${rows[@]}"; do
  IFS='|' read -r name r_rps a_rps r_p50 r_p99 a_p50 a_p99 r_ins a_ins <<<"$row"
  verdict="$(awk -v r="$r_rps" -v a="$a_rps" -v rp="$r_p99" -v ap="$a_p99" 'BEGIN {
    if (r == "-" || a == "-") { print "no number"; exit }
    miss = ""
    if (a / r < 1.1) miss = "throughput"
    if (ap + 0 > rp + 0) miss = miss (miss == "" ? "" : ", ") "p99"
    print (miss == "" ? "hold" : "miss: " miss) }')"
  table_row "$name" "$(printf '%.0f' "${r_rps/-/0}")" "$(printf '%.0f' "${a_rps/-/0}")" \
    "$(ratio "${a_rps/-/0}" "${r_rps/-/0}")" "$r_p50/$r_p99" "$a_p50/$a_p99" "$r_ins/$a_ins" \
    "$verdict"
done
echo
echo "latencies in ms, medians over the rounds; ratio = arvel req/s / redis req/s"
memory_ratio="$(ratio "$arvel_per_key" "$redis_per_key")"
echo "memory per key ($redis_keys / $arvel_keys keys of $value_size-byte values; VmRSS growth" \
  "over the load / DBSIZE): redis $redis_per_key B, arvel $arvel_per_key B, ratio" \
  "$memory_ratio (target <= 0.75: $(awk -v m="$memory_ratio" \
    'BEGIN { print (m != "n/a" && m <= 0.75 ? "holds" : "missed") }'))"
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"

if [[ -n "$micro" ]]; then
  echo
  # The quick mode only checks that every micro-benchmark still runs.
  micro_args=()
  [[ $quick -eq 1 ]] && micro_args=(--benchmark_min_time=0.01)
  timeout $((run_timeout * 10)) "${client_cpu[@]}" "$micro" "${micro_args[@]}" ||
    { echo "the micro-benchmarks failed" >&2; failed=1; }
fi

[[ "$redis_keys" -gt 0 && "$arvel_keys" -gt 0 ]] || { echo "the preload failed" >&2; failed=1; }
all_alive || failed=1
if [[ $failed -ne 0 ]]; then
  echo "some workloads produced no result (logs in $work, removed on exit)" >&2
  exit 1
fi
