// In-page half of `npm run bench` (bench/run.mjs drives it with Playwright).
//
// The page is opened as bench.html?lib=L&hook=H:
//   lib  cometkit  the wasm package's `Socket` (target/bench/pkg, served at /pkg/; with
//                  build=socket, the `socket`-only package at /pkg/socket/)
//        sockjs    the official sockjs-client (served at /vendor/sockjs.min.js)
//        socketio  socket.io-client (served at /vendor/socket.io.min.js)
//        ckio      the wasm package's `io()` (the Socket.IO client), used as socket.io-client is
//        raw       the browser's WebSocket on a SockJS server's raw endpoint (<prefix>/websocket)
//        null      a minimal hand-written SockJS-over-WebSocket client: JSON framing and nothing
//                  else, the floor any SockJS client pays
//   hook none      the browser as it is
//        redirect  WebSocket connections go to window.__wsRedirect (a closed port, a silent
//                  listener) when it is set: a network that refuses or black-holes WebSockets
//        loopback  WebSocket is replaced by an in-page SockJS echo server: no network at all,
//                  so what is left is the client's own cost per message
//        sioloopback  the same with an in-page Engine.IO v4 / Socket.IO v5 echo server (for
//                  socketio and ckio): it opens the session and the main namespace and sends
//                  every event packet back as it came
// The hook is installed before the library loads (sockjs-client captures window.WebSocket when
// its script runs; cometkit's glue looks it up at each call).
//
// Every entry point of window.B resolves with plain data and never rejects: failures come back
// as { error }.

const params = new URLSearchParams(location.search);
const LIB = params.get('lib') || 'raw';
const HOOK = params.get('hook') || 'none';
// Which cometkit build the page loads: `socket` or `socketio`, the single-capability package a
// user imports as `cometkit/socket` or `cometkit/socketio` (served at /pkg/<name>/), or the full
// build (/pkg/, every capability) when absent.
const BUILD = ['socket', 'socketio'].includes(params.get('build')) ? params.get('build') : null;
const now = () => performance.now();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------
// Hooks

function installRedirect() {
  const Native = window.WebSocket;
  window.__wsRedirect = null;
  class RedirectingWebSocket extends Native {
    constructor(url, protocols) {
      const to = window.__wsRedirect;
      const target = to ? to + new URL(url).pathname : url;
      if (protocols === undefined) super(target);
      else super(target, protocols);
    }
  }
  window.WebSocket = RedirectingWebSocket;
}

// The in-page servers of the loopback hooks: what a new connection is sent, and the frame (or
// null) answering each frame the client sends.
const LOOPBACK_SERVERS = {
  // SockJS: the open frame, then a payload ["m1","m2"] comes back as the frame a["m1","m2"].
  loopback: { greeting: 'o', reply: (data) => `a${data}` },
  // Engine.IO v4 open packet (no upgrades, no pings within a run), then Socket.IO v5: the
  // connect of the main namespace is accepted, and an event packet 42[...] comes back as is
  // (socket.io's echo server emits what it receives).
  sioloopback: {
    greeting: '0{"sid":"loopback","upgrades":[],"pingInterval":600000,"pingTimeout":600000,"maxPayload":1000000}',
    reply: (data) => {
      if (typeof data !== 'string') return null;
      if (data === '40' || data.startsWith('40{')) return '40{"sid":"loopback-nsp"}';
      return data.startsWith('42') ? data : null;
    },
  },
};

