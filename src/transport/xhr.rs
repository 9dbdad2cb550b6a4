//! [`XMLHttpRequest`](https://developer.mozilla.org/docs/Web/API/XMLHttpRequest) as a Rust
//! future: build a [`Request`], then [`send`](Request::send) it for a whole [`Response`] or
//! [`stream`](Request::stream) it to read the body as it arrives (the classic "XHR streaming"
//! Comet transport, reading each new slice of `responseText`).
//!
//! Every request owns its `XMLHttpRequest` and one event-listener closure. Dropping the future
//! (or the [`ResponseStream`]) before the request has finished calls `xhr.abort()` and removes
//! every listener, so nothing fires afterwards. An [`AbortHandle`] cancels from elsewhere.
//!
//! Outcomes: 2xx and 304 are `Ok`; any other status is an [`ErrorKind::Http`] error carrying
//! the [`Response`]; the `timeout`, `abort` and `error` events become [`ErrorKind::Timeout`],
//! [`ErrorKind::Abort`] and [`ErrorKind::Network`] (browsers do not say whether a network
//! failure was a refused connection, DNS, or a CORS rejection). Bad input (method, header,
//! URL, option combination) is [`ErrorKind::Invalid`] and nothing is sent.
//!
//! Synchronous XHR is deliberately not offered: on the main thread it freezes the page, and
//! browsers deprecate it.
//!
//! [`ErrorKind::Http`]: crate::ErrorKind::Http
//! [`ErrorKind::Timeout`]: crate::ErrorKind::Timeout
//! [`ErrorKind::Abort`]: crate::ErrorKind::Abort
//! [`ErrorKind::Network`]: crate::ErrorKind::Network
//! [`ErrorKind::Invalid`]: crate::ErrorKind::Invalid

use std::cell::{Cell, RefCell};
use std::fmt;
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::task::{Context, Poll, Waker};

use futures_util::future::poll_fn;
use futures_util::stream::Stream;
#[cfg(feature = "xhr")]
use js_sys::Reflect;
use js_sys::{ArrayBuffer, JsString, Uint8Array};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{
    Event, ProgressEvent, XmlHttpRequest, XmlHttpRequestResponseType, XmlHttpRequestUpload,
};
#[cfg(feature = "xhr")]
use web_sys::{FormData, HtmlFormElement};

use crate::error::HttpResponse;
#[cfg(feature = "xhr")]
use crate::protocol::form;
pub use crate::protocol::headers::Headers;
use crate::protocol::{headers, url};
use crate::security::{self, SecureOnly, Xsrf, XsrfChoice};
use crate::Error;

const NETWORK_ERROR: &str = "request failed: network error or CORS rejection";
const ABORTED: &str = "request aborted";

/// What the response body is delivered as; sets
/// [`xhr.responseType`](https://developer.mozilla.org/docs/Web/API/XMLHttpRequest/responseType).
///
/// ```no_run
/// # async fn demo() -> Result<(), cometkit::Error> {
/// use cometkit::transport::xhr::{Request, ResponseType};
/// let response = Request::get("/logo.png")
///     .response_type(ResponseType::ArrayBuffer)
///     .send()
///     .await?;
/// let bytes: Vec<u8> = response.bytes().unwrap_or_default();
/// # let _ = bytes; Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ResponseType {
    /// A string (the default), decoded with the response charset (UTF-8 unless said otherwise).
    #[default]
    Text,
    /// An `ArrayBuffer` of the raw bytes.
    ArrayBuffer,
    /// A `Blob`.
    Blob,
    /// A value parsed by the browser with `JSON.parse`. Browsers turn invalid JSON into `null`
    /// silently; use [`Text`](ResponseType::Text) and [`Response::json_value`] to get an error.
    Json,
    /// A parsed HTML/XML `Document` (not available in workers).
    Document,
}

impl ResponseType {
    fn to_xhr(self) -> Option<XmlHttpRequestResponseType> {
        match self {
            ResponseType::Text => None,
            ResponseType::ArrayBuffer => Some(XmlHttpRequestResponseType::Arraybuffer),
            ResponseType::Blob => Some(XmlHttpRequestResponseType::Blob),
            ResponseType::Json => Some(XmlHttpRequestResponseType::Json),
            ResponseType::Document => Some(XmlHttpRequestResponseType::Document),
        }
    }
}

