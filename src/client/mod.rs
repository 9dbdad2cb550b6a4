//! The SockJS-compatible negotiating socket: a WebSocket-like, message-oriented connection that
//! picks whichever transport works between this browser and the server.
//!
//! [`Socket::connect`] asks the server's `/info`, then tries the transports of the ladder
//! ([`crate::protocol::ladder`]) in order, each with a deadline derived from the measured round
//! trip, until one opens a session: `websocket`, `xhr-streaming`, `xdr-streaming`,
//! `eventsource`, `xhr-polling`, `xdr-polling`, `jsonp-polling`. Messages sent meanwhile are
//! queued and delivered in order. A session lost after it was open is re-established with
//! exponential backoff ([`SocketOptions::reconnect`]).
//!
//! All behaviour lives in the pure state machine [`crate::protocol::session`]; this module is
//! the thin driver that owns the browser objects (XHRs, `<script>`s, EventSources, WebSockets,
//! one timer) and carries out what the session asks for:
//!
//! | transport | receives with | sends with |
//! |---|---|---|
//! | `websocket` | [`WebSocket`](https://developer.mozilla.org/docs/Web/API/WebSocket), one frame per message | the same WebSocket |
//! | `xhr-streaming` / `xhr-polling` | CORS [`XMLHttpRequest`](https://developer.mozilla.org/docs/Web/API/XMLHttpRequest) POST `…/xhr_streaming` / `…/xhr` | XHR POST `…/xhr_send` (text/plain) |
//! | `xdr-streaming` / `xdr-polling` | the same within XDomainRequest's limits ([`crate::transport::xdr`]) | XDR-style POST `…/xhr_send` |
//! | `eventsource` | [`EventSource`](https://developer.mozilla.org/docs/Web/API/EventSource) `…/eventsource` | XHR POST `…/xhr_send` |
//! | `jsonp-polling` | `<script>` `…/jsonp?c=…` in a hidden `<iframe>` (removing it cancels the poll) | no-CORS [`fetch`](https://developer.mozilla.org/docs/Web/API/fetch) POST `…/jsonp_send` |
//!
//! When `/info` fails with a network error (typically a server that does not answer CORS),
//! the socket does not give up as sockjs-client would: it assumes WebSocket may work and tries
//! only the transports that need no CORS, `websocket` then `jsonp-polling` (an unreachable
//! server then ends with 2000 "All transports failed" rather than 1002).
//!
//! XDR-style transports are offered when the page has an `XDomainRequest`, or when the
//! transport whitelist names them: no browser that runs WebAssembly has a native one, so they
//! then run on XHR held to XDomainRequest's limits (no cookies, no preflight).
//!
//! Dropping the [`Socket`] releases everything at once: requests are aborted (the server sees
//! its receiving request end), JSONP frames and scripts removed, the EventSource and WebSocket
//! closed, the timer cleared.
//!
//! Test hooks: [`SocketOptions::session_id`] and [`SocketOptions::server_id`] fix the session
//! URL, and short [`SocketOptions::timeout`], [`SocketOptions::heartbeat_timeout`] and
//! [`SocketOptions::reconnect`] delays make failures quick to provoke.
//!
//! ```no_run
//! # async fn demo() -> Result<(), cometkit::Error> {
//! use cometkit::client::{Socket, SocketEvent, SocketOptions};
//! let mut socket = Socket::connect("https://example.com/sockjs/echo", SocketOptions::new())?;
//! socket.send("hello")?;
//! while let Some(event) = socket.next().await {
//!     match event {
//!         SocketEvent::Message(text) => println!("{text}"),
//!         SocketEvent::Close { code, reason, .. } => println!("closed {code} {reason}"),
//!         _ => {}
//!     }
//! }
//! # Ok(()) }
//! ```

use std::collections::VecDeque;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use futures_util::stream::{Stream, StreamExt};
use js_sys::{Array, JsString};

use crate::protocol::session::{self, Config, Event, Session};
use crate::transport::random;
use crate::Error;

mod capabilities;
mod codec;
mod driver;
mod eventsource;
mod http;
mod jsonp;
mod websocket;