function installLoopback(server) {
  // Each event is its own task, as a browser delivers WebSocket events; a MessageChannel gives
  // tasks without setTimeout's clamping.
  const queue = [];
  const channel = new MessageChannel();
  channel.port1.onmessage = () => {
    const job = queue.shift();
    if (job) job();
  };
  const post = (job) => {
    queue.push(job);
    channel.port2.postMessage(0);
  };
  class LoopbackWebSocket extends EventTarget {
    constructor(url) {
      super();
      this.url = String(url);
      this.readyState = 0;
      this.binaryType = 'blob';
      this.bufferedAmount = 0;
      this.protocol = '';
      this.extensions = '';
      this.onopen = null;
      this.onmessage = null;
      this.onclose = null;
      this.onerror = null;
      post(() => {
        if (this.readyState !== 0) return;
        this.readyState = 1;
        this.fire(new Event('open'));
      });
      post(() => {
        if (this.readyState === 1) this.fire(new MessageEvent('message', { data: server.greeting }));
      });
    }

    fire(event) {
      this.dispatchEvent(event);
      const handler = this[`on${event.type}`];
      if (typeof handler === 'function') handler.call(this, event);
    }

    send(data) {
      if (this.readyState === 0) throw new DOMException('Still in CONNECTING state.', 'InvalidStateError');
      if (this.readyState !== 1) return;
      const frame = server.reply(data);
      if (frame === null) return;
      post(() => {
        if (this.readyState === 1) this.fire(new MessageEvent('message', { data: frame }));
      });
    }

    close(code, reason) {
      if (this.readyState >= 2) return;
      this.readyState = 2;
      post(() => {
        this.readyState = 3;
        this.fire(new CloseEvent('close', { code: code ?? 1005, reason: reason ?? '', wasClean: true }));
      });
    }
  }
  for (const [i, name] of ['CONNECTING', 'OPEN', 'CLOSING', 'CLOSED'].entries()) {
    LoopbackWebSocket[name] = i;
    LoopbackWebSocket.prototype[name] = i;
  }
  window.WebSocket = LoopbackWebSocket;
}

if (HOOK === 'redirect') installRedirect();
if (LOOPBACK_SERVERS[HOOK]) installLoopback(LOOPBACK_SERVERS[HOOK]);

// ---------------------------------------------------------------------------------------------
// Libraries behind one connection shape:
//   open(url, transport, timeoutMs, options) -> Promise<Conn>
//   Conn { transport, send(string), close(), onmessage(data), onclose(info) }

function loadScript(src) {
  return new Promise((resolve, reject) => {
    const s = document.createElement('script');
    s.src = src;
    s.onload = resolve;
    s.onerror = () => reject(new Error(`cannot load ${src}`));
    document.head.appendChild(s);
  });
}

let Socket = null; // cometkit's class
let ckIo = null; // cometkit's `io()`
let wasm = null; // cometkit's wasm exports (for memory.buffer)
let version = null;
let readyAt = null; // ms from navigation start until the library was loaded and initialised

function conn() {
  return { transport: null, onmessage: null, onclose: null, send: null, close: null };
}

// Settles `promise` only once, with a timer that fails it after `timeoutMs`.
function opener(timeoutMs, executor) {
  return new Promise((resolve, reject) => {
    let done = false;
    const timer = setTimeout(() => fail(new Error(`not open after ${timeoutMs} ms`)), timeoutMs);
    function ok(v) {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(v);
    }
    function fail(e) {
      if (done) return;
      done = true;
      clearTimeout(timer);
      reject(e);
    }
    executor(ok, fail);
  });
}

// A Socket.IO client (socket.io-client's `io`, or cometkit's) on one forced transport.
function socketIoOpener(io, url, transport, timeoutMs) {
  return opener(timeoutMs, (ok, fail) => {
    const c = conn();
    const transports = transport ? [transport] : ['polling', 'websocket'];
    const s = io(url, { transports, forceNew: true, reconnection: false, timeout: timeoutMs });
    c.raw = s;
    c.send = (m) => s.send(m);
    c.ack = (m, done) => s.emit('ack', m, done);
    c.close = () => s.disconnect();
    s.on('connect', () => {
      c.transport = s.io.engine ? s.io.engine.transport.name : s.io.transport;
      ok(c);
    });
    s.on('message', (m) => c.onmessage?.(m));
    s.on('connect_error', (e) => fail(new Error(`connect_error: ${e.message}`)));
    s.on('disconnect', (reason) => {
      fail(new Error(`disconnected before open: ${reason}`));
      c.onclose?.({ code: 0, reason });
    });
  });
}

