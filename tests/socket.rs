#![cfg(all(target_arch = "wasm32", feature = "socket", feature = "js"))]
//! The negotiating SockJS socket against two servers: cometkit-server's SockJS mount and the
//! npm `sockjs` 0.3.24 server. Each of the seven transports, forced alone, opens, echoes 100
//! messages in order (unicode, control characters, `%` escapes, 64 KiB ones), takes a server
//! close and a user close. Also: transport choice (auto, WebSocket disabled, cookies needed,
//! no EventSource, no CORS at all), a page-provided XDomainRequest, input validation, the queue
//! bound, the JavaScript `Socket` surface, and release of every browser resource on drop.

wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

mod common;

use std::future::Future;

use cometkit::client::{
    Backoff, ReadyState, Reconnect, Socket, SocketEvent, SocketOptions, TransportKind,
};

use cometkit::ErrorKind;
use futures_util::future::{select, Either};
use gloo_timers::future::TimeoutFuture;
use js_sys::{Object, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::wasm_bindgen_test;

#[wasm_bindgen(inline_js = r##"
function wait_for(cond, what) {
  return new Promise(function (resolve, reject) {
    var tries = 0;
    (function poll() {
      if (cond()) return resolve();
      if (++tries > 400) return reject(new Error("timed out waiting for " + what));
      setTimeout(poll, 25);
    })();
  });
}
function kind_of(f) {
  try { f(); return "no error"; } catch (e) { return e && e.kind ? e.kind : "not a cometkit error: " + e; }
}

// Counts and keeps every XHR, WebSocket, EventSource, fetch and JSONP <script> the page makes
// from now on (installed once; later calls return the same tracker).
export function tracker() {
  var g = globalThis;
  if (g.__ckTracker) return g.__ckTracker;
  var t = { xhrs: [], xhrUrls: [], wss: [], ess: [], fetches: 0 };
  var open = XMLHttpRequest.prototype.open;
  XMLHttpRequest.prototype.open = function (method, url) {
    t.xhrs.push(this);
    t.xhrUrls.push(String(url));
    return open.apply(this, arguments);
  };
  var WS = g.WebSocket;
  g.WebSocket = class extends WS { constructor(url, p) { super(url, p); t.wss.push(this); } };
  var ES = g.EventSource;
  g.EventSource = class extends ES { constructor(url, i) { super(url, i); t.ess.push(this); } };
  var f = g.fetch;
  g.fetch = function () { t.fetches++; return f.apply(this, arguments); };
  // JSONP polls run in a hidden iframe each transport creates (scripts inside it are created
  // in the iframe's realm, which this patch does not see).
  var create = Document.prototype.createElement;
  Document.prototype.createElement = function (tag) {
    if (String(tag).toLowerCase() === "iframe") t.frames++;
    return create.apply(this, arguments);
  };
  t.frames = 0;
  t.snapshot = function () {
    return { xhrs: t.xhrs.length, wss: t.wss.length, ess: t.ess.length, fetches: t.fetches, frames: t.frames };
  };
  // What is still alive among the objects created since `since`.
  t.alive = function (since) {
    var out = [];
    t.xhrs.slice(since.xhrs).forEach(function (x) {
      if (x.readyState !== 0 && x.readyState !== 4) out.push("xhr in state " + x.readyState);
    });
    t.wss.slice(since.wss).forEach(function (w) {
      if (w.readyState < 2) out.push("websocket in state " + w.readyState);
    });
    t.ess.slice(since.ess).forEach(function (e) {
      if (e.readyState !== 2) out.push("eventsource in state " + e.readyState);
    });
    var scripts = document.querySelectorAll('script[src*="/jsonp?"]').length;
    if (scripts) out.push(scripts + " jsonp scripts in the document");
    var frames = document.querySelectorAll("iframe").length;
    if (frames) out.push(frames + " iframes in the document");
    return out;
  };
  g.__ckTracker = t;
  return t;
}

// Replaces XMLHttpRequest with one whose requests all fail like a CORS rejection.
export function refuse_xhr() {
  var g = globalThis;
  var real = g.XMLHttpRequest;
  var log = { sent: [] };
  g.XMLHttpRequest = class extends real {
    open(method, url) { this.__url = url; return super.open(method, url); }
    send() {
      var self = this;
      log.sent.push(String(self.__url));
      setTimeout(function () { self.dispatchEvent(new ProgressEvent("error")); }, 0);
    }
  };
  log.restore = function () { g.XMLHttpRequest = real; };
  return log;
}

// Hides window.EventSource until `restore()`.
export function hide_event_source() {
  var g = globalThis, real = g.EventSource;
  delete g.EventSource;
  return { restore: function () { g.EventSource = real; } };
}

// A minimal XDomainRequest on top of XMLHttpRequest (IE semantics: load on 2xx, else error),
// counting how it is used.
export function install_xdr() {
  var log = { created: 0, sent: 0 };
  function XDomainRequest() { log.created++; this.responseText = ""; this.timeout = 0; }
  XDomainRequest.prototype.open = function (m, u) { this._m = m; this._u = u; };
  XDomainRequest.prototype.send = function (body) {
    var self = this, xhr = new XMLHttpRequest();
    log.sent++;
    this._x = xhr;
    xhr.open(this._m, this._u, true);
    xhr.onload = function () {
      if (xhr.status >= 200 && xhr.status < 300) {
        self.responseText = xhr.responseText;
        if (self.onprogress) self.onprogress();
        if (self.onload) self.onload();
      } else if (self.onerror) self.onerror();
    };
    xhr.onerror = function () { if (self.onerror) self.onerror(); };
    xhr.send(this._m === "POST" ? body : null);
  };
  XDomainRequest.prototype.abort = function () { if (this._x) this._x.abort(); };
  globalThis.XDomainRequest = XDomainRequest;
  log.restore = function () { delete globalThis.XDomainRequest; };
  return log;
}

// Drives a Socket only through its JavaScript surface.
export async function js_surface(sock) {
  var out = {};
  var events = [];
  var handled = [];
  function listener(e) { events.push(e); }
  ["open", "message", "close", "error", "transport"].forEach(function (t) { sock.addEventListener(t, listener); });
  var C = sock.constructor;
  out.statics = [C.CONNECTING, C.OPEN, C.CLOSING, C.CLOSED];
  out.instanceConsts = [sock.CONNECTING, sock.OPEN, sock.CLOSING, sock.CLOSED];
  out.initialState = sock.readyState;
  out.initialTransport = sock.transport;
  out.url = sock.url;
  out.onopenDefault = sock.onopen;
  sock.ontransport = function (e) { handled.push("ontransport:" + e.transport); };
  sock.onopen = function (e) { handled.push("onopen:" + (this === e.currentTarget) + ":" + sock.readyState); };
  var gotMessage = [];
  sock.onmessage = function (e) { gotMessage.push(e); };
  out.handlerRoundTrips = typeof sock.onmessage === "function";
  // Sent before open: queued, not thrown.
  sock.send("early \u2028 \ud83d\ude00");
  out.sendNumber = kind_of(function () { sock.send(42); });
  await wait_for(function () { return gotMessage.length === 1; }, "echo of the early message");
  out.order = events.map(function (e) { return e.type; });
  var t = events[0];
  out.transportEventIsEvent = t instanceof Event;
  out.transportName = t.transport;
  out.openState = sock.readyState;
  out.openTransport = sock.transport;
  out.handled = handled.slice();
  var m = gotMessage[0];
  out.messageIsMessageEvent = m instanceof MessageEvent;
  out.messageData = m.data;
  out.messageOrigin = m.origin;
  out.sameEventForListenerAndHandler = events[2] === m;

  out.close999 = kind_of(function () { sock.close(999); });
  out.close1001 = kind_of(function () { sock.close(1001); });
  out.close2000 = kind_of(function () { sock.close(2000); });
  out.close5000 = kind_of(function () { sock.close(5000); });
  out.close70000 = kind_of(function () { sock.close(70000); });
  out.closeFraction = kind_of(function () { sock.close(3000.5); });
  out.closeLongReason = kind_of(function () { sock.close(3000, "x".repeat(124)); });
  out.closeReasonNotString = kind_of(function () { sock.close(3000, 5); });
  out.stateAfterBadCloses = sock.readyState;

  sock.removeEventListener("message", listener);
  sock.onmessage = null;
  out.handlerCleared = sock.onmessage;
  var closeEvents = [];
  sock.onclose = function (e) { closeEvents.push(e); };
  sock.addEventListener("close", { handleEvent: function (e) { closeEvents.push(e); } });
  sock.close(3001, "js bye \u2713");
  out.closingState = sock.readyState;
  await wait_for(function () { return closeEvents.length === 2; }, "close");
  var c = closeEvents[0];
  out.closeIsCloseEvent = c instanceof CloseEvent;
  out.closeSameForBoth = closeEvents[1] === c;
  out.closeCode = c.code;
  out.closeReason = c.reason;
  out.closeWasClean = c.wasClean;
  out.closedState = sock.readyState;
  out.closedTransport = sock.transport;
  out.sendAfterClose = kind_of(function () { sock.send("too late"); });
  out.closeAgain = kind_of(function () { sock.close(); });
  out.listenerTypes = events.map(function (e) { return e.type; });
  return out;
}

// Every event a Socket fires until its close event, summarised with its extra properties.
export async function js_record(sock) {
  var seen = [];
  var done = false;
  ["transport", "open", "message", "heartbeat", "reconnecting", "error", "close"].forEach(function (t) {
    sock.addEventListener(t, function (e) {
      var s = e.type + " state=" + sock.readyState;
      if (t === "transport") s += " " + e.transport;
      if (t === "reconnecting") s += " " + [e.code, e.reason, e.delay, e.attempt].join(",");
      if (t === "error") s += " " + e.error.kind + " " + (e.error instanceof Error);
      if (t === "close") { s += " " + [e.code, e.reason, e.wasClean].join(","); done = true; }
      seen.push(s);
    });
  });
  try { await wait_for(function () { return done; }, "close"); } catch (e) { seen.push("timed out"); }
  return seen;
}

// Constructor and option validation through JavaScript: the kind each call throws.
export function js_invalid(Socket, url) {
  var cases = {
    noUrl: function () { new Socket(); },
    numberUrl: function () { new Socket(42); },
    emptyUrl: function () { new Socket(""); },
    ftpUrl: function () { new Socket("ftp://127.0.0.1/x"); },
    fragment: function () { new Socket(url + "#frag"); },
    optionsNotObject: function () { new Socket(url, 5); },
    unknownTransport: function () { new Socket(url, { transports: ["iframe-eventsource"] }); },
    duplicateTransport: function () { new Socket(url, { transports: ["websocket", "websocket"] }); },
    transportsNumber: function () { new Socket(url, { transports: 5 }); },
    negativeTimeout: function () { new Socket(url, { timeout: -1 }); },
    fractionTimeout: function () { new Socket(url, { timeout: 1.5 }); },
    reconnectString: function () { new Socket(url, { reconnect: "yes" }); },
    jitterTooBig: function () { new Socket(url, { reconnect: { jitter: 2 } }); },
    factorBelowOne: function () { new Socket(url, { reconnect: { factor: 0.5 } }); },
    minAboveMax: function () { new Socket(url, { reconnect: { minDelay: 5000, maxDelay: 10 } }); },
    credentialsString: function () { new Socket(url, { withCredentials: "yes" }); },
    serverIdSlash: function () { new Socket(url, { serverId: "a/b" }); },
    sessionIdDot: function () { new Socket(url, { sessionId: "a.b" }); },
    sessionIdEmpty: function () { new Socket(url, { sessionId: "" }); },
  };
  var out = {};
  Object.keys(cases).forEach(function (k) { out[k] = kind_of(cases[k]); });
  return out;
}
// A socket that only its listeners reference: it must stay open and keep delivering through
// garbage collections (forced where the browser exposes gc(), as Chromium does with
// --js-flags=--expose-gc), carry itself as event.target, and be collectable once closed.
export async function js_gc_survival(Socket, url) {
  var out = { gc: typeof globalThis.gc === "function" };
  var got = [];
  var targets = [];
  var ref;
  async function collect() {
    for (var i = 0; i < 6; i++) {
      if (out.gc) globalThis.gc();
      await new Promise(function (r) { setTimeout(r, 0); });
    }
  }
  (function () {
    var s = new Socket(url, { transports: ["websocket"] });
    ref = new WeakRef(s);
    s.onopen = function (e) { e.target.send("first"); };
    s.onmessage = function (e) { targets.push(e.target); got.push(e.data); };
  })();
  await wait_for(function () { return got.length === 1; }, "the first echo");
  var first = targets[0];
  out.targetIsSocket = first === ref.deref() && first instanceof Socket && first instanceof EventTarget;
  first = undefined;
  targets.length = 0;
  await collect();
  out.aliveAfterGc = ref.deref() !== undefined;
  if (!out.aliveAfterGc) return out;
  ref.deref().send("second");
  await wait_for(function () { return got.length === 2; }, "the echo after garbage collection");
  out.got = got.slice();
  var closed = false;
  ref.deref().addEventListener("close", function () { closed = true; });
  ref.deref().close();
  await wait_for(function () { return closed; }, "close");
  targets.length = 0;
  await collect();
  out.releasedAfterClose = ref.deref() === undefined;
  return out;
}

// The queue bounds and takeUnsent() through JavaScript.
export function js_queue_bounds(Socket, url) {
  function message_of(f) {
    try { f(); return "no error"; } catch (e) { return e.kind + ": " + e.message; }
  }
  var s = new Socket(url, { maxQueuedMessages: 2, maxQueuedBytes: 10 });
  var out = {};
  out.oversize = message_of(function () { s.send("x".repeat(11)); });
  out.fits = message_of(function () { s.send("abc"); });
  out.second = message_of(function () { s.send("defgh"); });
  out.tooMany = message_of(function () { s.send("i"); });
  out.buffered = s.bufferedAmount;
  out.unsentWhileOpen = s.takeUnsent();
  s.close();
  out.unsent = s.takeUnsent();
  out.unsentAgain = s.takeUnsent();
  s.free();
  out.afterFree = message_of(function () { s.send("z"); });
  out.stateAfterFree = s.readyState;
  return out;
}
// A message larger than the server takes (cometkit-server answers 413 beyond 1 MiB) ends the
// socket with close code 1009 and comes back from takeUnsent(), with what was sent after it,
// instead of being sent again on reconnection after reconnection.
export function js_too_big(Socket, url, transport) {
  return new Promise(function (resolve) {
    var out = { events: [] };
    var big = "x".repeat(1100000);
    var s = new Socket(url, { transports: [transport], maxQueuedBytes: 4 << 20 });
    s.onopen = function () { s.send("before"); };
    s.onmessage = function (e) {
      out.events.push("message " + e.data.length);
      if (e.data === "before") { s.send(big); s.send("after"); }
    };
    s.onreconnecting = function (e) { out.events.push("reconnecting " + e.code); };
    s.onclose = function (e) {
      out.events.push("close " + e.code);
      out.reason = e.reason;
      var unsent = s.takeUnsent();
      out.unsent = unsent.map(function (m) { return m === big ? "big" : m; });
      s.free();
      resolve(out);
    };
  });
}
// Held sends (a burst in one task, what a message listener sends, a send just before close)
// arrive whole and in order: 20 messages sent in one task, then one sent back for each echo
// from its listener; on a broadcast service, two sends and a close in one task, heard by
// another socket.
export function js_batched_sends(Socket, echo, broadcast, tag) {
  return new Promise(function (resolve) {
    var out = { order: [], heard: [] };
    var pending = 2;
    function done() { if (--pending === 0) resolve(out); }
    var s = new Socket(echo, { transports: "websocket" });
    s.onopen = function () { for (var i = 0; i < 20; i++) s.send("t" + i); };
    s.onmessage = function (e) {
      out.order.push(e.data);
      if (e.data[0] === "t") s.send("r" + e.data.slice(1));
      if (out.order.length === 40) { s.close(); done(); }
    };
    var listener = new Socket(broadcast, { transports: "websocket" });
    listener.onmessage = function (e) {
      if (e.data.indexOf(tag) !== 0) return;
      out.heard.push(e.data);
      if (out.heard.length === 2) { listener.close(); done(); }
    };
    listener.onopen = function () {
      var a = new Socket(broadcast, { transports: "websocket" });
      a.onopen = function () {
        a.send(tag + "-1");
        a.send(tag + "-2");
        a.close();
      };
    };
  });
}
// secureOnly through JavaScript: the kind each construction throws ("no error" when it opens).
export function js_secure_only(Socket, url) {
  var out = {};
  out.strict = kind_of(function () { new Socket(url, { secureOnly: true }); });
  out.loopback = kind_of(function () { new Socket(url, { secureOnly: { allowLoopback: true } }).free(); });
  out.off = kind_of(function () { new Socket(url, { secureOnly: false }).free(); });
  return out;
}

// How a socket forced onto jsonp-polling ends (the page's JSONP origins decide whether it may).
export function js_close_of(Socket, url, transports) {
  return new Promise(function (resolve) {
    var s = new Socket(url, { transports: transports });
    s.onopen = function () { s.close(); };
    s.onclose = function (e) { resolve(e.code + " " + e.reason); };
  });
}
"##)]
extern "C" {
    fn tracker() -> JsValue;
    fn refuse_xhr() -> JsValue;
    fn hide_event_source() -> JsValue;
    fn install_xdr() -> JsValue;
    #[wasm_bindgen(catch)]
    async fn js_surface(sock: JsValue) -> Result<JsValue, JsValue>;
    fn js_invalid(class: &JsValue, url: &str) -> JsValue;
    #[wasm_bindgen(catch)]
    async fn js_record(sock: JsValue) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(catch)]
    async fn js_gc_survival(class: &JsValue, url: &str) -> Result<JsValue, JsValue>;
    fn js_queue_bounds(class: &JsValue, url: &str) -> JsValue;
    async fn js_too_big(class: &JsValue, url: &str, transport: &str) -> JsValue;
    fn js_secure_only(class: &JsValue, url: &str) -> JsValue;
    async fn js_batched_sends(class: &JsValue, echo: &str, broadcast: &str, tag: &str) -> JsValue;
    async fn js_close_of(class: &JsValue, url: &str, transports: JsValue) -> JsValue;
}