pub use crate::protocol::backoff::Backoff;
pub use crate::protocol::ladder::TransportKind;
pub use crate::protocol::session::{ReadyState, Reconnect};

pub(crate) use codec::JsMessage;
use driver::Settings;
pub(crate) use driver::{JsEvent, Output, Shared};

/// What a [`Socket`] tells its reader, in order.
///
/// ```no_run
/// # async fn demo() -> Result<(), cometkit::Error> {
/// use cometkit::{Socket, SocketEvent, SocketOptions};
/// let mut socket = Socket::connect("/sockjs/chat", SocketOptions::new())?;
/// while let Some(event) = socket.next().await {
///     match event {
///         SocketEvent::TransportChanged(kind) => println!("trying {kind:?}"),
///         SocketEvent::Message(text) => println!("received {text}"),
///         SocketEvent::Reconnecting { delay_ms, .. } => println!("reconnecting in {delay_ms} ms"),
///         SocketEvent::Close { code, reason, .. } => println!("closed: {code} {reason}"),
///         _ => {}
///     }
/// }
/// # Ok(()) }
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum SocketEvent {
    /// A session is about to open on a different transport than the previous one (also before
    /// the first open).
    TransportChanged(TransportKind),
    /// A session opened: the first one, or a new one after a reconnection.
    Open,
    /// A message from the server.
    Message(String),
    /// The server's heartbeat.
    Heartbeat,
    /// The session was lost and a new one will be tried in `delay_ms`; see
    /// [`session::Event::Reconnecting`].
    Reconnecting {
        /// Why the session was lost.
        code: u16,
        /// Why the session was lost.
        reason: String,
        /// Wait before the next attempt, in ms.
        delay_ms: u32,
        /// Backoff retries in a row, 0 for a move after a demotion.
        attempt: u32,
    },
    /// The lost session could not be resumed (cometkit's resume extension, with a server
    /// that offers it); the socket goes on with a fresh session. `unconfirmed` are messages
    /// that were sent but not acknowledged: the server may or may not have them, and they
    /// are not sent again. See [`session::Event::ResumeFailed`].
    ResumeFailed {
        /// 2011 ([`crate::protocol::resume::CODE_RESUME_FAILED`]).
        code: u16,
        /// What happened.
        reason: String,
        /// Sent, unacknowledged messages, in order.
        unconfirmed: Vec<String>,
    },
    /// Something went wrong that the socket is handling; the next events say what follows.
    Error(Error),
    /// The socket closed for good; always the last event.
    Close {
        /// The close code.
        code: u16,
        /// The close reason.
        reason: String,
        /// Closed by the user or a server `c` frame, rather than by a failure.
        was_clean: bool,
    },
}

/// Options of [`Socket::connect`], built with chained methods from [`SocketOptions::new`].
///
/// ```no_run
/// # fn demo() -> Result<(), cometkit::Error> {
/// use cometkit::client::{Backoff, Reconnect, TransportKind};
/// use cometkit::{Socket, SocketOptions};
/// let options = SocketOptions::new()
///     .transports(&[TransportKind::WebSocket, TransportKind::XhrStreaming])
///     .timeout(2_000)
///     .reconnect(Some(Reconnect { backoff: Backoff::constant(5_000), max_attempts: Some(10) }));
/// let socket = Socket::connect("https://example.com/sockjs", options)?;
/// # drop(socket); Ok(()) }
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct SocketOptions {
    transports: Vec<TransportKind>,
    timeout_ms: u32,
    info_timeout_ms: u32,
    heartbeat_timeout_ms: u32,
    reconnect: Option<Reconnect>,
    with_credentials: bool,
    server_id: Option<String>,
    session_id: Option<String>,
    max_queued_messages: usize,
    max_queued_bytes: usize,
    secure_only: Option<crate::security::SecureOnly>,
    resume: bool,
}

