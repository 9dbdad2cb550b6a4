#![cfg(all(target_arch = "wasm32", feature = "websocket", feature = "js"))]
//! WebSocket against the `/ws/*` fixtures: echo of text and binary, URL mapping and resolution,
//! subprotocols, ready states, close codes both ways, abnormal closure, refused handshakes,
//! input validation, drop, and the JavaScript `openWebSocket` surface.

wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

mod common;

use std::future::Future;

use cometkit::protocol::close::CloseClass;
use cometkit::transport::websocket::{CloseInfo, Message, ReadyState, WebSocket, WsEvent};
use cometkit::ErrorKind;
use futures_util::future::{select, Either};
use gloo_timers::future::TimeoutFuture;
use js_sys::{Array, Object, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::wasm_bindgen_test;

#[wasm_bindgen(inline_js = r#"
export async function fetch_json(url) {
  var r = await fetch(url);
  return r.json();
}
export function page_host() { return location.host; }

function wait_for(cond, what) {
  return new Promise(function (resolve, reject) {
    var tries = 0;
    (function poll() {
      if (cond()) return resolve();
      if (++tries > 200) return reject(new Error("timed out waiting for " + what));
      setTimeout(poll, 25);
    })();
  });
}
function kind_of(f) {
  try { f(); return "no error"; } catch (e) { return e && e.kind ? e.kind : "not a cometkit error: " + e; }
}
function bytes(data) { return Array.from(new Uint8Array(data)); }

// Drives a CometWebSocket only through its JavaScript surface.
export async function js_surface(ws) {
  var out = {};
  var events = [];
  var handled = [];
  function listener(e) { events.push(e); }
  ["open", "message", "error", "close"].forEach(function (t) { ws.addEventListener(t, listener); });
  var handler = function (e) { handled.push(e); };
  ws.onmessage = handler;
  out.handlerRoundTrips = ws.onmessage === handler;
  out.onopenDefault = ws.onopen;
  out.initialState = ws.readyState;
  out.sendBeforeOpen = kind_of(function () { ws.send("too early"); });
  await wait_for(function () { return events.length > 0; }, "open");
  out.firstEvent = events[0].type;
  out.openState = ws.readyState;
  out.protocol = ws.protocol;
  out.url = ws.url;
  out.binaryType = ws.binaryType;
  out.bufferedAmount = ws.bufferedAmount;

  ws.send("h\u00e9llo \u2713");
  ws.send(new Uint8Array([1, 2, 3]));
  ws.send(new Uint8Array([9, 8, 7, 6]).buffer);
  ws.send(new DataView(new Uint8Array([5, 4]).buffer));
  await wait_for(function () { return events.length === 5; }, "4 echoes");
  var msgs = events.slice(1);
  out.allMessageEvents = msgs.every(function (e) { return e instanceof MessageEvent && e.type === "message"; });
  out.text = msgs[0].data;
  out.origin = msgs[0].origin;
  out.binaryAreArrayBuffers = msgs.slice(1).every(function (e) { return e.data instanceof ArrayBuffer; });
  out.binary = msgs.slice(1).map(function (e) { return bytes(e.data); });
  out.handlerSawSameEvents = handled.length === 4 && handled.every(function (e, i) { return e === msgs[i]; });

  out.sendNumber = kind_of(function () { ws.send(42); });
  out.close999 = kind_of(function () { ws.close(999); });
  out.close1001 = kind_of(function () { ws.close(1001); });
  out.close2000 = kind_of(function () { ws.close(2000); });
  out.close5000 = kind_of(function () { ws.close(5000); });
  out.close70000 = kind_of(function () { ws.close(70000); });
  out.closeFraction = kind_of(function () { ws.close(3000.5); });
  out.closeLongReason = kind_of(function () { ws.close(3000, "x".repeat(124)); });
  out.closeReasonNotString = kind_of(function () { ws.close(3000, 5); });
  out.stateAfterBadCloses = ws.readyState;

  // Removing the listener leaves only the handler; clearing the handler leaves nothing.
  ws.removeEventListener("message", listener);
  ws.send("after remove");
  await wait_for(function () { return handled.length === 5; }, "handler after remove");
  out.listenerCountAfterRemove = events.length;
  out.handlerGotAfterRemove = handled[4].data;
  ws.onmessage = null;
  out.handlerCleared = ws.onmessage;

  // Listener objects with handleEvent work, as on any EventTarget.
  var closeEvents = [];
  ws.addEventListener("close", { handleEvent: function (e) { closeEvents.push(e); } });
  ws.onclose = function (e) { closeEvents.push(e); };
  ws.close(3001, "js bye \u2713");
  out.closingState = ws.readyState;
  await wait_for(function () { return closeEvents.length === 2; }, "close");
  var c = closeEvents[0];
  out.closeIsCloseEvent = c instanceof CloseEvent;
  out.closeSameForBoth = closeEvents[1] === c;
  out.closeCode = c.code;
  out.closeReason = c.reason;
  out.closeWasClean = c.wasClean;
  out.closedState = ws.readyState;
  out.sendAfterClose = kind_of(function () { ws.send("too late"); });
  out.closeAgain = kind_of(function () { ws.close(); });
  out.lastListenerEvent = events[events.length - 1].type;
  return out;
}

// A refused handshake: error then close 1006, to listeners and handlers alike.
export async function js_refused(ws) {
  var seen = [];
  ws.onerror = function (e) { seen.push("onerror:" + e.type); };
  ws.onclose = function (e) { seen.push("onclose:" + e.code + ":" + e.wasClean); };
  ws.addEventListener("error", function (e) { seen.push("error:" + (e instanceof Event)); });
  ws.addEventListener("close", function (e) { seen.push("close:" + (e instanceof CloseEvent)); });
  await wait_for(function () { return seen.length === 4; }, "error and close");
  return seen;
}

export async function js_blob(ws) {
  var out = {};
  var got = [];
  ws.onmessage = function (e) { got.push(e.data); };
  await new Promise(function (resolve) { ws.onopen = resolve; });
  out.binaryType = ws.binaryType;
  ws.send(new Uint8Array([7, 7, 7]));
  await wait_for(function () { return got.length === 1; }, "blob echo");
  out.isBlob = got[0] instanceof Blob;
  out.blobSize = got[0].size;
  out.blobBytes = bytes(await got[0].arrayBuffer());
  ws.binaryType = "nonsense";
  out.afterNonsense = ws.binaryType;
  ws.binaryType = "arraybuffer";
  ws.send(new Uint8Array([8]));
  await wait_for(function () { return got.length === 2; }, "arraybuffer echo");
  out.isArrayBuffer = got[1] instanceof ArrayBuffer;
  ws.close();
  return out;
}

// Given the only reference to a fresh CometWebSocket: keeps only its listeners, forces garbage
// collection where the browser allows it (Chromium: --js-flags=--expose-gc), and checks that
// the open socket survives and keeps delivering, then that it is released once closed.
export async function js_gc_survival(ws) {
  var out = { gc: typeof globalThis.gc === "function" };
  var got = [];
  var targets = [];
  async function collect() {
    for (var i = 0; i < 6; i++) {
      if (out.gc) globalThis.gc();
      await new Promise(function (r) { setTimeout(r, 0); });
    }
  }
  var ref = new WeakRef(ws);
  ws.onopen = function (e) { e.target.send("first"); };
  ws.onmessage = function (e) { targets.push(e.target); got.push(e.data); };
  ws = null;
  await wait_for(function () { return got.length === 1; }, "the first echo");
  var first = targets[0];
  out.targetIsSocket = first === ref.deref() && first instanceof EventTarget;
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

// Records events; `count(type)` tells how many arrived.
export function js_recorder(ws) {
  var rec = { events: [] };
  ["open", "message", "error", "close"].forEach(function (t) {
    ws.addEventListener(t, function (e) { rec.events.push(e.type); });
  });
  rec.count = function (t) { return rec.events.filter(function (x) { return x === t; }).length; };
  rec.waitOpen = function () { return wait_for(function () { return rec.count("open") === 1; }, "open"); };
  return rec;
}
"#)]
extern "C" {
    #[wasm_bindgen(catch)]
    async fn fetch_json(url: &str) -> Result<JsValue, JsValue>;
    fn page_host() -> String;
    #[wasm_bindgen(catch)]
    async fn js_surface(ws: JsValue) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(catch)]
    async fn js_refused(ws: JsValue) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(catch)]
    async fn js_blob(ws: JsValue) -> Result<JsValue, JsValue>;
    fn js_recorder(ws: &JsValue) -> JsValue;
    #[wasm_bindgen(catch)]
    async fn js_gc_survival(ws: JsValue) -> Result<JsValue, JsValue>;
}