/// A request body.
///
/// ```no_run
/// # async fn demo() -> Result<(), cometkit::Error> {
/// use cometkit::transport::xhr::{Body, Request};
/// let fields = vec![("q".to_owned(), "rust wasm".to_owned()), ("page".to_owned(), "2".into())];
/// Request::post("/search").body(Body::UrlEncoded(fields)).send().await?;
/// Request::post("/api/items").body(Body::Json(r#"{"name":"pen"}"#.to_owned())).send().await?;
/// Request::post("/upload").body(Body::Bytes(vec![0xCA, 0xFE])).send().await?;
/// # Ok(()) }
/// ```
///
/// With the `_xhr` primitive alone (in an `eventsource`, `socket` or `socketio` build, which
/// share its security and header rules but send through `transport::exchange`) only `Text`
/// exists: the other kinds come with the `xhr` feature.
pub enum Body {
    /// A string; `Content-Type: text/plain;charset=UTF-8` unless a Content-Type header is set.
    Text(String),
    /// Raw bytes; no Content-Type unless one is set.
    #[cfg(feature = "xhr")]
    Bytes(Vec<u8>),
    /// An already-serialised JSON document; `Content-Type: application/json`.
    #[cfg(feature = "xhr")]
    Json(String),
    /// Name/value pairs, sent as `application/x-www-form-urlencoded;charset=UTF-8`.
    #[cfg(feature = "xhr")]
    UrlEncoded(Vec<(String, String)>),
    /// A [`FormData`](https://developer.mozilla.org/docs/Web/API/FormData); the browser sends
    /// `multipart/form-data` with its own boundary.
    #[cfg(feature = "xhr")]
    FormData(FormData),
    /// A form element, serialised per its `enctype` (urlencoded, `multipart/form-data`, or
    /// `text/plain`) like a submission without a submitter button. With `GET` or `HEAD` the
    /// urlencoded fields are appended to the URL's query instead, as a GET form does. The
    /// browser builds the form's entry list (`new FormData(form)`), so the fields are those
    /// its own submission sends (Chromium's include controls inside a `<datalist>`, which HTML
    /// leaves out) and the form's `formdata` event fires as for a submission.
    #[cfg(feature = "xhr")]
    Form(HtmlFormElement),
    /// Any value `xhr.send()` accepts (`Blob`, `ArrayBuffer`, a typed array,
    /// `URLSearchParams`, ...), passed through unchanged; the browser picks the Content-Type.
    #[cfg(feature = "xhr")]
    Js(JsValue),
}

/// Upload or download progress, from a
/// [`ProgressEvent`](https://developer.mozilla.org/docs/Web/API/ProgressEvent).
///
/// ```no_run
/// # async fn demo(file: web_sys::Blob) -> Result<(), cometkit::Error> {
/// use cometkit::transport::xhr::{Body, Progress, Request};
/// Request::post("/upload")
///     .body(Body::Js(file.into()))
///     .on_upload_progress(|p: Progress| {
///         if p.length_computable {
///             println!("{:.0} %", 100.0 * p.loaded / p.total);
///         }
///     })
///     .send()
///     .await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Progress {
    /// Bytes transferred so far.
    pub loaded: f64,
    /// Total bytes expected; meaningful only when `length_computable`.
    pub total: f64,
    /// Whether the total is known (a Content-Length on downloads).
    pub length_computable: bool,
}

/// Cancels the requests it is attached to (with [`Request::abort_handle`]), like an
/// `AbortController`. Once aborted it stays aborted: requests attached later fail at once
/// with [`ErrorKind::Abort`](crate::ErrorKind::Abort) without being sent.
///
/// ```no_run
/// # async fn demo() -> Result<(), cometkit::Error> {
/// use cometkit::transport::xhr::{AbortHandle, Request};
/// let cancel = AbortHandle::new();
/// let on_click = cancel.clone(); // moved into a "Cancel" button's handler: `on_click.abort()`
/// # drop(on_click);
/// match Request::get("/slow-report").abort_handle(&cancel).send().await {
///     Err(err) if err.is_abort() => println!("cancelled by the user"),
///     result => println!("status {}", result?.status()),
/// }
/// # Ok(()) }
/// ```
#[derive(Clone, Default)]
pub struct AbortHandle {
    inner: Rc<AbortInner>,
}

#[derive(Default)]
struct AbortInner {
    aborted: Cell<bool>,
    requests: RefCell<Vec<Weak<Shared>>>,
}

impl AbortHandle {
    /// A handle that has not been aborted.
    pub fn new() -> AbortHandle {
        AbortHandle::default()
    }

    /// Aborts every attached request still in flight (`xhr.abort()`); their futures or streams
    /// then end with an [`ErrorKind::Abort`](crate::ErrorKind::Abort) error.
    pub fn abort(&self) {
        if self.inner.aborted.replace(true) {
            return;
        }
        let requests = match self.inner.requests.try_borrow_mut() {
            Ok(mut list) => std::mem::take(&mut *list),
            Err(_) => return,
        };
        for request in requests.iter().filter_map(Weak::upgrade) {
            request.fail(Error::abort(ABORTED), true);
        }
    }

    /// True once [`abort`](AbortHandle::abort) has been called.
    pub fn is_aborted(&self) -> bool {
        self.inner.aborted.get()
    }

    fn register(&self, shared: &Rc<Shared>) {
        if let Ok(mut list) = self.inner.requests.try_borrow_mut() {
            list.retain(|w| w.strong_count() > 0);
            list.push(Rc::downgrade(shared));
        }
    }
}

impl fmt::Debug for AbortHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AbortHandle")
            .field("aborted", &self.is_aborted())
            .finish()
    }
}

/// A request being built; consumed by [`send`](Request::send) or [`stream`](Request::stream).
///
/// ```no_run
/// # async fn demo() -> Result<(), cometkit::Error> {
/// use cometkit::{Body, Request};
/// let response = Request::post("/api/items")
///     .query("notify", "true")
///     .header("Accept", "application/json")
///     .body(Body::Json(r#"{"name":"pen"}"#.to_owned()))
///     .timeout(5_000)
///     .send()
///     .await?;
/// println!("{}: {}", response.status(), response.text().unwrap_or_default());
/// # Ok(()) }
/// ```
#[must_use = "a Request does nothing until `send` or `stream` is awaited"]
pub struct Request {
    method: String,
    url: String,
    query: Vec<(String, String)>,
    headers: Vec<(String, String)>,
    body: Option<Body>,
    timeout: u32,
    credentials: bool,
    response_type: ResponseType,
    mime: Option<String>,
    upload: Option<Box<dyn Fn(Progress)>>,
    download: Option<Box<dyn Fn(Progress)>>,
    abort: Option<AbortHandle>,
    xsrf: XsrfChoice,
    secure_only: Option<SecureOnly>,
}

