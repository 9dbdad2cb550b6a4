#!/usr/bin/env bash
# Builds the example front-end (examples/chat, Leptos CSR) with wasm-pack (--target web, --dev:
# a debug build is enough for a demo and a test, and far quicker than a release one) and
# assembles the page in target/example-chat/ (index.html + pkg/), for
# `cometkit-server --www target/example-chat`.
# The example is its own Cargo workspace; it builds into the repository's target directory
# (or $CARGO_TARGET_DIR) so it reuses what the rest of the build already compiled.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
out=target/example-chat
rm -rf "$out"
mkdir -p "$out"
# wasm-pack writes a .gitignore and package.json into --out-dir: neither is needed to serve it.
wasm-pack build examples/chat --target web --dev --no-pack --out-dir "$PWD/$out/pkg"
cp examples/chat/index.html "$out/"
echo "example page in $out/: cargo run -p cometkit-server -- --www $out"
