#![cfg(all(target_arch = "wasm32", feature = "ping", feature = "js"))]
//! Image pings against the `/ping` fixture, checked through what the server recorded
//! (`/ping/hits`): parameters, cache busting, 404, timeout, cancellation, no DOM leftovers.

wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

mod common;

use cometkit::transport::ping::{Ping, PingOutcome, CACHE_BUST_PARAM};
use cometkit::ErrorKind;
use futures_util::future::{join_all, select, Either};
use gloo_timers::future::TimeoutFuture;
use js_sys::{Array, Object, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::wasm_bindgen_test;

#[wasm_bindgen(inline_js = r#"
export async function fetch_json(url) {
  var r = await fetch(url);
  return await r.json();
}
export function images_in_document() { return document.getElementsByTagName("img").length; }
export function count_errors() {
  var box = { n: 0 };
  box.listener = function () { box.n++; };
  window.addEventListener("error", box.listener);
  return box;
}
export function stop_counting(box) {
  window.removeEventListener("error", box.listener);
  return box.n;
}
"#)]
extern "C" {
    async fn fetch_json(url: &str) -> JsValue;
    fn images_in_document() -> u32;
    fn count_errors() -> JsValue;
    fn stop_counting(counter: &JsValue) -> u32;
}

/// The query strings `/ping` recorded under `key`, in arrival order.
async fn hits(key: &str) -> Vec<String> {
    let list: Array = fetch_json(&common::url(&["/ping/hits?key=", key].concat()))
        .await
        .into();
    list.iter().filter_map(|v| v.as_string()).collect()
}

fn ping_url(query: &str) -> String {
    common::url(&["/ping?", query].concat())
}

/// The value of query parameter `name` in a raw query string.
fn param<'a>(query: &'a str, name: &str) -> Option<&'a str> {
    query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn obj(entries: &[(&str, JsValue)]) -> Object {
    let o = Object::new();
    for (k, v) in entries {
        Reflect::set(&o, &JsValue::from_str(k), v).unwrap();
    }
    o
}

/// The JS `ping()`, awaited as a page would.
async fn js_ping(
    url: JsValue,
    params: Option<Object>,
    opts: Option<Object>,
) -> Result<JsValue, JsValue> {
    wasm_bindgen_futures::JsFuture::from(cometkit::js::ping::ping(url, params, opts)).await
}

fn js_kind(err: &JsValue) -> Option<String> {
    Reflect::get(err, &JsValue::from_str("kind"))
        .ok()
        .and_then(|v| v.as_string())
}

#[wasm_bindgen_test]
async fn hit_is_recorded_with_params_and_image_loads() {
    let key = common::unique_key("hit");
    let outcome = Ping::new(ping_url("fixed=1"))
        .param("key", &key)
        .param("ev", "click")
        .param("label", "a b&c")
        .send()
        .await
        .unwrap();
    assert_eq!(outcome, PingOutcome::Loaded);
    assert!(outcome.loaded());
    let got = hits(&key).await;
    assert_eq!(got.len(), 1, "{got:?}");
    let q = &got[0];
    assert_eq!(
        param(q, "fixed"),
        Some("1"),
        "parameters already in the URL are kept: {q}"
    );
    assert_eq!(param(q, "ev"), Some("click"));
    assert_eq!(
        param(q, "label"),
        Some("a+b%26c"),
        "parameters are URL-encoded: {q}"
    );
    let token = param(q, CACHE_BUST_PARAM).unwrap();
    assert_eq!(token.len(), 16, "64-bit cache-busting token: {q}");
    assert!(token.bytes().all(|b| b.is_ascii_hexdigit()));
}

#[wasm_bindgen_test]
async fn cache_busting_makes_identical_pings_reach_the_server() {
    let key = common::unique_key("bust");
    for _ in 0..2 {
        let outcome = Ping::new(ping_url(""))
            .param("key", &key)
            .send()
            .await
            .unwrap();
        assert_eq!(outcome, PingOutcome::Loaded);
    }
    let got = hits(&key).await;
    assert_eq!(got.len(), 2, "both pings must arrive: {got:?}");
    assert_ne!(
        param(&got[0], "_"),
        param(&got[1], "_"),
        "each ping gets its own token"
    );
}

#[wasm_bindgen_test]
async fn without_cache_busting_the_url_is_untouched_and_a_repeat_can_be_lost() {
    // The fixture's GIF is cacheable for 10 minutes, like many real beacon answers: the second
    // identical ping is answered by the browser itself. This is why cache busting is the default.
    let key = common::unique_key("nobust");
    for _ in 0..2 {
        let outcome = Ping::new(ping_url(""))
            .param("key", &key)
            .cache_bust(false)
            .send()
            .await
            .unwrap();
        assert_eq!(outcome, PingOutcome::Loaded);
    }
    let got = hits(&key).await;
    assert_eq!(got, vec![["key=", &key].concat()], "exact URL, one hit");
}

#[wasm_bindgen_test]
async fn not_found_resolves_as_errored_and_was_delivered() {
    let key = common::unique_key("404");
    let outcome = Ping::new(ping_url("mode=404"))
        .param("key", &key)
        .send()
        .await
        .unwrap();
    assert_eq!(outcome, PingOutcome::Errored);
    assert!(!outcome.loaded());
    assert_eq!(hits(&key).await.len(), 1, "the server got the ping anyway");
}

