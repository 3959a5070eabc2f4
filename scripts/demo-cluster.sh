#!/usr/bin/env bash
# `make demo-cluster`: the storefront at http://127.0.0.1:8080 served by
# nginx over three cartsync-server instances (127.0.0.1:8081-8083) on one
# PostgreSQL database and one Redis: the several-instance deployment of
# docs/deploy.md on one machine. Ctrl-C stops everything.
#
#   CARTSYNC_DEMO_POSTGRES  the database (default postgres://root@127.0.0.1:5432/cartsync_demo,
#                           created when missing)
#   CARTSYNC_DEMO_REDIS     the cache (default redis://127.0.0.1:6379/0, keys under cartsync-demo:)
set -euo pipefail
cd "$(dirname "$0")/.."
db=${CARTSYNC_DEMO_POSTGRES:-postgres://root@127.0.0.1:5432/cartsync_demo}
redis=${CARTSYNC_DEMO_REDIS:-redis://127.0.0.1:6379/0}
name=${db##*/}
name=${name%%\?*}
if ! psql "${db%/*}/postgres" -qtAc "SELECT 1 FROM pg_database WHERE datname = '$name'" | grep -q 1; then
  psql "${db%/*}/postgres" -qc "CREATE DATABASE $name"
fi
run=target/demo-cluster
rm -rf "$run" && mkdir -p "$run"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM
for i in 1 2 3; do
  target/release/cartsync-server --listen "127.0.0.1:808$i" --instance "demo-$i" \
    --database "$db" --cache "$redis" --cache-prefix cartsync-demo: \
    --static-dir www-example --dev --secret cartsync-demo 2>"$run/instance-$i.log" &
  pids+=($!)
done
for i in 1 2 3; do
  for _ in $(seq 100); do
    curl -fs "http://127.0.0.1:808$i/healthz" >/dev/null && break
    sleep 0.1
  done
  curl -fs "http://127.0.0.1:808$i/healthz" >/dev/null || { echo "instance $i did not start:"; cat "$run/instance-$i.log"; exit 1; }
done
scripts/nginx-conf.sh "$PWD/$run" 127.0.0.1:8080 127.0.0.1:8081 127.0.0.1:8082 127.0.0.1:8083 >"$run/nginx.conf"
echo "demo-cluster: open http://127.0.0.1:8080 (nginx over 127.0.0.1:8081-8083, $db, $redis; logs in $run; Ctrl-C stops)"
/usr/sbin/nginx -p "$PWD/$run" -c "$PWD/$run/nginx.conf" &
pids+=($!)
wait
