#![cfg(all(target_arch = "wasm32", feature = "socket", feature = "js"))]
//! The fallback matrix of the negotiating socket, against the fault-injecting echo endpoints
//! of the fixture server (`/chaos/<key>/echo`, see `server/src/chaos/`): WebSocket blocked by
//! the server, WebSocket killed by a proxy after opening, streaming held back by a buffering
//! proxy, `EventSource` missing from the page, CORS refused, and a server restart in the
//! middle of a session. Every test uses a key of its own and sets its faults before
//! connecting; the times from the fault to the next open session are logged to the console
//! (never asserted).

wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

mod common;

use cometkit::client::{Backoff, Reconnect, Socket, SocketEvent, SocketOptions, TransportKind};
use futures_util::future::{select, Either};
use gloo_timers::future::TimeoutFuture;
use js_sys::Reflect;
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::wasm_bindgen_test;

#[wasm_bindgen(inline_js = r#"
export async function control(url, method) {
  const r = await fetch(url, { method: method, cache: "no-store" });
  if (!r.ok) throw new Error("chaos control " + url + " answered " + r.status);
  return r.json();
}
export function now_ms() { return performance.now(); }
export function take_global(name) {
  const saved = globalThis[name];
  globalThis[name] = undefined;
  return saved;
}
export function put_global(name, value) { globalThis[name] = value; }

function wait_for(cond, what, ms) {
  return new Promise(function (resolve, reject) {
    const until = performance.now() + ms;
    (function poll() {
      if (cond()) return resolve();
      if (performance.now() > until) return reject(new Error("timed out waiting for " + what));
      setTimeout(poll, 20);
    })();
  });
}

// Drives a cometkit Socket through its JavaScript surface only: echoes `messages` and reports
// what a page would see.
export async function js_echo(socket, messages) {
  const out = { transports: [], opens: 0, echoes: [], errors: 0, closes: 0 };
  socket.addEventListener("transport", function (e) { out.transports.push(e.transport); });
  socket.addEventListener("error", function () { out.errors++; });
  socket.onclose = function () { out.closes++; };
  socket.onopen = function () {
    out.opens++;
    messages.forEach(function (m) { socket.send(m); });
  };
  socket.onmessage = function (e) { out.echoes.push(e.data); };
  await wait_for(function () { return out.echoes.length >= messages.length || out.closes > 0; },
    "the echoes", 20000);
  out.transport = socket.transport;
  out.readyState = socket.readyState;
  socket.onclose = null;
  socket.close(1000, "done");
  socket.free();
  return out;
}
"#)]
extern "C" {
    #[wasm_bindgen(catch)]
    async fn control(url: &str, method: &str) -> Result<JsValue, JsValue>;
    fn now_ms() -> f64;
    fn take_global(name: &str) -> JsValue;
    fn put_global(name: &str, value: &JsValue);
    #[wasm_bindgen(catch)]
    async fn js_echo(socket: JsValue, messages: js_sys::Array) -> Result<JsValue, JsValue>;
}

#[wasm_bindgen]
extern "C" {
    /// `console.log`, as `web_sys::console::log_1` (the crate's web-sys has no `console`).
    #[wasm_bindgen(js_namespace = console, js_name = log)]
    fn console_log(line: &str);
}

/// Bound on any single wait for the socket.
const WAIT_MS: f64 = 20_000.0;

// ---------------------------------------------------------------------------------------------
// Helpers.

/// The chaos endpoint of `key`.
fn echo_url(key: &str) -> String {
    common::url(&format!("/chaos/{key}/echo"))
}

/// Calls a control endpoint of `key`: POST `set?...` and `restart`, GET `state` and
/// `received`.
async fn chaos(key: &str, what: &str) -> JsValue {
    let method = if what == "state" || what == "received" {
        "GET"
    } else {
        "POST"
    };
    match control(&common::url(&format!("/chaos/{key}/{what}")), method).await {
        Ok(v) => v,
        Err(e) => panic!("chaos {what}: {e:?}"),
    }
}

