#!/usr/bin/env bash
# PUT/GET throughput of arvel-cached's `database` stores (SQLite file, PostgreSQL) under
# redis-benchmark, next to what the database itself does for the same statements without the
# daemon: the sqlite3 shell running the same autocommit upserts/selects on one connection, and
# pgbench running the same prepared statements (and the store's whole PUT statement, advisory
# locks included, and the read-modify-write transaction PUT was before blind writes) with as
# many connections as the store has workers.
#
# With --wakeup it measures instead how fast a waiter on one daemon learns of a change made
# through another daemon sharing the store (bench/wakeup.py: LOCK BLOCK woken by LOCK RELEASE,
# REMEMBER woken by PUT), and what idle waiting costs in backend calls per second: SQLite
# daemons watch the database's WAL (inotify), PostgreSQL ones are notified (LISTEN/NOTIFY);
# binaries from before either polled every 50 ms.
#
# With --against OTHER it compares instead the daemon's PUT/GET req/s with another build's: both
# binaries in turn, --repeat times (default 7), each run on a fresh SQLite file and a fresh
# PostgreSQL table; it prints each side's median and the median of the paired ratios.
#
#   bench/database.sh [--binary PATH | PATH] [--requests N] [--clients N] [--keyspace N]
#                     [--timeout SECONDS] [--postgres URL] [--quick]
#                     [--wakeup [--rounds N]] [--against PATH [--repeat N]]
#
# PostgreSQL rows need --postgres or $ARVEL_TEST_POSTGRES_URL (scripts/start-postgres.sh prints
# one) and are skipped otherwise. Everything runs on loopback; the SQLite files live in a
# temporary directory, the PostgreSQL tables are named arvel_bench_* and dropped at the end.
set -euo pipefail

# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
requests=20000
clients=50
keyspace=100000
run_timeout=300
seconds=10
pg_url="${ARVEL_TEST_POSTGRES_URL:-}"
workers=4  # the database store's worker threads (drivers/database_store.h)
wakeup=0
rounds=100
idle=3
against=""
repeat=7

script_option() {
  case "$1" in
    --postgres) pg_url="${2:?--postgres needs a URL}"; consumed=2 ;;
    --wakeup) wakeup=1; consumed=1 ;;
    --against) against="${2:?--against needs a binary}"; consumed=2 ;;
    --repeat) repeat="${2:?--repeat needs a number}"; consumed=2 ;;
    *) return 1 ;;
  esac
}
quick_defaults() { requests=2000; seconds=2; rounds=5; idle=1; repeat=2; }
parse_options "$@"
require_tools redis-benchmark redis-cli sqlite3 python3 timeout
if [[ -n "$pg_url" ]] && ! command -v pgbench >/dev/null; then
  echo "pgbench not found (apt-get install postgresql-contrib): skipping PostgreSQL" >&2
  pg_url=""
fi
bench_setup arvel-bench-db
table="arvel_bench_$$"
on_exit() {
  [[ -n "$pg_url" ]] || return 0
  psql -X -q "$pg_url" -c "DROP TABLE IF EXISTS ${table}, ${table}_locks, ${table}_raw" \
    >/dev/null 2>&1
}

# start_store STORE [BINARY] -> sets $port; the daemon (BINARY, default --binary) serves
# cache.toml's stores with STORE as default.
start_store() {
  arvel_binary="${2:-$binary}" start_arvel "arvel-$1-${#pids[@]}" -- \
    --config "$work/cache.toml" --store "$1"
  port=$server_port
}

# redis_bench PORT ARGS... -> req/s
redis_bench() {
  local port="$1"
  shift
  rps_of "$(run_benchmark "$port" 1 "$@")"
}

# sqlite_raw STATEMENT -> statements/s, each statement its own (autocommit) transaction, in
# WAL mode with synchronous=NORMAL like the store. KEY in STATEMENT becomes a random key.
sqlite_raw() {
  local db="$work/raw.sqlite" script="$work/raw.sql" n=$((requests * 2))
  awk -v n="$n" -v stmt="$1" -v keys="$keyspace" 'BEGIN {
    srand(1)
    for (i = 0; i < n; i++) { s = stmt; gsub(/KEY/, "key:" int(rand() * keys), s); print s }
  }' >"$script"
  local start end
  start=$(date +%s.%N)
  sqlite3 -cmd "PRAGMA journal_mode=WAL" -cmd "PRAGMA synchronous=NORMAL" "$db" <"$script" \
    >/dev/null
  end=$(date +%s.%N)
  awk -v n="$n" -v s="$start" -v e="$end" 'BEGIN { printf "%.0f", n / (e - s) }'
}

