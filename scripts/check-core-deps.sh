#!/usr/bin/env bash
# Fails when cartsync-core depends (natively or for wasm32) on a crate that
# ties it to a platform: the core must give the same answers everywhere.
set -euo pipefail
forbidden='^(wasm-bindgen|js-sys|web-sys|tokio|sqlx|rusqlite|libsqlite3-sys|postgres|tokio-postgres|redis|getrandom|serde_json)$'
status=0
for target in x86_64-unknown-linux-gnu wasm32-unknown-unknown; do
  deps=$(cargo tree -p cartsync-core -e normal --target "$target" --prefix none --format '{p}' | awk '{print $1}' | sort -u)
  bad=$(grep -E "$forbidden" <<<"$deps" || true)
  if [ -n "$bad" ]; then
    echo "cartsync-core must not depend on: $bad (target $target)" >&2
    status=1
  fi
done
[ "$status" = 0 ] && echo "deps-check: cartsync-core is platform-free"
exit "$status"