const WAIT_MS: u32 = 10_000;

/// `fut`, bounded: a test that would hang fails instead.
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

fn echo_url(query: &str) -> String {
    common::url(&["/ws/echo", query].concat())
}

/// The fixture URL with an explicit `ws:` scheme.
fn ws_scheme(url: &str) -> String {
    url.replacen("http://", "ws://", 1)
}

async fn open_echo(query: &str) -> WebSocket {
    let mut ws = WebSocket::open(&echo_url(query)).expect("open");
    within("open", ws.opened()).await.expect("opened");
    ws
}

async fn next(ws: &mut WebSocket) -> Option<WsEvent> {
    within("a WebSocket event", ws.next()).await
}

async fn next_message(ws: &mut WebSocket) -> Message {
    match next(ws).await {
        Some(WsEvent::Message(m)) => m,
        other => panic!("expected a message, got {other:?}"),
    }
}

/// The close event, skipping an error event before it.
async fn next_close(ws: &mut WebSocket) -> CloseInfo {
    loop {
        match next(ws).await {
            Some(WsEvent::Close(info)) => return info,
            Some(WsEvent::Error(_)) => continue,
            other => panic!("expected close, got {other:?}"),
        }
    }
}

/// How the server saw the keyed connection end: (code, reason, close frame received).
async fn server_close(key: &str) -> (Option<u16>, String, bool) {
    let url = common::url(&["/ws/last-close?key=", key].concat());
    let json = fetch_json(&url).await.expect("last-close");
    let code = field(&json, "code").as_f64().map(|c| c as u16);
    (code, text(&json, "reason"), flag(&json, "frame"))
}

