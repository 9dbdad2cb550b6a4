//! The Rust API of the Socket.IO client: [`Manager`], [`Socket`], [`Options`], [`Event`]; see
//! the [module docs](super) for what it is and why it takes JSON text.
//!
//! Layout: a [`Manager`] owns one driver ([`Shared`]) and a [`Hub`], the driver's face for
//! Rust: the hub keeps one queue of [`Event`]s per namespace socket and the senders of the
//! acks awaited. The driver delivers its notes to the hub (never while its state is
//! borrowed); [`Socket`]s read their queue as a [`Stream`].

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::task::{Context, Poll, Waker};

use futures_channel::oneshot;
use futures_util::stream::{Stream, StreamExt};
use js_sys::{Array, JsString, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};

use super::driver::{Face, JsArgs, Note, Settings, Shared, Utf8Size};
use crate::error::concat;
use crate::protocol::engineio::{self, CloseReason, Transport};
use crate::protocol::session::Reconnect;
use crate::protocol::socketio::{self, DisconnectReason, Emit, Emitted, PacketType};
use crate::Error;

/// Arguments of an event or an ack: the text of a JSON array, and binary attachments.
///
/// A binary value travels as a placeholder in the JSON, `{"_placeholder":true,"num":N}`
/// ([`placeholder`](super::placeholder)`(N)`), standing for `attachments[N]`, as on the
/// Socket.IO wire; received arguments come the same way. Text-only arguments convert from a
/// `&str` or `String`.
///
/// ```
/// use cometkit::socketio::{placeholder, Args};
/// let args = Args::new(format!(r#"["avatar.png",{}]"#, placeholder(0))).attach(vec![0x89, 0x50]);
/// assert_eq!(args.attachments.len(), 1);
/// let text: Args = r#"["hello",1]"#.into();
/// assert!(text.attachments.is_empty());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Args {
    /// The JSON array's text (an event's name not included).
    pub json: String,
    /// The binary attachments, in placeholder order.
    pub attachments: Vec<Vec<u8>>,
}

impl Args {
    /// Arguments from the text of a JSON array (`"[]"` for none), without attachments.
    pub fn new(json: impl Into<String>) -> Args {
        Args {
            json: json.into(),
            attachments: Vec::new(),
        }
    }

    /// Adds attachment number `attachments.len()` (the JSON refers to it with a placeholder).
    pub fn attach(mut self, bytes: impl Into<Vec<u8>>) -> Args {
        self.attachments.push(bytes.into());
        self
    }

    /// Fails with [`ErrorKind::Invalid`](crate::ErrorKind::Invalid) when `json` is not a
    /// JSON array or a placeholder names a missing attachment.
    fn check(&self, json: &str) -> Result<(), Error> {
        socketio::check_array(&self.json)?;
        let n = self.attachments.len();
        if socketio::find_placeholders(json)
            .iter()
            .any(|(_, num)| *num as usize >= n)
        {
            return Err(Error::invalid(
                "Socket.IO arguments: a placeholder names a missing attachment",
            ));
        }
        Ok(())
    }
}

impl From<&str> for Args {
    fn from(json: &str) -> Args {
        Args::new(json)
    }
}

impl From<String> for Args {
    fn from(json: String) -> Args {
        Args::new(json)
    }
}

/// Arguments as the driver holds them for the Rust face: going out, the JavaScript string and
/// `Uint8Array`s the transports send; coming in, the event name and the [`Args`].
#[derive(Debug, Clone)]
pub(crate) struct Wire {
    out: JsArgs,
    event: String,
    args: Args,
}

impl Wire {
    fn outgoing(json: &str, attachments: &[Vec<u8>]) -> Wire {
        let bins = (!attachments.is_empty()).then(|| {
            attachments
                .iter()
                .map(|b| JsValue::from(Uint8Array::from(b.as_slice())))
                .collect::<Array>()
        });
        Wire {
            out: JsArgs::new(
                JsString::from(json).into(),
                bins,
                Utf8Size::exact(json.len()),
            ),
            event: String::new(),
            args: Args::new(String::new()),
        }
    }
}

impl socketio::Args for Wire {
    fn size(&self) -> usize {
        self.out.size()
    }
    fn attachments(&self) -> u32 {
        self.out.attachments()
    }
    fn last_string(&self) -> Option<String> {
        socketio::last_string_arg(&self.args.json)
    }
}

