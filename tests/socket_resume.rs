#![cfg(all(target_arch = "wasm32", feature = "socket", feature = "js"))]
//! Exactly once across real cuts: a `Socket` echoes 10,000 numbered messages through the
//! fixture server's fault-injecting endpoint (`/chaos/<key>/echo`, which offers the resume
//! extension) while the network cuts its connections at least 100 times, on websocket
//! (`ws=kill`: a proxy cuts every WebSocket), xhr-streaming and eventsource (`stream=cut`:
//! every streaming response is broken off), xhr-polling and jsonp-polling (`poll=cut`: one
//! in four poll and send answers is lost after the server handled it; browsers often send
//! such a request again by themselves without telling the page, so there the cuts are
//! counted on the server). The echoes must come
//! back exactly once each, in order: an echo missing means a message was lost one way or the
//! other, an echo twice means one was delivered twice. Every reconnection must resume the
//! session (a `ResumeFailed` event fails the test). The counts are logged to the console.

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

// Through the JavaScript surface only: open, restart the server (the session is lost), and
// report the resumefailed event and the state after the fresh session opened.
export async function js_restart(socket, restartUrl) {
  const out = { opens: 0, failed: [], recovered: [], closes: 0 };
  socket.addEventListener("open", function () { out.recovered.push(socket.recovered); out.opens++; });
  socket.addEventListener("resumefailed", function (e) {
    out.failed.push({ code: e.code, reason: e.reason, unconfirmed: e.unconfirmed,
      isArray: Array.isArray(e.unconfirmed), targetOk: e.target === socket });
  });
  socket.onclose = function () { out.closes++; };
  await wait_for(function () { return out.opens >= 1; }, "the open", 20000);
  socket.send("before");
  await fetch(restartUrl, { method: "POST", cache: "no-store" });
  await wait_for(function () { return out.opens >= 2 || out.closes > 0; }, "the fresh session", 20000);
  out.echo = await new Promise(function (resolve) {
    socket.onmessage = function (e) { if (e.data === "after") resolve(e.data); };
    socket.send("after");
  });
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
    #[wasm_bindgen(catch)]
    async fn js_restart(socket: JsValue, restart_url: &str) -> Result<JsValue, JsValue>;
}

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = console, js_name = log)]
    fn console_log(line: &str);
}

const MESSAGES: usize = 10_000;
const CUTS: usize = 100;
/// Bound on the whole run of one transport.
const RUN_MS: f64 = 120_000.0;

async fn chaos(key: &str, what: &str) -> JsValue {
    let method = if what == "state" { "GET" } else { "POST" };
    match control(&common::url(&format!("/chaos/{key}/{what}")), method).await {
        Ok(v) => v,
        Err(e) => panic!("chaos {what}: {e:?}"),
    }
}

async fn next_within(socket: &mut Socket, ms: u32) -> Option<SocketEvent> {
    let next = Box::pin(socket.next());
    match select(next, TimeoutFuture::new(ms)).await {
        Either::Left((Some(event), _)) => Some(event),
        Either::Left((None, _)) => panic!("the socket's events ended without a close event"),
        Either::Right(_) => None,
    }
}

#[derive(Default)]
struct Run {
    sent: usize,
    echoes: Vec<String>,
    /// Reconnections the client went through.
    reconnects: usize,
    /// Poll and send answers the server's chaos layer broke off (refreshed now and then).
    polls_cut: usize,
    opens: usize,
}

impl Run {
    /// The cuts so far: the reconnections they caused, or for the polling transports the
    /// answers broken off (a browser may re-send a request whose answer was cut without
    /// telling the page: the session then carries on on the same transport connection).
    fn cuts(&self, polling: bool) -> usize {
        if polling {
            self.polls_cut
        } else {
            self.reconnects
        }
    }
}

