// One bare HTTP exchange for the SockJS Socket's XHR and XDR transports
// (src/transport/exchange.rs): an XMLHttpRequest, or the page's XDomainRequest when it has one
// and the exchange keeps to XDR's limits. The response's frames (SockJS sends one per line)
// are handed to `onFrame` as JavaScript strings while the response grows (streaming) or once
// it is complete, so no frame is copied into wasm on its way to the session. The rules (which
// URL, which headers, what a status means) are decided in Rust.
//
// flags: 1 with credentials, 2 within XDR's limits (no cookies, no custom header; a string
// body goes as text/plain), 4 deliver frames as the response grows.
// `done` resolves to the HTTP status (200 for an XDomainRequest's load, which only fires on
// 2xx), 0 for a network error (refused, reset, CORS), -1 when the browser refused to start
// the request. It never rejects.
export function exchange(method, url, body, flags, header, token, onFrame) {
  const xdr = flags & 2 && typeof XDomainRequest === "function";
  const req = xdr ? new XDomainRequest() : new XMLHttpRequest();
  let seen = 0;
  let settle;
  const done = new Promise((resolve) => (settle = resolve));
  const ok = () => xdr || (req.status >= 200 && req.status < 300);
  // Every complete line after `seen`; an empty line, and the first line when it is the
  // xhr-streaming prelude (a run of `h`), are no frames.
  const frames = () => {
    if (!onFrame || !ok()) return;
    const text = req.responseText;
    for (let nl; (nl = text.indexOf("\n", seen)) >= 0; ) {
      const line = text.slice(seen, nl);
      const first = seen === 0;
      seen = nl + 1;
      if (line && !(first && line.length > 1 && /^h+$/.test(line))) onFrame(line);
    }
  };
  const finish = (status) => {
    req.onload = req.onerror = req.ontimeout = req.onprogress = null;
    settle(status);
  };
  req.onload = () => {
    frames();
    finish(xdr ? 200 : req.status);
  };
  req.onerror = req.ontimeout = () => finish(0);
  if (flags & 4) req.onprogress = frames;
  try {
    req.open(method, url, true);
    if (!xdr) {
      if (flags & 1) req.withCredentials = true;
      if (header) req.setRequestHeader(header, token);
    }
    req.send(body);
  } catch {
    finish(-1);
  }
  return {
    done,
    text: () => req.responseText,
    statusText: () => (xdr ? "" : req.statusText),
    abort() {
      finish(-1);
      req.abort();
    },
  };
}
