//! The JavaScript surface: everything `#[wasm_bindgen]`-exported lives under this module.
//!
//! Options arrive as plain JS objects and are read with [`opts`]; errors leave as JS `Error`s
//! built by [`error`].

pub(crate) mod error;
pub(crate) mod opts;
pub mod security;
#[cfg(any(feature = "socket", feature = "websocket", feature = "eventsource"))]
pub(crate) mod events;
#[cfg(feature = "xhr")]
pub mod xhr;
#[cfg(feature = "jsonp")]
pub mod jsonp;
#[cfg(feature = "ping")]
pub mod ping;
#[cfg(feature = "xdr")]
pub mod xdr;
#[cfg(feature = "websocket")]
pub mod websocket;
#[cfg(feature = "eventsource")]
pub mod eventsource;
#[cfg(feature = "socket")]
pub mod socket;
