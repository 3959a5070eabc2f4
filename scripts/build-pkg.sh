#!/usr/bin/env bash
# Assembles the npm package in pkg/ from two builds of the binding (profile
# wasm-release: opt-level z, LTO, panic=abort):
#   - the browser client (feature `client`): web/ and bundler/ targets;
#   - the pure rules (feature `rules`): node/ (CommonJS, for Node) and
#     rules/ (web target, for browsers that want them: `cartsync/rules`).
# Each goes through wasm-bindgen and wasm-opt -Oz (the npm package binaryen;
# Debian's corrupts wasm-bindgen output); browser glue is minified with
# esbuild. Then the files of pkg-template/ are added. No downloads beyond
# crates.io and npm.
set -euo pipefail
cd "$(dirname "$0")/.."
out=pkg
built=target/wasm32-unknown-unknown/wasm-release/cartsync.wasm
rm -rf "$out" target/pkg-wasm && mkdir -p "$out" target/pkg-wasm

build() { # features → target/pkg-wasm/<name>.wasm
  cargo build --quiet -p cartsync --lib --target wasm32-unknown-unknown --profile wasm-release \
    --no-default-features --features "$1"
  cp "$built" "target/pkg-wasm/$1.wasm"
}
opt() {
  node_modules/.bin/wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int \
    --enable-sign-ext --enable-mutable-globals --enable-reference-types --enable-multivalue \
    --strip-debug --strip-producers "$1" -o "$1.tmp" && mv "$1.tmp" "$1"
}
minify() {
  node_modules/.bin/esbuild "$1" --minify --format=esm --log-level=warning \
    --outfile="$1.tmp" && mv "$1.tmp" "$1"
}
bindgen() { # wasm target dir
  wasm-bindgen --target "$2" --out-dir "$out/$3" --out-name cartsync "$1"
  opt "$out/$3/cartsync_bg.wasm"
  [ "$2" = nodejs ] || minify "$out/$3/cartsync.js"
}

build client
build rules
bindgen target/pkg-wasm/client.wasm web web
bindgen target/pkg-wasm/client.wasm bundler bundler
bindgen target/pkg-wasm/rules.wasm nodejs node
bindgen target/pkg-wasm/rules.wasm web rules
# wasm-bindgen's nodejs output is CommonJS; the package itself is ESM.
echo '{ "type": "commonjs" }' > "$out/node/package.json"
cp pkg-template/package.json pkg-template/README.md pkg-template/*.js pkg-template/*.mjs pkg-template/*.d.ts "$out/"
for f in "$out"/*.js "$out"/web/snippets/*/src/*.js "$out"/bundler/snippets/*/src/*.js; do minify "$f"; done
echo "pkg: assembled $(du -sh "$out" | cut -f1) in $out/"
