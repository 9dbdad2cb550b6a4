// The browser half of the Socket.IO driver (src/socketio/driver.rs): the few string and
// binary operations on Engine.IO and Socket.IO packets that would otherwise copy every payload
// into wasm. Rust decides what each packet is and what to do with it; these only split, join,
// convert and count. Not part of the public API.

const SEP = "\x1e";

// A polling payload's packets, as JavaScript strings.
export function split(body) {
  return body.split(SEP);
}

// The bytes of base64 text, as an ArrayBuffer; null when it is not base64.
export function fromBase64(text) {
  let bin;
  try {
    bin = atob(text);
  } catch {
    return null;
  }
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out.buffer;
}

function bytes(v) {
  return v instanceof ArrayBuffer ? new Uint8Array(v) : new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
}

function toBase64(v) {
  const b = bytes(v);
  let s = "";
  for (let i = 0; i < b.length; i += 0x8000) s += String.fromCharCode.apply(null, b.subarray(i, i + 0x8000));
  return btoa(s);
}

// A polling payload: packet i is `prefixes[i]` followed by `values[i]` (nothing when
// undefined); the prefix "b" takes the value as binary and writes its base64.
export function join(prefixes, values) {
  let out = "";
  for (let i = 0; i < prefixes.length; i++) {
    if (i) out += SEP;
    const p = prefixes[i];
    const v = values[i];
    out += p === "b" ? "b" + toBase64(v) : v === undefined ? p : p + v;
  }
  return out;
}

// One WebSocket frame of a packet of type `kind` (a character code: "0".."6", or "b" for
// binary): binary values go as they are, text as the type digit + value. The type comes as a
// number, since a string from wasm costs a decode per frame. False when the browser refuses
// it.
export function wsSend(ws, kind, value) {
  try {
    if (kind === 98) ws.send(value);
    else {
      const prefix = String.fromCharCode(kind);
      ws.send(value === undefined ? prefix : prefix + value);
    }
    return true;
  } catch {
    return false;
  }
}

// Byte size of a binary value.
export function byteLength(v) {
  return v.byteLength;
}

// UTF-8 bytes of a string (what the server counts against maxPayload and the buffer bounds),
// asked only when a bound of 3 bytes per unit would break one. Measured in headless
// Chromium: a short string is counted fastest here (a non-ASCII test, 0.25 us for 16 B, where a
// TextEncoder call costs 0.65 us); a long one by the browser's encoder, 64 KiB at a time into a
// scratch buffer (50 us for 64 KiB, where the test alone takes 113 us).
let encoder;
let scratch;
export function utf8Length(s) {
  if (s.length < 1024) {
    // eslint-disable-next-line no-control-regex
    if (!/[^\x00-\x7f]/.test(s)) return s.length;
    let n = 0;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      // No lone surrogate in what is counted (JSON.stringify output, decoded frames): a
      // pair is 4 bytes, 2 per unit.
      n += c < 0x80 ? 1 : c < 0x800 || (c >= 0xd800 && c < 0xe000) ? 2 : 3;
    }
    return n;
  }
  if (!encoder) {
    encoder = new TextEncoder();
    scratch = new Uint8Array(0x10000);
  }
  let n = 0;
  for (let i = 0; i < s.length; ) {
    const r = encoder.encodeInto(i ? s.slice(i) : s, scratch);
    i += r.read;
    n += r.written;
  }
  return n;
}

// Where the JSON of an Engine.IO message `s` ("4" and a Socket.IO packet) starts: after the
// Socket.IO type, the attachment count, the namespace and the ack id. Rust parses the header
// itself.
function headEnd(s) {
  const n = s.length;
  let i = 1;
  const type = s[i++];
  // Only the binary types (5, 6) carry an attachment count.
  if ((type === "5" || type === "6") && i < n && s.charCodeAt(i) >= 48 && s.charCodeAt(i) <= 57) {
    const dash = s.indexOf("-", i);
    if (dash > 0 && /^\d+$/.test(s.slice(i, dash))) i = dash + 1;
  }
  if (s[i] === "/") {
    const comma = s.indexOf(",", i);
    i = comma < 0 ? n : comma + 1;
  }
  while (i < n && s.charCodeAt(i) >= 48 && s.charCodeAt(i) <= 57) i++;
  return i;
}

// An Engine.IO text packet (a WebSocket frame or a polling segment) split for the driver in one
// call: what Rust reads is returned (copied into wasm), the payload is kept for frameRest().
// A message ("4") returns its type and Socket.IO header ("42", "43/admin,7") and keeps the
// JSON; a base64 binary packet returns "b" and keeps the base64; anything else is short and
// returned whole. Undefined for a binary frame.
let rest;
export function frameHead(data) {
  rest = undefined;
  if (typeof data !== "string") return undefined;
  const kind = data[0];
  if (kind === "4") {
    const n = headEnd(data);
    rest = data.slice(n);
    return data.slice(0, n);
  }
  if (kind === "b") {
    rest = data.slice(1);
    return "b";
  }
  return data;
}

// The payload frameHead() kept, taken once.
export function frameRest() {
  const r = rest;
  rest = undefined;
  return r;
}

// The arguments of an event or ack: the JSON array parsed, binary placeholders replaced by
// the attachments. Null when the JSON is no array (or, for an event, has no string name
// first) or a placeholder names a missing attachment.
export function decodeArgs(json, bins, isEvent) {
  let bad = false;
  let args;
  try {
    args =
      bins.length === 0
        ? JSON.parse(json)
        : JSON.parse(json, (k, v) => {
            if (v !== null && typeof v === "object" && v._placeholder === true) {
              const b = bins[v.num];
              if (b === undefined) bad = true;
              return b;
            }
            return v;
          });
  } catch {
    return null;
  }
  if (bad || !Array.isArray(args)) return null;
  if (isEvent && typeof args[0] !== "string") return null;
  return args;
}

// The last argument when it is a string (the recovery offset), else undefined.
export function lastString(args) {
  const v = args[args.length - 1];
  return typeof v === "string" ? v : undefined;
}

// Engine.IO JSONP poll: loads `src` as a script into the document of `win` (the transport's
// hidden iframe), the server calling `___eio[index](payload)`. `done` resolves once: to the
// payload (a string), 0 when the script failed to load, 1 when it loaded without calling
// back, or null when cancelled; the script and the callback are gone by then.
export function jsonpPoll(win, src, index) {
  const doc = win.document;
  const script = doc.createElement("script");
  const slots = win.___eio || (win.___eio = []);
  let settle;
  const done = new Promise((resolve) => (settle = resolve));
  const end = (outcome) => {
    if (!settle) return;
    const resolve = settle;
    settle = null;
    script.onload = script.onerror = null;
    script.remove();
    slots[index] = undefined;
    resolve(outcome);
  };
  slots[index] = (payload) => end(typeof payload === "string" ? payload : 1);
  script.onload = () => end(1);
  script.onerror = () => end(0);
  script.src = src;
  try {
    (doc.head || doc.documentElement).appendChild(script);
  } catch {
    end(0);
  }
  return { done, cancel: () => end(null) };
}
