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

# PostgreSQL, Redis, the load balancer (nginx) and the third-party load
# generator (wrk), from Debian. Machines of this kind start PostgreSQL 15
# (127.0.0.1:5432, trust, database `test`, roles root and postgres) and
# Redis (127.0.0.1:6379) before each session; on a fresh Debian machine
# this installs and starts them the same way.
need=""
command -v pg_ctlcluster >/dev/null || need="$need postgresql"
command -v redis-server >/dev/null || need="$need redis-server"
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need="$need nginx-light"
command -v wrk >/dev/null || need="$need wrk"
command -v curl >/dev/null || need="$need curl"
command -v valgrind >/dev/null || need="$need valgrind"
if [ -n "$need" ]; then
  echo "setup: installing$need"
  apt-get update -qq
  # nginx's package starts a default site on port 80 where systemd runs;
  # the demo and the tests run their own nginx with their own config.
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $need >/dev/null
fi
# cargo-fuzz (crates.io) for the fuzz targets in fuzz/ (make fuzz-smoke);
# it runs on the stable toolchain with --sanitizer none.
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "setup: installing cargo-fuzz"
  cargo install cargo-fuzz --version 0.13.1 --locked || cargo install cargo-fuzz --version 0.13.1
fi

# iproute2 (ip netns, tc) and nftables for the end-to-end test on a faulty
# wire (tests/e2e/netem.mjs: tc netem where the kernel has it, nftables
# loss and duplication plus tbf where it does not).
if ! command -v tc >/dev/null || ! command -v ip >/dev/null || ! command -v nft >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends iproute2 nftables >/dev/null
fi

# schemathesis (PyPI), every package pinned, in a venv of the worktree's
# own (make schemathesis).
venv=target/schemathesis-venv
want_st=$(grep '^schemathesis==' tests/schemathesis/requirements.txt | cut -d= -f3)
have_st=$("$venv/bin/st" --version 2>/dev/null | awk '{print $3}' || true)
if [ "$have_st" != "$want_st" ]; then
  echo "setup: installing schemathesis $want_st into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check -r tests/schemathesis/requirements.txt
fi

scripts/services.sh
