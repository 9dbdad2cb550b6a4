// cometkit-export: Socket
// `new Socket(url, options)`: the negotiating SockJS socket. The class is an EventTarget, so
// `event.target` is the socket itself; every decision (options, URL, protocol, queue, close
// codes) is made by the Rust core it holds. While it is connecting or open the core keeps a
// reference to it, so a socket only its listeners know stays alive, as a native WebSocket does;
// after its close event it can be collected (or released at once with `free()`).
import { bind, cores, error, handlers, states } from "./core.js";

export { bind };

// Set by close() and free(): the rest of a batch of messages is not delivered.
const stopped = Symbol("stopped");
// The origin of the service, for MessageEvent.origin.
const origin = Symbol("origin");
const data = Symbol("data");
const noPorts = Object.freeze([]);
// Microtasks through a settled promise: a tenth of what queueMicrotask costs in Chromium, which
// matters once per send. (Neither callback throws: listeners' exceptions stay in dispatchEvent.)
const settled = Promise.resolve();

// The `message` event: a real DOM Event, dispatched by the socket's own EventTarget, and a
// MessageEvent to `instanceof` and to every member a MessageEvent has. It is built by `Event`'s
// constructor rather than `MessageEvent`'s: the latter converts a seven-member init dictionary,
// which costs more (about 1 µs in Chromium) than all of the SDK's own work on a small message.
// Every accessor of MessageEvent.prototype is answered by one of ours (the native ones would
// throw on an object MessageEvent's constructor did not make); `origin` (the service's) is read
// from the socket when asked for.
class SocketMessageEvent extends Event {
  constructor(type, value) {
    super(type);
    this[data] = value;
  }

  get data() {
    return this[data];
  }

  get origin() {
    const t = this.target;
    return t ? t[origin] : "";
  }

  get lastEventId() {
    return "";
  }

  get ports() {
    return noPorts;
  }
}
{
  const proto = SocketMessageEvent.prototype;
  Object.setPrototypeOf(proto, MessageEvent.prototype);
  // source, userActivation (Chromium), and whatever else the engine has.
  for (const name of Object.getOwnPropertyNames(MessageEvent.prototype)) {
    const d = Object.getOwnPropertyDescriptor(MessageEvent.prototype, name);
    if (d.get && !Object.prototype.hasOwnProperty.call(proto, name)) {
      Object.defineProperty(proto, name, { configurable: true, enumerable: true, get: () => null });
    }
  }
}

export class Socket extends EventTarget {
  #core;
  #flush;
  // A send happened in this task: the core holds the ones after it, which leave together
  // when the task's microtasks run (#settle).
  #sending = false;
  // The core asked for a flush meanwhile.
  #dirty = false;
  #settle;

  constructor(url, options) {
    super();
    this.#core = cores().socket(url, options, this);
    this[origin] = new URL(this.#core.url).origin;
    this.#flush = () => {
      if (this.#core) this.#core.flush();
    };
    this.#settle = () => {
      this.#sending = false;
      if (this.#dirty) {
        this.#dirty = false;
        this.#flush();
      }
    };
    settled.then(this.#flush);
  }

  #live() {
    if (!this.#core) throw error("invalid", "the socket was freed");
    return this.#core;
  }

  get readyState() {
    return this.#core ? this.#core.readyState : 3;
  }

  get transport() {
    return (this.#core && this.#core.transport) || null;
  }

  get url() {
    return this.#live().url;
  }

  get recovered() {
    return !!this.#core && this.#core.recovered;
  }

  get bufferedAmount() {
    return this.#core ? this.#core.bufferedAmount : 0;
  }

  send(data) {
    const core = this.#live();
    if (typeof data !== "string") throw error("invalid", "send() takes a string");
    if (core.send(data, data.length, this.#sending)) this.#dirty = true;
    if (!this.#sending) {
      this.#sending = true;
      settled.then(this.#settle);
    }
  }

  close(code, reason) {
    this.#live().close(code, reason);
    this[stopped] = true;
    settled.then(this.#flush);
  }

  takeUnsent() {
    return this.#live().takeUnsent();
  }

  free() {
    const core = this.#core;
    if (!core) return;
    this.#core = undefined;
    this[stopped] = true;
    // Everything is released now; the core's memory once no call of its own is on the stack
    // (free() may be called from a listener the core is dispatching to).
    core.shutdown();
    queueMicrotask(() => core.free());
  }
}

// `using socket = new Socket(...)` frees it at the end of the block, where the engine has it.
if (typeof Symbol.dispose === "symbol") Socket.prototype[Symbol.dispose] = Socket.prototype.free;
states(Socket, ["CONNECTING", "OPEN", "CLOSING", "CLOSED"]);
handlers(Socket.prototype, [
  "open", "message", "close", "error", "transport", "reconnecting", "heartbeat", "resumefailed",
]);

// Called by the core for each event, on the stack of the browser callback that caused it.
// kind: 0 open, 1 messages (a: array of strings), 2 close (a: reason, x: code, y: wasClean),
// 3 error (a: Error), 4 transport (a: name), 5 reconnecting (a: reason, x: code, y: delay,
// z: attempt), 6 heartbeat, 7 resumefailed (a: [reason, unconfirmed strings], x: code).
export function emit(target, kind, a, x, y, z) {
  let e;
  switch (kind) {
    case 1:
      for (let i = 0; i < a.length && !target[stopped]; i++) {
        target.dispatchEvent(new SocketMessageEvent("message", a[i]));
      }
      return;
    case 0:
      e = new Event("open");
      break;
    case 2:
      e = new CloseEvent("close", { code: x, reason: a, wasClean: y !== 0 });
      break;
    case 3:
      e = new Event("error");
      e.error = a;
      break;
    case 4:
      e = new Event("transport");
      e.transport = a;
      break;
    case 5:
      e = new Event("reconnecting");
      e.code = x;
      e.reason = a;
      e.delay = y;
      e.attempt = z;
      break;
    case 7:
      e = new Event("resumefailed");
      e.code = x;
      e.reason = a[0];
      e.unconfirmed = a[1];
      break;
    default:
      e = new Event("heartbeat");
  }
  target.dispatchEvent(e);
}

export function socketClass() {
  return Socket;
}
