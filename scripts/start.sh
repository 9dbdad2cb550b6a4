#!/usr/bin/env bash
# Builds the wasm package for plain ES-module pages into www/pkg and serves the demo.
# Extra arguments go to cometkit-server (e.g. `npm start -- --port 9000`).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
export PATH="$HOME/.cargo/bin:$PATH"
source scripts/wasm-opt.sh
source scripts/release.sh
release_package web www/pkg -- ${JS_FEATURE:+--features "$JS_FEATURE"}
exec cargo run --release -q -p cometkit-server -- --www www "$@"
