// The SockJS codec's hot path for the browser driver (src/client/codec.rs): message payloads
// stay JavaScript strings, parsed and built by the browser's JSON. Everything else about the
// protocol is decided in Rust.

// A client payload: the messages as a JSON array of strings (JSON.stringify escapes quotes,
// backslashes, control characters and lone surrogates), with the characters SockJS also sends
// as \uXXXX: both halves of every surrogate pair, and the code points Unicode normalisation
// could alter in transit (the table in protocol/src/sockjs.rs, EXTRA_ESCAPES).
const escapable =
  /[\ud800-\udfff\u0300-\u0333\u033d-\u0346\u034a-\u034c\u0350-\u0352\u0357-\u0358\u035c-\u0362\u0374\u037e\u0387\u0591-\u05af\u05c4\u0610-\u0617\u0653-\u0654\u0657-\u065b\u065d-\u065e\u06df-\u06e2\u06eb-\u06ec\u0730\u0732-\u0733\u0735-\u0736\u073a\u073d\u073f-\u0741\u0743\u0745\u0747\u07eb-\u07f1\u0951\u0958-\u095f\u09dc-\u09dd\u09df\u0a33\u0a36\u0a59-\u0a5b\u0a5e\u0b5c-\u0b5d\u0e38-\u0e39\u0f43\u0f4d\u0f52\u0f57\u0f5c\u0f69\u0f72-\u0f76\u0f78\u0f80-\u0f83\u0f93\u0f9d\u0fa2\u0fa7\u0fac\u0fb9\u1939-\u193a\u1a17\u1b6b\u1cda-\u1cdb\u1dc0-\u1dcf\u1dfc\u1dfe\u1f71\u1f73\u1f75\u1f77\u1f79\u1f7b\u1f7d\u1fbb\u1fbe\u1fc9\u1fcb\u1fd3\u1fdb\u1fe3\u1feb\u1fee-\u1fef\u1ff9\u1ffb\u1ffd\u2000-\u2001\u20d0-\u20d1\u20d4-\u20d7\u20e7-\u20e9\u2126\u212a-\u212b\u2329-\u232a\u2adc\u302b-\u302c\uaab2-\uaab3\uf900-\ufa0d\ufa10\ufa12\ufa15-\ufa1e\ufa20\ufa22\ufa25-\ufa26\ufa2a-\ufa2d\ufa30-\ufa6d\ufa70-\ufad9\ufb1d\ufb1f\ufb2a-\ufb36\ufb38-\ufb3c\ufb3e\ufb40-\ufb41\ufb43-\ufb44\ufb46-\ufb4e\ufff0-\uffff]/g;

// The same class, to test a whole payload once: most have nothing to escape, and a string
// `replace` would copy them all the same.
const needsEscape = new RegExp(escapable.source);

function hex(c) {
  return "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0");
}

// JSON text with the SockJS escapes on top.
function escape(json) {
  return needsEscape.test(json) ? json.replace(escapable, hex) : json;
}

export function encode(messages) {
  return escape(JSON.stringify(messages));
}

// encode([message]) without building the array (the common case: one message in flight).
export function encodeOne(message) {
  return "[" + escape(JSON.stringify(message)) + "]";
}

// A payload of cometkit's resume extension: [ack,seq,"m1",...], or [ack] without messages.
export function encodeNumbered(ack, seq, messages) {
  return messages.length ? "[" + ack + "," + seq + "," + encode(messages).slice(1) : "[" + ack + "]";
}

// encodeNumbered(ack, seq, [message]) without building the array.
export function encodeNumberedOne(ack, seq, message) {
  return "[" + ack + "," + seq + "," + escape(JSON.stringify(message)) + "]";
}

// What the last decode() of a message frame found, taken by the caller at once: returning a
// number and taking the array with one more call is cheaper than reading the parts of a
// returned array from wasm, each a call of its own.
let batch = null;
let sequence = 0;

// Sorts a received SockJS frame by its first character, parsing message frames with the
// browser's JSON:
// -1: any other frame (o, h, c[...], r[...], or junk), which the Rust codec decodes;
// -2: a message frame that is not a JSON array of strings, or a frame that is not a string;
// -3: `a["m1",...]`, its messages taken with decoded();
// n >= 0: `q[ack,seq,"m1",...]` of the resume extension, n its acknowledgement, seq taken with
//   decodedSeq() (0 for `q[ack]`) and the messages with decoded(); checked: ack and seq are
//   non-negative safe integers, seq at least 1 and followed by at least one string.
export function decode(frame) {
  if (typeof frame !== "string") return -2;
  const kind = frame.charCodeAt(0);
  if (kind !== 97 && kind !== 113) return -1;
  let v;
  try {
    v = JSON.parse(frame.slice(1));
  } catch {
    return -2;
  }
  if (!Array.isArray(v)) return -2;
  let result = -3;
  if (kind === 113) {
    result = v.shift();
    if (!(Number.isSafeInteger(result) && result >= 0)) return -2;
    if (v.length) {
      sequence = v.shift();
      if (!(Number.isSafeInteger(sequence) && sequence >= 1 && v.length)) return -2;
    } else {
      sequence = 0;
    }
  }
  for (let i = 0; i < v.length; i++) if (typeof v[i] !== "string") return -2;
  batch = v;
  return result;
}

export function decoded() {
  const v = batch;
  batch = null;
  return v;
}

export function decodedSeq() {
  return sequence;
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