/// Bound on every wait: a case that would hang fails instead.
const WAIT_MS: u32 = 10_000;

async fn within<F: Future>(what: &str, fut: F) -> F::Output {
    futures_util::pin_mut!(fut);
    match select(fut, TimeoutFuture::new(WAIT_MS)).await {
        Either::Left((out, _)) => out,
        Either::Right(_) => panic!("timed out waiting for {what}"),
    }
}

fn field(value: &JsValue, key: &str) -> JsValue {
    Reflect::get(value, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

fn call(obj: &JsValue, method: &str) -> JsValue {
    let f: js_sys::Function = field(obj, method).into();
    f.call0(obj).unwrap()
}

fn call1(obj: &JsValue, method: &str, arg: &JsValue) -> JsValue {
    let f: js_sys::Function = field(obj, method).into();
    f.call1(obj, arg).unwrap()
}

fn node(path: &str) -> String {
    format!("{}{path}", common::SOCKJS_NODE)
}

fn ours(path: &str) -> String {
    common::url(path)
}

fn kind(name: &str) -> TransportKind {
    TransportKind::from_name(name).unwrap()
}

/// Forced to one transport, no reconnection, a generous attempt timeout (a loaded CI machine
/// must not turn a slow first script load into "All transports failed").
fn forced(name: &str) -> SocketOptions {
    SocketOptions::new()
        .transports(&[kind(name)])
        .reconnect(None)
        .timeout(5_000)
}

fn describe(event: &SocketEvent) -> String {
    format!("{event:?}")
}

/// Waits for the session to open; returns the transports announced on the way. Errors are
/// informational; a close fails the test.
async fn opened(socket: &mut Socket) -> Vec<TransportKind> {
    let mut announced = Vec::new();
    let mut errors = Vec::new();
    within("open", async {
        loop {
            match socket.next().await {
                Some(SocketEvent::TransportChanged(k)) => announced.push(k),
                Some(SocketEvent::Open) => return,
                Some(SocketEvent::Heartbeat) => {}
                Some(SocketEvent::Error(e)) => errors.push(e.to_string()),
                other => panic!("expected open, got {other:?} after errors {errors:?}"),
            }
        }
    })
    .await;
    announced
}

/// The next `n` messages (heartbeats skipped); any other event fails the test.
async fn messages(socket: &mut Socket, n: usize) -> Vec<String> {
    let mut got = Vec::with_capacity(n);
    within("messages", async {
        while got.len() < n {
            match socket.next().await {
                Some(SocketEvent::Message(m)) => got.push(m),
                Some(SocketEvent::Heartbeat) => {}
                other => panic!(
                    "after {} messages: {:?}",
                    got.len(),
                    other.as_ref().map(describe)
                ),
            }
        }
    })
    .await;
    got
}

/// The close event (messages and heartbeats before it are skipped).
async fn closed(socket: &mut Socket) -> (u16, String, bool) {
    within("close", async {
        loop {
            match socket.next().await {
                Some(SocketEvent::Close {
                    code,
                    reason,
                    was_clean,
                }) => return (code, reason, was_clean),
                Some(SocketEvent::Message(_) | SocketEvent::Heartbeat | SocketEvent::Error(_)) => {}
                other => panic!("expected close, got {other:?}"),
            }
        }
    })
    .await
}

/// 64 KiB of mixed one- to four-byte characters.
fn big(i: usize) -> String {
    let mut s = format!("{i} big ");
    let unit = "ab\"\\ é€😀\u{2028}%0A";
    while s.len() + unit.len() <= 65_536 {
        s.push_str(unit);
    }
    s
}

/// 100 messages: every awkward character class, three of them 64 KiB.
fn payloads() -> Vec<String> {
    (0..100)
        .map(|i| match i % 10 {
            _ if i == 17 || i == 47 || i == 77 => big(i),
            0 => format!("{i} plain"),
            1 => format!("{i} line\u{2028}sep\u{2029}para"),
            2 => format!("{i} emoji 😀 clef 𝄞 han 漢"),
            3 => format!("{i} \"quotes\" 'single' \\backslash\\ \\\""),
            4 => format!("{i} percent % %25 %0A %0D %00 100%"),
            5 => format!("{i} ctrl \n \r \t \u{0} \u{1f} \u{7f}"),
            6 => format!("{i} json [\"a\"] {{}} \u{fffd} \u{feff} </script>"),
            7 => format!("{i} combining e\u{301} \u{fb01} \u{212b}"),
            8 => String::new(),
            _ => format!("{i} {}", "x".repeat(i * 10)),
        })
        .collect()
}

/// The full check of one transport against one server: open, 100 echoes in order, user close,
/// send after close, then a server close.
async fn transport_round(base: fn(&str) -> String, name: &str) {
    let mut socket = Socket::connect(&base("/sockjs/echo"), forced(name)).unwrap();
    assert_eq!(socket.ready_state(), ReadyState::Connecting);
    assert_eq!(socket.transport(), None);
    let announced = opened(&mut socket).await;
    assert_eq!(announced, vec![kind(name)]);
    assert_eq!(socket.ready_state(), ReadyState::Open);
    assert_eq!(socket.transport(), Some(kind(name)));

    let sent = payloads();
    for m in &sent {
        socket.send(m).unwrap();
    }
    let got = messages(&mut socket, sent.len()).await;
    for (i, (g, s)) in got.iter().zip(&sent).enumerate() {
        assert!(
            g == s,
            "{name}: message {i} differs (len {} vs {})",
            g.len(),
            s.len()
        );
    }

    socket.close(3001, "bye ✓").unwrap();
    assert_eq!(socket.ready_state(), ReadyState::Closing);
    assert_eq!(closed(&mut socket).await, (3001, "bye ✓".to_owned(), true));
    assert_eq!(socket.ready_state(), ReadyState::Closed);
    assert!(socket.next().await.is_none(), "the stream ends after close");
    let err = socket.send("too late").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Invalid);
    drop(socket);

    let mut socket = Socket::connect(&base("/sockjs/close"), forced(name)).unwrap();
    assert_eq!(opened(&mut socket).await, vec![kind(name)]);
    assert_eq!(
        closed(&mut socket).await,
        (3000, "Go away!".to_owned(), true)
    );
    assert_eq!(socket.ready_state(), ReadyState::Closed);
}

macro_rules! transport_tests {
    ($($test:ident: $base:ident, $name:literal;)*) => {$(
        #[wasm_bindgen_test]
        async fn $test() {
            transport_round($base, $name).await;
        }
    )*};
}

transport_tests! {
    ours_websocket: ours, "websocket";
    ours_xhr_streaming: ours, "xhr-streaming";
    ours_xdr_streaming: ours, "xdr-streaming";
    ours_eventsource: ours, "eventsource";
    ours_xhr_polling: ours, "xhr-polling";
    ours_xdr_polling: ours, "xdr-polling";
    ours_jsonp_polling: ours, "jsonp-polling";
    node_websocket: node, "websocket";
    node_xhr_streaming: node, "xhr-streaming";
    node_xdr_streaming: node, "xdr-streaming";
    node_eventsource: node, "eventsource";
    node_xhr_polling: node, "xhr-polling";
    node_xdr_polling: node, "xdr-polling";
    node_jsonp_polling: node, "jsonp-polling";
}

/// Opens `path` with `options`, checks the transport chosen, echoes one message, closes.
async fn picks(url: &str, options: SocketOptions, expected: &str) {
    let mut socket = Socket::connect(url, options).unwrap();
    let announced = opened(&mut socket).await;
    assert_eq!(announced.last(), Some(&kind(expected)), "{url}");
    socket.send("ping ✓").unwrap();
    assert_eq!(messages(&mut socket, 1).await, vec!["ping ✓".to_owned()]);
    socket.close(1000, "").unwrap();
    assert_eq!(
        closed(&mut socket).await,
        (1000, "Normal closure".to_owned(), true)
    );
}

/// Heartbeat silence (shortened to 300 ms, the servers beat every 25 s) loses the session; the
/// socket reconnects after the backoff delay, delivers what was sent meanwhile, and gives up
/// after `max_attempts` failed cycles in a row. Drives the driver's timer end to end.
#[wasm_bindgen_test]
async fn silence_reconnects_with_backoff_then_gives_up() {
    for name in ["websocket", "xhr-streaming", "jsonp-polling"] {
        let reconnect = Reconnect {
            backoff: Backoff::constant(50),
            max_attempts: Some(2),
        };
        let options = forced(name)
            .heartbeat_timeout(300)
            .reconnect(Some(reconnect));
        let mut socket = Socket::connect(&ours("/sockjs/echo"), options).unwrap();
        opened(&mut socket).await;
        let mut log = Vec::new();
        let mut sent = false;
        within("reconnections", async {
            loop {
                match socket.next().await {
                    Some(SocketEvent::Reconnecting {
                        code,
                        reason,
                        delay_ms,
                        attempt,
                    }) => {
                        log.push(format!("reconnecting {code} {reason} {delay_ms} {attempt}"));
                        if !sent {
                            // Queued while no session is open, delivered by the next one.
                            socket.send("sent while reconnecting").unwrap();
                            sent = true;
                        }
                    }
                    Some(SocketEvent::Open) => log.push("open".to_owned()),
                    Some(SocketEvent::Message(m)) => log.push(m),
                    Some(SocketEvent::Close {
                        code,
                        reason,
                        was_clean,
                    }) => {
                        log.push(format!("close {code} {reason} {was_clean}"));
                        break;
                    }
                    Some(SocketEvent::TransportChanged(k)) => log.push(k.name().to_owned()),
                    Some(SocketEvent::Heartbeat) => {}
                    other => panic!("{log:?} then {other:?}"),
                }
            }
        })
        .await;
        assert_eq!(
            log,
            vec![
                "reconnecting 2000 All transports failed 50 1",
                "open",
                "sent while reconnecting",
                "reconnecting 2000 All transports failed 50 2",
                "open",
                "close 2000 All transports failed false",
            ],
            "{name}"
        );
        assert_eq!(socket.ready_state(), ReadyState::Closed);
    }
}

#[wasm_bindgen_test]
async fn auto_mode_picks_websocket() {
    for base in [ours as fn(&str) -> String, node] {
        picks(&base("/sockjs/echo"), SocketOptions::new(), "websocket").await;
    }
}

#[wasm_bindgen_test]
async fn disabled_websocket_falls_to_the_next_transport() {
    for base in [ours as fn(&str) -> String, node] {
        let url = base("/sockjs/disabled_websocket_echo");
        picks(&url, SocketOptions::new(), "xhr-streaming").await;
        // Forced onto WebSocket alone, nothing is left.
        let mut socket = Socket::connect(&url, forced("websocket")).unwrap();
        let (code, reason, clean) = closed(&mut socket).await;
        assert_eq!(
            (code, reason.as_str(), clean),
            (2000, "All transports failed", false)
        );
    }
}

#[wasm_bindgen_test]
async fn cookie_needed_rules_out_xdr_transports() {
    for base in [ours as fn(&str) -> String, node] {
        let url = base("/sockjs/cookie_needed_echo");
        let options = SocketOptions::new()
            .transports(&[
                kind("xdr-streaming"),
                kind("xdr-polling"),
                kind("xhr-polling"),
            ])
            .timeout(5_000);
        picks(&url, options, "xhr-polling").await;
    }
}

#[wasm_bindgen_test]
async fn whitelist_order_is_followed() {
    let options = SocketOptions::new()
        .transports(&[kind("jsonp-polling"), kind("websocket")])
        .timeout(5_000);
    picks(&ours("/sockjs/echo"), options, "jsonp-polling").await;
}

#[wasm_bindgen_test]
async fn without_event_source_the_ladder_skips_it() {
    let shim = hide_event_source();
    let options = SocketOptions::new()
        .transports(&[kind("eventsource"), kind("xhr-polling")])
        .timeout(5_000);
    let result = try_echo(&ours("/sockjs/echo"), options).await;
    call(&shim, "restore");
    assert_eq!(result.unwrap().0, vec!["xhr-polling"]);
}

// Page shims (`refuse_xhr`, `hide_event_source`, `install_xdr`) must be undone before anything
// can panic: a panic in wasm does not unwind, so no destructor would restore them and every
// later test would run on a broken page. Shim tests therefore gather results with the
// non-panicking helpers below, restore, then assert.

/// `fut` bounded by the usual wait, as a `Result`.
async fn bounded<T>(fut: impl Future<Output = Result<T, String>>) -> Result<T, String> {
    futures_util::pin_mut!(fut);
    match select(fut, TimeoutFuture::new(WAIT_MS)).await {
        Either::Left((out, _)) => out,
        Either::Right(_) => Err("timed out".to_owned()),
    }
}

/// Events up to the open one, as text.
async fn try_open(socket: &mut Socket) -> Result<Vec<String>, String> {
    let mut events = Vec::new();
    loop {
        match socket.next().await {
            Some(SocketEvent::Open) => return Ok(events),
            Some(SocketEvent::Error(e)) => events.push(format!("error {}", e.kind())),
            Some(SocketEvent::TransportChanged(k)) => events.push(k.name().to_owned()),
            other => return Err(format!("{events:?} then {other:?}")),
        }
    }
}

/// The next message.
async fn try_message(socket: &mut Socket) -> Result<String, String> {
    loop {
        match socket.next().await {
            Some(SocketEvent::Message(m)) => return Ok(m),
            Some(SocketEvent::Heartbeat) => {}
            other => return Err(format!("{other:?}")),
        }
    }
}

/// Connects, waits for open, echoes one message: the events up to open and the echo.
async fn try_echo(url: &str, options: SocketOptions) -> Result<(Vec<String>, String), String> {
    let mut socket = Socket::connect(url, options).map_err(|e| e.to_string())?;
    bounded(async {
        let events = try_open(&mut socket).await?;
        socket.send("shimmed ✓").map_err(|e| e.to_string())?;
        Ok((events, try_message(&mut socket).await?))
    })
    .await
}

#[wasm_bindgen_test]
async fn without_cors_it_ends_on_jsonp_polling_or_websocket() {
    // WebSocket refused by the server: jsonp-polling, with sends over no-CORS fetch.
    let shim = refuse_xhr();
    let url = ours("/sockjs/disabled_websocket_echo");
    let jsonp = try_echo(&url, SocketOptions::new().reconnect(None)).await;
    let sent_by_xhr = strings(&shim, "sent");
    call(&shim, "restore");
    let shim = refuse_xhr();
    // Where the server takes WebSockets, that wins.
    let websocket = try_echo(&node("/sockjs/echo"), SocketOptions::new()).await;
    call(&shim, "restore");

    let (events, echo) = jsonp.unwrap();
    assert_eq!(events, vec!["error network", "jsonp-polling"]);
    assert_eq!(echo, "shimmed ✓");
    assert_eq!(
        sent_by_xhr.len(),
        1,
        "only /info tried XHR: {sent_by_xhr:?}"
    );
    assert!(sent_by_xhr[0].ends_with("/info"));
    let (events, echo) = websocket.unwrap();
    assert_eq!(events, vec!["error network", "websocket"]);
    assert_eq!(echo, "shimmed ✓");
}

#[wasm_bindgen_test]
async fn a_page_xdomain_request_carries_xdr_polling() {
    let shim = install_xdr();
    let result = try_echo(&ours("/sockjs/echo"), forced("xdr-polling")).await;
    let created = field(&shim, "created").as_f64().unwrap_or(0.0);
    call(&shim, "restore");
    let (events, echo) = result.unwrap();
    assert_eq!(events, vec!["xdr-polling"]);
    assert_eq!(echo, "shimmed ✓");
    // At least: the opening poll, the send, the poll that brought the echo.
    assert!(
        created >= 3.0,
        "the page's XDomainRequest was used ({created})"
    );
}

#[wasm_bindgen_test]
async fn server_and_session_id_overrides_appear_in_urls() {
    let t = tracker();
    let before = field(&call(&t, "snapshot"), "xhrs").as_f64().unwrap() as u32;
    // Unique per run: the server keeps a session for its grace period, and both browsers
    // run this test against the same server.
    let id = common::unique_key("fixed-id_");
    let options = forced("xhr-polling").server_id("077").session_id(&id);
    let mut socket = Socket::connect(&ours("/sockjs/echo"), options).unwrap();
    opened(&mut socket).await;
    let urls = js_sys::Array::from(&field(&t, "xhrUrls"));
    let polled = urls
        .iter()
        .skip(before as usize)
        .filter_map(|u| u.as_string())
        .any(|u| u.contains(&format!("/sockjs/echo/077/{id}/xhr?")));
    assert!(polled, "{urls:?}");
}

#[wasm_bindgen_test]
async fn broadcast_reaches_every_socket() {
    for base in [ours as fn(&str) -> String, node] {
        let url = base("/sockjs/broadcast");
        let mut a = Socket::connect(&url, forced("websocket")).unwrap();
        let mut b = Socket::connect(&url, forced("xhr-streaming")).unwrap();
        opened(&mut a).await;
        opened(&mut b).await;
        let tag = common::unique_key("hello");
        a.send(&tag).unwrap();
        // Other tests' sockets may broadcast too: look for ours.
        for s in [&mut a, &mut b] {
            within("broadcast", async {
                loop {
                    if let Some(SocketEvent::Message(m)) = s.next().await {
                        if m == tag {
                            break;
                        }
                    }
                }
            })
            .await;
        }
    }
}

#[wasm_bindgen_test]
async fn amplify_sends_128k_in_one_message() {
    for name in ["xhr-streaming", "eventsource", "jsonp-polling"] {
        let mut socket = Socket::connect(&node("/sockjs/amplify"), forced(name)).unwrap();
        opened(&mut socket).await;
        socket.send("17").unwrap();
        let got = messages(&mut socket, 1).await;
        assert_eq!(got[0].len(), 1 << 17, "{name}");
        assert!(got[0].bytes().all(|b| b == b'x'));
    }
}

#[wasm_bindgen_test]
fn invalid_urls_and_options_are_rejected() {
    let url = ours("/sockjs/echo");
    let bad = [
        Socket::connect("", SocketOptions::new()),
        Socket::connect("   ", SocketOptions::new()),
        Socket::connect("ftp://127.0.0.1/sockjs", SocketOptions::new()),
        Socket::connect("http://", SocketOptions::new()),
        Socket::connect(&format!("{url}#x"), SocketOptions::new()),
        Socket::connect(&url, SocketOptions::new().server_id("")),
        Socket::connect(&url, SocketOptions::new().server_id("1.2")),
        Socket::connect(&url, SocketOptions::new().session_id("a/b")),
        Socket::connect(&url, SocketOptions::new().session_id(&"s".repeat(65))),
        Socket::connect(&url, SocketOptions::new().max_queued(0, 10)),
        Socket::connect(&url, SocketOptions::new().max_queued(10, 0)),
    ];
    for (i, result) in bad.into_iter().enumerate() {
        let err = result
            .err()
            .unwrap_or_else(|| panic!("case {i} was accepted"));
        assert_eq!(err.kind(), ErrorKind::Invalid, "case {i}: {err}");
    }
    // A relative URL resolves against the page.
    let socket = Socket::connect("/sockjs/echo/", SocketOptions::new()).unwrap();
    let page = web_sys::window().unwrap().location().origin().unwrap();
    assert_eq!(socket.url(), format!("{page}/sockjs/echo"));
}

#[wasm_bindgen_test]
async fn invalid_close_codes_change_nothing() {
    let mut socket = Socket::connect(&ours("/sockjs/echo"), forced("websocket")).unwrap();
    opened(&mut socket).await;
    for code in [0, 999, 1001, 1006, 2000, 2999, 5000, 65535] {
        let err = socket.close(code, "").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Invalid, "{code}");
    }
    let err = socket.close(3000, &"é".repeat(62)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Invalid);
    assert_eq!(socket.ready_state(), ReadyState::Open);
    socket.send("still open").unwrap();
    assert_eq!(
        messages(&mut socket, 1).await,
        vec!["still open".to_owned()]
    );
    socket.close(4999, &"r".repeat(123)).unwrap();
    assert_eq!(closed(&mut socket).await.0, 4999);
}

