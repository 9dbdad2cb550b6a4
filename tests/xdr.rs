#![cfg(all(target_arch = "wasm32", feature = "xdr", feature = "js"))]
//! XDomainRequest-style requests: the XHR emulation against the fixtures (no preflight,
//! text/plain bodies, no cookies, no headers exposed, every failure path), and the real-XDR
//! path through a test-installed `window.XDomainRequest` shim. Also CORS detection.

wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

mod common;

use std::future::Future;

use cometkit::transport::cors::{self, CorsSupport};
use cometkit::transport::xdr::XdrRequest;
use cometkit::transport::xhr::Request;
use cometkit::ErrorKind;
use futures_util::future::{select, Either};
use gloo_timers::future::TimeoutFuture;
use js_sys::{Object, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::wasm_bindgen_test;

#[wasm_bindgen(inline_js = r#"
// An XDomainRequest built on XMLHttpRequest, with IE's semantics: GET/POST only, text/plain
// body, no credentials, only `load` (2xx) / `error` (anything else) / `timeout`, and a log of
// how it was used.
export function install_xdr_shim() {
  var log = { created: 0, opened: [], sent: [], aborted: 0 };
  function XDomainRequest() {
    log.created++;
    this.timeout = 0;
    this.responseText = "";
    this.contentType = "";
    this.onload = null;
    this.onerror = null;
    this.ontimeout = null;
    this.onprogress = null;
    this._xhr = null;
  }
  XDomainRequest.prototype.open = function (method, url) {
    if (method !== "GET" && method !== "POST") throw new Error("Invalid argument.");
    this._method = method;
    this._url = url;
    log.opened.push(method + " " + url);
  };
  XDomainRequest.prototype.send = function (body) {
    var self = this;
    var xhr = new XMLHttpRequest();
    this._xhr = xhr;
    xhr.open(this._method, this._url, true);
    if (this.timeout > 0) xhr.timeout = this.timeout;
    xhr.onload = function () {
      if (xhr.status >= 200 && xhr.status < 300) {
        self.responseText = xhr.responseText;
        self.contentType = xhr.getResponseHeader("Content-Type") || "";
        if (self.onprogress) self.onprogress();
        if (self.onload) self.onload();
      } else if (self.onerror) {
        self.onerror();
      }
    };
    xhr.onerror = function () { if (self.onerror) self.onerror(); };
    xhr.ontimeout = function () { if (self.ontimeout) self.ontimeout(); };
    log.sent.push(body === undefined ? null : body);
    xhr.send(this._method === "POST" ? body : null);
  };
  XDomainRequest.prototype.abort = function () {
    log.aborted++;
    if (this._xhr) this._xhr.abort();
  };
  globalThis.XDomainRequest = XDomainRequest;
  return log;
}
export function remove_xdr_shim() { delete globalThis.XDomainRequest; }
export function has_xdr() { return "XDomainRequest" in globalThis; }
export async function fetch_json(url) {
  var r = await fetch(url);
  return await r.json();
}
"#)]
extern "C" {
    fn install_xdr_shim() -> JsValue;
    fn remove_xdr_shim();
    fn has_xdr() -> bool;
    async fn fetch_json(url: &str) -> JsValue;
}

/// The shim is installed for as long as this lives.
struct Shim {
    log: JsValue,
}

impl Shim {
    fn install() -> Shim {
        Shim {
            log: install_xdr_shim(),
        }
    }

    fn count(&self, field: &str) -> f64 {
        get(&self.log, field).as_f64().unwrap()
    }

    fn list(&self, field: &str) -> Vec<JsValue> {
        js_sys::Array::from(&get(&self.log, field)).to_vec()
    }
}

impl Drop for Shim {
    fn drop(&mut self) {
        remove_xdr_shim();
    }
}

fn get(value: &JsValue, key: &str) -> JsValue {
    Reflect::get(value, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

fn obj(entries: &[(&str, JsValue)]) -> Object {
    let o = Object::new();
    for (k, v) in entries {
        Reflect::set(&o, &JsValue::from_str(k), v).unwrap();
    }
    o
}

/// The fixture's `/echo` JSON for this response.
fn echo_of(response: &cometkit::transport::xhr::Response) -> JsValue {
    js_sys::JSON::parse(&response.text().unwrap()).unwrap()
}

async fn preflights(key: &str) -> f64 {
    let doc = fetch_json(&common::url(&["/preflights?key=", key].concat())).await;
    get(&doc, "count").as_f64().unwrap()
}

/// `/hits` of the XHR fixtures: (requests, completed, cancelled) under `key`.
async fn hits(key: &str) -> (f64, f64, f64) {
    let doc = fetch_json(&common::url(&["/hits?key=", key].concat())).await;
    let n = |f: &str| get(&doc, f).as_f64().unwrap();
    (n("count"), n("completed"), n("cancelled"))
}

async fn eventually_cancelled(key: &str) -> bool {
    for _ in 0..100 {
        if hits(key).await.2 >= 1.0 {
            return true;
        }
        TimeoutFuture::new(50).await;
    }
    false
}

/// Runs `fut` for `ms` and then drops it; true when it was still pending.
async fn dropped_after<F: Future>(fut: F, ms: u32) -> bool {
    futures_util::pin_mut!(fut);
    matches!(select(fut, TimeoutFuture::new(ms)).await, Either::Right(_))
}

#[wasm_bindgen_test]
async fn emulation_triggers_no_preflight_while_a_custom_header_does() {
    assert!(
        !has_xdr(),
        "this browser has no XDomainRequest: the XHR emulation runs"
    );
    let key = common::unique_key("xdr-nopre");
    let url = common::url(&["/echo?key=", &key].concat());
    XdrRequest::new("GET", &url).send().await.unwrap();
    XdrRequest::new("POST", &url)
        .body("a=1\nb=2")
        .send()
        .await
        .unwrap();
    assert_eq!(preflights(&key).await, 0.0);
    assert_eq!(hits(&key).await.0, 2.0, "both requests arrived");
    // Control: the counter does count a preflighted request.
    let control = common::unique_key("xdr-pre");
    Request::post(&common::url(&["/echo?key=", &control].concat()))
        .header("X-Custom", "1")
        .send()
        .await
        .unwrap();
    assert_eq!(preflights(&control).await, 1.0);
}

#[wasm_bindgen_test]
async fn bodies_arrive_as_text_plain_and_no_headers_are_exposed() {
    let url = common::url("/echo");
    let response = XdrRequest::new("post", &url)
        .body("hello, world é")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers().is_empty(),
        "no response header is exposed"
    );
    let echo = echo_of(&response);
    assert_eq!(get(&echo, "method").as_string().as_deref(), Some("POST"));
    assert_eq!(
        get(&echo, "body").as_string().as_deref(),
        Some("hello, world é")
    );
    let ctype = get(&echo, "contentType").as_string().unwrap();
    assert!(ctype.starts_with("text/plain"), "{ctype}");
    // Nothing beyond what a simple request may carry.
    let headers = get(&echo, "headers");
    for name in ["cookie", "authorization", "x-requested-with"] {
        assert!(get(&headers, name).is_undefined(), "{name} was sent");
    }

    let response = XdrRequest::new("GET", &url).send().await.unwrap();
    let echo = echo_of(&response);
    assert_eq!(get(&echo, "method").as_string().as_deref(), Some("GET"));
    assert_eq!(get(&echo, "length").as_f64(), Some(0.0));
    assert!(get(&echo, "contentType").is_null());
    // POST without a body still goes out as text/plain.
    let response = XdrRequest::new("POST", &url).send().await.unwrap();
    let ctype = get(&echo_of(&response), "contentType").as_string().unwrap();
    assert!(ctype.starts_with("text/plain"), "{ctype}");
}

#[wasm_bindgen_test]
async fn cookies_are_not_sent() {
    let value = common::unique_key("v").replace('-', "");
    let set = common::url(&["/cookie/set?name=ckxdr&value=", &value].concat());
    Request::get(&set)
        .with_credentials(true)
        .send()
        .await
        .unwrap();
    let get_url = common::url("/cookie/get");
    // Control: a credentialed XHR does carry the cookie.
    let with = Request::get(&get_url)
        .with_credentials(true)
        .send()
        .await
        .unwrap();
    let cookie = get(
        &js_sys::JSON::parse(&with.text().unwrap()).unwrap(),
        "cookie",
    );
    assert!(
        cookie.as_string().unwrap_or_default().contains(&value),
        "control: {cookie:?}"
    );
    // The XDR-style request does not.
    let without = XdrRequest::new("GET", &get_url).send().await.unwrap();
    let cookie = get(&echo_of(&without), "cookie");
    assert!(cookie.is_null(), "cookie sent: {cookie:?}");
}

#[wasm_bindgen_test]
async fn non_2xx_is_an_http_error_with_a_headerless_response() {
    let err = XdrRequest::new("GET", &common::url("/status/503"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Http, "{err}");
    assert_eq!(err.status(), Some(503));
    let response = err.response().unwrap();
    assert!(response.headers().is_empty());
    assert_eq!(response.text(), Some("status 503"));
}

#[wasm_bindgen_test]
async fn timeout_network_error_and_drop_on_the_emulation() {
    let err = XdrRequest::new("GET", &common::url("/slow?ms=1000"))
        .timeout(100)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");

    let err = XdrRequest::new("GET", &common::url("/echo?cors=none"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Network, "CORS rejection: {err}");

    let key = common::unique_key("xdr-drop");
    let url = common::url(&["/slow?ms=2000&key=", &key].concat());
    assert!(dropped_after(XdrRequest::new("GET", &url).send(), 150).await);
    assert!(
        eventually_cancelled(&key).await,
        "dropping aborts: the server saw the cancel"
    );
}

#[wasm_bindgen_test]
async fn invalid_requests_are_rejected_before_sending() {
    let key = common::unique_key("xdr-invalid");
    let echo = common::url(&["/echo?key=", &key].concat());
    let https = echo.replacen("http://", "https://", 1);
    let ftp = echo.replacen("http://", "ftp://", 1);
    let cases: Vec<XdrRequest> = vec![
        XdrRequest::new("PUT", &echo),
        XdrRequest::new("DELETE", &echo),
        XdrRequest::new("HEAD", &echo),
        XdrRequest::new("GET", &echo).body("no body with GET"),
        XdrRequest::new("GET", &https),
        XdrRequest::new("GET", &ftp),
        XdrRequest::new("GET", "http://[::1"),
        XdrRequest::new("POST", "javascript:alert(1)"),
    ];
    for request in cases {
        let shown = format!("{request:?}");
        let err = request.send().await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Invalid, "{shown}: {err}");
    }
    assert!(XdrRequest::new("GET", &https)
        .send()
        .await
        .unwrap_err()
        .message()
        .contains("scheme"));
    assert_eq!(hits(&key).await.0, 0.0, "nothing was sent");
}

#[wasm_bindgen_test]
async fn js_api_resolves_like_request_and_rejects_outside_the_limits() {
    let key = common::unique_key("xdr-js");
    let echo = common::url(&["/echo?key=", &key].concat());
    let opts = obj(&[
        ("url", JsValue::from_str(&echo)),
        ("method", JsValue::from_str("POST")),
        ("body", JsValue::from_str("from js")),
        ("timeout", JsValue::from(5000)),
    ]);
    let response = cometkit::js::xdr::xdr_request(opts.into()).await.unwrap();
    assert_eq!(get(&response, "status").as_f64(), Some(200.0));
    assert_eq!(get(&response, "ok"), JsValue::TRUE);
    let headers: Object = get(&response, "headers").into();
    assert_eq!(Object::keys(&headers).length(), 0, "no headers exposed");
    let text = get(&response, "text").as_string().unwrap();
    assert!(text.contains("\"body\":\"from js\""), "{text}");

    let opts = obj(&[("url", JsValue::from_str(&common::url("/status/404")))]);
    let err = cometkit::js::xdr::xdr_request(opts.into())
        .await
        .unwrap_err();
    assert_eq!(get(&err, "kind").as_string().as_deref(), Some("http"));
    assert_eq!(get(&err, "status").as_f64(), Some(404.0));

    let url = JsValue::from_str(&echo);
    let bad: Vec<(&str, Object)> = vec![
        (
            "headers",
            obj(&[
                ("url", url.clone()),
                ("headers", obj(&[("X-A", "1".into())]).into()),
            ]),
        ),
        (
            "withCredentials",
            obj(&[("url", url.clone()), ("withCredentials", JsValue::TRUE)]),
        ),
        (
            "json",
            obj(&[("url", url.clone()), ("json", obj(&[]).into())]),
        ),
        (
            "form",
            obj(&[("url", url.clone()), ("form", obj(&[]).into())]),
        ),
        (
            "body",
            obj(&[
                ("url", url.clone()),
                ("method", "POST".into()),
                ("body", 42.into()),
            ]),
        ),
        (
            "method",
            obj(&[("url", url.clone()), ("method", "PUT".into())]),
        ),
        ("url", obj(&[("method", "GET".into())])),
    ];
    for (what, opts) in bad {
        let err = cometkit::js::xdr::xdr_request(opts.into())
            .await
            .unwrap_err();
        assert_eq!(
            get(&err, "kind").as_string().as_deref(),
            Some("invalid"),
            "{what}"
        );
    }
    let err = cometkit::js::xdr::xdr_request(JsValue::from_str("http://x"))
        .await
        .unwrap_err();
    assert_eq!(get(&err, "kind").as_string().as_deref(), Some("invalid"));
    assert_eq!(hits(&key).await.0, 1.0, "only the valid request was sent");
}

#[wasm_bindgen_test]
async fn real_xdomainrequest_is_used_when_present() {
    let shim = Shim::install();
    let key = common::unique_key("xdr-native");
    let url = common::url(&["/echo?key=", &key].concat());
    let response = XdrRequest::new("POST", &url)
        .body("native body")
        .send()
        .await
        .unwrap();
    assert_eq!(
        shim.count("created"),
        1.0,
        "the page's XDomainRequest was used"
    );
    assert_eq!(response.status(), 200);
    assert!(response.headers().is_empty());
    let echo = echo_of(&response);
    assert_eq!(
        get(&echo, "body").as_string().as_deref(),
        Some("native body")
    );
    let opened = shim.list("opened");
    assert_eq!(opened.len(), 1);
    assert!(
        opened[0].as_string().unwrap().starts_with("POST http://"),
        "{opened:?}"
    );

    let response = XdrRequest::new("get", &url).send().await.unwrap();
    assert_eq!(
        get(&echo_of(&response), "method").as_string().as_deref(),
        Some("GET")
    );
    assert_eq!(shim.count("created"), 2.0);
    assert_eq!(preflights(&key).await, 0.0);

    // Same JS surface on the native path.
    let opts = obj(&[("url", JsValue::from_str(&url))]);
    let js = cometkit::js::xdr::xdr_request(opts.into()).await.unwrap();
    assert_eq!(get(&js, "status").as_f64(), Some(200.0));
    assert_eq!(shim.count("created"), 3.0);
    assert_eq!(
        shim.count("aborted"),
        0.0,
        "finished requests are not aborted"
    );
}

#[wasm_bindgen_test]
async fn real_xdomainrequest_error_timeout_and_drop() {
    let shim = Shim::install();
    // XDR reports every non-2xx answer and every CORS failure as `error`.
    let err = XdrRequest::new("GET", &common::url("/status/500"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Network, "{err}");
    let err = XdrRequest::new("GET", &common::url("/echo?cors=none"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Network, "{err}");
    let err = XdrRequest::new("GET", &common::url("/slow?ms=1000"))
        .timeout(100)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert_eq!(shim.count("created"), 3.0);
    assert_eq!(shim.count("aborted"), 0.0);

    let key = common::unique_key("xdr-native-drop");
    let url = common::url(&["/slow?ms=2000&key=", &key].concat());
    assert!(dropped_after(XdrRequest::new("GET", &url).send(), 150).await);
    assert_eq!(
        shim.count("aborted"),
        1.0,
        "dropping the future aborts the XDomainRequest"
    );
    assert!(eventually_cancelled(&key).await);

    // Invalid input never reaches the XDomainRequest.
    let created = shim.count("created");
    let err = XdrRequest::new("PUT", &common::url("/echo"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Invalid);
    assert_eq!(shim.count("created"), created);
}

#[wasm_bindgen_test]
fn cors_support_is_xhr_in_modern_browsers() {
    assert_eq!(cors::detect(), CorsSupport::Xhr);
    assert_eq!(
        cometkit::js::xdr::cors_support().as_string().as_deref(),
        Some("xhr")
    );
    // A page with XDomainRequest and a CORS-capable XHR still prefers XHR.
    let _shim = Shim::install();
    assert_eq!(cors::detect(), CorsSupport::Xhr);
}
