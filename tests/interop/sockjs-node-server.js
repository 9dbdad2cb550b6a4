// A SockJS server built on the npm `sockjs` 0.3.24 package, with the classic test-application
// endpoints mounted under /sockjs/ exactly as cometkit-server mounts its own. Our client's interop
// tests run against it so the client is proven against a server nobody here wrote.
//
// usage: node tests/interop/sockjs-node-server.js [port]   (default 18095, 127.0.0.1 only)
'use strict';
const http = require('http');
const sockjs = require('sockjs');

const port = Number(process.argv[2] || process.env.SOCKJS_NODE_PORT || 18095);
const quiet = { log: () => {} };

function app(prefix, options, onConnection) {
  const server = sockjs.createServer(Object.assign({ prefix, ...quiet }, options));
  server.on('connection', onConnection);
  return server;
}

const echo = conn => conn.on('data', m => conn.write(m));
const broadcastPeers = new Set();

const apps = [
  app('/sockjs/echo', { response_limit: 4096 }, echo),
  app('/sockjs/disabled_websocket_echo', { websocket: false }, echo),
  app('/sockjs/cookie_needed_echo', { jsessionid: true }, echo),
  app('/sockjs/close', {}, conn => conn.close(3000, 'Go away!')),
  app('/sockjs/amplify', {}, conn => conn.on('data', m => {
    let n = Math.floor(Number(m));
    n = n > 0 && n < 19 ? n : 1;
    conn.write('x'.repeat(2 ** n));
  })),
  app('/sockjs/broadcast', {}, conn => {
    broadcastPeers.add(conn);
    conn.on('data', m => { for (const peer of broadcastPeers) peer.write(m); });
    conn.on('close', () => broadcastPeers.delete(conn));
  }),
];

const server = http.createServer((req, res) => {
  if (req.url === '/health') { res.end('ok'); return; }
  res.writeHead(404, { 'Content-Type': 'text/plain' });
  res.end('not found');
});
for (const a of apps) a.installHandlers(server);
server.listen(port, '127.0.0.1', () => console.log(`sockjs-node listening on http://127.0.0.1:${port}/`));
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(0));
