//! Socket.IO v5 over Engine.IO v4 in the browser: the Rust API ([`io`], [`Manager`],
//! [`Socket`]) and the driver behind it and behind the JavaScript `io()`.
//!
//! ```no_run
//! # async fn demo() -> Result<(), cometkit::Error> {
//! use cometkit::socketio::{io, placeholder, Args, Event, Options};
//! let mut socket = io("https://chat.example/", Options::new().auth(r#"{"token":"abc"}"#))?;
//! socket.emit("chat", r#"["hello",{"to":"all"}]"#)?;                  // JSON text of the arguments
//! let saved = socket.timeout(2_000).emit_with_ack("save", r#"[42]"#)?.await?; // Err on timeout
//! let png = Args::new(format!(r#"["avatar",{}]"#, placeholder(0))).attach(vec![0x89, 0x50]);
//! socket.emit("upload", png)?;                                          // binary attachments
//! let sender = socket.sender(); // cloneable: for UI callbacks while a task reads the events
//! while let Some(event) = socket.next().await {
//!     match event {
//!         Event::Connect { id, recovered } => println!("{id} (recovered: {recovered})"),
//!         Event::ConnectError { message, .. } => println!("refused: {message}"),
//!         Event::Message { event, args, reply } => {
//!             println!("{event} {} (+{} binary)", args.json, args.attachments.len());
//!             if let Some(reply) = reply {
//!                 reply.send("[true]")?; // the server asked for an ack
//!             }
//!         }
//!         Event::Disconnect { reason } => println!("{}", reason.as_str()),
//!         _ => {}
//!     }
//! }
//! # drop((saved, sender)); Ok(()) }
//! ```
//!
//! # The Rust API, and why it is shaped so
//!
//! - **Arguments are JSON text, not `serde` values.** [`Socket::emit`] takes the event name
//!   and the text of a JSON array of its arguments; events and acks arrive as [`Args`]: the
//!   JSON text as the server sent it, and the binary attachments as bytes, standing in the
//!   JSON as Socket.IO's own placeholders (`{"_placeholder":true,"num":N}`, written by
//!   [`placeholder`]). The crate does not depend on `serde_json` (about 30 KB of wasm), and a
//!   front-end that has it already turns the text into its own types with one
//!   `serde_json::from_str` (and `to_string` on the way out); one that has not can still use
//!   the text. The text is also exact: numbers beyond 2^53 and key order survive, which
//!   would not be so through JavaScript values. This matches the SockJS [`crate::Socket`],
//!   whose messages are `String`s. Arguments are checked (a JSON array, placeholders
//!   within the attachments) and the name too (socket.io-client's reserved names are
//!   refused): bad input is an [`ErrorKind::Invalid`](crate::ErrorKind::Invalid) error,
//!   never a panic.
//! - **Events are a [`Stream`](futures_util::Stream)**, one per namespace ([`Event`]), not
//!   callbacks keyed by name: a Rust front-end awaits them in one task and matches on the
//!   name, as it does with [`crate::Socket`] and [`crate::WebSocket`]. A server event that
//!   asks for an ack carries a [`Reply`] to answer with; our own acks are futures
//!   ([`Socket::emit_with_ack`] returns an [`Ack`], failing with a timeout error after
//!   [`Socket::timeout`]'s deadline). `emit_with_ack` sends at once and returns errors of
//!   the emit itself before the future exists, so a UI callback can emit without awaiting.
//!   [`Socket::sender`] gives cloneable [`SocketSender`]s for callbacks while one task reads.
//! - **Ownership instead of a global cache.** [`io`] starts a connection of its own (a Rust
//!   handle owns what it starts; socket.io-client shares connections through a module-level
//!   cache); more namespaces on the same connection come from [`Manager::socket`]. The
//!   connection lives while its [`Manager`] or any of its sockets does; dropping the last
//!   releases every request, WebSocket, JSONP frame and timer at once, and a dropped socket
//!   leaves its namespace (pending acks fail with an abort error). Nothing is leaked:
//!   browser callbacks hold the state weakly.
//! - **Options** are socket.io-client's ([`Options`]: `path`, `query`, `transports`,
//!   `upgrade`, reconnection as [`Reconnect`], `timeout`, `withCredentials`, `ackTimeout`,
//!   `auth`, `extraHeaders`), plus the bound on what is buffered while disconnected
//!   ([`Options::max_buffered`]; socket.io-client's buffer has none).
//!
//! With connection state recovery on (socket.io ≥ 4.6), the server appends a string offset
//! to the arguments of each event it may replay; it is kept in [`Args::json`], as
//! socket.io-client hands it to listeners, and read by the client to recover.
//!
//! A build that does not call the Rust API (the npm package) carries none of its functions:
//! the driver is generic over the side it serves (its `Face`), and only the JavaScript one is
//! instantiated there.
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
//! For `io()`, payloads stay JavaScript values: an event's arguments cross into wasm as a
//! handle to the JSON string (and an array of binary attachments), and leave as the parsed
//! array; only headers, namespaces, handshakes and recovery offsets are read in Rust. The
//! Rust API copies each event's JSON and attachments into wasm once, as its user receives
//! them as `String` and bytes.
//!
//! Where `io()` differs from socket.io-client 4.8, on purpose or not yet:
//! - the emit buffer is bounded (`maxBufferedPackets`, `maxBufferedBytes`; then `emit`
//!   throws), and an emit on a namespace that was never connected, or was disconnected with
//!   `disconnect()`, throws instead of waiting for a later `connect()`;
//! - events a recovering server sends before its CONNECT answer are delivered right after the
//!   `connect` event (socket.io-client delivers them just before it);
//! - JSONP and XDR-style polling are kept (socket.io-client dropped them) as fallbacks;
//! - `retries` (JS only, in `js/socketio.js`) bounds its queue by `maxBufferedPackets`, and
//!   its emits' callbacks always take the error first;
//! - the classes are exported as `Manager` and `SocketIO` (the package's `Socket` is the
//!   SockJS one): `import { Manager, SocketIO as Socket } from 'cometkit'`. A manager has one
//!   socket per namespace (events are routed by namespace): `new SocketIO(manager, nsp)` for
//!   a namespace it has a socket for throws, where socket.io-client makes a second one;
//! - the manager's `reconnection()`, `reconnectionAttempts()`, `reconnectionDelay()`,
//!   `reconnectionDelayMax()`, `randomizationFactor()` and `timeout()` setters retune the
//!   running connection from its next failed attempt or loss: a reconnection already
//!   scheduled still happens (socket.io-client's `reconnection(false)` cancels it), and
//!   `timeout(false)` is refused (a number is needed);
//! - `manager.open(fn)` calls `fn` at once when the manager is open already (socket.io-client
//!   never calls it then), and a failed open still reconnects by the manager's settings
//!   (socket.io-client does not when given `fn`);
//! - the reconnection delays have socket.io-client's defaults (1 s doubling to 5 s,
//!   `randomizationFactor` 0.5), but the random part is added on top of each delay, never
//!   more than `reconnectionDelayMax` in total ([`Backoff`]), where socket.io-client spreads it
//!   both ways: a delay is never shorter than `reconnectionDelay`;
//! - `extraHeaders` go on the XHR polling requests only, as socket.io-client's do in a
//!   browser; JSONP and XDR-style polling cannot carry them, and with only those transports
//!   to try the option is an error rather than silently unsent;
//! - no `parser`/`transportOptions` options.
//!
//! The Rust API differs from socket.io-client further in the ways listed under its heading
//! above: no listener management (`on`/`once`/`off`/`onAny`: a stream has one reader), no
//! `connect()` on a socket that ended (ask the [`Manager`] for a new one), and no manager
//! events apart from those every socket sees ([`Event::Transport`],
//! [`Event::Reconnecting`], [`Event::Error`], [`Event::Closed`]).

mod client;
pub(crate) mod driver;

pub use crate::protocol::backoff::Backoff;
pub use crate::protocol::engineio::{CloseReason, Transport};
pub use crate::protocol::session::Reconnect;
pub use crate::protocol::socketio::{placeholder, DisconnectReason};
pub use client::{io, Ack, Args, Emitter, Event, Manager, Options, Reply, Socket, SocketSender};
