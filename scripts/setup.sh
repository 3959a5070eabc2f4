#!/usr/bin/env bash
# Installs what `make demo` and `make test` need on a fresh machine of this
# kind (Debian, rustup, Node 20). Idempotent: each step is skipped when its
# result is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  echo "setup: adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi
for component in rustfmt clippy; do
  if ! rustup component list --installed | grep -q "^${component}"; then
    rustup component add "$component"
  fi
done

# Headless Chromium and its driver, from Debian (test tools cannot download
# browsers here).
if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ] || ! command -v brotli >/dev/null; then
  echo "setup: installing chromium, chromium-driver and brotli"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver brotli >/dev/null
fi

# wasm-bindgen-cli must match the wasm-bindgen version Cargo.lock pins.
want=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
have=$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)
if [ "$have" != "$want" ]; then
  echo "setup: installing wasm-bindgen-cli $want (found '${have:-none}')"
  # --locked fails here (its lockfile pins a crate the registry lacks).
  cargo install wasm-bindgen-cli --version "=$want"
fi

# wasm-opt from the npm package binaryen (Debian's corrupts wasm-bindgen
# output) and other JS tooling, pinned by package-lock.json.
missing=""
for tool in wasm-opt esbuild tsc; do
  [ -x "node_modules/.bin/$tool" ] || missing="$missing $tool"
done
for package in playwright-core vite webpack; do
  [ -d "node_modules/$package" ] || missing="$missing $package"
done
if [ -n "$missing" ]; then
  echo "setup: npm ci (missing:$missing)"
  npm ci --no-audit --no-fund --loglevel=error
fi