fn expect_invalid<T: std::fmt::Debug>(result: Result<T, cometkit::Error>, what: &str) {
    match result {
        Ok(v) => panic!("{what}: expected an invalid error, got Ok({v:?})"),
        Err(e) => assert_eq!(e.kind(), ErrorKind::Invalid, "{what}: {e}"),
    }
}

/// `openWebSocket(url, options)`, as a page calls it (the start function that binds the class
/// to its Rust rules does not run under the test runner: bound here).
fn open_js(url: JsValue, options: JsValue) -> Result<JsValue, JsValue> {
    cometkit::js::install();
    cometkit::js::websocket::open_web_socket(url, options).map(Into::into)
}

fn js_kind(err: &JsValue) -> String {
    field(err, "kind").as_string().unwrap_or_default()
}

#[wasm_bindgen_test]
async fn echoes_text_including_unicode_and_64k() {
    let mut ws = open_echo("").await;
    let big: String = "a€😀".repeat(65536 / 8);
    assert!(big.len() >= 65536);
    for msg in ["hello", "", "héllo wörld ✓ 😀 日本語", big.as_str()] {
        ws.send_text(msg).unwrap();
        assert_eq!(next_message(&mut ws).await, Message::Text(msg.to_owned()));
    }
}

#[wasm_bindgen_test]
async fn echoes_binary_and_receives_large_binary() {
    let mut ws = open_echo("").await;
    let all: Vec<u8> = (0..=255).collect();
    for msg in [vec![0u8, 1, 2, 255], Vec::new(), all] {
        ws.send_bytes(&msg).unwrap();
        assert_eq!(next_message(&mut ws).await, Message::Binary(msg));
    }
    ws.send_text("big:100000").unwrap();
    match next_message(&mut ws).await {
        Message::Binary(b) => {
            assert_eq!(b.len(), 100_000);
            assert!(b.iter().enumerate().all(|(i, &x)| x == (i % 251) as u8));
        }
        other => panic!("expected binary, got {other:?}"),
    }
}

