#!/usr/bin/env bash
# Packs pkg/ with `npm pack` and uses the tarball as a user would: installed
# into a scratch project, imported by name from Node ESM.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
tarball=$(cd pkg && npm pack --silent --pack-destination "$scratch")
cd "$scratch"
echo '{ "name": "smoke", "private": true, "type": "module" }' > package.json
npm install --no-audit --no-fund --loglevel=error "./$tarball"
cp "$root/tests/pkg/node-smoke.test.mjs" .
node --test node-smoke.test.mjs
