// A TypeScript consumer of every export of the package, checked with `tsc --noEmit --strict`
// (see types.test.mjs). It is never run: it pins down what the generated .d.ts promises, with
// exact-type assertions wherever a type is known, so a declaration that degrades (to `any`, to
// a wider union, to a missing member) fails the check.

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
import type {
  CometEventSourceEventMap,
  CometWebSocketEventMap,
  CometkitError,
  CometkitErrorKind,
  CorsSupport,
  EventSourceErrorEvent,
  EventSourceOptions,
  JsonpOptions,
  JsonpParams,
  PingOptions,
  PingParams,
  PingResult,
  RequestOptions,
  SecureOnly,
  SecurityDefaults,
  SocketErrorEvent,
  SocketEventMap,
  SocketOptions,
  SocketReconnectOptions,
  SocketReconnectingEvent,
  SocketResumeFailedEvent,
  SocketTransport,
  SocketTransportEvent,
  WebSocketOptions,
  XdrRequestOptions,
  XsrfOptions,
  XhrPairs,
  XhrProgress,
  XhrResponse,
} from 'cometkit';
import init, { initSync } from 'cometkit/web';
import type { InitInput, InitOutput } from 'cometkit/web';

// ---- exact-type assertions ------------------------------------------------------------------
type Equal<A, B> =
  (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false;
/** Compiles only when `T` is `true`. */
function check<T extends true>(): T | void {}
/** `value` as the type it was inferred with, to compare. */
function typeOf<T>(_value: T): T {
  return _value;
}

// ---- errors ---------------------------------------------------------------------------------
check<Equal<CometkitErrorKind, 'timeout' | 'abort' | 'network' | 'http' | 'protocol' | 'invalid'>>();

function explain(e: unknown): string {
  const err = e as CometkitError;
  check<Equal<typeof err.kind, CometkitErrorKind>>();
  switch (err.kind) {
    case 'http':
      return `HTTP ${err.status ?? '?'}: ${err.response?.statusText ?? ''}`;
    case 'timeout':
    case 'abort':
    case 'network':
    case 'protocol':
    case 'invalid':
      return `${err.name} ${err.kind}: ${err.message}`;
  }
}

// ---- request ---------------------------------------------------------------------------------
interface Item {
  id: number;
  name: string;
}

async function useRequest(signal: AbortSignal, file: Blob, form: HTMLFormElement): Promise<void> {
  const progress = (p: XhrProgress): void => {
    check<Equal<typeof p.loaded, number>>();
    check<Equal<typeof p.lengthComputable, boolean>>();
  };
  const headers: XhrPairs = { 'X-One': '1', 'X-Many': ['a', 'b'], 'X-Num': 2 };
  const options: RequestOptions = {
    url: '/api/items',
    method: 'POST',
    params: new URLSearchParams({ q: 'x' }),
    headers,
    json: { name: 'x' },
    timeout: 5000,
    withCredentials: true,
    signal,
    onUploadProgress: progress,
    onDownloadProgress: progress,
  };
  // Options typed as the whole RequestOptions: the response type is not known statically.
  const general = await request<Item>(options);
  check<Equal<typeof general, XhrResponse<Item>>>();
  check<Equal<typeof general.body, unknown>>();

  const res = await request<Item>({ url: '/api/items', method: 'POST', json: { name: 'x' }, signal });
  check<Equal<typeof res, XhrResponse<Item, string>>>();
  check<Equal<typeof res.status, number>>();
  check<Equal<typeof res.ok, boolean>>();
  check<Equal<typeof res.headers, Record<string, string>>>();
  check<Equal<typeof res.text, string | null>>();
  check<Equal<typeof res.data, Item | undefined>>();
  check<Equal<typeof res.body, string>>();
  if (res.data) typeOf<string>(res.data.name);

  // The response body's type follows `responseType`.
  const bytes = await request({ url: '/bytes', responseType: 'arraybuffer' });
  check<Equal<typeof bytes.body, ArrayBuffer>>();
  const blob = await request({ url: '/bytes', responseType: 'blob' });
  check<Equal<typeof blob.body, Blob>>();
  const doc = await request({ url: '/page', responseType: 'document' });
  check<Equal<typeof doc.body, Document | null>>();
  const json = await request<Item[]>({ url: '/items', responseType: 'json' });
  check<Equal<typeof json.body, Item[] | null>>();
  check<Equal<typeof json.data, Item[] | undefined>>();
  const text = await request({ url: '/text', responseType: 'text', mimeType: 'text/plain; charset=x-user-defined' });
  check<Equal<typeof text.body, string>>();
  // Chosen at run time: the body could be any of them.
  const chosen: RequestOptions['responseType'] = Math.random() > 0.5 ? 'blob' : 'text';
  const either = await request({ url: '/x', responseType: chosen });
  check<Equal<typeof either.body, unknown>>();

  // Every body kind XHR takes.
  for (const body of [
    'text', new ArrayBuffer(8), new Uint8Array(8), file, new FormData(), new URLSearchParams(), form,
  ]) {
    await request({ url: '/upload', body, onChunk: (piece: string) => void piece });
  }
  await request({ url: '/form', form: [['a', '1'], ['a', 2]] });

  try {
    await request({ url: '/missing' });
  } catch (e) {
    explain(e);
  }
}

// ---- security: setDefaults, xsrf, secureOnly, trustedOrigins ------------------------------
async function useSecurity(): Promise<void> {
  const xsrf: XsrfOptions = {
    cookieName: 'XSRF-TOKEN',
    headerName: 'X-XSRF-TOKEN',
    metaName: 'csrf-token',
    token: () => document.querySelector('meta[name=csrf-token]')?.getAttribute('content'),
    origins: ['https://api.example.com', 'https://*.example.com'],
  };
  const loopback: SecureOnly = { allowLoopback: true };
  const defaults: SecurityDefaults = { xsrf, secureOnly: loopback, jsonpOrigins: ['https://cdn.example.com'] };
  const nothing = setDefaults(defaults);
  check<Equal<typeof nothing, void>>();
  setDefaults({ xsrf: true, secureOnly: true });
  setDefaults({});
  await request({ url: '/api', method: 'POST', xsrf: { cookieName: 'csrftoken', headerName: 'X-CSRFToken' } });
  await request({ url: '/api', xsrf: false, secureOnly: false });
  await xdrRequest({ url: '/api', secureOnly: true });
  await jsonp('https://cdn.example.com/j', { trustedOrigins: ['https://cdn.example.com'], secureOnly: loopback });
  await ping('/p', undefined, { secureOnly: true });
}

// ---- xdrRequest and corsSupport -------------------------------------------------------------
async function useXdr(): Promise<void> {
  const support = corsSupport();
  check<Equal<typeof support, CorsSupport>>();
  check<Equal<CorsSupport, 'xhr' | 'xdr' | 'none'>>();
  const options: XdrRequestOptions = { url: '/echo', method: 'POST', body: 'text', timeout: 1000 };
  const res = await xdrRequest(options);
  check<Equal<typeof res.body, string>>();
  typeOf<number>(res.status);
}

// ---- jsonp and ping -------------------------------------------------------------------------
async function useJsonpAndPing(signal: AbortSignal): Promise<void> {
  const params: JsonpParams = { q: 'rust', page: 2, tags: ['a', 'b'] };
  const options: JsonpOptions = { params, callbackParam: 'cb', timeout: 5000, nonce: 'n', signal };
  const value = await jsonp<{ q: string }>('/jsonp', options);
  check<Equal<typeof value, { q: string }>>();
  const unknownValue = await jsonp('/jsonp');
  check<Equal<typeof unknownValue, unknown>>();

  const pingParams: PingParams = new Map([['event', 'view']]);
  const pingOptions: PingOptions = { timeout: 2000, cacheBust: false };
  const result = await ping('/ping', pingParams, pingOptions);
  check<Equal<typeof result, PingResult>>();
  check<Equal<typeof result.loaded, boolean>>();
  await ping('/ping');
}

// ---- openWebSocket --------------------------------------------------------------------------
function useWebSocket(): CometWebSocket {
  const options: WebSocketOptions = { protocols: ['chat', 'superchat'], binaryType: 'arraybuffer' };
  const ws = openWebSocket(new URL('/ws/echo', 'http://127.0.0.1'), options);
  check<Equal<typeof ws.readyState, 0 | 1 | 2 | 3>>();
  ws.addEventListener('message', (e) => {
    check<Equal<typeof e, MessageEvent<string | ArrayBuffer | Blob>>>();
    if (typeof e.data === 'string') typeOf<string>(e.data);
  });
  ws.addEventListener('close', (e) => {
    check<Equal<typeof e, CloseEvent>>();
    typeOf<number>(e.code);
    typeOf<boolean>(e.wasClean);
  });
  ws.addEventListener('custom', { handleEvent: (e: Event) => void e }, { once: true });
  ws.onopen = (e) => check<Equal<typeof e, Event>>();
  ws.onmessage = null;
  ws.binaryType = 'blob';
  check<Equal<CometWebSocketEventMap['error'], Event>>();
  ws.send('text');
  ws.send(new Uint8Array([1, 2]));
  ws.send(new Blob(['x']));
  check<Equal<typeof CometWebSocket.OPEN, 1>>();
  typeOf<EventTarget>(ws);
  ws.close(1000, 'bye');
  return ws;
}

// ---- openEventSource ------------------------------------------------------------------------
function useEventSource(): void {
  const options: EventSourceOptions = {
    polyfill: 'always',
    headers: { Authorization: 'Bearer t' },
    method: 'POST',
    body: '{}',
    lastEventId: '41',
    lastEventIdParam: true,
    retry: 1000,
    maxRetryDelay: 30_000,
    maxRetries: 5,
    withCredentials: false,
  };
  const es: CometEventSource = openEventSource('/sse', options);
  check<Equal<typeof es.readyState, 0 | 1 | 2>>();
  check<Equal<typeof CometEventSource.OPEN, 1>>();
  es.addEventListener('message', (e) => {
    check<Equal<typeof e.data, string>>();
    typeOf<string>(e.lastEventId);
  });
  // Named events are MessageEvents with string data too.
  es.addEventListener('tick', (e) => typeOf<string>(e.data));
  es.addEventListener('error', (e) => {
    check<Equal<typeof e, EventSourceErrorEvent>>();
    typeOf<boolean>(e.fatal);
    if (e.error) check<Equal<typeof e.error.kind, CometkitErrorKind>>();
  });
  check<Equal<CometEventSourceEventMap['open'], Event>>();
  typeOf<boolean>(es.polyfilled);
  // The events' target is the source itself.
  es.addEventListener('open', (e) => {
    if (e.target instanceof CometEventSource) typeOf<string>(e.target.url);
  });
  es.close();
  es.free();
}

// ---- Socket ---------------------------------------------------------------------------------
function useSocket(): Socket {
  const reconnect: SocketReconnectOptions = { minDelay: 500, maxDelay: 10_000, factor: 2, jitter: 0.2, maxAttempts: 10 };
  const options: SocketOptions = {
    transports: ['websocket', 'xhr-streaming', 'jsonp-polling'],
    timeout: 3000,
    infoTimeout: 5000,
    heartbeatTimeout: 0,
    reconnect,
    withCredentials: false,
    resume: true,
  };
  const socket = new Socket('/sockjs/echo', options);
  new Socket(new URL('http://127.0.0.1/sockjs/echo'), { transports: 'xhr-polling', reconnect: false });
  check<Equal<typeof socket.transport, SocketTransport | null>>();
  check<Equal<typeof socket.readyState, 0 | 1 | 2 | 3>>();
  check<Equal<typeof Socket.CLOSED, 3>>();
  socket.addEventListener('message', (e) => check<Equal<typeof e.data, string>>());
  socket.addEventListener('transport', (e) => {
    check<Equal<typeof e, SocketTransportEvent>>();
    check<Equal<typeof e.transport, SocketTransport>>();
  });
  socket.addEventListener('reconnecting', (e) => {
    check<Equal<typeof e, SocketReconnectingEvent>>();
    typeOf<number>(e.delay + e.attempt + e.code);
  });
  socket.addEventListener('error', (e) => {
    check<Equal<typeof e, SocketErrorEvent>>();
    check<Equal<typeof e.error, CometkitError>>();
  });
  socket.addEventListener('close', (e) => typeOf<number>(e.code));
  check<Equal<SocketEventMap['heartbeat'], Event>>();
  check<Equal<typeof socket.recovered, boolean>>();
  socket.addEventListener('resumefailed', (e) => {
    check<Equal<typeof e, SocketResumeFailedEvent>>();
    typeOf<number>(e.code);
    check<Equal<typeof e.unconfirmed, string[]>>();
  });
  socket.onresumefailed = (e) => typeOf<string>(e.reason);
  socket.onmessage = (e) => typeOf<string>(e.data);
  socket.ontransport = (e) => typeOf<SocketTransport>(e.transport);
  socket.send('hello');
  socket.close(4000, 'done');
  {
    using disposable = new Socket('/sockjs/echo');
    typeOf<string>(disposable.url);
  }
  return socket;
}

// ---- the --target web package's initialisation ---------------------------------------------
async function useWebInit(bytes: BufferSource): Promise<void> {
  const input: InitInput = new URL('cometkit_bg.wasm', 'http://127.0.0.1/pkg/');
  const exports: InitOutput = await init({ module_or_path: input });
  typeOf<WebAssembly.Memory>(exports.memory);
  initSync({ module: bytes });
}

export { explain, useRequest, useSecurity, useXdr, useJsonpAndPing, useWebSocket, useEventSource, useSocket, useWebInit };
