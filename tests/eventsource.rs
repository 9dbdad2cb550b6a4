#![cfg(all(target_arch = "wasm32", feature = "eventsource", feature = "js"))]
//! EventSource in the browser, through both engines (native `EventSource` and the XHR
//! polyfill), against the `/sse` fixture (see `server/src/fixtures/sse.rs`).

wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

mod common;

use std::cell::RefCell;
use std::future::Future;
use std::rc::Rc;

use cometkit::transport::eventsource::{
    EventSource, EventSourceOptions, Polyfill, ReadyState, SseEvent, SseMessage,
};
use futures_channel::oneshot;
use futures_util::future::{select, Either};
use gloo_timers::future::TimeoutFuture;
use js_sys::Reflect;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::wasm_bindgen_test;

const ENGINES: [Polyfill; 2] = [Polyfill::Never, Polyfill::Always];

fn name(engine: Polyfill) -> &'static str {
    match engine {
        Polyfill::Never => "native",
        _ => "polyfill",
    }
}

/// Runs `f` with a 10 s cap.
async fn within<T>(what: &str, f: impl Future<Output = T>) -> T {
    match select(Box::pin(f), TimeoutFuture::new(10_000)).await {
        Either::Left((v, _)) => v,
        Either::Right(_) => panic!("timed out: {what}"),
    }
}

async fn sleep(ms: u32) {
    TimeoutFuture::new(ms).await;
}

/// A GET with a plain XHR (credentials included), answering the response text.
async fn get_text(url: &str) -> String {
    let xhr = web_sys::XmlHttpRequest::new().unwrap();
    xhr.open("GET", url).unwrap();
    xhr.set_with_credentials(true);
    let (tx, rx) = oneshot::channel::<()>();
    let tx = RefCell::new(Some(tx));
    let done = Closure::<dyn FnMut()>::new(move || {
        if let Some(tx) = tx.borrow_mut().take() {
            let _ = tx.send(());
        }
    });
    xhr.set_onloadend(Some(done.as_ref().unchecked_ref()));
    xhr.send().unwrap();
    within("fixture request", rx).await.unwrap();
    xhr.set_onloadend(None);
    xhr.response_text().unwrap().unwrap_or_default()
}

async fn get_json(url: &str) -> JsValue {
    let text = get_text(url).await;
    js_sys::JSON::parse(&text).unwrap_or_else(|_| panic!("not JSON from {url}: {text}"))
}

fn prop(obj: &JsValue, key: &str) -> JsValue {
    Reflect::get(obj, &JsValue::from_str(key)).unwrap()
}

async fn connections(key: &str) -> u32 {
    let v = get_json(&common::url(&["/sse/connections?key=", key].concat())).await;
    prop(&v, "count").as_f64().unwrap() as u32
}

async fn preflights(key: &str) -> u32 {
    let v = get_json(&common::url(&["/preflights?key=", key].concat())).await;
    prop(&v, "count").as_f64().unwrap() as u32
}

fn open(path: &str, options: EventSourceOptions) -> EventSource {
    EventSource::open(&common::url(path), options).unwrap()
}

async fn next(es: &mut EventSource) -> Option<SseEvent> {
    within("next event", es.next()).await
}

/// The next `n` messages, skipping `Open` and non-fatal `Error` events (reconnections).
async fn messages(es: &mut EventSource, n: usize) -> Vec<SseMessage> {
    let mut out = Vec::new();
    while out.len() < n {
        match next(es).await {
            Some(SseEvent::Message(m)) => out.push(m),
            Some(SseEvent::Open) | Some(SseEvent::Error { fatal: false, .. }) => {}
            Some(other) => panic!("unexpected {other:?} after {out:?}"),
            None => panic!("stream ended after {out:?}"),
        }
    }
    out
}

fn fixture_origin() -> String {
    web_sys::Url::new(common::FIXTURE).unwrap().origin()
}

fn ids(list: &[SseMessage]) -> Vec<String> {
    list.iter().map(|m| m.last_event_id.clone()).collect()
}

#[wasm_bindgen_test]
async fn messages_ids_and_state_in_both_engines() {
    for engine in ENGINES {
        let mut es = open(
            "/sse?events=3",
            EventSourceOptions::default().polyfill(engine),
        );
        assert_eq!(es.is_polyfill(), engine == Polyfill::Always);
        assert_eq!(es.ready_state(), ReadyState::Connecting, "{}", name(engine));
        assert!(es.url().starts_with("http://") && es.url().ends_with("/sse?events=3"));
        match next(&mut es).await {
            Some(SseEvent::Open) => {}
            other => panic!("{}: expected Open, got {other:?}", name(engine)),
        }
        assert_eq!(es.ready_state(), ReadyState::Open, "{}", name(engine));
        let got = messages(&mut es, 3).await;
        for (i, m) in got.iter().enumerate() {
            let id = (i + 1).to_string();
            assert_eq!(m.event_type, "message", "{}", name(engine));
            assert_eq!(m.data, ["event ", &id].concat(), "{}", name(engine));
            assert_eq!(m.last_event_id, id, "{}", name(engine));
            assert_eq!(m.origin, fixture_origin(), "{}", name(engine));
        }
        assert_eq!(es.last_event_id(), "3");
        es.close();
        assert_eq!(es.ready_state(), ReadyState::Closed);
        assert!(
            next(&mut es).await.is_none(),
            "{}: stream ends after close",
            name(engine)
        );
    }
}

