//! The one error type every cometkit primitive returns.
//!
//! Callers match on [`ErrorKind`] (or use the `is_*` predicates) rather than on message text.
//! In JavaScript the same error arrives as an `Error` whose `kind` property is one of
//! `"timeout" | "abort" | "network" | "http" | "protocol" | "invalid"`.

use std::borrow::Cow;
use std::fmt;

/// What went wrong, in a form a caller can branch on.
///
/// ```
/// use cometkit_protocol::{Error, ErrorKind};
///
/// let err = Error::network("connection refused");
/// assert_eq!(err.kind(), ErrorKind::Network);
/// assert_eq!(err.kind().as_str(), "network"); // `error.kind` in JavaScript
/// let worth_retrying = matches!(err.kind(), ErrorKind::Timeout | ErrorKind::Network);
/// assert!(worth_retrying);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The operation did not finish within its timeout.
    Timeout,
    /// The caller aborted the operation (by handle, signal, or by dropping its future).
    Abort,
    /// The request failed at the network level (refused, reset, CORS rejection, DNS, ...).
    /// Browsers deliberately do not say which.
    Network,
    /// The server answered with a status other than 2xx or 304. A snapshot of the response
    /// is attached ([`Error::response`]).
    Http,
    /// The peer broke the protocol: malformed frame, wrong content type, missing callback, ...
    Protocol,
    /// The caller passed something invalid (URL, option, close code, ...). Nothing was sent.
    Invalid,
}

impl ErrorKind {
    /// The name used for this kind in JavaScript (`error.kind`).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Timeout => "timeout",
            ErrorKind::Abort => "abort",
            ErrorKind::Network => "network",
            ErrorKind::Http => "http",
            ErrorKind::Protocol => "protocol",
            ErrorKind::Invalid => "invalid",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error from any cometkit primitive.
///
/// Plain data: `Send + Sync + 'static` whatever the features, `Clone`, and comparable, so it
/// converts into `anyhow::Error` or `Box<dyn std::error::Error + Send + Sync>` and can sit in
/// a UI framework's signal. An HTTP error keeps a snapshot of its response ([`HttpResponse`]),
/// not the browser's live object.
///
/// ```
/// use cometkit_protocol::{Error, ErrorKind};
///
/// fn describe(err: &Error) -> String {
///     match err.kind() {
///         ErrorKind::Http => format!("server said {}", err.status().unwrap_or(0)),
///         ErrorKind::Timeout => "too slow".into(),
///         _ => err.to_string(),
///     }
/// }
/// assert_eq!(describe(&Error::timeout("no answer in 5 s")), "too slow");
/// let boxed: Box<dyn std::error::Error + Send + Sync> = Box::new(Error::network("refused"));
/// assert_eq!(boxed.to_string(), "network: refused");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    message: Cow<'static, str>,
    response: Option<Box<HttpResponse>>,
}

/// What an [`ErrorKind::Http`] error keeps of the response: status, status text, headers, final
/// URL and the body as text, copied out of the browser's response when the error was made.
///
/// ```
/// use cometkit_protocol::error::{Headers, HttpResponse};
/// use cometkit_protocol::Error;
///
/// let response = HttpResponse::new(
///     503,
///     "Service Unavailable",
///     Headers::parse("retry-after: 30\r\n"),
///     "https://example.com/api",
///     Some("try later".into()),
/// );
/// let err = Error::http(response);
/// assert_eq!(err.status(), Some(503));
/// assert_eq!(err.message(), "HTTP status 503 Service Unavailable");
/// assert_eq!(err.response().and_then(|r| r.headers().get("retry-after")), Some("30"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    status: u16,
    status_text: String,
    headers: Headers,
    url: String,
    text: Option<String>,
}

pub use crate::headers::Headers;

impl HttpResponse {
    /// A snapshot from its parts; `text` is the body as text (`None` when it was not text:
    /// a `Blob` or a `Document`).
    pub fn new(
        status: u16,
        status_text: impl Into<String>,
        headers: Headers,
        url: impl Into<String>,
        text: Option<String>,
    ) -> HttpResponse {
        HttpResponse {
            status,
            status_text: status_text.into(),
            headers,
            url: url.into(),
            text,
        }
    }

    /// The HTTP status code.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The status text (`"Not Found"`; empty over HTTP/2).
    pub fn status_text(&self) -> &str {
        &self.status_text
    }

    /// True for a 2xx status (never, for the response of an HTTP error, except 2xx statuses
    /// a primitive refuses, such as an EventSource's 204).
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The headers the browser exposed (names lowercased).
    pub fn headers(&self) -> &Headers {
        &self.headers
    }

    /// The final URL after redirects; empty when unknown.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The body as text (binary bodies decoded as UTF-8, lossily); `None` when it was not
    /// readable as text.
    pub fn text(&self) -> Option<&str> {
        self.text.as_deref()
    }
}

impl Error {
    /// An error of `kind` with a human-readable message.
    pub fn new(kind: ErrorKind, message: impl Into<Cow<'static, str>>) -> Self {
        Error {
            kind,
            message: message.into(),
            response: None,
        }
    }

