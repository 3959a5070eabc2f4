#!/usr/bin/env bash
# Assembles the npm package in pkg/ from one release build of the browser
# binding: wasm-bindgen per target (web, bundler, nodejs), wasm-opt -Oz from
# the npm package binaryen, and the files in pkg-template/. No downloads
# beyond crates.io and npm.
set -euo pipefail
cd "$(dirname "$0")/.."
out=pkg
wasm=target/wasm32-unknown-unknown/release/cartsync.wasm
rm -rf "$out" && mkdir -p "$out"
cargo build --quiet -p cartsync --lib --target wasm32-unknown-unknown --release

opt() {
  node_modules/.bin/wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int \
    --enable-sign-ext --enable-mutable-globals --enable-reference-types --enable-multivalue \
    --strip-debug --strip-producers "$1" -o "$1.tmp" && mv "$1.tmp" "$1"
}
for target in web bundler nodejs; do
  dir="$out/${target/nodejs/node}"
  wasm-bindgen --target "$target" --out-dir "$dir" --out-name cartsync "$wasm"
  opt "$dir/cartsync_bg.wasm"
done
# wasm-bindgen's nodejs output is CommonJS; the package itself is ESM.
echo '{ "type": "commonjs" }' > "$out/node/package.json"
cp pkg-template/package.json pkg-template/README.md pkg-template/*.js pkg-template/*.mjs pkg-template/*.d.ts "$out/"
cp LICENSE* "$out/" 2>/dev/null || true
echo "pkg: assembled $(du -sh "$out" | cut -f1) in $out/"