async fn polls_cut(key: &str) -> usize {
    let state = chaos(key, "state").await;
    Reflect::get(&state, &JsValue::from_str("polls_cut"))
        .ok()
        .and_then(|v| v.as_f64())
        .unwrap_or(0.0) as usize
}

/// Echoes [`MESSAGES`] through `faults` on `kind`, sending no faster than the cuts come (at
/// most `MESSAGES / CUTS` messages per cut), so every cut meets messages in flight both ways.
async fn echo_through_cuts(kind: TransportKind, faults: &str) {
    let key = common::unique_key("resume-cut");
    chaos(&key, faults).await;
    let url = common::url(&format!("/chaos/{key}/echo"));
    let options = SocketOptions::new()
        .transports(&[kind])
        // Unlimited: sessions cut this often always die young, so the attempts in a row never
        // reset (the run is bounded by RUN_MS).
        .reconnect(Some(Reconnect {
            backoff: Backoff::constant(10),
            max_attempts: None,
        }));
    let mut socket = Socket::connect(&url, options).expect("connect");
    let started = now_ms();
    let mut run = Run::default();
    let mut healed = false;
    let polling = matches!(
        kind,
        TransportKind::XhrPolling | TransportKind::JsonpPolling
    );
    let mut events = 0u32;
    while run.echoes.len() < MESSAGES || run.cuts(polling) < CUTS {
        assert!(
            now_ms() - started < RUN_MS,
            "{kind:?}: timed out with {} of {MESSAGES} echoes, {} cuts",
            run.echoes.len(),
            run.cuts(polling)
        );
        if polling && !healed && events % 50 == 0 {
            run.polls_cut = polls_cut(&key).await;
        }
        events += 1;
        let allowed = ((run.cuts(polling) + 1) * (MESSAGES / CUTS)).min(MESSAGES);
        while run.sent < allowed && socket.send(&format!("m{}", run.sent)).is_ok() {
            run.sent += 1;
        }
        if !healed && run.cuts(polling) >= CUTS && run.sent == MESSAGES {
            // The network heals once the cuts are done and every message is out.
            chaos(&key, "set?ws=ok&stream=ok&poll=ok").await;
            healed = true;
        }
        match next_within(&mut socket, 250).await {
            Some(SocketEvent::Message(m)) => run.echoes.push(m),
            Some(SocketEvent::Reconnecting { .. }) => run.reconnects += 1,
            Some(SocketEvent::Open) => run.opens += 1,
            Some(SocketEvent::ResumeFailed {
                reason,
                unconfirmed,
                ..
            }) => panic!(
                "{kind:?}: the session could not be resumed ({reason}), {} unconfirmed",
                unconfirmed.len()
            ),
            Some(SocketEvent::Close { code, reason, .. }) => {
                panic!("{kind:?}: the socket closed: {code} {reason}")
            }
            None => events = 0,
            _ => {}
        }
    }
    let state = chaos(&key, "state").await;
    let field = |name: &str| {
        Reflect::get(&state, &JsValue::from_str(name))
            .ok()
            .and_then(|v| v.as_f64())
            .unwrap_or(0.0)
    };
    let mut lost = 0;
    let mut duplicated = 0;
    let mut out_of_order = 0;
    let mut seen = vec![0u32; MESSAGES];
    let mut last = None;
    for echo in &run.echoes {
        let Some(i) = echo.strip_prefix('m').and_then(|n| n.parse::<usize>().ok()) else {
            panic!("{kind:?}: unexpected echo {echo:?}");
        };
        seen[i] += 1;
        if last.is_some_and(|l| i <= l) {
            out_of_order += 1;
        }
        last = Some(i);
    }
    for n in &seen {
        match n {
            0 => lost += 1,
            1 => {}
            _ => duplicated += n - 1,
        }
    }
    console_log(&format!(
        "resume cut test: {kind:?}: {} messages each way, {} reconnections \
         (server: {} websockets killed, {} poll/send answers cut), {} opens, 0 resume \
         failures, {lost} lost, {duplicated} duplicated, {out_of_order} out of order, {:.1} s",
        MESSAGES,
        run.reconnects,
        field("killed"),
        field("polls_cut"),
        run.opens,
        (now_ms() - started) / 1000.0
    ));
    assert_eq!(
        (lost, duplicated, out_of_order),
        (0, 0, 0),
        "{kind:?}: lost, duplicated, out of order"
    );
    let cuts = run.cuts(polling);
    assert!(cuts >= CUTS, "{kind:?}: only {cuts} cuts");
    socket.close(1000, "done").expect("close");
}

