#!/usr/bin/env bash
# Release size of the wasm package (wasm + JS glue, raw and gzip -9) for the full build and each
# single-feature build, beside the peers' minified+gzip sizes from node_modules.
# Writes the table to stdout and to target/size/report.md. `SIZE_FEATURES="xhr ping"` limits the
# single-feature builds.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh >/dev/null
export PATH="$HOME/.cargo/bin:$PATH"
out=target/size
mkdir -p "$out"
features=${SIZE_FEATURES:-"xhr xdr eventsource websocket jsonp ping socket"}

gz() { gzip -9 -c "$1" | wc -c; }
kb() { awk -v b="$1" 'BEGIN { printf "%.1f KB", b / 1024 }'; }

rows=()
measure() { # name dir
  local wasm="$2/cometkit_bg.wasm" js="$2/cometkit.js"
  local wr wg jr jg
  wr=$(wc -c <"$wasm"); wg=$(gz "$wasm"); jr=$(wc -c <"$js"); jg=$(gz "$js")
  rows+=("| $1 | $(kb "$wr") | $(kb "$wg") | $(kb "$jr") | $(kb "$jg") | **$(kb $((wg + jg)))** |")
}

build() { # name [cargo feature args...]
  local name=$1; shift
  echo "[size] building $name" >&2
  wasm-pack build --quiet --release --target web --no-pack --out-dir "$out/$name" --out-name cometkit -- "$@" >&2
  measure "$name" "$out/$name"
}

build full
for f in $features; do build "$f" --no-default-features --features "$f"; done

peer() { # name file
  if [ -f "$1" ]; then :; fi
  local file=$2
  if [ -f "$file" ]; then
    rows+=("| peer: $1 (min.js) | | | $(kb "$(wc -c <"$file")") | $(kb "$(gz "$file")") | **$(kb "$(gz "$file")")** |")
  fi
}
peer "engine.io-client $(node -p 'require("engine.io-client/package.json").version')" node_modules/engine.io-client/dist/engine.io.min.js
peer "socket.io-client $(node -p 'require("socket.io-client/package.json").version')" node_modules/socket.io-client/dist/socket.io.min.js
peer "sockjs-client $(node -p 'require("sockjs-client/package.json").version')" node_modules/sockjs-client/dist/sockjs.min.js

{
  echo "| build | wasm | wasm gzip | JS glue | JS glue gzip | total gzip |"
  echo "|---|---|---|---|---|---|"
  printf '%s\n' "${rows[@]}"
} | tee "$out/report.md"