impl Request {
    /// A request with any method token (`GET`, `PUT`, `X-CUSTOM`, ...) to `url` (absolute or
    /// relative to the page). Method and URL are validated when sent. Browsers upper-case only
    /// `DELETE`, `GET`, `HEAD`, `OPTIONS`, `POST` and `PUT`; any other method goes out exactly as
    /// written (so write `PATCH`, not `patch`).
    pub fn new(method: &str, url: &str) -> Request {
        Request {
            method: method.to_owned(),
            url: url.to_owned(),
            query: Vec::new(),
            headers: Vec::new(),
            body: None,
            timeout: 0,
            credentials: false,
            response_type: ResponseType::Text,
            mime: None,
            upload: None,
            download: None,
            abort: None,
            xsrf: XsrfChoice::Page,
            secure_only: None,
        }
    }

    /// A `GET` request.
    pub fn get(url: &str) -> Request {
        Request::new("GET", url)
    }

    /// A `POST` request.
    pub fn post(url: &str) -> Request {
        Request::new("POST", url)
    }

    /// Appends `name=value` to the URL's query, encoded like `encodeURIComponent`.
    pub fn query(mut self, name: &str, value: &str) -> Self {
        self.query.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Sets a request header
    /// ([`setRequestHeader`](https://developer.mozilla.org/docs/Web/API/XMLHttpRequest/setRequestHeader));
    /// repeating a name combines the values. A name that is not an HTTP token or a value with
    /// CR/LF/NUL fails the request as invalid. Names the browser controls (`Cookie`, `Host`,
    /// ...) are silently dropped by the browser.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Sets the body (see [`Body`] for the Content-Type each kind gets).
    pub fn body(mut self, body: Body) -> Self {
        self.body = Some(body);
        self
    }

    /// Fails the request with a timeout error after `ms` milliseconds (`xhr.timeout`; for a
    /// stream this bounds the whole transfer). 0, the default, means no timeout.
    pub fn timeout(mut self, ms: u32) -> Self {
        self.timeout = ms;
        self
    }

    /// Sends cookies and HTTP auth cross-origin
    /// ([`withCredentials`](https://developer.mozilla.org/docs/Web/API/XMLHttpRequest/withCredentials)).
    pub fn with_credentials(mut self, yes: bool) -> Self {
        self.credentials = yes;
        self
    }

    /// How the response body is delivered ([`ResponseType::Text`] by default).
    pub fn response_type(mut self, t: ResponseType) -> Self {
        self.response_type = t;
        self
    }

    /// Treats the response as having this MIME type, e.g. to force a charset
    /// ([`overrideMimeType`](https://developer.mozilla.org/docs/Web/API/XMLHttpRequest/overrideMimeType)).
    pub fn override_mime_type(mut self, mime: &str) -> Self {
        self.mime = Some(mime.to_owned());
        self
    }

    /// Calls `f` on each upload progress event. Registering it makes cross-origin requests
    /// preflighted (browsers require that for upload listeners), so it is only attached when set.
    pub fn on_upload_progress(mut self, f: impl Fn(Progress) + 'static) -> Self {
        self.upload = Some(Box::new(f));
        self
    }

    /// Calls `f` on each download progress event (the last one has `loaded == total` when the
    /// length is known).
    pub fn on_download_progress(mut self, f: impl Fn(Progress) + 'static) -> Self {
        self.download = Some(Box::new(f));
        self
    }

    /// Sends a CSRF token with this request as `xsrf` says (same-origin, or to the origins it
    /// lists), instead of the page-wide default of [`security::set_defaults`]. A header of the
    /// same name set with [`header`](Request::header) wins. A bad header name or origin entry,
    /// or a token that is not a valid header value, fails the request as invalid.
    pub fn xsrf(mut self, xsrf: Xsrf) -> Self {
        self.xsrf = XsrfChoice::Use(xsrf);
        self
    }

    /// Sends no CSRF token with this request, whatever the page-wide default says.
    pub fn no_xsrf(mut self) -> Self {
        self.xsrf = XsrfChoice::Off;
        self
    }

    /// Secure-only mode for this request, instead of the page-wide default: an `http:` URL
    /// the policy refuses fails as invalid before anything is sent.
    pub fn secure_only(mut self, policy: SecureOnly) -> Self {
        self.secure_only = Some(policy);
        self
    }

    /// Lets `h` abort this request.
    pub fn abort_handle(mut self, h: &AbortHandle) -> Self {
        self.abort = Some(h.clone());
        self
    }

    /// Sends the request and waits for the whole response.
    ///
    /// `Ok` for 2xx and 304. Errors: any other status is `Http` (with the response);
    /// `Timeout`; `Abort` (handle aborted); `Network` (connection failure or CORS rejection);
    /// `Invalid` for a bad method, header, URL or option, a URL refused by secure-only mode, or
    /// a bad CSRF setting (nothing is sent). Dropping the future aborts the request.
    pub async fn send(self) -> Result<Response, Error> {
        let response_type = self.response_type;
        let driver = self.start(false, None)?;
        poll_fn(|cx| driver.poll_until(cx, false)).await?;
        let response = Response::from_xhr(&driver.shared.xhr, response_type);
        check_status(response)
    }

    /// Sends the request and resolves once the status and headers have arrived, with a
    /// [`ResponseStream`] of the body text as it comes in.
    ///
    /// Needs [`ResponseType::Text`]. A status other than 2xx/304 waits for that error body and
    /// fails with `Http`; the other errors are as for [`send`](Request::send).
    pub async fn stream(self) -> Result<ResponseStream, Error> {
        if self.response_type != ResponseType::Text {
            return Err(Error::invalid("streaming needs the text response type"));
        }
        let driver = self.start(true, None)?;
        poll_fn(|cx| driver.poll_until(cx, true)).await?;
        let xhr = &driver.shared.xhr;
        let status = xhr.status().unwrap_or(0);
        if !is_success(status) {
            poll_fn(|cx| driver.poll_until(cx, false)).await?;
            return Err(
                match check_status(Response::from_xhr(xhr, ResponseType::Text)) {
                    Err(e) => e,
                    Ok(response) => Error::http(response.snapshot()),
                },
            );
        }
        Ok(ResponseStream {
            status,
            status_text: xhr.status_text().unwrap_or_default(),
            headers: Headers::parse(&xhr.get_all_response_headers().unwrap_or_default()),
            driver,
            ended: false,
        })
    }

    /// Sends the request without a future, for the JavaScript `request()`: `on_change` is called
    /// from the XHR's event handlers after each change of its state, and
    /// [`Driver::step`] then says what happened. Dropping the driver aborts the request.
    /// Streaming needs [`ResponseType::Text`].
    #[cfg(all(feature = "js", feature = "xhr"))]
    pub(crate) fn start_driven(
        self,
        streaming: bool,
        on_change: Rc<dyn Fn()>,
    ) -> Result<Driver, Error> {
        if streaming && self.response_type != ResponseType::Text {
            return Err(Error::invalid("streaming needs the text response type"));
        }
        self.start(streaming, Some(on_change))
    }

    /// Validates everything, opens and sends the XHR, and returns the driver that owns it.
    fn start(self, streaming: bool, on_change: Option<Rc<dyn Fn()>>) -> Result<Driver, Error> {
        if self.abort.as_ref().is_some_and(AbortHandle::is_aborted) {
            return Err(Error::abort("request aborted before it was sent"));
        }
        headers::validate_method(&self.method)?;
        for (name, value) in &self.headers {
            headers::validate_header(name, value)?;
        }
        let mut target = url::append_query(&self.url, &self.query);
        let bodyless =
            self.method.eq_ignore_ascii_case("GET") || self.method.eq_ignore_ascii_case("HEAD");
        let (body, content_type) = prepare_body(self.body, bodyless, &mut target)?;
        validate_url(&target)?;
        security::check_url(&target, self.secure_only)?;
        let xsrf = self.xsrf.header_for(&target)?.filter(|(name, _)| {
            !self
                .headers
                .iter()
                .any(|(n, _)| n.eq_ignore_ascii_case(name))
        });

        let xhr =
            XmlHttpRequest::new().map_err(|_| Error::network("XMLHttpRequest is not available"))?;
        xhr.open_with_async(&self.method, &target, true)
            .map_err(|_| Error::invalid("the browser rejected the request method or URL"))?;
        if self.timeout > 0 {
            xhr.set_timeout(self.timeout);
        }
        if self.credentials {
            xhr.set_with_credentials(true);
        }
        if let Some(t) = self.response_type.to_xhr() {
            xhr.set_response_type(t);
        }
        if let Some(mime) = &self.mime {
            xhr.override_mime_type(mime)
                .map_err(|_| Error::invalid("the browser rejected the MIME type override"))?;
        }
        for (name, value) in self.headers.iter().chain(xsrf.as_ref()) {
            xhr.set_request_header(name, value)
                .map_err(|_| Error::invalid("the browser rejected a request header"))?;
        }
        if let Some(ct) = content_type {
            if !self
                .headers
                .iter()
                .any(|(n, _)| n.eq_ignore_ascii_case("content-type"))
            {
                xhr.set_request_header("Content-Type", ct)
                    .map_err(|_| Error::invalid("the browser rejected a request header"))?;
            }
        }

        let shared = Rc::new(Shared {
            xhr,
            streaming,
            upload: self.upload,
            download: self.download,
            response_type: self.response_type,
            on_change,
            st: RefCell::new(State::default()),
        });
        let closure = {
            let shared = shared.clone();
            Closure::<dyn Fn(Event)>::new(move |event: Event| on_event(&shared, &event))
        };
        let listener: &js_sys::Function = closure.as_ref().unchecked_ref();
        for name in EVENTS {
            // Only throws for a non-callable listener, which a Closure never is.
            let _ = shared.xhr.add_event_listener_with_callback(name, listener);
        }
        // Upload listeners are only attached when asked for: their presence forces a preflight.
        let upload = match shared.upload {
            Some(_) => shared.xhr.upload().ok(),
            None => None,
        };
        if let Some(upload) = &upload {
            let _ = upload.add_event_listener_with_callback("progress", listener);
        }
        let driver = Driver {
            shared,
            closure,
            upload,
        };
        if let Some(handle) = &self.abort {
            handle.register(&driver.shared);
        }

        let body: JsValue = match body {
            // `send(undefined)` is `send()`: no body.
            Prepared::None => JsValue::UNDEFINED,
            Prepared::Text(s) => JsValue::from_str(&s),
            #[cfg(feature = "xhr")]
            Prepared::Bytes(b) => js_sys::Uint8Array::from(&b[..]).into(),
            #[cfg(feature = "xhr")]
            Prepared::FormData(f) => f.into(),
            #[cfg(feature = "xhr")]
            Prepared::Js(v) => v,
        };
        let sender: &Sender = driver.shared.xhr.unchecked_ref();
        sender
            .send(&body)
            .map_err(|_| Error::invalid("the browser refused to send the request body"))?;
        Ok(driver)
    }
}

impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

fn is_success(status: u16) -> bool {
    (200..300).contains(&status) || status == 304
}

/// `Ok` for 2xx/304, `Http` for other statuses, `Network` for status 0 (no HTTP response).
fn check_status(response: Response) -> Result<Response, Error> {
    match response.status {
        0 => Err(Error::network(NETWORK_ERROR)),
        s if is_success(s) => Ok(response),
        _ => Err(Error::http(response.snapshot())),
    }
}

/// A body ready for `xhr.send`.
enum Prepared {
    None,
    Text(String),
    #[cfg(feature = "xhr")]
    Bytes(Vec<u8>),
    #[cfg(feature = "xhr")]
    FormData(FormData),
    #[cfg(feature = "xhr")]
    Js(JsValue),
}

#[cfg(feature = "xhr")]
const FORM_URLENCODED: &str = "application/x-www-form-urlencoded;charset=UTF-8";
const TEXT_PLAIN: &str = "text/plain;charset=UTF-8";

// Without `xhr` only a text body exists: nothing goes to the URL (clippy: `target` need not be
// a `String` then).
#[cfg_attr(not(feature = "xhr"), allow(unused_variables, clippy::ptr_arg))]
fn prepare_body(
    body: Option<Body>,
    bodyless: bool,
    target: &mut String,
) -> Result<(Prepared, Option<&'static str>), Error> {
    Ok(match body {
        None => (Prepared::None, None),
        Some(Body::Text(s)) => (Prepared::Text(s), Some(TEXT_PLAIN)),
        #[cfg(feature = "xhr")]
        Some(Body::Bytes(b)) => (Prepared::Bytes(b), None),
        #[cfg(feature = "xhr")]
        Some(Body::Json(s)) => (Prepared::Text(s), Some("application/json")),
        #[cfg(feature = "xhr")]
        Some(Body::UrlEncoded(pairs)) => (
            Prepared::Text(form::urlencode(&pairs)),
            Some(FORM_URLENCODED),
        ),
        #[cfg(feature = "xhr")]
        Some(Body::FormData(f)) => (Prepared::FormData(f), None),
        #[cfg(feature = "xhr")]
        Some(Body::Js(v)) => (Prepared::Js(v), None),
        #[cfg(feature = "xhr")]
        Some(Body::Form(f)) => {
            let enctype = f.enctype();
            if bodyless {
                let query = form::urlencode(&form_pairs(&f)?);
                *target = url::append_query_str(target, &query);
                (Prepared::None, None)
            } else if enctype == "multipart/form-data" {
                let data =
                    FormData::new_with_form(&f).map_err(|_| Error::invalid(UNREADABLE_FORM))?;
                (Prepared::FormData(data), None)
            } else if enctype == "text/plain" {
                (
                    Prepared::Text(form::text_plain(&form_pairs(&f)?)),
                    Some(TEXT_PLAIN),
                )
            } else {
                (
                    Prepared::Text(form::urlencode(&form_pairs(&f)?)),
                    Some(FORM_URLENCODED),
                )
            }
        }
    })
}

/// Reads each control of `form` (`form.elements`, in tree order) into the pure description
/// the submission rules in [`form`] work on.
/// The name/value pairs a form submits with the urlencoded or `text/plain` encoding. The
/// browser builds the entry list (`new FormData(form)`: which controls count and with what value,
/// as a submission without a submitter button); a file contributes its file name and line breaks
/// become CRLF, as the HTML standard's conversion to name/value pairs says.
#[cfg(feature = "xhr")]
fn form_pairs(form: &HtmlFormElement) -> Result<Vec<(String, String)>, Error> {
    let data = FormData::new_with_form(form).map_err(|_| Error::invalid(UNREADABLE_FORM))?;
    let text = |v: JsValue| match v.as_string() {
        Some(s) => s,
        // A `File`: its name.
        None => Reflect::get(&v, &JsValue::from_str("name"))
            .ok()
            .and_then(|n| n.as_string())
            .unwrap_or_default(),
    };
    Ok(js_sys::Array::from(&data)
        .iter()
        .map(|entry| {
            let entry: js_sys::Array = entry.unchecked_into();
            (
                form::normalize_newlines(&text(entry.get(0))),
                form::normalize_newlines(&text(entry.get(1))),
            )
        })
        .collect())
}

#[cfg(feature = "xhr")]
const UNREADABLE_FORM: &str = "cannot read the form's data";

fn validate_url(target: &str) -> Result<(), Error> {
    crate::transport::page::resolve(target)
        .map(|_| ())
        .ok_or_else(|| Error::invalid("request URL does not parse"))
}

#[wasm_bindgen::prelude::wasm_bindgen]
extern "C" {
    /// An `XMLHttpRequest` seen through the one method bound here.
    type Sender;

    /// `xhr.send(body)` for every kind of body: one binding (and one glue function) instead of
    /// one per body type.
    #[wasm_bindgen(catch, method, js_name = send)]
    fn send(this: &Sender, body: &JsValue) -> Result<(), JsValue>;
}

/// The events every request listens to on the XHR itself.
const EVENTS: [&str; 6] = [
    "readystatechange",
    "progress",
    "load",
    "error",
    "timeout",
    "abort",
];

/// What the one event closure and the futures share.
struct Shared {
    xhr: XmlHttpRequest,
    streaming: bool,
    #[cfg_attr(not(all(feature = "js", feature = "xhr")), allow(dead_code))]
    response_type: ResponseType,
    /// Called after every change of `st` (a driven request: [`Request::start_driven`]).
    on_change: Option<Rc<dyn Fn()>>,
    upload: Option<Box<dyn Fn(Progress)>>,
    download: Option<Box<dyn Fn(Progress)>>,
    st: RefCell<State>,
}

#[derive(Default)]
struct State {
    /// Status and headers are known (readyState >= HEADERS_RECEIVED with a real status).
    headers: bool,
    /// [`Step::Headers`] was told (driven requests).
    #[cfg_attr(not(all(feature = "js", feature = "xhr")), allow(dead_code))]
    head_told: bool,
    /// The `load` event fired.
    done: bool,
    /// A terminal failure happened (`error` holds it until taken).
    failed: bool,
    error: Option<Error>,
    /// UTF-16 units of `responseText` already queued (streaming only).
    offset: u32,
    /// Text received and not yet yielded, oldest first, from index `read` on. A `Vec` and a
    /// cursor rather than a `VecDeque`, whose ring-buffer code costs about 0.6 KB of wasm.
    chunks: Vec<String>,
    read: usize,
    waker: Option<Waker>,
}

impl State {
    fn next_chunk(&mut self) -> Option<String> {
        let chunk = std::mem::take(self.chunks.get_mut(self.read)?);
        self.read += 1;
        if self.read == self.chunks.len() {
            self.chunks.clear();
            self.read = 0;
        }
        Some(chunk)
    }
}

impl Shared {
    fn finished(&self) -> bool {
        self.st.try_borrow().is_ok_and(|st| st.done || st.failed)
    }