const openers = {
  cometkit(url, transport, timeoutMs, options = {}) {
    return opener(timeoutMs, (ok, fail) => {
      const c = conn();
      // The loopback server in this page speaks plain SockJS, while /info (from the real
      // server) offers the resume extension: cometkit must not ask for it there.
      const plain = HOOK === 'loopback' ? { resume: false } : {};
      const s = new Socket(url, { transports: transport || undefined, reconnect: false, ...plain, ...options });
      c.raw = s;
      c.send = (m) => s.send(m);
      c.close = () => {
        try { s.close(1000, 'done'); } catch { /* closed already */ }
      };
      s.onopen = () => {
        c.transport = s.transport;
        c.onopen?.();
        ok(c);
      };
      s.onmessage = (e) => c.onmessage?.(e.data);
      s.onclose = (e) => {
        const info = { code: e.code, reason: e.reason };
        fail(new Error(`closed before open: ${e.code} ${e.reason}`));
        c.onclose?.(info);
      };
      c.timeoutClose = c.close;
      // Free the wasm side once closed, as a tidy application would (garbage collection would
      // do it later through the FinalizationRegistry).
      s.addEventListener('close', () => setTimeout(() => s.free(), 0));
    });
  },

  sockjs(url, transport, timeoutMs, options = {}) {
    return opener(timeoutMs, (ok, fail) => {
      const c = conn();
      const opts = { ...options };
      if (transport) opts.transports = [transport];
      const s = new window.SockJS(url, null, opts);
      c.raw = s;
      c.send = (m) => s.send(m);
      c.close = () => s.close(1000, 'done');
      s.onopen = () => {
        c.transport = s.transport;
        c.onopen?.();
        ok(c);
      };
      s.onmessage = (e) => c.onmessage?.(e.data);
      s.onclose = (e) => {
        fail(new Error(`closed before open: ${e.code} ${e.reason}`));
        c.onclose?.({ code: e.code, reason: e.reason });
      };
    });
  },

  socketio(url, transport, timeoutMs) {
    return socketIoOpener(window.io, url, transport, timeoutMs);
  },

  // cometkit's `io()`, with the same options and the same use as socket.io-client's above.
  ckio(url, transport, timeoutMs) {
    return socketIoOpener(ckIo, url, transport, timeoutMs);
  },

  raw(url, _transport, timeoutMs) {
    return opener(timeoutMs, (ok, fail) => {
      const c = conn();
      const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/websocket`);
      c.raw = ws;
      c.transport = 'websocket (raw)';
      c.send = (m) => ws.send(m);
      c.close = () => ws.close(1000, 'done');
      ws.onopen = () => ok(c);
      ws.onmessage = (e) => c.onmessage?.(e.data);
      ws.onclose = (e) => {
        fail(new Error(`closed before open: ${e.code}`));
        c.onclose?.({ code: e.code, reason: e.reason });
      };
    });
  },

  null(url, _transport, timeoutMs) {
    return opener(timeoutMs, (ok, fail) => {
      const c = conn();
      const session = Math.random().toString(36).slice(2, 10);
      const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/000/${session}/websocket`);
      c.raw = ws;
      c.transport = 'websocket (hand-written framing)';
      c.send = (m) => ws.send(JSON.stringify([m]));
      c.close = () => ws.close(1000, 'done');
      ws.onmessage = (e) => {
        const f = e.data;
        if (f === 'o') ok(c);
        else if (f[0] === 'a') for (const m of JSON.parse(f.slice(1))) c.onmessage?.(m);
        else if (f[0] === 'c') ws.close();
      };
      ws.onclose = (e) => {
        fail(new Error(`closed before open: ${e.code}`));
        c.onclose?.({ code: e.code, reason: e.reason });
      };
    });
  },
};

function open(url, transport, timeoutMs, options) {
  return openers[LIB](url, transport, timeoutMs, options);
}

// Closes `c` and waits for its close event (at most `ms`).
async function closeAndWait(c, ms = 2000) {
  await new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    const before = c.onclose;
    c.onclose = (info) => {
      before?.(info);
      clearTimeout(timer);
      resolve();
    };
    try { c.close(); } catch { resolve(); }
  });
}

// ---------------------------------------------------------------------------------------------
// Measurements

function percentile(sorted, p) {
  if (!sorted.length) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];
}

function summary(samples) {
  const s = [...samples].sort((a, b) => a - b);
  return { n: s.length, p50: percentile(s, 0.5), p99: percentile(s, 0.99), min: s[0] ?? null, max: s.at(-1) ?? null };
}

// Messages of one phase start with its tag, so a late echo of an earlier phase is ignored.
let phase = 0;
function payload(size) {
  phase = (phase + 1) % 26;
  const tag = String.fromCharCode(97 + phase);
  return tag + 'x'.repeat(Math.max(0, size - 1));
}

/** Sequential Socket.IO acks: `emit('ack', m, callback)` until the callback, `count` times. */
async function ackTrips(c, size, count, capMs) {
  const m = payload(size);
  const samples = [];
  const start = now();
  for (let i = 0; i < count && now() - start < capMs; i++) {
    const t = now();
    const ok = await new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), Math.max(1000, capMs));
      c.ack(m, (back) => {
        clearTimeout(timer);
        resolve(back === m);
      });
    });
    if (!ok) return { ...summary(samples), samples, error: 'ack lost or wrong' };
    samples.push(Math.round((now() - t) * 1000) / 1000);
  }
  return { ...summary(samples), samples };
}