fn field(v: &JsValue, name: &str) -> JsValue {
    Reflect::get(v, &JsValue::from_str(name)).unwrap_or(JsValue::UNDEFINED)
}

/// The messages the key's echo received, in arrival order (across restarts).
async fn received(key: &str) -> Vec<String> {
    let log = chaos(key, "received").await;
    assert_eq!(field(&log, "dropped").as_f64(), Some(0.0));
    js_sys::Array::from(&field(&log, "messages"))
        .iter()
        .map(|m| m.as_string().unwrap_or_default())
        .collect()
}

/// Options for the matrix: short reconnection delays, a bounded number of attempts.
fn options() -> SocketOptions {
    SocketOptions::new().reconnect(Some(Reconnect {
        backoff: Backoff::constant(100),
        max_attempts: Some(20),
    }))
}

/// The next event within `ms`, `None` on timeout. Cancel-safe: an event is only taken when
/// it is returned.
async fn next_within(socket: &mut Socket, ms: u32) -> Option<SocketEvent> {
    let next = Box::pin(socket.next());
    match select(next, TimeoutFuture::new(ms)).await {
        Either::Left((Some(event), _)) => Some(event),
        Either::Left((None, _)) => panic!("the socket's events ended without a close event"),
        Either::Right(_) => None,
    }
}

/// What a socket went through, in order (heartbeats left out).
#[derive(Debug, Default)]
struct Seen {
    transports: Vec<TransportKind>,
    opens: u32,
    /// `attempt` of every reconnection.
    reconnects: Vec<u32>,
    messages: Vec<String>,
    /// The messages of the informational errors.
    errors: Vec<String>,
    /// Failed resumes (the server lost the session), and the messages they handed back.
    resume_failures: u32,
    unconfirmed: Vec<String>,
}

impl Seen {
    /// Records `event`; a close fails the test (every scenario must survive without one).
    fn record(&mut self, event: SocketEvent) {
        match event {
            SocketEvent::TransportChanged(kind) => self.transports.push(kind),
            SocketEvent::Open => self.opens += 1,
            SocketEvent::Message(m) => self.messages.push(m),
            SocketEvent::Reconnecting { attempt, .. } => self.reconnects.push(attempt),
            SocketEvent::Error(e) => self.errors.push(e.message().to_owned()),
            SocketEvent::ResumeFailed { unconfirmed, .. } => {
                self.resume_failures += 1;
                self.unconfirmed.extend(unconfirmed);
            }
            SocketEvent::Close { code, reason, .. } => {
                panic!("the socket closed: {code} {reason}; before: {self:?}")
            }
            _ => {}
        }
    }
}

/// Reads events until `done` holds, within [`WAIT_MS`].
async fn until(socket: &mut Socket, seen: &mut Seen, what: &str, done: impl Fn(&Seen) -> bool) {
    let deadline = now_ms() + WAIT_MS;
    while !done(seen) {
        assert!(
            now_ms() < deadline,
            "timed out waiting for {what}: {seen:?}"
        );
        if let Some(event) = next_within(socket, 250).await {
            seen.record(event);
        }
    }
}

/// Connects, waits for the first open and returns the time it took in ms.
async fn open(url: &str, options: SocketOptions, seen: &mut Seen) -> (Socket, f64) {
    let start = now_ms();
    let mut socket = Socket::connect(url, options).expect("connect");
    until(&mut socket, seen, "the first open", |s| s.opens >= 1).await;
    (socket, now_ms() - start)
}

/// Sends `messages` and waits for their echoes (after whatever was received before).
async fn echo(socket: &mut Socket, seen: &mut Seen, messages: &[&str]) {
    let before = seen.messages.len();
    for m in messages {
        socket.send(m).expect("send");
    }
    until(socket, seen, "the echoes", |s| {
        s.messages.len() >= before + messages.len()
    })
    .await;
    assert_eq!(seen.messages[before..], *messages);
}

