#!/usr/bin/env bash
# Builds the browser SDK as a browser downloads it (release wasm, wasm-bindgen
# --target web, wasm-opt -Oz from the npm package binaryen) and reports raw,
# gzip and brotli sizes. Fails when the gzip total passes the budget (a
# deterministic check: same inputs, same bytes). Lower BUDGET_GZIP as the
# size falls; never raise it.
set -euo pipefail
cd "$(dirname "$0")/.."
BUDGET_GZIP=${BUDGET_GZIP:-61440}   # 60 KB; the product target is < 39 KB
out=target/size
rm -rf "$out" && mkdir -p "$out"
cargo build --quiet -p cartsync --lib --target wasm32-unknown-unknown --release
wasm-bindgen --target web --out-dir "$out" --out-name cartsync \
  target/wasm32-unknown-unknown/release/cartsync.wasm
node_modules/.bin/wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int \
  --enable-sign-ext --enable-mutable-globals --enable-reference-types --enable-multivalue \
  --strip-debug --strip-producers "$out/cartsync_bg.wasm" -o "$out/cartsync_bg.opt.wasm"
mv "$out/cartsync_bg.opt.wasm" "$out/cartsync_bg.wasm"

size() { wc -c <"$1" | tr -d ' '; }
gz() { gzip -9 -c "$1" | wc -c | tr -d ' '; }
br() { if command -v brotli >/dev/null; then brotli -q 11 -c "$1" | wc -c | tr -d ' '; else echo "n/a"; fi; }
total_raw=0; total_gz=0; total_br=0
printf '%-22s %10s %10s %10s\n' file raw gzip brotli
for f in "$out/cartsync_bg.wasm" "$out/cartsync.js"; do
  r=$(size "$f"); g=$(gz "$f"); b=$(br "$f")
  printf '%-22s %10s %10s %10s\n' "$(basename "$f")" "$r" "$g" "$b"
  total_raw=$((total_raw + r)); total_gz=$((total_gz + g))
  [ "$b" != "n/a" ] && total_br=$((total_br + b))
done
printf '%-22s %10s %10s %10s\n' total "$total_raw" "$total_gz" "$total_br"
if [ "$total_gz" -gt "$BUDGET_GZIP" ]; then
  echo "size budget exceeded: $total_gz bytes gzip > $BUDGET_GZIP" >&2
  exit 1
fi
echo "size budget: $total_gz bytes gzip <= $BUDGET_GZIP"