impl Default for SocketOptions {
    fn default() -> Self {
        SocketOptions {
            transports: Vec::new(),
            timeout_ms: 0,
            info_timeout_ms: crate::protocol::info::DEFAULT_INFO_TIMEOUT_MS,
            heartbeat_timeout_ms: session::DEFAULT_HEARTBEAT_TIMEOUT_MS,
            reconnect: Some(Reconnect::default()),
            with_credentials: true,
            server_id: None,
            session_id: None,
            max_queued_messages: session::DEFAULT_MAX_QUEUED_MESSAGES,
            max_queued_bytes: session::DEFAULT_MAX_QUEUED_BYTES,
            secure_only: None,
            resume: true,
        }
    }
}

impl SocketOptions {
    /// The defaults: every transport in the default order, attempt timeouts from the measured
    /// round trip, reconnection on, credentials on.
    pub fn new() -> Self {
        Self::default()
    }

    /// The transports allowed, in the order to try them (empty: all, in the default order).
    /// Parse names with [`crate::protocol::ladder::parse_whitelist`].
    pub fn transports(mut self, transports: &[TransportKind]) -> Self {
        self.transports = transports.to_vec();
        self
    }

    /// The least time each transport gets to open, in ms; the actual deadline is the larger
    /// of this and `RTO × round trips` (default 0: from the round trip alone).
    pub fn timeout(mut self, ms: u32) -> Self {
        self.timeout_ms = ms;
        self
    }

    /// Time allowed for `/info`, in ms (default 8000).
    pub fn info_timeout(mut self, ms: u32) -> Self {
        self.info_timeout_ms = ms;
        self
    }

    /// Silence on an open session that counts as a lost connection, in ms (default 62500,
    /// 2.5 server heartbeats; 0 disables the check).
    pub fn heartbeat_timeout(mut self, ms: u32) -> Self {
        self.heartbeat_timeout_ms = ms;
        self
    }

    /// Reconnection after a lost session (default: [`Reconnect::default`]); `None` closes the
    /// socket instead. The first connection is never retried.
    pub fn reconnect(mut self, reconnect: Option<Reconnect>) -> Self {
        self.reconnect = reconnect;
        self
    }

    /// Send cookies with the CORS XHR requests and the EventSource (default `true`, as
    /// sockjs-client, so cookie-based sticky sessions work; SockJS servers allow credentials).
    /// XDR-style transports never send cookies; JSONP always does.
    pub fn with_credentials(mut self, yes: bool) -> Self {
        self.with_credentials = yes;
        self
    }

    /// The server id path segment (default: three random digits).
    pub fn server_id(mut self, id: &str) -> Self {
        self.server_id = Some(id.to_owned());
        self
    }

    /// A fixed session id for every attempt instead of a random one per attempt (for tests;
    /// a retry on the same id meets the server's closed session).
    pub fn session_id(mut self, id: &str) -> Self {
        self.session_id = Some(id.to_owned());
        self
    }

    /// Bounds on messages accepted by [`Socket::send`] and not yet delivered (defaults 1024
    /// messages, 1 MiB). Messages are held as JavaScript strings, so `bytes` counts UTF-16 code
    /// units (bytes for ASCII text). A single message larger than `bytes` is refused.
    pub fn max_queued(mut self, messages: usize, bytes: usize) -> Self {
        self.max_queued_messages = messages;
        self.max_queued_bytes = bytes;
        self
    }

    /// Use cometkit's resume extension when the server offers it (default `true`):
    /// exactly-once delivery across dropped connections, see
    /// [`crate::protocol::resume`]. Plain SockJS servers never offer it and get plain SockJS.
    pub fn resume(mut self, yes: bool) -> Self {
        self.resume = yes;
        self
    }

    /// Refuse an `http:` service URL (and so `ws:`), overriding the page-wide default of
    /// [`crate::security::set_defaults`]; see [`crate::security::SecureOnly`].
    pub fn secure_only(mut self, policy: crate::security::SecureOnly) -> Self {
        self.secure_only = Some(policy);
        self
    }
}

