#!/usr/bin/env bash
# Reports the size of what a browser downloads for a cart page, as `make
# pkg` assembles it: the wasm (pkg/web/cartsync_bg.wasm), the wasm-bindgen
# glue (pkg/web/cartsync.js) and the entry modules (pkg/index.js,
# pkg/errors.js); raw, gzip -9 and brotli -q 11. Fails when the gzip total passes the budget
# (a deterministic check: same inputs, same bytes). Lower BUDGET_GZIP as the
# size falls; never raise it.
set -euo pipefail
cd "$(dirname "$0")/.."
# What the card's crates cost in their roles, measured, plus 2 KiB: 121,926 B
# at f0eebd6 (the issue's goal, 60 KB, is not met; BENCHMARKS.md says why).
# Raised once, by issue 13, to what was then measured plus 2 KiB (145,570
# B): the browser reads and writes 15 new shapes (the catalog's shipping and
# tax rules, judged options, the destination, tax, the order's payment
# intent and next action; serde-wasm-bindgen costs a reader and a writer per
# shape) and runs the checkout-terms rules itself. BENCHMARKS.md has the
# breakdown. Raised a second time, to 162,407 B measured plus 2 KiB, by
# issue 14's storage faults (~10 KB: the engine writes back cleared storage,
# reports unreadable and newer-format records) and issue 12's hand-off to
# the service worker (~10 KB: the IndexedDB copy, taking in what the worker
# settled); the worker's flush loop is its own build (pkg/sw/). Raised a
# third time, to 165,353 B measured plus 2 KiB, by the fixes the simulation
# of sign-in and of the service worker found (~3 KB: a tab reads storage
# before it moves to another cart, the merged-cart mark every tab reads,
# taking in the worker's work before leading).
BUDGET_GZIP=${BUDGET_GZIP:-167401}
dir=pkg/web
[ -f "$dir/cartsync_bg.wasm" ] || { echo "size: run make pkg first" >&2; exit 1; }

size() { wc -c <"$1" | tr -d ' '; }
gz() { gzip -9 -c "$1" | wc -c | tr -d ' '; }
br() { brotli -q 11 -c "$1" | wc -c | tr -d ' '; }
total_raw=0; total_gz=0; total_br=0
printf '%-22s %10s %10s %10s\n' file raw gzip brotli
for f in "$dir/cartsync_bg.wasm" "$dir/cartsync.js" pkg/index.js pkg/errors.js; do
  r=$(size "$f"); g=$(gz "$f"); b=$(br "$f")
  printf '%-22s %10s %10s %10s\n' "$(basename "$f")" "$r" "$g" "$b"
  total_raw=$((total_raw + r)); total_gz=$((total_gz + g)); total_br=$((total_br + b))
done
printf '%-22s %10s %10s %10s\n' total "$total_raw" "$total_gz" "$total_br"
if [ "$total_gz" -gt "$BUDGET_GZIP" ]; then
  echo "size budget exceeded: $total_gz bytes gzip > $BUDGET_GZIP" >&2
  exit 1
fi
echo "size budget: $total_gz bytes gzip <= $BUDGET_GZIP"