    /// Updates the state with `f` and wakes the waiting future. Never called while a borrow
    /// is held, and no user code runs inside `f`.
    fn update(&self, f: impl FnOnce(&mut State)) {
        let waker = match self.st.try_borrow_mut() {
            Ok(mut st) => {
                f(&mut st);
                st.waker.take()
            }
            Err(_) => None,
        };
        if let Some(w) = waker {
            w.wake();
        }
        if let Some(f) = &self.on_change {
            f();
        }
    }

    /// Records a terminal failure (the first outcome wins); `abort_xhr` also cancels the
    /// transfer. Events the abort fires synchronously find the state terminal and are ignored.
    fn fail(&self, err: Error, abort_xhr: bool) {
        if self.finished() {
            return;
        }
        self.update(|st| {
            st.failed = true;
            st.error = Some(err);
        });
        if abort_xhr {
            let _ = self.xhr.abort();
        }
    }

    /// Queues the part of `responseText` not yet seen (streaming only). The offset counts
    /// UTF-16 units and slicing happens in JS, so each event copies only the new text.
    fn pull(&self) {
        if !self.streaming {
            return;
        }
        let Ok(response) = self.xhr.response() else {
            return;
        };
        let Some(text) = response.dyn_ref::<JsString>() else {
            return;
        };
        let len = text.length();
        let offset = match self.st.try_borrow() {
            Ok(st) if !st.failed && !st.done && len > st.offset => st.offset,
            _ => return,
        };
        let chunk = String::from(text.slice(offset, len));
        self.update(|st| {
            st.offset = len;
            st.chunks.push(chunk);
        });
    }
}

fn progress_of(event: &Event) -> Option<Progress> {
    let e = event.dyn_ref::<ProgressEvent>()?;
    Some(Progress {
        loaded: e.loaded(),
        total: e.total(),
        length_computable: e.length_computable(),
    })
}

/// The single listener of a request, for every event type.
fn on_event(shared: &Shared, event: &Event) {
    let from_upload = event
        .target()
        .is_some_and(|t| t.has_type::<XmlHttpRequestUpload>());
    if from_upload {
        if let (Some(f), Some(p)) = (&shared.upload, progress_of(event)) {
            f(p);
        }
        return;
    }
    match event.type_().as_str() {
        "readystatechange" => {
            let ready = shared.xhr.ready_state();
            // A network error also moves to DONE, with status 0: that is not "headers known".
            if ready >= XmlHttpRequest::HEADERS_RECEIVED && shared.xhr.status().unwrap_or(0) != 0 {
                let known = shared.st.try_borrow().map_or(true, |st| st.headers);
                if !known {
                    shared.update(|st| st.headers = true);
                }
                shared.pull();
            }
        }
        "progress" => {
            shared.pull();
            if let (Some(f), Some(p)) = (&shared.download, progress_of(event)) {
                f(p);
            }
        }
        "load" => {
            shared.pull();
            if !shared.finished() {
                shared.update(|st| st.done = true);
            }
        }
        "error" => shared.fail(Error::network(NETWORK_ERROR), false),
        "timeout" => shared.fail(Error::timeout("request timed out"), false),
        "abort" => shared.fail(Error::abort(ABORTED), false),
        _ => {}
    }
}

/// What a driven request ([`Request::start_driven`]) has come to.
#[cfg(all(feature = "js", feature = "xhr"))]
pub(crate) enum Step {
    /// Nothing new.
    Pending,
    /// A stream's status (2xx or 304) and headers have arrived: told once,
    /// before its first chunk.
    Headers,
    /// The next piece of a streamed body.
    Chunk(String),
    /// The end: the response (2xx or 304) or the error, as [`Request::send`] gives them.
    Done(Result<Response, Error>),
}

/// Owns a request in flight: the XHR (through `shared`), its listener closure, and the
/// registrations. Dropping it removes every listener and aborts an unfinished request.
pub(crate) struct Driver {
    shared: Rc<Shared>,
    closure: Closure<dyn Fn(Event)>,
    upload: Option<XmlHttpRequestUpload>,
}

impl Driver {
    /// The next step of a driven request. A stream's chunks come before its end; the body of
    /// a status other than 2xx/304 is not streamed but waited for, as [`Request::stream`]
    /// does.
    #[cfg(all(feature = "js", feature = "xhr"))]
    pub(crate) fn step(&self) -> Step {
        let Ok(mut st) = self.shared.st.try_borrow_mut() else {
            return Step::Pending;
        };
        let xhr = &self.shared.xhr;
        let streamed = st.headers && is_success(xhr.status().unwrap_or(0));
        if streamed && self.shared.streaming && !st.head_told {
            st.head_told = true;
            return Step::Headers;
        }
        if streamed {
            if let Some(chunk) = st.next_chunk() {
                return Step::Chunk(chunk);
            }
        }
        if st.failed {
            return Step::Done(Err(st
                .error
                .take()
                .unwrap_or_else(|| Error::abort(ABORTED))));
        }
        if !st.done {
            return Step::Pending;
        }
        drop(st);
        Step::Done(check_status(Response::from_xhr(
            xhr,
            self.shared.response_type,
        )))
    }