# pg_raw SCRIPT_TEXT -> transactions/s with $workers connections for $seconds.
pg_raw() {
  printf '%s\n' "$1" >"$work/pgbench.sql"
  pgbench -n -M prepared -c "$workers" -j 2 -T "$seconds" -f "$work/pgbench.sql" "$pg_url" \
    2>/dev/null | awk '/^tps = / { printf "%.0f", $3; exit }'
}

cat >"$work/cache.toml" <<EOF
[stores.sqlite]
driver = "database"
url = "sqlite://$work/cache.sqlite"
table = "$table"
EOF
if [[ -n "$pg_url" ]]; then
  cat >>"$work/cache.toml" <<EOF
[stores.postgres]
driver = "database"
url = "$pg_url"
table = "$table"
EOF
fi

# --- Wake-up latency across two daemons
if [[ $wakeup -eq 1 ]]; then
  echo "arvel-cached: $binary"
  echo "wake-up latency, from the waker's reply on daemon A to the waiter's reply on daemon B"
  for store in sqlite ${pg_url:+postgres}; do
    start_store "$store"
    port_a=$port
    start_store "$store"
    python3 "$root/bench/wakeup.py" --a "$port_a" --b "$port" --rounds "$rounds" --idle "$idle" \
      --label "$store"
  done
  exit 0
fi

# --- Throughput against another build
if [[ -n "$against" ]]; then
  [[ -x "$against" ]] || { echo "arvel-cached binary not found: $against" >&2; exit 1; }
  against="$(readlink -f "$against")"
  results="$work/against.txt"
  for run in $(seq 1 "$repeat"); do
    for side in this other; do
      bin="$binary"
      [[ $side == other ]] && bin="$against"
      for store in sqlite ${pg_url:+postgres}; do
        # A fresh database per run: a grown table would favour whoever runs first.
        dir="$work/run-$run-$side" && mkdir -p "$dir"
        url="sqlite://$dir/cache.sqlite"
        [[ $store == postgres ]] && url="$pg_url"
        printf '[stores.%s]\ndriver = "database"\nurl = "%s"\ntable = "%s_%s"\n' \
          "$store" "$url" "$table" "$run$side" >"$work/cache.toml"
        start_store "$store" "$bin"
        put=$(redis_bench "$port" PUT key:__rand_int__ value)
        get=$(redis_bench "$port" GET key:__rand_int__)
        stop_pids "${pids[-1]}"
        if [[ $store == postgres ]]; then
          psql -X -q "$pg_url" -c "DROP TABLE IF EXISTS ${table}_$run$side, ${table}_$run${side}_locks" \
            >/dev/null 2>&1 || true
        fi
        echo "$run $side $store $put $get" >>"$results"
      done
    done
  done
  echo "this:  $binary"
  echo "other: $against"
  echo "redis-benchmark -c $clients -n $requests -r $keyspace, $repeat runs each, alternating"
  echo
  python3 - "$results" <<'PY'
import collections, statistics, sys
runs = collections.defaultdict(dict)
for line in open(sys.argv[1]):
    run, side, store, put, get = line.split()
    runs[(run, store)][side] = (float(put), float(get))
print("%-14s %12s %12s %8s   %s" % ("workload", "this req/s", "other req/s", "ratio", "paired ratios"))
for store in ("sqlite", "postgres"):
    for i, op in enumerate(("PUT", "GET")):
        pairs = [(v["this"][i], v["other"][i]) for (r, s), v in runs.items()
                 if s == store and len(v) == 2]
        if not pairs:
            continue
        ratios = sorted(a / b for a, b in pairs)
        print("%-14s %12.0f %12.0f %8.2f   median %.2f, %.2f-%.2f over %d"
              % (store + " " + op, statistics.median(a for a, _ in pairs),
                 statistics.median(b for _, b in pairs),
                 statistics.median(a for a, _ in pairs) / statistics.median(b for _, b in pairs),
                 statistics.median(ratios), ratios[0], ratios[-1], len(ratios)))
PY
  exit 0
fi

rows=()
row() { rows+=("$(printf '%-14s %12s %12s   %s' "$1" "$2" "$3" "$4")"); }