/// Each message's first occurrence, in order (at-least-once delivery may repeat some).
fn first_occurrences(messages: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for m in messages {
        if !out.contains(m) {
            out.push(m.clone());
        }
    }
    out
}

fn log_time(what: &str, ms: f64) {
    console_log(&format!("fallback time: {what}: {ms:.0} ms"));
}

// ---------------------------------------------------------------------------------------------
// The matrix.

#[wasm_bindgen_test]
async fn baseline_opens_on_websocket() {
    let key = common::unique_key("fb-base");
    let mut seen = Seen::default();
    let (mut socket, ms) = open(&echo_url(&key), options(), &mut seen).await;
    log_time("no fault, connect -> open (websocket)", ms);
    assert_eq!(socket.transport(), Some(TransportKind::WebSocket));
    echo(&mut socket, &mut seen, &["plain"]).await;
}

#[wasm_bindgen_test]
async fn websocket_blocked_by_the_server_opens_on_xhr_streaming() {
    let key = common::unique_key("fb-block");
    chaos(&key, "set?ws=block").await;
    let mut seen = Seen::default();
    let (mut socket, ms) = open(&echo_url(&key), options(), &mut seen).await;
    log_time("ws=block, connect -> open (next transport)", ms);
    // /info said no WebSocket: it was never tried.
    assert_eq!(seen.transports, [TransportKind::XhrStreaming]);
    assert_eq!(socket.transport(), Some(TransportKind::XhrStreaming));
    echo(&mut socket, &mut seen, &["one", "two"]).await;
    let state = chaos(&key, "state").await;
    assert_eq!(field(&state, "websockets").as_f64(), Some(0.0));
}

#[wasm_bindgen_test]
async fn websocket_killed_by_a_proxy_is_demoted_without_a_close() {
    let key = common::unique_key("fb-kill");
    chaos(&key, "set?ws=kill&kill_after=1000").await;
    let mut seen = Seen::default();
    let (mut socket, _) = open(&echo_url(&key), options(), &mut seen).await;
    assert_eq!(socket.transport(), Some(TransportKind::WebSocket));
    echo(&mut socket, &mut seen, &["a"]).await;
    // The proxy kills the socket: the session is lost young and the socket moves on at once.
    until(&mut socket, &mut seen, "the reconnection", |s| {
        !s.reconnects.is_empty()
    })
    .await;
    let killed_at = now_ms();
    assert_eq!(seen.reconnects, [0], "a demotion, not a backoff retry");
    // Sent during the switch: queued, delivered in order on the next transport.
    for m in ["b", "c", "d"] {
        socket.send(m).expect("send during the switch");
    }
    until(&mut socket, &mut seen, "the second open", |s| s.opens >= 2).await;
    log_time(
        "ws=kill, websocket lost -> open (next transport)",
        now_ms() - killed_at,
    );
    assert_eq!(
        seen.transports,
        [TransportKind::WebSocket, TransportKind::XhrStreaming]
    );
    socket.send("e").expect("send");
    until(&mut socket, &mut seen, "the echoes", |s| {
        s.messages.len() >= 5
    })
    .await;
    assert_eq!(seen.messages, ["a", "b", "c", "d", "e"]);
    assert_eq!(received(&key).await, ["a", "b", "c", "d", "e"]);
    let state = chaos(&key, "state").await;
    assert_eq!(field(&state, "killed").as_f64(), Some(1.0));
    // It stays on the new transport.
    echo(&mut socket, &mut seen, &["f"]).await;
    assert_eq!(socket.transport(), Some(TransportKind::XhrStreaming));
}

#[wasm_bindgen_test]
async fn buffered_streaming_settles_on_polling() {
    let key = common::unique_key("fb-buffer");
    chaos(&key, "set?ws=block&stream=buffer").await;
    let mut seen = Seen::default();
    let (mut socket, ms) = open(&echo_url(&key), options().timeout(500), &mut seen).await;
    log_time(
        "stream=buffer, connect -> open (after the streaming timeouts)",
        ms,
    );
    // xhr-streaming and eventsource never delivered their `o`: they timed out.
    assert_eq!(seen.transports, [TransportKind::XhrPolling]);
    assert_eq!(socket.transport(), Some(TransportKind::XhrPolling));
    echo(&mut socket, &mut seen, &["polled", "twice"]).await;
}