/// A negotiating SockJS socket; see the [module docs](self).
///
/// Read its events with [`Socket::next`] or as a [`Stream`]: [`SocketEvent::TransportChanged`]
/// and [`SocketEvent::Open`] when a session opens, [`SocketEvent::Message`]s,
/// [`SocketEvent::Reconnecting`] when a lost session is being replaced, informational
/// [`SocketEvent::Error`]s, and finally [`SocketEvent::Close`], after which the stream ends.
/// To send from one task (or UI callback) while another reads, [`split`](Socket::split) it.
/// Dropping it (or both halves) releases everything at once.
///
/// ```no_run
/// # async fn demo() -> Result<(), cometkit::Error> {
/// use cometkit::{Socket, SocketEvent, SocketOptions};
/// use futures_util::StreamExt;
/// let mut socket = Socket::connect("/sockjs/echo", SocketOptions::new())?;
/// socket.send("hello")?;
/// while let Some(event) = socket.next().await {
///     if let SocketEvent::Message(text) = event {
///         assert_eq!(text, "hello");
///         break;
///     }
/// }
/// # Ok(()) }
/// ```
#[must_use = "dropping the Socket closes it"]
pub struct Socket {
    owner: Rc<Owner>,
    /// Messages of a received batch not yet returned by the stream.
    ready: VecDeque<String>,
}

/// The sending half of a [`Socket`] ([`Socket::split`]): cheap to clone, usable from any task
/// or UI callback on the page, and a [`futures_util::Sink`] of `String`s whose `poll_ready`
/// waits for room in the send queue (backpressure) and whose `poll_flush` waits until every
/// accepted message is confirmed delivered.
///
/// ```no_run
/// # async fn demo() -> Result<(), cometkit::Error> {
/// use cometkit::{Socket, SocketEvent, SocketOptions};
/// use futures_util::{SinkExt, StreamExt};
/// let (mut tx, mut rx) = Socket::connect("/sockjs/echo", SocketOptions::new())?.split();
/// let button_tx = tx.clone(); // e.g. moved into an on:click handler
/// button_tx.send_now("clicked")?;
/// tx.send("from a task".to_owned()).await?;
/// while let Some(event) = rx.next().await {
///     if let SocketEvent::Close { .. } = event {
///         break;
///     }
/// }
/// # Ok(()) }
/// ```
#[derive(Clone)]
#[must_use = "a sender does nothing unless messages are sent through it"]
pub struct SocketSender {
    owner: Rc<Owner>,
}

/// The receiving half of a [`Socket`] ([`Socket::split`]): a [`Stream`] of [`SocketEvent`]s,
/// ending after [`SocketEvent::Close`].
///
/// ```no_run
/// # fn demo() -> Result<(), cometkit::Error> {
/// use cometkit::{Socket, SocketEvent, SocketOptions};
/// let (tx, mut rx) = Socket::connect("/sockjs/echo", SocketOptions::new())?.split();
/// wasm_bindgen_futures::spawn_local(async move {
///     while let Some(event) = rx.next().await {
///         if let SocketEvent::Message(text) = event {
///             println!("{text}");
///         }
///     }
/// });
/// tx.send_now("hello")?;
/// # Ok(()) }
/// ```
#[must_use = "dropping both halves closes the socket"]
pub struct SocketReceiver {
    owner: Rc<Owner>,
    ready: VecDeque<String>,
}

/// The driver behind a socket and its halves: shut down when the last of them is dropped.
struct Owner(Rc<Shared>);

impl Drop for Owner {
    fn drop(&mut self) {
        self.0.with(|inner| inner.shutdown());
    }
}

impl Owner {
    fn send(&self, message: &str) -> Result<(), Error> {
        self.0
            .with(|inner| inner.send(JsMessage::new(JsString::from(message))))
            .unwrap_or_else(|| Err(busy()))
    }

    fn close(&self, code: u16, reason: &str) -> Result<(), Error> {
        self.0
            .with(|inner| inner.close(Some(code), reason))
            .unwrap_or_else(|| Err(busy()))
    }

    fn ready_state(&self) -> ReadyState {
        self.0
            .inner
            .try_borrow()
            .map_or(ReadyState::Connecting, |i| i.ready_state())
    }

    fn transport(&self) -> Option<TransportKind> {
        self.0.inner.try_borrow().ok()?.session().transport()
    }

    fn recovered(&self) -> bool {
        self.0
            .inner
            .try_borrow()
            .is_ok_and(|i| i.session().recovered())
    }

