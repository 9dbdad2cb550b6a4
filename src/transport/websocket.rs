//! The browser's [`WebSocket`](https://developer.mozilla.org/docs/Web/API/WebSocket) as an owned
//! Rust handle with an async event stream.
//!
//! [`WebSocket::open`] resolves a relative URL against the page, maps `http:`/`https:` to
//! `ws:`/`wss:` and strips a fragment (see [`crate::protocol::wsurl`]), validates subprotocols,
//! and connects with `binaryType = "arraybuffer"`. The four browser events are funnelled into one
//! channel and read with [`WebSocket::next`] (or as a [`Stream`]); the stream ends after the
//! [`WsEvent::Close`] event. Sending or closing with bad input returns an [`Error`] of kind
//! `invalid` instead of a browser exception, and nothing is sent.
//!
//! Dropping the handle closes the socket with code 1000 (if it is still connecting or open)
//! and removes every listener.

use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use futures_channel::mpsc::{self, UnboundedReceiver};
use futures_util::stream::{Stream, StreamExt};
use js_sys::{Array, ArrayBuffer, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{BinaryType, CloseEvent, Event, EventTarget, MessageEvent};

use crate::protocol::close::{self, CloseClass};
use crate::protocol::wsurl;
use crate::transport::listener::Listener;
use crate::Error;

/// The connection state, as
/// [`WebSocket.readyState`](https://developer.mozilla.org/docs/Web/API/WebSocket/readyState).
///
/// ```no_run
/// # fn demo() -> Result<(), cometkit::Error> {
/// use cometkit::transport::websocket::{ReadyState, WebSocket};
/// let ws = WebSocket::open("wss://example.com/feed")?;
/// // Later, e.g. in a UI callback: send only while the connection is usable.
/// if ws.ready_state() == ReadyState::Open {
///     ws.send_text("ping")?;
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadyState {
    /// 0: the handshake has not finished yet.
    Connecting,
    /// 1: messages can be sent and received.
    Open,
    /// 2: the closing handshake has started.
    Closing,
    /// 3: the connection is closed (or could not be opened).
    Closed,
}

impl ReadyState {
    fn from_u16(n: u16) -> Self {
        match n {
            0 => ReadyState::Connecting,
            1 => ReadyState::Open,
            2 => ReadyState::Closing,
            _ => ReadyState::Closed,
        }
    }
}

/// A received message.
///
/// ```no_run
/// # async fn demo(mut ws: cometkit::WebSocket) {
/// use cometkit::transport::websocket::{Message, WsEvent};
/// while let Some(event) = ws.next().await {
///     match event {
///         WsEvent::Message(Message::Text(text)) => println!("text: {text}"),
///         WsEvent::Message(Message::Binary(bytes)) => println!("{} bytes", bytes.len()),
///         _ => {}
///     }
/// }
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// A text frame.
    Text(String),
    /// A binary frame.
    Binary(Vec<u8>),
}

/// How the connection ended, from the
/// [`close` event](https://developer.mozilla.org/docs/Web/API/CloseEvent).
///
/// ```no_run
/// # async fn demo(mut ws: cometkit::WebSocket) {
/// use cometkit::protocol::close::CloseClass;
/// use cometkit::transport::websocket::WsEvent;
/// while let Some(event) = ws.next().await {
///     if let WsEvent::Close(info) = event {
///         let retry = info.is_abnormal() || info.class() == CloseClass::Retry;
///         println!("closed {} {:?}, retry: {retry}", info.code, info.reason);
///     }
/// }
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseInfo {
    /// The close code: the peer's, or 1006 when the connection dropped or never opened.
    pub code: u16,
    /// The peer's close reason (may be empty).
    pub reason: String,
    /// True when the closing handshake completed.
    pub was_clean: bool,
}

impl CloseInfo {
    /// What the code says about how the connection ended.
    pub fn class(&self) -> CloseClass {
        close::classify(self.code)
    }

    /// True when the connection was lost rather than closed (code 1006).
    pub fn is_abnormal(&self) -> bool {
        close::is_abnormal(self.code)
    }
}

