// A TypeScript consumer of `io()` and its classes (checked with `tsc --noEmit --strict`, see
// types.test.mjs): typed event maps as socket.io-client's generics allow, with exact-type
// assertions.

import { io, Manager, SocketIO as Socket } from 'cometkit';
import type {
  CometkitError,
  SocketIO,
  SocketIOConnectError,
  SocketIODisconnectReason,
  SocketIOManager,
  SocketIOTransport,
} from 'cometkit';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function assertType<T extends true>(_: T): void {}

interface ServerToClient {
  chat: (from: string, text: string) => void;
  bytes: (data: ArrayBuffer) => void;
}
interface ClientToServer {
  chat: (text: string) => void;
  save: (doc: { id: number }, ack: (ok: boolean) => void) => void;
}

const socket: SocketIO<ServerToClient, ClientToServer> = io<ServerToClient, ClientToServer>(
  'http://127.0.0.1:3000/admin',
  {
    transports: ['websocket', 'polling', 'jsonp-polling', 'xdr-polling'],
    auth: { token: 'abc' },
    query: { room: 'a', n: 1 },
    reconnectionAttempts: Infinity,
    reconnectionDelay: 500,
    reconnectionDelayMax: 5000,
    randomizationFactor: 0.5,
    timeout: 10000,
    withCredentials: true,
    ackTimeout: 2000,
    retries: 3,
  },
);

socket.on('connect', () => {
  assertType<Equal<typeof socket.id, string | undefined>>(true);
  assertType<Equal<typeof socket.recovered, boolean>>(true);
});
socket.on('connect_error', (err) => {
  assertType<Equal<typeof err, SocketIOConnectError>>(true);
  const message: string = err.message;
  void message;
});
socket.on('disconnect', (reason) => {
  assertType<Equal<typeof reason, SocketIODisconnectReason>>(true);
});
socket.on('chat', (from, text) => {
  assertType<Equal<typeof from, string>>(true);
  assertType<Equal<typeof text, string>>(true);
});
socket.once('bytes', (data) => {
  assertType<Equal<typeof data, ArrayBuffer>>(true);
});
socket.emit('chat', 'hello');
socket.emit('save', { id: 1 }, (ok) => {
  assertType<Equal<typeof ok, boolean>>(true);
});
socket.timeout(1000).emit('save', { id: 2 }, (err, ok) => {
  assertType<Equal<typeof err, Error | null>>(true);
  assertType<Equal<typeof ok, boolean>>(true);
});
async function acks(): Promise<void> {
  const ok = await socket.emitWithAck('save', { id: 3 });
  assertType<Equal<typeof ok, boolean>>(true);
  const timed = await socket.timeout(500).emitWithAck('save', { id: 4 });
  assertType<Equal<typeof timed, boolean>>(true);
}
void acks;
socket.volatile.emit('chat', 'maybe');
socket.onAny((event, ...args) => {
  assertType<Equal<typeof event, string>>(true);
  void args;
});
socket.offAny();

const manager: SocketIOManager = socket.io;
manager.on('reconnect_attempt', (n) => assertType<Equal<typeof n, number>>(true));
manager.on('error', (e) => assertType<Equal<typeof e, CometkitError>>(true));
const t: SocketIOTransport | null = manager.transport;
void t;
socket.disconnect().connect();
manager.close();

// Untyped use, as with socket.io-client's defaults.
const plain = io({ path: '/socket.io', forceNew: true });
plain.emit('anything', 1, 'two', { three: [3] }, () => {});
plain.on('whatever', (...args: unknown[]) => void args);

// The classes, imported as socket.io-client's (`import { Manager, Socket } from ...`).
const lazy = new Manager<ServerToClient, ClientToServer>('http://127.0.0.1:3000', {
  autoConnect: false,
  path: '/socket.io',
  extraHeaders: { 'x-token': 'abc' },
  reconnectionDelay: 200,
});
const chat = lazy.socket('/chat');
assertType<Equal<typeof chat, Socket<ServerToClient, ClientToServer>>>(true);
chat.emit('chat', 'hi');
const admin = new Socket(lazy, '/admin', { auth: { token: 'secret' } });
assertType<Equal<typeof admin, Socket<ServerToClient, ClientToServer>>>(true);
admin.on('bytes', (data) => assertType<Equal<typeof data, ArrayBuffer>>(true));
assertType<Equal<typeof admin.io, Manager<ServerToClient, ClientToServer>>>(true);
lazy.open((err) => assertType<Equal<typeof err, CometkitError | undefined>>(true));
lazy.connect();
const delay: number = lazy.reconnectionDelay();
const attempts: number = lazy.reconnectionAttempts();
const on: boolean = lazy.reconnection();
const chained: typeof lazy = lazy.reconnectionDelay(500).reconnectionDelayMax(5000).randomizationFactor(0).timeout(5000).reconnection(true).reconnectionAttempts(3);
void [delay, attempts, on, chained];
const optionsOnly: Manager = new Manager({ autoConnect: false });
const anyManager: Manager = socket.io;
void [optionsOnly, anyManager];
