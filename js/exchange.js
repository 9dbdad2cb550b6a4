// One bare HTTP exchange through an XMLHttpRequest, or through the page's XDomainRequest when
// it has one and the exchange keeps to XDR's limits (src/transport/exchange.rs: the SockJS
// Socket's XHR and XDR transports, the Socket.IO polling transports, the XDomainRequest-style
// request and the EventSource polyfill's event stream). The response's
// frames (SockJS sends one per line) can be handed to `onFrame` as JavaScript strings, while
// the response grows (streaming) or once it is complete, so no frame is copied into wasm on its
// way to the session. The rules (which URL, which headers, what an outcome means) are Rust's.
//
// flags: 1 with credentials, 2 within XDR's limits (no cookies, no custom header; a POST body
// is a string, so text/plain), 4 deliver frames as the response grows, 8 an event stream (an
// XHR, decoded as UTF-8 whatever its charset): `onFrame` gets the text itself, split anywhere
// and whatever the status, first "" once the status and headers are in (`status()`,
// `headers()`), then each new piece as it arrives. `extra`: headers Rust checked, as a flat
// [name, value, ...] array (or undefined).
// `done` resolves once, never rejects: to the HTTP status (200 for an XDomainRequest's load,
// which only fires on 2xx), 0 for a network error (refused, reset, CORS; for XDR also any
// non-2xx answer), -1 when the browser refused to start the request, -2 on timeout, -3 when
// aborted.
export function exchange(method, url, body, flags, header, token, extra, onFrame, timeout) {
  const xdr = flags & 2 && typeof XDomainRequest === "function";
  const req = xdr ? new XDomainRequest() : new XMLHttpRequest();
  let seen = 0;
  let settle;
  const done = new Promise((resolve) => (settle = resolve));
  const ok = () => xdr || (req.status >= 200 && req.status < 300);
  // Every complete line after `seen`; an empty line, and the first line when it is the
  // xhr-streaming prelude (a run of `h`), are no frames.
  const frames = () => {
    if (!onFrame) return;
    const text = req.responseText;
    if (flags & 8) {
      if (text.length > seen) onFrame(text.slice(seen));
      seen = text.length;
      return;
    }
    if (!ok()) return;
    for (let nl; (nl = text.indexOf("\n", seen)) >= 0; ) {
      const line = text.slice(seen, nl);
      const first = seen === 0;
      seen = nl + 1;
      if (line && !(first && line.length > 1 && /^h+$/.test(line))) onFrame(line);
    }
  };
  const finish = (outcome) => {
    if (!settle) return false;
    req.onload = req.onerror = req.ontimeout = req.onprogress = req.onreadystatechange = null;
    settle(outcome);
    settle = null;
    return true;
  };
  req.onload = () => {
    frames();
    finish(xdr ? 200 : req.status);
  };
  req.onerror = () => finish(0);
  req.ontimeout = () => finish(-2);
  // IE aborts an XDomainRequest whose onprogress is unset.
  req.onprogress = flags & 12 ? frames : () => {};
  if (flags & 8) {
    req.onreadystatechange = () => {
      if (req.readyState === 2 && settle) onFrame("");
    };
  }
  try {
    req.open(method, url, true);
    if (timeout > 0) req.timeout = timeout;
    if (flags & 8) req.overrideMimeType("text/event-stream; charset=utf-8");
    if (!xdr) {
      if (flags & 1) req.withCredentials = true;
      if (header) req.setRequestHeader(header, token);
      if (extra) for (let i = 0; i < extra.length; i += 2) req.setRequestHeader(extra[i], extra[i + 1]);
    }
    // Within XDR's limits a body is always a string, so a POST goes out as text/plain.
    req.send(body == null && flags & 2 ? "" : body);
  } catch {
    finish(-1);
  }
  return {
    done,
    text: () => req.responseText,
    statusText: () => (xdr ? "OK" : req.statusText),
    status: () => req.status,
    headers: () => req.getAllResponseHeaders(),
    // Aborts a request still in flight (a finished one is left alone).
    abort() {
      if (finish(-3)) req.abort();
    },
  };
}