    fn url(&self) -> String {
        self.0
            .inner
            .try_borrow()
            .map(|i| i.session().url().to_owned())
            .unwrap_or_default()
    }

    fn buffered_amount(&self) -> usize {
        self.0
            .inner
            .try_borrow()
            .map_or(0, |i| i.session().buffered_amount())
    }

    fn take_unsent(&self) -> Vec<String> {
        self.0
            .with(|inner| inner.take_unsent())
            .unwrap_or_default()
            .iter()
            .map(String::from)
            .collect()
    }

    /// The next event for a Rust reader, splitting message batches into `ready`.
    fn poll_event(
        &self,
        ready: &mut VecDeque<String>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<SocketEvent>> {
        loop {
            if let Some(message) = ready.pop_front() {
                return Poll::Ready(Some(SocketEvent::Message(message)));
            }
            let next = self.0.with(|inner| inner.next_event(cx.waker()));
            let event = match next {
                Some(Some(Some(event))) => event,
                Some(Some(None)) => return Poll::Ready(None),
                Some(None) => return Poll::Pending,
                // Borrowed up the stack (never expected): try again on the next tick.
                None => {
                    cx.waker().wake_by_ref();
                    return Poll::Pending;
                }
            };
            match public_event(event) {
                Ok(event) => return Poll::Ready(Some(event)),
                Err(batch) => ready.extend(batch_strings(&batch)),
            }
        }
    }

    fn poll_with(
        &self,
        cx: &mut Context<'_>,
        f: impl FnOnce(&mut driver::Inner, &std::task::Waker) -> Poll<Result<(), Error>>,
    ) -> Poll<Result<(), Error>> {
        match self.0.with(|inner| f(inner, cx.waker())) {
            Some(poll) => poll,
            None => {
                cx.waker().wake_by_ref();
                Poll::Pending
            }
        }
    }
}

fn busy() -> Error {
    Error::invalid("the socket is busy (called from inside its own event handling)")
}

/// `url` resolved as the browser resolves the URLs of its own constructors.
fn resolve(url: &str) -> Result<String, Error> {
    Ok(crate::transport::page::resolve_url(url, "Socket")?.href())
}

/// One uniformly random `u32` from `crypto.getRandomValues` (checked to exist at connect).
fn random_u32() -> u32 {
    let mut bytes = [0u8; 4];
    if random::fill(&mut bytes).is_err() {
        return 0;
    }
    u32::from_le_bytes(bytes)
}

/// Validates `options`, resolves `url` and starts a driver whose events go to `output`.
pub(crate) fn start(
    url: &str,
    options: SocketOptions,
    output: Output,
) -> Result<Rc<Shared>, Error> {
    let url = resolve(url)?;
    // Every transport URL derives from this one (ws: from http:), so one check covers them.
    crate::security::check_url(&url, options.secure_only)?;
    random::fill(&mut [0u8; 4])?;
    let mut config = Config::new(capabilities::detect(&url, &options.transports));
    config.transports = options.transports;
    config.timeout_ms = options.timeout_ms;
    config.info_timeout_ms = options.info_timeout_ms;
    config.heartbeat_timeout_ms = options.heartbeat_timeout_ms;
    config.reconnect = options.reconnect;
    config.server_id = options.server_id;
    config.session_id = options.session_id;
    // A network error on /info may be the server refusing CORS, which WebSocket and JSONP
    // do not need.
    config.cors_fallback = true;
    config.max_queued_messages = options.max_queued_messages;
    config.max_queued_bytes = options.max_queued_bytes;
    config.resume = options.resume;
    let session = Session::new(&url, config, Box::new(random_u32))?;
    let settings = Settings {
        with_credentials: options.with_credentials,
    };
    Ok(Shared::start(session, settings, output))
}

/// The strings of a received batch.
pub(crate) fn batch_strings(batch: &Array) -> impl Iterator<Item = String> + '_ {
    batch.iter().map(|m| m.as_string().unwrap_or_default())
}

