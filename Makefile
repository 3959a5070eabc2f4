# The two commands the README names: `make demo` (the main job) and
# `make test` (every test). Both install what they need first.
SHELL := /bin/bash
.DEFAULT_GOAL := help

.PHONY: help setup demo test lint unit web wasm-core deps-check size pkg pkg-smoke

help:
	@echo "make demo   run the cartsync demo"
	@echo "make test   run every check and test (what CI runs)"

setup:
	@scripts/setup.sh

demo: setup
	cargo run --quiet -p cartsync-core --example demo

test: setup lint unit web wasm-core deps-check pkg-smoke
	@echo "make test: all checks passed"

lint:
	cargo fmt --all --check
	cargo clippy --workspace --all-targets --all-features -- -D warnings
	cargo clippy -p cartsync --target wasm32-unknown-unknown --all-targets -- -D warnings

unit:
	cargo test --workspace --all-features

# The browser binding in headless Chromium (wasm-bindgen-test).
web:
	CHROMEDRIVER=/usr/bin/chromedriver cargo test -p cartsync --target wasm32-unknown-unknown --test web

# The npm package in pkg/ (web, bundler and Node targets).
pkg: setup
	scripts/build-pkg.sh

# The packed tarball, installed and imported by name.
pkg-smoke: pkg
	scripts/pkg-smoke.sh

# Release size of what a browser downloads (wasm + JS glue), with a budget.
size:
	scripts/size.sh

# The core must build for the browser and stay free of platform crates.
wasm-core:
	cargo build -p cartsync-core --target wasm32-unknown-unknown --release

deps-check:
	@scripts/check-core-deps.sh
