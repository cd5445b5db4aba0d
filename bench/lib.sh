# shellcheck shell=bash
# Helpers shared by the bench/*.sh scripts (sourced, not run).

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
# shellcheck disable=SC2034  # the scripts that source this file use both
pin_cpus() {
  server_cpu=()
  client_cpu=()
  if command -v taskset >/dev/null && [[ "$(nproc)" -ge 2 ]]; then
    server_cpu=(taskset -c 0)
    client_cpu=(taskset -c 1)
  fi
}
