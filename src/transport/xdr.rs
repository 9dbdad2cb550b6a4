//! XDomainRequest-style cross-origin requests: the subset of CORS that Internet Explorer 8/9's
//! [`XDomainRequest`](https://learn.microsoft.com/previous-versions/windows/internet-explorer/ie-developer/platform-apis/cc288060(v=vs.85))
//! could do, run on the real `XDomainRequest` when the page has one and on `XMLHttpRequest`
//! held to the same limits otherwise.
//!
//! Why keep the limits on a modern browser: a request that stays inside them is a CORS
//! "simple request", so it never costs a preflight round trip, carries no cookies (no ambient
//! authority, no CSRF exposure), and a server written for XDR clients (text/plain bodies, no
//! custom headers, `Access-Control-Allow-Origin` only) serves it unchanged. Streaming Comet
//! transports built for XDR (SockJS `xdr_streaming`, `xdr_polling`) rely on exactly this.
//!
//! The limits, checked before anything is sent (violations are
//! [`Invalid`](crate::ErrorKind::Invalid)):
//! - method `GET` or `POST` only; a body only with `POST`, and only text, sent as
//!   `Content-Type: text/plain`;
//! - no custom request headers (the API has no way to add one), no credentials, no upload
//!   listeners (they would force a preflight);
//! - http or https URLs only, with the same scheme as the page (the real XDR refuses
//!   cross-scheme requests);
//! - response headers are not exposed: [`Response::headers`] is always empty.
//!
//! Outcomes: on the real `XDomainRequest`, `load` is a 200 response with `responseText` (XDR
//! reports no status), `error` (which includes every non-2xx answer) is
//! [`Network`](crate::ErrorKind::Network) and `timeout` is
//! [`Timeout`](crate::ErrorKind::Timeout). On XHR the status is known: non-2xx is
//! [`Http`](crate::ErrorKind::Http) with the (header-less) response attached. Dropping the
//! future aborts the request on either path.

use std::cell::RefCell;
use std::rc::Rc;

use futures_channel::oneshot;
use js_sys::{Function, Reflect};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};

use crate::error::HttpResponse;
use crate::protocol::headers::Headers;
use crate::security::{self, SecureOnly};
use crate::transport::page;
use crate::transport::xhr::{Body, Request, Response};
use crate::Error;

#[wasm_bindgen]
extern "C" {
    /// The legacy `XDomainRequest` (bound by hand: web-sys has no binding). Only touched after
    /// checking that `globalThis.XDomainRequest` exists.
    #[wasm_bindgen(js_name = XDomainRequest)]
    type RawXdr;

    #[wasm_bindgen(constructor, catch, js_class = "XDomainRequest")]
    fn new() -> Result<RawXdr, JsValue>;

    #[wasm_bindgen(method, catch, js_class = "XDomainRequest")]
    fn open(this: &RawXdr, method: &str, url: &str) -> Result<(), JsValue>;

    #[wasm_bindgen(method, catch, js_class = "XDomainRequest")]
    fn send(this: &RawXdr, body: &str) -> Result<(), JsValue>;

    #[wasm_bindgen(method, catch, js_class = "XDomainRequest")]
    fn abort(this: &RawXdr) -> Result<(), JsValue>;

    #[wasm_bindgen(method, setter = timeout, js_class = "XDomainRequest")]
    fn set_timeout(this: &RawXdr, ms: f64);

    #[wasm_bindgen(method, getter = responseText, js_class = "XDomainRequest")]
    fn response_text(this: &RawXdr) -> JsValue;

    #[wasm_bindgen(method, setter = onload, js_class = "XDomainRequest")]
    fn set_onload(this: &RawXdr, f: Option<&Function>);

    #[wasm_bindgen(method, setter = onerror, js_class = "XDomainRequest")]
    fn set_onerror(this: &RawXdr, f: Option<&Function>);

    #[wasm_bindgen(method, setter = ontimeout, js_class = "XDomainRequest")]
    fn set_ontimeout(this: &RawXdr, f: Option<&Function>);

    #[wasm_bindgen(method, setter = onprogress, js_class = "XDomainRequest")]
    fn set_onprogress(this: &RawXdr, f: Option<&Function>);
}

/// HTTP method of an [`XdrRequest`]: the only two XDR allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Method {
    Get,
    Post,
}

impl Method {
    fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
        }
    }
}

