// The npm `socket.io` 4.8 server the Socket.IO browser tests run against (started by
// scripts/fixture-server.sh): connection state recovery on, every transport (JSONP polling
// included), CORS open to the test page (with the custom header `x-cometkit-test`), a namespace
// `/admin` that checks `auth`, and events the tests use to echo, ack, send binary, cut
// connections, and report what the server saw. GET /health answers "ok".
const http = require("http");
const { Server } = require("socket.io");

const port = Number(process.argv[2] || 18096);
const server = http.createServer((req, res) => {
  if (req.url === "/health") {
    res.writeHead(200, { "content-type": "text/plain" });
    return res.end("ok");
  }
  res.writeHead(404);
  res.end();
});
const io = new Server(server, {
  // `allowedHeaders` named, not reflected from the preflight (the cors package's default), so
  // the extraHeaders test shows which header a page needs the server to allow.
  cors: { origin: true, credentials: true, allowedHeaders: ["x-cometkit-test"] },
  maxHttpBufferSize: 100000,
  pingInterval: 2000,
  pingTimeout: 2000,
  connectionStateRecovery: { maxDisconnectionDuration: 60000, skipMiddlewares: true },
});

// Deliveries of each `flaky` key, across connections (a retried emit may come on a new one).
const deliveries = new Map();

// The `probe` query parameters of every Engine.IO connection opened (the tests ask whether a
// manager connected), and for each connection its polling requests after the handshake (GET,
// POST) and how many of them came without an `x-cometkit-test` header.
const probes = new Set();
const polls = new Map();
const query = (req, name) => new URL(req.url, "http://x").searchParams.get(name);
io.engine.on("connection", (conn) => {
  const probe = query(conn.request, "probe");
  if (probe) probes.add(probe);
  conn.on("close", () => polls.delete(conn.id));
});
io.engine.on("headers", (headers, req) => {
  const sid = query(req, "sid");
  if (!sid) return;
  const seen = polls.get(sid) || { missing: 0, GET: 0, POST: 0 };
  seen[req.method] = (seen[req.method] || 0) + 1;
  if (!req.headers["x-cometkit-test"]) seen.missing++;
  polls.set(sid, seen);
});

function common(socket) {
  socket.on("echo", (...args) => {
    const ack = typeof args[args.length - 1] === "function" ? args.pop() : null;
    socket.emit("echo", ...args);
    if (ack) ack(...args);
  });
  // Answers with the arguments (ack only).
  socket.on("ack", (...args) => {
    const ack = args.pop();
    if (typeof ack === "function") ack(...args);
  });
  // Never answers.
  socket.on("silent", () => {});
  // Sends `n` numbered events.
  socket.on("burst", (n) => {
    for (let i = 0; i < n; i++) socket.emit("seq", i);
  });
  // The server asks the client for an ack and reports what it got.
  socket.on("ask", (value) => {
    socket.emit("question", value, (answer) => socket.emit("answered", answer));
  });
  // Binary to the client.
  socket.on("bytes", (n) => {
    const buf = Buffer.alloc(n);
    for (let i = 0; i < n; i++) buf[i] = i & 0xff;
    socket.emit("bytes", { data: buf, list: [buf.subarray(0, 2)] }, "after");
  });
  // Which transport the server sees.
  socket.on("transport", (ack) => ack(socket.conn.transport.name));
  // The Engine.IO connection's id (the same for namespaces multiplexed on one connection).
  socket.on("conn", (ack) => ack(socket.conn.id));
  // Whether a connection with `?probe=key` was opened.
  socket.on("probed", (key, ack) => ack(probes.has(key)));
  // The `x-cometkit-test` header of the handshake, and the polling requests seen since.
  socket.on("headers", (ack) =>
    ack({ handshake: socket.handshake.headers["x-cometkit-test"] ?? null, requests: polls.get(socket.conn.id) ?? null }),
  );
  // Cuts the underlying connection (no close packet: the client sees a lost transport);
  // with `after`, emits `missed` events into the recovery buffer once the socket is gone.
  socket.on("cut", (after) => {
    const room = "r-" + socket.id;
    socket.join(room);
    setTimeout(() => {
      socket.conn.transport.close();
      socket.conn.close();
      if (after) {
        setTimeout(() => {
          for (let i = 0; i < after; i++) io.of(socket.nsp.name).to(room).emit("missed", i);
        }, 50);
      }
    }, 20);
  });
  // Emits `later` with `value` after `ms`, then disconnects the namespace socket.
  socket.on("later", (ms, value) => {
    setTimeout(() => {
      socket.emit("later", value);
      socket.disconnect();
    }, ms);
  });
  // Disconnects the namespace socket from the server side.
  socket.on("kick", () => socket.disconnect());
  // Acknowledges only the `need`-th delivery of `key` (earlier ones go unanswered), with the
  // number of deliveries so far; `cut` also cuts the connection at the first delivery.
  socket.on("flaky", (key, need, cut, ack) => {
    const n = (deliveries.get(key) || 0) + 1;
    deliveries.set(key, n);
    if (n >= need) ack(key, n);
    else if (cut && n === 1) {
      socket.conn.transport.close();
      socket.conn.close();
    }
  });
}

io.on("connection", common);
io.of("/admin").use((socket, next) => {
  const auth = socket.handshake.auth || {};
  if (auth.token === "secret") return next();
  const err = new Error("not authorized");
  err.data = { code: 401 };
  next(err);
});
io.of("/admin").on("connection", (socket) => {
  common(socket);
  socket.emit("welcome", socket.handshake.auth.token);
});

server.listen(port, "127.0.0.1", () => console.log("socket.io fixture on " + port));
