#!/usr/bin/env bash
# The example Rust front-end (examples/chat, Leptos CSR): builds it into target/example-chat
# (scripts/build-example.sh), then drives its page with Playwright in headless Chromium against
# a cometkit-server started by the test on a free loopback port (18112 when free):
# tests/e2e/example-chat.test.mjs. Screenshots: target/screenshots/example-*.png.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
started=$SECONDS
step() { printf '\n== %s (%d s)\n' "$1" $((SECONDS - started)); }
target_dir="${CARGO_TARGET_DIR:-$PWD/target}"

step "example front-end: wasm-pack build examples/chat (--dev) into target/example-chat"
bash scripts/build-example.sh

step "Playwright in headless Chromium: the example page"
cargo build -q -p cometkit-server
COMETKIT_SERVER_BIN="${COMETKIT_SERVER_BIN:-$target_dir/debug/cometkit-server}" \
  node --test --test-concurrency=1 tests/e2e/example-chat.test.mjs

step "example tests passed"