/// A request under XDomainRequest's rules (see the module docs), configured with builder
/// methods and run by [`XdrRequest::send`].
///
/// ```no_run
/// # async fn demo() -> Result<(), cometkit::Error> {
/// use cometkit::transport::xdr::XdrRequest;
/// let response = XdrRequest::new("POST", "https://api.example.com/log")
///     .body("event=started")
///     .timeout(5_000)
///     .send()
///     .await?;
/// # let _ = response; Ok(()) }
/// ```
#[derive(Debug, Clone)]
#[must_use = "an XdrRequest does nothing until `send` is awaited"]
pub struct XdrRequest {
    method: String,
    url: String,
    body: Option<String>,
    timeout_ms: u32,
    secure_only: Option<SecureOnly>,
}

impl XdrRequest {
    /// A request with `method` (`GET` or `POST`, any case; checked when sent) to `url`
    /// (absolute, or relative to the page).
    pub fn new(method: &str, url: &str) -> Self {
        XdrRequest {
            method: method.to_owned(),
            url: url.to_owned(),
            body: None,
            timeout_ms: 0,
            secure_only: None,
        }
    }

    /// The text body of a `POST`, sent as `Content-Type: text/plain`.
    pub fn body(mut self, text: impl Into<String>) -> Self {
        self.body = Some(text.into());
        self
    }

    /// Fails with a timeout error after `ms` milliseconds (`xdr.timeout` / `xhr.timeout`);
    /// 0, the default, means no timeout.
    pub fn timeout(mut self, ms: u32) -> Self {
        self.timeout_ms = ms;
        self
    }

    /// Secure-only mode for this request, instead of the page-wide default of
    /// [`security::set_defaults`]. (A CSRF token is never sent: XDR cannot carry headers.)
    pub fn secure_only(mut self, policy: SecureOnly) -> Self {
        self.secure_only = Some(policy);
        self
    }

    /// Sends the request: on `window.XDomainRequest` when the page has one, else on XHR.
    ///
    /// Errors: [`Invalid`](crate::ErrorKind::Invalid) before anything is sent (method, body
    /// with `GET`, URL, scheme, secure-only mode); [`Http`](crate::ErrorKind::Http) for a non-2xx status (XHR
    /// path); [`Network`](crate::ErrorKind::Network) for a connection failure, a CORS
    /// rejection, or (real XDR) any non-2xx answer; [`Timeout`](crate::ErrorKind::Timeout).
    /// Dropping the future aborts the request.
    pub async fn send(self) -> Result<Response, Error> {
        let method = if self.method.eq_ignore_ascii_case("GET") {
            Method::Get
        } else if self.method.eq_ignore_ascii_case("POST") {
            Method::Post
        } else {
            return Err(Error::invalid("an XDR-style request must be GET or POST"));
        };
        if method == Method::Get && self.body.is_some() {
            return Err(Error::invalid(
                "an XDR-style GET request cannot have a body",
            ));
        }
        let url = resolve_same_scheme(&self.url)?;
        security::check_url(&url, self.secure_only)?;
        if has_native_xdr() {
            send_native(
                method,
                &url,
                self.body.as_deref().unwrap_or(""),
                self.timeout_ms,
            )
            .await
        } else {
            send_emulated(method, &url, self.body, self.timeout_ms).await
        }
    }
}

/// True when the global object has an `XDomainRequest` constructor.
fn has_native_xdr() -> bool {
    Reflect::get(
        &crate::transport::page::global(),
        &JsValue::from_str("XDomainRequest"),
    )
    .is_ok_and(|c| c.is_function())
}

/// `url` resolved against the page; must be http(s) and have the page's scheme.
fn resolve_same_scheme(url: &str) -> Result<String, Error> {
    let location = page::location()
        .filter(|l| l.is_object())
        .ok_or_else(|| Error::invalid("XDR-style requests need a page location"))?;
    let page_scheme = page::location_field(&location, "protocol").unwrap_or_default();
    let parsed = page::resolve_http_url(url, "XDR-style request")?;
    if parsed.protocol() != page_scheme {
        return Err(Error::invalid(
            "an XDR-style request must use the same scheme (http/https) as the page",
        ));
    }
    Ok(parsed.href())
}