/// What a [`Socket`] tells its reader, in order.
///
/// The stream ends (`None`) after the socket's last event: a [`Disconnect`](Event::Disconnect)
/// the connection will not repair (by [`Socket::disconnect`] or by the server), a
/// [`ConnectError`](Event::ConnectError), or [`Closed`](Event::Closed).
#[derive(Debug)]
#[non_exhaustive]
pub enum Event {
    /// The namespace connected: first, or again after a reconnection.
    Connect {
        /// The socket's id (socket.io's `socket.id`).
        id: String,
        /// The server recovered the session lost before (connection state recovery,
        /// socket.io ≥ 4.6): the events missed meanwhile follow.
        recovered: bool,
    },
    /// The server refused the namespace (its middleware's `next(err)`); not retried. Connect
    /// again with [`Manager::socket`].
    ConnectError {
        /// The server's message (`err.message`).
        message: String,
        /// The server's `err.data`, as JSON text.
        data: Option<String>,
    },
    /// The namespace disconnected. With [`DisconnectReason::Engine`] the connection was lost
    /// (or closed by [`Manager::close`]): with reconnection on it is repaired and a
    /// [`Connect`](Event::Connect) follows, else [`Closed`](Event::Closed) does. The other
    /// reasons (the server's or our own disconnect) end the socket.
    Disconnect {
        /// Why.
        reason: DisconnectReason,
    },
    /// An event from the server.
    Message {
        /// The event name.
        event: String,
        /// Its arguments (the name not included).
        args: Args,
        /// Set when the server asked for an acknowledgement: answer with [`Reply::send`].
        reply: Option<Reply>,
    },
    /// The connection opened on, or moved (upgraded) to, this transport.
    Transport(Transport),
    /// The connection was lost and attempt `attempt` (from 1) to restore it starts.
    Reconnecting {
        /// Attempts in a row, from 1.
        attempt: u32,
    },
    /// Something failed that the manager is handling (a transport that did not open, an
    /// undecodable packet); the next events say what follows.
    Error(Error),
    /// The connection closed for good ([`Manager::close`], or reconnection gave up); always
    /// the last event.
    Closed {
        /// Why.
        reason: CloseReason,
    },
}

/// The handle that answers a server event that asked for an acknowledgement
/// ([`Event::Message`]'s `reply`). Dropping it sends nothing (the server's ack times out, if
/// it set a timeout). It does not keep the connection alive.
#[must_use = "the server waits for the answer"]
pub struct Reply {
    core: Weak<Core>,
    nsp: String,
    id: u64,
}

impl Reply {
    /// Sends the answer's arguments.
    ///
    /// Fails with [`ErrorKind::Invalid`](crate::ErrorKind::Invalid) when `args` is not a JSON
    /// array, a placeholder names a missing attachment, the answer is larger than the
    /// server's `maxPayload`, the namespace is no longer connected (the server forgot the ack
    /// with the connection), or the manager was dropped.
    pub fn send(self, args: impl Into<Args>) -> Result<(), Error> {
        self.send_args(args.into())
    }

    fn send_args(self, args: Args) -> Result<(), Error> {
        args.check(&args.json)?;
        let core = self
            .core
            .upgrade()
            .ok_or(Error::invalid("the Socket.IO manager was dropped"))?;
        let wire = Wire::outgoing(&args.json, &args.attachments);
        let (nsp, id) = (self.nsp, self.id);
        core.run(|inner| inner.ack(&nsp, id, wire))
    }
}

impl fmt::Debug for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reply")
            .field("nsp", &self.nsp)
            .field("id", &self.id)
            .finish()
    }
}

/// The answer to [`Socket::emit_with_ack`]: a future of the server's ack arguments.
///
/// Fails with [`ErrorKind::Timeout`](crate::ErrorKind::Timeout) when the deadline
/// ([`Emitter::timeout`], [`Options::ack_timeout`]) passed,
/// [`ErrorKind::Network`](crate::ErrorKind::Network) when the event was sent and the
/// connection lost, or the namespace refused or left by the server, and
/// [`ErrorKind::Abort`](crate::ErrorKind::Abort) when the socket or manager was dropped or
/// disconnected, or a volatile event was dropped. Dropping it forgets the answer; the event
/// is sent either way.
#[must_use = "the event is sent either way; await the Ack for the answer"]
pub struct Ack(AckState);

enum AckState {
    Waiting(oneshot::Receiver<Result<Args, Error>>),
    Failed(Option<Error>),
}

impl Future for Ack {
    type Output = Result<Args, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<Args, Error>> {
        match &mut self.get_mut().0 {
            AckState::Waiting(rx) => match Pin::new(rx).poll(cx) {
                Poll::Ready(Ok(result)) => Poll::Ready(result),
                Poll::Ready(Err(oneshot::Canceled)) => Poll::Ready(Err(Error::abort(
                    "the Socket.IO manager was dropped before the ack came",
                ))),
                Poll::Pending => Poll::Pending,
            },
            AckState::Failed(error) => Poll::Ready(Err(error
                .take()
                .unwrap_or(Error::abort("the ack was already taken")))),
        }
    }
}

impl fmt::Debug for Ack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Ack")
    }
}

/// Options of [`io`] and [`Manager::new`], built with chained methods from
/// [`Options::new`]; the defaults are socket.io-client's.
///
/// ```no_run
/// # fn demo() -> Result<(), cometkit::Error> {
/// use cometkit::socketio::{io, Options, Reconnect, Transport};
/// let options = Options::new()
///     .transports(&[Transport::WebSocket, Transport::XhrPolling])
///     .auth(r#"{"token":"abc"}"#)
///     .query("room", "lobby")
///     .extra_header("Authorization", "Bearer abc") // on the XHR polling requests
///     .ack_timeout(5_000)
///     .reconnect(Some(Reconnect { max_attempts: Some(10), ..Reconnect::default() }));
/// let socket = io("https://example.com/chat", options)?;
/// # drop(socket); Ok(()) }
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct Options {
    path: String,
    query: Vec<(String, String)>,
    transports: Vec<Transport>,
    upgrade: bool,
    reconnect: Option<Reconnect>,
    timeout_ms: u32,
    with_credentials: bool,
    ack_timeout_ms: Option<u32>,
    max_buffered_packets: usize,
    max_buffered_bytes: usize,
    auth: Option<String>,
    headers: Vec<(String, String)>,
}

