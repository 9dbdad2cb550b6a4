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
//! future aborts the request on either path. Both paths are one bare exchange
//! (`transport::exchange`, a few lines of JavaScript that pick the object), which the SockJS
//! socket's XDR transports share.

use wasm_bindgen::JsValue;

use crate::protocol::headers::Headers;
use crate::security::{self, SecureOnly};
use crate::transport::exchange::{Exchange, Mode};
use crate::transport::page;
use crate::transport::xhr::Response;
use crate::Error;

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
        let exchange = self.start()?;
        let status = exchange.finish().await;
        response(&exchange, status)
    }

    /// Checks everything and starts the exchange (see [`send`](XdrRequest::send)).
    pub(crate) fn start(self) -> Result<Exchange, Error> {
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
        // The exchange picks the page's XDomainRequest when there is one, else an XHR held to
        // the same limits; it never carries a CSRF header (XDR cannot).
        let body = self
            .body
            .as_deref()
            .map_or(JsValue::NULL, JsValue::from_str);
        Exchange::start(
            method.as_str(),
            &url,
            &body,
            Mode::Xdr,
            false,
            None,
            self.timeout_ms,
        )
    }
}

/// The response of a finished exchange: what XDR exposes (status, status text and body, no
/// headers).
pub(crate) fn response(exchange: &Exchange, status: Result<u16, Error>) -> Result<Response, Error> {
    Ok(Response::from_text(
        status?,
        exchange.status_text(),
        Headers::new(),
        exchange.text(),
    ))
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
