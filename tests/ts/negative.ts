// Mistyped uses of the package. This file must NOT type-check: types.test.mjs asserts that
// tsc reports an error on every line marked `// error: TSnnnn` (with that code) and on no
// other line. If a declaration degrades (to `any`, a wider type, an optional member), the
// matching line compiles and the test fails.

import {
  CometEventSource,
  CometWebSocket,
  Socket,
  corsSupport,
  jsonp,
  openEventSource,
  openWebSocket,
  ping,
  request,
  setDefaults,
  xdrRequest,
} from 'cometkit';
import type { CometkitError, CometkitErrorKind } from 'cometkit';

export async function mistakes(): Promise<void> {
  // request: a required option missing, options of the wrong type, an unknown response type.
  await request({ method: 'GET' }); // error: TS2769
  await request({ url: 42 }); // error: TS2769
  await request({ url: '/x', timeout: '5000' }); // error: TS2769
  await request({ url: '/x', responseType: 'xml' }); // error: TS2769
  await request({ url: '/x', body: { plain: 'object' } }); // error: TS2769
  await request({ url: '/x', onUploadProgress: (p: string) => p }); // error: TS2769
  const res = await request({ url: '/x' });
  const status: string = res.status; // error: TS2322
  const body: ArrayBuffer = res.body; // error: TS2322
  const bytes = await request({ url: '/x', responseType: 'arraybuffer' });
  const wrongBody: string = bytes.body; // error: TS2322

  // xdrRequest: only XDomainRequest's methods, and no headers.
  await xdrRequest({ url: '/x', method: 'PUT' }); // error: TS2322
  await xdrRequest({ url: '/x', headers: { A: '1' } }); // error: TS2353
  await xdrRequest({ url: '/x', xsrf: true }); // error: TS2353

  // corsSupport returns one of three names.
  if (corsSupport() === 'fetch') return; // error: TS2367

  // security options.
  setDefaults({ secureOnly: 'yes' }); // error: TS2322
  setDefaults({ jsonpOrigins: 'https://a.example' }); // error: TS2322
  setDefaults({ xsrf: { cookieName: 1 } }); // error: TS2322
  await request({ url: '/x', xsrf: { origins: 'https://a.example' } }); // error: TS2769
  await request({ url: '/x', xsrf: { token: () => 42 } }); // error: TS2769
  await jsonp('/j', { trustedOrigins: 'https://a.example' }); // error: TS2322
  // jsonp and ping.
  await jsonp('/j', { timeout: '1000' }); // error: TS2322
  const value = await jsonp('/j');
  value.anything; // error: TS18046
  await ping('/p', { a: 1 }, { cacheBust: 'no' }); // error: TS2322
  const pinged = await ping('/p');
  const loaded: number = pinged.loaded; // error: TS2322

  // openWebSocket.
  const ws = openWebSocket('/ws', { binaryType: 'text' }); // error: TS2322
  ws.send(42); // error: TS2345
  ws.close('1000'); // error: TS2345
  ws.addEventListener('close', (e) => e.data); // error: TS2339
  ws.readyState = 1; // error: TS2540
  new CometWebSocket(); // error: TS2673

  // openEventSource.
  const es = openEventSource('/sse', { polyfill: 'sometimes' }); // error: TS2322
  es.addEventListener('message', (e) => {
    const n: number = e.data; // error: TS2322
    return n;
  });
  es.addEventListener('error', (e) => e.fatal.toUpperCase()); // error: TS2339
  if (es.readyState === 3) return; // error: TS2367
  new CometEventSource(); // error: TS2673

  // Socket.
  const socket = new Socket('/sockjs/echo', { transports: ['carrier-pigeon'] }); // error: TS2322
  new Socket('/sockjs/echo', { reconnect: 'yes' }); // error: TS2322
  new Socket(); // error: TS2554
  socket.send(new ArrayBuffer(8)); // error: TS2345
  socket.transport = 'websocket'; // error: TS2540
  socket.addEventListener('reconnecting', (e) => {
    const delay: string = e.delay; // error: TS2322
    return delay;
  });
  socket.addEventListener('transport', (e) => {
    if (e.transport === 'htmlfile') return; // error: TS2367
  });
  socket.addEventListener('message', (e) => e.data.byteLength); // error: TS2339

  // Errors: the kind is a closed union.
  const err = {} as CometkitError;
  if (err.kind === 'cancelled') return; // error: TS2367
  const kind: CometkitErrorKind = 'oops'; // error: TS2322
  void [status, body, wrongBody, loaded, kind];
}

// io(): typed event maps.
import { io } from 'cometkit';
const typedIo = io<{ chat: (text: string) => void }, { chat: (text: string) => void; save: (n: number, ack: (ok: boolean) => void) => void }>('/');
typedIo.emit('chat', 42); // error: TS2345
typedIo.emit('nope'); // error: TS2345
typedIo.on('chat', (n: number) => void n); // error: TS2345
io('/', { transports: ['flashsocket'] }); // error: TS2322
typedIo.timeout(5).emit('save', 1, (ok: boolean) => void ok); // error: TS2345

// The Socket.IO classes.
import { Manager, SocketIO } from 'cometkit';
const badManager = new Manager('/', { extraHeaders: { 'x-n': 1 } }); // error: TS2322
badManager.reconnectionDelay('fast'); // error: TS2345
new SocketIO(badManager); // error: TS2554
badManager.socket('/', { autoConnect: false }); // error: TS2353
