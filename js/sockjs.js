// The SockJS codec's hot path for the browser driver (src/client/codec.rs): message payloads
// stay JavaScript strings, parsed and built by the browser's JSON. Everything else about the
// protocol is decided in Rust.

// A client payload: the messages as a JSON array of strings (JSON.stringify escapes quotes,
// backslashes, control characters and lone surrogates), with the characters SockJS also sends
// as \uXXXX: both halves of every surrogate pair, and the code points Unicode normalisation
// could alter in transit (the table in protocol/src/sockjs.rs, EXTRA_ESCAPES).
const escapable =
  /[\ud800-\udfff\u0300-\u0333\u033d-\u0346\u034a-\u034c\u0350-\u0352\u0357-\u0358\u035c-\u0362\u0374\u037e\u0387\u0591-\u05af\u05c4\u0610-\u0617\u0653-\u0654\u0657-\u065b\u065d-\u065e\u06df-\u06e2\u06eb-\u06ec\u0730\u0732-\u0733\u0735-\u0736\u073a\u073d\u073f-\u0741\u0743\u0745\u0747\u07eb-\u07f1\u0951\u0958-\u095f\u09dc-\u09dd\u09df\u0a33\u0a36\u0a59-\u0a5b\u0a5e\u0b5c-\u0b5d\u0e38-\u0e39\u0f43\u0f4d\u0f52\u0f57\u0f5c\u0f69\u0f72-\u0f76\u0f78\u0f80-\u0f83\u0f93\u0f9d\u0fa2\u0fa7\u0fac\u0fb9\u1939-\u193a\u1a17\u1b6b\u1cda-\u1cdb\u1dc0-\u1dcf\u1dfc\u1dfe\u1f71\u1f73\u1f75\u1f77\u1f79\u1f7b\u1f7d\u1fbb\u1fbe\u1fc9\u1fcb\u1fd3\u1fdb\u1fe3\u1feb\u1fee-\u1fef\u1ff9\u1ffb\u1ffd\u2000-\u2001\u20d0-\u20d1\u20d4-\u20d7\u20e7-\u20e9\u2126\u212a-\u212b\u2329-\u232a\u2adc\u302b-\u302c\uaab2-\uaab3\uf900-\ufa0d\ufa10\ufa12\ufa15-\ufa1e\ufa20\ufa22\ufa25-\ufa26\ufa2a-\ufa2d\ufa30-\ufa6d\ufa70-\ufad9\ufb1d\ufb1f\ufb2a-\ufb36\ufb38-\ufb3c\ufb3e\ufb40-\ufb41\ufb43-\ufb44\ufb46-\ufb4e\ufff0-\uffff]/g;

function hex(c) {
  return "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0");
}

export function encode(messages) {
  return JSON.stringify(messages).replace(escapable, hex);
}

// encode([message]) without building the array (the common case: one message in flight).
export function encodeOne(message) {
  return ("[" + JSON.stringify(message) + "]").replace(escapable, hex);
}

// A payload of cometkit's resume extension: [ack,seq,"m1",...], or [ack] without messages.
export function encodeNumbered(ack, seq, messages) {
  return messages.length ? "[" + ack + "," + seq + "," + encode(messages).slice(1) : "[" + ack + "]";
}

// Sorts a received SockJS frame by its first character: for `a[...]` the messages (a JSON
// array of strings, parsed by the browser), or false when it is not one; null for every other
// frame (o, h, c[...], or junk), which the Rust codec decodes; false for a frame that is not a
// string.
// A `q[ack,seq,"m1",...]` frame of the resume extension gives the whole array (its first
// element a number, which tells it from an `a` frame's strings), checked: ack and seq are
// non-negative safe integers, seq at least 1 and followed by at least one string.
export function decode(frame) {
  if (typeof frame !== "string") return false;
  const kind = frame.charCodeAt(0);
  if (kind !== 97 && kind !== 113) return null;
  let v;
  try {
    v = JSON.parse(frame.slice(1));
  } catch {
    return false;
  }
  if (!Array.isArray(v)) return false;
  let i = 0;
  if (kind === 113) {
    if (!(Number.isSafeInteger(v[0]) && v[0] >= 0)) return false;
    if (v.length > 1 && !(Number.isSafeInteger(v[1]) && v[1] >= 1 && v.length > 2)) return false;
    i = 2;
  }
  for (; i < v.length; i++) if (typeof v[i] !== "string") return false;
  return v;
}

// `ws.send(payload)` for the websocket transport: false when the browser refuses it (the socket
// is not open), without an exception crossing into wasm.
export function sendFrame(ws, payload) {
  try {
    ws.send(payload);
    return true;
  } catch {
    return false;
  }
}