#[wasm_bindgen_test]
async fn named_events_are_delivered_only_when_asked_for() {
    for engine in ENGINES {
        let opts = EventSourceOptions::default()
            .polyfill(engine)
            .event_type("tick");
        let mut es = open("/sse?events=5&named=1", opts);
        let got = messages(&mut es, 3).await;
        let kinds: Vec<&str> = got.iter().map(|m| m.event_type.as_str()).collect();
        assert_eq!(kinds, ["tick", "tick", "tick"], "{}", name(engine));
        assert_eq!(ids(&got), ["1", "3", "5"], "{}", name(engine));

        // Asking for the other type later.
        let mut es = open(
            "/sse?events=4&named=1&interval=100",
            EventSourceOptions::default().polyfill(engine),
        );
        es.add_event_type("tick");
        es.add_event_type("tock");
        let got = messages(&mut es, 4).await;
        let kinds: Vec<&str> = got.iter().map(|m| m.event_type.as_str()).collect();
        assert_eq!(kinds, ["tick", "tock", "tick", "tock"], "{}", name(engine));
    }
}

#[wasm_bindgen_test]
async fn reconnects_after_server_retry_and_resumes_from_last_event_id() {
    for engine in ENGINES {
        let key = common::unique_key("resume");
        let path = ["/sse?events=6&close_after=2&retry=50&key=", &key].concat();
        let mut es = open(&path, EventSourceOptions::default().polyfill(engine));
        let mut seen = Vec::new();
        let mut reconnections = 0;
        while seen.len() < 6 {
            match next(&mut es).await {
                Some(SseEvent::Message(m)) => seen.push(m),
                Some(SseEvent::Error { fatal: false, .. }) => {
                    reconnections += 1;
                    assert_eq!(es.ready_state(), ReadyState::Connecting, "{}", name(engine));
                }
                Some(SseEvent::Open) => {}
                other => panic!("{}: unexpected {other:?}", name(engine)),
            }
        }
        assert_eq!(
            ids(&seen),
            ["1", "2", "3", "4", "5", "6"],
            "{}: no gap, no duplicate",
            name(engine)
        );
        assert_eq!(reconnections, 2, "{}", name(engine));
        assert_eq!(connections(&key).await, 3, "{}", name(engine));
        assert_eq!(es.last_event_id(), "6");
    }
}

#[wasm_bindgen_test]
async fn close_stops_reconnecting() {
    for engine in ENGINES {
        let key = common::unique_key("close");
        let path = ["/sse?events=1000&close_after=1&retry=20&key=", &key].concat();
        let mut es = open(&path, EventSourceOptions::default().polyfill(engine));
        messages(&mut es, 3).await;
        es.close();
        assert_eq!(es.ready_state(), ReadyState::Closed);
        assert!(next(&mut es).await.is_none());
        sleep(100).await;
        let before = connections(&key).await;
        assert!(before >= 3, "{}: {before}", name(engine));
        sleep(500).await;
        assert_eq!(
            connections(&key).await,
            before,
            "{}: reconnected after close",
            name(engine)
        );
    }
}

async fn open_responses(key: &str) -> u32 {
    let v = get_json(&common::url(&["/sse/connections?key=", key].concat())).await;
    prop(&v, "open").as_f64().unwrap() as u32
}

#[wasm_bindgen_test]
async fn dropping_mid_response_ends_the_request_at_the_server() {
    for engine in ENGINES {
        let key = common::unique_key("abort");
        let path = ["/sse?events=1&hold=20000&key=", &key].concat();
        let mut es = open(&path, EventSourceOptions::default().polyfill(engine));
        messages(&mut es, 1).await;
        assert_eq!(open_responses(&key).await, 1, "{}", name(engine));
        drop(es);
        // The server notices the closed connection at its next keep-alive write (1 s).
        within("the server to see the request end", async {
            while open_responses(&key).await != 0 {
                sleep(100).await;
            }
        })
        .await;
        assert_eq!(connections(&key).await, 1, "{}", name(engine));
    }
}

#[wasm_bindgen_test]
async fn network_failure_reconnects_and_the_polyfill_can_give_up() {
    // Nothing listens on port 9 (discard) of 127.0.0.1 in the test setup: connection refused.
    let url = "http://127.0.0.1:9/sse";
    for engine in ENGINES {
        let opts = EventSourceOptions::default()
            .polyfill(engine)
            .retry(10)
            .max_retries(2);
        let mut es = EventSource::open(url, opts).unwrap();
        match next(&mut es).await {
            Some(SseEvent::Error {
                fatal: false,
                error,
            }) => {
                assert_eq!(es.ready_state(), ReadyState::Connecting, "{}", name(engine));
                if engine == Polyfill::Always {
                    assert!(error.expect("cause").is_network());
                }
            }
            // The standard lets a browser fail the connection when retrying looks futile;
            // Firefox does so for a refused connection.
            Some(SseEvent::Error { fatal: true, .. }) if engine == Polyfill::Never => {
                assert_eq!(es.ready_state(), ReadyState::Closed);
            }
            other => panic!(
                "{}: expected a non-fatal error, got {other:?}",
                name(engine)
            ),
        }
        if engine == Polyfill::Always {
            // Two retries, then it gives up.
            assert!(matches!(
                next(&mut es).await,
                Some(SseEvent::Error { fatal: false, .. })
            ));
            match next(&mut es).await {
                Some(SseEvent::Error { fatal: true, error }) => {
                    let error = error.expect("cause");
                    assert!(
                        error.is_network() && error.message().contains("maxRetries"),
                        "{error}"
                    );
                }
                other => panic!("expected the polyfill to give up, got {other:?}"),
            }
            assert_eq!(es.ready_state(), ReadyState::Closed);
            assert!(next(&mut es).await.is_none());
        }
    }
}

