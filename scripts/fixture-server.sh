# Sourced by the test scripts: builds and starts cometkit-server on 127.0.0.1 for the browser
# tests, exports COMETKIT_FIXTURE_URL, and stops the server when the calling script exits.
# COMETKIT_TEST_PORT chooses the port (default 18090, or a free one when that is taken).
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
fixture_port=${COMETKIT_TEST_PORT:-18090}
if ! port_free "$fixture_port"; then
  fixture_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
fi
cargo build -q -p cometkit-server
mkdir -p target/test-logs
target/debug/cometkit-server --host 127.0.0.1 --port "$fixture_port" --www www \
  >target/test-logs/fixture-server.log 2>&1 &
fixture_pid=$!
trap 'kill $fixture_pid 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  if curl -fsS "http://127.0.0.1:$fixture_port/health" >/dev/null 2>&1; then break; fi
  kill -0 $fixture_pid 2>/dev/null || { cat target/test-logs/fixture-server.log >&2; echo "fixture server died" >&2; exit 1; }
  sleep 0.1
done
curl -fsS "http://127.0.0.1:$fixture_port/health" >/dev/null || { echo "fixture server did not start" >&2; exit 1; }
export COMETKIT_FIXTURE_URL="http://127.0.0.1:$fixture_port"
echo "[test] fixture server on $COMETKIT_FIXTURE_URL (pid $fixture_pid)"

# The npm `sockjs` 0.3.24 server (tests/interop/sockjs-node-server.js), so the Socket's browser
# tests also run against a SockJS server nobody here wrote.
sockjs_node_port=${COMETKIT_SOCKJS_NODE_PORT:-18095}
if ! port_free "$sockjs_node_port"; then
  sockjs_node_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
fi
node tests/interop/sockjs-node-server.js "$sockjs_node_port" >target/test-logs/sockjs-node.log 2>&1 &
sockjs_node_pid=$!
trap 'kill $fixture_pid $sockjs_node_pid 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$sockjs_node_port/health" >/dev/null 2>&1 && break
  kill -0 $sockjs_node_pid 2>/dev/null || { cat target/test-logs/sockjs-node.log >&2; echo "sockjs-node server died" >&2; exit 1; }
  sleep 0.1
done
export COMETKIT_SOCKJS_NODE_URL="http://127.0.0.1:$sockjs_node_port"
echo "[test] npm sockjs server on $COMETKIT_SOCKJS_NODE_URL (pid $sockjs_node_pid)"

# The npm `socket.io` 4.8 server (tests/socketio/server.cjs) for the Socket.IO client tests.
socketio_port=${COMETKIT_SOCKETIO_PORT:-18096}
if ! port_free "$socketio_port"; then
  socketio_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
fi
node tests/socketio/server.cjs "$socketio_port" >target/test-logs/socketio-node.log 2>&1 &
socketio_pid=$!
trap 'kill $fixture_pid $sockjs_node_pid $socketio_pid 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$socketio_port/health" >/dev/null 2>&1 && break
  kill -0 $socketio_pid 2>/dev/null || { cat target/test-logs/socketio-node.log >&2; echo "socket.io server died" >&2; exit 1; }
  sleep 0.1
done
export COMETKIT_SOCKETIO_URL="http://127.0.0.1:$socketio_port"
echo "[test] npm socket.io server on $COMETKIT_SOCKETIO_URL (pid $socketio_pid)"
