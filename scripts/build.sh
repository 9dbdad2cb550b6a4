#!/usr/bin/env bash
# Release packages: pkg/ for bundlers (the npm package) and pkg-web/ for plain
# <script type="module"> pages (--target web), each post-processed by scripts/package.mjs
# (minified JS, snippet re-exports, declarations that check under any `lib`). See
# scripts/release.sh for the toolchain. Extra arguments go to cargo (e.g. features).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
source scripts/wasm-opt.sh
source scripts/release.sh
cargo_args=("$@")
# The JavaScript exports are a feature of their own once the crate has one.
if [ -n "$JS_FEATURE" ]; then cargo_args+=(--features "$JS_FEATURE"); fi
release_package bundler pkg -- "${cargo_args[@]}"
release_package web pkg-web -- "${cargo_args[@]}"
