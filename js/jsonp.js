// The browser half of JSONP (src/transport/jsonp.rs): one call's script, callback, timer and
// cleanup, for `Jsonp` (callbacks on the page's window) and the SockJS Socket's jsonp-polling
// transport (callbacks on its hidden iframe's window); and the no-CORS POST that transport sends
// with. Rust decides the URL, the callback name and what each outcome means.

// Loads `src` as a script into the document of `win`, with `win[name]` as the callback.
// `done` resolves once, to [outcome, value]: 0 called back (value: the first argument), 1 the
// script loaded without calling back, 2 it failed to load (or could not be inserted), 3 no
// outcome within `timeout` ms (0: no limit), 4 cancelled. By then the timer, the handlers and
// the script are gone, and `win[name]` is gone too once the script has finished running,
// unless the script may still run (timeout or cancel before it loaded): then the name holds a
// no-op that deletes itself when called, so a late answer neither throws nor reaches a caller
// that is gone.
export function load(win, src, name, nonce, timeout) {
  const doc = win.document;
  const script = doc.createElement("script");
  let settle;
  let ran = false;
  let timer;
  const done = new Promise((resolve) => (settle = resolve));
  const end = (outcome, value) => {
    if (!settle) return;
    const resolve = settle;
    settle = null;
    clearTimeout(timer);
    script.onload = script.onerror = null;
    script.remove();
    // Deleted once the running script is done (a microtask runs after it): a response that
    // calls back twice reaches the settled callback again, not a missing name.
    if (ran) Promise.resolve().then(() => delete win[name]);
    else win[name] = () => delete win[name];
    resolve([outcome, value]);
  };
  win[name] = (value) => {
    ran = true;
    end(0, value);
  };
  script.onload = () => {
    ran = true;
    end(1);
  };
  script.onerror = () => {
    ran = true;
    end(2);
  };
  if (nonce) script.nonce = nonce;
  script.src = src;
  try {
    (doc.head || doc.documentElement).appendChild(script);
  } catch {
    // Nothing was requested, so no late call can come.
    ran = true;
    end(2);
  }
  if (timeout > 0 && settle) timer = setTimeout(() => end(3), timeout);
  return { done, cancel: () => end(4) };
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