#[wasm_bindgen_test]
async fn dropping_releases_the_connection() {
    for engine in ENGINES {
        let key = common::unique_key("drop");
        let path = ["/sse?events=1000&close_after=1&retry=20&key=", &key].concat();
        let mut es = open(&path, EventSourceOptions::default().polyfill(engine));
        messages(&mut es, 2).await;
        drop(es);
        sleep(100).await;
        let before = connections(&key).await;
        sleep(500).await;
        assert_eq!(
            connections(&key).await,
            before,
            "{}: reconnected after drop",
            name(engine)
        );
    }
}

/// Asserts the source fails fatally at once and never reconnects; returns the error cause.
async fn assert_fatal(path: &str, key: &str, engine: Polyfill) -> Option<cometkit::Error> {
    let mut es = open(
        path,
        EventSourceOptions::default().polyfill(engine).retry(20),
    );
    let label = [name(engine), " ", path].concat();
    let error = match within(&label, es.next()).await {
        Some(SseEvent::Error { fatal: true, error }) => error,
        other => panic!(
            "{} {path}: expected a fatal error, got {other:?}",
            name(engine)
        ),
    };
    assert_eq!(
        es.ready_state(),
        ReadyState::Closed,
        "{} {path}",
        name(engine)
    );
    assert!(next(&mut es).await.is_none(), "{} {path}", name(engine));
    sleep(300).await;
    assert_eq!(
        connections(key).await,
        1,
        "{} {path}: no reconnection",
        name(engine)
    );
    error
}

#[wasm_bindgen_test]
async fn non_200_status_is_fatal() {
    for engine in ENGINES {
        for status in ["500", "404", "204"] {
            let key = common::unique_key("status");
            let path = ["/sse?status=", status, "&key=", &key].concat();
            let error = assert_fatal(&path, &key, engine).await;
            if engine == Polyfill::Always {
                let error = error.expect("the polyfill knows why");
                assert!(error.is_http(), "{status}: {error}");
                assert_eq!(
                    error.status().map(|s| s.to_string()).as_deref(),
                    Some(status)
                );
            }
        }
    }
}

#[wasm_bindgen_test]
async fn wrong_content_type_is_fatal() {
    for engine in ENGINES {
        for ctype in ["text/plain", "text/x-bogus", "x%20bogus"] {
            let key = common::unique_key("ctype");
            // end=1: Chromium holds back a text/plain response for MIME sniffing until it
            // has enough bytes or the end, so an open-ended one would delay the failure.
            let path = ["/sse?end=1&ctype=", ctype, "&key=", &key].concat();
            let error = assert_fatal(&path, &key, engine).await;
            if engine == Polyfill::Always {
                assert!(error.expect("the polyfill knows why").is_protocol());
            }
        }
    }
}

#[wasm_bindgen_test]
async fn content_type_parameters_and_trailing_semicolon_are_accepted() {
    for engine in ENGINES {
        for ctype in [
            "text/event-stream%3B",
            "TEXT/Event-Stream%3B%20charset%3Dutf-8",
        ] {
            let mut es = open(
                &["/sse?events=1&ctype=", ctype].concat(),
                EventSourceOptions::default().polyfill(engine),
            );
            let got = messages(&mut es, 1).await;
            assert_eq!(got[0].data, "event 1", "{} {ctype}", name(engine));
        }
    }
}

/// The first `hello` event's JSON (the fixture describes the request it got).
async fn hello(es: &mut EventSource) -> JsValue {
    let m = messages(es, 1).await.remove(0);
    assert_eq!(m.event_type, "hello");
    js_sys::JSON::parse(&m.data).unwrap()
}

#[wasm_bindgen_test]
async fn polyfill_sends_headers_method_and_body_and_resumes_with_the_header() {
    let key = common::unique_key("post");
    let path = ["/sse?hello=1&events=2&close_after=1&retry=20&key=", &key].concat();
    let opts = EventSourceOptions::default()
        .method("POST")
        .body("the-body")
        .header("X-Custom", "custom value")
        .event_type("hello");
    let mut es = open(&path, opts);
    assert!(es.is_polyfill(), "headers make Auto pick the polyfill");
    let h = hello(&mut es).await;
    assert_eq!(prop(&h, "method").as_string().as_deref(), Some("POST"));
    assert_eq!(prop(&h, "body").as_string().as_deref(), Some("the-body"));
    let headers = prop(&h, "headers");
    assert_eq!(
        prop(&headers, "x-custom").as_string().as_deref(),
        Some("custom value")
    );
    assert_eq!(
        prop(&headers, "accept").as_string().as_deref(),
        Some("text/event-stream")
    );
    assert!(
        prop(&headers, "cache-control").is_undefined(),
        "no Cache-Control unless asked"
    );
    assert!(prop(&h, "lastEventId").is_null());
    assert_eq!(messages(&mut es, 1).await[0].last_event_id, "1");
    // The reconnection carries Last-Event-ID, the same method and the body again.
    let h = hello(&mut es).await;
    assert_eq!(prop(&h, "lastEventId").as_string().as_deref(), Some("1"));
    assert_eq!(prop(&h, "method").as_string().as_deref(), Some("POST"));
    assert_eq!(prop(&h, "body").as_string().as_deref(), Some("the-body"));
    assert_eq!(messages(&mut es, 1).await[0].last_event_id, "2");
    assert!(
        preflights(&key).await >= 1,
        "a custom header is preflighted"
    );
}

