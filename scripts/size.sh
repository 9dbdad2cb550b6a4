#!/usr/bin/env bash
# Release size of the wasm package (wasm + JS glue, raw and gzip -9) for the full build and each
# single-feature build, beside the peers' minified+gzip sizes from node_modules.
# Each build is the packaged --target web output (scripts/release.sh: nightly build-std when
# present, then scripts/package.mjs), measured as a page loads it: the minified cometkit.js plus
# every snippet, and the wasm. Writes the table to stdout and to target/size/report.md.
# `SIZE_FEATURES="xhr ping"` limits the single-feature builds; COMETKIT_STABLE=1 builds on stable.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh >/dev/null
source scripts/wasm-opt.sh
source scripts/release.sh
out=target/size
mkdir -p "$out"
all_features="xhr xdr eventsource websocket jsonp ping socket socketio"
features=${SIZE_FEATURES:-$all_features}

gz() { gzip -9 -c "$@" | wc -c; }
kb() { awk -v b="$1" 'BEGIN { printf "%.1f KB", b / 1024 }'; }

full_gz=0
rows=()
measure() { # name dir
  local dir=$2 wasm="$2/cometkit_bg.wasm"
  local js=("$dir/cometkit.js")
  while IFS= read -r -d '' f; do js+=("$f"); done < <(find "$dir/snippets" -name '*.js' -print0 2>/dev/null)
  local wr wg jr jg
  wr=$(wc -c <"$wasm"); wg=$(gz "$wasm")
  jr=$(cat "${js[@]}" | wc -c); jg=$(cat "${js[@]}" | gz)
  local total=$((wg + jg)) share=""
  if [ "$1" = full ]; then full_gz=$total; fi
  if [ "$full_gz" -gt 0 ]; then share=$(awk -v a="$total" -v b="$full_gz" 'BEGIN { printf "%d %%", 100 * a / b }'); fi
  rows+=("| $1 | $(kb "$wr") | $(kb "$wg") | $(kb "$jr") | $(kb "$jg") | $(kb $((wr + jr))) | **$(kb "$total")** | $share |")
}

build() { # name features
  # The JavaScript exports are a feature of their own once the crate has one (JS_FEATURE).
  local feats="$2${JS_FEATURE:+ $JS_FEATURE}"
  echo "[size] building $1 (features: $feats)" >&2
  rm -rf "${out:?}/$1"
  RELEASE_QUIET=1 release_package web "$out/$1" --no-pack -- --no-default-features --features "$feats" >&2
  measure "$1" "$out/$1"
}

[ "${SIZE_FULL:-1}" = 0 ] || build full "$all_features"
for f in $features; do build "$f" "$f"; done

peer() { # package file
  local file="node_modules/$1/$2" version
  [ -f "$file" ] || { echo "[size] $file missing: run npm ci" >&2; return; }
  version=$(node -p "require('$1/package.json').version")
  rows+=("| peer: $1 $version ($2) | | | $(kb "$(wc -c <"$file")") | $(kb "$(gz "$file")") | $(kb "$(wc -c <"$file")") | **$(kb "$(gz "$file")")** | |")
}
peer socket.io-client dist/socket.io.min.js
peer engine.io-client dist/engine.io.min.js
peer sockjs-client dist/sockjs.min.js

{
  echo "| build | wasm | wasm gzip | JS glue | JS glue gzip | total | total gzip | vs full |"
  echo "|---|---|---|---|---|---|---|---|"
  printf '%s\n' "${rows[@]}"
} | tee "$out/report.md"
