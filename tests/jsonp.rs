#![cfg(all(target_arch = "wasm32", feature = "jsonp", feature = "js"))]
//! JSONP against the `/jsonp` fixture: results, every failure path, cancellation, CSP nonce,
//! and leak checks on scripts and `__ck*` globals.

wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

mod common;

use std::future::Future;

use cometkit::transport::jsonp::Jsonp;
use cometkit::{Error, ErrorKind};
use futures_util::future::{join_all, select, Either};
use gloo_timers::future::TimeoutFuture;
use js_sys::{Array, Object, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::wasm_bindgen_test;

#[wasm_bindgen(inline_js = r#"
export function ck_globals() {
  return Object.keys(globalThis).filter(function (k) { return k.indexOf("__ck") === 0; });
}
export function scripts_matching(fragment) {
  var n = 0;
  document.querySelectorAll("script").forEach(function (s) {
    if (s.src.indexOf(fragment) !== -1) n++;
  });
  return n;
}
export function script_nonce(fragment) {
  var found = null;
  document.querySelectorAll("script").forEach(function (s) {
    if (s.src.indexOf(fragment) !== -1) found = s.nonce;
  });
  return found;
}
export function requests_matching(fragment) {
  return performance.getEntriesByType("resource").filter(function (e) {
    return e.name.indexOf(fragment) !== -1;
  }).length;
}
export function is_function(name) { return typeof globalThis[name] === "function"; }
export function count_errors() {
  var box = { n: 0, messages: [] };
  box.listener = function (e) { box.n++; box.messages.push(String(e.message)); };
  window.addEventListener("error", box.listener);
  return box;
}
export function stop_counting(box) {
  window.removeEventListener("error", box.listener);
  return box.n;
}
export async function fetch_status(url) {
  var r = await fetch(url);
  return [r.status, await r.text()];
}
export function signal_aborting_after(ms) {
  var c = new AbortController();
  setTimeout(function () { c.abort(); }, ms);
  return c.signal;
}
export function aborted_signal() {
  var c = new AbortController();
  c.abort();
  return c.signal;
}
"#)]
extern "C" {
    fn ck_globals() -> Array;
    fn scripts_matching(fragment: &str) -> u32;
    fn script_nonce(fragment: &str) -> Option<String>;
    fn requests_matching(fragment: &str) -> u32;
    fn is_function(name: &str) -> bool;
    fn count_errors() -> JsValue;
    fn stop_counting(counter: &JsValue) -> u32;
    async fn fetch_status(url: &str) -> JsValue;
    fn signal_aborting_after(ms: u32) -> JsValue;
    fn aborted_signal() -> JsValue;
}

fn globals() -> Vec<String> {
    ck_globals().iter().filter_map(|v| v.as_string()).collect()
}

fn new_globals(before: &[String]) -> Vec<String> {
    globals()
        .into_iter()
        .filter(|g| !before.contains(g))
        .collect()
}

fn field(value: &JsValue, key: &str) -> JsValue {
    Reflect::get(value, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

fn text(value: &JsValue, key: &str) -> Option<String> {
    field(value, key).as_string()
}

fn obj(entries: &[(&str, JsValue)]) -> Object {
    let o = Object::new();
    for (k, v) in entries {
        Reflect::set(&o, &JsValue::from_str(k), v).unwrap();
    }
    o
}

fn js_kind(err: &JsValue) -> String {
    text(err, "kind").unwrap_or_default()
}

fn jsonp_url(query: &str) -> String {
    common::url(&["/jsonp?", query].concat())
}

/// Waits (bounded) until `cond` holds; returns whether it did.
async fn eventually(mut cond: impl FnMut() -> bool, max_ms: u32) -> bool {
    let mut waited = 0;
    while !cond() {
        if waited >= max_ms {
            return false;
        }
        TimeoutFuture::new(50).await;
        waited += 50;
    }
    true
}

/// Runs `fut` for `ms` and then drops it.
async fn drop_after<F: Future>(fut: F, ms: u32) -> Option<F::Output> {
    futures_util::pin_mut!(fut);
    match select(fut, TimeoutFuture::new(ms)).await {
        Either::Left((out, _)) => Some(out),
        Either::Right(_) => None,
    }
}

fn expect_kind(result: Result<JsValue, Error>, kind: ErrorKind) -> Error {
    match result {
        Ok(v) => panic!("expected a {kind} error, got {v:?}"),
        Err(e) => {
            assert_eq!(e.kind(), kind, "{e}");
            e
        }
    }
}

#[wasm_bindgen_test]
async fn success_passes_params_and_returns_the_callback_argument() {
    let key = common::unique_key("ok");
    let before = globals();
    let value = Jsonp::new(jsonp_url("fixed=yes"))
        .param("key", &key)
        .param("a", "1")
        .param("spaced", "x y&z=é")
        .send()
        .await
        .unwrap();
    assert_eq!(
        text(&value, "fixed").as_deref(),
        Some("yes"),
        "parameters already in the URL are kept"
    );
    assert_eq!(text(&value, "a").as_deref(), Some("1"));
    assert_eq!(
        text(&value, "spaced").as_deref(),
        Some("x y&z=é"),
        "parameters are URL-encoded"
    );
    assert_eq!(text(&value, "key"), Some(key.clone()));
    let callback = text(&value, "callback").unwrap();
    assert!(callback.starts_with("__ck"), "{callback}");
    assert_eq!(scripts_matching(&key), 0, "the script element is removed");
    assert_eq!(requests_matching(&key), 1, "one request went out");
    assert!(
        new_globals(&before).is_empty(),
        "the callback global is deleted on success"
    );
    assert!(!is_function(&callback));
}

#[wasm_bindgen_test]
async fn custom_callback_param() {
    let key = common::unique_key("cbparam");
    let value = Jsonp::new(jsonp_url("cbparam=cb"))
        .callback_param("cb")
        .param("key", &key)
        .send()
        .await
        .unwrap();
    let cb = text(&value, "cb").unwrap();
    assert!(cb.starts_with("__ck"), "{cb}");
    assert!(
        field(&value, "callback").is_undefined(),
        "no `callback` parameter was sent"
    );
}

#[wasm_bindgen_test]
async fn callback_param_replaces_one_already_in_the_url() {
    // A stale `callback=` in the URL must not win over the generated name.
    let value = Jsonp::new(jsonp_url("callback=stale"))
        .send()
        .await
        .unwrap();
    let cb = text(&value, "callback").unwrap();
    assert!(cb.starts_with("__ck"), "{cb}");
}

#[wasm_bindgen_test]
async fn callback_names_are_unique_unguessable_identifiers() {
    let results = join_all((0..8).map(|_| Jsonp::new(jsonp_url("")).send())).await;
    let mut names = Vec::new();
    for r in results {
        names.push(text(&r.unwrap(), "callback").unwrap());
    }
    for name in &names {
        let random = name.strip_prefix("__ck").unwrap();
        // 26 base32 characters: 130 bits of room for 128 random bits (>= 96 required).
        assert_eq!(random.len(), 26, "{name}");
        assert!(
            random
                .bytes()
                .all(|b| b.is_ascii_lowercase() || (b'2'..=b'7').contains(&b)),
            "{name}"
        );
        assert!(random.len() * 5 >= 96);
    }
    let mut unique = names.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(
        unique.len(),
        names.len(),
        "callback names repeat: {names:?}"
    );
}

#[wasm_bindgen_test]
async fn server_refuses_a_bad_callback_name() {
    let r = fetch_status(&jsonp_url("callback=alert(1)//")).await;
    let r: Array = r.into();
    assert_eq!(r.get(0).as_f64(), Some(400.0));
    assert_eq!(
        r.get(1).as_string().as_deref(),
        Some("invalid callback name")
    );
    // A client forced to present a bad name (the server reads `cb`, we send ours as
    // `callback`) sees the 400 as a script that failed to load.
    let err = expect_kind(
        Jsonp::new(jsonp_url("cbparam=cb&cb=bad(name")).send().await,
        ErrorKind::Network,
    );
    assert!(!err.message().is_empty());
}

#[wasm_bindgen_test]
async fn response_that_never_calls_back_is_a_protocol_error() {
    let before = globals();
    let key = common::unique_key("nocall");
    // A long timeout: the error must come from the script's load event, not from the timer.
    let err = expect_kind(
        Jsonp::new(jsonp_url("mode=nocall"))
            .param("key", &key)
            .timeout(60_000)
            .send()
            .await,
        ErrorKind::Protocol,
    );
    assert!(
        err.message().contains("did not call the callback"),
        "{}",
        err.message()
    );
    assert_eq!(scripts_matching(&key), 0);
    assert!(new_globals(&before).is_empty());
}

#[wasm_bindgen_test]
async fn syntax_error_in_response_is_a_protocol_error() {
    let before = globals();
    let errors = count_errors();
    let result = Jsonp::new(jsonp_url("mode=syntax"))
        .timeout(60_000)
        .send()
        .await;
    let page_errors = stop_counting(&errors);
    expect_kind(result, ErrorKind::Protocol);
    assert_eq!(
        page_errors, 1,
        "the browser reports the broken script itself"
    );
    assert!(new_globals(&before).is_empty());
}

#[wasm_bindgen_test]
async fn http_error_status_is_a_network_error() {
    let before = globals();
    let key = common::unique_key("http500");
    let err = expect_kind(
        Jsonp::new(jsonp_url("mode=error"))
            .param("key", &key)
            .timeout(60_000)
            .send()
            .await,
        ErrorKind::Network,
    );
    assert!(
        err.message().contains("failed to load"),
        "{}",
        err.message()
    );
    assert_eq!(scripts_matching(&key), 0);
    assert!(new_globals(&before).is_empty());
}

#[wasm_bindgen_test]
async fn unreachable_server_is_a_network_error() {
    let before = globals();
    expect_kind(
        Jsonp::new("http://127.0.0.1:9/jsonp")
            .timeout(60_000)
            .send()
            .await,
        ErrorKind::Network,
    );
    assert!(new_globals(&before).is_empty());
}

#[wasm_bindgen_test]
async fn slow_response_times_out_and_the_late_answer_is_harmless() {
    let before = globals();
    let errors = count_errors();
    let key = common::unique_key("slow");
    let err = expect_kind(
        Jsonp::new(jsonp_url("mode=slow&ms=1500"))
            .param("key", &key)
            .timeout(150)
            .send()
            .await,
        ErrorKind::Timeout,
    );
    assert!(err.is_timeout());
    assert_eq!(
        scripts_matching(&key),
        0,
        "the script element is removed on timeout"
    );
    let parked = new_globals(&before);
    assert_eq!(
        parked.len(),
        1,
        "exactly the self-deleting no-op stays: {parked:?}"
    );
    assert!(is_function(&parked[0]));
    // The late response calls the no-op, which deletes itself without error.
    let gone = eventually(|| new_globals(&before).is_empty(), 10_000).await;
    let page_errors = stop_counting(&errors);
    assert!(gone, "the no-op was never called or did not delete itself");
    assert_eq!(page_errors, 0, "the late response must not throw");
}

#[wasm_bindgen_test]
async fn second_call_from_the_response_is_harmless() {
    let before = globals();
    let errors = count_errors();
    let value = Jsonp::new(jsonp_url("mode=twice")).send().await.unwrap();
    TimeoutFuture::new(50).await;
    let page_errors = stop_counting(&errors);
    assert_eq!(
        field(&value, "call").as_f64(),
        Some(1.0),
        "the first call wins"
    );
    assert_eq!(page_errors, 0);
    assert!(new_globals(&before).is_empty());
}

#[wasm_bindgen_test]
async fn dropping_the_future_cancels_and_cleans_up() {
    let before = globals();
    let errors = count_errors();
    let key = common::unique_key("drop");
    let fut = Jsonp::new(jsonp_url("mode=slow&ms=1000"))
        .param("key", &key)
        .send();
    assert!(
        drop_after(fut, 150).await.is_none(),
        "the call should still be pending"
    );
    assert_eq!(
        scripts_matching(&key),
        0,
        "dropping removes the script element"
    );
    let parked = new_globals(&before);
    assert_eq!(
        parked.len(),
        1,
        "the global is parked as a no-op: {parked:?}"
    );
    let gone = eventually(|| new_globals(&before).is_empty(), 10_000).await;
    let page_errors = stop_counting(&errors);
    assert!(gone);
    assert_eq!(
        page_errors, 0,
        "the late response reaches no dropped wasm closure"
    );
}

#[wasm_bindgen_test]
async fn nonce_is_set_on_the_pending_script() {
    let key = common::unique_key("nonce");
    let opts = obj(&[
        ("params", obj(&[("key", JsValue::from_str(&key))]).into()),
        ("nonce", JsValue::from_str("n0nce-abc")),
    ]);
    let call = js_jsonp(jsonp_url("mode=slow&ms=500").into(), Some(opts));
    let inspect = async {
        TimeoutFuture::new(100).await;
        script_nonce(&key)
    };
    let (result, nonce) = futures_util::future::join(call, inspect).await;
    assert_eq!(nonce.as_deref(), Some("n0nce-abc"));
    assert_eq!(text(&result.unwrap(), "key"), Some(key.clone()));
    assert_eq!(scripts_matching(&key), 0);
}

#[wasm_bindgen_test]
async fn invalid_input_is_rejected_before_anything_is_sent() {
    let before_scripts = scripts_matching("/jsonp");
    let before = globals();
    for url in [
        "ftp://127.0.0.1/jsonp",
        "javascript:alert(1)",
        "http://[::1",
        "data:text/javascript,1",
    ] {
        expect_kind(Jsonp::new(url).send().await, ErrorKind::Invalid);
    }
    let key = common::unique_key("invalid");
    expect_kind(
        Jsonp::new(jsonp_url(""))
            .param("key", &key)
            .callback_param("")
            .send()
            .await,
        ErrorKind::Invalid,
    );
    expect_kind(
        Jsonp::new(jsonp_url(""))
            .param("key", &key)
            .param("callback", "mine")
            .send()
            .await,
        ErrorKind::Invalid,
    );
    assert_eq!(requests_matching(&key), 0, "nothing was requested");
    assert_eq!(scripts_matching("/jsonp"), before_scripts);
    assert!(new_globals(&before).is_empty());
}

#[wasm_bindgen_test]
async fn js_api_resolves_with_the_callback_argument() {
    let opts = obj(&[
        (
            "params",
            obj(&[
                ("n", JsValue::from_str("2")),
                ("s", JsValue::from_str("a b")),
            ])
            .into(),
        ),
        ("callbackParam", JsValue::from_str("jp")),
        ("timeout", JsValue::from(5000)),
    ]);
    let value = js_jsonp(jsonp_url("cbparam=jp").into(), Some(opts))
        .await
        .unwrap();
    assert_eq!(text(&value, "n").as_deref(), Some("2"));
    assert_eq!(text(&value, "s").as_deref(), Some("a b"));
    assert!(text(&value, "jp").unwrap().starts_with("__ck"));
    // Pairs are accepted too (repeated names allowed; the fixture keeps the last).
    let pairs = Array::of2(
        &Array::of2(&"r".into(), &"1".into()),
        &Array::of2(&"r".into(), &"2".into()),
    );
    let opts = obj(&[("params", pairs.into())]);
    let value = js_jsonp(jsonp_url("").into(), Some(opts)).await.unwrap();
    assert_eq!(text(&value, "r").as_deref(), Some("2"));
    // No options at all.
    let value = js_jsonp(jsonp_url("z=1").into(), None).await.unwrap();
    assert_eq!(text(&value, "z").as_deref(), Some("1"));
}

// Numbers and booleans are documented `params` values (`JsonpParams`). This fails while
// `js::opts::scalar` converts them with `String::from(JsString::from(value))`, an unchecked cast
// that throws for non-strings.
#[wasm_bindgen_test]
async fn js_api_accepts_number_and_boolean_params() {
    let params = obj(&[("n", JsValue::from(2)), ("flag", JsValue::TRUE)]);
    let opts = obj(&[("params", params.into())]);
    let value = js_jsonp(jsonp_url("").into(), Some(opts)).await.unwrap();
    assert_eq!(text(&value, "n").as_deref(), Some("2"));
    assert_eq!(text(&value, "flag").as_deref(), Some("true"));
}

#[wasm_bindgen_test]
async fn js_api_rejects_with_error_kinds() {
    let call = |url: String, opts: Option<Object>| js_jsonp(url.into(), opts);
    let err = call(jsonp_url("mode=nocall"), None).await.unwrap_err();
    assert_eq!(js_kind(&err), "protocol");
    assert!(err.is_instance_of::<js_sys::Error>());
    assert_eq!(text(&err, "name").as_deref(), Some("CometkitError"));
    let err = call(jsonp_url("mode=error"), None).await.unwrap_err();
    assert_eq!(js_kind(&err), "network");
    let opts = obj(&[("timeout", JsValue::from(100))]);
    let err = call(jsonp_url("mode=slow&ms=600"), Some(opts))
        .await
        .unwrap_err();
    assert_eq!(js_kind(&err), "timeout");
    // Invalid options and URL.
    let bad: [(&str, JsValue); 5] = [
        ("timeout", JsValue::from(-1)),
        ("timeout", JsValue::from_str("soon")),
        ("callbackParam", JsValue::from(3)),
        ("signal", JsValue::from_str("stop")),
        ("params", JsValue::from_str("a=1")),
    ];
    for (key, value) in bad {
        let err = call(jsonp_url(""), Some(obj(&[(key, value)])))
            .await
            .unwrap_err();
        assert_eq!(js_kind(&err), "invalid", "option {key}");
        assert!(
            text(&err, "message").unwrap().contains(key),
            "message names {key}"
        );
    }
    let err = js_jsonp(JsValue::from(42), None).await.unwrap_err();
    assert_eq!(js_kind(&err), "invalid");
    let err = call("ftp://127.0.0.1/jsonp".into(), None)
        .await
        .unwrap_err();
    assert_eq!(js_kind(&err), "invalid");
}

#[wasm_bindgen_test]
async fn abort_signal_cancels_the_call() {
    let before = globals();
    let key = common::unique_key("abort");
    let opts = obj(&[
        ("params", obj(&[("key", JsValue::from_str(&key))]).into()),
        ("signal", signal_aborting_after(100)),
    ]);
    let err = js_jsonp(jsonp_url("mode=slow&ms=800").into(), Some(opts))
        .await
        .unwrap_err();
    assert_eq!(js_kind(&err), "abort");
    assert_eq!(scripts_matching(&key), 0);
    // An already aborted signal: nothing is sent at all.
    let key2 = common::unique_key("preaborted");
    let opts = obj(&[
        ("params", obj(&[("key", JsValue::from_str(&key2))]).into()),
        ("signal", aborted_signal()),
    ]);
    let err = js_jsonp(jsonp_url("").into(), Some(opts))
        .await
        .unwrap_err();
    assert_eq!(js_kind(&err), "abort");
    assert_eq!(
        requests_matching(&key2),
        0,
        "an aborted signal sends nothing"
    );
    // The aborted call's late response still finds the no-op and removes it.
    assert!(eventually(|| new_globals(&before).is_empty(), 10_000).await);
    // Control for the count above: the first call did go out (its entry appears once the
    // response completed).
    assert_eq!(requests_matching(&key), 1);
}

#[wasm_bindgen_test]
async fn no_leaks_after_many_calls() {
    const N: usize = 20;
    let before = globals();
    let errors = count_errors();

    let ok =
        join_all((0..N).map(|i| Jsonp::new(jsonp_url("")).param("i", i.to_string()).send())).await;
    for (i, r) in ok.into_iter().enumerate() {
        assert_eq!(text(&r.unwrap(), "i"), Some(i.to_string()));
    }
    let failing = ["mode=nocall", "mode=error", "cbparam=cb&cb=bad("];
    let failed =
        join_all((0..N).map(|i| Jsonp::new(jsonp_url(failing[i % 3])).timeout(60_000).send()))
            .await;
    for r in failed {
        let kind = r.unwrap_err().kind();
        assert!(
            matches!(kind, ErrorKind::Protocol | ErrorKind::Network),
            "{kind}"
        );
    }
    assert_eq!(
        scripts_matching("/jsonp"),
        0,
        "no script element of ours remains"
    );
    assert!(
        new_globals(&before).is_empty(),
        "successful and failed calls leave no global"
    );

    let timed_out = join_all((0..N).map(|_| {
        Jsonp::new(jsonp_url("mode=slow&ms=1200"))
            .timeout(100)
            .send()
    }))
    .await;
    for r in timed_out {
        assert_eq!(r.unwrap_err().kind(), ErrorKind::Timeout);
    }
    assert_eq!(scripts_matching("/jsonp"), 0);
    let parked = new_globals(&before);
    assert_eq!(
        parked.len(),
        N,
        "exactly one parked no-op per timed-out call: {parked:?}"
    );
    assert!(parked.iter().all(|name| is_function(name)));
    // Every late response finds its no-op, which deletes itself.
    let gone = eventually(|| new_globals(&before).is_empty(), 15_000).await;
    let page_errors = stop_counting(&errors);
    assert!(gone, "left: {:?}", new_globals(&before));
    assert_eq!(page_errors, 0);
}

/// The JS `jsonp()` as JavaScript sees it: a promise.
fn js_jsonp(url: JsValue, opts: Option<Object>) -> wasm_bindgen_futures::JsFuture {
    cometkit::js::jsonp::jsonp(url, opts).into()
}