/// One event from the socket, in the order the browser fired them.
///
/// ```no_run
/// # async fn demo() -> Result<(), cometkit::Error> {
/// use cometkit::{WebSocket, WsEvent};
/// let mut ws = WebSocket::open_with_protocols("/chat", &["chat.v2"])?;
/// while let Some(event) = ws.next().await {
///     match event {
///         WsEvent::Open => ws.send_text("hello")?,
///         WsEvent::Message(message) => println!("{message:?}"),
///         WsEvent::Error(_) => {} // a Close follows
///         WsEvent::Close(info) => println!("closed with {}", info.code),
///     }
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WsEvent {
    /// The handshake succeeded.
    Open,
    /// A message arrived.
    Message(Message),
    /// The browser reports a failure; a [`WsEvent::Close`] follows. The browser gives no
    /// detail, so the error is of kind `network` with a fixed message (the close code that
    /// follows says more).
    Error(Error),
    /// The connection closed; the last event of the stream.
    Close(CloseInfo),
}

/// An event as it left the browser, before conversion: the SockJS client passes message data
/// on without copying it.
pub(crate) enum Raw {
    Open,
    Message(JsValue),
    Error,
    Close(CloseInfo),
}

#[derive(Clone, Copy)]
enum Kind {
    Open,
    Message,
    Error,
    Close,
}

/// Where a [`Conn`]'s events go, called on the browser's stack as each event fires.
pub(crate) type OnRaw = Rc<dyn Fn(Raw)>;

fn forward(on: &OnRaw, kind: Kind, event: &Event) {
    let raw = match kind {
        Kind::Open => Raw::Open,
        Kind::Error => Raw::Error,
        // Registered for "message" only: the browser fires MessageEvents there (no
        // `instanceof` check on the hot path).
        Kind::Message => Raw::Message(event.unchecked_ref::<MessageEvent>().data()),
        Kind::Close => match event.dyn_ref::<CloseEvent>() {
            Some(c) => Raw::Close(CloseInfo {
                code: c.code(),
                reason: c.reason(),
                was_clean: c.was_clean(),
            }),
            None => return,
        },
    };
    on(raw);
}

/// One listener; a single closure type for all four events keeps the wasm small.
fn listen(target: &EventTarget, kind: Kind, on: OnRaw) -> Listener {
    let name = match kind {
        Kind::Open => "open",
        Kind::Message => "message",
        Kind::Error => "error",
        Kind::Close => "close",
    };
    Listener::new(target, name, move |e: Event| forward(&on, kind, &e))
}

/// Resolves `url` against the page and maps it to a `ws:`/`wss:` URL.
pub(crate) fn resolve_url(url: &str) -> Result<String, Error> {
    let parsed = crate::transport::page::resolve_url(url, "WebSocket")?;
    wsurl::to_ws_url(&parsed.href())
}

fn js_message(err: &JsValue) -> String {
    Reflect::get(err, &JsValue::from_str("message"))
        .ok()
        .and_then(|m| m.as_string())
        .unwrap_or_default()
}

/// Validates `protocols`, resolves `url` and creates the browser socket with
/// `binaryType = "arraybuffer"`, without listeners. Shared by [`Conn`] and the JS
/// `openWebSocket`, whose hand-written class listens to the socket itself.
pub(crate) fn create(url: &str, protocols: &[&str]) -> Result<web_sys::WebSocket, Error> {
    wsurl::check_protocols(protocols)?;
    let url = resolve_url(url)?;
    let ws = if protocols.is_empty() {
        web_sys::WebSocket::new(&url)
    } else {
        let list = Array::new();
        for p in protocols {
            list.push(&JsValue::from_str(p));
        }
        web_sys::WebSocket::new_with_str_sequence(&url, &list)
    }
    .map_err(|e| {
        Error::invalid(crate::error::concat(&[
            "the browser refused to open the WebSocket: ",
            &js_message(&e),
        ]))
    })?;
    ws.set_binary_type(BinaryType::Arraybuffer);
    Ok(ws)
}

/// Fails unless `ws` is open: the browser throws while connecting and silently drops data
/// once closing.
pub(crate) fn check_open(ws: &web_sys::WebSocket) -> Result<(), Error> {
    match ReadyState::from_u16(ws.ready_state()) {
        ReadyState::Open => Ok(()),
        ReadyState::Connecting => Err(Error::invalid("WebSocket is not open yet (connecting)")),
        _ => Err(Error::invalid("WebSocket is not open (closing or closed)")),
    }
}

