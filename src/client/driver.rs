//! The driver: owns the browser objects of one socket and its one timer, feeds the
//! [`Session`] state machine and carries out its actions.
//!
//! The driver decides nothing of the protocol: which transports to try when `/info` fails,
//! which close code a failure means and which session id goes into a URL are the session's
//! (tested natively in `cometkit-protocol`); the driver reports what the browser said and
//! carries out the session's actions.
//!
//! Every browser callback (a WebSocket message, a finished request, the timer) calls straight
//! into [`Shared::input`] on the browser's own stack: the input goes to the session, the
//! session's actions are carried out ([`Inner::pump`]), and its events are delivered at once
//! ([`Shared::deliver`]): dispatched to the JavaScript `Socket`'s listeners, or queued for the
//! Rust [`Stream`](futures_util::Stream) reader and its waker woken. No channel and no task sit
//! between a frame and its listeners.
//!
//! Batching: while a browser callback is handled, what its listeners send is held
//! ([`Session::hold_sends`]) and leaves as one payload when it is over; a JavaScript caller
//! outside it has the sends that follow the first of a task held until a microtask
//! ([`Shared::send_from_js`]). The clock is read once per callback ([`Inner::now`]).
//!
//! Re-entrancy: events are delivered only after the state's borrow is released, so listeners
//! may call `send` or `close`. An input that arrives while the state is borrowed (a browser
//! object firing an event synchronously while the driver closes it) is parked in
//! [`Shared::deferred`] and handled by the borrower before it lets go. A delivery that starts
//! while another is running up the stack leaves the events to it, so events never nest.
//!
//! Ownership: [`Inner`] owns the `/info` request, the active transport (its WebSocket or its
//! [`Receiver`] loop, its payload POST) and the timer; dropping them releases every XHR,
//! script, iframe, EventSource and WebSocket. Requests and polls are not futures: each is a
//! [`Pending`] callback on the browser operation's own promise, and a receiving loop starts
//! the next request from the callback of the one before. No task or executor is involved.
//! Browser callbacks hold the state only weakly.

use std::any::Any;
use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::{Rc, Weak};
use std::task::{Poll, Waker};

use gloo_timers::callback::Timeout;
use js_sys::JsString;

use crate::client::codec::JsMessage;
use wasm_bindgen::JsValue;

use crate::protocol::ladder::TransportKind;
use crate::protocol::session::{Action, Event, OpId, ReadyState, Session};
use crate::transport::pending::Pending;
use crate::transport::websocket::Conn;
use crate::Error;

use super::{codec, eventsource, http, jsonp, websocket};

/// The session as the browser driver holds it: messages are JavaScript strings.
pub(crate) type JsSession = Session<JsMessage>;
/// An event of [`JsSession`].
pub(crate) type JsEvent = Event<JsMessage>;

fn closed() -> Error {
    Error::invalid("send: the socket is closed")
}

