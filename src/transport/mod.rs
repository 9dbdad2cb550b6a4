//! One module per browser primitive. Each owns its browser objects and releases them on drop.

// Used by the WebSocket and EventSource primitives and the `request()`/`jsonp()` exports
// (abort signals).
#[cfg(any(
    feature = "_websocket",
    feature = "_eventsource",
    all(feature = "js", any(feature = "xhr", feature = "jsonp"))
))]
pub(crate) mod listener;
pub(crate) mod page;
#[cfg(feature = "_xhr")]
pub mod xhr;
#[cfg(feature = "_jsonp")]
pub mod jsonp;
#[cfg(feature = "_ping")]
pub mod ping;
#[cfg(feature = "_websocket")]
pub mod websocket;
#[cfg(any(feature = "_jsonp", feature = "_ping"))]
pub(crate) mod random;
#[cfg(feature = "_xdr")]
pub mod xdr;
#[cfg(feature = "_xdr")]
pub mod cors;
#[cfg(feature = "_eventsource")]
pub mod eventsource;