impl Default for Options {
    fn default() -> Self {
        let engine = engineio::Config::default();
        let client = socketio::Config::default();
        Options {
            path: String::from("/socket.io"),
            query: Vec::new(),
            transports: engine.transports,
            upgrade: engine.upgrade,
            reconnect: Some(engineio::DEFAULT_RECONNECT),
            timeout_ms: engine.open_timeout_ms,
            with_credentials: false,
            ack_timeout_ms: client.ack_timeout_ms,
            max_buffered_packets: client.max_buffered_packets,
            max_buffered_bytes: client.max_buffered_bytes,
            auth: None,
            headers: Vec::new(),
        }
    }
}

impl Options {
    /// The defaults: path `/socket.io`, polling then an upgrade to WebSocket, reconnection as
    /// socket.io-client's ([`engineio::DEFAULT_RECONNECT`]), no ack deadline, 1024 events /
    /// 1 MiB buffered while disconnected.
    pub fn new() -> Self {
        Self::default()
    }

    /// The server's Engine.IO path (default `/socket.io`; socket.io's `path`).
    pub fn path(mut self, path: &str) -> Self {
        self.path = path.to_owned();
        self
    }

    /// Adds a query parameter to every request (socket.io's `query`); it replaces one of the
    /// same name in the URL.
    pub fn query(mut self, name: &str, value: &str) -> Self {
        self.query.retain(|(n, _)| n != name);
        self.query.push((name.to_owned(), value.to_owned()));
        self
    }

    /// The transports, in the order to try them (default `[XhrPolling, WebSocket]`).
    /// `JsonpPolling` and `XdrPolling` are fallbacks for servers whose CORS the browser
    /// refuses.
    pub fn transports(mut self, transports: &[Transport]) -> Self {
        self.transports = transports.to_vec();
        self
    }

    /// Upgrade a polling connection to WebSocket when the server offers it (default `true`).
    pub fn upgrade(mut self, yes: bool) -> Self {
        self.upgrade = yes;
        self
    }

    /// Reconnection after a lost connection (default [`engineio::DEFAULT_RECONNECT`], as
    /// socket.io-client's: 1 s doubling to 5 s, up to half of it again at random, never giving
    /// up); `None` closes for good at the first loss.
    pub fn reconnect(mut self, reconnect: Option<Reconnect>) -> Self {
        self.reconnect = reconnect;
        self
    }

    /// Time a transport gets to open, in ms (default 20000; socket.io's `timeout`).
    pub fn timeout(mut self, ms: u32) -> Self {
        self.timeout_ms = ms;
        self
    }

    /// Send cookies with the XHR polling requests (default `false`; socket.io's
    /// `withCredentials`).
    pub fn with_credentials(mut self, yes: bool) -> Self {
        self.with_credentials = yes;
        self
    }

    /// The default ack deadline in ms for [`Socket::emit_with_ack`] (default none: wait as
    /// long as the connection lasts; socket.io's `ackTimeout`).
    pub fn ack_timeout(mut self, ms: u32) -> Self {
        self.ack_timeout_ms = Some(ms);
        self
    }

    /// Bounds on the events buffered while disconnected, all namespaces together (default
    /// 1024 events, 1 MiB of JSON); beyond them an emit fails. socket.io-client's buffer has
    /// no bound.
    pub fn max_buffered(mut self, events: usize, bytes: usize) -> Self {
        self.max_buffered_packets = events;
        self.max_buffered_bytes = bytes;
        self
    }

    /// Adds a header to every XHR polling request (socket.io-client's `extraHeaders`); it
    /// replaces one of the same name (in any case). A WebSocket, JSONP polling and XDR-style
    /// polling cannot carry headers: they go without. Custom headers make each polling
    /// request a CORS preflighted one, so a cross-origin server must allow them
    /// (socket.io: `cors: { allowedHeaders }`, or its default of allowing what is asked).
    ///
    /// [`Manager::new`] and [`io`] fail with
    /// [`ErrorKind::Invalid`](crate::ErrorKind::Invalid) for a name that is not an HTTP token,
    /// a value with CR, LF, NUL or characters above U+00FF, or headers with only
    /// `JsonpPolling`/`XdrPolling` to try.
    pub fn extra_header(mut self, name: &str, value: &str) -> Self {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// The `auth` object [`io`] connects its namespace with: the text of a JSON object
    /// (socket.io's `auth`). [`Manager::socket`] takes its own.
    pub fn auth(mut self, json: &str) -> Self {
        self.auth = Some(json.to_owned());
        self
    }
}

/// Rust's face of the driver: the per-namespace queues and the awaited acks.
pub(crate) struct Hub {
    sockets: RefCell<Vec<Slot>>,
    acks: RefCell<Vec<Awaited>>,
    next_key: Cell<u64>,
}

/// The queue of one [`Socket`].
struct Slot {
    key: u64,
    nsp: String,
    /// Events not read yet, each with the ack id its server event asked for.
    queue: VecDeque<(Event, Option<u64>)>,
    waker: Option<Waker>,
    /// No event will be queued any more.
    done: bool,
    sid: Option<String>,
    recovered: bool,
}

struct Awaited {
    nsp: String,
    id: u64,
    tx: oneshot::Sender<Result<Args, Error>>,
}

impl Slot {
    fn push(&mut self, event: Event, ack: Option<u64>) {
        self.queue.push_back((event, ack));
        if let Some(waker) = self.waker.take() {
            waker.wake();
        }
    }