/// A receiving loop (requests, polls or EventSources one after another, each started when the
/// one before ends): its state, held only here. Dropping it ends the loop and releases what is
/// in flight; the loop's browser callbacks hold the state weakly.
pub(crate) struct Receiver(#[allow(dead_code)] Rc<dyn Any>);

impl Receiver {
    pub(crate) fn new(state: Rc<dyn Any>) -> Receiver {
        Receiver(state)
    }
}

/// News from the browser for the session.
pub(crate) enum Input {
    Info(OpId, Result<String, Error>),
    /// A frame as a JavaScript string.
    Frame(OpId, JsValue),
    /// The transport ended with a close code of its own (a WebSocket close).
    Closed(OpId, u16, Cow<'static, str>),
    /// The transport failed; the session chooses the close code.
    Failed(OpId, Error),
    /// A POST (or JSONP send) ended: delivered, or the error (an HTTP status among them).
    SendDone(OpId, Result<(), Error>),
    Timer,
}

/// Where transports report [`Input`]s: straight into the state, if the socket still exists.
#[derive(Clone)]
pub(crate) struct Sink(Weak<Shared>);

impl Sink {
    fn input(&self, input: Input) {
        if let Some(shared) = self.0.upgrade() {
            shared.input(input);
        }
    }

    pub(crate) fn info(&self, id: OpId, result: Result<String, Error>) {
        self.input(Input::Info(id, result));
    }

    /// A frame that arrived as a JavaScript string (WebSocket message data).
    pub(crate) fn frame(&self, id: OpId, frame: JsValue) {
        self.input(Input::Frame(id, frame));
    }

    /// A frame the transport read as Rust text (XHR, EventSource and JSONP receivers).
    pub(crate) fn frame_str(&self, id: OpId, frame: &str) {
        self.input(Input::Frame(id, JsValue::from_str(frame)));
    }

    pub(crate) fn closed(&self, id: OpId, code: u16, reason: impl Into<Cow<'static, str>>) {
        self.input(Input::Closed(id, code, reason.into()));
    }

    /// The transport failed with `err` (the session turns it into a close code and reason).
    pub(crate) fn failed(&self, id: OpId, err: Error) {
        self.input(Input::Failed(id, err));
    }

    /// The URL of transport `id`'s next receiving request (see
    /// [`Session::receive_url`](crate::protocol::session::Session::receive_url)); `None` once
    /// `id` is not the current transport, or the socket is gone. `first` (the transport's URL)
    /// if the state is busy up the stack, which a request's callback never finds (the first
    /// request's URL is taken from the session directly, inside the driver).
    pub(crate) fn receive_url(&self, id: OpId, first: &str) -> Option<String> {
        let shared = self.0.upgrade()?;
        shared
            .with(|inner| inner.session.receive_url(id))
            .unwrap_or_else(|| Some(first.to_owned()))
    }

    pub(crate) fn send_done(&self, id: OpId, result: Result<(), Error>) {
        self.input(Input::SendDone(id, result));
    }
}

/// Settings the driver needs beyond the session's [`Config`](crate::protocol::session::Config).
pub(crate) struct Settings {
    /// Send cookies with the CORS XHR requests and the EventSource.
    pub(crate) with_credentials: bool,
}

/// Dispatches one event on a JavaScript target.
pub(crate) type Deliver = fn(&JsValue, JsEvent);

/// Where events go.
pub(crate) enum Output {
    /// To a Rust reader ([`Inner::next_event`]), woken when there are some.
    Stream(Option<Waker>),
    /// To a JavaScript `Socket` through `deliver` (`js/socket.js`). `target` is held strongly
    /// until the close event has been delivered: an open socket stays alive while only its
    /// listeners reference it, as a native WebSocket does.
    #[cfg_attr(not(feature = "js"), allow(dead_code))]
    Js {
        target: Option<JsValue>,
        deliver: Deliver,
    },
}

/// The transport the session is trying or using.
struct Active {
    id: OpId,
    kind: TransportKind,
    send_url: Option<String>,
    /// The receiving side: a request loop or the EventSource reader (none for WebSocket).
    _receiver: Option<Receiver>,
    /// The WebSocket (WebSocket transport only); closed when dropped.
    ws: Option<Conn>,
    /// The payload POST in flight, if any.
    sender: Option<Pending>,
}

/// The state of one socket and what arrived while it was borrowed; see the module docs.
pub(crate) struct Shared {
    pub(crate) inner: RefCell<Inner>,
    deferred: RefCell<VecDeque<Input>>,
    delivering: Cell<bool>,
    /// Browser callbacks (inputs) on the stack; see [`Inner::now`].
    depth: Cell<u32>,
}

/// The state of one socket; see the module docs.
pub(crate) struct Inner {
    session: JsSession,
    sink: Sink,
    settings: Settings,
    info: Option<(OpId, Option<Pending>)>,
    active: Option<Active>,
    /// The armed timer and the session deadline it stands for.
    timer: Option<(u64, Timeout)>,
    /// Events not yet delivered, in order.
    events: VecDeque<JsEvent>,
    output: Output,
    /// A Rust sender waiting for room in the queue or for it to drain (`Sink`), woken by
    /// every pump.
    sender: Option<Waker>,
    /// The close event was delivered: the socket is fully closed.
    close_taken: bool,
    /// The socket was dropped or freed: nothing may start any more.
    dead: bool,
    /// The clock as read once for the browser callback being handled; see [`Inner::now`].
    clock: Option<u64>,
}

use crate::transport::page::now_ms as now;

impl Shared {
    /// A driver for `session`, connecting at once; events go to `output`.
    pub(crate) fn start(session: JsSession, settings: Settings, output: Output) -> Rc<Shared> {
        let shared = Rc::new_cyclic(|weak: &Weak<Shared>| Shared {
            inner: RefCell::new(Inner {
                session,
                sink: Sink(weak.clone()),
                settings,
                info: None,
                active: None,
                timer: None,
                events: VecDeque::new(),
                output,
                sender: None,
                close_taken: false,
                dead: false,
                clock: None,
            }),
            deferred: RefCell::new(VecDeque::new()),
            delivering: Cell::new(false),
            depth: Cell::new(0),
        });
        shared.with(|inner| {
            let now = inner.now();
            inner.session.connect(now);
            inner.pump();
        });
        shared
    }

    /// Runs `f` on the state, then handles whatever arrived meanwhile. `None` when the state
    /// is already borrowed up the stack (a call from inside the socket's own machinery).
    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut Inner) -> R) -> Option<R> {
        let mut inner = self.inner.try_borrow_mut().ok()?;
        let result = f(&mut inner);
        loop {
            let next = self.deferred.borrow_mut().pop_front();
            match next {
                Some(input) => inner.handle(input),
                None => break,
            }
        }
        if self.depth.get() == 0 {
            inner.clock = None;
        }
        Some(result)
    }

    /// One input from the browser, then delivery of the events it caused.
    /// What the listeners send meanwhile is held (see [`send_from_js`](Self::send_from_js))
    /// and leaves as one payload at the end.
    fn input(&self, input: Input) {
        let outer = self.depth.get() == 0;
        self.depth.set(self.depth.get() + 1);
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
        self.depth.set(self.depth.get() - 1);
        if !outer {
            return;
        }
        // The callback is over: the next one reads the clock again.
        let held = self.inner.try_borrow_mut().is_ok_and(|mut inner| {
            let held = inner.session.holding_sends();
            if !held {
                inner.clock = None;
            }
            held
        });
        if held {
            // Its `with`, at depth 0, lets the clock go.
            self.flush();
        }
    }

    /// Sends what is held, then delivers the events that causes.
    pub(crate) fn flush(&self) {
        self.with(|inner| inner.release_sends());
        self.deliver();
    }

    /// [`Inner::send`] for a JavaScript caller, who tells whether the message `follows`
    /// another sent in the same task. Sends are held (see [`Session::hold_sends`]) while this
    /// socket handles a browser callback, until its end ([`input`](Self::input)): what the
    /// listeners of a frame send leaves as one payload. Otherwise the first send of a task
    /// leaves at once and the ones after it are held until the caller's
    /// [`flush`](Self::flush) when the task's code is done: a lone message waits for
    /// nothing, and a burst leaves as one payload. `Ok(true)`: the caller must call `flush`
    /// then. `None` when the state is borrowed up the stack.
    #[cfg_attr(not(feature = "js"), allow(dead_code))]
    pub(crate) fn send_from_js(
        &self,
        message: JsMessage,
        follows: bool,
    ) -> Option<Result<bool, Error>> {
        let nested = self.depth.get() > 0;
        self.with(|inner| {
            let hold = (follows || nested) && !inner.session.holding_sends();
            if hold {
                inner.session.hold_sends();
            }
            match inner.send(message) {
                // Inside a callback its end releases the hold.
                Ok(()) => Ok(hold && !nested || inner.has_events()),
                Err(e) => {
                    if hold {
                        inner.release_sends();
                    }
                    Err(e)
                }
            }
        })
    }

    /// Delivers the pending events: dispatched now to JavaScript listeners, or the Rust
    /// reader woken.
    pub(crate) fn deliver(&self) {
        if self.delivering.replace(true) {
            return;
        }
        loop {
            let next = self.with(|inner| inner.next_for_js());
            match next {
                Some(Some((deliver, target, event))) => deliver(&target, event),
                _ => break,
            }
        }
        self.delivering.set(false);
    }
}

