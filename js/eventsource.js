// cometkit-export: CometEventSource
// What `openEventSource(url, options)` returns: Server-Sent Events over the browser's
// EventSource or cometkit's XHR polyfill. The class is an EventTarget, so `event.target` is the
// object itself. Rust has decided everything before the object exists (URL, options, engine).
//
// Native engine: the class listens to the native object (open, message, error, and each other
// type a listener is added for) and re-dispatches its events without entering wasm. The
// browser keeps a connecting or open EventSource with listeners alive, and with it this
// object; once closed, both can be collected.
//
// Polyfill: a Rust core (SSE parser, reconnection) calls `emit` once per event. It holds this
// object until the source is closed (by `close()`, a fatal error or `free()`), so a source only
// its listeners reference keeps delivering.
import { handlers, states } from "./core.js";

export class CometEventSource extends EventTarget {
  #es; // native engine: the browser's EventSource
  #core; // polyfill: the Rust core, until free()
  #url;
  #credentials;
  #types; // native engine: the event types listened to on #es
  #relay;
  #id = "";
  #closed = false;

  // Called by `openEventSource`: `es` is the native object, or null with the polyfill's `core`.
  constructor(es, core, url, withCredentials) {
    super();
    this.#url = url;
    this.#credentials = withCredentials;
    if (!es) {
      this.#core = core;
      return;
    }
    this.#es = es;
    this.#types = new Set();
    this.#relay = (e) => {
      if (this.#closed) return;
      let out;
      // A server may name its events "open" or "error": those are MessageEvents too.
      if (e instanceof MessageEvent) {
        this.#id = e.lastEventId;
        out = new MessageEvent(e.type, { data: e.data, origin: e.origin, lastEventId: e.lastEventId });
      } else if (e.type === "error") {
        out = new Event("error");
        out.fatal = es.readyState === 2;
      } else if (e.type === "open") {
        out = new Event("open");
      } else {
        return;
      }
      this.dispatchEvent(out);
    };
    for (const type of ["open", "message", "error"]) this.#listen(type);
  }

  #listen(type) {
    if (!this.#types.has(type)) {
      this.#types.add(type);
      this.#es.addEventListener(type, this.#relay);
    }
  }

  get readyState() {
    if (this.#es) return this.#es.readyState;
    return this.#core ? this.#core.readyState : 2;
  }

  get url() {
    return this.#url;
  }

  get withCredentials() {
    return this.#credentials;
  }

  get lastEventId() {
    return this.#core ? this.#core.lastEventId : this.#id;
  }

  get polyfilled() {
    return !this.#es;
  }

  // Listening for a type also asks the source for events of that type.
  addEventListener(type, listener, options) {
    super.addEventListener(type, listener, options);
    if (this.#es) this.#listen(String(type));
    else if (this.#core) this.#core.addEventType(String(type));
  }

  close() {
    this.#closed = true;
    if (this.#es) this.#es.close();
    else if (this.#core) this.#core.close();
  }

  // Closes the source and releases everything it holds.
  free() {
    this.close();
    const es = this.#es;
    if (es) {
      for (const type of this.#types) es.removeEventListener(type, this.#relay);
      this.#types.clear();
    }
    const core = this.#core;
    this.#core = undefined;
    if (core) core.free();
  }
}

states(CometEventSource, ["CONNECTING", "OPEN", "CLOSED"]);
handlers(CometEventSource.prototype, ["open", "message", "error"]);

// Called by the polyfill's core for each event: kind 0 open, 1 message (a: type, b: data,
// c: lastEventId, d: origin), 2 error (a: fatal, b: a cometkit Error or undefined).
export function emit(target, kind, a, b, c, d) {
  let e;
  if (kind === 1) {
    e = new MessageEvent(a, { data: b, lastEventId: c, origin: d });
  } else if (kind === 0) {
    e = new Event("open");
  } else {
    e = new Event("error");
    e.fatal = a;
    if (b !== undefined) e.error = b;
  }
  target.dispatchEvent(e);
}
