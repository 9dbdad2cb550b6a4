//! Socket.IO v5 over Engine.IO v4 in the browser: the driver behind the JavaScript `io()`.
//!
//! The protocol lives in `cometkit-protocol` ([`crate::protocol::engineio::Engine`] and
//! [`crate::protocol::socketio::Client`], sans-IO, tested natively). This module only carries
//! out what those machines decide, over the browser primitives of [`crate::transport`]:
//! WebSocket, XHR long polling (with or without credentials), XDR-style polling (text/plain,
//! no custom headers: never preflighted) and JSONP polling (scripts in a hidden iframe, a
//! no-CORS POST).
//!
//! Why a module of its own rather than `src/client/`: `client` is the SockJS socket, with its
//! own session machine, transports and feature (`socket`); a `socketio`-only build carries none
//! of it. The two share the primitives (`transport::exchange`, `transport::websocket`,
//! `transport::jsonp::polling`), not a driver.
//!
//! Payloads stay JavaScript values: an event's arguments cross into wasm as a handle to the
//! JSON string (and an array of binary attachments), and leave as the parsed array; only
//! headers, namespaces, handshakes and recovery offsets are read in Rust.
//!
//! Where `io()` differs from socket.io-client 4.8, on purpose or not yet:
//! - the emit buffer is bounded (`maxBufferedPackets`, `maxBufferedBytes`; then `emit`
//!   throws), and an emit on a namespace that was never connected, or was disconnected with
//!   `disconnect()`, throws instead of waiting for a later `connect()`;
//! - events a recovering server sends before its CONNECT answer are delivered right after the
//!   `connect` event (socket.io-client delivers them just before it);
//! - JSONP and XDR-style polling are kept (socket.io-client dropped them) as fallbacks;
//! - no `retries` option, no `Manager`/`Socket` constructors exported (only `io`), no
//!   `parser`/`transportOptions`/`extraHeaders` options.
//!
//! The Rust API of this feature is the JavaScript one for now (`js` feature): a Rust front-end
//! calls `io()` through `wasm-bindgen` like any JS library; a typed Rust facade over
//! [`driver`] is future work.

pub(crate) mod driver;
