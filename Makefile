# The two commands the README names: `make demo` (the main job) and
# `make test` (every test). Both install what they need first.
SHELL := /bin/bash
.DEFAULT_GOAL := help

.PHONY: help setup demo demo-cluster test lint unit types-fresh web wasm-core deps-check size pkg pkg-smoke \
	storefront server-release node-deps e2e screenshots schemathesis schemathesis-long soak fuzz-smoke fuzz-long \
	bench bench-server bench-browser bench-scale-1m

help:
	@echo "make demo   build everything and serve the demo storefront at http://127.0.0.1:8080"
	@echo "make test   run every check and test (what CI runs)"
	@echo "make demo-cluster  the same storefront through nginx over three instances on PostgreSQL + Redis"
	@echo "make bench  benchmarks of the server and the browser SDK (not tests; figures in BENCHMARKS.md)"

setup:
	@scripts/setup.sh

# The storefront (www-example/) served by the release server on the embedded
# default store (SQLite file ./cartsync.db, in-process session cache), with
# the dev login and admin endpoints. A fixed secret keeps sign-ins valid
# across restarts of the demo.
demo: setup storefront server-release
	@echo "demo: open http://127.0.0.1:8080 (Ctrl-C stops the server)"
	target/release/cartsync-server --listen 127.0.0.1:8080 --static-dir www-example --dev --secret cartsync-demo

# Three instances on PostgreSQL + Redis behind nginx at 127.0.0.1:8080
# (docs/deploy.md): the several-instance deployment on one machine.
demo-cluster: setup storefront server-release
	scripts/demo-cluster.sh

test: setup lint unit types-fresh web wasm-core deps-check pkg-smoke size e2e schemathesis fuzz-smoke
	@echo "make test: all checks passed"

# The API against docs/openapi.yaml: schemathesis (pinned, PyPI) with every
# check and phase against the release server, 75 s (docs/reliability.md).
schemathesis: setup server-release
	scripts/schemathesis.sh

# Every fuzz target (fuzz/) for 15 s over the checked-in corpus.
fuzz-smoke: setup
	scripts/fuzz.sh

# Every fuzz target for FUZZ_SECS (default an hour each).
fuzz-long: setup
	FUZZ_SECS=$${FUZZ_SECS:-3600} scripts/fuzz.sh

# The same for half an hour (ST_SECS, ST_SEED to change).
schemathesis-long: setup server-release
	ST_SECS=$${ST_SECS:-1800} scripts/schemathesis.sh

# History checking in the cluster for as long as asked (SOAK_SECS, default
# an hour; SOAK_SEED picks the schedule): tests/history/ in release.
soak: setup
	CARTSYNC_HISTORY_SECS=$${SOAK_SECS:-3600} CARTSYNC_HISTORY_SEED=$${SOAK_SEED:-14} \
		cargo test --release -p cartsync-server --test history -- --nocapture

lint:
	cargo fmt --all --check
	cargo clippy --workspace --all-targets --all-features -- -D warnings
	cargo clippy -p cartsync --target wasm32-unknown-unknown --all-targets --features client,rules,worker -- -D warnings
	cargo clippy -p cartsync --target wasm32-unknown-unknown --lib --no-default-features --features rules -- -D warnings
	cargo clippy -p cartsync --target wasm32-unknown-unknown --lib -- -D warnings

unit:
	cargo test --workspace --all-features

# The TypeScript declarations of the wire types are generated from the Rust
# types (ts-rs, by `make unit`: the core's tests with --features ts); they
# must match what is committed.
types-fresh:
	@git diff --exit-code --stat -- pkg-template/types || { echo "pkg-template/types is stale: run 'cargo test -p cartsync-core --features ts' and commit" >&2; exit 1; }
	@test -z "$$(git status --porcelain -- pkg-template/types)" || { echo "pkg-template/types has uncommitted files" >&2; exit 1; }

