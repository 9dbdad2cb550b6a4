//! cometkit's protocol layer: the SockJS codec, the client's and the server's session machines,
//! `/info`, the transport ladder, backoff, the SSE parser and the EventSource polyfill's
//! connection policy, the Engine.IO v4 client machine ([`engineio`]) and the Socket.IO v5 codec
//! and client machine on top of it ([`socketio`]), close codes, URL, header, form and security
//! rules, and the one [`Error`] type, shared by the browser client (`cometkit`) and the server
//! (`cometkit-server`).
//!
//! Nothing here touches `web-sys`, `tokio` or a clock: time, when needed, is a parameter, and
//! input arrives as calls (the sans-IO style of `quinn-proto`). All of it is tested natively
//! with `cargo test`, with simulated time.
//!
//! ```
//! use cometkit_protocol::sockjs::{decode_frame, encode_payload, Frame};
//!
//! let payload = encode_payload(&["hi".to_string()]);
//! assert_eq!(payload, r#"["hi"]"#);
//! let frame = decode_frame(&["a", &payload].concat()).unwrap();
//! assert_eq!(frame, Frame::Messages(vec!["hi".to_string()]));
//! ```

#![deny(missing_docs)]

pub mod error;
pub use error::{Error, ErrorKind, HttpResponse};
#[cfg(feature = "js")]
mod js;
#[cfg(all(feature = "js", feature = "js-http"))]
#[doc(hidden)]
pub use js::{response_object, ResponseData};

pub mod backoff;
pub mod close;
pub mod engineio;
pub mod eventsource;
pub mod form;
pub mod headers;
pub mod info;
pub mod jsonp;
pub mod ladder;
pub mod resume;
pub mod security;
pub mod server;
pub mod session;
pub mod socketio;
pub mod sockjs;
pub mod sse;
pub mod url;
pub mod wsurl;

/// RFC 9110 `tchar`: a byte an HTTP token (method, header name, WebSocket subprotocol) may hold.
#[doc(hidden)]
pub fn is_tchar(b: u8) -> bool {
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
