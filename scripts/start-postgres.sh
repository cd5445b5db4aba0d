#!/usr/bin/env bash
# Starts the Debian PostgreSQL cluster the `database` driver tests use, and prints its URL:
#
#   export ARVEL_TEST_POSTGRES_URL=$(scripts/start-postgres.sh)
#   # -> postgresql://arvel:arvel@127.0.0.1:5432/arvel_test
#
# Idempotent: creates the cluster (PG_VERSION, default 15, cluster "main") if missing, makes it
# listen on 127.0.0.1 only, starts it, waits until it accepts connections (at most 30 s), and
# creates the role `arvel` (password `arvel`) and the database `arvel_test` if missing. Runs as
# root (Debian 12: postgresql-15 installed); everything but the URL goes to stderr.
set -euo pipefail

version="${PG_VERSION:-15}"
cluster=main
conf_dir="/etc/postgresql/$version/$cluster"

if [[ $(id -u) -ne 0 ]]; then
  echo "start-postgres.sh: run as root (it manages the system PostgreSQL cluster)" >&2
  exit 1
fi
command -v pg_ctlcluster >/dev/null || {
  echo "start-postgres.sh: pg_ctlcluster not found (apt-get install postgresql)" >&2
  exit 1
}

as_postgres() { runuser -u postgres -- "$@"; }

if [[ ! -f "$conf_dir/postgresql.conf" ]]; then
  echo "creating cluster $version/$cluster" >&2
  pg_createcluster "$version" "$cluster" >&2
fi

# Loopback only; the file in conf.d wins over postgresql.conf (Debian includes conf.d last).
mkdir -p "$conf_dir/conf.d"
listen_conf="$conf_dir/conf.d/arvel-listen.conf"
if [[ ! -f "$listen_conf" ]] || ! grep -q "^listen_addresses = '127.0.0.1'" "$listen_conf"; then
  echo "listen_addresses = '127.0.0.1'" >"$listen_conf"
  chown postgres:postgres "$listen_conf"
  # A running cluster picks listen_addresses up only on restart.
  if pg_ctlcluster "$version" "$cluster" status >/dev/null 2>&1; then
    pg_ctlcluster "$version" "$cluster" restart >&2
  fi
fi

port=$(awk -F= '/^[[:space:]]*port[[:space:]]*=/ { gsub(/[^0-9]/, "", $2); print $2; exit }' \
  "$conf_dir/postgresql.conf")
port="${port:-5432}"

if ! pg_ctlcluster "$version" "$cluster" status >/dev/null 2>&1; then
  pg_ctlcluster "$version" "$cluster" start >&2
fi

for _ in $(seq 1 60); do
  pg_isready -q -h 127.0.0.1 -p "$port" && break
  sleep 0.5
done
if ! pg_isready -q -h 127.0.0.1 -p "$port"; then
  echo "start-postgres.sh: PostgreSQL did not become ready on 127.0.0.1:$port" >&2
  exit 1
fi

psql_admin() { as_postgres psql -X -q -v ON_ERROR_STOP=1 -p "$port" "$@"; }
psql_admin -d postgres >&2 <<'SQL'
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'arvel') THEN
    CREATE ROLE arvel LOGIN PASSWORD 'arvel';
  END IF;
END
$$;
SQL
if [[ -z $(psql_admin -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'arvel_test'") ]]
then
  as_postgres createdb -p "$port" -O arvel arvel_test
fi

echo "postgresql://arvel:arvel@127.0.0.1:$port/arvel_test"
