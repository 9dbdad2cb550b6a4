//! Pure protocol logic: parsers, encoders and validation rules.
//!
//! Nothing here touches `web-sys` or reads a clock; time, when needed, is a parameter. All of
//! it is tested natively with `cargo test`.

pub mod url;
pub mod security;
#[cfg(feature = "xhr")]
pub mod form;
#[cfg(feature = "xhr")]
pub mod headers;
#[cfg(feature = "jsonp")]
pub mod jsonp;
#[cfg(any(feature = "websocket", feature = "socket"))]
pub mod close;
#[cfg(feature = "websocket")]
pub mod wsurl;
#[cfg(any(feature = "eventsource", feature = "socket"))]
pub mod backoff;
#[cfg(feature = "eventsource")]
pub mod sse;
#[cfg(feature = "socket")]
pub mod info;
#[cfg(feature = "socket")]
pub mod ladder;
#[cfg(feature = "socket")]
pub mod session;
#[cfg(feature = "socket")]
pub mod sockjs;

/// RFC 9110 `tchar`: a byte an HTTP token (method, header name, WebSocket subprotocol) may hold.
#[cfg(any(feature = "xhr", feature = "websocket"))]
pub(crate) fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'!' | b'#'
                | b'$'
                | b'%'
                | b'&'
                | b'\''
                | b'*'
                | b'+'
                | b'-'
                | b'.'
                | b'^'
                | b'_'
                | b'`'
                | b'|'
                | b'~'
        )
}
