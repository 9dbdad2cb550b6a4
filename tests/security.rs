#![cfg(all(
    target_arch = "wasm32",
    feature = "xhr",
    feature = "xdr",
    feature = "jsonp",
    feature = "ping",
    feature = "eventsource",
    feature = "js"
))]
//! The security helpers against the `fixtures/xsrf.rs` endpoints: the CSRF token goes to the
//! page's own origin and to listed origins, never to others; it is read from a cookie, a
//! `<meta>` tag or a function; `xdrRequest` refuses it; secure-only mode refuses `http:` and
//! `ws:` URLs before anything is sent (per call and page-wide); JSONP loads only from trusted
//! origins.
//!
//! The test page is served by the test runner on its own port of 127.0.0.1, so the fixture
//! server (another port) is cross-origin to it: "not sent cross-origin" and "sent to a listed
//! origin" are checked by the server, which records whether the header arrived. Cookies do not
//! depend on the port, so a token cookie set by the fixture is readable by the page, exactly
//! the double-submit setup. "Sent same-origin" uses a relative URL to the runner itself, with
//! `setRequestHeader` observed in the page (the runner cannot report what it received).

wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

mod common;

use std::future::Future;

use cometkit::js::ping::ping as js_ping;
use cometkit::js::security::set_defaults as js_set_defaults;
use cometkit::security::{self, Defaults, SecureOnly, Xsrf};
use cometkit::transport::eventsource::{EventSource, EventSourceOptions, Polyfill};
use cometkit::transport::jsonp::Jsonp;
use cometkit::transport::ping::Ping;
use cometkit::transport::xdr::XdrRequest;
use cometkit::transport::xhr::Request;
use cometkit::ErrorKind;
use futures_util::future::{select, Either};
use gloo_timers::future::TimeoutFuture;
use js_sys::{Array, Function, Object, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::wasm_bindgen_test;

#[wasm_bindgen(inline_js = r#"
export async function fetch_json(url) {
  const r = await fetch(url, { cache: "no-store", credentials: "include" });
  return await r.json();
}
export function record_headers() {
  const original = XMLHttpRequest.prototype.setRequestHeader;
  const seen = [];
  XMLHttpRequest.prototype.setRequestHeader = function (name, value) {
    seen.push(name + ": " + value);
    return original.call(this, name, value);
  };
  return { original, seen };
}
export function stop_recording(r) {
  XMLHttpRequest.prototype.setRequestHeader = r.original;
  return r.seen;
}
export function add_meta(name, content) {
  const m = document.createElement("meta");
  m.name = name;
  m.content = content;
  document.head.appendChild(m);
  return m;
}
export function set_page_cookie(text) { document.cookie = text; }
export function page_origin() { return self.origin; }
export function requests_matching(fragment) {
  return performance.getEntriesByType("resource").filter((e) => e.name.indexOf(fragment) !== -1).length;
}
export function scripts_matching(fragment) {
  let n = 0;
  document.querySelectorAll("script").forEach((s) => { if (s.src.indexOf(fragment) !== -1) n++; });
  return n;
}
export function constant(v) { return () => v; }
export function thrower() { return () => { throw new Error("no token here"); }; }
"#)]
extern "C" {
    async fn fetch_json(url: &str) -> JsValue;
    fn record_headers() -> JsValue;
    fn stop_recording(r: &JsValue) -> Array;
    fn add_meta(name: &str, content: &str) -> web_sys::Element;
    fn set_page_cookie(text: &str);
    fn page_origin() -> String;
    fn requests_matching(fragment: &str) -> u32;
    fn scripts_matching(fragment: &str) -> u32;
    fn constant(v: &str) -> Function;
    fn thrower() -> Function;
}

// ---------------------------------------------------------------------------------------------
// helpers

async fn within<T>(what: &str, f: impl Future<Output = T>) -> T {
    match select(Box::pin(f), TimeoutFuture::new(20_000)).await {
        Either::Left((v, _)) => v,
        Either::Right(_) => panic!("timed out: {what}"),
    }
}

fn get(v: &JsValue, key: &str) -> JsValue {
    Reflect::get(v, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

fn obj(pairs: &[(&str, JsValue)]) -> JsValue {
    let o = Object::new();
    for (k, v) in pairs {
        Reflect::set(&o, &JsValue::from_str(k), v).unwrap();
    }
    o.into()
}

fn strings(items: &[&str]) -> JsValue {
    items
        .iter()
        .map(|s| JsValue::from_str(s))
        .collect::<Array>()
        .into()
}

fn js_kind(err: &JsValue) -> String {
    get(err, "kind")
        .as_string()
        .unwrap_or_else(|| panic!("not a cometkit error: {err:?}"))
}

fn js_status(result: &Result<JsValue, JsValue>) -> f64 {
    match result {
        Ok(v) => get(v, "status").as_f64().expect("status"),
        Err(e) => get(e, "status")
            .as_f64()
            .unwrap_or_else(|| panic!("not an HTTP error: {e:?}")),
    }
}

/// A name unique to this run (cookies outlive the page).
fn unique(prefix: &str) -> String {
    common::unique_key(prefix).replace('.', "")
}

/// Turns every page-wide default off again when dropped, so a failing test leaves no policy
/// behind for the next one.
struct ResetDefaults;

impl Drop for ResetDefaults {
    fn drop(&mut self) {
        let _ = security::set_defaults(Defaults::new());
    }
}

/// Sets a fresh token cookie named `name` through the fixture (as a login would) and returns
/// the token.
async fn issue_token(name: &str) -> String {
    let v = fetch_json(&common::url(&format!("/xsrf/token?name={name}"))).await;
    get(&v, "token").as_string().expect("token")
}

fn protected(cookie: &str, key: &str) -> String {
    common::url(&format!("/xsrf/protected?cookie={cookie}&key={key}"))
}

/// `(requests, requests that carried the header, the last header value)` under `key`.
async fn seen(key: &str) -> (u32, u32, Option<String>) {
    let v = fetch_json(&common::url(&format!("/xsrf/seen?key={key}"))).await;
    (
        get(&v, "requests").as_f64().expect("requests") as u32,
        get(&v, "withHeader").as_f64().expect("withHeader") as u32,
        get(&v, "lastHeader").as_string(),
    )
}

async fn fixture_hits(key: &str) -> u32 {
    let v = fetch_json(&common::url(&format!("/hits?key={key}"))).await;
    get(&v, "count").as_f64().expect("count") as u32
}

// ---------------------------------------------------------------------------------------------
// CSRF token: where it goes

#[wasm_bindgen_test]
async fn token_is_sent_to_a_listed_origin_and_the_server_accepts_it() {
    let cookie = unique("ck");
    let key = unique("listed");
    let token = issue_token(&cookie).await;
    let xsrf = Xsrf::new("X-XSRF-TOKEN")
        .cookie(&cookie)
        .origin(common::FIXTURE);
    let res = within(
        "protected POST",
        Request::post(&protected(&cookie, &key))
            .with_credentials(true)
            .xsrf(xsrf)
            .send(),
    )
    .await
    .expect("the server accepts the token");
    assert_eq!(res.status(), 200);
    assert_eq!(seen(&key).await, (1, 1, Some(token)));
}

#[wasm_bindgen_test]
async fn token_is_never_sent_to_an_unlisted_origin() {
    let cookie = unique("ck");
    let key = unique("unlisted");
    issue_token(&cookie).await;
    // Same host, other port: another origin, though the cookie is shared.
    let other_port = Xsrf::new("X-XSRF-TOKEN")
        .cookie(&cookie)
        .origin("http://127.0.0.1:1");
    for xsrf in [Xsrf::new("X-XSRF-TOKEN").cookie(&cookie), other_port] {
        let err = within(
            "protected POST",
            Request::post(&protected(&cookie, &key))
                .with_credentials(true)
                .xsrf(xsrf)
                .send(),
        )
        .await
        .expect_err("no token, so the server refuses");
        assert_eq!(err.status(), Some(403));
    }
    assert_eq!(seen(&key).await, (2, 0, None), "the header must not arrive");
}

#[wasm_bindgen_test]
async fn token_goes_same_origin_without_listing() {
    let _reset = ResetDefaults;
    let cookie = unique("same");
    set_page_cookie(&format!("{cookie}=page-token; path=/"));
    let recorder = record_headers();
    // A relative URL: the test runner's own origin (it serves the crate root).
    let same = js_request(obj(&[
        ("url", "/Cargo.toml".into()),
        ("xsrf", obj(&[("cookieName", cookie.as_str().into())])),
    ]))
    .await;
    let key = unique("cross");
    let cross = js_request(obj(&[
        ("url", protected(&cookie, &key).into()),
        ("xsrf", obj(&[("cookieName", cookie.as_str().into())])),
    ]))
    .await;
    let headers: Vec<String> = stop_recording(&recorder)
        .iter()
        .filter_map(|v| v.as_string())
        .collect();
    set_page_cookie(&format!("{cookie}=; max-age=0; path=/"));
    // Whatever the runner answers (it serves the crate root), it answered over HTTP.
    js_status(&same);
    assert_eq!(js_status(&cross), 403.0);
    assert_eq!(
        headers,
        ["X-XSRF-TOKEN: page-token"],
        "only the same-origin request has it"
    );
    assert_eq!(seen(&key).await, (1, 0, None));

    // The decision the Socket's transports use, read from the real page.
    security::set_defaults(Defaults::new().xsrf(Xsrf::default().cookie(&cookie))).unwrap();
    set_page_cookie(&format!("{cookie}=again; path=/"));
    let page = page_origin();
    let same_header = security::xsrf_header_for("/sockjs/info");
    let absolute_header = security::xsrf_header_for(&format!("{page}/x"));
    let cross_header = security::xsrf_header_for(&common::url("/sockjs/info"));
    set_page_cookie(&format!("{cookie}=; max-age=0; path=/"));
    let expected = Some(("X-XSRF-TOKEN".to_owned(), "again".to_owned()));
    assert_eq!(same_header.unwrap(), expected);
    assert_eq!(absolute_header.unwrap(), expected);
    assert_eq!(cross_header.unwrap(), None);
}

#[wasm_bindgen_test]
async fn the_eventsource_polyfill_sends_the_page_token() {
    let _reset = ResetDefaults;
    let cookie = unique("ck");
    let key = unique("es");
    let token = issue_token(&cookie).await;
    security::set_defaults(
        Defaults::new().xsrf(Xsrf::default().cookie(&cookie).origin(common::FIXTURE)),
    )
    .unwrap();
    let options = EventSourceOptions::default()
        .polyfill(Polyfill::Always)
        .with_credentials(true);
    let mut es = EventSource::open(&protected(&cookie, &key), options).expect("opens");
    // The endpoint answers JSON, not a stream: the first event is the failure.
    within("first event", es.next()).await;
    drop(es);
    let (requests, with_header, last) = seen(&key).await;
    assert!(requests >= 1);
    assert_eq!(with_header, requests);
    assert_eq!(last, Some(token));
}

// ---------------------------------------------------------------------------------------------
// CSRF token: where it comes from, page-wide defaults, per-call overrides

#[wasm_bindgen_test]
async fn page_default_applies_and_per_call_false_turns_it_off() {
    let _reset = ResetDefaults;
    let cookie = unique("ck");
    let key = unique("defaults");
    let token = issue_token(&cookie).await;
    js_set_defaults(obj(&[(
        "xsrf",
        obj(&[
            ("cookieName", cookie.as_str().into()),
            ("origins", strings(&[common::FIXTURE])),
        ]),
    )]))
    .expect("valid defaults");
    let call = |extra: Option<(&str, JsValue)>| {
        let mut pairs = vec![
            ("url", JsValue::from(protected(&cookie, &key))),
            ("method", "POST".into()),
            ("withCredentials", true.into()),
        ];
        pairs.extend(extra);
        js_request(obj(&pairs))
    };
    assert_eq!(js_status(&within("default", call(None)).await), 200.0);
    assert_eq!(
        js_status(&within("off", call(Some(("xsrf", false.into())))).await),
        403.0
    );
    js_set_defaults(obj(&[])).unwrap();
    assert_eq!(js_status(&within("reset", call(None)).await), 403.0);
    assert_eq!(seen(&key).await, (3, 1, Some(token)));
}

#[wasm_bindgen_test]
async fn token_from_meta_tag_or_function_in_that_order() {
    let cookie = unique("ck");
    let key = unique("sources");
    let token = issue_token(&cookie).await;
    let meta_name = unique("meta");
    let meta = add_meta(&meta_name, &token);
    let send = |xsrf: JsValue| {
        js_request(obj(&[
            ("url", protected(&cookie, &key).into()),
            ("withCredentials", true.into()),
            ("xsrf", xsrf),
        ]))
    };
    let origins = || ("origins", strings(&[common::FIXTURE]));
    // The meta tag.
    let r1 = send(obj(&[("metaName", meta_name.as_str().into()), origins()])).await;
    // A function, ahead of the meta tag.
    let r2 = send(obj(&[
        ("metaName", meta_name.as_str().into()),
        ("token", constant("wrong").into()),
        origins(),
    ]))
    .await;
    let r3 = send(obj(&[("token", constant(&token).into()), origins()])).await;
    // A function that throws falls through to the cookie.
    let r4 = send(obj(&[
        ("token", thrower().into()),
        ("cookieName", cookie.as_str().into()),
        origins(),
    ]))
    .await;
    // ...and with no other source, sends nothing.
    let r5 = send(obj(&[("token", thrower().into()), origins()])).await;
    meta.remove();
    let statuses: Vec<f64> = [&r1, &r2, &r3, &r4, &r5]
        .into_iter()
        .map(js_status)
        .collect();
    assert_eq!(statuses, [200.0, 403.0, 200.0, 200.0, 403.0]);
    assert_eq!(seen(&key).await.1, 4);
}

#[wasm_bindgen_test]
async fn a_header_set_by_the_caller_wins() {
    let cookie = unique("ck");
    let key = unique("mine");
    issue_token(&cookie).await;
    let err = Request::get(&protected(&cookie, &key))
        .with_credentials(true)
        .header("x-xsrf-token", "mine")
        .xsrf(Xsrf::default().cookie(&cookie).origin(common::FIXTURE))
        .send()
        .await
        .expect_err("the caller's value does not match");
    assert_eq!(err.status(), Some(403));
    assert_eq!(seen(&key).await, (1, 1, Some("mine".to_owned())));
}

#[wasm_bindgen_test]
async fn bad_xsrf_options_are_invalid_and_nothing_is_sent() {
    let _reset = ResetDefaults;
    let key = unique("badopts");
    let url = common::url(&format!("/echo?key={key}"));
    for xsrf in [
        obj(&[("headerName", "bad name".into())]),
        obj(&[("origins", strings(&["127.0.0.1:8090"]))]),
        obj(&[("origins", "https://example.com".into())]),
        obj(&[("token", "not a function".into())]),
        JsValue::from(5),
    ] {
        let err = js_request(obj(&[("url", url.as_str().into()), ("xsrf", xsrf)]))
            .await
            .expect_err("invalid");
        assert_eq!(js_kind(&err), "invalid");
    }
    let err = Request::get(&url)
        .xsrf(Xsrf::new("X-Token").origin("https://example.com/path"))
        .send()
        .await
        .expect_err("invalid");
    assert_eq!(err.kind(), ErrorKind::Invalid);
    assert_eq!(fixture_hits(&key).await, 0);

    // Bad defaults throw and leave the old ones in place.
    js_set_defaults(obj(&[("secureOnly", true.into())])).unwrap();
    let err = js_set_defaults(obj(&[("jsonpOrigins", strings(&["nope"]))])).expect_err("invalid");
    assert_eq!(js_kind(&err), "invalid");
    assert!(js_set_defaults(JsValue::from(1)).is_err());
    assert!(
        security::check_url("http://example.com/", None).is_err(),
        "old defaults kept"
    );
}

#[wasm_bindgen_test]
async fn xdr_request_refuses_a_token_and_never_sends_the_page_one() {
    let _reset = ResetDefaults;
    let cookie = unique("ck");
    let key = unique("xdr");
    issue_token(&cookie).await;
    let err = js_xdr_request(obj(&[
        ("url", protected(&cookie, &key).into()),
        ("xsrf", obj(&[("cookieName", cookie.as_str().into())])),
    ]))
    .await
    .expect_err("XDR cannot carry headers");
    assert_eq!(js_kind(&err), "invalid");
    assert!(get(&err, "message").as_string().unwrap().contains("xsrf"));
    assert_eq!(seen(&key).await.0, 0, "nothing was sent");

    // A page-wide token is silently left out: the request stays a simple one.
    security::set_defaults(
        Defaults::new().xsrf(Xsrf::default().cookie(&cookie).origin(common::FIXTURE)),
    )
    .unwrap();
    let result = js_xdr_request(obj(&[("url", protected(&cookie, &key).into())])).await;
    // No cookie either (XDR sends none), so the server refuses; the point is the header.
    assert_eq!(js_status(&result), 403.0);
    assert_eq!(seen(&key).await, (1, 0, None));
}

// ---------------------------------------------------------------------------------------------
// secure-only mode

#[wasm_bindgen_test]
async fn secure_only_refuses_http_before_sending() {
    let key = unique("secure");
    let url = common::url(&format!("/echo?key={key}"));
    let err = Request::get(&url)
        .secure_only(SecureOnly::Always)
        .send()
        .await
        .expect_err("http refused");
    assert_eq!(err.kind(), ErrorKind::Invalid);
    assert!(err.message().contains("https"), "{}", err.message());
    let err = js_request(obj(&[
        ("url", url.as_str().into()),
        ("secureOnly", true.into()),
    ]))
    .await
    .expect_err("http refused");
    assert_eq!(js_kind(&err), "invalid");
    let err = js_request(obj(&[
        ("url", url.as_str().into()),
        ("secureOnly", "yes".into()),
    ]))
    .await
    .expect_err("bad option");
    assert_eq!(js_kind(&err), "invalid");
    assert_eq!(fixture_hits(&key).await, 0, "nothing reached the server");

    // The fixture is on 127.0.0.1: loopback may be allowed.
    let res = Request::get(&url)
        .secure_only(SecureOnly::AllowLoopback)
        .send()
        .await
        .expect("loopback allowed");
    assert_eq!(res.status(), 200);
    let res = js_request(obj(&[
        ("url", url.as_str().into()),
        ("secureOnly", obj(&[("allowLoopback", true.into())])),
    ]))
    .await;
    assert_eq!(js_status(&res), 200.0);
    assert_eq!(fixture_hits(&key).await, 2);
}

#[wasm_bindgen_test]
async fn page_wide_secure_only_covers_every_entry_point() {
    let _reset = ResetDefaults;
    let key = unique("pagesecure");
    js_set_defaults(obj(&[("secureOnly", true.into())])).unwrap();
    let echo = common::url(&format!("/echo?key={key}"));
    let jsonp_url = common::url(&format!("/jsonp?key={key}"));
    let ping_url = common::url(&format!("/ping?key={key}"));

    let e1 = js_request(obj(&[("url", echo.as_str().into())]))
        .await
        .unwrap_err();
    let e2 = js_xdr_request(obj(&[("url", echo.as_str().into())]))
        .await
        .unwrap_err();
    let e3 = js_jsonp(jsonp_url.as_str().into(), None).await.unwrap_err();
    let e4 = js_ping(ping_url.as_str().into(), None, None)
        .await
        .unwrap_err();
    for e in [&e1, &e2, &e3, &e4] {
        assert_eq!(js_kind(e), "invalid", "{e:?}");
    }
    let r1 = Request::get(&echo).send().await.unwrap_err();
    let r2 = XdrRequest::new("GET", &echo).send().await.unwrap_err();
    let r3 = Jsonp::new(jsonp_url.as_str()).send().await.unwrap_err();
    let r4 = Ping::new(ping_url.as_str()).send().await.unwrap_err();
    for e in [&r1, &r2, &r3, &r4] {
        assert_eq!(e.kind(), ErrorKind::Invalid, "{e:?}");
    }
    assert_eq!(scripts_matching(&key), 0, "no script was added");
    assert_eq!(requests_matching(&key), 0, "nothing was requested");

    // What EventSource, WebSocket and the Socket call.
    assert!(security::check_url("ws://127.0.0.1:1/x", None).is_err());
    assert!(security::check_url("/relative/on/an/http/page", None).is_err());
    assert!(security::check_url("wss://example.com/x", None).is_ok());
    assert!(security::check_url("https://example.com/x", None).is_ok());
    assert!(security::check_url("http://example.com/x", Some(SecureOnly::Off)).is_ok());

    // A per-call `false` overrides the default.
    let res = js_request(obj(&[
        ("url", echo.as_str().into()),
        ("secureOnly", false.into()),
    ]))
    .await;
    assert_eq!(js_status(&res), 200.0);

    // Loopback allowed page-wide.
    js_set_defaults(obj(&[(
        "secureOnly",
        obj(&[("allowLoopback", true.into())]),
    )]))
    .unwrap();
    assert!(security::check_url("ws://127.0.0.1:1/x", None).is_ok());
    assert!(security::check_url("http://localhost:1/x", None).is_ok());
    assert!(security::check_url("http://example.com/x", None).is_err());
    let res = within("ping", Ping::new(ping_url.as_str()).send()).await;
    assert!(res.is_ok(), "{res:?}");
    assert_eq!(
        fixture_hits(&key).await,
        1,
        "only the per-call override reached /echo"
    );
}

#[wasm_bindgen_test]
async fn eventsource_applies_secure_only_to_both_engines() {
    let _reset = ResetDefaults;
    let key = unique("essecure");
    let url = protected("none", &key);
    security::set_defaults(Defaults::new().secure_only(SecureOnly::Always)).unwrap();
    for engine in [Polyfill::Never, Polyfill::Always] {
        let err = EventSource::open(&url, EventSourceOptions::default().polyfill(engine))
            .expect_err("http refused");
        assert_eq!(err.kind(), ErrorKind::Invalid);
    }
    let err = EventSource::open(
        &url,
        EventSourceOptions::default().secure_only(SecureOnly::Always),
    )
    .expect_err("refused per call too");
    assert_eq!(err.kind(), ErrorKind::Invalid);
    assert_eq!(seen(&key).await.0, 0, "nothing was sent");
    // A per-call `Off` wins over the page default, for the polyfill's requests too.
    let mut es = EventSource::open(
        &url,
        EventSourceOptions::default()
            .polyfill(Polyfill::Always)
            .secure_only(SecureOnly::Off),
    )
    .expect("opens");
    within("first event", es.next()).await;
    drop(es);
    assert!(seen(&key).await.0 >= 1, "the polyfill's request went out");
}

// ---------------------------------------------------------------------------------------------
// trusted JSONP origins

#[wasm_bindgen_test]
async fn jsonp_outside_the_trusted_origins_adds_no_script() {
    let key = unique("jsonp");
    let url = common::url(&format!("/jsonp?key={key}&v=1"));
    let err = Jsonp::new(url.as_str())
        .trusted_origins(["https://cdn.example.com"])
        .send()
        .await
        .expect_err("untrusted origin");
    assert_eq!(err.kind(), ErrorKind::Invalid);
    let err = Jsonp::new(url.as_str())
        .trusted_origins(Vec::<String>::new())
        .send()
        .await
        .expect_err("an empty list trusts nothing");
    assert_eq!(err.kind(), ErrorKind::Invalid);
    let err = js_jsonp(
        url.as_str().into(),
        Some(obj(&[("trustedOrigins", strings(&["http://127.0.0.1:1"]))]).unchecked_into()),
    )
    .await
    .expect_err("another port is another origin");
    assert_eq!(js_kind(&err), "invalid");
    let err = js_jsonp(
        url.as_str().into(),
        Some(obj(&[("trustedOrigins", strings(&["not an origin"]))]).unchecked_into()),
    )
    .await
    .expect_err("bad option");
    assert_eq!(js_kind(&err), "invalid");
    assert_eq!(scripts_matching(&key), 0);
    assert_eq!(requests_matching(&key), 0);

    let value = within(
        "trusted",
        Jsonp::new(url.as_str())
            .trusted_origins([common::FIXTURE])
            .send(),
    )
    .await
    .expect("trusted origin");
    assert_eq!(get(&value, "v").as_string().as_deref(), Some("1"));
    assert_eq!(requests_matching(&key), 1);
}

#[wasm_bindgen_test]
async fn page_wide_jsonp_origins_and_per_call_override() {
    let _reset = ResetDefaults;
    let key = unique("jsonpdefaults");
    let url = common::url(&format!("/jsonp?key={key}"));
    js_set_defaults(obj(&[(
        "jsonpOrigins",
        strings(&["https://*.example.com"]),
    )]))
    .unwrap();
    let err = js_jsonp(url.as_str().into(), None)
        .await
        .expect_err("not trusted");
    assert_eq!(js_kind(&err), "invalid");
    assert!(security::check_jsonp_url(&url, None).is_err());
    assert!(security::check_jsonp_url("https://api.example.com/x", None).is_ok());
    assert_eq!(scripts_matching(&key), 0);

    let listed = Some(obj(&[("trustedOrigins", strings(&[common::FIXTURE]))]).unchecked_into());
    within("per call", js_jsonp(url.as_str().into(), listed))
        .await
        .expect("trusted per call");

    // Trusted or not, a response that never calls back stays a protocol error.
    js_set_defaults(obj(&[("jsonpOrigins", strings(&[common::FIXTURE]))])).unwrap();
    let err = within(
        "nocall",
        js_jsonp(
            common::url(&format!("/jsonp?key={key}&mode=nocall")).into(),
            None,
        ),
    )
    .await
    .expect_err("no callback");
    assert_eq!(js_kind(&err), "protocol");
}

#[wasm_bindgen_test]
fn secure_only_per_call_in_open_web_socket_and_open_event_source() {
    let _reset = ResetDefaults;
    let ws_url = common::url("/ws/echo");
    let es_url = common::url("/sse?events=1");
    let strict = || obj(&[("secureOnly", true.into())]);
    let e1 = cometkit::js::websocket::open_web_socket(ws_url.as_str().into(), strict())
        .err()
        .expect("ws: refused");
    let e2 = cometkit::js::eventsource::open_event_source(es_url.as_str().into(), strict())
        .err()
        .expect("http: EventSource refused");
    for e in [&e1, &e2] {
        assert_eq!(js_kind(e), "invalid", "{e:?}");
    }
    // Loopback allowed: both open (and are freed at once).
    let loopback = || obj(&[("secureOnly", obj(&[("allowLoopback", true.into())]))]);
    let ws = cometkit::js::websocket::open_web_socket(ws_url.as_str().into(), loopback()).unwrap();
    let es =
        cometkit::js::eventsource::open_event_source(es_url.as_str().into(), loopback()).unwrap();
    for o in [JsValue::from(ws), JsValue::from(es)] {
        let free: Function = Reflect::get(&o, &"free".into()).unwrap().unchecked_into();
        free.call0(&o).unwrap();
    }
    // A page default applies when the call says nothing, and a per-call `false` wins.
    js_set_defaults(obj(&[("secureOnly", true.into())])).unwrap();
    let e3 = cometkit::js::websocket::open_web_socket(ws_url.as_str().into(), JsValue::UNDEFINED)
        .err()
        .expect("page default refuses ws:");
    assert_eq!(js_kind(&e3), "invalid");
    let off = obj(&[("secureOnly", false.into())]);
    let ws = cometkit::js::websocket::open_web_socket(ws_url.as_str().into(), off).unwrap();
    let o = JsValue::from(ws);
    let free: Function = Reflect::get(&o, &"free".into()).unwrap().unchecked_into();
    free.call0(&o).unwrap();
}

/// The JS `request()` as JavaScript sees it: a promise.
async fn js_request(opts: JsValue) -> Result<JsValue, JsValue> {
    wasm_bindgen_futures::JsFuture::from(cometkit::js::xhr::request(opts)).await
}

/// The JS `jsonp()` as JavaScript sees it: a promise.
fn js_jsonp(url: JsValue, opts: Option<Object>) -> wasm_bindgen_futures::JsFuture {
    cometkit::js::jsonp::jsonp(url, opts).into()
}

/// The JS `xdrRequest()` as JavaScript sees it: a promise.
fn js_xdr_request(opts: JsValue) -> wasm_bindgen_futures::JsFuture {
    cometkit::js::xdr::xdr_request(opts).into()
}
