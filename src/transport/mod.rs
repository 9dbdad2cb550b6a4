//! One module per browser primitive. Each owns its browser objects and releases them on drop.

#[cfg(any(feature = "xhr", feature = "jsonp", feature = "websocket"))]
pub(crate) mod listener;
#[cfg(feature = "xhr")]
pub mod xhr;
#[cfg(feature = "jsonp")]
pub mod jsonp;
#[cfg(feature = "ping")]
pub mod ping;
#[cfg(feature = "websocket")]
pub mod websocket;
#[cfg(any(feature = "jsonp", feature = "ping"))]
pub(crate) mod random;
#[cfg(any(feature = "xhr", feature = "websocket"))]
pub(crate) mod page;
#[cfg(feature = "xdr")]
pub mod xdr;
#[cfg(feature = "xdr")]
pub mod cors;
#[cfg(feature = "eventsource")]
pub mod eventsource;