    fn end(&mut self) {
        self.done = true;
        if let Some(waker) = self.waker.take() {
            waker.wake();
        }
    }
}

impl Hub {
    /// Runs `f` on the live socket of `nsp`, if there is one.
    fn live(&self, nsp: &str, f: impl FnOnce(&mut Slot)) {
        if let Some(slot) = self
            .sockets
            .borrow_mut()
            .iter_mut()
            .find(|s| !s.done && s.nsp == nsp)
        {
            f(slot);
        }
    }

    fn each_live(&self, mut f: impl FnMut(&mut Slot)) {
        for slot in self.sockets.borrow_mut().iter_mut().filter(|s| !s.done) {
            f(slot);
        }
    }

    fn settle(&self, nsp: &str, id: u64, result: Result<Args, Error>) {
        let mut acks = self.acks.borrow_mut();
        if let Some(i) = acks.iter().position(|a| a.id == id && a.nsp == nsp) {
            // The Ack may have been dropped: nobody to tell.
            let _ = acks.swap_remove(i).tx.send(result);
        }
    }

    fn add(&self, nsp: &str) -> Result<u64, Error> {
        let mut sockets = self.sockets.borrow_mut();
        if sockets.iter().any(|s| !s.done && s.nsp == nsp) {
            return Err(Error::invalid(concat(&[
                "the Socket.IO manager already has a socket on \"",
                nsp,
                "\" (drop or disconnect it first)",
            ])));
        }
        let key = self.next_key.get();
        self.next_key.set(key + 1);
        sockets.push(Slot {
            key,
            nsp: nsp.to_owned(),
            queue: VecDeque::new(),
            waker: None,
            done: false,
            sid: None,
            recovered: false,
        });
        Ok(key)
    }

    /// Forgets socket `key`; true when it was still live.
    fn remove(&self, key: u64) -> bool {
        let mut sockets = self.sockets.borrow_mut();
        match sockets.iter().position(|s| s.key == key) {
            Some(i) => !sockets.swap_remove(i).done,
            None => false,
        }
    }

    fn slot<R>(&self, key: u64, f: impl FnOnce(&mut Slot) -> R) -> Option<R> {
        self.sockets
            .borrow_mut()
            .iter_mut()
            .find(|s| s.key == key)
            .map(f)
    }
}

impl Face for Rc<Hub> {
    type Args = Wire;

    fn js(args: &Wire) -> &JsArgs {
        &args.out
    }

    fn decode(json: JsValue, bins: Vec<JsValue>, is_event: bool) -> Result<Wire, Error> {
        let text = json
            .as_string()
            .ok_or(Error::protocol("Socket.IO: the arguments are not text"))?;
        let (event, json) = if is_event {
            socketio::split_event(&text)?
        } else {
            socketio::check_payload(PacketType::Ack, &text)?;
            (String::new(), text)
        };
        if socketio::find_placeholders(&json)
            .iter()
            .any(|(_, num)| *num as usize >= bins.len())
        {
            return Err(Error::protocol(
                "Socket.IO: a placeholder names a missing attachment",
            ));
        }
        let attachments = bins
            .iter()
            .map(|b| match b.dyn_ref::<js_sys::ArrayBuffer>() {
                Some(buffer) => Ok(Uint8Array::new(buffer).to_vec()),
                None => Err(Error::protocol("Socket.IO: an attachment is not binary")),
            })
            .collect::<Result<_, _>>()?;
        Ok(Wire {
            out: JsArgs::new(JsValue::UNDEFINED, None, Utf8Size::exact(0)),
            event,
            args: Args { json, attachments },
        })
    }

    fn no_args() -> Wire {
        Wire {
            out: JsArgs::new(JsValue::UNDEFINED, None, Utf8Size::exact(0)),
            event: String::new(),
            args: Args::new(String::new()),
        }
    }