/// The error for a send the browser refused.
pub(crate) fn send_failed(err: JsValue) -> Error {
    Error::invalid(crate::error::concat(&[
        "WebSocket send failed: ",
        &js_message(&err),
    ]))
}

/// Starts the closing handshake after checking `code` and `reason`
/// ([`close::check_close`]); bad input leaves the socket as it was.
pub(crate) fn close_with(ws: &web_sys::WebSocket, code: u16, reason: &str) -> Result<(), Error> {
    close::check_close(code, reason)?;
    ws.close_with_code_and_reason(code, reason).map_err(|e| {
        Error::invalid(crate::error::concat(&[
            "the browser refused the close: ",
            &js_message(&e),
        ]))
    })
}

/// The browser socket and its listeners; closes the socket when dropped. Shared by
/// [`WebSocket`] and the SockJS client's websocket transport.
pub(crate) struct Conn {
    ws: web_sys::WebSocket,
    _listeners: [Listener; 4],
}

impl Conn {
    /// Validates, resolves and connects; events arrive on the returned receiver, which ends
    /// after the close event or when the `Conn` is dropped.
    fn connect(
        url: &str,
        protocols: &[&str],
        waiters: Waiters,
    ) -> Result<(Conn, UnboundedReceiver<Raw>), Error> {
        let (tx, rx) = mpsc::unbounded();
        let on: OnRaw = Rc::new(move |raw| {
            let last = matches!(raw, Raw::Close(_));
            if matches!(raw, Raw::Open | Raw::Close(_)) {
                // Senders waiting for the handshake: it ended, one way or the other.
                for waker in waiters.borrow_mut().drain(..) {
                    waker.wake();
                }
            }
            let _ = tx.unbounded_send(raw);
            if last {
                tx.close_channel();
            }
        });
        Ok((Conn::connect_with(url, protocols, on)?, rx))
    }

    /// Validates, resolves and connects; `on` is called with each event as it fires, until
    /// the close event or until the `Conn` is dropped.
    pub(crate) fn connect_with(url: &str, protocols: &[&str], on: OnRaw) -> Result<Conn, Error> {
        let ws = create(url, protocols)?;
        let listeners = [
            listen(&ws, Kind::Open, on.clone()),
            listen(&ws, Kind::Message, on.clone()),
            listen(&ws, Kind::Error, on.clone()),
            listen(&ws, Kind::Close, on),
        ];
        Ok(Conn {
            ws,
            _listeners: listeners,
        })
    }

    /// The browser socket (the SockJS client sends through it).
    #[cfg(any(feature = "_socket", feature = "_socketio"))]
    pub(crate) fn raw(&self) -> &web_sys::WebSocket {
        &self.ws
    }

    fn ready_state(&self) -> ReadyState {
        ReadyState::from_u16(self.ws.ready_state())
    }

    /// Sends a text message; fails with kind `invalid` unless the socket is open.
    fn send_text(&self, text: &str) -> Result<(), Error> {
        check_open(&self.ws)?;
        self.ws.send_with_str(text).map_err(send_failed)
    }

    /// Sends a binary message; fails with kind `invalid` unless the socket is open.
    fn send_bytes(&self, bytes: &[u8]) -> Result<(), Error> {
        check_open(&self.ws)?;
        self.ws.send_with_u8_array(bytes).map_err(send_failed)
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        if matches!(
            self.ready_state(),
            ReadyState::Connecting | ReadyState::Open
        ) {
            let _ = self.ws.close_with_code(close::NORMAL);
        }
    }
}