/** Sequential round trips: send one, wait for its echo, `count` times (bounded by `capMs`). */
async function roundTrips(c, size, count, capMs) {
  const m = payload(size);
  const samples = [];
  const start = now();
  for (let i = 0; i < count && now() - start < capMs; i++) {
    const t = now();
    const ok = await new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), Math.max(1000, capMs));
      c.onmessage = (d) => {
        if (d[0] !== m[0]) return;
        clearTimeout(timer);
        resolve(d.length === m.length);
      };
      c.onclose = () => resolve(false);
      c.send(m);
    });
    if (!ok) return { ...summary(samples), samples, error: 'echo lost or wrong' };
    samples.push(Math.round((now() - t) * 1000) / 1000);
  }
  return { ...summary(samples), samples };
}

/**
 * Pipelined echo: `count` messages with at most `window` unanswered, bounded by `capMs` (then
 * the rate is of what came back in time). Waits for stragglers afterwards (bounded).
 */
function flood(c, size, count, window, capMs) {
  const m = payload(size);
  return new Promise((resolve) => {
    let sent = 0;
    let got = 0;
    let bad = 0;
    let error = null;
    let finished = null;
    const start = now();
    const cap = setTimeout(() => finish(true), capMs);
    function finish(capped) {
      if (finished) return;
      clearTimeout(cap);
      const ms = now() - start;
      finished = { size, count, window, sent, got, bad, ms, capped, error,
        msgsPerS: got / (ms / 1000), mbPerS: (got * size) / (ms / 1000) / 1e6 };
      // Let the messages still in flight come back before the next phase (bounded).
      const drainEnd = now() + 3000;
      const check = () => {
        if (got >= sent || now() > drainEnd || error) resolve(finished);
        else setTimeout(check, 5);
      };
      check();
    }
    function pump() {
      try {
        while (!finished && sent < count && sent - got < window) {
          c.send(m);
          sent++;
        }
      } catch (e) {
        error = String(e.message || e);
        finish(false);
      }
    }
    c.onmessage = (d) => {
      if (d[0] !== m[0]) return;
      if (d.length !== m.length) bad++;
      got++;
      if (finished) return;
      if (got === count) finish(false);
      else pump();
    };
    c.onclose = (info) => {
      error = `closed ${info.code} ${info.reason}`;
      finish(false);
    };
    pump();
  });
}

