//! The driver: owns the browser objects of one Socket.IO manager (one Engine.IO connection and
//! its namespaces) and its one timer, feeds the [`Engine`] and the Socket.IO [`Client`], and
//! carries out what they decide.
//!
//! Every browser callback (a WebSocket frame, a finished poll or POST, the timer) calls
//! straight into [`Shared`] on the browser's own stack: the input goes to the machines, their
//! actions are carried out ([`Inner::pump`]) and their events delivered at once to the
//! JavaScript manager ([`Shared::deliver`]), after the state's borrow is released, so listeners
//! may emit. An input that arrives while the state is borrowed is parked and handled by the
//! borrower before it lets go.
//!
//! Ownership: [`Inner`] owns every transport (its WebSocket, its poll and POST in flight as
//! [`Pending`] callbacks on their own promises, the JSONP iframe) and the timer; dropping them
//! aborts every request and closes every socket. No future or task is involved.
//! Browser callbacks hold the state only weakly. The JavaScript manager is held strongly only
//! while the connection is wanted (so a socket only its listeners know keeps delivering), and
//! let go when the engine closes for good.
//!
//! The driver serves one of two faces ([`Face`]): the JavaScript manager of `io()`
//! (`src/js/socketio.rs`), which takes event arguments parsed into JavaScript values, or the
//! Rust facade ([`super::client`]), which takes them as JSON text and bytes. The face is a type
//! parameter, so each build carries the code of the face it uses and no other.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::fmt::Debug;
use std::rc::{Rc, Weak};

use gloo_timers::callback::Timeout;
use js_sys::{Array, JsString, Promise};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::protocol::engineio::{
    self, Action, CloseReason, Data, Engine, Message, Packet, Transport, TransportId,
};
use crate::protocol::socketio::{
    self, Args, Client, DisconnectReason, Emit, Emitted, Header, Incoming, Outgoing, PacketType,
    Payload, Reassembly,
};
use crate::transport::exchange::{Exchange, Mode};
use crate::transport::jsonp::polling::{post_no_cors, ScriptFrame};
use crate::transport::page::now_ms as now;
use crate::transport::pending::Pending;
use crate::transport::websocket::{Conn, Raw};
use crate::Error;

#[wasm_bindgen(module = "/js/eio.js")]
extern "C" {
    fn split(body: &JsString) -> Array;
    #[wasm_bindgen(js_name = fromBase64)]
    fn from_base64(text: &JsString) -> JsValue;
    fn join(prefixes: &str, values: &Array) -> JsString;
    #[wasm_bindgen(js_name = wsSend)]
    fn ws_send(ws: &web_sys::WebSocket, kind: u32, value: &JsValue) -> bool;
    #[wasm_bindgen(js_name = byteLength)]
    pub(crate) fn byte_length(v: &JsValue) -> f64;
    #[wasm_bindgen(js_name = utf8Length)]
    fn utf8_length(s: &JsValue) -> f64;
    #[wasm_bindgen(js_name = frameHead)]
    fn frame_head(data: &JsValue) -> Option<String>;
    #[wasm_bindgen(js_name = frameRest)]
    fn frame_rest() -> JsValue;
    #[cfg(feature = "js")]
    #[wasm_bindgen(js_name = decodeArgs)]
    fn decode_args(json: &JsValue, bins: &Array, is_event: bool) -> JsValue;
    #[wasm_bindgen(js_name = lastString)]
    fn last_string(args: &JsValue) -> Option<String>;

    type InFlight;
    #[wasm_bindgen(js_name = jsonpPoll)]
    fn jsonp_poll(win: &web_sys::Window, src: &str, index: u32) -> InFlight;
    #[wasm_bindgen(method, getter)]
    fn done(this: &InFlight) -> Promise;
    #[wasm_bindgen(method)]
    fn cancel(this: &InFlight);
}

/// The UTF-8 size of a JavaScript string, counted when first asked and then kept. Counting
/// walks the whole text (about 60 µs for 64 KiB in Chromium), and on an open WebSocket no
/// bound needs it: 3 bytes per UTF-16 unit bounds it, and only a bound that would break a
/// limit (`maxPayload`, the queue and buffer bounds, a polling batch) asks for the count.
#[derive(Clone, Debug)]
pub(crate) struct Utf8Size {
    units: usize,
    /// `usize::MAX` until counted.
    bytes: Cell<usize>,
}

impl Utf8Size {
    /// A size already known.
    pub(crate) fn exact(bytes: usize) -> Utf8Size {
        Utf8Size {
            units: bytes,
            bytes: Cell::new(bytes),
        }
    }

    /// The size of a string of `units` UTF-16 code units, not counted yet.
    pub(crate) fn units(units: usize) -> Utf8Size {
        Utf8Size {
            units,
            bytes: Cell::new(usize::MAX),
        }
    }

    /// The size of a string of unknown length, not counted yet (no bound).
    fn unknown() -> Utf8Size {
        Utf8Size::units(usize::MAX)
    }

    fn known(&self) -> Option<usize> {
        Some(self.bytes.get()).filter(|&b| b != usize::MAX)
    }

    fn at_most(&self) -> usize {
        self.known().unwrap_or(self.units.saturating_mul(3))
    }

    /// The size of `text`, the string this describes.
    fn get(&self, text: &JsValue) -> usize {
        self.known().unwrap_or_else(|| {
            let n = utf8_length(text) as usize;
            self.bytes.set(n);
            n
        })
    }
}