#[wasm_bindgen_test]
async fn a_starting_last_event_id_in_latin_1_still_goes_out_as_utf8() {
    // ü fits a byte string as one byte (FC), which is not what the server should read: the
    // header carries its UTF-8 (C3 BC), as for the IDs a server sends.
    let opts = EventSourceOptions::default()
        .last_event_id("ü")
        .event_type("hello");
    let mut es = open("/sse?hello=1&events=1&end=1&retry=20", opts);
    assert!(es.is_polyfill());
    let h = hello(&mut es).await;
    assert_eq!(prop(&h, "lastEventId").as_string().as_deref(), Some("ü"));
}

#[wasm_bindgen_test]
async fn last_event_id_query_parameter_avoids_the_preflight() {
    let key = common::unique_key("param");
    let path = ["/sse?hello=1&events=4&close_after=1&retry=20&key=", &key].concat();
    let opts = EventSourceOptions::default()
        .last_event_id("2")
        .last_event_id_query("lastEventId")
        .event_type("hello");
    let mut es = open(&path, opts);
    assert!(es.is_polyfill());
    assert_eq!(es.last_event_id(), "2");
    let h = hello(&mut es).await;
    assert_eq!(
        prop(&h, "lastEventIdParam").as_string().as_deref(),
        Some("2")
    );
    assert!(prop(&h, "lastEventId").is_null(), "no Last-Event-ID header");
    assert_eq!(messages(&mut es, 1).await[0].last_event_id, "3");
    let h = hello(&mut es).await;
    assert_eq!(
        prop(&h, "lastEventIdParam").as_string().as_deref(),
        Some("3")
    );
    assert_eq!(messages(&mut es, 1).await[0].last_event_id, "4");
    assert_eq!(
        preflights(&key).await,
        0,
        "GET with the id in the query is a simple request"
    );
}

#[wasm_bindgen_test]
async fn with_credentials_sends_cookies_and_needs_cors_credentials() {
    let value = common::unique_key("c").replace('.', "");
    get_text(&common::url(&["/sse/cookie?value=", &value].concat())).await;
    for engine in ENGINES {
        for credentials in [true, false] {
            let opts = EventSourceOptions::default()
                .polyfill(engine)
                .with_credentials(credentials)
                .event_type("hello");
            let mut es = open("/sse?hello=1&events=1", opts);
            assert_eq!(es.with_credentials(), credentials);
            let h = hello(&mut es).await;
            let cookie = prop(&prop(&h, "headers"), "cookie")
                .as_string()
                .unwrap_or_default();
            assert_eq!(
                cookie.contains(&value),
                credentials,
                "{} withCredentials={credentials}: cookie {cookie:?}",
                name(engine)
            );
        }
        // `Access-Control-Allow-Origin: *` does not allow credentials: the browser refuses.
        let opts = EventSourceOptions::default()
            .polyfill(engine)
            .with_credentials(true)
            .max_retries(0);
        let mut es = open("/sse?events=1&cors=star", opts);
        match next(&mut es).await {
            Some(SseEvent::Error { .. }) => {}
            other => panic!("{}: expected an error, got {other:?}", name(engine)),
        }
        es.close();
        let mut es = open(
            "/sse?events=1&cors=star",
            EventSourceOptions::default().polyfill(engine),
        );
        assert_eq!(
            messages(&mut es, 1).await[0].data,
            "event 1",
            "{}",
            name(engine)
        );
    }
}

#[wasm_bindgen_test]
async fn invalid_urls_and_options_are_rejected_before_sending() {
    let cases: Vec<(&str, EventSourceOptions)> = vec![
        ("", EventSourceOptions::default()),
        ("http://[::1", EventSourceOptions::default()),
        ("ftp://127.0.0.1/x", EventSourceOptions::default()),
        (
            "/sse",
            EventSourceOptions::default()
                .polyfill(Polyfill::Never)
                .header("X-A", "1"),
        ),
        (
            "/sse",
            EventSourceOptions::default()
                .polyfill(Polyfill::Never)
                .method("POST"),
        ),
        (
            "/sse",
            EventSourceOptions::default()
                .polyfill(Polyfill::Never)
                .last_event_id_query("id"),
        ),
        (
            "/sse",
            EventSourceOptions::default().header("Bad Name", "1"),
        ),
        (
            "/sse",
            EventSourceOptions::default().header("X-A", "line\r\nbreak"),
        ),
        (
            "/sse",
            EventSourceOptions::default().method("GET").body("x"),
        ),
        ("/sse", EventSourceOptions::default().body("no method")),
        ("/sse", EventSourceOptions::default().method("BAD METHOD")),
        (
            "/sse",
            EventSourceOptions::default().last_event_id_query("a=b"),
        ),
        ("/sse", EventSourceOptions::default().last_event_id("a\nb")),
    ];
    for (url, opts) in cases {
        let url = if url.starts_with('/') {
            common::url(url)
        } else {
            url.to_owned()
        };
        let err = EventSource::open(&url, opts).expect_err(&url);
        assert!(err.is_invalid(), "{url}: {err}");
    }
}

/// Messages until the response ends (the first error), for parser vectors served raw.
async fn until_error(es: &mut EventSource) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    loop {
        match next(es).await {
            Some(SseEvent::Message(m)) => out.push((m.event_type, m.data, m.last_event_id)),
            Some(SseEvent::Open) => {}
            _ => return out,
        }
    }
}