impl Inner {
    /// The driver's clock, read at most once per browser callback: the frame, the events it
    /// causes and whatever their listeners send all happen at one instant for the session
    /// (listeners run for far less than its deadlines' resolution matters; a stale reading
    /// only makes a deadline earlier). Reading `performance.now()` is a call into JavaScript.
    fn now(&mut self) -> u64 {
        *self.clock.get_or_insert_with(now)
    }

    pub(crate) fn session(&self) -> &JsSession {
        &self.session
    }

    pub(crate) fn take_unsent(&mut self) -> Vec<JsString> {
        self.session
            .take_unsent()
            .into_iter()
            .map(|m| m.0)
            .collect()
    }

    /// The state, with `Closing` until the close event has been delivered.
    pub(crate) fn ready_state(&self) -> ReadyState {
        match self.session.ready_state() {
            ReadyState::Closing | ReadyState::Closed if self.close_taken => ReadyState::Closed,
            ReadyState::Closing | ReadyState::Closed => ReadyState::Closing,
            other => other,
        }
    }

    pub(crate) fn send(&mut self, message: JsMessage) -> Result<(), Error> {
        let result = self.session.send(message);
        self.pump();
        result
    }

    /// Ends [`Session::hold_sends`]: what was held goes out.
    fn release_sends(&mut self) {
        if self.dead || !self.session.holding_sends() {
            return;
        }
        let now = self.now();
        self.session.release_sends(now);
        self.pump();
    }