#[wasm_bindgen_test]
async fn websocket_cut_100_times_loses_and_repeats_nothing() {
    echo_through_cuts(TransportKind::WebSocket, "set?ws=kill&kill_after=100").await;
}

#[wasm_bindgen_test]
async fn xhr_streaming_cut_100_times_loses_and_repeats_nothing() {
    echo_through_cuts(TransportKind::XhrStreaming, "set?stream=cut&kill_after=100").await;
}

#[wasm_bindgen_test]
async fn eventsource_cut_100_times_loses_and_repeats_nothing() {
    echo_through_cuts(TransportKind::EventSource, "set?stream=cut&kill_after=100").await;
}

#[wasm_bindgen_test]
async fn xhr_polling_cut_100_times_loses_and_repeats_nothing() {
    echo_through_cuts(TransportKind::XhrPolling, "set?poll=cut&cut_every=4").await;
}

#[wasm_bindgen_test]
async fn jsonp_polling_cut_100_times_loses_and_repeats_nothing() {
    echo_through_cuts(TransportKind::JsonpPolling, "set?poll=cut&cut_every=4").await;
}

/// The next event that `pick` accepts, within 20 s; a close fails the test.
async fn wait_event<T>(
    socket: &mut Socket,
    what: &str,
    mut pick: impl FnMut(&SocketEvent) -> Option<T>,
) -> T {
    let deadline = now_ms() + 20_000.0;
    loop {
        assert!(now_ms() < deadline, "timed out waiting for {what}");
        if let Some(event) = next_within(socket, 250).await {
            if let SocketEvent::Close { code, reason, .. } = &event {
                panic!("closed while waiting for {what}: {code} {reason}");
            }
            if let Some(t) = pick(&event) {
                return t;
            }
        }
    }
}

#[wasm_bindgen_test]
async fn a_cut_connection_is_taken_back_and_says_so() {
    let key = common::unique_key("resume-recovered");
    chaos(&key, "set?ws=kill&kill_after=300").await;
    let url = common::url(&format!("/chaos/{key}/echo"));
    let options = SocketOptions::new().reconnect(Some(Reconnect {
        backoff: Backoff::constant(50),
        max_attempts: None,
    }));
    let mut socket = Socket::connect(&url, options).expect("connect");
    wait_event(&mut socket, "the open", |e| {
        matches!(e, SocketEvent::Open).then_some(())
    })
    .await;
    assert!(
        !socket.recovered(),
        "a first session is not a recovered one"
    );
    wait_event(&mut socket, "the cut", |e| {
        matches!(e, SocketEvent::Reconnecting { .. }).then_some(())
    })
    .await;
    chaos(&key, "set?ws=ok").await;
    // A socket opened before the switch may still be killed: let that pass, then the open
    // session must be the first one taken back.
    let quiet_until = now_ms() + 1_500.0;
    while now_ms() < quiet_until || socket.ready_state() != cometkit::client::ReadyState::Open {
        assert!(now_ms() < quiet_until + 20_000.0, "no session reopened");
        match next_within(&mut socket, 100).await {
            Some(SocketEvent::ResumeFailed { reason, .. }) => panic!("resume failed: {reason}"),
            Some(SocketEvent::Close { code, reason, .. }) => panic!("closed: {code} {reason}"),
            _ => {}
        }
    }
    assert!(socket.recovered(), "the reopened session is the same one");
    socket.send("still the same session").expect("send");
    let echo = wait_event(&mut socket, "the echo", |e| match e {
        SocketEvent::Message(m) => Some(m.clone()),
        _ => None,
    })
    .await;
    assert_eq!(echo, "still the same session");
    socket.close(1000, "done").expect("close");
}