/// An open (or opening) [WebSocket](https://developer.mozilla.org/docs/Web/API/WebSocket).
///
/// Read events with [`WebSocket::next`] or through [`Stream`]; wait for the handshake with
/// [`WebSocket::opened`]. Dropping it closes the connection with code 1000 and removes its
/// listeners; events not yet read are discarded.
///
/// ```no_run
/// # async fn demo() -> Result<(), cometkit::Error> {
/// use cometkit::transport::websocket::{Message, WebSocket, WsEvent};
/// let mut ws = WebSocket::open("/live")?; // http(s) URLs become ws(s)
/// ws.opened().await?;
/// ws.send_text("subscribe:prices")?;
/// while let Some(event) = ws.next().await {
///     if let WsEvent::Message(Message::Text(text)) = event {
///         println!("{text}");
///     }
/// }
/// # Ok(()) }
/// ```
#[must_use = "dropping the WebSocket closes it"]
pub struct WebSocket {
    conn: Rc<Conn>,
    rx: UnboundedReceiver<Raw>,
    opened: bool,
    /// Senders waiting in [`Sink::poll_ready`] for the socket to open.
    waiters: Waiters,
}

/// Wakers of the [`WsSender`]s waiting for the socket to leave the connecting state.
type Waiters = Rc<std::cell::RefCell<Vec<Waker>>>;

impl WebSocket {
    /// Opens a connection to `url`
    /// ([`new WebSocket(url)`](https://developer.mozilla.org/docs/Web/API/WebSocket/WebSocket)).
    ///
    /// `url` may be relative (resolved against the page) and may use `http:`/`https:`, mapped
    /// to `ws:`/`wss:`; a fragment is removed. Returns at once, in state
    /// [`ReadyState::Connecting`].
    ///
    /// Fails with kind `invalid` when the URL is empty, does not parse, or has another scheme
    /// (`ftp:`, `javascript:`, `data:`, ...), or when the browser refuses it (for example
    /// `ws:` from an `https:` page). A refused handshake or an unreachable server is not an
    /// error here: it arrives as [`WsEvent::Error`] then [`WsEvent::Close`] with code 1006
    /// (see [`WebSocket::opened`]).
    pub fn open(url: &str) -> Result<WebSocket, Error> {
        Self::open_with_protocols(url, &[])
    }

    /// Like [`WebSocket::open`], offering subprotocols in order of preference; after the
    /// handshake [`WebSocket::protocol`] names the one the server chose.
    ///
    /// Also fails with kind `invalid` when a name is empty, is not an HTTP token, or is listed
    /// twice.
    pub fn open_with_protocols(url: &str, protocols: &[&str]) -> Result<WebSocket, Error> {
        let waiters: Waiters = Rc::default();
        let (conn, rx) = Conn::connect(url, protocols, waiters.clone())?;
        Ok(WebSocket {
            conn: Rc::new(conn),
            rx,
            opened: false,
            waiters,
        })
    }

    /// Splits the socket into a cloneable sender, for UI callbacks and tasks, and a receiver
    /// of its events, for the task that reads. The connection closes (code 1000) when both
    /// halves, and every clone of the sender, are dropped.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), cometkit::Error> {
    /// use cometkit::transport::websocket::{Message, WebSocket, WsEvent};
    /// use futures_util::{SinkExt, StreamExt};
    ///
    /// let (mut tx, mut rx) = WebSocket::open("/live")?.split();
    /// let on_click = tx.clone();
    /// // As a Sink, the sender waits for the handshake before the first message.
    /// tx.send(Message::Text("subscribe".into())).await?;
    /// on_click.send_text("now")?;
    /// while let Some(event) = rx.next().await {
    ///     if let WsEvent::Message(Message::Text(text)) = event {
    ///         println!("{text}");
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub fn split(self) -> (WsSender, WsReceiver) {
        let sender = WsSender {
            conn: self.conn.clone(),
            waiters: self.waiters,
        };
        let receiver = WsReceiver {
            socket_conn: self.conn,
            rx: self.rx,
            opened: self.opened,
        };
        (sender, receiver)
    }

    /// Sends a text message
    /// ([`send`](https://developer.mozilla.org/docs/Web/API/WebSocket/send)).
    ///
    /// Fails with kind `invalid` unless the socket is [`ReadyState::Open`].
    pub fn send_text(&self, text: &str) -> Result<(), Error> {
        self.conn.send_text(text)
    }

    /// Sends a binary message. Fails with kind `invalid` unless the socket is open.
    pub fn send_bytes(&self, bytes: &[u8]) -> Result<(), Error> {
        self.conn.send_bytes(bytes)
    }