    pub(crate) fn close(&mut self, code: Option<u16>, reason: &str) -> Result<(), Error> {
        let result = self.session.close(code, reason);
        self.pump();
        result
    }

    /// Events are waiting to be delivered.
    #[cfg_attr(not(feature = "js"), allow(dead_code))]
    pub(crate) fn has_events(&self) -> bool {
        !self.events.is_empty()
    }

    /// The next event for a Rust reader, or `None` (and `waker` kept) when there is none yet.
    /// `Some(None)`: the stream has ended.
    pub(crate) fn next_event(&mut self, waker: &Waker) -> Option<Option<JsEvent>> {
        if let Some(event) = self.events.pop_front() {
            if matches!(event, Event::Close { .. }) {
                self.close_taken = true;
            }
            return Some(Some(event));
        }
        if self.close_taken || self.dead {
            return Some(None);
        }
        if let Output::Stream(slot) = &mut self.output {
            if !slot.as_ref().is_some_and(|w| w.will_wake(waker)) {
                *slot = Some(waker.clone());
            }
        }
        None
    }

    /// Ready when [`send`](Self::send) would accept one more message of `size`; fails once the
    /// socket is closed.
    pub(crate) fn poll_room(&mut self, size: usize, waker: &Waker) -> Poll<Result<(), Error>> {
        if self.dead
            || self.session.ready_state() != ReadyState::Connecting
                && self.session.ready_state() != ReadyState::Open
        {
            return Poll::Ready(Err(closed()));
        }
        if self.session.has_room(size) {
            return Poll::Ready(Ok(()));
        }
        self.sender = Some(waker.clone());
        Poll::Pending
    }

    /// Ready once every accepted message is confirmed delivered; fails when the socket closed
    /// with messages still unconfirmed (see [`take_unsent`](Self::take_unsent)).
    pub(crate) fn poll_drained(&mut self, waker: &Waker) -> Poll<Result<(), Error>> {
        if self.session.buffered_amount() == 0 {
            return Poll::Ready(Ok(()));
        }
        if self.dead
            || self.session.ready_state() != ReadyState::Connecting
                && self.session.ready_state() != ReadyState::Open
        {
            return Poll::Ready(Err(Error::network(
                "the socket closed before every message was delivered (take_unsent has them)",
            )));
        }
        self.sender = Some(waker.clone());
        Poll::Pending
    }

    /// The next event for the JavaScript target, with what delivers it. After the close event
    /// the target is let go.
    fn next_for_js(&mut self) -> Option<(Deliver, JsValue, JsEvent)> {
        let Output::Js { target, deliver } = &mut self.output else {
            return None;
        };
        let deliver = *deliver;
        let event = self.events.pop_front()?;
        let closing = matches!(event, Event::Close { .. });
        let target = if closing {
            self.close_taken = true;
            target.take()?
        } else {
            target.clone()?
        };
        Some((deliver, target, event))
    }

    /// Releases every browser resource at once: the socket handle is gone.
    pub(crate) fn shutdown(&mut self) {
        self.dead = true;
        self.active = None;
        self.info = None;
        self.timer = None;
        self.events.clear();
        self.output = Output::Stream(None);
        if let Some(sender) = self.sender.take() {
            sender.wake();
        }
    }

    fn handle(&mut self, input: Input) {
        if self.dead {
            return;
        }
        let now = self.now();
        match input {
            Input::Info(id, result) => {
                let current = self.info.as_ref().is_some_and(|(op, _)| *op == id);
                if current {
                    self.info = None;
                }
                match result {
                    Ok(body) => self.session.handle_info(now, id, &body),
                    Err(e) => self.session.handle_info_failed(now, id, e),
                }
            }
            Input::Frame(id, frame) => self.session.handle_frame(now, id, codec::decode(&frame)),
            Input::Closed(id, code, reason) => {
                self.session.handle_transport_closed(now, id, code, &reason)
            }
            Input::Failed(id, error) => self.session.handle_transport_failed(now, id, error),
            Input::SendDone(id, result) => {
                if let Some(active) = self.active.as_mut().filter(|a| a.id == id) {
                    active.sender = None;
                }
                match result {
                    Ok(()) => self.session.handle_send_done(now, id, true),
                    Err(e) => self.session.handle_send_failed(now, id, &e),
                }
            }
            Input::Timer => {
                // Re-armed by the pump, even when the session finds the call early.
                self.timer = None;
                self.session.handle_timeout(now);
            }
        }
        self.pump();
    }

