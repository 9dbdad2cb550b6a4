// cometkit-export: io, Manager, SocketIO
// `io(url, options)`: a Socket.IO client with socket.io-client's names and behaviour. A
// `Manager` is one Engine.IO connection (shared by the namespaces of the same origin and
// path); a `SocketIO` is one namespace on it (socket.io-client's `Socket`: the package's
// `Socket` is the SockJS one). These classes only keep listeners, turn arguments into JSON
// (binary values replaced by placeholders) and back, and keep ack callbacks; the Rust core of
// each manager (src/js/socketio.rs) decides everything else.
import { cores, error } from "./core.js";

const RESERVED = new Set([
  "connect",
  "connect_error",
  "disconnect",
  "disconnecting",
  "newListener",
  "removeListener",
]);
const managers = new Map();
// The manager settings socket.io-client has getter/setter methods for, and their defaults.
const TUNABLE = {
  reconnection: true,
  reconnectionAttempts: Infinity,
  reconnectionDelay: 1000,
  reconnectionDelayMax: 5000,
  randomizationFactor: 0.5,
  timeout: 20000,
};

// `uri` resolved against the page (the page itself when undefined).
function parse(uri) {
  const base = typeof location !== "undefined" ? location.href : undefined;
  try {
    return new URL(uri === undefined ? base : String(uri), base);
  } catch {
    throw error("invalid", "io: the URL is not valid");
  }
}

// The arguments of `io(uri?, opts?)` and `new Manager(uri?, opts?)`: the parsed URL, the
// options, and the Engine.IO path with one trailing slash.
function target(uri, opts) {
  if (typeof uri === "object" && uri !== null && !(uri instanceof URL)) {
    opts = uri;
    uri = undefined;
  }
  opts = opts || {};
  return [parse(uri), opts, (opts.path || "/socket.io").replace(/\/$/, "") + "/"];
}

const isBinary = (v) =>
  v instanceof ArrayBuffer ||
  ArrayBuffer.isView(v) ||
  (typeof Blob !== "undefined" && v instanceof Blob);

// The flags of an emit without `timeout(ms)` or `volatile`; never changed.
const NO_FLAGS = Object.freeze({});

// No argument is an object (nothing to scan: the common case of strings and numbers).
function plain(args) {
  for (let i = 0; i < args.length; i++) if (args[i] !== null && typeof args[i] === "object") return false;
  return true;
}

// Walks the arguments once: throws for a cycle, tells whether they hold binary values (and
// Blobs, which must be read first).
function scan(v, path, found) {
  if (v === null || typeof v !== "object") return;
  if (isBinary(v)) {
    found.binary = true;
    if (typeof Blob !== "undefined" && v instanceof Blob) found.blob = true;
    return;
  }
  if (path.has(v)) throw error("invalid", "emit: the arguments hold a cycle and cannot be serialised");
  if (typeof v.toJSON === "function") return;
  path.add(v);
  for (const k of Array.isArray(v) ? v.keys() : Object.keys(v)) scan(v[k], path, found);
  path.delete(v);
}

// A copy with every binary value replaced by a placeholder; the values go to `bins`.
function deconstruct(v, bins) {
  if (v === null || typeof v !== "object") return v;
  if (isBinary(v)) {
    bins.push(v);
    return { _placeholder: true, num: bins.length - 1 };
  }
  if (typeof v.toJSON === "function") return v;
  if (Array.isArray(v)) return v.map((x) => deconstruct(x, bins));
  const out = {};
  for (const k of Object.keys(v)) out[k] = deconstruct(v[k], bins);
  return out;
}

// Blobs replaced by their bytes (async); same shape otherwise.
async function readBlobs(v) {
  if (v === null || typeof v !== "object") return v;
  if (typeof Blob !== "undefined" && v instanceof Blob) return v.arrayBuffer();
  if (isBinary(v) || typeof v.toJSON === "function") return v;
  if (Array.isArray(v)) return Promise.all(v.map(readBlobs));
  const out = {};
  for (const k of Object.keys(v)) out[k] = await readBlobs(v[k]);
  return out;
}

