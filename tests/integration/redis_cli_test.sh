#!/usr/bin/env bash
# A scripted redis-cli session against the real arvel-cached binary (SPEC §3-§5).
#
# Starts the daemon ($ARVEL_BINARY, default build/arvel-cached) on an ephemeral loopback port in a
# temporary directory, runs redis-cli sessions for each command family and compares the output
# with the expected text, sends inline commands over bash's /dev/tcp, and runs `redis-cli --stat`
# for 2 s. Prints "N passed, M failed" and exits non-zero on any mismatch.
set -uo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
binary="$(readlink -f "${ARVEL_BINARY:-$here/../../build/arvel-cached}")"
work="$(mktemp -d "${TMPDIR:-/tmp}/arvel-cli-XXXXXX")"
daemon_pid=""
passed=0
failed=0

cleanup() {
  if [[ -n "$daemon_pid" ]] && kill -0 "$daemon_pid" 2>/dev/null; then
    kill -KILL "$daemon_pid" 2>/dev/null
    wait "$daemon_pid" 2>/dev/null
  fi
  rm -rf "$work"
}
trap cleanup EXIT

pass() { passed=$((passed + 1)); echo "PASS $1"; }
fail() {
  failed=$((failed + 1))
  echo "FAIL $1"
  [[ $# -gt 1 ]] && echo "$2"
}

# Starts the daemon with a clean CACHE_* environment; sets $port or exits.
start_daemon() {
  (
    cd "$work" || exit 1
    for var in $(env | grep -o '^CACHE_[A-Z_]*'); do unset "$var"; done
    # The implicit redis store points at a closed port, so no Redis on 6379 is ever touched.
    CACHE_PORT=1 exec "$binary" --port 0 2>"$work/daemon.log"
  ) &
  daemon_pid=$!
  port=""
  for _ in $(seq 1 100); do
    port="$(sed -n 's/.*listening on [^ ]*:\([0-9][0-9]*\) .*/\1/p' "$work/daemon.log" 2>/dev/null |
      head -n1)"
    [[ -n "$port" ]] && return 0
    kill -0 "$daemon_pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "arvel-cached did not start listening:"
  cat "$work/daemon.log"
  echo "0 passed, 1 failed"
  exit 1
}

cli() { timeout 10 redis-cli -h 127.0.0.1 -p "$port" "$@"; }

# check NAME EXPECTED COMMANDS: pipes COMMANDS (one per line) into one redis-cli session.
check() {
  local name="$1" expected="$2" commands="$3" actual
  actual="$(printf '%s\n' "$commands" | cli --no-raw 2>&1)"
  if [[ "$actual" == "$expected" ]]; then
    pass "$name"
  else
    fail "$name" "$(diff <(echo "$expected") <(echo "$actual") | sed 's/^/    /')"
  fi
}

start_daemon

check "facade" 'OK
"v"
(integer) 60
(integer) 1
"fallback"
(integer) 1
(integer) 0
(integer) 1
(integer) 0
(integer) 1
(integer) 6
(integer) 4
"4"
(nil)
OK
1) "1"
2) (nil)
3) "2"
OK
(integer) 1
(integer) -1
OK
(integer) 0' 'PUT k v 60
GET k
TTL k
HAS k
GET missing fallback
FORGET k
FORGET k
ADD a 1
ADD a 2
INCREMENT n
INCREMENT n 5
DECREMENT n 2
PULL n
PULL n
PUTMANY 60 x 1 y 2
MANY x nope y
FOREVER f v
EXISTS f
TTL f
FLUSH
DBSIZE'

check "strings and keys" 'OK
"v"
(nil)
OK
"v2"
(integer) -1
(integer) 1
(integer) 11
(integer) 10
"10.5"
OK
1) "1"
2) (nil)
(integer) 2
string
none
(integer) -2
(integer) 1
(integer) 0
(error) ERR value is not an integer or out of range
OK
"c d"' 'SET k v EX 100
GET k
SET k v NX
SET k v2 XX
GET k
TTL k
INCR c
INCRBY c 10
DECR c
INCRBYFLOAT f 10.5
MSET m 1 n 2
MGET m nope
EXISTS m n
TYPE m
TYPE nope
TTL nope
DEL m
DEL m
INCR k
SET "a b" "c d"
GET "a b"'

check "stores and fake" '"array"
OK
"null"
(nil)
OK
OK
OK
(nil)
OK
OK
OK
"real"
(nil)' 'STORE
STORE null
STORE
GET anything
STORE array
SET real real
FAKE
GET real
PUT faked v
ASSERT STORED faked v
FAKE OFF
GET real
GET faked'