#[wasm_bindgen_test]
async fn a_full_queue_refuses_instead_of_dropping() {
    let options = forced("xhr-polling").max_queued(3, 1 << 20);
    let mut socket = Socket::connect(&ours("/sockjs/echo"), options).unwrap();
    for m in ["1", "2", "3"] {
        socket.send(m).unwrap();
    }
    let err = socket.send("4").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Invalid);
    assert_eq!(socket.buffered_amount(), 3);
    opened(&mut socket).await;
    assert_eq!(messages(&mut socket, 3).await, vec!["1", "2", "3"]);
    // Delivered: room again.
    within("queue drains", async {
        while socket.buffered_amount() > 0 {
            TimeoutFuture::new(20).await;
        }
    })
    .await;
    socket.send("4").unwrap();
    assert_eq!(messages(&mut socket, 1).await, vec!["4"]);
}

#[wasm_bindgen_test]
async fn unreachable_server_closes_with_an_error_code() {
    // Nothing listens on port 9 (discard): /info fails with a network error, then the
    // transports that need no CORS fail too.
    let mut socket = Socket::connect(
        "http://127.0.0.1:9/sockjs",
        SocketOptions::new().timeout(2_000),
    )
    .unwrap();
    match within("error", socket.next()).await {
        Some(SocketEvent::Error(e)) => assert_eq!(e.kind(), ErrorKind::Network),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        closed(&mut socket).await,
        (2000, "All transports failed".to_owned(), false)
    );
    assert_eq!(socket.ready_state(), ReadyState::Closed);
    // A wrong path: the 404 carries no CORS headers, so it looks like a network error too.
    let mut socket = Socket::connect(&ours("/sockjs/nowhere"), SocketOptions::new()).unwrap();
    assert_eq!(
        closed(&mut socket).await,
        (2000, "All transports failed".to_owned(), false)
    );
}