    fn deliver(&self, note: Note<Wire>) {
        match note {
            Note::Connect {
                nsp,
                sid,
                recovered,
            } => self.live(&nsp, |s| {
                s.sid = Some(sid.clone());
                s.recovered = recovered;
                s.push(Event::Connect { id: sid, recovered }, None);
            }),
            Note::ConnectError { nsp, message, data } => self.live(&nsp, |s| {
                s.push(Event::ConnectError { message, data }, None);
                s.end();
            }),
            Note::Disconnect { nsp, reason } => self.live(&nsp, |s| {
                s.sid = None;
                s.push(Event::Disconnect { reason }, None);
                if !matches!(reason, DisconnectReason::Engine(_)) {
                    s.end();
                }
            }),
            Note::Event { nsp, args, ack } => self.live(&nsp, |s| {
                let event = Event::Message {
                    event: args.event,
                    args: args.args,
                    reply: None,
                };
                s.push(event, ack);
            }),
            Note::Ack { nsp, id, args } => self.settle(&nsp, id, Ok(args.args)),
            Note::AckFailed { nsp, id, error } => self.settle(&nsp, id, Err(error)),
            Note::Open(t) | Note::Upgrade(t) => {
                self.each_live(|s| s.push(Event::Transport(t), None))
            }
            Note::Error(e) => self.each_live(|s| s.push(Event::Error(e.clone()), None)),
            Note::ReconnectAttempt(attempt) => {
                self.each_live(|s| s.push(Event::Reconnecting { attempt }, None))
            }
            Note::Closed(reason) => self.each_live(|s| {
                s.sid = None;
                s.push(Event::Closed { reason }, None);
                s.end();
            }),
        }
    }
}

/// The driver of one manager and its hub; released when the last handle goes.
struct Core {
    shared: Rc<Shared<Rc<Hub>>>,
    hub: Rc<Hub>,
}

impl Drop for Core {
    fn drop(&mut self) {
        self.shared.with(|inner| inner.shutdown());
    }
}

fn busy() -> Error {
    Error::invalid("the Socket.IO manager is busy (called from inside its own event handling)")
}

impl Core {
    /// Runs `f` on the driver, then delivers what it decided.
    fn run<R>(
        &self,
        f: impl FnOnce(&mut super::driver::Inner<Rc<Hub>>) -> Result<R, Error>,
    ) -> Result<R, Error> {
        let result = self.shared.with(f).ok_or_else(busy).and_then(|r| r);
        self.shared.deliver();
        result
    }
}

/// One Engine.IO connection and the namespaces multiplexed over it (socket.io-client's
/// `Manager`). Cheap to clone: clones are handles to the same connection, which lives while
/// the manager or any of its [`Socket`]s does.
///
/// ```no_run
/// # async fn demo() -> Result<(), cometkit::Error> {
/// use cometkit::socketio::{Event, Manager, Options};
/// let manager = Manager::new("https://example.com", Options::new())?;
/// let mut main = manager.socket("/", None)?;
/// let mut admin = manager.socket("/admin", Some(r#"{"token":"secret"}"#))?;
/// admin.emit("ban", r#"["mallory"]"#)?;
/// while let Some(event) = main.next().await {
///     if let Event::Message { event, args, .. } = event {
///         println!("{event} {}", args.json);
///     }
/// }
/// # drop(admin); Ok(()) }
/// ```
#[derive(Clone)]
pub struct Manager {
    core: Rc<Core>,
}

/// The query parameters of `url` (`?a=1&b=2`), in order.
fn url_query(url: &web_sys::Url) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let Ok(Some(entries)) = js_sys::try_iter(&url.search_params()) {
        for entry in entries.flatten() {
            let pair: Array = entry.unchecked_into();
            if let (Some(k), Some(v)) = (pair.get(0).as_string(), pair.get(1).as_string()) {
                out.push((k, v));
            }
        }
    }
    out
}

impl Manager {
    /// A manager for the Socket.IO server at `url` (`http:` or `https:`, absolute or
    /// relative to the page; its query parameters go with every request). Nothing connects
    /// before the first [`socket`](Manager::socket).
    ///
    /// Fails with [`ErrorKind::Invalid`](crate::ErrorKind::Invalid) for a URL that does not
    /// parse, is not http(s), or has a path (the Engine.IO path is [`Options::path`], a
    /// namespace goes to [`socket`](Manager::socket)); for a path option that does not start
    /// with `/`, an empty transport list, a query parameter Engine.IO reserves (`EIO`,
    /// `transport`, `sid`, `j`, `t`), a bad [`Options::extra_header`], or an `http:` URL
    /// under a [`secure_only`](crate::security) policy.
    pub fn new(url: &str, options: Options) -> Result<Manager, Error> {
        let parsed = crate::transport::page::resolve_http_url(url, "Socket.IO")?;
        if !matches!(parsed.pathname().as_str(), "" | "/") {
            return Err(Error::invalid(
                "a Socket.IO manager URL has no path: the namespace goes to Manager::socket, the Engine.IO path to Options::path",
            ));
        }
        Manager::start(&parsed, options)
    }