/// An Engine.IO message as the driver holds it: a JavaScript string (text) or binary value.
#[derive(Clone, Debug)]
pub(crate) struct JsMsg {
    value: JsValue,
    /// Of the text (of `value`); a binary value's byte length is exact from the start.
    size: Utf8Size,
    binary: bool,
    /// A received text message split by `frameHead`: its type and Socket.IO header ("42"),
    /// `value` being the JSON after it.
    head: Option<String>,
}

impl JsMsg {
    fn text(value: JsValue, size: Utf8Size) -> JsMsg {
        JsMsg {
            value,
            size,
            binary: false,
            head: None,
        }
    }

    fn binary(value: JsValue) -> JsMsg {
        let size = Utf8Size::exact(byte_length(&value) as usize);
        JsMsg {
            value,
            size,
            binary: true,
            head: None,
        }
    }

    fn received(head: String, json: JsValue) -> JsMsg {
        JsMsg {
            value: json,
            size: Utf8Size::unknown(),
            binary: false,
            head: Some(head),
        }
    }

    /// The bytes before `value`: a received message's Socket.IO header.
    fn head_len(&self) -> usize {
        self.head.as_ref().map_or(0, |h| h.len().saturating_sub(1))
    }
}

impl Message for JsMsg {
    fn is_binary(&self) -> bool {
        self.binary
    }
    fn size(&self) -> usize {
        self.head_len() + self.size.get(&self.value)
    }
    fn size_at_most(&self) -> usize {
        self.head_len().saturating_add(self.size.at_most())
    }
}

/// Event or ack arguments as the Socket.IO client holds them: going out, the JSON string and
/// the attachments (placeholders already in the JSON); coming in, the parsed array.
#[derive(Clone, Debug)]
pub(crate) struct JsArgs {
    value: JsValue,
    bins: Option<Array>,
    /// Of the JSON text going out.
    size: Utf8Size,
}

impl JsArgs {
    /// Outgoing arguments: `json` of `size`, and the binary attachments.
    pub(crate) fn new(json: JsValue, bins: Option<Array>, size: Utf8Size) -> JsArgs {
        JsArgs {
            value: json,
            bins: bins.filter(|b| b.length() > 0),
            size,
        }
    }

    /// Incoming arguments parsed in JavaScript (the JavaScript face): the JSON array, binary
    /// placeholders replaced by the attachments.
    #[cfg(feature = "js")]
    pub(crate) fn parse(
        json: JsValue,
        bins: Vec<JsValue>,
        is_event: bool,
    ) -> Result<JsArgs, Error> {
        let bins: Array = bins.into_iter().collect();
        let value = decode_args(&json, &bins, is_event);
        if value.is_null() {
            return Err(Error::protocol(
                "Socket.IO: arguments are not a JSON array (with a name first) or name a missing attachment",
            ));
        }
        Ok(JsArgs {
            value,
            bins: None,
            size: Utf8Size::exact(0),
        })
    }

    /// The JavaScript value: the JSON text going out, the parsed array coming in.
    #[cfg(feature = "js")]
    pub(crate) fn into_value(self) -> JsValue {
        self.value
    }

    fn attachment_bytes(&self) -> impl Iterator<Item = u64> + '_ {
        self.bins
            .iter()
            .flat_map(|b| b.iter())
            .map(|b| byte_length(&b) as u64)
    }
}

impl Args for JsArgs {
    fn size(&self) -> usize {
        self.size.get(&self.value)
    }
    fn attachments(&self) -> u32 {
        self.bins.as_ref().map_or(0, |b| b.length())
    }
    fn last_string(&self) -> Option<String> {
        last_string(&self.value)
    }
}

/// What the face is told; `A` is its event arguments ([`Face::Args`]).
pub(crate) enum Note<A> {
    /// The engine opened on this transport.
    Open(Transport),
    /// The connection moved to this transport.
    Upgrade(Transport),
    Connect {
        nsp: String,
        sid: String,
        recovered: bool,
    },
    ConnectError {
        nsp: String,
        message: String,
        data: Option<String>,
    },
    Disconnect {
        nsp: String,
        reason: DisconnectReason,
    },
    Event {
        nsp: String,
        args: A,
        ack: Option<u64>,
    },
    Ack {
        nsp: String,
        id: u64,
        args: A,
    },
    AckFailed {
        nsp: String,
        id: u64,
        error: Error,
    },
    /// A transport failed to open, or the server sent something undecodable.
    Error(Error),
    /// A new connection will be tried (attempt counts from 1).
    ReconnectAttempt(u32),
    /// The engine closed for good (why).
    Closed(CloseReason),
}

/// The side the driver serves: where its notes go, and how it holds event and ack arguments.
/// Implemented by the note target (the JavaScript manager's handle, or the Rust facade's
/// state), which the driver holds while the connection is wanted.
pub(crate) trait Face: Clone + 'static {
    /// Event and ack arguments, both ways.
    type Args: Args + Debug;
    /// Outgoing arguments as the driver sends them.
    fn js(args: &Self::Args) -> &JsArgs;
    /// The arguments of a server event (`is_event`: the name first) or ack: `json` (a
    /// JavaScript string) and its binary attachments (`ArrayBuffer`s). Fails with a protocol
    /// error when they do not fit.
    fn decode(json: JsValue, bins: Vec<JsValue>, is_event: bool) -> Result<Self::Args, Error>;
    /// Empty arguments (a placeholder the machine never reads).
    fn no_args() -> Self::Args;
    /// Tells the face `note`; called with no borrow of the state held.
    fn deliver(&self, note: Note<Self::Args>);
}