/// Opens `name`, echoes one message, drops the socket and checks that every browser object it
/// used is released and that no request follows.
async fn drop_releases(name: &str) {
    let t = tracker();
    let before = call(&t, "snapshot");
    let mut socket = Socket::connect(&ours("/sockjs/echo"), forced(name)).unwrap();
    opened(&mut socket).await;
    socket.send("before drop").unwrap();
    assert_eq!(messages(&mut socket, 1).await, vec!["before drop"]);
    socket.send("in flight at drop").unwrap();
    drop(socket);
    // Aborted tasks are dropped on their next tick.
    TimeoutFuture::new(50).await;
    let alive = call1(&t, "alive", &before);
    assert_eq!(js_sys::Array::from(&alive).length(), 0, "{name}: {alive:?}");
    let after_drop = js_sys::JSON::stringify(&call(&t, "snapshot")).unwrap();
    TimeoutFuture::new(1_000).await;
    let later = js_sys::JSON::stringify(&call(&t, "snapshot")).unwrap();
    assert_eq!(after_drop, later, "{name}: requests after the drop");
}

#[wasm_bindgen_test]
async fn drop_releases_everything_on_every_transport() {
    for name in [
        "websocket",
        "xhr-streaming",
        "xdr-streaming",
        "eventsource",
        "xhr-polling",
        "xdr-polling",
        "jsonp-polling",
    ] {
        drop_releases(name).await;
    }
}