    fn start(url: &web_sys::Url, options: Options) -> Result<Manager, Error> {
        if !options.path.starts_with('/') {
            return Err(Error::invalid("the Socket.IO path must start with '/'"));
        }
        if options.transports.is_empty() {
            return Err(Error::invalid("the Socket.IO transport list is empty"));
        }
        let mut query = url_query(url);
        query.retain(|(n, _)| !options.query.iter().any(|(m, _)| m == n));
        query.extend(options.query);
        let engine = engineio::Config {
            transports: options.transports,
            upgrade: options.upgrade,
            query,
            open_timeout_ms: options.timeout_ms,
            reconnect: options.reconnect,
            ..engineio::Config::default()
        };
        let client = socketio::Config {
            max_buffered_packets: options.max_buffered_packets,
            max_buffered_bytes: options.max_buffered_bytes,
            ack_timeout_ms: options.ack_timeout_ms,
        };
        let settings = Settings {
            url: concat(&[&url.origin(), options.path.trim_end_matches('/'), "/"]),
            engine,
            client,
            credentials: options.with_credentials,
            headers: options.headers,
        };
        let hub = Rc::new(Hub {
            sockets: RefCell::new(Vec::new()),
            acks: RefCell::new(Vec::new()),
            next_key: Cell::new(0),
        });
        Ok(Manager {
            core: Rc::new(Core {
                shared: Shared::start(settings)?,
                hub,
            }),
        })
    }

    /// Connects namespace `nsp` (`"/"` for the main one) with `auth`, the text of a JSON
    /// object the server's middleware reads as `socket.handshake.auth`; opens the connection
    /// if it is not open. Events follow on the returned [`Socket`].
    ///
    /// Fails with [`ErrorKind::Invalid`](crate::ErrorKind::Invalid) for a namespace that does
    /// not start with `/` or holds a `,`, an `auth` that is not a JSON object, or a namespace
    /// that already has a live socket on this manager.
    ///
    /// A namespace left and joined again at once on the same connection can find a socket.io
    /// 4.8 server still holding the old socket (it handles DISCONNECT on its next tick): the
    /// server then closes the connection, and the manager reconnects.
    pub fn socket(&self, nsp: &str, auth: Option<&str>) -> Result<Socket, Error> {
        if let Some(auth) = auth {
            socketio::check_object(auth)?;
        }
        let hub = &self.core.hub;
        let key = hub.add(nsp)?;
        let auth = auth.map(|a| Wire::outgoing(a, &[]));
        let target = hub.clone();
        if let Err(e) = self.core.run(|inner| inner.connect(nsp, auth, target)) {
            hub.remove(key);
            return Err(e);
        }
        Ok(Socket {
            sender: SocketSender {
                ns: Rc::new(Ns {
                    core: self.core.clone(),
                    nsp: nsp.to_owned(),
                    key,
                }),
            },
        })
    }

    /// Closes the connection: every socket disconnects ("io client disconnect") and ends
    /// with [`Event::Closed`]. A later [`socket`](Manager::socket) opens a new connection.
    pub fn close(&self) {
        // Never busy: no user code runs inside the driver.
        let _ = self.core.run(|inner| {
            inner.close();
            Ok(())
        });
    }

    /// The transport of the open connection, if one is open.
    pub fn transport(&self) -> Option<Transport> {
        self.core
            .shared
            .with(|inner| inner.transport_kind())
            .flatten()
    }
}

impl fmt::Debug for Manager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Manager")
            .field("transport", &self.transport())
            .finish()
    }
}

/// socket.io-client's `io(url, options)` for Rust: a new [`Manager`] for `url`'s origin and a
/// [`Socket`] on the namespace named by `url`'s path (`/` when it has none), connected with
/// [`Options::auth`]. For more namespaces on the same connection, call
/// [`Socket::manager`]`().`[`socket`](Manager::socket).
///
/// Unlike socket.io-client, two calls never share a connection: a Rust handle owns what it
/// starts, and dropping it releases it.
///
/// Fails as [`Manager::new`] and [`Manager::socket`] do.
///
/// ```no_run
/// # async fn demo() -> Result<(), cometkit::Error> {
/// use cometkit::socketio::{io, Event, Options};
/// let mut socket = io("https://example.com/", Options::new())?;
/// socket.emit("chat", r#"["hello"]"#)?;
/// let answer = socket.timeout(5_000).emit_with_ack("echo", r#"[1,2]"#)?.await?;
/// assert_eq!(answer.json, "[1,2]");
/// while let Some(event) = socket.next().await {
///     match event {
///         Event::Connect { id, .. } => println!("connected as {id}"),
///         Event::Message { event, args, reply } => {
///             println!("{event}: {}", args.json);
///             if let Some(reply) = reply {
///                 reply.send(r#"["got it"]"#)?;
///             }
///         }
///         Event::Disconnect { reason } => println!("disconnected: {}", reason.as_str()),
///         _ => {}
///     }
/// }
/// # Ok(()) }
/// ```
pub fn io(url: &str, options: Options) -> Result<Socket, Error> {
    let parsed = crate::transport::page::resolve_http_url(url, "Socket.IO")?;
    let nsp = match parsed.pathname() {
        p if p.is_empty() => String::from("/"),
        p => p,
    };
    let auth = options.auth.clone();
    Manager::start(&parsed, options)?.socket(&nsp, auth.as_deref())
}

/// One namespace's membership, left when the socket and its senders are all dropped.
struct Ns {
    core: Rc<Core>,
    nsp: String,
    key: u64,
}

