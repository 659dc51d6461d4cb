#!/usr/bin/env bash
# Throwaway PostgreSQL server for the tests (the CTest fixture "pg").
#
#   pg_server.sh start DIR   new cluster on 127.0.0.1, free port from 55432 up,
#                            database lake_test; its URI goes to DIR/uri
#   pg_server.sh stop DIR    stop the server and remove DIR (no-op if not running)
#
# The cluster lives in DIR (data/, log, Unix socket) unless the postgres user cannot
# reach DIR or the socket path would be too long; then it lives in a fresh 0755 dir
# under /tmp whose path DIR/cluster records. As root the server runs as `postgres`.
# A server left behind in DIR by an aborted run is stopped and replaced by `start`.
set -euo pipefail

usage() { echo "usage: $0 start|stop DIR" >&2; exit 2; }
[ $# -eq 2 ] || usage
cmd=$1
DIR=$(realpath -m "$2")
[ "$DIR" != / ] || usage

pg_bindir() {
  local d
  d=$(pg_config --bindir 2>/dev/null) && [ -x "$d/initdb" ] && { echo "$d"; return; }
  d=$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n1)
  [ -n "$d" ] && [ -x "$d/initdb" ] && { echo "$d"; return; }
  d=$(command -v initdb) && { dirname "$d"; return; }
  echo "pg_server.sh: no PostgreSQL server binaries (initdb) found" >&2; exit 1
}
PGBIN=$(pg_bindir)

# Server-side commands run as postgres when we are root (initdb refuses root).
as_pg() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# Where the cluster of DIR lives (see header).
cluster_of() { if [ -f "$DIR/cluster" ]; then cat "$DIR/cluster"; else echo "$DIR"; fi; }

# True if PID is a live (not zombie) postgres process. pg_ctl's own check counts a
# killed postmaster that nobody has reaped yet as running and would wait 30 s on it.
pm_alive() {
  [ -r "/proc/$1/stat" ] && [ "$(cat "/proc/$1/comm" 2>/dev/null)" = postgres ] &&
    [ "$(sed 's/.*) //' "/proc/$1/stat" | cut -c1)" != Z ]
}

stop_server() {
  local c pid
  c=$(cluster_of)
  pid=$(head -n1 "$c/data/postmaster.pid" 2>/dev/null || true)
  if [ -n "$pid" ] && pm_alive "$pid"; then
    as_pg "$PGBIN/pg_ctl" -D "$c/data" -m fast -w -t 30 stop >/dev/null ||
      as_pg "$PGBIN/pg_ctl" -D "$c/data" -m immediate -w -t 30 stop >/dev/null ||
      ! pm_alive "$pid" || { echo "pg_ctl: cannot stop server $pid in $c" >&2; exit 1; }
  fi
  [ "$c" = "$DIR" ] || rm -rf "$c"
  rm -rf "$DIR"
}

fail() {
  echo "pg_server.sh: $*" >&2
  if [ -f "${CLUSTER:-}/log" ]; then echo "--- server log ($CLUSTER/log) ---" >&2; cat "$CLUSTER/log" >&2; fi
  exit 1
}

start_server() {
  stop_server
  mkdir -p "$DIR"
  CLUSTER=$DIR
  # 107 bytes is the sun_path limit; "/.s.PGSQL.NNNNN" plus its ".lock" needs 20.
  if [ ${#DIR} -gt 85 ] || { [ "$(id -u)" -eq 0 ] && ! runuser -u postgres -- test -x "$(dirname "$DIR")"; }; then
    CLUSTER=$(mktemp -d /tmp/lh-pg.XXXXXX)
    chmod 0755 "$CLUSTER"
    echo "$CLUSTER" >"$DIR/cluster"
  fi
  [ "$(id -u)" -ne 0 ] || chown postgres: "$CLUSTER"

  as_pg "$PGBIN/initdb" -D "$CLUSTER/data" -U postgres -A trust -E UTF8 \
    --locale=C.UTF-8 --no-sync >"$CLUSTER/initdb.log" 2>&1 ||
    { cat "$CLUSTER/initdb.log" >&2; fail "initdb failed"; }

  # Skip ports something already answers on; if another run grabs the same port
  # between the check and the bind, the bind fails and we move on to the next one.
  local port=55432 last=55532
  while [ $port -le $last ]; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then port=$((port + 1)); continue; fi
    : >"$CLUSTER/log"
    [ "$(id -u)" -ne 0 ] || chown postgres: "$CLUSTER/log"
    if as_pg "$PGBIN/pg_ctl" -D "$CLUSTER/data" -l "$CLUSTER/log" -w -t 30 \
         -o "-c listen_addresses=127.0.0.1 -p $port -k '$CLUSTER' -c fsync=off \
             -c synchronous_commit=off -c full_page_writes=off" start >/dev/null 2>&1; then
      break
    fi
    grep -q 'could not bind\|could not create any TCP/IP sockets' "$CLUSTER/log" ||
      fail "pg_ctl start failed on port $port"
    port=$((port + 1))
  done
  [ $port -le $last ] || fail "no free port in 55432-$last"

  "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -d "postgresql://postgres@127.0.0.1:$port/postgres" \
    -c "CREATE DATABASE lake_test" >/dev/null || fail "CREATE DATABASE lake_test failed"
  echo "postgresql://postgres@127.0.0.1:$port/lake_test" >"$DIR/uri"
}

case $cmd in
  start) start_server ;;
  stop) stop_server ;;
  *) usage ;;
esac