check "transactions" 'OK
QUEUED
QUEUED
QUEUED
1) OK
2) (integer) 2
3) "2"
OK
QUEUED
OK
(nil)' 'MULTI
SET t 1
INCR t
GET t
EXEC
MULTI
SET gone 1
DISCARD
GET gone'

check "connection and errors" 'PONG
"hi"
OK
"cli"
OK
(error) ERR DB index is out of range
(error) ERR unknown command '"'"'LPUSH'"'"', with args beginning with: '"'"'l'"'"' '"'"'x'"'"' 
(error) ERR wrong number of arguments for '"'"'get'"'"' command' 'PING
ECHO hi
CLIENT SETNAME cli
CLIENT GETNAME
SELECT 0
SELECT 3
LPUSH l x
GET'

# Expiry as a user sees it: PUT with a ttl, then the key is gone (the daemon's real clock: the
# sleep waits out the 1 s ttl).
actual="$(cli PUT short v 1; sleep 2.1; cli --no-raw GET short; cli TTL short)"
expected="$(printf 'OK\n(nil)\n-2')"
if [[ "$actual" == "$expected" ]]; then pass "ttl expiry"; else fail "ttl expiry" "$actual"; fi

# RESP3 through redis-cli -3.
actual="$(printf 'GET nope\nCONFIG GET maxclients\n' | cli -3 --no-raw)"
expected="$(printf '(nil)\n1# "maxclients" => "10000"')"
if [[ "$actual" == "$expected" ]]; then pass "resp3"; else fail "resp3" "$actual"; fi

# Inline commands over a plain TCP socket (bash /dev/tcp), as from telnet.
inline_session() {
  exec 3<>"/dev/tcp/127.0.0.1/$port" || return 1
  printf 'PING\r\nPUT inline "hello world" 60\r\nGET inline\r\nECHO '"'"'a b'"'"'\r\nQUIT\r\n' >&3
  timeout 5 cat <&3
  exec 3<&- 3>&-
}
actual="$(inline_session | od -An -c | tr -s ' \n' ' ')"
# shellcheck disable=SC2016  # "$11" is RESP, not a shell expansion
expected="$(printf '+PONG\r\n+OK\r\n$11\r\nhello world\r\n$3\r\na b\r\n+OK\r\n' |
  od -An -c | tr -s ' \n' ' ')"
if [[ "$actual" == "$expected" ]]; then pass "inline over /dev/tcp"; else
  fail "inline over /dev/tcp" "    got: $actual"$'\n'"    expected: $expected"
fi

# A protocol error closes only that connection.
protocol_error() {
  exec 3<>"/dev/tcp/127.0.0.1/$port" || return 1
  printf 'SET "unbalanced\r\n' >&3
  timeout 5 cat <&3
  exec 3<&- 3>&-
}
actual="$(protocol_error | tr -d '\r')"
if [[ "$actual" == "-ERR Protocol error: unbalanced quotes in request" && \
      "$(cli PING)" == "PONG" ]]; then
  pass "protocol error"
else
  fail "protocol error" "    got: $actual"
fi

# --scan and --bigkeys walk the keyspace with SCAN/TYPE/STRLEN.
cli FLUSHALL >/dev/null
for i in $(seq 1 50); do echo "SET user:$i $i"; done | cli >/dev/null
cli SET other x >/dev/null
scanned="$(cli --scan --pattern 'user:*' | sort -u | wc -l)"
if [[ "$scanned" == "50" ]]; then pass "--scan"; else fail "--scan" "    found $scanned keys"; fi
bigkeys="$(cli --bigkeys 2>&1)"
if grep -q '51 strings' <<<"$bigkeys"; then pass "--bigkeys"; else fail "--bigkeys" "$bigkeys"; fi
# --memkeys asks MEMORY USAGE of each key.
cli SET big "$(printf 'x%.0s' $(seq 1 2000))" >/dev/null
memkeys="$(cli --memkeys 2>&1)"
if grep -q '52 strings with [0-9]* bytes' <<<"$memkeys" &&
  grep -q "Biggest string found '\"*big\"*' has 2[0-9][0-9][0-9] bytes" <<<"$memkeys"; then
  pass "--memkeys"
else
  fail "--memkeys" "$memkeys"
fi

# redis-cli monitor shows every command of every client, in Redis's format.
timeout 5 stdbuf -oL redis-cli -h 127.0.0.1 -p "$port" monitor >"$work/monitor.out" 2>&1 &
monitor_pid=$!
for _ in $(seq 1 50); do grep -q '^OK' "$work/monitor.out" && break; sleep 0.1; done
cli SET monitored "a b" >/dev/null
for _ in $(seq 1 50); do grep -q 'monitored' "$work/monitor.out" && break; sleep 0.1; done
kill "$monitor_pid" 2>/dev/null
wait "$monitor_pid" 2>/dev/null
if grep -qE '^[0-9]+\.[0-9]{6} \[0 127\.0\.0\.1:[0-9]+\] "SET" "monitored" "a b"$' \
  "$work/monitor.out"; then
  pass "monitor"
