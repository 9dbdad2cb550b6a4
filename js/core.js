// What cometkit's hand-written classes share: the wasm cores they call, `on<event>` handler
// properties, the readyState constants and the error shape. Not part of the public API.

let factory = null;

// Called once by the wasm module's start function (tests call `cometkit::js::install()`) with
// the object whose methods create the Rust cores behind each class.
export function bind(f) {
  factory = f;
}

export function cores() {
  if (factory === null) {
    throw error("invalid", "cometkit is not initialised: await init() before using it");
  }
  return factory;
}

// An Error shaped like the ones the Rust side throws (name "CometkitError", a `kind`).
export function error(kind, message) {
  const e = new Error(message);
  e.name = "CometkitError";
  e.kind = kind;
  return e;
}

// `on<name>` properties that behave like a native object's event handlers: a function installs
// it (one listener, registered at the first set, calls whatever the slot holds), anything else
// clears it.
export function handlers(proto, names) {
  for (const name of names) {
    const slot = Symbol(name);
    Object.defineProperty(proto, "on" + name, {
      configurable: true,
      enumerable: true,
      get() {
        const s = this[slot];
        return s ? s.fn : null;
      },
      set(fn) {
        fn = typeof fn === "function" ? fn : null;
        let s = this[slot];
        if (s) {
          if (fn) {
            s.fn = fn;
          } else {
            this.removeEventListener(name, s.listener);
            this[slot] = undefined;
          }
        } else if (fn) {
          const target = this;
          s = this[slot] = { fn, listener: (e) => s.fn.call(target, e) };
          this.addEventListener(name, s.listener);
        }
      },
    });
  }
}

// CONNECTING/OPEN/CLOSING/CLOSED on the class and its instances, as on WebSocket.
export function states(cls, names) {
  names.forEach((name, value) => {
    const d = { value, enumerable: true };
    Object.defineProperty(cls, name, d);
    Object.defineProperty(cls.prototype, name, d);
  });
}