#[wasm_bindgen_test]
async fn http_url_is_mapped_to_ws_and_fragment_stripped() {
    let http = echo_url("?from=http#fragment");
    assert!(http.starts_with("http://"));
    let mut ws = WebSocket::open(&http).unwrap();
    assert_eq!(ws.url(), ws_scheme(&echo_url("?from=http")));
    within("open", ws.opened()).await.unwrap();
    ws.send_text("mapped").unwrap();
    assert_eq!(next_message(&mut ws).await, Message::Text("mapped".into()));

    let mut ws = WebSocket::open(&ws_scheme(&echo_url(""))).unwrap();
    within("open", ws.opened()).await.unwrap();
    assert!(ws.url().starts_with("ws://"));
}

#[wasm_bindgen_test]
async fn relative_urls_resolve_against_the_page() {
    // Scheme-relative: takes the page's http: scheme, mapped to ws:, and really connects.
    let absolute = echo_url("?rel=1");
    let relative = absolute.trim_start_matches("http:");
    assert!(relative.starts_with("//"));
    let mut ws = WebSocket::open(relative).unwrap();
    assert_eq!(ws.url(), ws_scheme(&absolute));
    within("open", ws.opened()).await.unwrap();
    ws.send_text("relative").unwrap();
    assert_eq!(
        next_message(&mut ws).await,
        Message::Text("relative".into())
    );

    // Path-relative: the test page's own server (not the fixture server), so only the URL.
    let ws = WebSocket::open("/ws/echo?x=1#f").unwrap();
    assert_eq!(ws.url(), ["ws://", &page_host(), "/ws/echo?x=1"].concat());
}

#[wasm_bindgen_test]
async fn negotiates_subprotocols() {
    let mut ws =
        WebSocket::open_with_protocols(&echo_url("?proto=chat.v1"), &["chat.v2", "chat.v1"])
            .unwrap();
    assert_eq!(ws.protocol(), "");
    within("open", ws.opened()).await.unwrap();
    assert_eq!(ws.protocol(), "chat.v1");
    ws.send_text("protocols?").unwrap();
    assert_eq!(
        next_message(&mut ws).await,
        Message::Text("chat.v2,chat.v1".into())
    );

    let mut first = WebSocket::open_with_protocols(&echo_url(""), &["chat.v2", "chat.v1"]).unwrap();
    within("open", first.opened()).await.unwrap();
    assert_eq!(first.protocol(), "chat.v2");

    let mut none = open_echo("").await;
    assert_eq!(none.protocol(), "");
    none.send_text("protocols?").unwrap();
    assert_eq!(next_message(&mut none).await, Message::Text(String::new()));
    // The fixture server negotiates no extension (no permessage-deflate).
    assert_eq!(none.extensions(), "");
}

#[wasm_bindgen_test]
async fn ready_state_goes_connecting_open_closing_closed_and_stream_ends() {
    let mut ws = WebSocket::open(&echo_url("")).unwrap();
    assert_eq!(ws.ready_state(), ReadyState::Connecting);
    assert_eq!(next(&mut ws).await, Some(WsEvent::Open));
    assert_eq!(ws.ready_state(), ReadyState::Open);
    // Already open: returns at once.
    within("opened again", ws.opened()).await.unwrap();
    ws.close().unwrap();
    assert_eq!(ws.ready_state(), ReadyState::Closing);
    let info = next_close(&mut ws).await;
    assert_eq!((info.code, info.was_clean), (1000, true));
    assert_eq!(info.class(), CloseClass::Normal);
    assert_eq!(ws.ready_state(), ReadyState::Closed);
    assert_eq!(next(&mut ws).await, None);
    assert_eq!(next(&mut ws).await, None);
    // Closing a closed socket is a no-op, not an error.
    ws.close().unwrap();
}

#[wasm_bindgen_test]
async fn buffered_amount_is_readable_and_drains() {
    let mut ws = open_echo("").await;
    assert_eq!(ws.buffered_amount(), 0);
    let payload = "z".repeat(256 * 1024);
    ws.send_text(&payload).unwrap();
    let queued = ws.buffered_amount();
    assert!(queued as usize <= payload.len(), "{queued}");
    assert_eq!(next_message(&mut ws).await, Message::Text(payload));
    // The echo came back, so everything was sent.
    assert_eq!(ws.buffered_amount(), 0);
}