/// The XHR path: a CORS simple request (no credentials, no custom headers, no upload
/// listeners, text/plain body), with the response stripped of its headers.
async fn send_emulated(
    method: Method,
    url: &str,
    body: Option<String>,
    timeout_ms: u32,
) -> Result<Response, Error> {
    // Checked above under this request's own policy; and XDR carries no custom header, so
    // no page-wide CSRF token either.
    let mut request = Request::new(method.as_str(), url)
        .timeout(timeout_ms)
        .secure_only(SecureOnly::Off)
        .no_xsrf();
    if method == Method::Post {
        // `Body::Text` is sent as text/plain;charset=UTF-8: a CORS-safelisted Content-Type.
        request = request.body(Body::Text(body.unwrap_or_default()));
    }
    match request.send().await {
        Ok(response) => Ok(strip(&response)),
        Err(err) if err.is_http() => match err.response() {
            // What XDR would expose: status, status text and body, no headers.
            Some(response) => Err(Error::http(HttpResponse::new(
                response.status(),
                response.status_text(),
                Headers::new(),
                "",
                response.text().map(str::to_owned),
            ))),
            None => Err(err),
        },
        Err(err) => Err(err),
    }
}

/// The same response as XDR would expose it: status, status text and body, no headers.
fn strip(response: &Response) -> Response {
    Response::from_text(
        response.status(),
        response.status_text().to_owned(),
        Headers::new(),
        // The request was made with the text response type, so the body is a JS string;
        // reading it directly skips `Response::text`'s lossy UTF-8 decoding of byte bodies.
        response.raw().as_string().unwrap_or_default(),
    )
}

enum Outcome {
    Load,
    Error,
    Timeout,
}

type Slot = Rc<RefCell<Option<oneshot::Sender<Outcome>>>>;

fn settle(slot: &Slot, outcome: Outcome) {
    let tx = slot.borrow_mut().take();
    if let Some(tx) = tx {
        let _ = tx.send(outcome);
    }
}

/// The real `XDomainRequest` path.
async fn send_native(
    method: Method,
    url: &str,
    body: &str,
    timeout_ms: u32,
) -> Result<Response, Error> {
    let xdr = RawXdr::new().map_err(|_| Error::network("XDomainRequest could not be created"))?;
    let (tx, rx) = oneshot::channel::<Outcome>();
    let slot: Slot = Rc::new(RefCell::new(Some(tx)));
    let handler = |outcome: fn() -> Outcome| {
        let slot = slot.clone();
        Closure::<dyn FnMut()>::new(move || settle(&slot, outcome()))
    };
    let pending = NativePending {
        onload: handler(|| Outcome::Load),
        onerror: handler(|| Outcome::Error),
        ontimeout: handler(|| Outcome::Timeout),
        // IE aborts requests whose onprogress is unset; a no-op keeps them alive.
        onprogress: Closure::<dyn FnMut()>::new(|| {}),
        slot: slot.clone(),
        xdr,
    };
    let xdr = &pending.xdr;
    xdr.open(method.as_str(), url)
        .map_err(|_| Error::invalid("XDomainRequest refused the method or URL"))?;
    if timeout_ms > 0 {
        xdr.set_timeout(f64::from(timeout_ms));
    }
    xdr.set_onload(Some(pending.onload.as_ref().unchecked_ref()));
    xdr.set_onerror(Some(pending.onerror.as_ref().unchecked_ref()));
    xdr.set_ontimeout(Some(pending.ontimeout.as_ref().unchecked_ref()));
    xdr.set_onprogress(Some(pending.onprogress.as_ref().unchecked_ref()));
    xdr.send(body)
        .map_err(|_| Error::network("XDomainRequest could not send the request"))?;

    let outcome = rx.await;
    let text = pending.xdr.response_text().as_string().unwrap_or_default();
    drop(pending);
    match outcome {
        Ok(Outcome::Load) => Ok(Response::from_text(
            200,
            String::from("OK"),
            Headers::new(),
            text,
        )),
        Ok(Outcome::Error) => Err(Error::network(
            "XDomainRequest failed: network error, CORS rejection or non-2xx status",
        )),
        Ok(Outcome::Timeout) => Err(Error::timeout("XDomainRequest timed out")),
        Err(_) => Err(Error::abort("XDomainRequest was cancelled")),
    }
}

/// Owns an `XDomainRequest` in flight and its handlers: dropping it before the outcome aborts
/// the request; handlers are always detached before the closures are freed.
struct NativePending {
    xdr: RawXdr,
    slot: Slot,
    onload: Closure<dyn FnMut()>,
    onerror: Closure<dyn FnMut()>,
    ontimeout: Closure<dyn FnMut()>,
    onprogress: Closure<dyn FnMut()>,
}

impl Drop for NativePending {
    fn drop(&mut self) {
        self.xdr.set_onload(None);
        self.xdr.set_onerror(None);
        self.xdr.set_ontimeout(None);
        self.xdr.set_onprogress(None);
        // The sender is still there when no outcome arrived: the request is in flight.
        let unfinished = self.slot.borrow_mut().take().is_some();
        if unfinished {
            let _ = self.xdr.abort();
        }
    }
}