else
  fail "monitor" "$(cat "$work/monitor.out")"
fi

# --latency-history prints a min/max/avg line per interval.
latency="$(timeout 3 redis-cli -h 127.0.0.1 -p "$port" --latency-history -i 1 --no-raw 2>&1)"
if [[ "$(grep -cE 'min: [0-9]+, max: [0-9]+, avg: [0-9.]+ \([0-9]+ samples\)' <<<"$latency")" -ge 1 ]]
then
  pass "--latency-history"
else
  fail "--latency-history" "$latency"
fi

# redis-cli --stat reads INFO every interval; it must keep printing data lines, no errors.
stat="$(timeout 2 stdbuf -oL redis-cli -h 127.0.0.1 -p "$port" --stat -i 0.5 2>&1)"
stat_rc=$?
data_lines="$(grep -cE '^[0-9]+ +[0-9.]+[BKMG]? +[0-9]+ +[0-9]+ +[0-9]+' <<<"$stat")"
if [[ $stat_rc -eq 124 && "$data_lines" -ge 2 ]] && ! grep -qi 'error' <<<"$stat"; then
  pass "--stat"
else
  fail "--stat" "    rc=$stat_rc data lines=$data_lines"$'\n'"$stat"
fi

# INFO next to a real redis-server given the same commands: every field we print in Redis's
# sections exists there with a value of the same shape (digits read as N), so exporters and
# dashboards read ours as theirs. Our own fields are listed; a few values differ by nature.
if command -v redis-server >/dev/null; then
  redis_port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])')"
  redis-server --bind 127.0.0.1 --port "$redis_port" --save '' --appendonly no \
    --dir "$work" --logfile "$work/redis.log" &
  redis_pid=$!
  for _ in $(seq 1 50); do
    [[ "$(redis-cli -p "$redis_port" PING 2>/dev/null)" == "PONG" ]] && break
    sleep 0.1
  done
  info_of() {
    local p="$1"
    redis-cli -p "$p" CONFIG RESETSTAT >/dev/null
    redis-cli -p "$p" FLUSHALL >/dev/null
    redis-cli -p "$p" SET volatile v EX 100 >/dev/null
    redis-cli -p "$p" GET volatile >/dev/null
    redis-cli -p "$p" GET missing >/dev/null
    redis-cli -p "$p" INCR volatile >/dev/null 2>&1
    redis-cli -p "$p" INFO everything | tr -d '\r' | grep -v '^#' | grep ':' |
      sed -E 's/[0-9a-f]{40}/ID/; s/[0-9]+(\.[0-9]+)?/N/g' | LC_ALL=C sort -t: -k1,1
  }
  info_of "$port" >"$work/info.ours"
  info_of "$redis_port" >"$work/info.redis"
  kill "$redis_pid"
  wait "$redis_pid" 2>/dev/null
  ours_only="$(LC_ALL=C join -t: -v1 "$work/info.ours" "$work/info.redis" | cut -d: -f1 |
    grep -vxE 'arvel_version|lock_waiters|contended_locks|remember_waiters|remember_leases|store_.*')"
  shapes="$(LC_ALL=C join -t: "$work/info.ours" "$work/info.redis" | awk -F: '$2 != $3' |
    grep -vE '^(executable|config_file|maxmemory_policy|mem_allocator|multiplexing_api):')"
  common="$(LC_ALL=C join -t: "$work/info.ours" "$work/info.redis" | wc -l)"
  if [[ -z "$ours_only" && -z "$shapes" && "$common" -ge 80 ]] &&
    grep -q '^dbN:keys=N,expires=N,avg_ttl=N$' "$work/info.ours" &&
    grep -q '^cmdstat_get:' "$work/info.ours" && grep -q '^errorstat_ERR:' "$work/info.ours"; then
    pass "INFO fields as redis-server's ($common in common)"
  else
    fail "INFO fields as redis-server's" \
      "    only ours: $ours_only"$'\n'"    other shapes (ours:redis): $shapes"$'\n'"    common: $common"
  fi
else
  fail "INFO fields as redis-server's" "    redis-server not installed"
fi

# SIGTERM: clean exit 0.
kill -TERM "$daemon_pid"
exit_code=""
for _ in $(seq 1 100); do
  if ! kill -0 "$daemon_pid" 2>/dev/null; then
    wait "$daemon_pid"
    exit_code=$?
    break
  fi
  sleep 0.1
done
if [[ "$exit_code" == "0" ]]; then pass "sigterm exit 0"; else
  fail "sigterm exit 0" "    exit code: ${exit_code:-still running}"
fi

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