impl Socket {
    /// Starts connecting to the SockJS service at `url` (absolute, or relative to the page;
    /// `http:` or `https:`) and returns at once, in [`ReadyState::Connecting`].
    ///
    /// Fails with [`ErrorKind::Invalid`](crate::ErrorKind::Invalid), with nothing sent, when
    /// `url` is empty, does not parse, is not http(s) or has a fragment; when the server or
    /// session id is empty, longer than 64 bytes or holds anything but ASCII letters, digits,
    /// `-`, `_` and `~`; when a queue bound is 0; or when the page has no
    /// `crypto.getRandomValues`. Connection failures are not errors here: they end the socket
    /// with a [`SocketEvent::Close`] (2000 "All transports failed", 1002 "Cannot connect to
    /// server"), as does a message the server refuses as too large (1009; it comes back from
    /// [`take_unsent`](Self::take_unsent)).
    pub fn connect(url: &str, options: SocketOptions) -> Result<Socket, Error> {
        Ok(Socket {
            owner: Rc::new(Owner(start(url, options, Output::Stream(None))?)),
            ready: VecDeque::new(),
        })
    }

    /// Queues `message` for the server; it is sent as soon as a session is open, in order.
    ///
    /// Fails with [`ErrorKind::Invalid`](crate::ErrorKind::Invalid) when the socket is closed,
    /// when the message alone is larger than the byte bound, or when the queue is full (see
    /// [`SocketOptions::max_queued`]); the message is then not queued. Never drops a message
    /// silently.
    pub fn send(&self, message: &str) -> Result<(), Error> {
        self.owner.send(message)
    }

    /// Closes the socket for good with `code` (1000, or 3000-4999) and `reason` (at most 123
    /// bytes of UTF-8; empty: "Normal closure"); a [`SocketEvent::Close`] with `was_clean`
    /// follows. Closing a closed socket does nothing.
    ///
    /// Fails with [`ErrorKind::Invalid`](crate::ErrorKind::Invalid), changing nothing, for
    /// another code or a longer reason.
    pub fn close(&self, code: u16, reason: &str) -> Result<(), Error> {
        self.owner.close(code, reason)
    }

    /// The state: [`ReadyState::Closing`] once closed until the close event is read.
    pub fn ready_state(&self) -> ReadyState {
        self.owner.ready_state()
    }

    /// The transport of the open session, if one is open.
    pub fn transport(&self) -> Option<TransportKind> {
        self.owner.transport()
    }

    /// Whether the open session took back the one lost before, nothing lost nor repeated
    /// (resume extension), rather than being the first or a fresh one; as socket.io's
    /// `recovered`.
    pub fn recovered(&self) -> bool {
        self.owner.recovered()
    }

    /// The service URL (absolute, trailing slashes removed).
    pub fn url(&self) -> String {
        self.owner.url()
    }

    /// Bytes of messages accepted by [`send`](Self::send) and not yet confirmed delivered
    /// (UTF-16 code units: messages are held as JavaScript strings).
    pub fn buffered_amount(&self) -> usize {
        self.owner.buffered_amount()
    }

    /// Once closed, the messages that were never confirmed delivered (some may have reached
    /// the server); empty before.
    pub fn take_unsent(&self) -> Vec<String> {
        self.owner.take_unsent()
    }

    /// The next event, or `None` after the [`SocketEvent::Close`] event.
    pub async fn next(&mut self) -> Option<SocketEvent> {
        StreamExt::next(self).await
    }

    /// Splits the socket into a cloneable [`SocketSender`] (a `Sink<String>`) and a
    /// [`SocketReceiver`] (a `Stream` of events), so one task can read while others send. The
    /// socket stays open until both halves (and every clone of the sender) are dropped, or
    /// until it is closed.
    pub fn split(self) -> (SocketSender, SocketReceiver) {
        let sender = SocketSender {
            owner: self.owner.clone(),
        };
        let receiver = SocketReceiver {
            owner: self.owner.clone(),
            ready: self.ready.clone(),
        };
        (sender, receiver)
    }
}

impl SocketSender {
    /// Queues `message` at once ([`Socket::send`]): for UI callbacks that cannot await.
    pub fn send_now(&self, message: &str) -> Result<(), Error> {
        self.owner.send(message)
    }

