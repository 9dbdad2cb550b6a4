// A small application built by Vite from the bundler package. It runs one check per export
// against the cometkit-server that serves it (same origin) and lists the outcomes, which
// tests/e2e/vite-app.test.mjs reads. Type-checked with the consumer in tests/ts/.

import {
  Socket,
  corsSupport,
  jsonp,
  openEventSource,
  openWebSocket,
  ping,
  request,
  xdrRequest,
} from 'cometkit';
import type { CometkitError } from 'cometkit';
// Single-capability subpaths: each its own, smaller wasm beside the full one.
import { Socket as SocketOnly } from 'cometkit/socket';
import * as xhrOnly from 'cometkit/xhr';

interface Echo {
  method: string;
  body: string;
  query: string;
}

const CHECK_TIMEOUT_MS = 10_000;

function fail(message: string): never {
  throw new Error(message);
}

/** Resolves with the first `count` events passed to `on`; rejects on the first `onError`. */
function collect<E extends Event>(
  subscribe: (on: (e: E) => void, onError: (e: Event) => void) => void,
  count: number,
): Promise<E[]> {
  return new Promise((resolve, reject) => {
    const got: E[] = [];
    subscribe(
      (e) => {
        got.push(e);
        if (got.length === count) resolve(got);
      },
      (e) => reject(new Error(`${e.type} event`)),
    );
  });
}

/** Sends `text` on `socket` (the full build's `Socket` or a subpath's) and resolves with its
 * echo; fails on a close first or on any other data. */
async function echo(
  socket: Pick<Socket, 'addEventListener' | 'send'>,
  text: string,
): Promise<MessageEvent<string>> {
  const echoed = collect<MessageEvent<string>>((on, onError) => {
    socket.addEventListener('message', on);
    socket.addEventListener('close', onError);
  }, 1);
  socket.send(text);
  const [message] = await echoed;
  if (message?.data !== text) fail(String(message?.data));
  return message;
}

const checks: Record<string, () => Promise<string>> = {
  async corsSupport() {
    const support = corsSupport();
    if (support !== 'xhr') fail(`expected xhr, got ${support}`);
    return support;
  },

  async request() {
    const res = await request<Echo>({ url: '/echo?from=vite', method: 'POST', json: { app: 'vite' } });
    if (res.data?.method !== 'POST' || res.data.body !== '{"app":"vite"}') fail(JSON.stringify(res.data));
    return `${res.status} ${res.data.body}`;
  },

  async 'request error kind'() {
    try {
      await request({ url: '/status/418' });
    } catch (e) {
      const err = e as CometkitError;
      if (err.kind !== 'http' || err.status !== 418) fail(`${err.kind} ${err.status}`);
      return `${err.kind} ${err.status}`;
    }
    return fail('a 418 resolved');
  },

  async xdrRequest() {
    const res = await xdrRequest({ url: '/echo?via=xdr', method: 'POST', body: 'plain' });
    if (!res.body.includes('"body":"plain"')) fail(res.body);
    return `${res.status}`;
  },

  async jsonp() {
    const value = await jsonp<{ q: string }>('/jsonp', { params: { q: 'vite' }, timeout: 5000 });
    if (value.q !== 'vite') fail(JSON.stringify(value));
    return JSON.stringify(value.q);
  },

  async ping() {
    const { loaded } = await ping('/ping', { key: `vite-${Date.now()}` }, { timeout: 5000 });
    if (!loaded) fail('no image');
    return 'loaded';
  },

  async openWebSocket() {
    const ws = openWebSocket('/ws/echo');
    try {
      const echoed = collect<MessageEvent<string | ArrayBuffer | Blob>>((on, onError) => {
        ws.addEventListener('open', () => ws.send('hello vite'));
        ws.addEventListener('message', on);
        ws.addEventListener('error', onError);
      }, 1);
      const [message] = await echoed;
      if (message?.data !== 'hello vite') fail(String(message?.data));
      return message.data;
    } finally {
      ws.free();
    }
  },

  async openEventSource() {
    const es = openEventSource('/sse?events=2&named=1&end=1&retry=60000');
    try {
      const events = await collect<MessageEvent<string>>((on, onError) => {
        es.addEventListener('tick', on);
        es.addEventListener('tock', on);
        es.addEventListener('error', (e) => {
          if (e.fatal) onError(e);
        });
      }, 2);
      const seen = events.map((e) => `${e.type}:${e.data}`).join(' ');
      if (seen !== 'tick:event 1 tock:event 2') fail(seen);
      return seen;
    } finally {
      es.free();
    }
  },

  async Socket() {
    const socket = new Socket('/sockjs/echo');
    try {
      const message = await echo(socket, 'queued before open');
      return `${message.data} (over ${socket.transport ?? 'nothing'})`;
    } finally {
      socket.free();
    }
  },

  async 'Socket from cometkit/socket'() {
    if ((SocketOnly as unknown) === Socket) fail('cometkit/socket gave the full build\'s Socket');
    const socket = new SocketOnly('/sockjs/echo', { transports: ['xhr-streaming'] });
    try {
      const message = await echo(socket, 'from the socket-only build');
      if (message.target !== socket) fail('event.target is not the socket');
      return `${message.data} (over ${socket.transport ?? 'nothing'})`;
    } finally {
      socket.free();
    }
  },

  async 'request from cometkit/xhr'() {
    // Only what the xhr build has: no Socket, no io().
    const extra = ['Socket', 'io', 'openWebSocket'].filter((name) => name in xhrOnly);
    if (extra.length > 0) fail(`cometkit/xhr also exports ${extra.join(', ')}`);
    const res = await xhrOnly.request<Echo>({ url: '/echo?from=xhr-only', method: 'PUT', body: 'only' });
    if (res.data?.method !== 'PUT' || res.data.body !== 'only') fail(JSON.stringify(res.data));
    return `${res.status} ${res.data.method} ${res.data.body}`;
  },
};

function withTimeout<T>(promise: Promise<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer in ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS);
    promise.then(resolve, reject).finally(() => clearTimeout(timer));
  });
}

async function main(): Promise<void> {
  const list = document.getElementById('results') ?? fail('no #results');
  let failed = 0;
  for (const [name, run] of Object.entries(checks)) {
    const item = document.createElement('li');
    item.dataset.check = name;
    try {
      item.textContent = `${name}: ${await withTimeout(run())}`;
      item.dataset.ok = 'true';
    } catch (e) {
      failed += 1;
      const err = e as Partial<CometkitError>;
      item.textContent = `${name}: ${err.kind ?? 'failed'}: ${err.message ?? String(e)}`;
      item.dataset.ok = 'false';
    }
    list.append(item);
  }
  const status = document.getElementById('status') ?? fail('no #status');
  status.textContent = failed ? `${failed} check(s) failed` : 'all checks passed';
  document.body.dataset.done = failed ? 'failed' : 'passed';
}

void main();