# The browser binding in headless Chromium (wasm-bindgen-test).
web:
	CHROMEDRIVER=/usr/bin/chromedriver cargo test -p cartsync --target wasm32-unknown-unknown --features client,rules --test web

# The npm package in pkg/ (web, bundler and Node targets).
pkg: setup
	scripts/build-pkg.sh

# The packed tarball, installed and imported by name.
pkg-smoke: pkg
	scripts/pkg-smoke.sh

# The storefront imports the package from www-example/vendor/cartsync/
# (gitignored), a copy of pkg/.
storefront: pkg
	rm -rf www-example/vendor/cartsync
	mkdir -p www-example/vendor
	cp -r pkg www-example/vendor/cartsync

server-release:
	cargo build --release -p cartsync-server

# playwright-core and vite (package-lock.json) on checkouts that predate them.
node-deps:
	@[ -d node_modules/playwright-core ] && [ -d node_modules/vite ] && [ -d node_modules/webpack ] || npm ci --no-audit --no-fund --loglevel=error

# The React and Vue example apps (www-example/react-shop, vue-shop) on the
# packed package, built with Vite for the e2e tests.
.PHONY: framework-apps
framework-apps: pkg
	scripts/framework-apps.sh

# End to end: Playwright (playwright-core, /usr/bin/chromium) against the
# real server binary, one server per test file on a free 127.0.0.1 port;
# plus the packed package bundled with Vite and loaded from a plain page.
e2e: setup node-deps storefront framework-apps server-release
	node --test --test-concurrency=1 --test-timeout=120000 tests/e2e/

# Rewrites docs/storefront.png, docs/checkout-problems.png and docs/order-payment.png.
screenshots: setup node-deps storefront server-release
	CARTSYNC_SCREENSHOTS=1 node --test tests/e2e/storefront.test.mjs

# Release size of what a browser downloads (wasm + JS glue), with a budget.
size: pkg
	scripts/size.sh

# The core must build for the browser and stay free of platform crates.
wasm-core:
	cargo build -p cartsync-core --target wasm32-unknown-unknown --release

deps-check:
	@scripts/check-core-deps.sh

# Benchmarks: not tests, they never fail on slow numbers (BENCHMARKS.md has
# the method and figures). `make bench` runs both suites, a few minutes on 2
# cores.
bench: bench-server bench-browser

# The authority: cartsync-loadgen starts target/release/cartsync-server on a
# free loopback port with a scratch store and stops it; first on SQLite
# (a file under target/bench-tmp/), then on PostgreSQL + Redis (a scratch
# database on CARTSYNC_BENCH_POSTGRES, default the local server, dropped
# afterwards; three instances behind nginx; a Redis-only cart). Both runs
# put wrk beside the in-house client and count instructions per mutation
# under callgrind. BENCH_SERVER_ARGS passes flags, e.g. --secs 5.
bench-server:
	cargo build --release -p cartsync-server -p cartsync-bench
	target/release/cartsync-loadgen --sections writes,reads,wrk,callgrind,scaling --json target/bench/server.json $(BENCH_SERVER_ARGS)
	target/release/cartsync-loadgen --store postgres --sections writes,reads,cluster,redis-only,wrk,callgrind --json target/bench/server-postgres.json $(BENCH_SERVER_ARGS)

# The same store-scaling table with a 1,000,000-cart row (~5 GB scratch).
bench-scale-1m:
	cargo build --release -p cartsync-server -p cartsync-bench
	target/release/cartsync-loadgen --sections scaling --scale 10k:10,100k:10,1m:10 --json target/bench/scale-1m.json

# The browser SDK in headless Chromium next to plain JS, loro-crdt and yjs,
# plus download sizes. Benchmark-only npm packages live in bench/browser/.
bench-browser: pkg
	cd bench/browser && { [ -d node_modules ] || npm ci --no-audit --no-fund; }
	cd bench/browser && node run.mjs