/// The server's view of a drop: the aborted receiving request interrupts the session, so a
/// second client on the same session id is told `1002 "Connection interrupted"` (a receiving
/// request left running would give `2010 "Another connection still open"` instead). Against
/// cometkit-server only: sockjs-node keeps an interrupted session until its disconnect delay.
/// Plain SockJS (`resume(false)`): a resumable session outlives a cut receiving request.
#[wasm_bindgen_test]
async fn the_server_sees_the_receiving_request_end_on_drop() {
    for name in [
        "xhr-streaming",
        "eventsource",
        "xhr-polling",
        "jsonp-polling",
    ] {
        let session = common::unique_key("drop").replace('.', "-");
        let options = || {
            forced(name)
                .server_id("900")
                .session_id(&session)
                .resume(false)
        };
        let mut first = Socket::connect(&ours("/sockjs/echo"), options()).unwrap();
        opened(&mut first).await;
        // Let the receiving request that follows the `o` frame reach the server (a poll
        // aborted before it arrives leaves the session waiting for a receiver instead).
        TimeoutFuture::new(150).await;
        drop(first);
        TimeoutFuture::new(200).await;
        let mut second = Socket::connect(&ours("/sockjs/echo"), options()).unwrap();
        let (code, reason, _) = closed(&mut second).await;
        assert_eq!(
            (code, reason.as_str()),
            (1002, "Connection interrupted"),
            "{name}"
        );
    }
}

