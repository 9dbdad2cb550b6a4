#!/usr/bin/env bash
# Release packages: pkg/ for bundlers (the npm package) and pkg-web/ for plain
# <script type="module"> pages (--target web). Extra arguments go to cargo (e.g. features).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
source scripts/wasm-opt.sh
wasm-pack build --release --target bundler --out-dir pkg --out-name cometkit -- "$@"
wasm-pack build --release --target web --out-dir pkg-web --out-name cometkit -- "$@"