    /// Closes the socket for good ([`Socket::close`]).
    pub fn close(&self, code: u16, reason: &str) -> Result<(), Error> {
        self.owner.close(code, reason)
    }

    /// The socket's state ([`Socket::ready_state`]).
    pub fn ready_state(&self) -> ReadyState {
        self.owner.ready_state()
    }

    /// Bytes accepted and not yet confirmed delivered ([`Socket::buffered_amount`]).
    pub fn buffered_amount(&self) -> usize {
        self.owner.buffered_amount()
    }

    /// Once closed, the messages never confirmed delivered ([`Socket::take_unsent`]).
    pub fn take_unsent(&self) -> Vec<String> {
        self.owner.take_unsent()
    }
}

impl futures_util::Sink<String> for SocketSender {
    type Error = Error;

    /// Ready when the queue has room for another message; fails once the socket is closed.
    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.owner
            .poll_with(cx, |inner, waker| inner.poll_room(0, waker))
    }

    /// Queues the message ([`Socket::send`]); fails for a message larger than the byte bound.
    fn start_send(self: Pin<&mut Self>, message: String) -> Result<(), Error> {
        self.owner.send(&message)
    }

    /// Ready once every accepted message is confirmed delivered.
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.owner
            .poll_with(cx, |inner, waker| inner.poll_drained(waker))
    }

    /// Closes the socket (1000, "Normal closure"); unconfirmed messages stay in
    /// [`take_unsent`](SocketSender::take_unsent).
    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        Poll::Ready(self.owner.close(1000, ""))
    }
}

impl SocketReceiver {
    /// The next event, or `None` after the [`SocketEvent::Close`] event.
    pub async fn next(&mut self) -> Option<SocketEvent> {
        StreamExt::next(self).await
    }

    /// The socket's state ([`Socket::ready_state`]).
    pub fn ready_state(&self) -> ReadyState {
        self.owner.ready_state()
    }

    /// The transport of the open session ([`Socket::transport`]).
    pub fn transport(&self) -> Option<TransportKind> {
        self.owner.transport()
    }
}

impl Stream for SocketReceiver {
    type Item = SocketEvent;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<SocketEvent>> {
        let this = self.get_mut();
        this.owner.poll_event(&mut this.ready, cx)
    }
}

/// A session event as the Rust API shows it (`Messages` are split by the caller).
pub(crate) fn public_event(event: JsEvent) -> Result<SocketEvent, Array> {
    Ok(match event {
        Event::TransportChanged(kind) => SocketEvent::TransportChanged(kind),
        Event::Open => SocketEvent::Open,
        Event::Messages(batch) => return Err(batch),
        Event::Heartbeat => SocketEvent::Heartbeat,
        Event::Reconnecting {
            code,
            reason,
            delay_ms,
            attempt,
        } => SocketEvent::Reconnecting {
            code,
            reason,
            delay_ms,
            attempt,
        },
        Event::Error(e) => SocketEvent::Error(e),
        Event::ResumeFailed {
            code,
            reason,
            unconfirmed,
        } => SocketEvent::ResumeFailed {
            code,
            reason,
            unconfirmed: unconfirmed.into_iter().map(|m| String::from(m.0)).collect(),
        },
        Event::Close {
            code,
            reason,
            was_clean,
        } => SocketEvent::Close {
            code,
            reason,
            was_clean,
        },
    })
}

impl Stream for Socket {
    type Item = SocketEvent;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<SocketEvent>> {
        let this = self.get_mut();
        this.owner.poll_event(&mut this.ready, cx)
    }
}

impl std::fmt::Debug for Socket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Socket")
            .field("url", &self.url())
            .field("ready_state", &self.ready_state())
            .field("transport", &self.transport())
            .finish()
    }
}

impl std::fmt::Debug for SocketSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SocketSender")
            .field("ready_state", &self.ready_state())
            .finish()
    }
}

impl std::fmt::Debug for SocketReceiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SocketReceiver")
            .field("ready_state", &self.ready_state())
            .finish()
    }
}
