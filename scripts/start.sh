#!/usr/bin/env bash
# Builds the wasm package for plain ES-module pages into www/pkg and serves the demo.
# Extra arguments go to cometkit-server (e.g. `npm start -- --port 9000`).
# The demo's Socket.IO panel talks to a socket.io 4.8 server: the tests' fixture
# (tests/socketio/server.cjs) is started beside it on 127.0.0.1:18096 (COMETKIT_SOCKETIO_PORT),
# unless that port is taken, and stopped with the demo.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
export PATH="$HOME/.cargo/bin:$PATH"
source scripts/wasm-opt.sh
source scripts/release.sh
release_package web www/pkg -- ${JS_FEATURE:+--features "$JS_FEATURE"}
sio_port=${COMETKIT_SOCKETIO_PORT:-18096}
sio_pid=
if ! (exec 3<>"/dev/tcp/127.0.0.1/$sio_port") 2>/dev/null; then
  node tests/socketio/server.cjs "$sio_port" &
  sio_pid=$!
  echo "[start] socket.io demo server on http://127.0.0.1:$sio_port/" >&2
else
  echo "[start] port $sio_port is taken: the Socket.IO panel talks to whatever listens there" >&2
fi
stop() { [ -n "$sio_pid" ] && kill "$sio_pid" 2>/dev/null || true; }
trap stop EXIT
trap 'exit 130' INT TERM
cargo run --release -q -p cometkit-server -- --www www "$@"
