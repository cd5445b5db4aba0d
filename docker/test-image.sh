#!/usr/bin/env bash
# Builds the container image from docker/Dockerfile and exercises it (SPEC §8), as root:
#   1. a debian:bookworm-slim base image made locally (mmdebstrap --variant=minbase + podman
#      import), as Docker Hub is out of reach; kept for later runs (ARVEL_IMAGE_NEW_BASE=1 remakes it);
#   2. podman build --pull=never --isolation chroot --format docker (the docker format keeps the
#      HEALTHCHECK), the Dockerfile unchanged;
#   3. the image's metadata: non-root user, EXPOSE 6380, HEALTHCHECK, VOLUME, CACHE_BIND=0.0.0.0;
#   4. the image's own binary, run as the image's user with the image's environment: it links
#      every library it needs, listens on 0.0.0.0, reads CACHE_* (port, password), answers PING,
#      its HEALTHCHECK command passes (and fails with a wrong password), the file and SQLite
#      stores write into the volume, a mounted /etc/arvel-cached/cache.toml is read, and SIGTERM
#      stops it cleanly. With `podman run` where containers can start; else (this machine's
#      cgroup/rlimit layout refuses them) with `podman image mount` + `chroot --userspec`;
#   5. docker/compose.yaml: checked against the images and the daemon's CACHE_* variables, and
#      its sidecar story run with host networking: the example app's image (examples/python)
#      serves /report through the cache image's daemon, whose `redis` store uses a local
#      redis-server; redis-cli sees the keys.
# Prints "N passed, M failed"; exits non-zero on any failure. Bounded by timeouts.
set -euo pipefail
cd "$(dirname "$0")/.."
image=localhost/arvel-cached:test
base=docker.io/library/debian:bookworm-slim
work=$(mktemp -d /tmp/arvel-image-test.XXXXXX)
passed=0
failed=0
daemon_pid=
root=
mounts=()