/// A JSONP poll in flight, cancelled (script and callback removed) when dropped.
struct Cancel(InFlight);

impl Drop for Cancel {
    fn drop(&mut self) {
        self.0.cancel();
    }
}

enum Input {
    Polled(TransportId, Result<JsString, Error>),
    Sent(TransportId, Result<(), Error>),
    WsOpen(TransportId),
    WsMessage(TransportId, JsValue),
    WsClosed(TransportId, Option<Error>),
    Timer,
}

struct Sink<F: Face>(Weak<Shared<F>>);

impl<F: Face> Clone for Sink<F> {
    fn clone(&self) -> Self {
        Sink(self.0.clone())
    }
}

impl<F: Face> Sink<F> {
    fn input(&self, input: Input) {
        if let Some(shared) = self.0.upgrade() {
            shared.input(input);
        }
    }
}

/// What the driver is started with.
pub(crate) struct Settings {
    /// The Engine.IO endpoint (`http(s)://host/socket.io/`).
    pub(crate) url: String,
    pub(crate) engine: engineio::Config,
    pub(crate) client: socketio::Config,
    /// Cookies on the CORS XHR polling requests.
    pub(crate) credentials: bool,
    /// socket.io-client's `extraHeaders`: set on every XHR polling request (a WebSocket, a
    /// JSONP script and an XDR-style request cannot carry them). Checked by [`Shared::start`].
    pub(crate) headers: Vec<(String, String)>,
}

/// One transport the engine asked for, and the browser objects that carry it.
struct Link {
    id: TransportId,
    ws: Option<Conn>,
    frame: Option<Rc<ScriptFrame>>,
    poll: Option<Pending>,
    send: Option<Pending>,
}

/// The state of one manager and what arrived while it was borrowed.
pub(crate) struct Shared<F: Face> {
    inner: RefCell<Inner<F>>,
    deferred: RefCell<VecDeque<Input>>,
    delivering: Cell<bool>,
}

/// The state of one manager; see the module docs.
pub(crate) struct Inner<F: Face> {
    settings: Settings,
    engine: Engine<JsMsg>,
    client: Client<F::Args>,
    reassembly: Reassembly<JsValue, JsValue>,
    links: Vec<Link>,
    timer: Option<(u64, Timeout)>,
    sink: Sink<F>,
    notes: VecDeque<Note<F::Args>>,
    target: Option<F>,
    /// An upgrade to WebSocket worked on an earlier connection (engine.io-client's
    /// `rememberUpgrade`): the next engine tries the WebSocket first.
    websocket_worked: bool,
    /// [`Engine::close`] was called: the next connect starts a new engine.
    closing: bool,
    dead: bool,
    /// [`Settings::headers`] as the flat `[name, value, ...]` array the XHR takes, or
    /// `undefined`.
    headers: JsValue,
    /// A turn is running ([`Shared::with`]), and the time read in it, if any ([`Inner::now`]).
    in_turn: Cell<bool>,
    clock: Cell<Option<u64>>,
    /// The last reading, whenever it was.
    last: Cell<u64>,
    /// The last Socket.IO header sent, and as a JavaScript string: a flood of events on one
    /// namespace without acks repeats it, and a string from wasm costs a decode each time.
    header: Option<(String, JsString)>,
}

fn new_engine(settings: &Settings, websocket_first: bool) -> Result<Engine<JsMsg>, Error> {
    let mut config = settings.engine.clone();
    config.websocket_first = websocket_first;
    Engine::new(
        &settings.url,
        config,
        Box::new(|| (js_sys::Math::random() * 4_294_967_296.0) as u32),
    )
}

fn too_large() -> Error {
    Error::invalid("the message is larger than the server's maxPayload")
}

impl<F: Face> Shared<F> {
    /// A driver for `settings`; nothing connects before [`Inner::open`] or the first
    /// namespace. Fails for a bad URL or option (a header that is no valid request header,
    /// or headers with only transports that cannot carry them), or an `http:` URL under a
    /// `secureOnly` policy.
    pub(crate) fn start(settings: Settings) -> Result<Rc<Shared<F>>, Error> {
        crate::security::check_url(&settings.url, None)?;
        let engine = new_engine(&settings, false)?;
        let client = Client::new(settings.client);
        let headers = header_array(&settings)?;
        Ok(Rc::new_cyclic(|weak: &Weak<Shared<F>>| Shared {
            inner: RefCell::new(Inner {
                settings,
                engine,
                client,
                reassembly: Reassembly::new(socketio::DEFAULT_MAX_ATTACHMENTS),
                links: Vec::new(),
                timer: None,
                sink: Sink(weak.clone()),
                notes: VecDeque::new(),
                target: None,
                websocket_worked: false,
                closing: false,
                dead: false,
                headers,
                in_turn: Cell::new(false),
                clock: Cell::new(None),
                last: Cell::new(0),
                header: None,
            }),
            deferred: RefCell::new(VecDeque::new()),
            delivering: Cell::new(false),
        }))
    }