    /// Ready when the request finished (or, with `headers`, once status and headers are in);
    /// `Err` on a terminal failure.
    fn poll_until(&self, cx: &mut Context<'_>, headers: bool) -> Poll<Result<(), Error>> {
        let Ok(mut st) = self.shared.st.try_borrow_mut() else {
            cx.waker().wake_by_ref();
            return Poll::Pending;
        };
        if st.failed {
            return Poll::Ready(Err(st
                .error
                .take()
                .unwrap_or_else(|| Error::abort(ABORTED))));
        }
        if st.done || (headers && st.headers) {
            return Poll::Ready(Ok(()));
        }
        st.waker = Some(cx.waker().clone());
        Poll::Pending
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let listener: &js_sys::Function = self.closure.as_ref().unchecked_ref();
        let xhr = &self.shared.xhr;
        for name in EVENTS {
            let _ = xhr.remove_event_listener_with_callback(name, listener);
        }
        if let Some(upload) = &self.upload {
            let _ = upload.remove_event_listener_with_callback("progress", listener);
        }
        if !self.shared.finished() {
            self.shared.fail(Error::abort(ABORTED), true);
        }
    }
}

/// A finished response (or the one attached to an HTTP error).
///
/// ```no_run
/// # async fn demo() -> Result<(), cometkit::Error> {
/// use cometkit::Request;
/// let response = Request::get("/api/user").send().await?;
/// println!("{} {}", response.status(), response.status_text());
/// if response.headers().content_type().as_deref() == Some("application/json") {
///     let user = response.json_value()?; // the body through JSON.parse, or a protocol error
///     # let _ = user;
/// }
/// # Ok(()) }
/// ```
pub struct Response {
    status: u16,
    status_text: String,
    headers: Headers,
    url: String,
    response_type: ResponseType,
    body: JsValue,
}

impl Response {
    fn from_xhr(xhr: &XmlHttpRequest, response_type: ResponseType) -> Response {
        Response {
            status: xhr.status().unwrap_or(0),
            status_text: xhr.status_text().unwrap_or_default(),
            headers: Headers::parse(&xhr.get_all_response_headers().unwrap_or_default()),
            url: xhr.response_url(),
            response_type,
            body: xhr.response().unwrap_or(JsValue::NULL),
        }
    }

