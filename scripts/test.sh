#!/usr/bin/env bash
# Every test cometkit has: native unit tests, clippy (native and wasm32), and the browser tests
# in headless Chromium and Firefox against a fixture server started here.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
export PATH="$HOME/.cargo/bin:$PATH"
export WASM_BINDGEN_TEST_TIMEOUT=${WASM_BINDGEN_TEST_TIMEOUT:-400}
# The test runner's page is cross-origin isolated (COEP require-corp) unless told otherwise; real
# pages rarely are, and the npm sockjs server sends no Cross-Origin-Resource-Policy, which COEP
# would need for JSONP scripts. Test under the conditions users have.
export WASM_BINDGEN_TEST_NO_ORIGIN_ISOLATION=1

echo "== native tests (cargo test --workspace)"
cargo test --workspace

echo "== clippy (native and wasm32)"
cargo clippy --workspace --all-targets -- -D warnings
cargo clippy -p cometkit --target wasm32-unknown-unknown --all-targets -- -D warnings
cargo clippy -p cometkit --target wasm32-unknown-unknown --all-targets --features js -- -D warnings

echo "== browser tests (headless Chromium and Firefox)"
bash scripts/browser-tests.sh

echo "== web: packages, TypeScript declarations, Vite app, Playwright demo (headless Chromium)"
bash scripts/test-web.sh

echo "== example front-end: examples/chat (Leptos) built and driven by Playwright (headless Chromium)"
bash scripts/test-example.sh

echo "== interop: official sockjs-client 1.6.1 against cometkit-server (Playwright, Chromium)"
npm run -s test:interop