// [json, bins or undefined, json.length] of an argument array; throws a typed error when it
// cannot be serialised. The driver counts UTF-8 bytes itself, and only when a bound needs them.
function encode(args, found) {
  let json;
  let bins;
  try {
    if (found.binary) {
      bins = [];
      json = JSON.stringify(deconstruct(args, bins));
    } else {
      json = JSON.stringify(args);
    }
  } catch (e) {
    throw error("invalid", "emit: the arguments cannot be serialised: " + (e && e.message));
  }
  return [json, bins, json.length];
}

class Emitter {
  #listeners = new Map();

  on(event, fn) {
    const list = this.#listeners.get(event);
    if (list) list.push(fn);
    else this.#listeners.set(event, [fn]);
    return this;
  }

  addEventListener(event, fn) {
    return this.on(event, fn);
  }

  once(event, fn) {
    const once = (...args) => {
      this.off(event, once);
      fn.apply(this, args);
    };
    once.fn = fn;
    return this.on(event, once);
  }

  off(event, fn) {
    if (event === undefined) {
      this.#listeners.clear();
      return this;
    }
    if (fn === undefined) {
      this.#listeners.delete(event);
      return this;
    }
    const list = this.#listeners.get(event);
    if (list) {
      const i = list.findIndex((l) => l === fn || l.fn === fn);
      if (i >= 0) list.splice(i, 1);
      if (!list.length) this.#listeners.delete(event);
    }
    return this;
  }

  removeListener(event, fn) {
    return this.off(event, fn);
  }

  removeAllListeners(event) {
    return this.off(event);
  }

  listeners(event) {
    return (this.#listeners.get(event) || []).slice();
  }

  hasListeners(event) {
    return this.#listeners.has(event);
  }

  // Calls the listeners of `event`; a listener that throws does not stop the others (its
  // error is reported to the page's error handlers).
  _fire(event, args) {
    const list = this.#listeners.get(event);
    if (!list) return;
    // A copy, so that a listener added or removed by one of them changes the next event only.
    if (list.length === 1) call(this, list[0], args);
    else for (const fn of list.slice()) call(this, fn, args);
  }
}

function call(self, fn, args) {
  try {
    fn.apply(self, args);
  } catch (e) {
    queueMicrotask(() => {
      throw e;
    });
  }
}

/** One Engine.IO connection and the namespaces multiplexed over it (socket.io-client's
 * `new Manager(uri, opts)`: the server at `uri`'s origin, its Engine.IO path `opts.path`). */
export class Manager extends Emitter {
  #core;
  nsps = Object.create(null);

  constructor(uri, options) {
    super();
    const [parsed, opts, path] = target(uri, options);
    // The URL's query, under the option's.
    const query = Object.assign(Object.fromEntries(parsed.searchParams), opts.query || {});
    this.opts = Object.assign({}, opts, { query });
    this.#core = cores().socketio(parsed.origin + path, this.opts);
    this._autoConnect = opts.autoConnect !== false;
    if (this._autoConnect) this.open();
  }

  get transport() {
    return this.#core ? this.#core.transport || null : null;
  }

  /** Opens the connection unless it is open or opening; `fn` is called once it opens, or
   * with the error of the first attempt that fails (at once when it is open already). */
  open(fn) {
    let done;
    if (fn) {
      done = (err) => {
        this.off("open", done).off("error", done);
        fn(err instanceof Error ? err : undefined);
      };
      this.on("open", done).on("error", done);
    }
    // Only opens (no namespace). A closing connection was replaced by a new one: a
    // transport now means an open connection.
    this._connect("");
    if (done && this.transport) done();
    return this;
  }

  connect(fn) {
    return this.open(fn);
  }

  socket(nsp, opts) {
    const s = this.nsps[nsp];
    if (!s) return new SocketIO(this, nsp, opts);
    if (this._autoConnect && !s.active) s.connect();
    return s;
  }