const B = {
  lib: LIB,
  hook: HOOK,

  info() {
    return { lib: LIB, hook: HOOK, version, userAgent: navigator.userAgent, readyAt };
  },

  /** Echo throughput and round trips on one connection, for each of `sizes`. */
  async echo({ url, transport, sizes, openTimeoutMs = 10_000, rttCapMs = 1000, floodCapMs = 2000 }) {
    let c;
    const t0 = now();
    try {
      c = await open(url, transport, openTimeoutMs);
    } catch (e) {
      return { error: String(e.message || e) };
    }
    const out = { transport: c.transport, connectMs: now() - t0, sizes: [] };
    try {
      await roundTrips(c, 16, 3, 1000); // warm-up
      for (const s of sizes) {
        const rtt = await roundTrips(c, s.size, s.rtt, rttCapMs);
        // Warm-up, not counted: a fifth of the flood, so every client (and the server) runs its
        // hot path compiled by the optimising tier when the measured flood starts. The time to
        // a first connection is measured cold in the connect section.
        await flood(c, s.size, Math.ceil(s.count / 5), s.window, floodCapMs);
        const tput = await flood(c, s.size, s.count, s.window, floodCapMs);
        out.sizes.push({ size: s.size, rtt, tput });
        if (tput.error || rtt.error) break;
      }
      // Socket.IO clients: the round trip of an acknowledged emit (16 B).
      if (c.ack) out.ack = await ackTrips(c, 16, 50, rttCapMs);
    } catch (e) {
      out.error = String(e.message || e);
    }
    await closeAndWait(c);
    return out;
  },

  /** `n` sequential connects (constructor to open), each closed before the next. */
  async connect({ url, transport, n, timeoutMs = 10_000, options }) {
    const samples = [];
    const transports = [];
    const closeMs = [];
    for (let i = 0; i < n; i++) {
      const t0 = now();
      let c;
      try {
        c = await open(url, transport, timeoutMs, options);
      } catch (e) {
        return { ...summary(samples), transports, error: String(e.message || e) };
      }
      samples.push(now() - t0);
      transports.push(c.transport);
      const t1 = now();
      await closeAndWait(c);
      closeMs.push(now() - t1);
    }
    return { ...summary(samples), samples, transports, closeMs: summary(closeMs).p50 };
  },

  /**
   * Time to an open session when WebSocket does not work. With `redirect` every WebSocket goes
   * there (hook=redirect); `kill` measures the recovery after an open WebSocket is cut.
   */
  async fallback({ url, redirect = null, kill = false, timeoutMs = 15_000 }) {
    window.__wsRedirect = redirect;
    try {
      if (kill) return await (LIB === 'cometkit' ? killCometkit(url, timeoutMs) : killSockjs(url, timeoutMs));
      const t0 = now();
      const c = await openers[LIB](url, null, timeoutMs, LIB === 'cometkit' ? { reconnect: true } : {});
      const out = { openMs: now() - t0, transport: c.transport };
      await closeAndWait(c);
      return out;
    } catch (e) {
      return { error: String(e.message || e) };
    } finally {
      window.__wsRedirect = null;
    }
  },

  /** `n` connect/close cycles, `concurrency` at a time (for the memory figures). */
  async cycles({ url, transport, n, concurrency = 10, timeoutMs = 10_000 }) {
    let done = 0;
    let failed = 0;
    let firstError = null;
    const t0 = now();
    while (done + failed < n) {
      const batch = Math.min(concurrency, n - done - failed);
      await Promise.all(Array.from({ length: batch }, async () => {
        try {
          const c = await open(url, transport, timeoutMs);
          await closeAndWait(c);
          done++;
        } catch (e) {
          failed++;
          firstError ??= String(e.message || e);
        }
      }));
    }
    return { done, failed, firstError, ms: now() - t0 };
  },

  /** One connection, `count` messages of `size` bytes echoed with `window` in flight. */
  async messages({ url, transport, size, count, window, capMs = 60_000, timeoutMs = 10_000 }) {
    let c;
    try {
      c = await open(url, transport, timeoutMs);
    } catch (e) {
      return { error: String(e.message || e) };
    }
    const r = await flood(c, size, count, window, capMs);
    await closeAndWait(c);
    return r;
  },

  /**
   * The cost of sending and receiving with no network (hook=loopback or sioloopback): pipelined echo, round
   * trips, and `sends` synchronous send() calls timed alone.
   */
  async loopback({ url, size, count, window, rtt, sends = Math.min(1000, Math.floor((1 << 19) / size)), capMs = 5000 }) {
    let c;
    try {
      c = await open(url, 'websocket', 10_000);
    } catch (e) {
      return { error: String(e.message || e) };
    }
    await flood(c, size, Math.min(count, 2000), window, capMs); // warm-up (JIT, allocations)
    const tput = await flood(c, size, count, window, capMs);
    // Sequential round trips, timed as a whole: one takes less than the timer's resolution
    // (performance.now() is coarsened to 100 µs in pages that are not cross-origin isolated).
    const rm = payload(size);
    const r0 = now();
    let trips = 0;
    while (trips < rtt && now() - r0 < capMs) {
      const echoed = await new Promise((resolve) => {
        c.onmessage = (d) => { if (d[0] === rm[0]) resolve(true); };
        c.onclose = () => resolve(false);
        c.send(rm);
      });
      if (!echoed) break;
      trips++;
    }
    const rt = { trips, meanUs: trips ? ((now() - r0) * 1000) / trips : null };
    // send() alone: `sends` calls in a row (within cometkit's default queue bounds, 1024
    // messages and 1 MiB).
    const m = payload(size);
    let got = 0;
    c.onmessage = (d) => { if (d[0] === m[0]) got++; };
    const t0 = now();
    for (let i = 0; i < sends; i++) c.send(m);
    const sendMs = now() - t0;
    const drainEnd = now() + 5000;
    while (got < sends && now() < drainEnd) await sleep(5);
    await closeAndWait(c);
    return { transport: c.transport, tput, rtt: rt, sendUs: (sendMs * 1000) / sends };
  },

  /** Bytes of the wasm module's memory (cometkit only). */
  wasmBytes() {
    return wasm ? wasm.memory.buffer.byteLength : null;
  },
};