    /// Runs `f` on the state, then handles whatever arrived meanwhile. `None` when the state
    /// is already borrowed up the stack.
    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut Inner<F>) -> R) -> Option<R> {
        let mut inner = self.inner.try_borrow_mut().ok()?;
        inner.in_turn.set(true);
        let result = f(&mut inner);
        loop {
            let next = self.deferred.borrow_mut().pop_front();
            match next {
                Some(input) => inner.handle(input),
                None => break,
            }
        }
        inner.in_turn.set(false);
        inner.clock.set(None);
        Some(result)
    }

    fn input(&self, input: Input) {
        let mut input = Some(input);
        let handled = self.with(|inner| {
            if let Some(input) = input.take() {
                inner.handle(input);
            }
        });
        match (handled, input) {
            (None, Some(input)) => self.deferred.borrow_mut().push_back(input),
            _ => self.deliver(),
        }
    }

    /// Delivers the pending notes to the face; never nested.
    pub(crate) fn deliver(&self) {
        if self.delivering.replace(true) {
            return;
        }
        loop {
            let next = self.with(|inner| {
                let note = inner.notes.pop_front()?;
                let closed = matches!(note, Note::Closed(_));
                let target = if closed {
                    inner.target.take()?
                } else {
                    inner.target.clone()?
                };
                Some((target, note))
            });
            match next {
                Some(Some((target, note))) => target.deliver(note),
                _ => break,
            }
        }
        self.delivering.set(false);
    }
}

/// The checked `extraHeaders` of `settings` as the XHR takes them, or `undefined` for none.
fn header_array(settings: &Settings) -> Result<JsValue, Error> {
    if settings.headers.is_empty() {
        return Ok(JsValue::UNDEFINED);
    }
    // Only XHR polling carries them: with nothing but JSONP or XDR-style polling to try, they
    // would silently never be sent. (A WebSocket cannot carry them either, but socket.io-client
    // takes them with `["websocket"]` too, for its Node.js transport: no error there.)
    let t = &settings.engine.transports;
    if t.iter()
        .all(|t| matches!(t, Transport::JsonpPolling | Transport::XdrPolling))
    {
        return Err(Error::invalid(
            "extraHeaders go on XHR polling requests only: jsonp-polling and xdr-polling cannot carry them (add \"polling\" to the transports)",
        ));
    }
    let out = Array::new();
    for (name, value) in &settings.headers {
        crate::protocol::headers::validate_header(name, value).map_err(|e| {
            Error::invalid(crate::error::concat(&[
                "option `extraHeaders`: ",
                e.message(),
            ]))
        })?;
        out.push(&JsValue::from_str(name));
        out.push(&JsValue::from_str(value));
    }
    Ok(out.into())
}

impl<F: Face> Inner<F> {
    /// The time the state machines are given. Within a turn (one entry through
    /// [`Shared::with`], which runs no page code) the clock is read once: every step of the turn
    /// sees the same instant. Outside a turn, a fresh reading each time. Each reading is kept in
    /// `last`, given where a time is only read on a path not taken (an emit without ack, a
    /// WebSocket send the browser took), so that a received message, an emit and a send read no
    /// clock at all.
    fn now(&self) -> u64 {
        if let Some(t) = self.clock.get() {
            return t;
        }
        let t = now();
        if self.in_turn.get() {
            self.clock.set(Some(t));
        }
        self.last.set(t);
        t
    }

    /// Opens the connection (socket.io-client's `manager.open()`) if it is not open or
    /// opening; `target` is the face the notes go to. Starts a new engine when the last one
    /// was closed. (The JavaScript manager's; the Rust facade opens with its first namespace.)
    #[cfg(feature = "js")]
    pub(crate) fn open(&mut self, target: F) -> Result<(), Error> {
        self.renew()?;
        self.go(target);
        Ok(())
    }

    /// Connects namespace `nsp` with `auth` (a JSON object's text), opening the connection
    /// if it is not open or opening (with a new engine when the last one was closed).
    pub(crate) fn connect(
        &mut self,
        nsp: &str,
        auth: Option<F::Args>,
        target: F,
    ) -> Result<(), Error> {
        self.renew()?;
        self.client.connect(nsp, auth)?;
        self.go(target);
        Ok(())
    }

    /// Connects the (renewed) engine, unless it is connected or connecting, with notes going
    /// to `target`.
    fn go(&mut self, target: F) {
        self.target = Some(target);
        self.engine.connect(self.now());
        self.pump();
    }

    /// A new engine in place of one closed or closing.
    fn renew(&mut self) -> Result<(), Error> {
        if self.dead {
            return Err(Error::invalid("the Socket.IO manager was freed"));
        }
        if self.closing || self.engine.is_closed() {
            let engine = new_engine(&self.settings, self.websocket_worked)?;
            if !self.engine.is_closed() {
                self.client
                    .handle_engine_closed(self.now(), CloseReason::Client, false);
            }
            self.engine = engine;
            self.links.clear();
            self.closing = false;
        }
        Ok(())
    }

    /// New reconnection and open-timeout settings (socket.io-client's manager setters): for
    /// this engine from its next attempt or loss, and for the engines after it.
    #[cfg(feature = "js")]
    pub(crate) fn retune(
        &mut self,
        reconnect: Option<crate::protocol::session::Reconnect>,
        open_timeout_ms: u32,
    ) {
        self.engine.retune(reconnect.clone(), open_timeout_ms);
        self.settings.engine.reconnect = reconnect;
        self.settings.engine.open_timeout_ms = open_timeout_ms;
    }