fn encode(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("%{b:02X}")).collect()
}

/// (type, data, lastEventId) of an expected message.
type Expected = (&'static str, &'static str, &'static str);

#[wasm_bindgen_test]
async fn wpt_format_vectors_agree_in_both_engines() {
    let long = "x".repeat(300);
    let comments = [
        "data:1\r:\0\n:\r\ndata:2\n:",
        &long,
        "\rdata:3\n:data:fail\r:",
        &long,
        "\ndata:4\n\n",
    ]
    .concat();
    let vectors: Vec<(&str, Vec<u8>, &str, Vec<Expected>)> = vec![
        ("bom", b"\xEF\xBB\xBFdata:1\n\n\xEF\xBB\xBFdata:2\n\ndata:3\n\n".to_vec(), "", vec![("message", "1", ""), ("message", "3", "")]),
        ("bom-2", b"\xEF\xBB\xBF\xEF\xBB\xBFdata:1\n\ndata:2\n\ndata:3\n\n".to_vec(), "", vec![("message", "2", ""), ("message", "3", "")]),
        ("comments", comments.into_bytes(), "", vec![("message", "1\n2\n3\n4", "")]),
        (
            "field-parsing",
            b"data:\0\ndata:  2\rData:1\ndata\0:2\ndata:1\r\0data:4\nda-ta:3\rdata_5\ndata:3\rdata:\r\n data:32\ndata:4\n\n".to_vec(),
            "",
            vec![("message", "\0\n 2\n1\n3\n\n4", "")],
        ),
        ("newlines", b"data:test\r\ndata\ndata:test\r\n\r\n".to_vec(), "", vec![("message", "test\n\ntest", "")]),
        ("utf-8", b"data:ok\xE2\x80\xA6\n\n".to_vec(), "text/event-stream;charset=windows-1252", vec![("message", "ok\u{2026}", "")]),
        ("invalid utf-8", b"data:a\xFFb\n\n".to_vec(), "", vec![("message", "a\u{FFFD}b", "")]),
        ("ids", b"id: 1\ndata: 1\n\nid\ndata:2\n\nid: 3\ndata:3\n\n".to_vec(), "", vec![("message", "1", "1"), ("message", "2", ""), ("message", "3", "3")]),
        ("id-null", b"id: 1\ndata: 1\n\nid: x\0\ndata:2\n\n".to_vec(), "", vec![("message", "1", "1"), ("message", "2", "1")]),
        ("event", b"event:test\ndata:x\n\nevent: \ndata:y\n\n".to_vec(), "", vec![("test", "x", ""), ("message", "y", "")]),
        ("unfinished", b"data:a\n\nid:z\ndata:b\n".to_vec(), "", vec![("message", "a", "")]),
    ];
    for engine in ENGINES {
        for (label, body, ctype, want) in &vectors {
            let mut path = ["/sse?message=", &encode(body)].concat();
            if !ctype.is_empty() {
                path.push_str(&["&ctype=", &encode(ctype.as_bytes())].concat());
            }
            let opts = EventSourceOptions::default()
                .polyfill(engine)
                .event_type("test");
            let mut es = open(&path, opts);
            let got = until_error(&mut es).await;
            let want: Vec<(String, String, String)> = want
                .iter()
                .map(|(t, d, i)| (t.to_string(), d.to_string(), i.to_string()))
                .collect();
            // Known deviations of native engines from the standard, which the polyfill follows:
            // Chromium fails a response whose charset is not UTF-8 (the charset must be
            // ignored), and Firefox drops an event whose id contains U+0000 (only the id must
            // be ignored).
            let native_quirk = engine == Polyfill::Never
                && ((*label == "utf-8" && got.is_empty())
                    || (*label == "id-null" && got.len() == 1 && got[..] == want[..1]));
            if !native_quirk {
                assert_eq!(got, want, "{} {label}", name(engine));
            }
            if *label == "unfinished" {
                assert_eq!(
                    es.last_event_id(),
                    "",
                    "{}: an unfinished event's id is dropped",
                    name(engine)
                );
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The JavaScript surface

/// A JS function that records what it is called with, and how many times.
struct Recorder {
    calls: Rc<RefCell<Vec<JsValue>>>,
    closure: Closure<dyn FnMut(JsValue)>,
}

impl Recorder {
    fn new() -> Recorder {
        let calls = Rc::new(RefCell::new(Vec::new()));
        let c = calls.clone();
        let closure = Closure::<dyn FnMut(JsValue)>::new(move |v: JsValue| c.borrow_mut().push(v));
        Recorder { calls, closure }
    }

    fn f(&self) -> JsValue {
        self.closure.as_ref().clone()
    }

    fn len(&self) -> usize {
        self.calls.borrow().len()
    }

    fn get(&self, i: usize) -> JsValue {
        self.calls.borrow()[i].clone()
    }

    async fn wait_for(&self, n: usize) {
        within("JS events", async {
            while self.len() < n {
                sleep(10).await;
            }
        })
        .await;
    }
}

#[wasm_bindgen(inline_js = r#"
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

// Given the only reference to a fresh CometEventSource on a steady stream: keeps only its
// listener, forces garbage collection where the browser allows it (Chromium:
// --js-flags=--expose-gc), and checks that the source survives and keeps delivering, then that
// it is released once closed.
export async function js_gc_survival(es) {
  var out = { gc: typeof globalThis.gc === "function" };
  var got = [];
  var target = null;
  async function collect() {
    for (var i = 0; i < 6; i++) {
      if (out.gc) globalThis.gc();
      await new Promise(function (r) { setTimeout(r, 0); });
    }
  }
  var ref = new WeakRef(es);
  es.onmessage = function (e) {
    if (got.length === 0) target = e.target;
    got.push(e.data);
  };
  es = null;
  await wait_for(function () { return got.length > 0; }, "the first event");
  out.targetIsSource = target === ref.deref() && target instanceof EventTarget;
  target = null;
  await collect();
  out.aliveAfterGc = ref.deref() !== undefined;
  if (!out.aliveAfterGc) return out;
  var before = got.length;
  await wait_for(function () { return got.length >= before + 2; }, "events after garbage collection");
  out.deliveredAfterGc = true;
  ref.deref().close();
  await collect();
  out.releasedAfterClose = ref.deref() === undefined;
  return out;
}
"#)]
extern "C" {
    #[wasm_bindgen(catch)]
    async fn js_gc_survival(es: JsSource) -> Result<JsValue, JsValue>;
}

#[wasm_bindgen]
extern "C" {
    /// A `CometEventSource` seen through its JavaScript surface, as a page uses it.
    type JsSource;
    #[wasm_bindgen(method, getter)]
    fn polyfilled(this: &JsSource) -> bool;
    #[wasm_bindgen(method, getter, js_name = readyState)]
    fn ready_state(this: &JsSource) -> u16;
    #[wasm_bindgen(method, getter, js_name = CONNECTING)]
    fn connecting(this: &JsSource) -> u16;
    #[wasm_bindgen(method, getter, js_name = OPEN)]
    fn open(this: &JsSource) -> u16;
    #[wasm_bindgen(method, getter, js_name = CLOSED)]
    fn closed(this: &JsSource) -> u16;
    #[wasm_bindgen(method, getter)]
    fn url(this: &JsSource) -> String;
    #[wasm_bindgen(method, getter, js_name = lastEventId)]
    fn last_event_id(this: &JsSource) -> String;
    #[wasm_bindgen(method, getter)]
    fn onopen(this: &JsSource) -> JsValue;
    #[wasm_bindgen(method, setter)]
    fn set_onopen(this: &JsSource, f: JsValue);
    #[wasm_bindgen(method, getter)]
    fn onmessage(this: &JsSource) -> JsValue;
    #[wasm_bindgen(method, setter)]
    fn set_onmessage(this: &JsSource, f: JsValue);
    #[wasm_bindgen(method, catch, js_name = addEventListener)]
    fn add_event_listener(
        this: &JsSource,
        kind: &str,
        f: JsValue,
        options: JsValue,
    ) -> Result<(), JsValue>;
    #[wasm_bindgen(method, catch, js_name = removeEventListener)]
    fn remove_event_listener(
        this: &JsSource,
        kind: &str,
        f: JsValue,
        options: JsValue,
    ) -> Result<(), JsValue>;
    #[wasm_bindgen(method)]
    fn close(this: &JsSource);
    #[wasm_bindgen(method)]
    fn free(this: &JsSource);
}

/// `openEventSource(url, options)`, as a page calls it.
fn open_event_source(url: JsValue, options: JsValue) -> Result<JsSource, JsValue> {
    cometkit::js::eventsource::open_event_source(url, options).map(JsCast::unchecked_into)
}

fn js_opts(pairs: &[(&str, JsValue)]) -> JsValue {
    let o = js_sys::Object::new();
    for (k, v) in pairs {
        Reflect::set(&o, &JsValue::from_str(k), v).unwrap();
    }
    o.into()
}

#[wasm_bindgen_test]
async fn js_open_event_source_dispatches_real_events() {
    for polyfill in ["never", "always"] {
        let opts = js_opts(&[("polyfill", polyfill.into())]);
        let es = open_event_source(
            common::url("/sse?events=4&named=1&interval=50").into(),
            opts,
        )
        .unwrap();
        assert_eq!(es.polyfilled(), polyfill == "always");
        assert_eq!(es.ready_state(), 0);
        assert_eq!((es.connecting(), es.open(), es.closed()), (0, 1, 2));
        assert!(es.url().ends_with("/sse?events=4&named=1&interval=50"));
        let opened = Recorder::new();
        let ticks = Recorder::new();
        let tocks = Recorder::new();
        es.set_onopen(opened.f());
        es.add_event_listener("tick", ticks.f(), JsValue::UNDEFINED)
            .unwrap();
        es.add_event_listener("tock", tocks.f(), JsValue::UNDEFINED)
            .unwrap();
        assert!(es.onopen().is_function());
        opened.wait_for(1).await;
        assert_eq!(es.ready_state(), 1, "{polyfill}: OPEN inside open");
        ticks.wait_for(2).await;
        tocks.wait_for(2).await;
        let e = ticks.get(1);
        let m: web_sys::MessageEvent = e.dyn_into().expect("a real MessageEvent");
        assert_eq!(m.type_(), "tick");
        assert_eq!(m.data().as_string().as_deref(), Some("event 3"));
        assert_eq!(m.last_event_id(), "3");
        assert_eq!(m.origin(), fixture_origin());
        assert_eq!(es.last_event_id(), "4");
        es.close();
        assert_eq!(es.ready_state(), 2);
    }
}

#[wasm_bindgen_test]
async fn js_onmessage_remove_listener_errors_and_free() {
    for polyfill in ["never", "always"] {
        let key = common::unique_key("js");
        let url = common::url(
            &[
                "/sse?events=1000&interval=20&close_after=3&retry=20&key=",
                &key,
            ]
            .concat(),
        );
        let opts = js_opts(&[("polyfill", polyfill.into()), ("retry", 20.into())]);
        let es = open_event_source(url.into(), opts).unwrap();
        let onmessage = Recorder::new();
        let listener = Recorder::new();
        let errors = Recorder::new();
        es.set_onmessage(onmessage.f());
        es.add_event_listener("message", listener.f(), JsValue::UNDEFINED)
            .unwrap();
        es.add_event_listener("error", errors.f(), JsValue::UNDEFINED)
            .unwrap();
        listener.wait_for(2).await;
        es.remove_event_listener("message", listener.f(), JsValue::UNDEFINED)
            .unwrap();
        let kept = listener.len();
        // close_after=3: a reconnection (error event, not fatal) and more messages follow.
        errors.wait_for(1).await;
        let err = errors.get(0);
        assert!(
            err.is_instance_of::<web_sys::Event>()
                && !err.is_instance_of::<web_sys::MessageEvent>()
        );
        assert_eq!(prop(&err, "fatal").as_bool(), Some(false), "{polyfill}");
        onmessage.wait_for(kept + 3).await;
        assert_eq!(
            listener.len(),
            kept,
            "{polyfill}: a removed listener is not called"
        );
        let data: Vec<String> = (0..onmessage.len())
            .map(|i| prop(&onmessage.get(i), "data").as_string().unwrap())
            .collect();
        assert_eq!(
            data[..4],
            ["event 1", "event 2", "event 3", "event 4"],
            "{polyfill}"
        );
        // Clearing the handler.
        es.set_onmessage(JsValue::NULL);
        assert!(es.onmessage().is_null());
        // free() closes: no further connections.
        es.free();
        sleep(100).await;
        let before = connections(&key).await;
        sleep(400).await;
        assert_eq!(
            connections(&key).await,
            before,
            "{polyfill}: reconnected after free"
        );
    }
}

#[wasm_bindgen_test]
async fn js_fatal_error_event_carries_the_cause() {
    for polyfill in ["never", "always"] {
        let opts = js_opts(&[("polyfill", polyfill.into())]);
        let es = open_event_source(common::url("/sse?status=503").into(), opts).unwrap();
        let errors = Recorder::new();
        es.add_event_listener("error", errors.f(), JsValue::UNDEFINED)
            .unwrap();
        errors.wait_for(1).await;
        let e = errors.get(0);
        assert_eq!(prop(&e, "fatal").as_bool(), Some(true));
        assert_eq!(es.ready_state(), 2);
        if polyfill == "always" {
            let cause = prop(&e, "error");
            assert_eq!(prop(&cause, "kind").as_string().as_deref(), Some("http"));
            assert_eq!(prop(&cause, "status").as_f64(), Some(503.0));
        } else {
            assert!(prop(&e, "error").is_undefined());
        }
    }
}

#[wasm_bindgen_test]
async fn js_options_post_headers_and_query_param() {
    let key = common::unique_key("jspost");
    let url = common::url(&["/sse?hello=1&events=1&key=", &key].concat());
    let headers = js_opts(&[("X-Custom", "from js".into())]);
    let opts = js_opts(&[
        ("method", "POST".into()),
        ("body", "{\"a\":1}".into()),
        ("headers", headers),
        ("lastEventId", "7".into()),
        ("lastEventIdParam", true.into()),
    ]);
    let es = open_event_source(url.into(), opts).unwrap();
    assert!(es.polyfilled(), "auto picks the polyfill for these options");
    assert_eq!(es.last_event_id(), "7");
    let hellos = Recorder::new();
    es.add_event_listener("hello", hellos.f(), JsValue::UNDEFINED)
        .unwrap();
    hellos.wait_for(1).await;
    let h = js_sys::JSON::parse(&prop(&hellos.get(0), "data").as_string().unwrap()).unwrap();
    assert_eq!(prop(&h, "method").as_string().as_deref(), Some("POST"));
    assert_eq!(prop(&h, "body").as_string().as_deref(), Some("{\"a\":1}"));
    assert_eq!(
        prop(&prop(&h, "headers"), "x-custom")
            .as_string()
            .as_deref(),
        Some("from js")
    );
    assert_eq!(
        prop(&h, "lastEventIdParam").as_string().as_deref(),
        Some("7")
    );
    es.close();
}

#[wasm_bindgen_test]
fn js_invalid_arguments_throw_kind_invalid() {
    let url = || JsValue::from(common::url("/sse"));
    let cases: Vec<(JsValue, JsValue)> = vec![
        (JsValue::from(42), JsValue::UNDEFINED),
        ("".into(), JsValue::UNDEFINED),
        ("ftp://x/".into(), JsValue::UNDEFINED),
        (url(), JsValue::from("not an object")),
        (url(), js_opts(&[("polyfill", "sometimes".into())])),
        (url(), js_opts(&[("withCredentials", "yes".into())])),
        (url(), js_opts(&[("retry", (-1).into())])),
        (url(), js_opts(&[("maxRetries", 1.5.into())])),
        (url(), js_opts(&[("lastEventIdParam", 3.into())])),
        (
            url(),
            js_opts(&[("polyfill", "never".into()), ("method", "POST".into())]),
        ),
        (url(), js_opts(&[("headers", "X-A: 1".into())])),
    ];
    for (u, o) in cases {
        let label = format!("{u:?} {o:?}");
        let err = open_event_source(u, o)
            .err()
            .unwrap_or_else(|| panic!("accepted {label}"));
        assert_eq!(
            prop(&err, "kind").as_string().as_deref(),
            Some("invalid"),
            "{label}"
        );
    }
    // A URL object is accepted.
    let u = web_sys::Url::new(&common::url("/sse?events=1")).unwrap();
    let es = open_event_source(u.into(), JsValue::UNDEFINED).unwrap();
    es.close();
}

#[wasm_bindgen_test]
async fn js_listener_calling_close_stops_delivery() {
    for polyfill in ["never", "always"] {
        let opts = js_opts(&[("polyfill", polyfill.into())]);
        let es = Rc::new(RefCell::new(Some(
            open_event_source(common::url("/sse?events=5").into(), opts).unwrap(),
        )));
        let count = Rc::new(RefCell::new(0u32));
        let (es2, count2) = (es.clone(), count.clone());
        let closer = Closure::<dyn FnMut(JsValue)>::new(move |_e: JsValue| {
            *count2.borrow_mut() += 1;
            if let Some(es) = es2.borrow().as_ref() {
                es.close();
            }
        });
        es.borrow()
            .as_ref()
            .unwrap()
            .add_event_listener("message", closer.as_ref().clone(), JsValue::UNDEFINED)
            .unwrap();
        within("first message", async {
            while *count.borrow() == 0 {
                sleep(10).await;
            }
        })
        .await;
        sleep(300).await;
        assert_eq!(
            *count.borrow(),
            1,
            "{polyfill}: nothing after close() in a listener"
        );
        assert_eq!(es.borrow().as_ref().unwrap().ready_state(), 2);
        let taken = es.borrow_mut().take();
        if let Some(es) = taken {
            es.free();
        }
    }
}

#[wasm_bindgen_test]
async fn non_ascii_last_event_id_survives_reconnection() {
    // format-field-id: the id "…" goes back to the server as its UTF-8 bytes.
    for engine in ENGINES {
        let body = encode("id: \u{2026}\nretry: 20\ndata: x\n\n".as_bytes());
        let path = ["/sse?hello=1&message=", &body].concat();
        let mut es = open(
            &path,
            EventSourceOptions::default()
                .polyfill(engine)
                .event_type("hello"),
        );
        let h = hello(&mut es).await;
        assert!(prop(&h, "lastEventId").is_null(), "{}", name(engine));
        let m = messages(&mut es, 1).await.remove(0);
        assert_eq!(
            (m.data.as_str(), m.last_event_id.as_str()),
            ("x", "\u{2026}"),
            "{}",
            name(engine)
        );
        let h = hello(&mut es).await;
        assert_eq!(
            prop(&h, "lastEventId").as_string().as_deref(),
            Some("\u{2026}"),
            "{}",
            name(engine)
        );
    }
}

#[wasm_bindgen_test]
async fn js_source_referenced_only_by_its_listeners_stays_alive_and_is_its_events_target() {
    for polyfill in ["never", "always"] {
        let opts = js_opts(&[("polyfill", polyfill.into())]);
        let es =
            open_event_source(common::url("/sse?events=1000&interval=30").into(), opts).unwrap();
        // The only reference goes to the JS helper (by value: nothing is left in wasm).
        let out = js_gc_survival(es).await.unwrap();
        let yes = |k: &str| prop(&out, k).as_bool().unwrap_or(false);
        assert!(
            yes("targetIsSource"),
            "{polyfill}: event.target is the source: {out:?}"
        );
        assert!(
            yes("aliveAfterGc"),
            "{polyfill}: survives garbage collection: {out:?}"
        );
        assert!(yes("deliveredAfterGc"), "{polyfill}: {out:?}");
        if yes("gc") {
            assert!(
                yes("releasedAfterClose"),
                "{polyfill}: collectable once closed: {out:?}"
            );
        } else {
            wasm_bindgen_test::console_log!(
                "this browser exposes no gc(): collection was not forced (Chromium runs it forced)"
            );
        }
    }
}

/// Relative URLs resolve as the browser's own constructors resolve them: against the
/// document's base URL, so a `<base href>` counts (for EventSource, WebSocket, Socket, JSONP
/// and XHR alike: one resolver serves them all).
#[wasm_bindgen_test]
async fn relative_urls_resolve_against_the_base_element_as_native_constructors_do() {
    let document = web_sys::window().unwrap().document().unwrap();
    let base = document.create_element("base").unwrap();
    base.set_attribute("href", &common::url("/base/dir/"))
        .unwrap();
    document.head().unwrap().append_child(&base).unwrap();

    let native = web_sys::EventSource::new("events?n=1").unwrap();
    let expected = native.url();
    native.close();
    assert_eq!(expected, common::url("/base/dir/events?n=1"));
    for engine in [Polyfill::Never, Polyfill::Always] {
        let options = EventSourceOptions::default().polyfill(engine);
        let ours = EventSource::open("events?n=1", options).unwrap();
        assert_eq!(ours.url(), expected, "{engine:?}");
    }

    // The WebSocket standard resolves against the document's base URL too (Chromium does;
    // Firefox's native constructor ignores `<base href>`, so it is not the reference here).
    let expected = common::url("/base/ws").replacen("http:", "ws:", 1);
    let ours = cometkit::WebSocket::open("../ws").unwrap();
    assert_eq!(ours.url(), expected);
    drop(ours);

    let socket = cometkit::Socket::connect("sockjs/echo", cometkit::SocketOptions::new()).unwrap();
    assert_eq!(socket.url(), common::url("/base/dir/sockjs/echo"));
    drop(socket);

    base.remove();
}