cleanup() {
  set +e  # a step that fails (a process already gone) must not stop the others
  [ -n "$daemon_pid" ] && kill -9 "$daemon_pid" 2>/dev/null
  [ -n "${app_pid:-}" ] && kill -9 "$app_pid" 2>/dev/null
  [ -n "${redis_pid:-}" ] && kill -9 "$redis_pid" 2>/dev/null
  podman rm -f arvel-example-app >/dev/null 2>&1 || true
  [ -n "${app_root:-}" ] && podman image unmount localhost/arvel-example-app:test >/dev/null 2>&1
  podman rm -f arvel-image-test >/dev/null 2>&1 || true
  for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do umount "${mounts[i]}" 2>/dev/null || true; done
  [ -n "$root" ] && podman image unmount "$image" >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT

check() {  # check NAME COMMAND...: runs COMMAND, counts and reports the outcome
  local name=$1
  shift
  if "$@" >"$work/check.out" 2>&1; then
    passed=$((passed + 1))
    echo "ok   $name"
  else
    failed=$((failed + 1))
    echo "FAIL $name"
    sed 's/^/     /' "$work/check.out"
  fi
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

inspect() { podman image inspect "$image" --format "$1"; }

# --- 1. base image and 2. build ---
if [ "${ARVEL_IMAGE_NEW_BASE:-0}" = 1 ] || ! podman image exists "$base"; then
  echo "== base image: mmdebstrap --variant=minbase bookworm"
  timeout 900 mmdebstrap --quiet --variant=minbase bookworm "$work/base.tar"
  podman import --quiet "$work/base.tar" "$base" >/dev/null
  rm -f "$work/base.tar"
fi
echo "== podman build -f docker/Dockerfile"
if ! timeout 2400 podman build --pull=never --isolation chroot --format docker --quiet \
    -f docker/Dockerfile -t "$image" . >"$work/build.log" 2>&1; then
  tail -n 60 "$work/build.log"
  echo "0 passed, 1 failed"
  exit 1
fi
# Old build-stage layers of earlier runs (the current ones stay as the cache of the next build).
podman image prune -f --filter until=24h >/dev/null 2>&1 || true

# --- 3. metadata ---
user=$(inspect '{{.Config.User}}')
workdir=$(inspect '{{.Config.WorkingDir}}')
mapfile -t image_env < <(inspect '{{range .Config.Env}}{{println .}}{{end}}' | sed '/^$/d')
mapfile -t entrypoint < <(inspect '{{range .Config.Entrypoint}}{{println .}}{{end}}' | sed '/^$/d')
health_json=$(inspect '{{json .HealthCheck}}')
# ["CMD", "arvel-cached", "--ping"] or ["CMD-SHELL", "…"]: the command as argv lines.
mapfile -t health < <(python3 -c '
import json, sys
test = (json.loads(sys.argv[1]) or {}).get("Test") or []
argv = test[1:] if test[:1] == ["CMD"] else (["/bin/sh", "-c", test[1]] if test[:1] == ["CMD-SHELL"] else [])
print("\n".join(argv))' "$health_json")
uid=${user%%:*}
gid=${user#*:}

check "runs as a non-root numeric user ($user)" test "$uid" -gt 0 -a "$gid" -gt 0
check "EXPOSE 6380" grep -q '"6380/tcp"' <<<"$(inspect '{{json .Config.ExposedPorts}}')"
check "HEALTHCHECK is set (${health[*]:-none})" test ${#health[@]} -gt 0
check "VOLUME /var/lib/arvel-cached" grep -q '/var/lib/arvel-cached' <<<"$(inspect '{{json .Config.Volumes}}')"
check "binds 0.0.0.0 (CACHE_BIND in the image's environment)" \
  grep -qx 'CACHE_BIND=0.0.0.0' <<<"$(printf '%s\n' "${image_env[@]}")"
check "serves other containers (CACHE_PROTECTED_MODE=false in the image's environment)" \
  grep -qx 'CACHE_PROTECTED_MODE=false' <<<"$(printf '%s\n' "${image_env[@]}")"

# --- 4. the binary, run as the image's user ---
mode=chroot
if timeout 60 podman run --rm --network host "$image" --version >/dev/null 2>&1; then
  mode=container
fi
echo "== running the image's binary ($mode)"
volume=$work/volume
mkdir -p "$volume" && chown "$uid:$gid" "$volume" && chmod 0750 "$volume"
mounted_config=$work/cache.toml
if [ "$mode" = chroot ]; then
  root=$(podman image mount "$image")
  # The volume and a mounted cache.toml, as a container runtime would provide them.
  mount --bind "$volume" "$root/var/lib/arvel-cached" && mounts+=("$root/var/lib/arvel-cached")
fi

# start_daemon LOG [NAME=VALUE…] [-- CONFIG_FILE]: starts the image's entrypoint with the image's
# environment plus the given variables; sets daemon_pid (the daemon itself, or `podman run`).
start_daemon() {
  local log=$1
  shift
  local vars=() config=
  while [ $# -gt 0 ]; do
    if [ "$1" = -- ]; then config=$2; shift 2; else vars+=("$1"); shift; fi
  done
  if [ "$mode" = chroot ]; then
    if [ -n "$config" ]; then
      mount --bind "$config" "$root/etc/arvel-cached/cache.toml"
      mounts+=("$root/etc/arvel-cached/cache.toml")
    fi
    env -i "${image_env[@]}" "${vars[@]}" chroot --userspec="$uid:$gid" "$root" \
      env --chdir="$workdir" "${entrypoint[@]}" >"$log" 2>&1 &
  else
    local args=(--rm --name arvel-image-test --network host -v "$volume:/var/lib/arvel-cached")
    [ -n "$config" ] && args+=(-v "$config:/etc/arvel-cached/cache.toml:ro")
    for v in "${vars[@]}"; do args+=(-e "$v"); done
    podman run "${args[@]}" "$image" >"$log" 2>&1 &
  fi
  daemon_pid=$!
}

# run_health [NAME=VALUE…]: the image's HEALTHCHECK command, as the image's user.
run_health() {
  if [ "$mode" = chroot ]; then
    env -i "${image_env[@]}" "$@" chroot --userspec="$uid:$gid" "$root" \
      env --chdir="$workdir" timeout 10 "${health[@]}"
  elif [ $# -eq 0 ]; then
    timeout 30 podman healthcheck run arvel-image-test
  else
    local args=()
    for v in "$@"; do args+=(-e "$v"); done
    timeout 30 podman exec "${args[@]}" arvel-image-test "${health[@]}"
  fi
}

health_fails() { ! run_health "$@"; }

stop_daemon() {  # SIGTERM; true when it exits 0 within 10 s
  local status=0
  if [ "$mode" = chroot ]; then kill -TERM "$daemon_pid"; else podman stop -t 10 arvel-image-test >/dev/null; fi
  timeout 15 tail --pid="$daemon_pid" -f /dev/null || return 1
  wait "$daemon_pid" || status=$?
  daemon_pid=
  return "$status"
}

wait_for_line() {  # wait_for_line LOG REGEX: true once LOG has a line matching REGEX (10 s)
  for _ in $(seq 100); do
    grep -qE "$2" "$1" && return 0
    sleep 0.1
  done
  echo "no line matching '$2' in:" && cat "$1"
  return 1
}

daemon_uid() {
  if [ "$mode" = chroot ]; then
    awk '/^Uid:/ { print $2 }' "/proc/$daemon_pid/status"
  else
    podman exec arvel-image-test id -u
  fi
}

cli() { timeout 10 redis-cli -h 127.0.0.1 -p "$port" "$@"; }

if [ "$mode" = chroot ]; then
  check "every shared library resolves in the image" \
    bash -c "! chroot '$root' ldd /usr/local/bin/arvel-cached | grep -i 'not found'"
fi

port=$(free_port)
password=image-test-secret
start_daemon "$work/daemon.log" "CACHE_SERVER_PORT=$port" "CACHE_PASSWORD=$password"
check "starts and listens on 0.0.0.0:$port (CACHE_SERVER_PORT)" \
  wait_for_line "$work/daemon.log" "listening on 0\.0\.0\.0:$port "
check "runs as uid $uid" test "$(daemon_uid)" = "$uid"
check "reads CACHE_PASSWORD (PING without AUTH is refused)" \
  bash -c "redis-cli -h 127.0.0.1 -p $port PING | grep -q NOAUTH"
check "answers PING" test "$(cli --no-auth-warning -a "$password" PING)" = PONG
check "HEALTHCHECK passes" run_health "CACHE_SERVER_PORT=$port" "CACHE_PASSWORD=$password"
check "HEALTHCHECK fails with a wrong password" \
  health_fails "CACHE_SERVER_PORT=$port" CACHE_PASSWORD=wrong
stores() {
  printf 'AUTH %s\nSTORE file\nPUT k v 600\nSTORE database\nPUT k v 600\n' "$password" |
    cli >/dev/null
  test -n "$(find "$volume/file" -type f -user "$uid" -name '*.json')"
  test -n "$(find "$volume" -maxdepth 1 -name 'cache.sqlite' -user "$uid")"
}
check "file and SQLite stores write into the volume as uid $uid" stores
check "SIGTERM stops it with exit code 0" stop_daemon

port=$(free_port)
printf 'default = "null"\n\n[server]\nport = %s\n' "$port" >"$mounted_config"
chmod 0644 "$mounted_config"
start_daemon "$work/daemon2.log" -- "$mounted_config"
check "reads a mounted /etc/arvel-cached/cache.toml (port $port)" \
  wait_for_line "$work/daemon2.log" "listening on 0\.0\.0\.0:$port .*default store 'null'"
check "HEALTHCHECK passes with the mounted cache.toml" run_health
check "SIGTERM stops it with exit code 0 (mounted cache.toml)" stop_daemon
if [ "$mode" = chroot ]; then
  umount "$root/etc/arvel-cached/cache.toml" && unset 'mounts[${#mounts[@]}-1]'
fi

# --- 5. the sidecar of docker/compose.yaml, with host networking: the app image's app.py talks
# to the cache image's daemon, whose `redis` store uses Debian's redis-server (standing in for
# the compose file's redis image, which is on Docker Hub).
echo "== docker/compose.yaml"
if [ "$mode" = chroot ]; then
  chroot --userspec="$uid:$gid" "$root" /usr/local/bin/arvel-cached --help >"$work/help.txt"
else
  podman run --rm "$image" --help >"$work/help.txt"
fi
check "compose.yaml: services, builds and CACHE_* variables are consistent" \
  python3 docker/check-compose.py docker/compose.yaml "$work/help.txt" "$work"
app_image=localhost/arvel-example-app:test
check "the example app's image builds (examples/python/Dockerfile)" \
  timeout 900 podman build --pull=never --isolation chroot --format docker --quiet \
  -t "$app_image" examples/python
redis_port=$(free_port)
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no \
  >"$work/redis.log" 2>&1 &
redis_pid=$!
port=$(free_port)
app_port=$(free_port)
mapfile -t cache_env <"$work/cache.env"
mapfile -t app_env <"$work/app.env"
password=$(sed -n 's/^CACHE_PASSWORD=//p' "$work/cache.env")
start_daemon "$work/sidecar.log" "${cache_env[@]}" CACHE_HOST=127.0.0.1 \
  "CACHE_PORT=$redis_port" "CACHE_SERVER_PORT=$port"
check "the sidecar starts with compose.yaml's environment" \
  wait_for_line "$work/sidecar.log" "listening on 0\.0\.0\.0:$port .*default store 'redis'"
app_vars=("${app_env[@]}" "ARVEL_CACHE_PORT=$port" "APP_PORT=$app_port" REPORT_SECONDS=1)
if [ "$mode" = chroot ]; then
  app_root=$(podman image mount "$app_image")
  mapfile -t app_image_env < <(podman image inspect "$app_image" \
    --format '{{range .Config.Env}}{{println .}}{{end}}' | sed '/^$/d')
  app_user=$(podman image inspect "$app_image" --format '{{.Config.User}}')
  env -i "${app_image_env[@]}" "${app_vars[@]}" chroot --userspec="$app_user" "$app_root" \
    env --chdir=/app python3 /app/app.py >"$work/app.log" 2>&1 &
else
  app_args=()
  for v in "${app_vars[@]}"; do app_args+=(-e "$v"); done
  podman run --rm --name arvel-example-app --network host "${app_args[@]}" "$app_image" \
    >"$work/app.log" 2>&1 &
fi
app_pid=$!
check "the app starts" wait_for_line "$work/app.log" "listening on :$app_port"
get() { curl -s -o "$work/body.$2" -w '%{http_code}\n' "http://127.0.0.1:$app_port$1"; }
reports() {
  local pids=()
  for i in $(seq 10); do
    get /report "$i" >>"$work/codes" &
    pids+=($!)
  done
  wait "${pids[@]}"
  sort -u "$work/codes"
  [ "$(sort -u "$work/codes")" = 200 ] && [ "$(cat "$work"/body.* | sort -u | wc -l)" = 1 ] &&
    grep -q '"build": 1' "$work/body.1"
}
check "10 concurrent GET /report through the sidecar: one build, one answer" reports
check "redis-cli on the sidecar sees the cached report" \
  bash -c "timeout 10 redis-cli -p $port -a '$password' --no-auth-warning KEYS '*' | grep -qx report"
check "the value lives upstream in Redis (prefix example-app)" \
  bash -c "timeout 10 redis-cli -p $redis_port --scan --pattern 'example-app:*' | grep -q report"
logins() {
  for i in 1 2 3 4 5 6; do get '/login?user=7' "login$i"; done | tr '\n' ' ' | tee "$work/codes"
  grep -qx '200 200 200 200 200 429 ' "$work/codes"
}
check "GET /login is rate limited after 5 attempts" logins
check "SIGTERM stops the sidecar with exit code 0" stop_daemon
kill "$app_pid" "$redis_pid" 2>/dev/null || true
wait "$app_pid" "$redis_pid" 2>/dev/null || true
app_pid= redis_pid=

echo "image test ($mode): $passed passed, $failed failed"
[ "$failed" = 0 ]
