#!/usr/bin/env bash
# Every test cometkit has: native unit tests, clippy (native and wasm32), and the browser tests
# in headless Chromium and Firefox against a fixture server started here.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
export PATH="$HOME/.cargo/bin:$PATH"
export WASM_BINDGEN_TEST_TIMEOUT=${WASM_BINDGEN_TEST_TIMEOUT:-150}
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
source scripts/fixture-server.sh
# Drivers are passed as flags, not CHROMEDRIVER/GECKODRIVER in the environment: the test runner
# prefers GECKODRIVER when both are set, which would run the "Chrome" pass in Firefox too.
# Naming the targets leaves out doctests: they are compile-only examples, already built natively above.
unset CHROMEDRIVER GECKODRIVER
# One run per test target and browser. wasm-bindgen-test-runner's little HTTP server has been
# seen to stall a module request of the test page until the run times out, before any test
# runs; such a run is started again, up to four times (each stall costs chromedriver's 300 s
# page-load wait).
# A test that fails is never retried. WASM_BINDGEN_TEST_TIMEOUT bounds each run (the slowest
# target takes under a minute here).
targets=(--lib)
for f in tests/*.rs; do targets+=(--test "$(basename "$f" .rs)"); done
browser_run() { # browser-name target-args... -- wasm-pack browser flags...
  local name=$1 attempt log
  shift
  local target=()
  while [ "$1" != -- ]; do target+=("$1"); shift; done
  shift
  log="target/test-logs/browser-$name-${target[-1]}.log"
  for attempt in 1 2 3 4 5; do
    if wasm-pack test --headless "$@" -- --features js "${target[@]}" 2>&1 | tee "$log"; then
      return 0
    fi
    # No test started: the page never loaded (a stalled module request). Anything else is a
    # real failure.
    if [ "$attempt" != 5 ] && ! grep -q '^running [0-9]* tests\?$' "$log"; then
      echo "[test] $name ${target[*]}: the test page never finished loading (no test ran); once more"
      continue
    fi
    return 1
  done
}
i=0
while [ $i -lt ${#targets[@]} ]; do
  if [ "${targets[$i]}" = --lib ]; then target=(--lib); i=$((i + 1))
  else target=("${targets[$i]}" "${targets[$((i + 1))]}"); i=$((i + 2)); fi
  browser_run chromium "${target[@]}" -- --chrome --chromedriver /usr/bin/chromedriver
  browser_run firefox "${target[@]}" -- --firefox --geckodriver "$(command -v geckodriver)"
done

echo "== web: packages, TypeScript declarations, Vite app, Playwright demo (headless Chromium)"
bash scripts/test-web.sh

echo "== interop: official sockjs-client 1.6.1 against cometkit-server (Playwright, Chromium)"
npm run -s test:interop