    /// Starts the closing handshake with code 1000 and no reason
    /// ([`close`](https://developer.mozilla.org/docs/Web/API/WebSocket/close)). Does nothing
    /// when already closing or closed; while connecting, abandons the connection.
    pub fn close(&self) -> Result<(), Error> {
        close_with(&self.conn.ws, close::NORMAL, "")
    }

    /// Starts the closing handshake with `code` and `reason`.
    ///
    /// Fails with kind `invalid`, leaving the socket as it was, when `code` is not 1000 or in
    /// 3000-4999, or `reason` is longer than 123 UTF-8 bytes (see [`crate::protocol::close`]).
    pub fn close_with(&self, code: u16, reason: &str) -> Result<(), Error> {
        close_with(&self.conn.ws, code, reason)
    }

    /// The connection state.
    pub fn ready_state(&self) -> ReadyState {
        self.conn.ready_state()
    }

    /// Bytes queued by `send_*` but not yet transmitted
    /// ([`bufferedAmount`](https://developer.mozilla.org/docs/Web/API/WebSocket/bufferedAmount)).
    pub fn buffered_amount(&self) -> u32 {
        self.conn.ws.buffered_amount()
    }

    /// The subprotocol the server chose, or `""`
    /// ([`protocol`](https://developer.mozilla.org/docs/Web/API/WebSocket/protocol)).
    pub fn protocol(&self) -> String {
        self.conn.ws.protocol()
    }

    /// The absolute `ws:`/`wss:` URL connected to
    /// ([`url`](https://developer.mozilla.org/docs/Web/API/WebSocket/url)).
    pub fn url(&self) -> String {
        self.conn.ws.url()
    }

    /// The extensions the server accepted, e.g. `permessage-deflate`
    /// ([`extensions`](https://developer.mozilla.org/docs/Web/API/WebSocket/extensions)).
    pub fn extensions(&self) -> String {
        self.conn.ws.extensions()
    }

    /// The next event, or `None` once the [`WsEvent::Close`] event has been returned.
    pub async fn next(&mut self) -> Option<WsEvent> {
        StreamExt::next(self).await
    }

    /// Waits until the socket is open (returns at once if it already was).
    ///
    /// Fails with kind `network`, naming the close code (1006 for a refused handshake or an
    /// unreachable server), when the connection closes first. Events before the open event
    /// (an error) are consumed.
    pub async fn opened(&mut self) -> Result<(), Error> {
        if self.opened {
            return Ok(());
        }
        while let Some(event) = self.next().await {
            match event {
                WsEvent::Open => return Ok(()),
                WsEvent::Close(info) => {
                    let mut message = String::from("WebSocket closed before it opened: code ");
                    crate::error::push_decimal(&mut message, u32::from(info.code));
                    message.push_str(" (");
                    message.push_str(close::describe(info.code));
                    message.push(')');
                    return Err(Error::network(message));
                }
                _ => {}
            }
        }
        Err(Error::network("WebSocket closed before it opened"))
    }
}

impl std::fmt::Debug for WebSocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebSocket")
            .field("url", &self.url())
            .field("ready_state", &self.ready_state())
            .finish()
    }
}

impl Stream for WebSocket {
    type Item = WsEvent;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<WsEvent>> {
        let this = self.get_mut();
        poll_event(&mut this.rx, &mut this.opened, cx)
    }
}

/// The sending half of a [`WebSocket`] (from [`WebSocket::split`]): cloneable, and a
/// [`Sink`](futures_util::Sink) of [`Message`]s whose `poll_ready` waits for the handshake.
/// Sending while closing or closed fails with kind `invalid`; the direct `send_*` methods
/// also fail while connecting, as the browser's `send` does.
#[derive(Clone)]
#[must_use = "a sender does nothing unless messages are sent through it"]
pub struct WsSender {
    conn: Rc<Conn>,
    waiters: Waiters,
}

impl WsSender {
    /// Sends a text message now. Fails with kind `invalid` unless the socket is open.
    pub fn send_text(&self, text: &str) -> Result<(), Error> {
        self.conn.send_text(text)
    }

    /// Sends a binary message now. Fails with kind `invalid` unless the socket is open.
    pub fn send_bytes(&self, bytes: &[u8]) -> Result<(), Error> {
        self.conn.send_bytes(bytes)
    }