#[wasm_bindgen_test]
async fn drop_while_connecting_releases_everything() {
    let t = tracker();
    let before = call(&t, "snapshot");
    for name in ["websocket", "jsonp-polling", "eventsource"] {
        let socket = Socket::connect(&ours("/sockjs/echo"), forced(name)).unwrap();
        // Let /info answer and the transport start.
        TimeoutFuture::new(30).await;
        drop(socket);
    }
    TimeoutFuture::new(50).await;
    let alive = call1(&t, "alive", &before);
    assert_eq!(js_sys::Array::from(&alive).length(), 0, "{alive:?}");
}

fn js_options(entries: &[(&str, JsValue)]) -> JsValue {
    let o = Object::new();
    for (k, v) in entries {
        Reflect::set(&o, &JsValue::from_str(k), v).unwrap();
    }
    o.into()
}

fn text(value: &JsValue, key: &str) -> String {
    field(value, key)
        .as_string()
        .unwrap_or_else(|| panic!("{key} is not a string: {value:?}"))
}

fn num(value: &JsValue, key: &str) -> f64 {
    field(value, key)
        .as_f64()
        .unwrap_or_else(|| panic!("{key} is not a number: {value:?}"))
}

fn flag(value: &JsValue, key: &str) -> bool {
    field(value, key)
        .as_bool()
        .unwrap_or_else(|| panic!("{key} is not a boolean: {value:?}"))
}

fn strings(value: &JsValue, key: &str) -> Vec<String> {
    js_sys::Array::from(&field(value, key))
        .iter()
        .map(|v| v.as_string().unwrap_or_else(|| format!("{v:?}")))
        .collect()
}

fn numbers(value: &JsValue, key: &str) -> Vec<f64> {
    js_sys::Array::from(&field(value, key))
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect()
}