    /// A text response assembled by another transport (the XDomainRequest-style path).
    #[cfg_attr(not(feature = "_xdr"), allow(dead_code))]
    pub(crate) fn from_text(
        status: u16,
        status_text: String,
        headers: Headers,
        text: String,
    ) -> Response {
        Response {
            status,
            status_text,
            headers,
            url: String::new(),
            response_type: ResponseType::Text,
            body: JsValue::from_str(&text),
        }
    }

    /// The HTTP status code.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The status text (`"OK"`, `"Not Found"`; empty over HTTP/2).
    pub fn status_text(&self) -> &str {
        &self.status_text
    }

    /// True for a 2xx status.
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The response headers the browser exposes (cross-origin: the CORS-safelisted ones plus
    /// those in `Access-Control-Expose-Headers`).
    pub fn headers(&self) -> &Headers {
        &self.headers
    }

    /// The final URL after redirects
    /// ([`responseURL`](https://developer.mozilla.org/docs/Web/API/XMLHttpRequest/responseURL));
    /// empty when unknown.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The body as text: the string for [`ResponseType::Text`], the bytes decoded as UTF-8
    /// (lossily) for [`ResponseType::ArrayBuffer`], `None` for the other types.
    pub fn text(&self) -> Option<String> {
        if let Some(s) = self.body.as_string() {
            Some(s)
        } else {
            self.body
                .dyn_ref::<ArrayBuffer>()
                .map(crate::transport::page::utf8_lossy)
        }
    }

    /// The body as bytes: the `ArrayBuffer`'s contents, or the text's UTF-8; `None` for
    /// `Blob`, JSON and `Document` responses.
    pub fn bytes(&self) -> Option<Vec<u8>> {
        if let Some(buffer) = self.body.dyn_ref::<ArrayBuffer>() {
            Some(Uint8Array::new(buffer).to_vec())
        } else {
            self.body.as_string().map(String::into_bytes)
        }
    }

    /// The body parsed as JSON (`JSON.parse`). With [`ResponseType::Json`] this is the value
    /// the browser parsed. Errors: `Protocol` when the text is not valid JSON or the body is a
    /// `Blob`/`Document`.
    pub fn json_value(&self) -> Result<JsValue, Error> {
        if self.response_type == ResponseType::Json {
            return Ok(self.body.clone());
        }
        let text = self
            .text()
            .ok_or_else(|| Error::protocol("response body is not text, cannot parse it as JSON"))?;
        js_sys::JSON::parse(&text).map_err(|_| Error::protocol("response body is not valid JSON"))
    }

    /// The body exactly as `xhr.response` gave it (a string, `ArrayBuffer`, `Blob`, parsed
    /// JSON value or `Document`).
    pub fn raw(&self) -> &JsValue {
        &self.body
    }

    /// The response type the body was requested as.
    pub fn response_type(&self) -> ResponseType {
        self.response_type
    }

    /// This response as plain data (what an [`ErrorKind::Http`](crate::ErrorKind::Http)
    /// error keeps): a JSON body as its `JSON.stringify` text, a `Blob` or `Document` body
    /// as `None`.
    pub fn snapshot(&self) -> HttpResponse {
        let text = self.text().or_else(|| {
            (self.response_type == ResponseType::Json)
                .then(|| js_sys::JSON::stringify(&self.body).ok())
                .flatten()
                .and_then(|s| s.as_string())
        });
        HttpResponse::new(
            self.status,
            self.status_text.as_str(),
            self.headers.clone(),
            self.url.as_str(),
            text,
        )
    }
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Response")
            .field("status", &self.status)
            .field("status_text", &self.status_text)
            .field("url", &self.url)
            .field("headers", &self.headers)
            .finish_non_exhaustive()
    }
}

/// The body of a streamed response, as text slices in arrival order (from
/// [`Request::stream`]). Yields each newly received part of `responseText` (on
/// `readystatechange` at LOADING and on `progress` events), the final part at the end, then
/// `None`. A network error, timeout or abort mid-stream yields one `Err`, then `None`.
/// Dropping it aborts the request and removes its listeners.
///
/// ```no_run
/// # async fn demo() -> Result<(), cometkit::Error> {
/// use cometkit::Request;
/// use futures_util::StreamExt;
/// let mut body = Request::get("/updates/stream").stream().await?;
/// while let Some(chunk) = body.next().await {
///     print!("{}", chunk?); // each newly arrived slice of the body text
/// }
/// # Ok(()) }
/// ```
#[must_use = "dropping the stream aborts the request"]
pub struct ResponseStream {
    status: u16,
    status_text: String,
    headers: Headers,
    driver: Driver,
    ended: bool,
}

impl ResponseStream {
    /// The HTTP status code.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The status text.
    pub fn status_text(&self) -> &str {
        &self.status_text
    }