#[wasm_bindgen_test]
async fn slow_answer_times_out() {
    let key = common::unique_key("slow");
    let errors = count_errors();
    let err = Ping::new(ping_url("mode=slow&ms=1000"))
        .param("key", &key)
        .timeout(100)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert_eq!(hits(&key).await.len(), 1, "the request went out");
    // The late answer reaches no handler of ours and nothing throws.
    TimeoutFuture::new(1300).await;
    assert_eq!(stop_counting(&errors), 0);
}

#[wasm_bindgen_test]
async fn unreachable_server_resolves_as_errored() {
    let outcome = Ping::new("http://127.0.0.1:9/ping").send().await.unwrap();
    assert_eq!(outcome, PingOutcome::Errored);
}

#[wasm_bindgen_test]
async fn dropping_the_future_stops_listening() {
    let key = common::unique_key("drop");
    let errors = count_errors();
    let fut = Ping::new(ping_url("mode=slow&ms=600"))
        .param("key", &key)
        .send();
    futures_util::pin_mut!(fut);
    let dropped = match select(fut, TimeoutFuture::new(150)).await {
        Either::Left(_) => false,
        Either::Right(_) => true,
    };
    assert!(dropped, "the ping should still be pending");
    TimeoutFuture::new(900).await;
    assert_eq!(
        stop_counting(&errors),
        0,
        "the late answer reaches no dropped closure"
    );
    assert_eq!(hits(&key).await.len(), 1);
}

#[wasm_bindgen_test]
async fn invalid_input_is_rejected_and_nothing_is_sent() {
    let key = common::unique_key("invalid");
    let ftp = ["ftp://", &common::FIXTURE["http://".len()..], "/ping"].concat();
    for url in [
        ftp.as_str(),
        "javascript:void(0)",
        "http://[::1",
        "data:image/gif;base64,R0lGOD",
    ] {
        let err = Ping::new(url).param("key", &key).send().await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Invalid, "{url}: {err}");
    }
    let call = |params: JsValue, opts: JsValue| {
        js_ping(
            ping_url("").into(),
            Some(params.unchecked_into()),
            Some(opts.unchecked_into()),
        )
    };
    let key_params = || JsValue::from(obj(&[("key", JsValue::from_str(&key))]));
    for (name, value) in [
        ("timeout", JsValue::from(-5)),
        ("timeout", JsValue::from_str("1s")),
        ("cacheBust", JsValue::from_str("yes")),
    ] {
        let err = call(key_params(), obj(&[(name, value)]).into())
            .await
            .unwrap_err();
        assert_eq!(js_kind(&err).as_deref(), Some("invalid"), "option {name}");
    }
    let err = call(JsValue::from_str("key=x"), JsValue::UNDEFINED)
        .await
        .unwrap_err();
    assert_eq!(
        js_kind(&err).as_deref(),
        Some("invalid"),
        "params must be an object"
    );
    let err = js_ping(JsValue::from(5), None, None).await.unwrap_err();
    assert_eq!(
        js_kind(&err).as_deref(),
        Some("invalid"),
        "url must be a string"
    );
    assert!(hits(&key).await.is_empty(), "nothing reached the server");
}

#[wasm_bindgen_test]
async fn js_api_resolves_with_loaded_flag() {
    let key = common::unique_key("js");
    let params = obj(&[
        ("key", JsValue::from_str(&key)),
        ("page", JsValue::from_str("/home")),
    ]);
    let opts = obj(&[
        ("cacheBust", JsValue::FALSE),
        ("timeout", JsValue::from(5000)),
    ]);
    let result = js_ping(ping_url("").into(), Some(params), Some(opts))
        .await
        .unwrap();
    assert_eq!(
        Reflect::get(&result, &"loaded".into()).unwrap(),
        JsValue::TRUE
    );
    assert_eq!(
        hits(&key).await,
        vec![["key=", &key, "&page=%2Fhome"].concat()]
    );

    let params = obj(&[("key", JsValue::from_str(&key))]);
    let result = js_ping(ping_url("mode=404").into(), Some(params), None)
        .await
        .unwrap();
    assert_eq!(
        Reflect::get(&result, &"loaded".into()).unwrap(),
        JsValue::FALSE
    );

    let opts = obj(&[("timeout", JsValue::from(100))]);
    let err = js_ping(ping_url("mode=slow&ms=800").into(), None, Some(opts))
        .await
        .unwrap_err();
    assert_eq!(js_kind(&err).as_deref(), Some("timeout"));
    assert_eq!(hits(&key).await.len(), 2);
}

#[wasm_bindgen_test]
async fn many_pings_leave_nothing_in_the_document() {
    const N: usize = 20;
    let key = common::unique_key("many");
    let images_before = images_in_document();
    let outcomes = join_all((0..N).map(|i| {
        Ping::new(ping_url(""))
            .param("key", &key)
            .param("i", i.to_string())
            .send()
    }))
    .await;
    for outcome in outcomes {
        assert_eq!(outcome.unwrap(), PingOutcome::Loaded);
    }
    let timeouts = join_all((0..N).map(|_| {
        Ping::new(ping_url("mode=slow&ms=500"))
            .param("key", &key)
            .timeout(50)
            .send()
    }))
    .await;
    for outcome in timeouts {
        assert_eq!(outcome.unwrap_err().kind(), ErrorKind::Timeout);
    }
    assert_eq!(
        images_in_document(),
        images_before,
        "pings never insert an <img>"
    );
    // Timed-out pings may still be queued behind the per-host connection limit, so only the
    // successful ones are counted.
    let got = hits(&key).await;
    assert!(got.len() >= N, "{got:?}");
    for i in 0..N {
        let i = i.to_string();
        assert!(
            got.iter().any(|q| param(q, "i") == Some(i.as_str())),
            "ping {i} missing"
        );
    }
}