    /// Leaves `nsp`; the engine closes when no namespace is left (as socket.io-client's
    /// manager does).
    pub(crate) fn disconnect(&mut self, nsp: &str) {
        self.client.disconnect(nsp);
        // The DISCONNECT goes out before the engine's close packet: a closing engine refuses
        // sends (which surfaced as an error note on every last disconnect).
        self.pump();
        if self.client.is_idle() && !self.closing {
            self.closing = true;
            self.engine.close(self.now());
        }
        self.pump();
    }

    /// Closes the engine: every namespace disconnects ("io client disconnect").
    pub(crate) fn close(&mut self) {
        if !self.closing {
            self.closing = true;
            self.engine.close(self.now());
        }
        self.pump();
    }

    /// Emits on `nsp`. Fails for a namespace not active, a full buffer, or a message larger
    /// than the server's `maxPayload` (checked here, before it is given an ack id).
    pub(crate) fn emit(&mut self, nsp: &str, args: F::Args, how: Emit) -> Result<Emitted, Error> {
        self.check_size(nsp, &args)?;
        // The client reads the time only for an ack's deadline: no clock reading otherwise.
        let now = if how.ack { self.now() } else { self.last.get() };
        let result = self.client.emit(now, nsp, args, how);
        self.pump();
        result
    }

    /// Answers the server's event `id` on `nsp`.
    pub(crate) fn ack(&mut self, nsp: &str, id: u64, args: F::Args) -> Result<(), Error> {
        self.check_size(nsp, &args)?;
        let result = self.client.ack(nsp, id, args);
        self.pump();
        result
    }

