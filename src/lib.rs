//! # cometkit
//!
//! The browser's whole "Ajax and Comet" toolbox as Rust wrappers with async APIs, compiled to
//! WebAssembly and exported to JavaScript:
//!
//! | primitive | Rust | JavaScript |
//! |---|---|---|
//! | [`XMLHttpRequest`](https://developer.mozilla.org/docs/Web/API/XMLHttpRequest) | [`transport::xhr`] | `request(opts)` |
//! | XDomainRequest-style CORS request | [`transport::xdr`] | `xdrRequest(opts)` |
//! | [`EventSource`](https://developer.mozilla.org/docs/Web/API/EventSource), native or polyfilled | [`transport::eventsource`] | `openEventSource(url, opts)` |
//! | [`WebSocket`](https://developer.mozilla.org/docs/Web/API/WebSocket) | [`transport::websocket`] | `openWebSocket(url, opts)` |
//! | image ping (GET beacon through `<img>`) | [`transport::ping`] | `ping(url, params, opts)` |
//! | JSONP (script injection) | [`transport::jsonp`] | `jsonp(url, opts)` |
//! | SockJS socket over the best transport available, with fallback and reconnect | `client::Socket` | `new Socket(url, opts)` |
//! | Socket.IO v5 client (Engine.IO v4: WebSocket, XHR, XDR-style and JSONP polling) | `socketio::{io, Manager, Socket}` | `io(url, opts)` |
//!
//! Layout: [`protocol`] is pure Rust (parsers, encoders, validation) with no browser access and
//! no clock, tested natively; [`transport`] has one file per browser primitive; `client` is the
//! transport-negotiating socket that drives them; `js` holds
//! everything exported to JavaScript. Every handle that owns a browser resource releases it
//! when dropped, and dropping a future cancels its work.
//!
//! A whole Rust front-end built on the types re-exported at the root is in the repository's
//! `examples/chat/` (Leptos: a chat over a split `Socket`, an upload with progress through
//! `Request`, a live feed through `EventSource`); its README says how to run it against
//! `cometkit-server`.
//!
//! Synchronous XHR is deliberately not offered: on the main thread it freezes the page and
//! browsers deprecate it.

#![deny(missing_docs)]

/// The pure protocol layer (the [`cometkit_protocol`] crate): codecs, parsers, the SockJS
/// session and every rule, without browser types; tested natively.
pub use cometkit_protocol as protocol;
/// The error type every primitive returns (from [`cometkit_protocol`], shared with the server).
pub use cometkit_protocol::error;
#[cfg(feature = "_socket")]
pub mod client;
pub mod security;
#[cfg(feature = "_socketio")]
pub mod socketio;
pub mod transport;

#[cfg(feature = "js")]
#[doc(hidden)]
pub mod js;

// The npm package's allocator (the `js` feature builds it; Rust front-ends keep their own
// choice). lol_alloc's free list is about 2 KB gzip smaller than std's dlmalloc in every build,
// and the package runs on one thread: wasm32-unknown-unknown without the atomics feature has
// no threads, which is what `AssumeSingleThreaded` requires.
#[cfg(all(
    feature = "js",
    target_arch = "wasm32",
    not(target_feature = "atomics")
))]
#[global_allocator]
// SAFETY: without the atomics target feature a wasm module has a single thread.
static ALLOC: lol_alloc::AssumeSingleThreaded<lol_alloc::FreeListAllocator> =
    unsafe { lol_alloc::AssumeSingleThreaded::new(lol_alloc::FreeListAllocator::new()) };

pub use error::{Error, ErrorKind, HttpResponse};

// The types a Rust front-end reaches for, at the root.
#[cfg(feature = "_socket")]
pub use client::{Socket, SocketEvent, SocketOptions, SocketReceiver, SocketSender};
#[cfg(feature = "_eventsource")]
pub use transport::eventsource::{EventSource, EventSourceOptions, SseEvent};
#[cfg(feature = "_jsonp")]
pub use transport::jsonp::Jsonp;
#[cfg(feature = "_ping")]
pub use transport::ping::Ping;
#[cfg(feature = "_websocket")]
pub use transport::websocket::{WebSocket, WsEvent, WsReceiver, WsSender};
#[cfg(feature = "_xdr")]
pub use transport::xdr::XdrRequest;
#[cfg(feature = "_xhr")]
pub use transport::xhr::{Body, Request, Response};
