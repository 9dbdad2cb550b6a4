// The browser half of the SockJS Socket's jsonp-polling transport
// (src/transport/jsonp.rs, module `polling`): one poll's script and callback, and the no-CORS
// POST that sends. Rust decides the URLs, the callback name and what each outcome means.

// Loads `src` as a script into the document of `win` (the transport's hidden iframe), with
// `win[name]` as the callback. `done` resolves once: to the frame the server called back with
// (a string), 0 when the script failed to load, 1 when it loaded without calling back, 2 when
// it called back with something other than a string, or null when cancelled. Either way the
// script, its handlers and the callback are gone by then.
export function poll(win, src, name) {
  const doc = win.document;
  const script = doc.createElement("script");
  let settle;
  const done = new Promise((resolve) => (settle = resolve));
  const end = (outcome) => {
    if (!settle) return;
    const resolve = settle;
    settle = null;
    script.onload = script.onerror = null;
    script.remove();
    delete win[name];
    resolve(outcome);
  };
  win[name] = (frame) => end(typeof frame === "string" ? frame : 2);
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

// POSTs `body` (a string, so text/plain) to `url` without CORS, cookies included. `done`
// resolves to true once the request went through, false on a network failure or when
// cancelled (which aborts the request).
export function post(url, body) {
  const abort = new AbortController();
  const done = fetch(url, {
    method: "POST",
    mode: "no-cors",
    credentials: "include",
    body,
    signal: abort.signal,
  }).then(
    () => true,
    () => false,
  );
  return { done, cancel: () => abort.abort() };
}