    /// Executes the session's actions, collects its events, re-arms the timer.
    fn pump(&mut self) {
        if self.dead {
            return;
        }
        while let Some(action) = self.session.poll_action() {
            match action {
                Action::FetchInfo { id, url } => {
                    let pending =
                        http::fetch_info(id, url, self.settings.with_credentials, &self.sink);
                    self.info = Some((id, pending));
                }
                Action::CancelInfo { id } => {
                    if self
                        .info
                        .as_ref()
                        .is_some_and(|(current, _)| *current == id)
                    {
                        self.info = None;
                    }
                }
                Action::OpenTransport {
                    id,
                    transport,
                    url,
                    send_url,
                    ..
                } => self.open(id, transport, url, send_url),
                Action::CloseTransport { id } => {
                    if self.active.as_ref().is_some_and(|a| a.id == id) {
                        self.active = None;
                    }
                }
                Action::Send { id, payload } => self.send_payload(id, payload.0),
            }
        }
        let before = self.events.len();
        while let Some(event) = self.session.poll_event() {
            self.events.push_back(event);
        }
        if self.events.len() > before {
            if let Output::Stream(waker) = &mut self.output {
                if let Some(waker) = waker.take() {
                    waker.wake();
                }
            }
        }
        if let Some(sender) = self.sender.take() {
            sender.wake();
        }
        self.arm_timer();
    }

    fn arm_timer(&mut self) {
        let Some(due) = self.session.poll_timeout() else {
            self.timer = None;
            return;
        };
        // Keep an armed timer that fires no later than needed: most frames only push the
        // heartbeat deadline later, and re-arming per frame costs two JS calls each. An early
        // firing finds nothing due and re-arms at the new deadline.
        if self.timer.as_ref().is_some_and(|(at, _)| *at <= due) {
            return;
        }
        // +1: a timer that fires a fraction early would find the deadline not yet reached.
        let delay =
            u32::try_from(due.saturating_sub(self.now()).saturating_add(1)).unwrap_or(u32::MAX);
        let sink = self.sink.clone();
        self.timer = Some((due, Timeout::new(delay, move || sink.input(Input::Timer))));
    }

    fn open(&mut self, id: OpId, kind: TransportKind, url: String, send_url: Option<String>) {
        self.active = None;
        let credentials = self.settings.with_credentials;
        let (receiver, ws) = if kind == TransportKind::WebSocket {
            match websocket::open(id, &url, &self.sink) {
                Ok(conn) => (None, Some(conn)),
                Err(e) => {
                    let now = self.now();
                    return self.session.handle_transport_failed(now, id, e);
                }
            }
        } else {
            // The first receiving request's URL; the later ones ask the session through the
            // sink.
            let next = self.session.receive_url(id).unwrap_or_else(|| url.clone());
            let sink = &self.sink;
            let receiver = match kind {
                TransportKind::XdrStreaming | TransportKind::XdrPolling => {
                    Some(http::receive(id, kind, url, &next, http::Flavor::Xdr, sink))
                }
                TransportKind::EventSource => {
                    Some(eventsource::receive(id, url, &next, credentials, sink))
                }
                TransportKind::JsonpPolling => jsonp::receive(id, url, &next, sink),
                _ => Some(http::receive(
                    id,
                    kind,
                    url,
                    &next,
                    http::Flavor::Cors(credentials),
                    sink,
                )),
            };
            (receiver, None)
        };
        self.active = Some(Active {
            id,
            kind,
            send_url,
            _receiver: receiver,
            ws,
            sender: None,
        });
    }

    fn send_payload(&mut self, id: OpId, payload: JsString) {
        let Some(active) = self.active.as_mut().filter(|a| a.id == id) else {
            return;
        };
        let sent = match (&active.ws, &active.send_url) {
            (Some(conn), _) => Some(websocket::send(conn, &payload)),
            (None, None) => Some(false),
            (None, Some(_)) => None,
        };
        if let Some(ok) = sent {
            let now = self.now();
            return self.session.handle_send_done(now, id, ok);
        }
        let Some(url) = active.send_url.clone() else {
            return;
        };
        let sink = &self.sink;
        active.sender = match active.kind {
            TransportKind::XdrStreaming | TransportKind::XdrPolling => {
                http::send(id, url, payload, http::Flavor::Xdr, sink)
            }
            TransportKind::JsonpPolling => Some(jsonp::send(id, url, payload, sink)),
            _ => http::send(
                id,
                url,
                payload,
                http::Flavor::Cors(self.settings.with_credentials),
                sink,
            ),
        };
    }
}