impl Drop for Ns {
    fn drop(&mut self) {
        // The socket's queue goes first, so nothing is queued for it any more.
        if self.core.hub.remove(self.key) {
            let nsp = &self.nsp;
            let _ = self.core.run(|inner| {
                inner.disconnect(nsp);
                Ok(())
            });
        }
    }
}

impl Ns {
    fn emit(&self, event: &str, args: Args, how: Emit) -> Result<Option<Ack>, Error> {
        let json = socketio::event_json(event, &args.json)?;
        args.check(&json)?;
        let wire = Wire::outgoing(&json, &args.attachments);
        let hub = &self.core.hub;
        // The ack's sender is registered before anything is delivered, so even an answer
        // that comes at once finds it.
        let result = self.core.shared.with(|inner| {
            let emitted = inner.emit(&self.nsp, wire, how)?;
            Ok(match emitted {
                Emitted::Sent(Some(id)) | Emitted::Buffered(Some(id)) => {
                    let (tx, rx) = oneshot::channel();
                    hub.acks.borrow_mut().push(Awaited {
                        nsp: self.nsp.clone(),
                        id,
                        tx,
                    });
                    Some(Ack(AckState::Waiting(rx)))
                }
                Emitted::Dropped if how.ack => Some(Ack(AckState::Failed(Some(Error::abort(
                    "the volatile event was dropped: the socket is not connected",
                ))))),
                _ => None,
            })
        });
        self.core.shared.deliver();
        result.ok_or_else(busy).and_then(|r| r)
    }

    fn slot<R>(&self, f: impl FnOnce(&mut Slot) -> R) -> Option<R> {
        self.core.hub.slot(self.key, f)
    }
}

/// How to emit: an ack deadline, or volatile ([`Socket::timeout`], [`Socket::volatile`]).
#[must_use = "an Emitter does nothing until emit or emit_with_ack"]
#[derive(Debug, Clone, Copy)]
pub struct Emitter<'a> {
    socket: &'a SocketSender,
    how: Emit,
}

impl Emitter<'_> {
    /// The ack deadline in ms (socket.io's `socket.timeout(ms)`).
    pub fn timeout(mut self, ms: u32) -> Self {
        self.how.timeout_ms = Some(ms);
        self
    }

    /// Drop the event rather than buffer it while the socket is not connected (socket.io's
    /// `socket.volatile`).
    pub fn volatile(mut self) -> Self {
        self.how.volatile = true;
        self
    }

    /// Emits `event` with `args` ([`Socket::emit`]).
    pub fn emit(self, event: &str, args: impl Into<Args>) -> Result<(), Error> {
        let mut how = self.how;
        how.ack = false;
        self.socket.ns.emit(event, args.into(), how).map(drop)
    }

    /// Emits `event` with `args` and asks for an ack ([`Socket::emit_with_ack`]).
    pub fn emit_with_ack(self, event: &str, args: impl Into<Args>) -> Result<Ack, Error> {
        let mut how = self.how;
        how.ack = true;
        self.socket
            .ns
            .emit(event, args.into(), how)?
            .ok_or(Error::invalid("the event was not given an ack id"))
    }
}

/// One namespace of a Socket.IO connection (socket.io-client's `Socket`): emits events and,
/// as a [`Stream`], yields the namespace's [`Event`]s. See the [module docs](super).
///
/// Emitting from other tasks or UI callbacks while one task reads: [`Socket::sender`] gives
/// cloneable [`SocketSender`]s. The namespace is left (DISCONNECT sent, pending acks failed)
/// when the socket and all its senders are dropped, and the connection closes when its
/// manager and all its sockets are; dropping releases every request, socket and timer.
#[must_use = "dropping the Socket leaves its namespace"]
pub struct Socket {
    sender: SocketSender,
}

/// The emitting half of a [`Socket`] ([`Socket::sender`]): cheap to clone, for UI callbacks
/// and other tasks. It keeps the namespace joined as the socket does.
#[derive(Clone)]
pub struct SocketSender {
    ns: Rc<Ns>,
}

