// socket.io 4 echo server for `npm run bench` (context numbers: socket.io-client against its own
// server). Every `message` event is sent back as a `message`, an `ack` event is acknowledged
// with its argument; `/health` answers 200.
//
// usage: node bench/socketio-server.cjs [port]   (default 18123, 127.0.0.1 only)
'use strict';
const http = require('http');
const { Server } = require('socket.io');

const port = Number(process.argv[2] || 18123);
const server = http.createServer((req, res) => {
  if (req.url === '/health') { res.end('ok'); return; }
  res.writeHead(404, { 'Content-Type': 'text/plain' });
  res.end('not found');
});
const io = new Server(server, {
  cors: { origin: true, credentials: true },
  maxHttpBufferSize: 4e6, // 64 KiB messages batched by the polling transport stay under it
  serveClient: false,
});
io.on('connection', (socket) => {
  socket.on('message', (m) => socket.send(m));
  // An acknowledged emit answers with its argument.
  socket.on('ack', (m, done) => typeof done === 'function' && done(m));
});
server.listen(port, '127.0.0.1', () => console.log(`socket.io listening on http://127.0.0.1:${port}/`));
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(0));
