#!/usr/bin/env bash
# A PostgreSQL primary with one synchronous standby in DIR, on free ports,
# for the end-to-end failover test (the Rust failover test builds the same
# pair itself):
#   scripts/pg-pair.sh start DIR     prints PRIMARY_PORT STANDBY_PORT
#   scripts/pg-pair.sh kill-primary DIR
#   scripts/pg-pair.sh promote DIR
#   scripts/pg-pair.sh stop DIR      stops both (immediate) and removes DIR
# Runs the PostgreSQL programs as `postgres` when called as root.
set -euo pipefail
cmd=$1 dir=$2
bin=${CARTSYNC_PG_BINDIR:-$(pg_config --bindir 2>/dev/null || echo /usr/lib/postgresql/15/bin)}
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
ctl() { as_pg "$bin/pg_ctl" -D "$1" -l "$1.log" -w -t 60 "${@:2}" >/dev/null; }

case $cmd in
start)
  mkdir -p "$dir"
  if [ "$(id -u)" = 0 ]; then
    chown postgres:postgres "$dir"
    # postgres must reach DIR: a private temp directory above it is opened
    # for traversal (not listing).
    chmod a+x "$(dirname "$dir")"
  fi
  p1=$(free_port) p2=$(free_port)
  as_pg "$bin/initdb" -D "$dir/primary" -U postgres --auth=trust --no-sync >/dev/null
  cat >>"$dir/primary/postgresql.conf" <<CONF
port = $p1
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir'
wal_level = replica
max_wal_senders = 4
synchronous_commit = on
shared_buffers = 16MB
max_connections = 60
CONF
  ctl "$dir/primary" start
  as_pg "$bin/psql" -qAt -h 127.0.0.1 -p "$p1" -U postgres -c "CREATE DATABASE cartsync" >/dev/null
  # -c fast: no wait for a spread checkpoint; -w: never prompt.
  as_pg "$bin/pg_basebackup" -h 127.0.0.1 -p "$p1" -U postgres -D "$dir/standby" -X stream -c fast -R -w
  echo "primary_conninfo = 'host=127.0.0.1 port=$p1 user=postgres application_name=standby1'" \
    | as_pg tee -a "$dir/standby/postgresql.auto.conf" >/dev/null
  echo "port = $p2" | as_pg tee -a "$dir/standby/postgresql.conf" >/dev/null
  ctl "$dir/standby" start
  # Only now, on the primary only: the standby must not inherit it.
  as_pg "$bin/psql" -qAt -h 127.0.0.1 -p "$p1" -U postgres -c "ALTER SYSTEM SET synchronous_standby_names = 'standby1'" >/dev/null
  as_pg "$bin/psql" -qAt -h 127.0.0.1 -p "$p1" -U postgres -c "SELECT pg_reload_conf()" >/dev/null
  for _ in $(seq 300); do
    state=$(as_pg "$bin/psql" -qAt -h 127.0.0.1 -p "$p1" -U postgres -c "SELECT sync_state FROM pg_stat_replication WHERE application_name = 'standby1'")
    [ "$state" = sync ] && break
    sleep 0.1
  done
  [ "$state" = sync ] || { echo "pg-pair: the standby never became synchronous" >&2; exit 1; }
  echo "$p1 $p2" >"$dir/ports"
  echo "$p1 $p2"
  ;;
kill-primary) ctl "$dir/primary" -m immediate stop ;;
promote) ctl "$dir/standby" promote ;;
stop)
  for node in primary standby; do
    [ -f "$dir/$node/postmaster.pid" ] && ctl "$dir/$node" -m immediate stop || true
  done
  rm -rf "$dir"
  ;;
*) echo "usage: $0 start|kill-primary|promote|stop DIR" >&2; exit 2 ;;
esac
