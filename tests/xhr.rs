#![cfg(all(target_arch = "wasm32", feature = "xhr", feature = "js"))]
//! XMLHttpRequest against the `fixtures/http.rs` endpoints: methods, query encoding, headers,
//! every body kind (including a real `<form>`), response types, status handling, timeout,
//! abort (handle, AbortSignal, dropping the future), network errors, progress, credentials,
//! streaming, invalid input, the JS `request()` surface, and that aborted requests leave
//! nothing behind.

wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

mod common;

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::rc::Rc;

use cometkit::transport::xhr::{AbortHandle, Body, Progress, Request, Response, ResponseType};
use cometkit::{Error, ErrorKind};
use futures_util::future::{join, select, Either};
use futures_util::StreamExt;
use gloo_timers::future::TimeoutFuture;
use js_sys::{Array, Object, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::wasm_bindgen_test;

#[wasm_bindgen(inline_js = r#"
export async function fetch_json(url) {
  const r = await fetch(url, { cache: "no-store" });
  return await r.json();
}
export function make_form(enctype, method) {
  const form = document.createElement("form");
  form.enctype = enctype;
  form.method = method;
  form.innerHTML =
    '<input name="t" value="a b&amp;c">' +
    '<textarea name="ta"></textarea>' +
    '<input name="dis" value="x" disabled>' +
    '<input value="unnamed">' +
    '<input type="checkbox" name="cb1">' +
    '<input type="checkbox" name="cb2" checked>' +
    '<input type="radio" name="r" value="a">' +
    '<input type="radio" name="r" value="b" checked>' +
    '<select name="m" multiple><option>one</option><option value="2" selected>two</option>' +
    '<option selected>three</option><option selected disabled>four</option></select>' +
    '<input type="file" name="f0">' +
    '<input type="file" name="f1">' +
    '<input type="submit" name="s" value="go">' +
    '<button name="b" value="x">B</button>' +
    '<fieldset disabled><input name="fs" value="x"></fieldset>' +
    '<input type="hidden" name="h" value="\u00e9">' +
    '<input type="image" name="img" alt="i">' +
    '<datalist><input name="dl" value="x"></datalist>';
  form.querySelector("textarea").value = "line1\nline2";
  const dt = new DataTransfer();
  dt.items.add(new File(["file body"], "a.txt", { type: "text/plain" }));
  form.querySelector('input[name="f1"]').files = dt.files;
  document.body.appendChild(form);
  return form;
}
// Whether this browser's own form submission sends a control inside a <datalist> (HTML says
// it must not; Chromium does): cometkit sends what the browser's submission sends.
export function datalist_submitted() {
  const form = document.createElement("form");
  form.innerHTML = '<datalist><input name="dl" value="x"></datalist>';
  return new FormData(form).has("dl");
}
export function make_blob(text, type) { return new Blob([text], { type }); }
export function make_search_params() { return new URLSearchParams([["x", "1 2"], ["y", "\u00e9"]]); }
export function signal_aborted_after(ms) {
  const c = new AbortController();
  setTimeout(() => c.abort(), ms);
  return c.signal;
}
export function aborted_signal() { const c = new AbortController(); c.abort(); return c.signal; }
export function is_array_buffer(v) { return v instanceof ArrayBuffer; }
export function is_blob(v) { return v instanceof Blob; }
export function is_document(v) { return v instanceof Document; }
export function parse(s) { return JSON.parse(s); }
export function track_xhrs() {
  const send = XMLHttpRequest.prototype.send;
  const seen = [];
  XMLHttpRequest.prototype.send = function (...args) { seen.push(this); return send.apply(this, args); };
  return { send, seen };
}
export function stop_tracking_xhrs(t) {
  XMLHttpRequest.prototype.send = t.send;
  return t.seen.map((x) => x.readyState);
}
"#)]
extern "C" {
    async fn fetch_json(url: &str) -> JsValue;
    fn make_form(enctype: &str, method: &str) -> web_sys::HtmlFormElement;
    fn datalist_submitted() -> bool;
    fn make_blob(text: &str, ty: &str) -> JsValue;
    fn make_search_params() -> JsValue;
    fn signal_aborted_after(ms: u32) -> JsValue;
    fn aborted_signal() -> JsValue;
    fn is_array_buffer(v: &JsValue) -> bool;
    fn is_blob(v: &JsValue) -> bool;
    fn is_document(v: &JsValue) -> bool;
    fn parse(s: &str) -> JsValue;
    fn track_xhrs() -> JsValue;
    fn stop_tracking_xhrs(tracker: &JsValue) -> JsValue;
}

// ---------------------------------------------------------------------------------------------
// helpers

async fn within<T>(what: &str, f: impl Future<Output = T>) -> T {
    match select(Box::pin(f), TimeoutFuture::new(20_000)).await {
        Either::Left((v, _)) => v,
        Either::Right(_) => panic!("timed out: {what}"),
    }
}

async fn sleep(ms: u32) {
    TimeoutFuture::new(ms).await;
}

fn get(v: &JsValue, key: &str) -> JsValue {
    Reflect::get(v, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

fn get_str(v: &JsValue, key: &str) -> String {
    get(v, key)
        .as_string()
        .unwrap_or_else(|| panic!("`{key}` is not a string in {v:?}"))
}

fn get_num(v: &JsValue, key: &str) -> f64 {
    get(v, key)
        .as_f64()
        .unwrap_or_else(|| panic!("`{key}` is not a number in {v:?}"))
}

/// Sends `req` and parses the `/echo` answer.
async fn echo(req: Request) -> JsValue {
    let resp = within("echo", req.send()).await.expect("echo request");
    assert_eq!(resp.status(), 200);
    resp.json_value().expect("echo JSON")
}

fn echo_url(key: &str) -> String {
    common::url(&format!("/echo?key={key}"))
}

/// `{count, completed, cancelled}` of a fixture key.
async fn hits(key: &str) -> (u64, u64, u64) {
    let v = fetch_json(&common::url(&format!("/hits?key={key}"))).await;
    (
        get_num(&v, "count") as u64,
        get_num(&v, "completed") as u64,
        get_num(&v, "cancelled") as u64,
    )
}

async fn preflights(key: &str) -> u64 {
    get_num(
        &fetch_json(&common::url(&format!("/preflights?key={key}"))).await,
        "count",
    ) as u64
}

/// Waits (bounded) until the server has seen `n` cancelled responses under `key`.
///
/// Streamed bodies in these tests are large and declare their length: Chromium may otherwise
/// keep reading ("draining") a small aborted response to reuse the connection, and the server
/// would see it complete.
async fn wait_cancelled(key: &str, n: u64) -> bool {
    for _ in 0..60 {
        if hits(key).await.2 >= n {
            return true;
        }
        sleep(100).await;
    }
    false
}

fn kind_of(result: Result<Response, Error>) -> ErrorKind {
    match result {
        Ok(r) => panic!("expected an error, got status {}", r.status()),
        Err(e) => e.kind(),
    }
}

fn js_kind(err: &JsValue) -> String {
    get(err, "kind")
        .as_string()
        .unwrap_or_else(|| panic!("not a cometkit error: {err:?}"))
}

fn obj(pairs: &[(&str, JsValue)]) -> JsValue {
    let o = Object::new();
    for (k, v) in pairs {
        Reflect::set(&o, &JsValue::from_str(k), v).unwrap();
    }
    o.into()
}

// ---------------------------------------------------------------------------------------------
// methods, query, headers

#[wasm_bindgen_test]
async fn every_method_reaches_the_server() {
    for method in [
        "GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "X-CUSTOM",
    ] {
        let doc = echo(Request::new(method, &common::url("/echo"))).await;
        assert_eq!(get_str(&doc, "method"), method);
    }
    // Browsers normalise the standard methods' case.
    let doc = echo(Request::new("delete", &common::url("/echo"))).await;
    assert_eq!(get_str(&doc, "method"), "DELETE");

    let head = within("HEAD", Request::new("HEAD", &common::url("/echo")).send())
        .await
        .unwrap();
    assert_eq!(head.status(), 200);
    assert_eq!(head.headers().get("X-Echo-Method"), Some("HEAD"));
    assert_eq!(head.text().as_deref(), Some(""));
}

#[wasm_bindgen_test]
async fn query_parameters_are_encoded_like_encode_uri_component() {
    let req = Request::get(&common::url("/echo?pre=1#fragment"))
        .query("ü ñ", "a&b=c+d #e")
        .query("emoji", "😀")
        .query("empty", "");
    let doc = echo(req).await;
    assert_eq!(
        get_str(&doc, "query"),
        "pre=1&%C3%BC%20%C3%B1=a%26b%3Dc%2Bd%20%23e&emoji=%F0%9F%98%80&empty="
    );
    assert_eq!(get_str(&doc, "path"), "/echo");
}

#[wasm_bindgen_test]
async fn headers_round_trip_and_response_headers_ignore_case() {
    let req = Request::get(&common::url("/echo"))
        .header("X-Custom-One", "v1")
        .header("x-custom-two", "a b, c");
    let resp = within("headers", req.send()).await.unwrap();
    let doc = resp.json_value().unwrap();
    let sent = get(&doc, "headers");
    assert_eq!(get_str(&sent, "x-custom-one"), "v1");
    assert_eq!(get_str(&sent, "x-custom-two"), "a b, c");
    assert_eq!(resp.headers().get("X-FIXTURE"), Some("echo"));
    assert_eq!(resp.headers().get("x-fixture"), Some("echo"));
    assert_eq!(
        resp.headers().content_type().as_deref(),
        Some("application/json")
    );
    assert!(resp
        .headers()
        .iter()
        .all(|(name, _)| name == name.to_ascii_lowercase()));
    assert!(resp.ok());
    assert_eq!(resp.status_text(), "OK");
}

#[wasm_bindgen_test]
async fn redirects_are_followed_and_the_final_url_reported() {
    let target = common::url("/echo?after=redirect");
    let resp = within(
        "redirect",
        Request::get(&common::url("/redirect"))
            .query("to", &target)
            .send(),
    )
    .await
    .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.url(), target);
    assert_eq!(
        get_str(&resp.json_value().unwrap(), "query"),
        "after=redirect"
    );
}

// ---------------------------------------------------------------------------------------------
// bodies

#[wasm_bindgen_test]
async fn text_bytes_and_json_bodies() {
    let doc = echo(Request::post(&common::url("/echo")).body(Body::Text("héllo".into()))).await;
    assert_eq!(get_str(&doc, "body"), "héllo");
    assert_eq!(get_num(&doc, "length"), 6.0);
    assert_eq!(
        get_str(&doc, "contentType").to_ascii_lowercase(),
        "text/plain;charset=utf-8"
    );

    let doc = echo(
        Request::post(&common::url("/echo"))
            .header("content-type", "text/csv")
            .body(Body::Text("a,b".into())),
    )
    .await;
    assert_eq!(get_str(&doc, "contentType"), "text/csv");

    let doc = echo(
        Request::new("PUT", &common::url("/echo")).body(Body::Bytes(vec![b'o', b'k', 0, 0xff])),
    )
    .await;
    assert_eq!(get_num(&doc, "length"), 4.0);
    assert!(get_str(&doc, "body").starts_with("ok\u{0}"));

    let doc =
        echo(Request::post(&common::url("/echo")).body(Body::Json(r#"{"a":[1,"é"]}"#.into())))
            .await;
    assert_eq!(get_str(&doc, "body"), r#"{"a":[1,"é"]}"#);
    assert_eq!(get_str(&doc, "contentType"), "application/json");
}

#[wasm_bindgen_test]
async fn urlencoded_formdata_blob_and_search_params_bodies() {
    let pairs = vec![
        ("a b".to_string(), "c&d".to_string()),
        ("é".to_string(), "😀\n".to_string()),
    ];
    let doc = echo(Request::post(&common::url("/echo")).body(Body::UrlEncoded(pairs))).await;
    assert_eq!(get_str(&doc, "body"), "a+b=c%26d&%C3%A9=%F0%9F%98%80%0A");
    assert_eq!(
        get_str(&doc, "contentType").to_ascii_lowercase(),
        "application/x-www-form-urlencoded;charset=utf-8"
    );

    let data = web_sys::FormData::new().unwrap();
    data.append_with_str("field", "value 1").unwrap();
    let doc = echo(Request::post(&common::url("/echo")).body(Body::FormData(data))).await;
    assert!(get_str(&doc, "contentType").starts_with("multipart/form-data; boundary="));
    let body = get_str(&doc, "body");
    assert!(
        body.contains("name=\"field\"") && body.contains("value 1"),
        "{body}"
    );

    let doc = echo(
        Request::post(&common::url("/echo"))
            .body(Body::Js(make_blob("blob!", "application/x-test"))),
    )
    .await;
    assert_eq!(get_str(&doc, "body"), "blob!");
    assert_eq!(get_str(&doc, "contentType"), "application/x-test");

    let doc = echo(Request::post(&common::url("/echo")).body(Body::Js(make_search_params()))).await;
    assert_eq!(get_str(&doc, "body"), "x=1+2&y=%C3%A9");
    assert!(get_str(&doc, "contentType").starts_with("application/x-www-form-urlencoded"));
}

const FORM_URLENCODED: &str =
    "t=a+b%26c&ta=line1%0D%0Aline2&cb2=on&r=b&m=2&m=three&f0=&f1=a.txt&h=%C3%A9";

/// `make_form`'s urlencoded body: HTML's entry list, and the `<datalist>` control where the
/// browser's own submission sends it.
fn form_urlencoded() -> String {
    let datalist = if datalist_submitted() { "&dl=x" } else { "" };
    format!("{FORM_URLENCODED}{datalist}")
}

#[wasm_bindgen_test]
async fn html_form_is_serialised_per_enctype() {
    let form = make_form("application/x-www-form-urlencoded", "post");
    let doc = echo(Request::post(&common::url("/echo")).body(Body::Form(form.clone()))).await;
    assert_eq!(get_str(&doc, "body"), form_urlencoded());
    assert!(get_str(&doc, "contentType").starts_with("application/x-www-form-urlencoded"));

    // With GET the fields go into the query string, as a GET form submission does.
    let doc = echo(Request::get(&common::url("/echo?x=1")).body(Body::Form(form.clone()))).await;
    assert_eq!(get_str(&doc, "query"), format!("x=1&{}", form_urlencoded()));
    assert_eq!(get_num(&doc, "length"), 0.0);
    form.remove();

    let form = make_form("text/plain", "post");
    let doc = echo(Request::post(&common::url("/echo")).body(Body::Form(form.clone()))).await;
    assert_eq!(
        get_str(&doc, "body"),
        format!(
            "t=a b&c\r\nta=line1\r\nline2\r\ncb2=on\r\nr=b\r\nm=2\r\nm=three\r\nf0=\r\nf1=a.txt\r\nh=é\r\n{}",
            if datalist_submitted() { "dl=x\r\n" } else { "" }
        )
    );
    assert!(get_str(&doc, "contentType").starts_with("text/plain"));
    form.remove();

    let form = make_form("multipart/form-data", "post");
    let doc = echo(Request::post(&common::url("/echo")).body(Body::Form(form.clone()))).await;
    assert!(get_str(&doc, "contentType").starts_with("multipart/form-data; boundary="));
    let body = get_str(&doc, "body");
    for needle in [
        "name=\"t\"",
        "a b&c",
        "name=\"cb2\"",
        "filename=\"a.txt\"",
        "file body",
        "name=\"m\"",
    ] {
        assert!(body.contains(needle), "{needle} missing from {body}");
    }
    // (Not checked: a control inside a <datalist>, which Chromium's FormData includes.)
    for absent in [
        "name=\"dis\"",
        "name=\"cb1\"",
        "name=\"s\"",
        "name=\"b\"",
        "name=\"fs\"",
        "four",
    ] {
        assert!(!body.contains(absent), "{absent} present in {body}");
    }
    form.remove();
}

// ---------------------------------------------------------------------------------------------
// response types

#[wasm_bindgen_test]
async fn response_types() {
    let resp = within("text", Request::get(&common::url("/json")).send())
        .await
        .unwrap();
    assert!(resp.raw().is_string());
    let v = resp.json_value().unwrap();
    assert_eq!(get_str(&v, "unicode"), "héllo ✓");

    let resp = within(
        "json",
        Request::get(&common::url("/json"))
            .response_type(ResponseType::Json)
            .send(),
    )
    .await
    .unwrap();
    assert_eq!(get_str(resp.raw(), "name"), "cometkit");
    assert_eq!(get_str(&resp.json_value().unwrap(), "name"), "cometkit");
    assert_eq!(resp.text(), None);

    let resp = within(
        "arraybuffer",
        Request::get(&common::url("/bytes?n=300"))
            .response_type(ResponseType::ArrayBuffer)
            .send(),
    )
    .await
    .unwrap();
    assert!(is_array_buffer(resp.raw()));
    let bytes = resp.bytes().unwrap();
    assert_eq!(bytes.len(), 300);
    assert!(bytes.iter().enumerate().all(|(i, b)| *b == (i % 256) as u8));
    // Bytes 0x80-0xFF are no UTF-8: each malformed sequence becomes U+FFFD, as in Rust.
    assert_eq!(resp.text().unwrap(), String::from_utf8_lossy(&bytes));

    let resp = within(
        "arraybuffer text with a BOM and a bad byte",
        Request::get(&common::url("/text?body=%EF%BB%BFa%FFb%E2%82"))
            .response_type(ResponseType::ArrayBuffer)
            .send(),
    )
    .await
    .unwrap();
    assert_eq!(resp.text().as_deref(), Some("\u{feff}a\u{fffd}b\u{fffd}"));

    let resp = within(
        "arraybuffer text",
        Request::get(&common::url("/text?body=%C3%A9t%C3%A9"))
            .response_type(ResponseType::ArrayBuffer)
            .send(),
    )
    .await
    .unwrap();
    assert_eq!(resp.text().as_deref(), Some("été"));

    let resp = within(
        "blob",
        Request::get(&common::url("/bytes?n=300"))
            .response_type(ResponseType::Blob)
            .send(),
    )
    .await
    .unwrap();
    assert!(is_blob(resp.raw()));
    assert_eq!(resp.raw().unchecked_ref::<web_sys::Blob>().size(), 300.0);
    assert_eq!(resp.bytes(), None);
    assert!(resp.json_value().unwrap_err().is_protocol());

    let resp = within(
        "document",
        Request::get(&common::url(
            "/text?ctype=text/html&body=%3Cp%20id%3Dx%3Ehi%3C/p%3E",
        ))
        .response_type(ResponseType::Document)
        .send(),
    )
    .await
    .unwrap();
    assert!(is_document(resp.raw()));
    let doc: &web_sys::Document = resp.raw().unchecked_ref();
    assert_eq!(
        doc.get_element_by_id("x")
            .unwrap()
            .text_content()
            .as_deref(),
        Some("hi")
    );
}

#[wasm_bindgen_test]
async fn invalid_json_is_a_protocol_error() {
    let resp = within(
        "text",
        Request::get(&common::url("/text?body=%7Bnope")).send(),
    )
    .await
    .unwrap();
    assert_eq!(resp.json_value().unwrap_err().kind(), ErrorKind::Protocol);
}

#[wasm_bindgen_test]
async fn override_mime_type_changes_the_decoding() {
    let url = common::url("/text?ctype=text/plain;charset=utf-8&latin1=1&body=caf%C3%A9");
    let plain = within("utf-8", Request::get(&url).send()).await.unwrap();
    assert_eq!(plain.text().as_deref(), Some("caf\u{fffd}"));
    let overridden = within(
        "latin1",
        Request::get(&url)
            .override_mime_type("text/plain; charset=windows-1252")
            .send(),
    )
    .await
    .unwrap();
    assert_eq!(overridden.text().as_deref(), Some("café"));
}

// ---------------------------------------------------------------------------------------------
// status handling

#[wasm_bindgen_test]
async fn not_modified_is_success() {
    let resp = within(
        "304",
        Request::get(&common::url("/status/304?etag=v1")).send(),
    )
    .await
    .unwrap();
    assert_eq!(resp.status(), 304);
    assert!(!resp.ok());
}

#[wasm_bindgen_test]
async fn error_statuses_are_http_errors_carrying_the_response() {
    for code in [404u16, 500, 503] {
        let err = within(
            "status",
            Request::get(&common::url(&format!("/status/{code}"))).send(),
        )
        .await
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Http);
        assert_eq!(err.status(), Some(code));
        assert!(err.message().contains(&code.to_string()));
        let resp = err.into_response().unwrap();
        assert_eq!(resp.status(), code);
        assert_eq!(resp.text(), Some(format!("status {code}").as_str()));
        assert!(resp.headers().get("content-type").is_some());
    }
}

// ---------------------------------------------------------------------------------------------
// timeout, abort, network errors

#[wasm_bindgen_test]
async fn timeout_fails_with_kind_timeout() {
    let key = common::unique_key("timeout");
    let result = within(
        "timeout",
        Request::get(&common::url(&format!("/slow?ms=5000&key={key}")))
            .timeout(200)
            .send(),
    )
    .await;
    assert_eq!(kind_of(result), ErrorKind::Timeout);
    assert!(
        wait_cancelled(&key, 1).await,
        "server did not see the timed-out request go away"
    );
}

#[wasm_bindgen_test]
async fn abort_handle_cancels_a_request_in_flight() {
    let key = common::unique_key("abort");
    let handle = AbortHandle::new();
    let req = Request::get(&common::url(&format!("/slow?ms=5000&key={key}"))).abort_handle(&handle);
    let aborter = async {
        sleep(200).await;
        handle.abort();
    };
    let (result, ()) = within("abort", join(req.send(), aborter)).await;
    assert_eq!(kind_of(result), ErrorKind::Abort);
    assert!(handle.is_aborted());
    assert!(
        wait_cancelled(&key, 1).await,
        "server did not see the aborted request go away"
    );
}

#[wasm_bindgen_test]
async fn aborted_handle_sends_nothing() {
    let key = common::unique_key("preaborted");
    let handle = AbortHandle::new();
    handle.abort();
    let result = Request::get(&echo_url(&key))
        .abort_handle(&handle)
        .send()
        .await;
    assert_eq!(kind_of(result), ErrorKind::Abort);
    sleep(100).await;
    assert_eq!(hits(&key).await.0, 0);
}

#[wasm_bindgen_test]
async fn dropping_the_future_aborts_the_request() {
    let key = common::unique_key("drop");
    let calls = Rc::new(Cell::new(0u32));
    let seen = calls.clone();
    let send = Request::get(&common::url(&format!(
        "/trickle?chunks=40&interval=100&size=2048&length=1&key={key}"
    )))
    .on_download_progress(move |_| seen.set(seen.get() + 1))
    .send();
    match select(Box::pin(send), TimeoutFuture::new(400)).await {
        Either::Left(_) => panic!("a 4 s response finished in 400 ms"),
        Either::Right((_, send)) => drop(send),
    }
    let after_drop = calls.get();
    assert!(
        wait_cancelled(&key, 1).await,
        "server did not see the dropped request go away"
    );
    sleep(300).await;
    assert_eq!(
        calls.get(),
        after_drop,
        "progress callback fired after the future was dropped"
    );
    assert_eq!(
        hits(&key).await.1,
        0,
        "response completed although the future was dropped"
    );
}

#[wasm_bindgen_test]
async fn cors_rejection_and_refused_connection_are_network_errors() {
    let result = within("cors", Request::get(&common::url("/echo?cors=none")).send()).await;
    assert_eq!(kind_of(result), ErrorKind::Network);
    let result = within(
        "refused",
        Request::get("http://127.0.0.1:47/nothing").send(),
    )
    .await;
    assert_eq!(kind_of(result), ErrorKind::Network);
}

#[wasm_bindgen_test]
async fn invalid_input_is_rejected_before_sending() {
    let key = common::unique_key("invalid");
    let url = echo_url(&key);
    let cases: Vec<Request> = vec![
        Request::new("BAD METHOD", &url),
        Request::new("", &url),
        Request::new("CONNECT", &url),
        Request::new("GET\r\n", &url),
        Request::get(&url).header("X-Injected", "a\r\nX-Evil: 1"),
        Request::get(&url).header("Bad Name", "1"),
        Request::get(&url).header("X-Wide", "€"),
        Request::get(&url).response_type(ResponseType::Json), // fine for send, checked below for stream
    ];
    for (i, req) in cases.into_iter().enumerate() {
        if i == 7 {
            assert!(
                req.stream().await.unwrap_err().is_invalid(),
                "stream with json response type"
            );
            continue;
        }
        let err = req.send().await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Invalid, "case {i}: {err}");
    }
    for bad in ["http://[::1", "https://", "http://127.0.0.1:99999/"] {
        let err = Request::get(bad).send().await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Invalid, "{bad}");
    }
    sleep(200).await;
    assert_eq!(
        hits(&key).await.0,
        0,
        "an invalid request reached the server"
    );
    assert_eq!(
        preflights(&key).await,
        0,
        "an invalid request was preflighted"
    );
}

// ---------------------------------------------------------------------------------------------
// progress

#[wasm_bindgen_test]
async fn upload_progress_reaches_the_total() {
    const SIZE: usize = 1024 * 1024;
    let events: Rc<RefCell<Vec<Progress>>> = Rc::default();
    let sink = events.clone();
    let resp = within(
        "upload",
        Request::post(&common::url("/upload"))
            .body(Body::Bytes(vec![7u8; SIZE]))
            .on_upload_progress(move |p| sink.borrow_mut().push(p))
            .send(),
    )
    .await
    .unwrap();
    assert_eq!(
        get_num(&resp.json_value().unwrap(), "received"),
        SIZE as f64
    );
    let events = events.borrow();
    let last = events.last().expect("no upload progress event");
    assert!(last.length_computable);
    assert_eq!(last.total, SIZE as f64);
    assert_eq!(last.loaded, SIZE as f64);
    assert!(events.windows(2).all(|w| w[0].loaded <= w[1].loaded));
}

#[wasm_bindgen_test]
async fn upload_listener_only_when_asked_for() {
    // A text/plain POST is a simple request: no preflight unless an upload listener is attached.
    let key = common::unique_key("upl");
    let url = echo_url(&key);
    within(
        "plain",
        Request::post(&url).body(Body::Text("x".into())).send(),
    )
    .await
    .unwrap();
    assert_eq!(preflights(&key).await, 0);
    within(
        "with listener",
        Request::post(&url)
            .body(Body::Text("x".into()))
            .on_upload_progress(|_| {})
            .send(),
    )
    .await
    .unwrap();
    assert_eq!(preflights(&key).await, 1);
}

#[wasm_bindgen_test]
async fn download_progress_with_and_without_a_length() {
    let events: Rc<RefCell<Vec<Progress>>> = Rc::default();
    let sink = events.clone();
    within(
        "bytes",
        Request::get(&common::url("/bytes?n=200000"))
            .on_download_progress(move |p| sink.borrow_mut().push(p))
            .send(),
    )
    .await
    .unwrap();
    let last = *events.borrow().last().expect("no download progress");
    assert!(last.length_computable);
    assert_eq!((last.loaded, last.total), (200_000.0, 200_000.0));

    let events: Rc<RefCell<Vec<Progress>>> = Rc::default();
    let sink = events.clone();
    within(
        "chunked",
        Request::get(&common::url("/trickle?chunks=4&interval=100&size=100"))
            .on_download_progress(move |p| sink.borrow_mut().push(p))
            .send(),
    )
    .await
    .unwrap();
    let events = events.borrow();
    assert!(!events.is_empty());
    assert!(events.iter().all(|p| !p.length_computable));
    assert_eq!(events.last().unwrap().loaded, 400.0);
}

// ---------------------------------------------------------------------------------------------
// credentials

#[wasm_bindgen_test]
async fn with_credentials_sends_cookies_and_without_does_not() {
    let name = format!("ck{}", (js_sys::Math::random() * 1e9) as u64);
    within(
        "set cookie",
        Request::get(&common::url("/cookie/set"))
            .query("name", &name)
            .query("value", "v1")
            .with_credentials(true)
            .send(),
    )
    .await
    .unwrap();
    let with = within(
        "get with",
        Request::get(&common::url("/cookie/get"))
            .with_credentials(true)
            .send(),
    )
    .await
    .unwrap();
    let cookie = get(&with.json_value().unwrap(), "cookie")
        .as_string()
        .unwrap_or_default();
    assert!(
        cookie.contains(&format!("{name}=v1")),
        "cookie header: {cookie:?}"
    );

    let without = within(
        "get without",
        Request::get(&common::url("/cookie/get")).send(),
    )
    .await
    .unwrap();
    let cookie = get(&without.json_value().unwrap(), "cookie")
        .as_string()
        .unwrap_or_default();
    assert!(
        !cookie.contains(&name),
        "cookie sent without credentials: {cookie:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// streaming

async fn collect_stream(url: &str) -> Vec<String> {
    let mut stream = within("stream headers", Request::get(url).stream())
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    assert_eq!(
        stream.headers().content_type().as_deref(),
        Some("text/plain")
    );
    let mut chunks = Vec::new();
    while let Some(item) = within("stream chunk", stream.next()).await {
        chunks.push(item.unwrap());
    }
    assert!(stream.next().await.is_none());
    assert_eq!(stream.response().unwrap().text(), Some(chunks.concat()));
    chunks
}

#[wasm_bindgen_test]
async fn streaming_delivers_chunks_incrementally() {
    let expected: String = (0..6).map(|i| format!("chunk-{i};")).collect();
    for length in ["0", "1"] {
        let chunks = collect_stream(&common::url(&format!(
            "/trickle?chunks=6&interval=150&length={length}"
        )))
        .await;
        assert!(
            chunks.len() > 1,
            "length={length}: got everything in one piece: {chunks:?}"
        );
        assert_eq!(chunks.concat(), expected, "length={length}");
    }
}

#[wasm_bindgen_test]
async fn streaming_an_error_status_is_an_http_error() {
    let err = within(
        "stream 404",
        Request::get(&common::url("/status/404")).stream(),
    )
    .await
    .unwrap_err();
    assert!(err.is_http());
    assert_eq!(err.response().unwrap().text(), Some("status 404"));
}

#[wasm_bindgen_test]
async fn interrupted_stream_yields_an_error() {
    let mut stream = within(
        "drop headers",
        Request::get(&common::url("/drop?chunks=2&interval=200")).stream(),
    )
    .await
    .unwrap();
    let mut text = String::new();
    let mut error = None;
    while let Some(item) = within("drop chunk", stream.next()).await {
        match item {
            Ok(chunk) => text.push_str(&chunk),
            Err(e) => {
                error = Some(e);
                break;
            }
        }
    }
    let error = error.expect("the broken connection produced no error");
    assert_eq!(error.kind(), ErrorKind::Network);
    assert!(stream.next().await.is_none());
    assert!(text.starts_with("chunk-0;"), "{text:?}");

    let result = within(
        "drop send",
        Request::get(&common::url("/drop?chunks=2&interval=50")).send(),
    )
    .await;
    assert_eq!(kind_of(result), ErrorKind::Network);
}

#[wasm_bindgen_test]
async fn dropping_a_stream_aborts_it() {
    let key = common::unique_key("dropstream");
    let mut stream = within(
        "stream",
        Request::get(&common::url(&format!(
            "/trickle?chunks=50&interval=100&size=2048&length=1&key={key}"
        )))
        .stream(),
    )
    .await
    .unwrap();
    let first = within("first chunk", stream.next()).await.unwrap().unwrap();
    assert!(first.starts_with("chunk-0;"));
    drop(stream);
    assert!(
        wait_cancelled(&key, 1).await,
        "server did not see the dropped stream go away"
    );
}

#[wasm_bindgen_test]
async fn timeout_mid_stream_is_one_error_item() {
    let mut stream = within(
        "stream",
        Request::get(&common::url("/trickle?chunks=50&interval=100"))
            .timeout(500)
            .stream(),
    )
    .await
    .unwrap();
    let mut errors = Vec::new();
    let mut oks = 0;
    while let Some(item) = within("chunk", stream.next()).await {
        match item {
            Ok(_) => oks += 1,
            Err(e) => errors.push(e.kind()),
        }
    }
    assert!(oks >= 1);
    assert_eq!(errors, [ErrorKind::Timeout]);
}

// ---------------------------------------------------------------------------------------------
// leak check

#[wasm_bindgen_test]
async fn aborted_requests_leave_nothing_pending() {
    let tracker = track_xhrs();
    let calls = Rc::new(Cell::new(0u32));
    let handle = AbortHandle::new();
    let mut futures = Vec::new();
    for i in 0..10 {
        let seen = calls.clone();
        let req = Request::get(&common::url("/trickle?chunks=30&interval=100"))
            .on_download_progress(move |_| seen.set(seen.get() + 1));
        // Half are aborted through a handle, half by dropping their futures.
        let req = if i % 2 == 0 {
            req.abort_handle(&handle)
        } else {
            req
        };
        futures.push(Box::pin(req.send()));
    }
    let all = futures_util::future::join_all(futures);
    let all = match select(all, TimeoutFuture::new(300)).await {
        Either::Left(_) => panic!("3 s responses finished in 300 ms"),
        Either::Right((_, all)) => all,
    };
    handle.abort();
    drop(all);
    let at_abort = calls.get();
    // Every XHR was aborted (abort() leaves it UNSENT) and none is still loading.
    let states = Array::from(&stop_tracking_xhrs(&tracker));
    assert_eq!(states.length(), 10);
    assert!(
        states.iter().all(|s| s.as_f64() == Some(0.0)),
        "ready states after abort: {states:?}"
    );
    sleep(500).await;
    assert_eq!(calls.get(), at_abort, "callbacks fired after abort");
}

// ---------------------------------------------------------------------------------------------
// JavaScript surface

#[wasm_bindgen_test]
async fn js_request_resolves_a_response_object() {
    let opts = obj(&[
        ("url", common::url("/echo").into()),
        ("method", "POST".into()),
        ("params", obj(&[("q", "x y".into())])),
        ("headers", obj(&[("X-A", "1".into())])),
        ("json", parse(r#"{"a":[1,2]}"#)),
    ]);
    let resp = within("js request", js_request(opts)).await.unwrap();
    assert_eq!(get_num(&resp, "status"), 200.0);
    assert_eq!(get(&resp, "ok"), JsValue::TRUE);
    assert_eq!(get_str(&resp, "statusText"), "OK");
    assert!(get_str(&resp, "url").ends_with("/echo?q=x%20y"));
    assert_eq!(get_str(&get(&resp, "headers"), "x-fixture"), "echo");
    let data = get(&resp, "data");
    assert_eq!(get_str(&data, "method"), "POST");
    assert_eq!(get_str(&data, "body"), r#"{"a":[1,2]}"#);
    assert_eq!(get_str(&data, "contentType"), "application/json");
    assert_eq!(get_str(&get(&data, "headers"), "x-a"), "1");
    assert_eq!(get_str(&data, "query"), "q=x%20y");
    assert!(get(&resp, "text").is_string());

    let opts = obj(&[
        ("url", common::url("/bytes?n=10").into()),
        ("responseType", "arraybuffer".into()),
    ]);
    let resp = within("js arraybuffer", js_request(opts)).await.unwrap();
    assert!(is_array_buffer(&get(&resp, "body")));
    assert!(get(&resp, "text").is_null());

    let opts = obj(&[
        ("url", common::url("/echo").into()),
        ("form", obj(&[("a b", "c".into())])),
    ]);
    let resp = within("js form", js_request(opts)).await.unwrap();
    assert_eq!(get_str(&get(&resp, "data"), "body"), "a+b=c");

    // A form body takes its method from the form.
    let form = make_form("application/x-www-form-urlencoded", "post");
    let opts = obj(&[
        ("url", common::url("/echo").into()),
        ("body", form.clone().into()),
    ]);
    let resp = within("js html form", js_request(opts)).await.unwrap();
    assert_eq!(get_str(&get(&resp, "data"), "method"), "POST");
    assert_eq!(get_str(&get(&resp, "data"), "body"), form_urlencoded());
    form.remove();
}

#[wasm_bindgen_test]
async fn js_request_progress_and_chunks() {
    let progress = Array::new();
    let sink = progress.clone();
    let on_progress = Closure::<dyn Fn(JsValue)>::new(move |p: JsValue| {
        sink.push(&p);
    });
    let chunks = Array::new();
    let sink = chunks.clone();
    let on_chunk = Closure::<dyn Fn(JsValue)>::new(move |c: JsValue| {
        sink.push(&c);
    });
    let opts = obj(&[
        (
            "url",
            common::url("/trickle?chunks=5&interval=150&length=1").into(),
        ),
        ("onDownloadProgress", on_progress.as_ref().clone()),
        ("onChunk", on_chunk.as_ref().clone()),
    ]);
    let resp = within("js stream", js_request(opts)).await.unwrap();
    let expected: String = (0..5).map(|i| format!("chunk-{i};")).collect();
    assert_eq!(get_str(&resp, "text"), expected);
    assert!(
        chunks.length() > 1,
        "onChunk called {} times",
        chunks.length()
    );
    let joined: String = chunks.iter().map(|c| c.as_string().unwrap()).collect();
    assert_eq!(joined, expected);
    let last = progress.get(
        progress
            .length()
            .checked_sub(1)
            .expect("no progress events"),
    );
    assert_eq!(get(&last, "lengthComputable"), JsValue::TRUE);
    assert_eq!(get_num(&last, "loaded"), expected.len() as f64);
    assert_eq!(get_num(&last, "total"), expected.len() as f64);

    // An exception in onChunk rejects with it and aborts the stream.
    let key = common::unique_key("jschunkthrow");
    let thrower =
        Closure::<dyn Fn(JsValue) -> Result<(), JsValue>>::new(|_| Err(JsValue::from_str("boom")));
    let opts = obj(&[
        (
            "url",
            common::url(&format!(
                "/trickle?chunks=50&interval=100&size=2048&length=1&key={key}"
            ))
            .into(),
        ),
        ("onChunk", thrower.as_ref().clone()),
    ]);
    let err = within("js throw", js_request(opts)).await.unwrap_err();
    assert_eq!(err.as_string().as_deref(), Some("boom"));
    assert!(wait_cancelled(&key, 1).await);
}

#[wasm_bindgen_test]
async fn js_request_rejections_carry_kinds() {
    let err = within(
        "js 500",
        js_request(obj(&[("url", common::url("/status/500").into())])),
    )
    .await
    .unwrap_err();
    assert_eq!(js_kind(&err), "http");
    assert_eq!(get_num(&err, "status"), 500.0);
    assert!(err.is_instance_of::<js_sys::Error>());
    let response = get(&err, "response");
    assert_eq!(get_num(&response, "status"), 500.0);
    assert_eq!(get_str(&response, "text"), "status 500");

    let opts = obj(&[
        ("url", common::url("/slow?ms=5000").into()),
        ("timeout", 150.into()),
    ]);
    assert_eq!(
        js_kind(&within("js timeout", js_request(opts)).await.unwrap_err()),
        "timeout"
    );

    let opts = obj(&[("url", common::url("/echo?cors=none").into())]);
    assert_eq!(
        js_kind(&within("js network", js_request(opts)).await.unwrap_err()),
        "network"
    );

    let opts = obj(&[(
        "url",
        common::url("/text?ctype=application/json&body=%7Bbroken").into(),
    )]);
    assert_eq!(
        js_kind(&within("js bad json", js_request(opts)).await.unwrap_err()),
        "protocol"
    );

    // A blank body with a JSON Content-Type is no JSON to parse: a response without `data`.
    let opts = obj(&[(
        "url",
        common::url("/text?ctype=application/json&body=%20%0A").into(),
    )]);
    let resp = within("js blank json", js_request(opts)).await.unwrap();
    assert_eq!(get_str(&resp, "text"), " \n");
    assert!(get(&resp, "data").is_undefined());
}

#[wasm_bindgen_test]
async fn js_abort_signal_rejects_with_kind_abort() {
    let key = common::unique_key("jssignal");
    let opts = obj(&[
        (
            "url",
            common::url(&format!("/slow?ms=5000&key={key}")).into(),
        ),
        ("signal", signal_aborted_after(200)),
    ]);
    let err = within("js abort", js_request(opts)).await.unwrap_err();
    assert_eq!(js_kind(&err), "abort");
    assert!(wait_cancelled(&key, 1).await);

    let key = common::unique_key("jspreabort");
    let opts = obj(&[("url", echo_url(&key).into()), ("signal", aborted_signal())]);
    assert_eq!(js_kind(&js_request(opts).await.unwrap_err()), "abort");
    sleep(100).await;
    assert_eq!(hits(&key).await.0, 0);
}

#[wasm_bindgen_test]
async fn js_option_type_errors_are_invalid() {
    let key = common::unique_key("jsinvalid");
    let url = JsValue::from(echo_url(&key));
    let not_fn = JsValue::from(5);
    let cases: Vec<JsValue> = vec![
        JsValue::from_str("http://x/"),
        JsValue::NULL,
        obj(&[]),
        obj(&[("url", 5.into())]),
        obj(&[("url", url.clone()), ("method", 1.into())]),
        obj(&[("url", url.clone()), ("method", "BAD METHOD".into())]),
        obj(&[("url", url.clone()), ("timeout", (-1).into())]),
        obj(&[("url", url.clone()), ("timeout", "10".into())]),
        obj(&[("url", url.clone()), ("headers", 5.into())]),
        obj(&[
            ("url", url.clone()),
            ("headers", obj(&[("X-A", "a\nb".into())])),
        ]),
        obj(&[("url", url.clone()), ("params", "a=b".into())]),
        obj(&[("url", url.clone()), ("responseType", "bogus".into())]),
        obj(&[("url", url.clone()), ("signal", obj(&[]))]),
        obj(&[("url", url.clone()), ("body", obj(&[("a", 1.into())]))]),
        obj(&[("url", url.clone()), ("body", 5.into())]),
        obj(&[
            ("url", url.clone()),
            ("body", "x".into()),
            ("json", 1.into()),
        ]),
        obj(&[
            ("url", url.clone()),
            ("json", js_sys::Function::new_no_args("").into()),
        ]),
        obj(&[("url", url.clone()), ("withCredentials", "yes".into())]),
        obj(&[("url", url.clone()), ("onChunk", not_fn.clone())]),
        obj(&[("url", url.clone()), ("onUploadProgress", not_fn.clone())]),
        obj(&[("url", url.clone()), ("mimeType", 3.into())]),
        obj(&[("url", "http://[::1".into())]),
        obj(&[
            ("url", url.clone()),
            ("onChunk", js_sys::Function::new_no_args("").into()),
            ("responseType", "json".into()),
        ]),
    ];
    for (i, opts) in cases.into_iter().enumerate() {
        let err = js_request(opts).await.unwrap_err();
        assert_eq!(js_kind(&err), "invalid", "case {i}: {err:?}");
    }
    sleep(200).await;
    assert_eq!(
        hits(&key).await.0,
        0,
        "an invalid request reached the server"
    );
}

/// The JS `request()` as JavaScript sees it: a promise.
async fn js_request(opts: JsValue) -> Result<JsValue, JsValue> {
    wasm_bindgen_futures::JsFuture::from(cometkit::js::xhr::request(opts)).await
}