#[wasm_bindgen_test]
async fn a_server_restart_fails_the_resume_with_2011_and_goes_on_fresh() {
    let key = common::unique_key("resume-restart");
    let url = common::url(&format!("/chaos/{key}/echo"));
    let options = SocketOptions::new()
        .transports(&[TransportKind::XhrStreaming])
        .reconnect(Some(Reconnect {
            backoff: Backoff::constant(50),
            max_attempts: None,
        }));
    let mut socket = Socket::connect(&url, options).expect("connect");
    wait_event(&mut socket, "the open", |e| {
        matches!(e, SocketEvent::Open).then_some(())
    })
    .await;
    socket.send("before").expect("send");
    wait_event(&mut socket, "the echo", |e| {
        matches!(e, SocketEvent::Message(m) if m == "before").then_some(())
    })
    .await;
    chaos(&key, "restart").await;
    let (code, reason, unconfirmed) = wait_event(&mut socket, "the failed resume", |e| match e {
        SocketEvent::ResumeFailed {
            code,
            reason,
            unconfirmed,
        } => Some((*code, reason.clone(), unconfirmed.clone())),
        _ => None,
    })
    .await;
    assert_eq!(code, 2011);
    assert!(reason.contains("cannot be resumed"), "{reason}");
    // "before" was acknowledged (its echo came back), so nothing is in doubt.
    assert!(unconfirmed.is_empty(), "{unconfirmed:?}");
    wait_event(&mut socket, "the fresh open", |e| {
        matches!(e, SocketEvent::Open).then_some(())
    })
    .await;
    assert!(!socket.recovered());
    socket.send("after").expect("send");
    wait_event(&mut socket, "the echo on the fresh session", |e| {
        matches!(e, SocketEvent::Message(m) if m == "after").then_some(())
    })
    .await;
    socket.close(1000, "done").expect("close");
}

#[wasm_bindgen_test]
async fn resumefailed_and_recovered_through_the_javascript_surface() {
    let key = common::unique_key("resume-js");
    let url = common::url(&format!("/chaos/{key}/echo"));
    let options = js_sys::JSON::parse(
        r#"{"transports":["xhr-streaming"],"reconnect":{"minDelay":50,"maxDelay":50}}"#,
    )
    .expect("options");
    let socket = common::new_js_socket(JsValue::from_str(&url), options).expect("new Socket");
    let restart = common::url(&format!("/chaos/{key}/restart"));
    let out = js_restart(socket, &restart).await.expect("js_restart");
    let get = |v: &JsValue, k: &str| Reflect::get(v, &JsValue::from_str(k)).unwrap_or_default();
    assert_eq!(get(&out, "closes").as_f64(), Some(0.0));
    let failed = js_sys::Array::from(&get(&out, "failed"));
    assert_eq!(failed.length(), 1, "one resumefailed event");
    let event = failed.get(0);
    assert_eq!(get(&event, "code").as_f64(), Some(2011.0));
    assert_eq!(get(&event, "isArray").as_bool(), Some(true));
    assert_eq!(
        get(&event, "targetOk").as_bool(),
        Some(true),
        "e.target is the socket"
    );
    let recovered = js_sys::Array::from(&get(&out, "recovered"));
    assert_eq!(recovered.get(0).as_bool(), Some(false), "first open");
    assert_eq!(
        recovered.get(1).as_bool(),
        Some(false),
        "fresh session after the restart"
    );
    assert_eq!(get(&out, "echo").as_string().as_deref(), Some("after"));
}
