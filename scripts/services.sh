#!/usr/bin/env bash
# Starts PostgreSQL and Redis on 127.0.0.1 when they are not answering, in
# the shape the tests expect (CARTSYNC_TEST_POSTGRES / CARTSYNC_TEST_REDIS
# default to these): PostgreSQL on 5432 with trust auth over TCP from
# 127.0.0.1, a superuser `root` and a database `test`; Redis on 6379 as a
# pure cache (no persistence). Idempotent; does nothing on machines that
# start them already.
set -euo pipefail

pg_up() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }
if ! pg_up; then
  version=$(ls /usr/lib/postgresql | sort -n | tail -1)
  if ! pg_lsclusters -h 2>/dev/null | grep -q "^$version main"; then
    pg_createcluster "$version" main >/dev/null
  fi
  hba="/etc/postgresql/$version/main/pg_hba.conf"
  # Debian asks for a password on TCP; first match wins, so the trust line
  # goes first.
  if ! grep -q '^host all all 127.0.0.1/32 trust' "$hba"; then
    sed -i '1i host all all 127.0.0.1/32 trust\nhost replication all 127.0.0.1/32 trust' "$hba"
  fi
  pg_ctlcluster --skip-systemctl-redirect "$version" main start
  for _ in $(seq 50); do pg_up && break; sleep 0.2; done
  su postgres -c "psql -qtAc \"SELECT 1 FROM pg_roles WHERE rolname = 'root'\"" | grep -q 1 \
    || su postgres -c "createuser -s root"
  su postgres -c "psql -qtAc \"SELECT 1 FROM pg_database WHERE datname = 'test'\"" | grep -q 1 \
    || su postgres -c "createdb -O root test"
  echo "services: PostgreSQL $version started on 127.0.0.1:5432"
fi

if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
    --maxmemory-policy allkeys-lru >/dev/null
  for _ in $(seq 50); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 0.1; done
  echo "services: Redis started on 127.0.0.1:6379"
fi
