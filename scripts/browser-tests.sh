#!/usr/bin/env bash
# The browser tests: each test target (`lib` and every tests/*.rs) in headless Chromium and
# Firefox through `wasm-pack test`, against the fixture servers started here.
#   bash scripts/browser-tests.sh                 # every target, both browsers
#   BROWSERS=chromium bash scripts/browser-tests.sh socket xhr
# KEEP_GOING=1 runs the rest after a failure (the exit status still reports it).
set -uo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
export WASM_BINDGEN_TEST_TIMEOUT=${WASM_BINDGEN_TEST_TIMEOUT:-400}
export WASM_BINDGEN_TEST_NO_ORIGIN_ISOLATION=1
BROWSERS=${BROWSERS:-chromium firefox}
names=("$@")
if [ ${#names[@]} = 0 ]; then
  names=(lib)
  for f in tests/*.rs; do names+=("$(basename "$f" .rs)"); done
fi
source scripts/fixture-server.sh
# Drivers are passed as flags, not CHROMEDRIVER/GECKODRIVER in the environment: the test runner
# prefers GECKODRIVER when both are set, which would run the "Chrome" pass in Firefox too.
# Naming the targets leaves out doctests: they are compile-only examples, already built natively above.
unset CHROMEDRIVER GECKODRIVER
# One run per test target and browser. wasm-bindgen-test-runner's HTTP server (tiny_http) can
# leave a new connection of the test page queued behind the browser's idle keep-alive connections
# (its thread pool decides from a stale count of idle threads), and the page then waits for one
# of its module scripts until the browser drops an idle connection, 300 s later in Chromium. So
# a run whose page has not started its tests within PAGE_LOAD_SECONDS of the runner starting is
# stopped and started again, up to PAGE_LOAD_ATTEMPTS (16) times. Firefox is told (webdriver.json) to drop idle
# keep-alive connections after 3 s, which frees the runner's threads and unblocks such a page.
# A test that fails is never retried.
# WASM_BINDGEN_TEST_TIMEOUT bounds each run (the slowest target, socket_resume, takes about 80 s here).
# A page that loads starts its tests about a second after the runner is up (measured here: 0.8
# s), so 15 s without a start means a stalled page; each stall used to cost 45 s.
PAGE_LOAD_SECONDS=${PAGE_LOAD_SECONDS:-15}
# Test pages load about a dozen snippet modules now, and stalls came often enough (up to seven
# in a row for one target) that eight starts were not always enough.
PAGE_LOAD_ATTEMPTS=${PAGE_LOAD_ATTEMPTS:-16}
watched_run() { # log wasm-pack-args...: 0 passed, 1 failed, 2 the page never loaded
  local log=$1 pid waited=0
  shift
  : >"$log"
  setsid wasm-pack test --headless "$@" >"$log" 2>&1 &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    if grep -q '^Running headless tests' "$log" && ! grep -q '^running [0-9]* tests\?$' "$log"; then
      waited=$((waited + 1))
      if [ "$waited" -ge "$PAGE_LOAD_SECONDS" ]; then
        kill -- "-$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
        cat "$log"
        return 2
      fi
    fi
    sleep 1
  done
  wait "$pid"
  local status=$?
  cat "$log"
  if [ "$status" = 0 ]; then return 0; fi
  # Tests ran and one failed, or the build failed: a real failure. Otherwise the page never
  # started its tests.
  grep -q '^running [0-9]* tests\?$' "$log" && return 1
  grep -q '^Running headless tests' "$log" || return 1
  return 2
}
browser_run() { # browser-name target-args... -- wasm-pack browser flags...
  local name=$1 attempt log status
  shift
  local target=()
  while [ "$1" != -- ]; do target+=("$1"); shift; done
  shift
  log="target/test-logs/browser-$name-${target[-1]}.log"
  for ((attempt = 1; attempt <= PAGE_LOAD_ATTEMPTS; attempt++)); do
    status=0
    watched_run "$log" "$@" -- --features js "${target[@]}" || status=$?
    case $status in
      0) return 0 ;;
      1) return 1 ;;
    esac
    echo "[test] $name ${target[*]}: the test page did not start its tests within ${PAGE_LOAD_SECONDS} s (attempt $attempt of $PAGE_LOAD_ATTEMPTS)"
  done
  return 1
}
status=0
for name in "${names[@]}"; do
  if [ "$name" = lib ]; then target=(--lib); else target=(--test "$name"); fi
  for browser in $BROWSERS; do
    case $browser in
      chromium) browser_run chromium "${target[@]}" -- --chrome --chromedriver /usr/bin/chromedriver || status=1 ;;
      firefox) browser_run firefox "${target[@]}" -- --firefox --geckodriver "$(command -v geckodriver)" || status=1 ;;
      *) echo "unknown browser $browser (chromium, firefox)" >&2; exit 2 ;;
    esac
    if [ "$status" != 0 ] && [ -z "${KEEP_GOING:-}" ]; then exit 1; fi
  done
done
exit $status