    /// The transport of the open connection.
    #[cfg(feature = "js")]
    pub(crate) fn transport(&self) -> Option<&'static str> {
        self.engine.transport().map(Transport::name)
    }

    /// The transport of the open connection, by kind.
    pub(crate) fn transport_kind(&self) -> Option<Transport> {
        self.engine.transport()
    }

    /// Releases every browser resource at once (the JS object was freed).
    pub(crate) fn shutdown(&mut self) {
        self.dead = true;
        self.links.clear();
        self.timer = None;
        self.notes.clear();
        self.target = None;
    }

    fn check_size(&self, nsp: &str, args: &F::Args) -> Result<(), Error> {
        let args = F::js(args);
        let Some(max) = self.engine.handshake().map(|h| h.max_payload) else {
            return Ok(());
        };
        let websocket = self.engine.transport() == Some(Transport::WebSocket);
        // The header: type, attachment count, namespace, ack id.
        let head = 2 + 11 + nsp.len() + 21;
        let fits = |n: usize| n.saturating_add(head) as u64 <= max;
        if !fits(args.size.at_most()) && !fits(args.size.get(&args.value)) {
            return Err(too_large());
        }
        for n in args.attachment_bytes() {
            let encoded = if websocket {
                n
            } else {
                1 + engineio::base64_len(n as usize) as u64
            };
            if encoded > max {
                return Err(too_large());
            }
        }
        Ok(())
    }

    fn handle(&mut self, input: Input) {
        if self.dead {
            return;
        }
        match input {
            Input::Polled(id, Ok(body)) => match decode_payload(&body) {
                Ok(packets) => self.engine.handle_poll(self.now(), id, packets),
                Err(e) => self.engine.handle_poll_failed(self.now(), id, e),
            },
            Input::Polled(id, Err(e)) => self.engine.handle_poll_failed(self.now(), id, e),
            Input::Sent(id, result) => self.engine.handle_send_done(self.now(), id, result),
            Input::WsOpen(id) => self.engine.handle_ws_open(self.now(), id),
            // A message on the open WebSocket is taken without reading the clock
            // (`Engine::handle_message`): at thousands of frames a second, the reading is a
            // good part of the driver's own cost per frame.
            Input::WsMessage(id, data) => match decode_frame(data) {
                Ok(Packet::Message(m)) => {
                    if let Err(m) = self.engine.handle_message(id, m) {
                        self.engine
                            .handle_packet(self.now(), id, Packet::Message(m));
                    }
                }
                Ok(packet) => self.engine.handle_packet(self.now(), id, packet),
                Err(e) => self.engine.handle_malformed(self.now(), id, e),
            },
            Input::WsClosed(id, error) => {
                self.engine.handle_transport_closed(self.now(), id, error)
            }
            Input::Timer => {
                let now = self.now();
                self.timer = None;
                self.engine.handle_timeout(now);
                self.client.handle_timeout(now);
            }
        }
        self.pump();
    }

    /// Runs both machines until neither has anything left to do, then re-arms the timer.
    fn pump(&mut self) {
        if self.dead {
            return;
        }
        loop {
            let mut progressed = false;
            while let Some(out) = self.client.poll_transmit() {
                progressed = true;
                self.transmit(out);
            }
            while let Some(action) = self.engine.poll_action() {
                progressed = true;
                self.act(action);
            }
            while let Some(event) = self.engine.poll_event() {
                progressed = true;
                self.engine_event(event);
            }
            while let Some(event) = self.client.poll_event() {
                progressed = true;
                self.client_event(event);
            }
            if !progressed {
                break;
            }
        }
        self.arm_timer();
    }

    fn arm_timer(&mut self) {
        let due = match (self.engine.poll_timeout(), self.client.poll_timeout()) {
            (Some(a), Some(b)) => a.min(b),
            (a, b) => match a.or(b) {
                Some(d) => d,
                None => {
                    self.timer = None;
                    return;
                }
            },
        };
        // An armed timer that fires no later than needed stays: an early firing finds nothing
        // due and re-arms.
        if self.timer.as_ref().is_some_and(|(at, _)| *at <= due) {
            return;
        }
        let delay =
            u32::try_from(due.saturating_sub(self.now()).saturating_add(1)).unwrap_or(u32::MAX);
        let sink = self.sink.clone();
        self.timer = Some((due, Timeout::new(delay, move || sink.input(Input::Timer))));
    }

    fn send_text(&mut self, text: &str) -> Result<(), Error> {
        self.engine.send(JsMsg::text(
            JsValue::from_str(text),
            Utf8Size::exact(text.len()),
        ))
    }

    fn transmit(&mut self, out: Outgoing<F::Args>) {
        let header = out.header();
        let result = match out {
            Outgoing::Connect {
                nsp,
                auth,
                recovery,
            } => {
                let auth =
                    auth.map(|a| Payload::text(F::js(&a).value.as_string().unwrap_or_default()));
                socketio::encode(&Outgoing::Connect {
                    nsp,
                    auth,
                    recovery,
                })
                .and_then(|messages| self.send_data(messages))
            }
            Outgoing::Disconnect { nsp } => socketio::encode(&Outgoing::Disconnect { nsp })
                .and_then(|messages| self.send_data(messages)),
            Outgoing::Event { args, .. } | Outgoing::Ack { args, .. } => {
                self.send_args(&header, args)
            }
        };
        if let Err(e) = result {
            self.notes.push_back(Note::Error(e));
        }
    }

    fn send_data(&mut self, messages: Vec<Data>) -> Result<(), Error> {
        for message in messages {
            if let Data::Text(text) = message {
                self.send_text(&text)?;
            }
        }
        Ok(())
    }

    fn send_args(&mut self, header: &Header, args: F::Args) -> Result<(), Error> {
        let args = F::js(&args);
        let mut text = String::new();
        header.encode(&mut text);
        // The header is ASCII: its bytes are its units.
        let size = match args.size.known() {
            Some(n) => Utf8Size::exact(text.len() + n),
            None => Utf8Size::units(text.len() + args.size.units),
        };
        let head = match &self.header {
            Some((last, js)) if *last == text => js.clone(),
            _ => {
                let js = JsString::from(text.as_str());
                self.header = Some((text, js.clone()));
                js
            }
        };
        let value = head.concat(&args.value);
        self.engine.send(JsMsg::text(value.into(), size))?;
        if let Some(bins) = &args.bins {
            for bin in bins.iter() {
                self.engine.send(JsMsg::binary(bin))?;
            }
        }
        Ok(())
    }

    fn link(&mut self, id: TransportId) -> &mut Link {
        let i = match self.links.iter().position(|l| l.id == id) {
            Some(i) => i,
            None => {
                self.links.push(Link {
                    id,
                    ws: None,
                    frame: None,
                    poll: None,
                    send: None,
                });
                self.links.len() - 1
            }
        };
        &mut self.links[i]
    }

    fn act(&mut self, action: Action<JsMsg>) {
        match action {
            Action::Poll { id, transport, url } => self.poll(id, transport, url),
            Action::OpenWebSocket { id, url } => self.open_websocket(id, &url),
            Action::Send {
                id,
                transport,
                url,
                packets,
            } => self.send(id, transport, url, packets),
            Action::CloseTransport { id } => self.links.retain(|l| l.id != id),
        }
    }

    /// Starts a polling request of `transport` (XHR or XDR-style) with the manager's headers.
    fn exchange(
        &self,
        method: &str,
        url: &str,
        body: &JsValue,
        transport: Transport,
    ) -> Result<Exchange, Error> {
        let mode = if transport == Transport::XdrPolling {
            Mode::Xdr
        } else {
            Mode::Cors(self.settings.credentials)
        };
        Exchange::start_with_headers(method, url, body, mode, &self.headers, false, None, 0)
    }

    fn poll(&mut self, id: TransportId, transport: Transport, url: String) {
        let sink = self.sink.clone();
        let pending = if transport == Transport::JsonpPolling {
            if let Err(e) = crate::security::check_jsonp_url(&url, None) {
                return self.engine.handle_poll_failed(self.now(), id, e);
            }
            let frame = match self.link(id).frame.clone() {
                Some(frame) => frame,
                None => match ScriptFrame::new() {
                    Ok(frame) => {
                        let frame = Rc::new(frame);
                        self.link(id).frame = Some(frame.clone());
                        frame
                    }
                    Err(e) => return self.engine.handle_poll_failed(self.now(), id, e),
                },
            };
            let index = self.settings.engine.jsonp_index;
            let poll = Cancel(jsonp_poll(frame.window(), &url, index));
            let done = poll.0.done();
            Pending::new(&done, move |outcome| {
                drop((poll, frame));
                let result = match outcome.dyn_into::<JsString>() {
                    Ok(payload) => Ok(payload),
                    Err(other) => Err(match other.as_f64() {
                        Some(0.0) => Error::network(
                            "JSONP poll script failed to load (network error, HTTP error or blocked)",
                        ),
                        Some(_) => Error::protocol("JSONP poll did not call back with a payload"),
                        None => Error::abort("JSONP poll was cancelled"),
                    }),
                };
                sink.input(Input::Polled(id, result));
            })
        } else {
            // No timeout of its own: the engine's deadlines bound a silent poll.
            match self.exchange("GET", &url, &JsValue::NULL, transport) {
                Ok(exchange) => exchange.on_finish(move |result| {
                    sink.input(Input::Polled(id, result.map(Exchange::body)))
                }),
                Err(e) => return self.engine.handle_poll_failed(self.now(), id, e),
            }
        };
        self.link(id).poll = Some(pending);
    }

    fn open_websocket(&mut self, id: TransportId, url: &str) {
        let sink = self.sink.clone();
        let on = Rc::new(move |raw| match raw {
            Raw::Open => sink.input(Input::WsOpen(id)),
            Raw::Message(data) => sink.input(Input::WsMessage(id, data)),
            Raw::Close(info) => sink.input(Input::WsClosed(
                id,
                (info.code != 1000).then(|| Error::network("the WebSocket closed")),
            )),
            Raw::Error => {}
        });
        match Conn::connect_with(url, &[], on) {
            Ok(conn) => self.link(id).ws = Some(conn),
            Err(e) => self.engine.handle_transport_closed(self.now(), id, Some(e)),
        }
    }

    fn send(
        &mut self,
        id: TransportId,
        transport: Transport,
        url: Option<String>,
        packets: Vec<Packet<JsMsg>>,
    ) {
        if transport == Transport::WebSocket {
            // One frame per packet, each straight to the socket.
            let ws = self
                .links
                .iter()
                .find(|l| l.id == id)
                .and_then(|l| l.ws.as_ref());
            let ok = ws.is_some_and(|ws| {
                packets
                    .into_iter()
                    .all(|packet| match packet_parts(packet) {
                        Some((kind, value)) => ws_send(ws.raw(), u32::from(kind), &value),
                        None => true,
                    })
            });
            // The engine reads the time only for a failure: no clock reading per frame sent.
            return if ok {
                self.engine.handle_send_done(self.last.get(), id, Ok(()))
            } else {
                let error = Error::network("the WebSocket refused the send");
                self.engine.handle_send_done(self.now(), id, Err(error))
            };
        }
        let mut prefixes = String::with_capacity(packets.len());
        let values = Array::new();
        for (kind, value) in packets.into_iter().filter_map(packet_parts) {
            prefixes.push(char::from(kind));
            values.push(&value);
        }
        let Some(url) = url else {
            return self.engine.handle_send_done(
                self.now(),
                id,
                Err(Error::invalid("no URL to POST to")),
            );
        };
        let body = join(&prefixes, &values);
        let sink = self.sink.clone();
        let pending = if transport == Transport::JsonpPolling {
            let form = JsString::from(engineio::jsonp_post_body(&String::from(body)).as_str());
            post_no_cors(&url, &form, move |result| {
                sink.input(Input::Sent(id, result))
            })
        } else {
            match self.exchange("POST", &url, &body, transport) {
                Ok(exchange) => {
                    exchange.on_finish(move |result| sink.input(Input::Sent(id, result.map(drop))))
                }
                Err(e) => return self.engine.handle_send_done(self.now(), id, Err(e)),
            }
        };
        self.link(id).send = Some(pending);
    }

    fn engine_event(&mut self, event: engineio::Event<JsMsg>) {
        use engineio::Event as E;
        match event {
            E::Open { transport, .. } => {
                if transport.is_polling()
                    && self.engine.ladder().first() == Some(&Transport::WebSocket)
                {
                    // Remembered, but the WebSocket did not open this time.
                    self.websocket_worked = false;
                }
                self.reassembly = Reassembly::new(socketio::DEFAULT_MAX_ATTACHMENTS);
                self.client.handle_engine_open(self.now());
                self.notes.push_back(Note::Open(transport));
            }
            E::Message(message) => self.incoming(message),
            E::Upgraded(transport) => {
                self.websocket_worked = true;
                self.notes.push_back(Note::Upgrade(transport));
            }
            E::UpgradeFailed(_) => {}
            E::Error(e) | E::Rejected { error: e, .. } => self.notes.push_back(Note::Error(e)),
            E::Disconnected { reason, .. } => {
                self.client.handle_engine_closed(self.now(), reason, false);
                // The namespaces' disconnect notes before the reconnect attempt's.
                while let Some(event) = self.client.poll_event() {
                    self.client_event(event);
                }
            }
            E::Reconnecting { attempt, .. } => {
                self.notes.push_back(Note::ReconnectAttempt(attempt))
            }
            E::Closed { reason, .. } => {
                self.client.handle_engine_closed(self.now(), reason, true);
                // The namespaces' disconnect notes come first; then the manager lets go.
                while let Some(event) = self.client.poll_event() {
                    self.client_event(event);
                }
                self.notes.push_back(Note::Closed(reason));
            }
        }
    }

    fn incoming(&mut self, message: JsMsg) {
        let complete = if message.binary {
            self.reassembly.binary(message.value)
        } else {
            // Every received text message was split (`decode_head`); the header after the
            // Engine.IO type is Socket.IO's.
            let head = message.head.as_deref().unwrap_or_default();
            match socketio::parse_header(head.get(1..).unwrap_or_default()) {
                Ok((header, _)) => {
                    let json = message.value;
                    if header.attachments > 0 {
                        self.reassembly.text(header, json)
                    } else {
                        Ok(Some((header, json, Vec::new())))
                    }
                }
                Err(e) => Err(e),
            }
        };
        match complete.and_then(|c| match c {
            Some((header, json, bins)) => decode_incoming::<F>(header, json, bins).map(Some),
            None => Ok(None),
        }) {
            Ok(Some(packet)) => self.client.handle_packet(packet),
            Ok(None) => {}
            Err(e) => self.notes.push_back(Note::Error(e)),
        }
    }

    fn client_event(&mut self, event: socketio::Event<F::Args>) {
        use socketio::Event as C;
        // The server ended or refused a namespace: with none left, the connection closes, as
        // socket.io-client's manager closes once its last socket is destroyed (a later
        // `connect()` opens a new one). Otherwise it would stay open and ping for nothing.
        let ended = matches!(
            event,
            C::ConnectError { .. }
                | C::Disconnect {
                    reason: socketio::DisconnectReason::Server,
                    ..
                }
        );
        self.notes.push_back(match event {
            C::Connect {
                nsp,
                sid,
                recovered,
            } => Note::Connect {
                nsp,
                sid,
                recovered,
            },
            C::ConnectError { nsp, message, data } => Note::ConnectError { nsp, message, data },
            C::Disconnect { nsp, reason } => Note::Disconnect { nsp, reason },
            C::Event { nsp, args, ack } => Note::Event { nsp, args, ack },
            C::Ack { nsp, id, args } => Note::Ack { nsp, id, args },
            C::AckFailed { nsp, id, error } => Note::AckFailed { nsp, id, error },
        });
        if ended && self.client.is_idle() && !self.closing {
            self.closing = true;
            self.engine.close(self.now());
        }
    }
}