impl SocketSender {
    fn how(&self) -> Emitter<'_> {
        Emitter {
            socket: self,
            how: Emit::default(),
        }
    }

    /// Emits `event` with `args`, the text of a JSON array of its arguments (`"[]"` for
    /// none) and any binary attachments ([`Args`]). Sent now when connected, else buffered
    /// until the namespace connects, in order.
    ///
    /// Fails with [`ErrorKind::Invalid`](crate::ErrorKind::Invalid), nothing sent, for an
    /// empty or reserved event name (`connect`, `connect_error`, `disconnect`,
    /// `disconnecting`, `newListener`, `removeListener`), `args` that is not a JSON array,
    /// a placeholder naming a missing attachment, an event larger than the server's
    /// `maxPayload`, a full buffer ([`Options::max_buffered`]), or a socket that has ended.
    pub fn emit(&self, event: &str, args: impl Into<Args>) -> Result<(), Error> {
        self.how().emit(event, args)
    }

    /// Emits `event` with `args`, asking the server for an ack; the returned [`Ack`]
    /// resolves to the ack's arguments. Fails as [`emit`](Self::emit) does; the [`Ack`]
    /// lists how the answer can fail.
    pub fn emit_with_ack(&self, event: &str, args: impl Into<Args>) -> Result<Ack, Error> {
        self.how().emit_with_ack(event, args)
    }

    /// The next emit's ack deadline, in ms.
    pub fn timeout(&self, ms: u32) -> Emitter<'_> {
        self.how().timeout(ms)
    }

    /// The next emit is dropped rather than buffered while not connected.
    pub fn volatile(&self) -> Emitter<'_> {
        self.how().volatile()
    }

    /// Leaves the namespace: DISCONNECT goes to the server, the acks awaited fail, a
    /// [`Event::Disconnect`] ("io client disconnect") follows if it was connected, and the
    /// socket's stream ends. The connection closes when no namespace is left. Does nothing
    /// on a socket that has ended.
    pub fn disconnect(&self) {
        let ns = &self.ns;
        if ns.slot(|s| s.done) != Some(false) {
            return;
        }
        let _ = ns.core.run(|inner| {
            inner.disconnect(&ns.nsp);
            Ok(())
        });
        ns.slot(Slot::end);
    }

    /// The namespace (`/`, `/admin`…).
    pub fn nsp(&self) -> &str {
        &self.ns.nsp
    }

    /// The socket's id while connected (as of the events delivered so far).
    pub fn id(&self) -> Option<String> {
        self.ns.slot(|s| s.sid.clone()).flatten()
    }

    /// Connected (as of the events delivered so far).
    pub fn connected(&self) -> bool {
        self.ns.slot(|s| s.sid.is_some()) == Some(true)
    }

    /// The last connection recovered the session lost before (see [`Event::Connect`]).
    pub fn recovered(&self) -> bool {
        self.ns.slot(|s| s.recovered) == Some(true)
    }

    /// The manager of the connection this socket is on.
    pub fn manager(&self) -> Manager {
        Manager {
            core: self.ns.core.clone(),
        }
    }
}

impl fmt::Debug for SocketSender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SocketSender")
            .field("nsp", &self.nsp())
            .field("id", &self.id())
            .finish()
    }
}

impl Socket {
    /// A cloneable sender for this socket's namespace.
    pub fn sender(&self) -> SocketSender {
        self.sender.clone()
    }

    /// Emits `event` with `args`; see [`SocketSender::emit`].
    pub fn emit(&self, event: &str, args: impl Into<Args>) -> Result<(), Error> {
        self.sender.emit(event, args)
    }

    /// Emits and asks for an ack; see [`SocketSender::emit_with_ack`].
    pub fn emit_with_ack(&self, event: &str, args: impl Into<Args>) -> Result<Ack, Error> {
        self.sender.emit_with_ack(event, args)
    }

    /// The next emit's ack deadline, in ms: `socket.timeout(5_000).emit_with_ack(…)`.
    pub fn timeout(&self, ms: u32) -> Emitter<'_> {
        self.sender.timeout(ms)
    }

    /// The next emit is dropped rather than buffered while not connected.
    pub fn volatile(&self) -> Emitter<'_> {
        self.sender.volatile()
    }

    /// Leaves the namespace; see [`SocketSender::disconnect`].
    pub fn disconnect(&self) {
        self.sender.disconnect()
    }

    /// The namespace.
    pub fn nsp(&self) -> &str {
        self.sender.nsp()
    }

    /// The socket's id while connected.
    pub fn id(&self) -> Option<String> {
        self.sender.id()
    }

    /// Connected (as of the events delivered so far).
    pub fn connected(&self) -> bool {
        self.sender.connected()
    }

    /// The last connection recovered the session lost before.
    pub fn recovered(&self) -> bool {
        self.sender.recovered()
    }

    /// The manager of the connection this socket is on (to open more namespaces on it).
    pub fn manager(&self) -> Manager {
        self.sender.manager()
    }

    /// The next event, or `None` once the socket has ended.
    pub async fn next(&mut self) -> Option<Event> {
        StreamExt::next(self).await
    }
}

impl Stream for Socket {
    type Item = Event;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Event>> {
        let ns = &self.sender.ns;
        let next = ns.slot(|slot| match slot.queue.pop_front() {
            Some(item) => Poll::Ready(Some(item)),
            None if slot.done => Poll::Ready(None),
            None => {
                slot.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        });
        match next {
            // The queue is the socket's until it is dropped: never gone here.
            None | Some(Poll::Ready(None)) => Poll::Ready(None),
            Some(Poll::Pending) => Poll::Pending,
            Some(Poll::Ready(Some((mut event, ack)))) => {
                if let (Event::Message { reply, .. }, Some(id)) = (&mut event, ack) {
                    *reply = Some(Reply {
                        core: Rc::downgrade(&ns.core),
                        nsp: ns.nsp.clone(),
                        id,
                    });
                }
                Poll::Ready(Some(event))
            }
        }
    }
}

impl fmt::Debug for Socket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Socket")
            .field("nsp", &self.nsp())
            .field("id", &self.id())
            .finish()
    }
}
