//! Pure protocol logic: parsers, encoders and validation rules.
//!
//! Nothing here touches `web-sys` or reads a clock; time, when needed, is a parameter. All of
//! it is tested natively with `cargo test`.

pub mod url;
pub mod security;
#[cfg(feature = "_xhr")]
pub mod form;
pub mod headers;
#[cfg(feature = "_jsonp")]
pub mod jsonp;
#[cfg(any(feature = "_websocket", feature = "_socket"))]
pub mod close;
#[cfg(feature = "_websocket")]
pub mod wsurl;
#[cfg(any(feature = "_eventsource", feature = "_socket"))]
pub mod backoff;
#[cfg(feature = "_eventsource")]
pub mod sse;
#[cfg(feature = "_socket")]
pub mod info;
#[cfg(feature = "_socket")]
pub mod ladder;
#[cfg(feature = "_socket")]
pub mod session;
#[cfg(feature = "_socket")]
pub mod sockjs;

/// RFC 9110 `tchar`: a byte an HTTP token (method, header name, WebSocket subprotocol) may hold.
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