  _live() {
    if (!this.#core) throw error("invalid", "the Socket.IO manager was freed");
    return this.#core;
  }

  _connect(nsp, auth) {
    this._live().connect(nsp, auth, this);
  }

  _disconnect(nsp) {
    this._live().disconnect(nsp);
  }

  _emit(nsp, json, bins, units, ack, timeout, volatile) {
    return this._live().emit(nsp, json, bins, units, ack, timeout, volatile);
  }

  _ack(nsp, id, args) {
    let found = { binary: false };
    scan(args, new Set(), found);
    const [json, bins, units] = encode(args, found);
    this._live().ack(nsp, id, json, bins, units);
  }

  /** Closes the connection: every namespace disconnects. */
  close() {
    if (this.#core) this.#core.close();
    return this;
  }

  disconnect() {
    return this.close();
  }

  /** Releases every request, socket and timer at once, without events. */
  free() {
    const core = this.#core;
    this.#core = null;
    for (const [k, m] of managers) if (m === this) managers.delete(k);
    if (core) core.free();
  }

  // The getters and setters of TUNABLE's settings (`reconnectionDelay()`,
  // `reconnectionDelay(500)`...) are defined below the class.
  _tune(key, args) {
    if (!args.length) return this.opts[key] ?? TUNABLE[key];
    const opts = Object.assign({}, this.opts, { [key]: args[0] });
    this._live().tune(opts);
    this.opts = opts;
    return this;
  }

  _note(code, nsp, a, b) {
    if (code >= 6) {
      switch (code) {
        case 6:
          this._fire("open", [a]);
          if (this._attempts) this._fire("reconnect", [this._attempts]);
          this._attempts = 0;
          break;
        case 7:
          this._fire("upgrade", [a]);
          break;
        case 8:
          this._fire("error", [a]);
          // A transport failed to open: the namespaces still waiting hear of it (and keep
          // trying while the manager does).
          for (const s of Object.values(this.nsps)) if (s.active && !s.connected) s._fire("connect_error", [a]);
          break;
        case 9:
          this._attempts = a;
          this._fire("reconnect_attempt", [a]);
          break;
        case 10:
          for (const s of Object.values(this.nsps)) s.active = false;
          this._fire("close", [a]);
          if (a !== "io client disconnect") this._fire("reconnect_failed", []);
          break;
      }
      return;
    }
    const s = this.nsps[nsp];
    if (s) s._note(code, a, b);
  }
}

for (const key of Object.keys(TUNABLE)) {
  Manager.prototype[key] = function (...args) {
    return this._tune(key, args);
  };
}

// Called by the Rust core for every note (see `deliver` in src/js/socketio.rs); `nsp`
// undefined is the main namespace.
export function deliver(target, code, nsp, a, b) {
  target._note(code, nsp === undefined ? "/" : nsp, a, b);
}

/** One namespace on a manager (socket.io-client's `Socket`; `new SocketIO(manager, nsp,
 * opts)` or `manager.socket(nsp, opts)`). It connects at once when its manager has
 * `autoConnect` on. */
export class SocketIO extends Emitter {
  #acks = new Map();
  #any = [];
  #anyOut = [];
  // The flags of the next emit (`timeout(ms)`, `volatile`), or null for none.
  #flags = null;
  #queue = null;
  // Emits waiting for their ack with `retries` on, oldest first; only the first is in flight.
  #retry = [];

  constructor(io, nsp, opts) {
    super();
    if (!(io instanceof Manager)) throw error("invalid", "new SocketIO(manager, nsp): not a Manager");
    if (typeof nsp !== "string" || nsp[0] !== "/") {
      throw error("invalid", "new SocketIO(manager, nsp): a namespace starts with '/'");
    }
    // The manager routes a namespace's events to one socket.
    if (io.nsps[nsp]) throw error("invalid", "the manager has a socket for this namespace: use manager.socket(nsp)");
    opts = opts || {};
    this.io = io;
    this.nsp = nsp;
    this.id = undefined;
    this.connected = false;
    this.recovered = false;
    this.active = false;
    this.auth = opts.auth;
    this._ackTimeout = opts.ackTimeout === undefined ? io.opts.ackTimeout : opts.ackTimeout;
    const retries = opts.retries === undefined ? io.opts.retries : opts.retries;
    if (retries != null && !(Number.isInteger(retries) && retries >= 0)) {
      throw error("invalid", "option `retries` must be a non-negative integer");
    }
    this._retries = retries || 0;
    const bound = io.opts.maxBufferedPackets;
    this._retryBound = Number.isInteger(bound) && bound >= 0 ? bound : 1024;
    io.nsps[nsp] = this;
    if (io._autoConnect) this.connect();
  }

  get disconnected() {
    return !this.connected;
  }

  connect() {
    if (this.connected || this.active) return this;
    this.active = true;
    // A throw (bad `auth`, a freed manager) leaves the socket inactive, so connect() can be
    // called again.
    const go = (auth) => {
      try {
        let text;
        if (auth !== undefined && auth !== null) {
          if (typeof auth !== "object" || Array.isArray(auth)) throw error("invalid", "option `auth` must be an object");
          try {
            text = JSON.stringify(auth);
          } catch {
            throw error("invalid", "option `auth` must be serialisable with JSON.stringify");
          }
        }
        this.io._connect(this.nsp, text);
      } catch (e) {
        this.active = false;
        throw e;
      }
    };
    if (typeof this.auth === "function") this.auth(go);
    else go(this.auth);
    return this;
  }

  open() {
    return this.connect();
  }

  disconnect() {
    this.active = false;
    this.io._disconnect(this.nsp);
    return this;
  }

  close() {
    return this.disconnect();
  }

  /** Sets an ack deadline for the next emit: its callback gets an error first. */
  timeout(ms) {
    (this.#flags ||= {}).timeout = ms;
    return this;
  }

  /** The next emit is dropped rather than buffered when not connected. */
  get volatile() {
    (this.#flags ||= {}).volatile = true;
    return this;
  }

  onAny(fn) {
    this.#any.push(fn);
    return this;
  }

  prependAny(fn) {
    this.#any.unshift(fn);
    return this;
  }

  offAny(fn) {
    if (fn === undefined) this.#any = [];
    else this.#any = this.#any.filter((f) => f !== fn);
    return this;
  }

  listenersAny() {
    return this.#any.slice();
  }

  onAnyOutgoing(fn) {
    this.#anyOut.push(fn);
    return this;
  }

  offAnyOutgoing(fn) {
    if (fn === undefined) this.#anyOut = [];
    else this.#anyOut = this.#anyOut.filter((f) => f !== fn);
    return this;
  }

  send(...args) {
    return this.emit("message", ...args);
  }

  emit(event, ...args) {
    if (typeof event !== "string") throw error("invalid", "emit: the event name must be a string");
    if (RESERVED.has(event)) throw error("invalid", `emit: "${event}" is a reserved event name`);
    const flags = this.#flags || NO_FLAGS;
    this.#flags = null;
    let ack;
    if (typeof args[args.length - 1] === "function") ack = args.pop();
    if (this._retries && !flags.fromQueue && !flags.volatile) {
      this.#enqueue(event, args, ack, flags);
      return this;
    }
    const timeout = flags.timeout === undefined ? this._ackTimeout : flags.timeout;
    const all = [event, ...args];
    const found = { binary: false, blob: false };
    if (!plain(args)) scan(all, new Set(), found);
    if (found.blob || this.#queue) {
      // Blobs are read first; later emits wait behind them so the order holds.
      const run = () =>
        readBlobs(all).then((a) => this.#send(a, { binary: found.binary }, ack, timeout, flags.volatile, flags.fromQueue));
      const q = (this.#queue || Promise.resolve()).then(run).catch((e) => {
        if (ack && (timeout !== undefined || flags.fromQueue)) call(this, ack, [e]);
        else queueMicrotask(() => {
          throw e;
        });
      });
      this.#queue = q;
      q.then(() => {
        if (this.#queue === q) this.#queue = null;
      });
      return this;
    }
    this.#send(all, found, ack, timeout, flags.volatile, flags.fromQueue);
    return this;
  }

  // socket.io-client's `retries`: each emit waits in order until the server acknowledges it;
  // a try that fails (its ack deadline passed, or the connection dropped) is sent again, up to
  // `retries` more times, and only then does the emit's callback get the error. The queue holds
  // at most `maxBufferedPackets` emits (socket.io-client's has no bound): beyond it `emit`
  // throws.
  #enqueue(event, args, ack, flags) {
    if (this.#retry.length >= this._retryBound) {
      throw error("invalid", "emit: the retry queue is full (maxBufferedPackets)");
    }
    // Arguments that cannot be sent fail now, not at their first try.
    const all = [event, ...args];
    const found = { binary: false, blob: false };
    scan(all, new Set(), found);
    if (!found.blob) encode(all, found);
    const packet = { tries: 0, pending: false, event, args, flags };
    packet.done = (err, ...answer) => {
      if (this.#retry[0] !== packet) return;
      packet.pending = false;
      if (err && packet.tries <= this._retries) return this.#drain(false);
      this.#retry.shift();
      if (ack) call(this, ack, err ? [err] : [null, ...answer]);
      this.#drain(false);
    };
    this.#retry.push(packet);
    this.#drain(false);
  }

  // Sends the first queued emit unless it is in flight (`force`: again, after a reconnection).
  #drain(force) {
    const packet = this.#retry[0];
    if (!packet || !this.connected || (packet.pending && !force)) return;
    packet.pending = true;
    packet.tries++;
    this.#flags = Object.assign({}, packet.flags, { fromQueue: true });
    try {
      this.emit(packet.event, ...packet.args, packet.done);
    } catch (e) {
      // Refused by the core (a message over maxPayload): no try can succeed.
      this.#flags = null;
      packet.tries = Infinity;
      packet.done(e);
    }
  }

  #send(all, found, ack, timeout, volatile, fromQueue) {
    const [json, bins, units] = encode(all, found);
    const id = this.io._emit(this.nsp, json, bins, units, !!ack, timeout, !!volatile);
    // A retried emit's own callback always takes the error first.
    if (id >= 0) this.#acks.set(id, { fn: ack, withError: timeout !== undefined || !!fromQueue });
    if (this.#anyOut.length) for (const fn of this.#anyOut.slice()) call(this, fn, all);
  }

  emitWithAck(event, ...args) {
    // With `retries` every callback takes the error first, as in socket.io-client.
    const flags = this.#flags || NO_FLAGS;
    const withError =
      (flags.timeout === undefined ? this._ackTimeout : flags.timeout) !== undefined ||
      (!!this._retries && !flags.volatile);
    return new Promise((resolve, reject) => {
      args.push(withError ? (err, v) => (err ? reject(err) : resolve(v)) : (v) => resolve(v));
      try {
        this.emit(event, ...args);
      } catch (e) {
        reject(e);
      }
    });
  }

  _note(code, a, b) {
    switch (code) {
      case 0:
        this.id = a;
        this.connected = true;
        this.recovered = b;
        // The emit in flight is sent again: its ack failed with the connection.
        this.#drain(true);
        this._fire("connect", []);
        break;
      case 1: {
        const err = new Error(a);
        if (b !== undefined) {
          try {
            err.data = JSON.parse(b);
          } catch {
            err.data = b;
          }
        }
        // The server refused the namespace: it is not retried (as socket.io-client).
        this.active = false;
        this._fire("connect_error", [err]);
        break;
      }
      case 2:
        this.connected = false;
        this.id = undefined;
        if (a === "io server disconnect" || a === "io client disconnect") this.active = false;
        this._fire("disconnect", [a]);
        break;
      case 3: {
        const args = a;
        if (b !== undefined) {
          let sent = false;
          args.push((...answer) => {
            if (sent) return;
            sent = true;
            this.io._ack(this.nsp, b, answer);
          });
        }
        if (this.#any.length) for (const fn of this.#any.slice()) call(this, fn, args);
        this._fire(args[0], args.slice(1));
        break;
      }
      case 4: {
        const entry = this.#acks.get(a);
        if (!entry) break;
        this.#acks.delete(a);
        if (entry.withError) call(this, entry.fn, [null, ...b]);
        else call(this, entry.fn, b);
        break;
      }
      case 5: {
        const entry = this.#acks.get(a);
        if (!entry) break;
        this.#acks.delete(a);
        // As socket.io-client: only callbacks that take an error first learn of the failure.
        if (entry.withError) call(this, entry.fn, [b]);
        break;
      }
    }
  }
}

/** socket.io-client's `io(url, options)`: a namespace socket, sharing the manager of the
 * same origin and path unless `forceNew` or `multiplex: false`. */
export function io(uri, options) {
  const [parsed, opts, path] = target(uri, options);
  const nsp = parsed.pathname || "/";
  const key = parsed.origin + path;
  let m = managers.get(key);
  const fresh = opts.forceNew || opts["force new connection"] || opts.multiplex === false;
  if (!m || fresh || m.nsps[nsp]) {
    m = new Manager(parsed, opts);
    if (!fresh) managers.set(key, m);
  }
  return m.socket(nsp, opts);
}

export function ioFunction() {
  return io;
}

// For the browser tests (tests/socketio.rs), which cannot import this module by name.
export function classes() {
  return { Manager, SocketIO };
}