#[wasm_bindgen_test]
async fn client_close_code_and_reason_reach_the_server() {
    let key = common::unique_key("ws-close");
    let mut ws = open_echo(&["?key=", &key].concat()).await;
    ws.close_with(3001, "done here ✓").unwrap();
    let info = next_close(&mut ws).await;
    assert_eq!(
        info,
        CloseInfo {
            code: 3001,
            reason: "done here ✓".into(),
            was_clean: true
        }
    );
    assert_eq!(info.class(), CloseClass::Application);
    assert_eq!(
        server_close(&key).await,
        (Some(3001), "done here ✓".into(), true)
    );
}

#[wasm_bindgen_test]
async fn server_close_codes_and_reasons_arrive_clean() {
    for (command, code, reason) in [
        ("close:4001:server says bye", 4001, "server says bye"),
        ("close:1000:", 1000, ""),
        ("close:1011:oops ✗", 1011, "oops ✗"),
    ] {
        let mut ws = open_echo("").await;
        ws.send_text(command).unwrap();
        // No error event for a clean close: the very next event is the close.
        match next(&mut ws).await {
            Some(WsEvent::Close(info)) => {
                assert_eq!(
                    info,
                    CloseInfo {
                        code,
                        reason: reason.into(),
                        was_clean: true
                    }
                )
            }
            other => panic!("{command}: expected close, got {other:?}"),
        }
        assert_eq!(next(&mut ws).await, None);
    }
}

#[wasm_bindgen_test]
async fn abrupt_drop_is_1006_and_unclean() {
    let mut ws = open_echo("").await;
    ws.send_text("bye").unwrap();
    let info = next_close(&mut ws).await;
    assert_eq!((info.code, info.was_clean), (1006, false));
    assert!(info.is_abnormal());
    assert_eq!(info.class(), CloseClass::Abnormal);
    assert_eq!(ws.ready_state(), ReadyState::Closed);
    expect_invalid(ws.send_text("gone"), "send after drop");
}

#[wasm_bindgen_test]
async fn refused_handshake_fails_opened_with_network() {
    let mut ws = WebSocket::open(&common::url("/ws/reject")).unwrap();
    let err = within("refusal", ws.opened()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Network, "{err}");
    assert!(err.message().contains("1006"), "{err}");
    assert_eq!(ws.ready_state(), ReadyState::Closed);

    // The same refusal seen as events: error, then close 1006, then the end.
    let mut ws = WebSocket::open(&common::url("/ws/reject")).unwrap();
    match next(&mut ws).await {
        Some(WsEvent::Error(e)) => assert_eq!(e.kind(), ErrorKind::Network, "{e}"),
        other => panic!("expected an error event, got {other:?}"),
    }
    match next(&mut ws).await {
        Some(WsEvent::Close(info)) => assert_eq!((info.code, info.was_clean), (1006, false)),
        other => panic!("expected close, got {other:?}"),
    }
    assert_eq!(next(&mut ws).await, None);
    // After the stream ended, opened() reports the failure instead of hanging.
    assert_eq!(
        within("opened", ws.opened()).await.unwrap_err().kind(),
        ErrorKind::Network
    );
}

#[wasm_bindgen_test]
async fn invalid_close_codes_and_reasons_are_rejected_and_socket_stays_open() {
    let key = common::unique_key("ws-badclose");
    let mut ws = open_echo(&["?key=", &key].concat()).await;
    for code in [0, 999, 1001, 1005, 1006, 2000, 2999, 5000] {
        expect_invalid(ws.close_with(code, ""), &code.to_string());
        assert_eq!(ws.ready_state(), ReadyState::Open, "{code}");
    }
    let long = "x".repeat(124);
    expect_invalid(ws.close_with(3000, &long), "124-byte reason");
    expect_invalid(
        ws.close_with(3000, &"€".repeat(42)),
        "126-byte reason in 42 chars",
    );
    assert_eq!(ws.ready_state(), ReadyState::Open);
    ws.send_text("still open").unwrap();
    assert_eq!(
        next_message(&mut ws).await,
        Message::Text("still open".into())
    );

    // Exactly 123 bytes (41 three-byte chars) is fine and arrives intact.
    let max = "€".repeat(41);
    ws.close_with(4999, &max).unwrap();
    let info = next_close(&mut ws).await;
    assert_eq!(
        (info.code, info.reason.as_str(), info.was_clean),
        (4999, max.as_str(), true)
    );
    assert_eq!(server_close(&key).await, (Some(4999), max, true));
}

