#!/usr/bin/env bash
# Installs what `make demo` and `make test` need on a fresh machine of this
# kind (Debian, rustup, Node 20). Idempotent: each step is skipped when its
# result is already there.
set -euo pipefail

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  echo "setup: adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi
for component in rustfmt clippy; do
  if ! rustup component list --installed | grep -q "^${component}"; then
    rustup component add "$component"
  fi
done
