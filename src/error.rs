//! The one error type every cometkit primitive returns.
//!
//! Callers match on [`ErrorKind`] (or use the `is_*` predicates) rather than on message text.
//! In JavaScript the same error arrives as an `Error` whose `kind` property is one of
//! `"timeout" | "abort" | "network" | "http" | "protocol" | "invalid"`.

use std::borrow::Cow;
use std::fmt;

/// What went wrong, in a form a caller can branch on.
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
    /// The server answered with a status other than 2xx or 304. The response is attached.
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
#[derive(Debug)]
pub struct Error {
    kind: ErrorKind,
    message: Cow<'static, str>,
    #[cfg(feature = "_xhr")]
    response: Option<Box<crate::transport::xhr::Response>>,
}

impl Error {
    /// An error of `kind` with a human-readable message.
    pub fn new(kind: ErrorKind, message: impl Into<Cow<'static, str>>) -> Self {
        Error {
            kind,
            message: message.into(),
            #[cfg(feature = "_xhr")]
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

    /// [`ErrorKind::Http`]: the server answered with a non-success status; `response` is kept.
    #[cfg(feature = "_xhr")]
    pub fn http(response: crate::transport::xhr::Response) -> Self {
        let mut message = String::from("HTTP status ");
        push_decimal(&mut message, u32::from(response.status()));
        let text = response.status_text().trim_end();
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
    #[cfg(feature = "_xhr")]
    pub fn status(&self) -> Option<u16> {
        self.response.as_ref().map(|r| r.status())
    }

    /// The response that came with an [`ErrorKind::Http`] error.
    #[cfg(feature = "_xhr")]
    pub fn response(&self) -> Option<&crate::transport::xhr::Response> {
        self.response.as_deref()
    }

    /// Takes the response out of an [`ErrorKind::Http`] error.
    #[cfg(feature = "_xhr")]
    pub fn into_response(self) -> Option<crate::transport::xhr::Response> {
        self.response.map(|b| *b)
    }
}

/// `parts` joined into one string. Used instead of `[..].concat()`: the generic join behind
/// it carries formatted panics, which link `core::fmt`'s machinery into the wasm.
pub(crate) fn concat(parts: &[&str]) -> String {
    let mut out = String::with_capacity(parts.iter().map(|p| p.len()).sum());
    for part in parts {
        out.push_str(part);
    }
    out
}

/// Appends `n` in decimal. Used instead of `to_string()`, which would link `core::fmt`'s
/// number formatting into the wasm for one status code.
#[cfg_attr(not(any(feature = "_xhr", feature = "_websocket")), allow(dead_code))]
pub(crate) fn push_decimal(out: &mut String, n: u32) {
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
    fn push_decimal_writes_every_digit() {
        for n in [0, 7, 10, 204, 1006, 65535, u32::MAX] {
            let mut s = String::from("x");
            push_decimal(&mut s, n);
            assert_eq!(s, ["x", &n.to_string()].concat());
        }
    }
}