async fn js_surface_on(base: fn(&str) -> String, transport: &str) {
    let url = base("/sockjs/echo");
    let transports = js_sys::Array::of1(&JsValue::from_str(transport));
    let options = js_options(&[
        ("transports", transports.into()),
        ("reconnect", JsValue::FALSE),
        ("timeout", JsValue::from(5_000)),
    ]);
    let sock = common::new_js_socket(JsValue::from_str(&url), options).unwrap();
    let out = js_surface(sock).await.unwrap();
    assert_eq!(numbers(&out, "statics"), vec![0.0, 1.0, 2.0, 3.0]);
    assert_eq!(numbers(&out, "instanceConsts"), vec![0.0, 1.0, 2.0, 3.0]);
    assert_eq!(num(&out, "initialState"), 0.0);
    assert!(field(&out, "initialTransport").is_null());
    assert_eq!(text(&out, "url"), url);
    assert!(field(&out, "onopenDefault").is_null());
    assert!(flag(&out, "handlerRoundTrips"));
    assert_eq!(text(&out, "sendNumber"), "invalid");
    assert_eq!(strings(&out, "order"), vec!["transport", "open", "message"]);
    assert!(flag(&out, "transportEventIsEvent"));
    assert_eq!(text(&out, "transportName"), transport);
    assert_eq!(num(&out, "openState"), 1.0);
    assert_eq!(text(&out, "openTransport"), transport);
    assert_eq!(
        strings(&out, "handled"),
        vec![
            format!("ontransport:{transport}"),
            "onopen:true:1".to_owned()
        ]
    );
    assert!(flag(&out, "messageIsMessageEvent"));
    assert_eq!(text(&out, "messageData"), "early \u{2028} 😀");
    let origin = web_sys::Url::new(&url).unwrap().origin();
    assert_eq!(text(&out, "messageOrigin"), origin);
    assert!(flag(&out, "sameEventForListenerAndHandler"));
    for key in [
        "close999",
        "close1001",
        "close2000",
        "close5000",
        "close70000",
        "closeFraction",
        "closeLongReason",
        "closeReasonNotString",
    ] {
        assert_eq!(text(&out, key), "invalid", "{key}");
    }
    assert_eq!(num(&out, "stateAfterBadCloses"), 1.0);
    assert!(field(&out, "handlerCleared").is_null());
    assert_eq!(num(&out, "closingState"), 2.0);
    assert!(flag(&out, "closeIsCloseEvent"));
    assert!(flag(&out, "closeSameForBoth"));
    assert_eq!(num(&out, "closeCode"), 3001.0);
    assert_eq!(text(&out, "closeReason"), "js bye ✓");
    assert!(flag(&out, "closeWasClean"));
    assert_eq!(num(&out, "closedState"), 3.0);
    assert!(field(&out, "closedTransport").is_null());
    assert_eq!(text(&out, "sendAfterClose"), "invalid");
    assert_eq!(text(&out, "closeAgain"), "no error");
    assert_eq!(
        strings(&out, "listenerTypes"),
        vec!["transport", "open", "message", "close"]
    );
}

#[wasm_bindgen_test]
async fn js_socket_surface_over_websocket() {
    js_surface_on(ours, "websocket").await;
}

#[wasm_bindgen_test]
async fn js_socket_surface_over_jsonp_polling_against_sockjs_node() {
    js_surface_on(node, "jsonp-polling").await;
}

/// The `reconnecting` and `error` events and the `heartbeatTimeout` and `reconnect` options,
/// through JavaScript.
#[wasm_bindgen_test]
async fn js_reconnecting_and_error_events() {
    let reconnect = js_options(&[
        ("minDelay", JsValue::from(40)),
        ("maxDelay", JsValue::from(40)),
        ("jitter", JsValue::from(0)),
        ("maxAttempts", JsValue::from(1)),
    ]);
    let options = js_options(&[
        ("transports", JsValue::from_str("websocket")),
        ("heartbeatTimeout", JsValue::from(300)),
        ("reconnect", reconnect),
    ]);
    let sock = common::new_js_socket(JsValue::from_str(&ours("/sockjs/echo")), options).unwrap();
    let seen = js_record(sock).await.unwrap();
    let seen: Vec<String> = js_sys::Array::from(&seen)
        .iter()
        .map(|v| v.as_string().unwrap())
        .collect();
    assert_eq!(
        seen,
        vec![
            "transport state=1 websocket",
            "open state=1",
            "reconnecting state=0 2000,All transports failed,40,1",
            "open state=1",
            "close state=3 2000,All transports failed,false",
        ]
    );

    // Nothing listens on port 9: /info fails (network), then websocket and jsonp-polling.
    let options = js_options(&[("infoTimeout", JsValue::from(5_000))]);
    let sock =
        common::new_js_socket(JsValue::from_str("http://127.0.0.1:9/sockjs"), options).unwrap();
    let seen = js_record(sock).await.unwrap();
    let seen: Vec<String> = js_sys::Array::from(&seen)
        .iter()
        .map(|v| v.as_string().unwrap())
        .collect();
    assert_eq!(
        seen,
        vec![
            "error state=0 network true",
            "close state=3 2000,All transports failed,false",
        ]
    );
}

#[wasm_bindgen_test]
async fn js_invalid_inputs_throw_kind_invalid() {
    // The class object, reached from an instance.
    let sock: JsValue =
        common::new_js_socket(JsValue::from_str(&ours("/sockjs/echo")), JsValue::UNDEFINED)
            .unwrap();
    let class = field(&sock, "constructor");
    call(&sock, "free");
    let out = js_invalid(&class, &ours("/sockjs/echo"));
    let keys = js_sys::Object::keys(out.unchecked_ref::<Object>());
    assert_eq!(keys.length(), 19);
    for key in keys.iter() {
        let key = key.as_string().unwrap();
        assert_eq!(text(&out, &key), "invalid", "{key}");
    }
}

#[wasm_bindgen_test]
async fn js_free_releases_everything_and_stops_events() {
    let t = tracker();
    let before = call(&t, "snapshot");
    let options = js_options(&[(
        "transports",
        js_sys::Array::of1(&JsValue::from_str("xhr-streaming")).into(),
    )]);
    let sock: JsValue =
        common::new_js_socket(JsValue::from_str(&ours("/sockjs/echo")), options).unwrap();
    let seen = js_sys::Array::new();
    let record = Closure::<dyn FnMut(web_sys::Event)>::new({
        let seen = seen.clone();
        move |e: web_sys::Event| {
            seen.push(&JsValue::from_str(&e.type_()));
        }
    });
    for t in ["open", "message", "close"] {
        let add = js_sys::Function::from(field(&sock, "addEventListener"));
        add.call2(&sock, &JsValue::from_str(t), record.as_ref())
            .unwrap();
    }
    within("open", async {
        while seen.length() == 0 {
            TimeoutFuture::new(20).await;
        }
    })
    .await;
    call1(&sock, "send", &JsValue::from_str("never echoed"));
    call(&sock, "free");
    TimeoutFuture::new(300).await;
    let alive = call1(&t, "alive", &before);
    assert_eq!(js_sys::Array::from(&alive).length(), 0, "{alive:?}");
    let types: Vec<String> = seen.iter().map(|v| v.as_string().unwrap()).collect();
    assert_eq!(types, vec!["open"], "no events after free()");
}

fn socket_class() -> JsValue {
    cometkit::js::install();
    cometkit::js::socket::class().into()
}

#[wasm_bindgen_test]
async fn js_socket_referenced_only_by_its_listeners_stays_alive_and_is_its_events_target() {
    let out = js_gc_survival(&socket_class(), &ours("/sockjs/echo"))
        .await
        .unwrap();
    let flag = |k: &str| field(&out, k).as_bool().unwrap_or(false);
    assert!(
        flag("targetIsSocket"),
        "event.target is the Socket: {out:?}"
    );
    assert!(
        flag("aliveAfterGc"),
        "an open socket survives garbage collection: {out:?}"
    );
    let got: Vec<String> = js_sys::Array::from(&field(&out, "got"))
        .iter()
        .map(|v| v.as_string().unwrap())
        .collect();
    assert_eq!(got, ["first", "second"]);
    if flag("gc") {
        assert!(
            flag("releasedAfterClose"),
            "a closed socket is collectable: {out:?}"
        );
    } else {
        wasm_bindgen_test::console_log!(
            "this browser exposes no gc(): collection was not forced (Chromium runs it forced)"
        );
    }
}

#[wasm_bindgen_test]
async fn js_held_sends_arrive_whole_and_in_order() {
    let tag = common::unique_key("held");
    let out = within(
        "echoes and broadcasts",
        js_batched_sends(
            &socket_class(),
            &ours("/sockjs/echo"),
            &ours("/sockjs/broadcast"),
            &tag,
        ),
    )
    .await;
    let list = |k: &str| -> Vec<String> {
        js_sys::Array::from(&field(&out, k))
            .iter()
            .map(|v| v.as_string().unwrap())
            .collect()
    };
    let expected: Vec<String> = (0..20)
        .map(|i| format!("t{i}"))
        .chain((0..20).map(|i| format!("r{i}")))
        .collect();
    assert_eq!(list("order"), expected);
    assert_eq!(list("heard"), [format!("{tag}-1"), format!("{tag}-2")]);
}