#[wasm_bindgen_test]
fn invalid_urls_are_rejected() {
    for url in [
        "ftp://127.0.0.1/x",
        "javascript:alert(1)",
        "data:text/plain,hi",
        "file:///etc/passwd",
        "http://127.0.0.1:99999/",
        "http://",
        "http://[::1/",
        "ws://",
        "",
        "   ",
    ] {
        expect_invalid(WebSocket::open(url).map(|_| ()), url);
    }
}

#[wasm_bindgen_test]
fn bad_subprotocols_are_rejected() {
    let url = echo_url("");
    let lists: [&[&str]; 6] = [
        &["a b"],
        &[""],
        &["x", "x"],
        &["é"],
        &["a,b"],
        &["ok", "\"quoted\""],
    ];
    for list in lists {
        expect_invalid(
            WebSocket::open_with_protocols(&url, list).map(|_| ()),
            &list.join("|"),
        );
    }
}

#[wasm_bindgen_test]
async fn send_before_open_and_after_close_is_an_error_not_a_panic() {
    let mut ws = WebSocket::open(&echo_url("")).unwrap();
    expect_invalid(ws.send_text("early"), "text before open");
    expect_invalid(ws.send_bytes(&[1]), "bytes before open");
    within("open", ws.opened()).await.unwrap();
    ws.send_text("now").unwrap();
    assert_eq!(next_message(&mut ws).await, Message::Text("now".into()));
    ws.close().unwrap();
    expect_invalid(ws.send_text("closing"), "text while closing");
    next_close(&mut ws).await;
    expect_invalid(ws.send_text("late"), "text after close");
    expect_invalid(ws.send_bytes(&[1]), "bytes after close");
}

#[wasm_bindgen_test]
async fn dropping_the_handle_closes_the_socket() {
    let key = common::unique_key("ws-drop");
    let mut ws = open_echo(&["?key=", &key].concat()).await;
    ws.send_text("before drop").unwrap();
    assert_eq!(
        next_message(&mut ws).await,
        Message::Text("before drop".into())
    );
    drop(ws);
    assert_eq!(server_close(&key).await, (Some(1000), String::new(), true));
}