    /// Sends `message` now (text or binary).
    pub fn send_message(&self, message: &Message) -> Result<(), Error> {
        match message {
            Message::Text(text) => self.send_text(text),
            Message::Binary(bytes) => self.send_bytes(bytes),
        }
    }

    /// Starts the closing handshake with code 1000 (see [`WebSocket::close`]).
    pub fn close(&self) -> Result<(), Error> {
        close_with(&self.conn.ws, close::NORMAL, "")
    }

    /// Starts the closing handshake with `code` and `reason` (see [`WebSocket::close_with`]).
    pub fn close_with(&self, code: u16, reason: &str) -> Result<(), Error> {
        close_with(&self.conn.ws, code, reason)
    }

    /// The connection state.
    pub fn ready_state(&self) -> ReadyState {
        self.conn.ready_state()
    }

    /// Bytes queued by sends but not yet transmitted.
    pub fn buffered_amount(&self) -> u32 {
        self.conn.ws.buffered_amount()
    }
}

impl std::fmt::Debug for WsSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WsSender")
            .field("ready_state", &self.ready_state())
            .finish()
    }
}

impl futures_util::Sink<Message> for WsSender {
    type Error = Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        match self.conn.ready_state() {
            ReadyState::Connecting => {
                self.waiters.borrow_mut().push(cx.waker().clone());
                Poll::Pending
            }
            ReadyState::Open => Poll::Ready(Ok(())),
            _ => Poll::Ready(Err(Error::invalid(
                "WebSocket is not open (closing or closed)",
            ))),
        }
    }

    fn start_send(self: Pin<&mut Self>, message: Message) -> Result<(), Error> {
        self.send_message(&message)
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        // The browser takes each message at once (see `buffered_amount`).
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        Poll::Ready(self.close())
    }
}

/// The receiving half of a [`WebSocket`] (from [`WebSocket::split`]): a [`Stream`] of its
/// events, ending after [`WsEvent::Close`].
#[must_use = "dropping both halves closes the WebSocket"]
pub struct WsReceiver {
    /// Keeps the connection while only the receiver is left.
    socket_conn: Rc<Conn>,
    rx: UnboundedReceiver<Raw>,
    opened: bool,
}

impl WsReceiver {
    /// The next event, or `None` once the [`WsEvent::Close`] event has been returned.
    pub async fn next(&mut self) -> Option<WsEvent> {
        StreamExt::next(self).await
    }

    /// The connection state.
    pub fn ready_state(&self) -> ReadyState {
        self.socket_conn.ready_state()
    }
}

impl std::fmt::Debug for WsReceiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WsReceiver")
            .field("ready_state", &self.ready_state())
            .finish()
    }
}

impl Stream for WsReceiver {
    type Item = WsEvent;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<WsEvent>> {
        let this = self.get_mut();
        poll_event(&mut this.rx, &mut this.opened, cx)
    }
}

/// The next event of `rx` as a [`WsEvent`] (messages decoded; `opened` set on the open event).
fn poll_event(
    rx: &mut UnboundedReceiver<Raw>,
    opened: &mut bool,
    cx: &mut Context<'_>,
) -> Poll<Option<WsEvent>> {
    loop {
        let raw = match rx.poll_next_unpin(cx) {
            Poll::Ready(Some(raw)) => raw,
            Poll::Ready(None) => return Poll::Ready(None),
            Poll::Pending => return Poll::Pending,
        };
        let event = match raw {
            Raw::Open => {
                *opened = true;
                WsEvent::Open
            }
            Raw::Error => WsEvent::Error(Error::network(
                "the WebSocket failed (the browser gives no detail; the close code follows)",
            )),
            Raw::Close(info) => WsEvent::Close(info),
            Raw::Message(data) => {
                if let Some(text) = data.as_string() {
                    WsEvent::Message(Message::Text(text))
                } else if let Some(buf) = data.dyn_ref::<ArrayBuffer>() {
                    WsEvent::Message(Message::Binary(Uint8Array::new(buf).to_vec()))
                } else {
                    // binaryType is always "arraybuffer" here; nothing else can arrive.
                    continue;
                }
            }
        };
        return Poll::Ready(Some(event));
    }
}