#[wasm_bindgen_test]
fn js_queue_bounds_oversize_message_and_take_unsent() {
    let out = js_queue_bounds(&socket_class(), &ours("/sockjs/echo"));
    let oversize = text(&out, "oversize");
    assert!(
        oversize.starts_with("invalid: ") && oversize.contains("larger than"),
        "{oversize}"
    );
    assert_eq!(text(&out, "fits"), "no error");
    assert_eq!(text(&out, "second"), "no error");
    let too_many = text(&out, "tooMany");
    assert!(too_many.contains("too many messages"), "{too_many}");
    assert_eq!(field(&out, "buffered").as_f64(), Some(8.0));
    assert_eq!(
        js_sys::Array::from(&field(&out, "unsentWhileOpen")).length(),
        0
    );
    let unsent: Vec<String> = js_sys::Array::from(&field(&out, "unsent"))
        .iter()
        .map(|v| v.as_string().unwrap())
        .collect();
    assert_eq!(unsent, ["abc", "defgh"]);
    assert_eq!(js_sys::Array::from(&field(&out, "unsentAgain")).length(), 0);
    assert!(text(&out, "afterFree").starts_with("invalid: "));
    assert_eq!(field(&out, "stateAfterFree").as_f64(), Some(3.0));
}

#[wasm_bindgen_test]
async fn a_message_the_server_refuses_as_too_large_closes_1009_and_comes_back_unsent() {
    for transport in ["xhr-polling", "xhr-streaming"] {
        let out = within(
            "close",
            js_too_big(&socket_class(), &ours("/sockjs/echo"), transport),
        )
        .await;
        let events: Vec<String> = js_sys::Array::from(&field(&out, "events"))
            .iter()
            .map(|v| v.as_string().unwrap_or_default())
            .collect();
        assert_eq!(events, ["message 6", "close 1009"], "{transport}");
        let reason = text(&out, "reason");
        assert!(reason.contains("too big"), "{transport}: {reason}");
        let unsent: Vec<String> = js_sys::Array::from(&field(&out, "unsent"))
            .iter()
            .map(|v| v.as_string().unwrap_or_default())
            .collect();
        assert_eq!(unsent, ["big", "after"], "{transport}");
    }
}

#[wasm_bindgen_test]
async fn secure_only_and_trusted_jsonp_origins_apply_to_the_socket() {
    let class = socket_class();
    let url = ours("/sockjs/echo");
    let out = js_secure_only(&class, &url);
    assert_eq!(
        text(&out, "strict"),
        "invalid",
        "http: refused before anything is sent"
    );
    assert_eq!(text(&out, "loopback"), "no error");
    assert_eq!(text(&out, "off"), "no error");
    let err = Socket::connect(
        &url,
        SocketOptions::new().secure_only(cometkit::security::SecureOnly::Always),
    )
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Invalid);

    let jsonp = js_sys::Array::of1(&JsValue::from_str("jsonp-polling"));
    let t = tracker();
    let before = call(&t, "snapshot");
    // Page-wide JSONP origins that leave the server out: jsonp-polling is never tried.
    let defaults = js_options(&[(
        "jsonpOrigins",
        js_sys::Array::of1(&JsValue::from_str("https://trusted.example")).into(),
    )]);
    cometkit::js::security::set_defaults(defaults).unwrap();
    let refused = within("close", js_close_of(&class, &url, jsonp.clone().into())).await;
    cometkit::js::security::set_defaults(Object::new().into()).unwrap();
    assert_eq!(refused.as_string().unwrap(), "2000 All transports failed");
    let after = call(&t, "snapshot");
    assert_eq!(
        field(&after, "frames"),
        field(&before, "frames"),
        "no JSONP iframe"
    );
    // The server's origin listed: it opens.
    let defaults = js_options(&[(
        "jsonpOrigins",
        js_sys::Array::of1(&JsValue::from_str(common::FIXTURE)).into(),
    )]);
    cometkit::js::security::set_defaults(defaults).unwrap();
    let allowed = within("close", js_close_of(&class, &url, jsonp.into())).await;
    cometkit::js::security::set_defaults(Object::new().into()).unwrap();
    assert_eq!(allowed.as_string().unwrap(), "1000 Normal closure");
}

#[wasm_bindgen_test]
async fn split_halves_send_and_read_concurrently_with_backpressure() {
    use futures_util::SinkExt;
    // A queue of two messages: the Sink has to wait for room 48 times out of 50.
    let options = SocketOptions::new()
        .transports(&[kind("xhr-polling")])
        .max_queued(2, 1 << 20);
    let (mut tx, mut rx) = Socket::connect(&ours("/sockjs/echo"), options)
        .unwrap()
        .split();
    let ui = tx.clone();
    ui.send_now("from a callback").unwrap();
    let reader = async {
        let mut got = Vec::new();
        while got.len() < 51 {
            match rx.next().await {
                Some(SocketEvent::Message(m)) => got.push(m),
                Some(SocketEvent::Close { code, reason, .. }) => {
                    panic!("closed early: {code} {reason}")
                }
                Some(_) => {}
                None => break,
            }
        }
        got
    };
    let writer = async {
        for i in 0..50 {
            tx.send(format!("m{i}")).await.unwrap();
        }
        tx.flush().await.unwrap();
        assert_eq!(tx.buffered_amount(), 0, "flush waits for delivery");
    };
    let (got, ()) = within("51 echoes", futures_util::future::join(reader, writer)).await;
    let mut expected = vec!["from a callback".to_owned()];
    expected.extend((0..50).map(|i| format!("m{i}")));
    assert_eq!(got, expected);
    // Closing through one sender ends the stream; the other sender then refuses.
    SinkExt::close(&mut tx).await.unwrap();
    loop {
        match within("close", rx.next()).await {
            Some(SocketEvent::Close { code, .. }) => {
                assert_eq!(code, 1000);
                break;
            }
            Some(_) => {}
            None => panic!("stream ended without a close event"),
        }
    }
    assert!(within("end", rx.next()).await.is_none());
    assert!(ui.send_now("late").unwrap_err().is_invalid());
    let mut ui = ui;
    assert!(ui.send("late".to_owned()).await.unwrap_err().is_invalid());
}

/// Connect time (`Socket::connect` -> open event) of each transport against both servers, with
/// default timeouts; logged (run with `--nocapture` to see it), never asserted.
#[wasm_bindgen_test]
async fn measure_connect_times() {
    let perf = web_sys::window().unwrap().performance().unwrap();
    for (server, base) in [
        ("cometkit-server", ours as fn(&str) -> String),
        ("sockjs-node", node),
    ] {
        let mut report = format!("connect ms, {server}, median (min-max) of 5:");
        for name in [
            "websocket",
            "xhr-streaming",
            "xdr-streaming",
            "eventsource",
            "xhr-polling",
            "xdr-polling",
            "jsonp-polling",
        ] {
            let mut times = Vec::new();
            for _ in 0..5 {
                let start = perf.now();
                let options = SocketOptions::new().transports(&[kind(name)]);
                let mut socket = Socket::connect(&base("/sockjs/echo"), options).unwrap();
                opened(&mut socket).await;
                times.push(perf.now() - start);
            }
            times.sort_by(f64::total_cmp);
            report.push_str(&format!(
                " {name} {:.1} ({:.1}-{:.1});",
                times[2], times[0], times[4]
            ));
        }
        wasm_bindgen_test::console_log!("{report}");
    }
}