    /// [`ErrorKind::Invalid`]: bad input from the caller; nothing was sent.
    pub fn invalid(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::Invalid, message)
    }

    /// [`ErrorKind::Timeout`].
    pub fn timeout(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::Timeout, message)
    }

    /// [`ErrorKind::Abort`].
    pub fn abort(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::Abort, message)
    }

    /// [`ErrorKind::Network`].
    pub fn network(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::Network, message)
    }

    /// [`ErrorKind::Protocol`].
    pub fn protocol(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::Protocol, message)
    }

    /// [`ErrorKind::Http`]: the server answered with a non-success status; the snapshot of
    /// its response is kept. The message is `HTTP status <code> <status text>`.
    pub fn http(response: HttpResponse) -> Self {
        let mut message = String::from("HTTP status ");
        push_decimal(&mut message, u32::from(response.status()));
        let text = response.status_text().trim_ascii_end();
        if !text.is_empty() {
            message.push(' ');
            message.push_str(text);
        }
        Error {
            kind: ErrorKind::Http,
            message: Cow::Owned(message),
            response: Some(Box::new(response)),
        }
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The human-readable description.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// True for [`ErrorKind::Timeout`].
    pub fn is_timeout(&self) -> bool {
        self.kind == ErrorKind::Timeout
    }

    /// True for [`ErrorKind::Abort`].
    pub fn is_abort(&self) -> bool {
        self.kind == ErrorKind::Abort
    }

    /// True for [`ErrorKind::Network`].
    pub fn is_network(&self) -> bool {
        self.kind == ErrorKind::Network
    }

    /// True for [`ErrorKind::Http`].
    pub fn is_http(&self) -> bool {
        self.kind == ErrorKind::Http
    }

    /// True for [`ErrorKind::Protocol`].
    pub fn is_protocol(&self) -> bool {
        self.kind == ErrorKind::Protocol
    }

    /// True for [`ErrorKind::Invalid`].
    pub fn is_invalid(&self) -> bool {
        self.kind == ErrorKind::Invalid
    }

    /// The HTTP status of an [`ErrorKind::Http`] error.
    pub fn status(&self) -> Option<u16> {
        self.response.as_ref().map(|r| r.status())
    }

    /// The response snapshot of an [`ErrorKind::Http`] error.
    pub fn response(&self) -> Option<&HttpResponse> {
        self.response.as_deref()
    }

    /// Takes the response snapshot out of an [`ErrorKind::Http`] error.
    pub fn into_response(self) -> Option<HttpResponse> {
        self.response.map(|b| *b)
    }
}

/// `parts` joined into one string. Used instead of `[..].concat()`: the generic join behind
/// it carries formatted panics, which link `core::fmt`'s machinery into the wasm.
#[doc(hidden)]
pub fn concat(parts: &[&str]) -> String {
    let mut out = String::with_capacity(parts.iter().map(|p| p.len()).sum());
    for part in parts {
        out.push_str(part);
    }
    out
}

/// Appends `n` in decimal. Used instead of `to_string()`, which would link `core::fmt`'s
/// number formatting into the wasm for one status code.
#[doc(hidden)]
pub fn push_decimal(out: &mut String, n: u32) {
    if n >= 10 {
        push_decimal(out, n / 10);
    }
    out.push(char::from(b'0' + (n % 10) as u8));
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind, self.message)
    }
}

impl std::error::Error for Error {}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;

    #[test]
    fn kinds_have_js_names_and_predicates() {
        let e = Error::timeout("took too long");
        assert!(e.is_timeout() && !e.is_abort());
        assert_eq!(e.kind().as_str(), "timeout");
        assert_eq!(e.to_string(), "timeout: took too long");
        assert_eq!(Error::invalid("x").kind(), ErrorKind::Invalid);
        assert_eq!(ErrorKind::Protocol.as_str(), "protocol");
    }

    #[test]
    fn error_is_plain_data_whatever_the_features() {
        fn plain<T: Send + Sync + Clone + std::error::Error + 'static>() {}
        plain::<Error>();
        let response = HttpResponse::new(
            404,
            "Not Found ",
            Headers::parse("content-type: text/plain\r\n"),
            "http://h/x",
            Some("nothing here".into()),
        );
        let err = Error::http(response.clone());
        assert!(err.is_http());
        assert_eq!(err.message(), "HTTP status 404 Not Found");
        assert_eq!(err.status(), Some(404));
        assert_eq!(err.response(), Some(&response));
        assert_eq!(
            err.clone().into_response().unwrap().text(),
            Some("nothing here")
        );
        assert!(!response.ok());
        assert_eq!(
            Error::http(HttpResponse::new(500, "", Headers::new(), "", None)).message(),
            "HTTP status 500"
        );
        assert_eq!(Error::timeout("x").status(), None);
    }

    #[test]
    fn push_decimal_writes_every_digit() {
        for n in [0, 7, 10, 204, 1006, 65535, u32::MAX] {
            let mut s = String::from("x");
            push_decimal(&mut s, n);
            assert_eq!(s, ["x", &n.to_string()].concat());
        }
    }
}