# --- SQLite
start_store sqlite
put=$(redis_bench "$port" PUT key:__rand_int__ value)
get=$(redis_bench "$port" GET key:__rand_int__)
sqlite3 "$work/raw.sqlite" "CREATE TABLE t (id INTEGER PRIMARY KEY, prefix TEXT, space INTEGER,
  key BLOB, value BLOB, expiration INTEGER, UNIQUE (prefix, space, key))"
raw_put=$(sqlite_raw "INSERT INTO t (prefix, space, key, value, expiration) VALUES ('p', 0,
  CAST('KEY' AS BLOB), CAST('value' AS BLOB), 0) ON CONFLICT (prefix, space, key) DO UPDATE
  SET value = excluded.value, expiration = excluded.expiration;")
raw_get=$(sqlite_raw "SELECT value, expiration FROM t WHERE prefix = 'p' AND space = 0 AND
  key = CAST('KEY' AS BLOB);")
row "sqlite PUT" "$put" "$raw_put" "sqlite3 shell, 1 connection, autocommit upsert"
row "sqlite GET" "$get" "$raw_get" "sqlite3 shell, 1 connection, select"

# --- PostgreSQL
if [[ -n "$pg_url" ]]; then
  start_store postgres
  put=$(redis_bench "$port" PUT key:__rand_int__ value)
  get=$(redis_bench "$port" GET key:__rand_int__)
  psql -X -q "$pg_url" -c "CREATE TABLE ${table}_raw (LIKE ${table} INCLUDING ALL)" >/dev/null
  psql -X -q "$pg_url" -c "INSERT INTO ${table}_raw (prefix, space, key, value, expiration)
    SELECT prefix, space, key, value, expiration FROM ${table}" >/dev/null
  key="\\set k random(0, $((keyspace - 1)))"
  keyexpr="convert_to('key:' || :k, 'UTF8')"
  upsert="INSERT INTO ${table}_raw (prefix, space, key, value, expiration)
    VALUES ('arvel_cache', 0, $keyexpr, 'value', 0) ON CONFLICT (prefix, space, key_hash)
    DO UPDATE SET value = EXCLUDED.value, expiration = EXCLUDED.expiration;"
  select="SELECT value, expiration FROM ${table}_raw WHERE prefix = 'arvel_cache' AND space = 0
    AND key_hash = sha256($keyexpr) AND key = $keyexpr;"
  raw_put=$(pg_raw "$key
$upsert")
  raw_get=$(pg_raw "$key
$select")
  # The store's PUT: one statement, its advisory locks taken before the upsert writes.
  locked="WITH locked AS MATERIALIZED (SELECT count(held) AS n FROM (SELECT CASE WHEN o = 1
    THEN pg_advisory_xact_lock_shared(x) ELSE pg_advisory_xact_lock(x) END AS held
    FROM unnest(ARRAY[2, 2 * :k + 1]::int8[]) WITH ORDINALITY AS a(x, o) ORDER BY o) ids)"
  raw_stmt=$(pg_raw "$key
$locked INSERT INTO ${table}_raw (prefix, space, key, value, expiration)
  SELECT 'arvel_cache', 0, k, v, 0 FROM locked, unnest(ARRAY[$keyexpr], ARRAY['value'::bytea])
  AS u(k, v) ON CONFLICT (prefix, space, key_hash)
  DO UPDATE SET value = EXCLUDED.value, expiration = EXCLUDED.expiration;")
  raw_txn=$(pg_raw "$key
BEGIN ISOLATION LEVEL READ COMMITTED;
SELECT pg_advisory_xact_lock_shared(2), pg_advisory_xact_lock(2 * :k + 1);
$select
$upsert
COMMIT;")
  row "postgres PUT" "$put" "$raw_put" "pgbench, $workers connections, upsert alone"
  row "postgres PUT" "" "$raw_stmt" "pgbench, $workers connections, the store's PUT statement"
  row "postgres PUT" "" "$raw_txn" "pgbench, $workers connections, read-modify-write transaction"
  row "postgres GET" "$get" "$raw_get" "pgbench, $workers connections, select"
fi

echo "arvel-cached: $binary"
echo "redis-benchmark -c $clients -n $requests -r $keyspace; pgbench -T $seconds"
echo
printf '%-14s %12s %12s   %s\n' "workload" "arvel req/s" "raw ops/s" "raw figure"
printf '%-14s %12s %12s   %s\n' "--------" "-----------" "---------" "----------"
printf '%s\n' "${rows[@]}"