// A WebSocket that opens and is then cut: cometkit demotes it and moves on by itself (reconnect
// on, the default). Times from the loss (the `reconnecting` event) to the next open, and to the
// echo of a first message on it.
function killCometkit(url, timeoutMs) {
  return new Promise((resolve) => {
    const t0 = now();
    const out = { firstTransport: null, firstOpenMs: null, lossMs: null, transport: null };
    let lost = null;
    const s = new Socket(url, { reconnect: true });
    const timer = setTimeout(() => done({ error: `not recovered after ${timeoutMs} ms` }), timeoutMs);
    function done(extra) {
      clearTimeout(timer);
      s.onopen = s.onmessage = s.onclose = null;
      try { s.close(1000, 'done'); } catch { /* closed */ }
      setTimeout(() => s.free(), 0);
      resolve({ ...out, ...extra });
    }
    s.addEventListener('reconnecting', () => {
      if (lost === null) {
        lost = now();
        out.lossMs = lost - t0;
      }
    });
    s.onopen = () => {
      if (out.firstTransport === null) {
        out.firstTransport = s.transport;
        out.firstOpenMs = now() - t0;
        return;
      }
      if (lost === null) return;
      out.transport = s.transport;
      out.reopenMs = now() - lost;
      const sentAt = now();
      s.onmessage = (e) => {
        if (e.data !== 'probe') return;
        done({ echoMs: now() - lost, probeRttMs: now() - sentAt });
      };
      s.send('probe');
    };
    s.onclose = (e) => done({ error: `closed ${e.code} ${e.reason}` });
  });
}

// The same with sockjs-client, which has no reconnection: the page does what an application
// has to, a new SockJS without websocket as soon as the first one closes after opening on it.
function killSockjs(url, timeoutMs) {
  return new Promise((resolve) => {
    const t0 = now();
    const out = { firstTransport: null, firstOpenMs: null, lossMs: null, transport: null };
    let lost = null;
    let second = null;
    const first = new window.SockJS(url);
    const timer = setTimeout(() => done({ error: `not recovered after ${timeoutMs} ms` }), timeoutMs);
    function done(extra) {
      clearTimeout(timer);
      for (const s of [first, second]) {
        if (!s) continue;
        s.onopen = s.onmessage = s.onclose = null;
        try { s.close(); } catch { /* closed */ }
      }
      resolve({ ...out, ...extra });
    }
    first.onopen = () => {
      out.firstTransport = first.transport;
      out.firstOpenMs = now() - t0;
    };
    first.onclose = (e) => {
      if (out.firstTransport === null) return done({ error: `closed before open: ${e.code} ${e.reason}` });
      lost = now();
      out.lossMs = lost - t0;
      const others = ['xhr-streaming', 'xdr-streaming', 'eventsource', 'iframe-eventsource',
        'htmlfile', 'iframe-htmlfile', 'xhr-polling', 'xdr-polling', 'iframe-xhr-polling', 'jsonp-polling'];
      second = new window.SockJS(url, null, { transports: out.firstTransport === 'websocket' ? others : undefined });
      second.onopen = () => {
        out.transport = second.transport;
        out.reopenMs = now() - lost;
        const sentAt = now();
        second.onmessage = (ev) => {
          if (ev.data !== 'probe') return;
          done({ echoMs: now() - lost, probeRttMs: now() - sentAt });
        };
        second.send('probe');
      };
      second.onclose = (ev) => done({ error: `second connection closed ${ev.code} ${ev.reason}` });
    };
  });
}

async function boot() {
  if (LIB === 'cometkit' || LIB === 'ckio') {
    const mod = await import(BUILD ? `/pkg/${BUILD}/cometkit.js` : '/pkg/cometkit.js');
    wasm = await mod.default();
    Socket = mod.Socket;
    ckIo = mod.io;
    version = 'workspace';
  } else if (LIB === 'sockjs') {
    await loadScript('/vendor/sockjs.min.js');
    version = window.SockJS.version;
  } else if (LIB === 'socketio') {
    await loadScript('/vendor/socket.io.min.js');
    version = window.io.protocol !== undefined ? `protocol ${window.io.protocol}` : 'unknown';
  }
  window.B = B;
  readyAt = now();
}

boot().then(
  () => {
    document.getElementById('status').textContent = `ready: ${LIB} (${HOOK})`;
    document.body.dataset.ready = 'true';
  },
  (e) => {
    document.getElementById('status').textContent = `failed: ${e && e.stack ? e.stack : e}`;
    document.body.dataset.ready = 'false';
  },
);
