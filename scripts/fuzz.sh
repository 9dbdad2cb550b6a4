#!/usr/bin/env bash
# Fuzzes every parser that reads network or page data (the cargo-fuzz targets in fuzz/), one
# target after the other, each for a bounded time. Exits non-zero when a target finds a crash
# (panic, overflow, timeout or out-of-memory); the input is saved in fuzz/artifacts/<target>/.
#
#   FUZZ_SECONDS  seconds per target (default 60)
#   FUZZ_TARGETS  targets to run, separated by spaces or commas (default: all)
#   FUZZ_ARGS     extra libFuzzer flags, e.g. "-runs=10000000 -max_len=4096"
#
# Reproduce a crash with `cargo +nightly fuzz run <target> fuzz/artifacts/<target>/<file>`.
# Needs the nightly toolchain; installs cargo-fuzz when missing. Not part of `npm test`.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

ALL_TARGETS="sockjs_frame sockjs_payload sockjs_roundtrip info sse eventsource form_query misc_text resume engineio"
SECONDS_EACH=${FUZZ_SECONDS:-60}
TARGETS=${FUZZ_TARGETS:-$ALL_TARGETS}
TARGETS=${TARGETS//,/ }
ROOT=$PWD
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/fuzz/target}

if ! rustup toolchain list | grep -q '^nightly'; then
  echo "fuzz: the nightly toolchain is required (rustup toolchain install nightly)" >&2
  exit 2
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
  echo "== installing cargo-fuzz"
  cargo install cargo-fuzz
fi

for t in $TARGETS; do
  if [[ " $ALL_TARGETS " != *" $t "* ]]; then
    echo "fuzz: unknown target '$t' (known: $ALL_TARGETS)" >&2
    exit 2
  fi
done

# The seeds in fuzz/seeds/<target>/ are committed; libFuzzer adds what it finds to a working
# copy in fuzz/corpus/<target>/ (ignored by git, kept between runs).
failed=()
summary=()
for t in $TARGETS; do
  corpus=$ROOT/fuzz/corpus/$t
  mkdir -p "$corpus" "$ROOT/fuzz/artifacts/$t"
  cp -n "$ROOT/fuzz/seeds/$t/"* "$corpus/" 2>/dev/null || true
  log=$ROOT/fuzz/artifacts/$t.log
  echo "== fuzz $t for ${SECONDS_EACH}s"
  # One process, one job: libFuzzer's default (-jobs would only add a supervising process).
  # No sanitizer: cometkit-protocol has no `unsafe`, and AddressSanitizer would halve the
  # speed for nothing; panics, overflows (debug assertions are on), timeouts and memory
  # blow-ups are still caught.
  # shellcheck disable=SC2086
  if cargo +nightly fuzz run --sanitizer none --target-dir "$TARGET_DIR" "$t" "$corpus" -- \
      -max_total_time="$SECONDS_EACH" -timeout=10 -print_final_stats=1 \
      -artifact_prefix="$ROOT/fuzz/artifacts/$t/" ${FUZZ_ARGS:-} 2>&1 | tee "$log"; then
    status=ok
  else
    status=CRASH
    failed+=("$t")
  fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n1)
  speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n1)
  summary+=("$(printf '%-18s %-6s %12s runs %8s exec/s' "$t" "$status" "${runs:-?}" "${speed:-?}")")
done

echo "== fuzz summary"
printf '%s\n' "${summary[@]}"
if ((${#failed[@]})); then
  echo "fuzz: crashes in: ${failed[*]} (inputs in fuzz/artifacts/<target>/)" >&2
  exit 1
fi
