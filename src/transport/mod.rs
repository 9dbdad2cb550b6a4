//! One module per browser primitive. Each owns its browser objects and releases them on drop.

#[cfg(feature = "_xdr")]
pub mod cors;
#[cfg(feature = "_eventsource")]
pub mod eventsource;
#[cfg(any(feature = "_xdr", feature = "_socketio", feature = "_eventsource"))]
pub(crate) mod exchange;
#[cfg(feature = "_jsonp")]
pub mod jsonp;
#[cfg(any(
    feature = "_eventsource",
    feature = "_websocket",
    all(feature = "js", any(feature = "xhr", feature = "jsonp"))
))]
pub(crate) mod listener;
pub(crate) mod page;
#[cfg(any(
    feature = "_socket",
    feature = "_socketio",
    feature = "_eventsource",
    all(feature = "js", any(feature = "xdr", feature = "jsonp"))
))]
pub(crate) mod pending;
#[cfg(feature = "_ping")]
pub mod ping;
#[cfg(any(feature = "_jsonp", feature = "_ping"))]
pub(crate) mod random;
#[cfg(feature = "_websocket")]
pub mod websocket;
#[cfg(feature = "_xdr")]
pub mod xdr;
#[cfg(feature = "_xhr")]
pub mod xhr;