#[wasm_bindgen_test]
async fn buffered_streaming_with_websocket_excluded_by_the_whitelist() {
    let key = common::unique_key("fb-buffer2");
    chaos(&key, "set?stream=buffer").await;
    let whitelist = [
        TransportKind::XhrStreaming,
        TransportKind::EventSource,
        TransportKind::XhrPolling,
    ];
    let mut seen = Seen::default();
    let (mut socket, _) = open(
        &echo_url(&key),
        options().transports(&whitelist).timeout(500),
        &mut seen,
    )
    .await;
    assert_eq!(socket.transport(), Some(TransportKind::XhrPolling));
    echo(&mut socket, &mut seen, &["x"]).await;
}

/// Restores a global of the page when dropped (also when the test fails).
struct Restore(&'static str, JsValue);

impl Drop for Restore {
    fn drop(&mut self) {
        put_global(self.0, &self.1);
    }
}

#[wasm_bindgen_test]
async fn missing_eventsource_is_skipped() {
    let whitelist = [TransportKind::EventSource, TransportKind::XhrPolling];
    // With EventSource, the whitelist's first transport is taken.
    let key = common::unique_key("fb-es");
    let mut seen = Seen::default();
    let (mut socket, _) = open(&echo_url(&key), options().transports(&whitelist), &mut seen).await;
    assert_eq!(socket.transport(), Some(TransportKind::EventSource));
    echo(&mut socket, &mut seen, &["with"]).await;
    drop(socket);
    // Without it, the socket goes straight to polling.
    let saved = Restore("EventSource", take_global("EventSource"));
    let key = common::unique_key("fb-noes");
    let mut seen = Seen::default();
    let (mut socket, _) = open(&echo_url(&key), options().transports(&whitelist), &mut seen).await;
    assert_eq!(seen.transports, [TransportKind::XhrPolling]);
    echo(&mut socket, &mut seen, &["without"]).await;
    drop(socket);
    drop(saved);
    assert!(
        Reflect::get(&js_sys::global(), &JsValue::from_str("EventSource"))
            .is_ok_and(|v| v.is_function())
    );
}

#[wasm_bindgen_test]
async fn cors_refused_settles_on_jsonp_polling() {
    let key = common::unique_key("fb-cors");
    chaos(&key, "set?cors=off&ws=block").await;
    let mut seen = Seen::default();
    let (mut socket, ms) = open(&echo_url(&key), options(), &mut seen).await;
    log_time("cors=off + ws=block, connect -> open (jsonp-polling)", ms);
    assert_eq!(seen.transports, [TransportKind::JsonpPolling]);
    assert_eq!(socket.transport(), Some(TransportKind::JsonpPolling));
    echo(
        &mut socket,
        &mut seen,
        &["jsonp", "still \"works\"", "ünïcode"],
    )
    .await;
    assert_eq!(
        received(&key).await,
        ["jsonp", "still \"works\"", "ünïcode"]
    );
}

#[wasm_bindgen_test]
async fn cors_refused_through_the_js_surface() {
    let key = common::unique_key("fb-corsjs");
    chaos(&key, "set?cors=off&ws=block").await;
    let options = js_sys::Object::new();
    let reconnect = js_sys::Object::new();
    let _ = Reflect::set(&reconnect, &"minDelay".into(), &100.into());
    let _ = Reflect::set(&reconnect, &"maxAttempts".into(), &5.into());
    let _ = Reflect::set(&options, &"reconnect".into(), &reconnect);
    let socket =
        common::new_js_socket(JsValue::from(echo_url(&key)), options.into()).expect("new Socket");
    let messages = js_sys::Array::of2(&"m1".into(), &"m2".into());
    let out = js_echo(socket, messages).await.expect("js echo");
    let strings = |name: &str| -> Vec<String> {
        js_sys::Array::from(&field(&out, name))
            .iter()
            .filter_map(|v| v.as_string())
            .collect()
    };
    assert_eq!(strings("transports"), ["jsonp-polling"]);
    assert_eq!(strings("echoes"), ["m1", "m2"]);
    assert_eq!(
        field(&out, "transport").as_string().as_deref(),
        Some("jsonp-polling")
    );
    assert_eq!(field(&out, "opens").as_f64(), Some(1.0));
    // The failed /info is reported (informational) before the socket settles.
    assert!(field(&out, "errors").as_f64().is_some_and(|n| n >= 1.0));
    assert_eq!(field(&out, "closes").as_f64(), Some(0.0));
    assert_eq!(field(&out, "readyState").as_f64(), Some(1.0));
}

/// Sends `count` numbered messages every 20 ms, restarting the server after `restart_at`, and
/// returns what the socket saw, the numbers sent, and the time from the restart to the next
/// open session.
async fn send_through_restart(
    key: &str,
    socket: &mut Socket,
    seen: &mut Seen,
    count: usize,
    restart_at: usize,
) -> f64 {
    let opens_before = seen.opens;
    let mut restarted_at = None;
    let mut reopened_after = None;
    let deadline = now_ms() + WAIT_MS * 2.0;
    let mut sent = 0;
    let last = (count - 1).to_string();
    loop {
        assert!(now_ms() < deadline, "timed out: sent {sent}, {seen:?}");
        if sent == count && seen.messages.contains(&last) && reopened_after.is_some() {
            break;
        }
        match next_within(socket, 20).await {
            Some(event) => {
                seen.record(event);
                if let (Some(at), None) = (restarted_at, reopened_after) {
                    if seen.opens > opens_before {
                        reopened_after = Some(now_ms() - at);
                    }
                }
            }
            None if sent < count => {
                socket.send(&sent.to_string()).expect("send");
                sent += 1;
                if sent == restart_at {
                    restarted_at = Some(now_ms());
                    chaos(key, "restart").await;
                }
            }
            None => {}
        }
    }
    reopened_after.unwrap_or_default()
}

#[wasm_bindgen_test]
async fn server_restart_reconnects_and_loses_nothing() {
    // xhr-streaming only. The chaos endpoint offers the resume extension, and a restart
    // forgets every session: the socket reports the failed resume, hands back the messages
    // that were sent but not acknowledged (the server may or may not have them) and goes on
    // with a fresh session. Nothing else may be missing, nothing may arrive twice.
    let key = common::unique_key("fb-restart");
    let mut seen = Seen::default();
    let (mut socket, _) = open(
        &echo_url(&key),
        options().transports(&[TransportKind::XhrStreaming]),
        &mut seen,
    )
    .await;
    let count = 60;
    let ms = send_through_restart(&key, &mut socket, &mut seen, count, 20).await;
    log_time(
        "restart, restart -> open (xhr-streaming, backoff 100 ms)",
        ms,
    );
    assert!(seen.opens >= 2, "{seen:?}");
    assert!(!seen.reconnects.is_empty());
    assert_eq!(seen.resume_failures, 1, "{seen:?}");
    let got = received(&key).await;
    assert_eq!(first_occurrences(&got), got, "nothing twice: {got:?}");
    let expected: Vec<String> = (0..count)
        .map(|i| i.to_string())
        .filter(|m| !seen.unconfirmed.contains(m) || got.contains(m))
        .collect();
    assert_eq!(got, expected, "in order, nothing lost but the unconfirmed");
    // The client's echoes are in order (some echoes may be lost with the old session).
    let echoes = first_occurrences(&seen.messages);
    let numbers: Vec<usize> = echoes.iter().filter_map(|m| m.parse().ok()).collect();
    assert!(
        numbers.windows(2).all(|w| w[0] < w[1]),
        "echoes out of order: {echoes:?}"
    );
    console_log(&format!(
        "restart over xhr-streaming: {} messages handed back unconfirmed ({} of them had \
         arrived), {} of {count} echoes lost",
        seen.unconfirmed.len(),
        seen.unconfirmed.iter().filter(|m| got.contains(m)).count(),
        count - echoes.len()
    ));
}

#[wasm_bindgen_test]
async fn server_restart_on_websocket_keeps_the_order() {
    // The default ladder: the restart cuts the WebSocket young, the socket moves on. A
    // WebSocket confirms a send once the browser takes it, so what was on the wire when the
    // server went away may be lost (documented); the order may not change and everything
    // sent after the reconnection must arrive.
    let key = common::unique_key("fb-restartws");
    let mut seen = Seen::default();
    let (mut socket, _) = open(&echo_url(&key), options(), &mut seen).await;
    assert_eq!(socket.transport(), Some(TransportKind::WebSocket));
    let count = 60;
    let ms = send_through_restart(&key, &mut socket, &mut seen, count, 20).await;
    log_time("restart, restart -> open (from websocket)", ms);
    assert!(seen.opens >= 2, "{seen:?}");
    let got = first_occurrences(&received(&key).await);
    let numbers: Vec<usize> = got.iter().filter_map(|m| m.parse().ok()).collect();
    assert_eq!(numbers.len(), got.len());
    assert!(
        numbers.windows(2).all(|w| w[0] < w[1]),
        "server log out of order: {got:?}"
    );
    // Everything from well after the restart is there.
    assert!(
        (30..count).all(|i| numbers.contains(&i)),
        "lost after the reconnection: {got:?}"
    );
    console_log(&format!(
        "restart from websocket: {} of {count} messages lost at the server",
        count - numbers.len()
    ));
}

/// A network that cuts long-lived responses while the server keeps the session: the server
/// sees its receiving request cut and answers the next receiver on that session with
/// `c[1002,"Connection interrupted"]` (a native EventSource reconnecting by itself meets it at
/// once). That is a lost session, not an end: the socket reconnects, never closes, and every
/// message sent reaches the server (at least once: SockJS has no acknowledgements).
#[wasm_bindgen_test]
async fn streaming_responses_cut_mid_session_reconnect_instead_of_closing() {
    for kind in [TransportKind::EventSource, TransportKind::XhrStreaming] {
        let key = common::unique_key("fb-cut");
        chaos(&key, "set?stream=cut&kill_after=400").await;
        let mut seen = Seen::default();
        let options = options().transports(&[kind]);
        let (mut socket, _) = open(&echo_url(&key), options, &mut seen).await;
        let sent: Vec<String> = (0..20).map(|i| format!("{kind:?} {i}")).collect();
        for m in &sent {
            socket.send(m).expect("send across the cuts");
            // Reads (and records) events for 60 ms: spreads the sends over several cuts.
            let until_ms = now_ms() + 60.0;
            while now_ms() < until_ms {
                if let Some(event) = next_within(&mut socket, 20).await {
                    seen.record(event);
                }
            }
        }
        until(&mut socket, &mut seen, "a reconnection after a cut", |s| {
            !s.reconnects.is_empty()
        })
        .await;
        // The network heals: the socket still works on the same transport.
        chaos(&key, "set?stream=ok").await;
        let opens = seen.opens;
        until(&mut socket, &mut seen, "the reopening", |s| s.opens > opens).await;
        socket.send("after").expect("send");
        until(&mut socket, &mut seen, "the last echo", |s| {
            s.messages.iter().any(|m| m == "after")
        })
        .await;
        assert_eq!(socket.transport(), Some(kind));
        let mut expected = sent.clone();
        expected.push("after".into());
        let got = first_occurrences(&received(&key).await);
        assert_eq!(
            got, expected,
            "{kind:?}: every message reached the server, in order"
        );
    }
}
