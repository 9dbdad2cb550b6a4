// cometkit-export: CometWebSocket
// What `openWebSocket(url, options)` returns: the browser's WebSocket behind cometkit's rules.
// The class is an EventTarget, so `event.target` is the object itself. It listens to the
// native socket and re-dispatches its events without entering wasm: message data stays the
// string, ArrayBuffer or Blob the browser made. What is a rule (accepted send data and state,
// close codes and reasons, binaryType values; the URL and subprotocols, checked before the
// socket exists) is decided by Rust through `cores()`.
//
// Lifetime: the only references to the object are held by the native socket's listeners, and
// the browser keeps a connecting or open WebSocket with listeners alive; so does this object,
// even when page code keeps only its own listeners. Once closed, both can be collected.
import { cores, handlers, states } from "./core.js";

const NAMES = ["open", "message", "error", "close"];

export class CometWebSocket extends EventTarget {
  #ws;
  #relay;

  // Called by `openWebSocket` with the native socket it created.
  constructor(ws) {
    super();
    this.#ws = ws;
    this.#relay = (e) => {
      let out;
      switch (e.type) {
        case "message":
          out = new MessageEvent("message", { data: e.data, origin: e.origin, lastEventId: e.lastEventId });
          break;
        case "close":
          out = new CloseEvent("close", { code: e.code, reason: e.reason, wasClean: e.wasClean });
          break;
        default:
          out = new Event(e.type);
      }
      this.dispatchEvent(out);
    };
    for (const name of NAMES) ws.addEventListener(name, this.#relay);
  }

  get readyState() {
    return this.#ws.readyState;
  }

  get bufferedAmount() {
    return this.#ws.bufferedAmount;
  }

  get protocol() {
    return this.#ws.protocol;
  }

  get url() {
    return this.#ws.url;
  }

  get extensions() {
    return this.#ws.extensions;
  }

  get binaryType() {
    return this.#ws.binaryType;
  }

  set binaryType(value) {
    cores().wsBinaryType(this.#ws, value);
  }

  send(data) {
    cores().wsSend(this.#ws, data);
  }

  close(code, reason) {
    cores().wsClose(this.#ws, code, reason);
  }

  // Closes with 1000 if still connecting or open; no event is dispatched after it.
  free() {
    const ws = this.#ws;
    for (const name of NAMES) ws.removeEventListener(name, this.#relay);
    if (ws.readyState < 2) ws.close(1000);
  }
}

states(CometWebSocket, ["CONNECTING", "OPEN", "CLOSING", "CLOSED"]);
handlers(CometWebSocket.prototype, NAMES);