#[wasm_bindgen_test]
async fn js_open_web_socket_surface() {
    let key = common::unique_key("ws-js");
    let opts = Object::new();
    Reflect::set(&opts, &"protocols".into(), &"chat.v1".into()).unwrap();
    let url = echo_url(&["?key=", &key].concat());
    let ws = open_js(url.clone().into(), opts.into()).unwrap();
    let out = js_surface(ws).await.unwrap();

    assert!(flag(&out, "handlerRoundTrips"));
    assert!(field(&out, "onopenDefault").is_null());
    assert_eq!(num(&out, "initialState"), 0.0);
    assert_eq!(text(&out, "sendBeforeOpen"), "invalid");
    assert_eq!(text(&out, "firstEvent"), "open");
    assert_eq!(num(&out, "openState"), 1.0);
    assert_eq!(text(&out, "protocol"), "chat.v1");
    assert_eq!(text(&out, "url"), ws_scheme(&url));
    assert_eq!(text(&out, "binaryType"), "arraybuffer");
    assert_eq!(num(&out, "bufferedAmount"), 0.0);

    assert!(flag(&out, "allMessageEvents"));
    assert_eq!(text(&out, "text"), "héllo ✓");
    assert_eq!(text(&out, "origin"), ws_scheme(common::FIXTURE));
    assert!(flag(&out, "binaryAreArrayBuffers"));
    let binary: Vec<Vec<u8>> = Array::from(&field(&out, "binary"))
        .iter()
        .map(|a| {
            Array::from(&a)
                .iter()
                .map(|b| b.as_f64().unwrap() as u8)
                .collect()
        })
        .collect();
    assert_eq!(binary, [vec![1, 2, 3], vec![9, 8, 7, 6], vec![5, 4]]);
    assert!(flag(&out, "handlerSawSameEvents"));

    for key in [
        "sendNumber",
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

    assert_eq!(num(&out, "listenerCountAfterRemove"), 5.0);
    assert_eq!(text(&out, "handlerGotAfterRemove"), "after remove");
    assert!(field(&out, "handlerCleared").is_null());

    assert_eq!(num(&out, "closingState"), 2.0);
    assert!(flag(&out, "closeIsCloseEvent"));
    assert!(flag(&out, "closeSameForBoth"));
    assert_eq!(num(&out, "closeCode"), 3001.0);
    assert_eq!(text(&out, "closeReason"), "js bye ✓");
    assert!(flag(&out, "closeWasClean"));
    assert_eq!(num(&out, "closedState"), 3.0);
    assert_eq!(text(&out, "sendAfterClose"), "invalid");
    assert_eq!(text(&out, "closeAgain"), "no error");
    assert_eq!(text(&out, "lastListenerEvent"), "close");
    assert_eq!(
        server_close(&key).await,
        (Some(3001), "js bye ✓".into(), true)
    );
}

#[wasm_bindgen_test]
async fn js_refused_handshake_fires_error_then_close() {
    let ws = open_js(common::url("/ws/reject").into(), JsValue::UNDEFINED).unwrap();
    let seen = js_refused(ws).await.unwrap();
    let seen: Vec<String> = Array::from(&seen)
        .iter()
        .filter_map(|s| s.as_string())
        .collect();
    assert_eq!(
        seen,
        [
            "onerror:error",
            "error:true",
            "onclose:1006:false",
            "close:true"
        ]
    );
}

#[wasm_bindgen_test]
async fn js_binary_type_blob() {
    let opts = Object::new();
    Reflect::set(&opts, &"binaryType".into(), &"blob".into()).unwrap();
    let ws = open_js(echo_url("").into(), opts.into()).unwrap();
    let out = js_blob(ws).await.unwrap();
    assert_eq!(text(&out, "binaryType"), "blob");
    assert!(flag(&out, "isBlob"));
    assert_eq!(num(&out, "blobSize"), 3.0);
    assert_eq!(Array::from(&field(&out, "blobBytes")).length(), 3);
    assert_eq!(text(&out, "afterNonsense"), "blob");
    assert!(flag(&out, "isArrayBuffer"));
}

#[wasm_bindgen_test]
async fn js_invalid_inputs_throw_kind_invalid() {
    let obj = |k: &str, v: JsValue| -> JsValue {
        let o = Object::new();
        Reflect::set(&o, &k.into(), &v).unwrap();
        o.into()
    };
    let good = echo_url("");
    let cases: Vec<(&str, JsValue, JsValue)> = vec![
        ("ftp url", "ftp://127.0.0.1/".into(), JsValue::UNDEFINED),
        ("garbage url", "http://[::1/".into(), JsValue::UNDEFINED),
        ("number url", 42.into(), JsValue::UNDEFINED),
        ("options not an object", good.clone().into(), "x".into()),
        (
            "protocols number",
            good.clone().into(),
            obj("protocols", 5.into()),
        ),
        (
            "protocols duplicate",
            good.clone().into(),
            obj("protocols", Array::of2(&"a".into(), &"a".into()).into()),
        ),
        (
            "protocols not strings",
            good.clone().into(),
            obj("protocols", Array::of1(&1.into()).into()),
        ),
        (
            "protocol with space",
            good.clone().into(),
            obj("protocols", "a b".into()),
        ),
        (
            "binaryType",
            good.clone().into(),
            obj("binaryType", "text".into()),
        ),
    ];
    for (what, url, opts) in cases {
        match open_js(url, opts) {
            Ok(_) => panic!("{what}: expected an error"),
            Err(e) => assert_eq!(js_kind(&e), "invalid", "{what}: {e:?}"),
        }
    }
    // A URL object is accepted.
    let url = web_sys::Url::new(&good).unwrap();
    let ws = open_js(url.into(), JsValue::UNDEFINED).unwrap();
    assert_eq!(text(&ws, "url"), ws_scheme(&good));
}

#[wasm_bindgen_test]
async fn js_free_closes_the_socket_and_stops_events() {
    let key = common::unique_key("ws-free");
    let ws = open_js(
        echo_url(&["?key=", &key].concat()).into(),
        JsValue::UNDEFINED,
    )
    .unwrap();
    let rec = js_recorder(&ws);
    let wait_open: js_sys::Promise = Reflect::get(&rec, &"waitOpen".into())
        .unwrap()
        .unchecked_into::<js_sys::Function>()
        .call0(&rec)
        .unwrap()
        .unchecked_into();
    within("open", wasm_bindgen_futures::JsFuture::from(wait_open))
        .await
        .unwrap();
    // `free()` from JavaScript.
    let free: js_sys::Function = Reflect::get(&ws, &"free".into()).unwrap().unchecked_into();
    free.call0(&ws).unwrap();
    assert_eq!(server_close(&key).await, (Some(1000), String::new(), true));
    // The close event that followed is not delivered to listeners of a freed object.
    TimeoutFuture::new(200).await;
    let count: js_sys::Function = Reflect::get(&rec, &"count".into())
        .unwrap()
        .unchecked_into();
    assert_eq!(
        count.call1(&rec, &"close".into()).unwrap().as_f64(),
        Some(0.0)
    );
    assert_eq!(
        count.call1(&rec, &"open".into()).unwrap().as_f64(),
        Some(1.0)
    );
}

#[wasm_bindgen_test]
async fn js_socket_referenced_only_by_its_listeners_stays_alive_and_is_its_events_target() {
    let ws = open_js(echo_url("").into(), JsValue::UNDEFINED).unwrap();
    // The only reference goes to the JS helper (by value: nothing is left in wasm).
    let out = js_gc_survival(ws).await.unwrap();
    let yes = |k: &str| field(&out, k).as_bool().unwrap_or(false);
    assert!(
        yes("targetIsSocket"),
        "event.target is the CometWebSocket: {out:?}"
    );
    assert!(
        yes("aliveAfterGc"),
        "an open socket survives garbage collection: {out:?}"
    );
    let got: Vec<String> = Array::from(&field(&out, "got"))
        .iter()
        .filter_map(|v| v.as_string())
        .collect();
    assert_eq!(got, ["first", "second"]);
    if yes("gc") {
        assert!(
            yes("releasedAfterClose"),
            "a closed socket is collectable: {out:?}"
        );
    } else {
        wasm_bindgen_test::console_log!(
            "this browser exposes no gc(): collection was not forced (Chromium runs it forced)"
        );
    }
}

/// `split()`: a cloneable sender that, as a `Sink`, waits for the handshake; a receiver of the
/// events; the connection lives while either half does and closes when both are gone.
#[wasm_bindgen_test]
async fn split_sender_sink_waits_for_the_handshake_and_the_receiver_reads() {
    use futures_util::SinkExt;
    let (mut tx, mut rx) = WebSocket::open(&echo_url("")).unwrap().split();
    assert_eq!(tx.ready_state(), ReadyState::Connecting);
    // Direct sends fail while connecting, as the browser's own send does.
    assert_eq!(
        tx.send_text("early").unwrap_err().kind(),
        ErrorKind::Invalid
    );
    // The Sink waits for the open event instead.
    within("sink send", tx.send(Message::Text("one".into())))
        .await
        .expect("sent after the handshake");
    let other = tx.clone();
    other.send_bytes(&[1, 2, 3]).unwrap();
    let mut got = Vec::new();
    while got.len() < 2 {
        match within("an event", rx.next()).await {
            Some(WsEvent::Open) => {}
            Some(WsEvent::Message(m)) => got.push(m),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(
        got,
        [Message::Text("one".into()), Message::Binary(vec![1, 2, 3])]
    );
    // Only the receiver left: the connection stays open.
    drop(tx);
    drop(other);
    assert_eq!(rx.ready_state(), ReadyState::Open);
    // The receiver gone too: the socket closes (the server sees 1000).
    let (sender, receiver) = WebSocket::open(&echo_url("")).unwrap().split();
    drop(receiver);
    let mut sender = sender;
    within(
        "sink send on the sender alone",
        sender.send(Message::Text("x".into())),
    )
    .await
    .expect("sender alone keeps the connection");
    SinkExt::close(&mut sender).await.unwrap();
    assert!(matches!(
        sender.ready_state(),
        ReadyState::Closing | ReadyState::Closed
    ));
    assert_eq!(
        within(
            "send after close",
            sender.send(Message::Text("late".into()))
        )
        .await
        .unwrap_err()
        .kind(),
        ErrorKind::Invalid
    );
    drop(rx);
}