/// A Socket.IO packet complete with its attachments, as the client machine takes it: the
/// CONNECT family read in Rust (small JSON), event and ack arguments as the face holds them.
fn decode_incoming<F: Face>(
    header: Header,
    json: JsValue,
    bins: Vec<JsValue>,
) -> Result<Incoming<F::Args>, Error> {
    let kind = header.kind;
    if matches!(
        kind,
        PacketType::Connect | PacketType::ConnectError | PacketType::Disconnect
    ) {
        let text = json.as_string().unwrap_or_default();
        // These carry no arguments: the closure is never called.
        return socketio::incoming(header, &text, |_| F::no_args());
    }
    let is_event = matches!(kind, PacketType::Event | PacketType::BinaryEvent);
    let args = F::decode(json, bins, is_event)?;
    let nsp = header.nsp;
    if is_event {
        return Ok(Incoming::Event {
            nsp,
            id: header.id,
            args,
        });
    }
    match header.id {
        Some(id) => Ok(Incoming::Ack { nsp, id, args }),
        None => Err(Error::protocol("Socket.IO: an ACK without an id")),
    }
}

/// A packet to send as its type (`b'1'`..`b'6'`, or `b'b'` for binary data) and its value
/// (undefined when the type says it all); `None` for the handshake, which a client never sends.
fn packet_parts(packet: Packet<JsMsg>) -> Option<(u8, JsValue)> {
    let probe = |p: bool| {
        if p {
            JsValue::from_str("probe")
        } else {
            JsValue::UNDEFINED
        }
    };
    Some(match packet {
        Packet::Open(_) => return None,
        Packet::Close => (b'1', JsValue::UNDEFINED),
        Packet::Ping(p) => (b'2', probe(p)),
        Packet::Pong(p) => (b'3', probe(p)),
        Packet::Message(m) => (if m.binary { b'b' } else { b'4' }, m.value),
        Packet::Upgrade => (b'5', JsValue::UNDEFINED),
        Packet::Noop => (b'6', JsValue::UNDEFINED),
    })
}