    /// The response headers.
    pub fn headers(&self) -> &Headers {
        &self.headers
    }

    /// The complete response, once the transfer has finished successfully (after the stream
    /// returned `None`); `None` before that or after a failure.
    pub fn response(&self) -> Option<Response> {
        let done = self
            .driver
            .shared
            .st
            .try_borrow()
            .is_ok_and(|st| st.done && !st.failed);
        done.then(|| Response::from_xhr(&self.driver.shared.xhr, ResponseType::Text))
    }
}

impl Stream for ResponseStream {
    type Item = Result<String, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.ended {
            return Poll::Ready(None);
        }
        let Ok(mut st) = this.driver.shared.st.try_borrow_mut() else {
            cx.waker().wake_by_ref();
            return Poll::Pending;
        };
        if let Some(chunk) = st.next_chunk() {
            return Poll::Ready(Some(Ok(chunk)));
        }
        if st.failed {
            let err = st.error.take().unwrap_or_else(|| Error::abort(ABORTED));
            drop(st);
            this.ended = true;
            return Poll::Ready(Some(Err(err)));
        }
        if st.done {
            drop(st);
            this.ended = true;
            return Poll::Ready(None);
        }
        st.waker = Some(cx.waker().clone());
        Poll::Pending
    }
}

impl fmt::Debug for ResponseStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseStream")
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}