/// One Engine.IO text packet of a polling payload (`polling`) or a WebSocket frame, as
/// `frameHead` split it: `head` is the whole packet, or for a message its type and Socket.IO
/// header (the JSON taken with `frameRest`), or for base64 binary "b" (the base64 taken so).
fn decode_head(head: String, polling: bool) -> Result<Packet<JsMsg>, Error> {
    Ok(match head.as_bytes().first() {
        Some(b'0') => Packet::Open(head.get(1..).unwrap_or_default().to_owned()),
        Some(b'1') => Packet::Close,
        Some(b'2') => Packet::Ping(head == "2probe"),
        Some(b'3') => Packet::Pong(head == "3probe"),
        Some(b'4') => Packet::Message(JsMsg::received(head, frame_rest())),
        Some(b'5') => Packet::Upgrade,
        Some(b'6') => Packet::Noop,
        Some(b'b') if polling => {
            let value = from_base64(frame_rest().unchecked_ref());
            if value.is_null() {
                return Err(Error::protocol("Engine.IO: a binary packet is not base64"));
            }
            Packet::Message(JsMsg::binary(value))
        }
        _ => return Err(Error::protocol("Engine.IO: unknown packet type")),
    })
}

fn decode_payload(body: &JsString) -> Result<Vec<Packet<JsMsg>>, Error> {
    if body.length() == 0 {
        return Err(Error::protocol("Engine.IO: an empty polling payload"));
    }
    // A plain loop: collecting into a `Result` costs 0.4 KB of wasm.
    let segments = split(body);
    let mut out = Vec::new();
    for i in 0..segments.length() {
        let head = frame_head(&segments.get(i)).unwrap_or_default();
        out.push(decode_head(head, true)?);
    }
    Ok(out)
}

fn decode_frame(data: JsValue) -> Result<Packet<JsMsg>, Error> {
    match frame_head(&data) {
        Some(head) => decode_head(head, false),
        None => Ok(Packet::Message(JsMsg::binary(data))),
    }
}
