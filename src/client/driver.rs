//! The driver: owns the browser objects of one socket and its one timer, feeds the
//! [`Session`] state machine and carries out its actions.
//!
//! Every browser callback (a frame, a finished request, a closed WebSocket, the timer) becomes
//! an [`Input`] on one channel, read by one local task that hands it to the session and then
//! [`pump`](Inner::pump)s: executes the session's actions, collects its events and re-arms the
//! timer at [`Session::poll_timeout`]. User calls (`send`, `close`) go straight to the session
//! and pump the same way. Inputs never run inside another borrow, so the state needs no locks.
//!
//! Ownership: [`Inner`] owns the `/info` request, the active transport (its receiving task,
//! its WebSocket if any, its sending task) and the timer. Tasks are [`Task`]s, aborted when
//! dropped, and every transport primitive they run releases its XHR, script, EventSource or
//! WebSocket when dropped, so dropping `Inner`'s fields is the whole cleanup.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::task::{Context, Poll, Waker};

use futures_channel::mpsc::{UnboundedReceiver, UnboundedSender};
use futures_util::future::{abortable, AbortHandle};
use futures_util::StreamExt;
use gloo_timers::callback::Timeout;

use crate::protocol::ladder::TransportKind;
use crate::protocol::session::{Action, Event, OpId, ReadyState, Session};
use crate::transport::websocket::Conn;
use crate::Error;

use super::{eventsource, http, jsonp, websocket};

/// What `/info` is taken to say when it cannot be read because of a network error (typically
/// a server that refuses CORS): WebSocket may work (it needs no CORS), cookies are not needed.
const NO_CORS_INFO: &str = r#"{"websocket":true,"cookie_needed":false}"#;

/// A spawned local task, aborted when dropped (the future is then dropped at its next wake-up,
/// which releases whatever it holds).
pub(crate) struct Task(AbortHandle);

impl Task {
    pub(crate) fn spawn(future: impl Future<Output = ()> + 'static) -> Task {
        Task::spawn_boxed(Box::pin(future))
    }

    // One non-generic instantiation of the spawning machinery for every task.
    fn spawn_boxed(future: Pin<Box<dyn Future<Output = ()>>>) -> Task {
        let (future, handle) = abortable(future);
        wasm_bindgen_futures::spawn_local(async move {
            let _ = future.await;
        });
        Task(handle)
    }
}

impl Drop for Task {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// News from the browser for the session.
pub(crate) enum Input {
    Info(OpId, Result<String, Error>),
    Frame(OpId, String),
    Closed(OpId, u16, Cow<'static, str>),
    SendDone(OpId, bool),
    Timer,
}

/// Where transports report [`Input`]s. Sending fails only once the socket is gone, and then
/// nobody is interested any more.
#[derive(Clone)]
pub(crate) struct Sink(UnboundedSender<Input>);

impl Sink {
    pub(crate) fn info(&self, id: OpId, result: Result<String, Error>) {
        let _ = self.0.unbounded_send(Input::Info(id, result));
    }

    pub(crate) fn frame(&self, id: OpId, frame: String) {
        let _ = self.0.unbounded_send(Input::Frame(id, frame));
    }

    pub(crate) fn closed(&self, id: OpId, code: u16, reason: impl Into<Cow<'static, str>>) {
        let _ = self
            .0
            .unbounded_send(Input::Closed(id, code, reason.into()));
    }

    /// The transport failed with `err`: 1002 for a protocol error, 1006 for everything else
    /// (network, HTTP status, timeout), with the error's message as the reason.
    pub(crate) fn failed(&self, id: OpId, err: Error) {
        let code = if err.is_protocol() { 1002 } else { 1006 };
        self.closed(id, code, err.message().to_owned());
    }

    pub(crate) fn send_done(&self, id: OpId, ok: bool) {
        let _ = self.0.unbounded_send(Input::SendDone(id, ok));
    }

    fn timer(&self) {
        let _ = self.0.unbounded_send(Input::Timer);
    }
}

/// Settings the driver needs beyond the session's [`Config`](crate::protocol::session::Config).
pub(crate) struct Settings {
    /// Send cookies with the CORS XHR requests and the EventSource.
    pub(crate) with_credentials: bool,
    /// Use this session id in every transport URL instead of the session's random one.
    pub(crate) session_id: Option<String>,
}

/// The transport the session is trying or using.
struct Active {
    id: OpId,
    kind: TransportKind,
    send_url: Option<String>,
    /// The receiving side: a request loop, the EventSource, or the WebSocket's event reader.
    _receiver: Task,
    /// The WebSocket (WebSocket transport only); closed when dropped.
    ws: Option<Conn>,
    /// The payload POST in flight, if any.
    sender: Option<Task>,
}

/// The state of one socket; see the module docs.
pub(crate) struct Inner {
    session: Session,
    sink: Sink,
    settings: Settings,
    info: Option<(OpId, Task)>,
    active: Option<Active>,
    /// The armed timer and the session deadline it stands for.
    timer: Option<(u64, Timeout)>,
    /// Events for the user, in order.
    events: VecDeque<Event>,
    /// The close event was taken by the user: the socket is fully closed.
    close_taken: bool,
    waker: Option<Waker>,
    /// `/info` failed with a network error: only transports that need no CORS are tried.
    no_cors: bool,
    /// The socket was dropped: nothing may start any more.
    dead: bool,
}

/// The driver's clock in ms: `performance.now()` (monotonic) when there is one, else
/// `Date.now()`.
fn now() -> u64 {
    let ms = web_sys::window()
        .and_then(|w| w.performance())
        .map_or_else(js_sys::Date::now, |p| p.now());
    // Non-negative and far below 2^53 for either clock.
    ms.max(0.0) as u64
}

impl Inner {
    /// A driver for `session`, connecting at once.
    pub(crate) fn start(session: Session, settings: Settings) -> Rc<RefCell<Inner>> {
        let (tx, rx) = futures_channel::mpsc::unbounded();
        let inner = Rc::new(RefCell::new(Inner {
            session,
            sink: Sink(tx),
            settings,
            info: None,
            active: None,
            timer: None,
            events: VecDeque::new(),
            close_taken: false,
            waker: None,
            no_cors: false,
            dead: false,
        }));
        wasm_bindgen_futures::spawn_local(run(rx, Rc::downgrade(&inner)));
        if let Ok(mut i) = inner.try_borrow_mut() {
            i.session.connect(now());
            i.pump();
        }
        inner
    }

    pub(crate) fn session(&self) -> &Session {
        &self.session
    }

    pub(crate) fn take_unsent(&mut self) -> Vec<String> {
        self.session.take_unsent()
    }

    /// The state, with `Closing` until the user has taken the close event.
    pub(crate) fn ready_state(&self) -> ReadyState {
        match self.session.ready_state() {
            ReadyState::Closing | ReadyState::Closed if self.close_taken => ReadyState::Closed,
            ReadyState::Closing | ReadyState::Closed => ReadyState::Closing,
            other => other,
        }
    }

    pub(crate) fn send(&mut self, message: String) -> Result<(), Error> {
        let result = self.session.send(message);
        self.pump();
        result
    }

    pub(crate) fn close(&mut self, code: Option<u16>, reason: &str) -> Result<(), Error> {
        let result = self.session.close(code, reason);
        self.pump();
        result
    }

    /// The next event; `None` after the close event.
    pub(crate) fn poll_event(&mut self, cx: &mut Context<'_>) -> Poll<Option<Event>> {
        if let Some(event) = self.events.pop_front() {
            if matches!(event, Event::Close { .. }) {
                self.close_taken = true;
            }
            return Poll::Ready(Some(event));
        }
        if self.close_taken || self.dead {
            return Poll::Ready(None);
        }
        self.waker = Some(cx.waker().clone());
        Poll::Pending
    }

    /// Releases every browser resource at once: the socket handle is gone.
    pub(crate) fn shutdown(&mut self) {
        self.dead = true;
        self.active = None;
        self.info = None;
        self.timer = None;
        self.waker = None;
    }

    fn handle(&mut self, input: Input) {
        if self.dead {
            return;
        }
        let now = now();
        match input {
            Input::Info(id, result) => {
                let current = self.info.as_ref().is_some_and(|(op, _)| *op == id);
                if current {
                    self.info = None;
                }
                match result {
                    Ok(body) => self.session.handle_info(now, id, &body),
                    Err(e) if current && e.is_network() => {
                        // sockjs-client would give up here. A network error on /info usually
                        // means the server refuses CORS, which WebSocket and JSONP do not need.
                        self.no_cors = true;
                        self.events.push_back(Event::Error(Error::network(
                            "SockJS /info failed (network error or CORS refused): trying only \
                             the transports that need no CORS (websocket, jsonp-polling)",
                        )));
                        self.session.handle_info(now, id, NO_CORS_INFO);
                    }
                    Err(e) => self.session.handle_info_failed(now, id, e),
                }
            }
            Input::Frame(id, frame) => self.session.handle_frame(now, id, &frame),
            Input::Closed(id, code, reason) => {
                self.session.handle_transport_closed(now, id, code, &reason)
            }
            Input::SendDone(id, ok) => {
                if let Some(active) = self.active.as_mut().filter(|a| a.id == id) {
                    active.sender = None;
                }
                self.session.handle_send_done(now, id, ok);
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
                    self.no_cors = false;
                    let task =
                        http::fetch_info(id, url, self.settings.with_credentials, &self.sink);
                    self.info = Some((id, task));
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
                Action::Send { id, payload } => self.send_payload(id, payload),
            }
        }
        let had_events = !self.events.is_empty();
        while let Some(event) = self.session.poll_event() {
            self.events.push_back(event);
        }
        if !self.events.is_empty() || had_events {
            if let Some(waker) = self.waker.take() {
                waker.wake();
            }
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
        let delay = u32::try_from(due.saturating_sub(now()).saturating_add(1)).unwrap_or(u32::MAX);
        let sink = self.sink.clone();
        self.timer = Some((due, Timeout::new(delay, move || sink.timer())));
    }

    fn open(&mut self, id: OpId, kind: TransportKind, url: String, send_url: Option<String>) {
        self.active = None;
        let (url, send_url) = match &self.settings.session_id {
            Some(sid) => (
                with_session_id(&url, sid),
                send_url.map(|u| with_session_id(&u, sid)),
            ),
            None => (url, send_url),
        };
        if self.no_cors && !matches!(kind, TransportKind::WebSocket | TransportKind::JsonpPolling) {
            // Reported at once: the session moves on to the next rung without any request.
            return self.session.handle_transport_closed(
                now(),
                id,
                1006,
                "transport needs CORS, which the server refused for /info",
            );
        }
        let credentials = self.settings.with_credentials;
        let sink = &self.sink;
        let (receiver, ws) = match kind {
            TransportKind::WebSocket => match websocket::open(id, &url, sink) {
                Ok((conn, task)) => (task, Some(conn)),
                Err(e) => {
                    let reason = e.message().to_owned();
                    return self
                        .session
                        .handle_transport_closed(now(), id, 1006, &reason);
                }
            },
            TransportKind::XhrStreaming | TransportKind::XhrPolling => (
                http::receive(id, kind, url, http::Flavor::Xhr(credentials), sink),
                None,
            ),
            TransportKind::XdrStreaming | TransportKind::XdrPolling => {
                (http::receive(id, kind, url, http::Flavor::Xdr, sink), None)
            }
            TransportKind::EventSource => (eventsource::receive(id, url, credentials, sink), None),
            TransportKind::JsonpPolling => (jsonp::receive(id, url, sink), None),
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

    fn send_payload(&mut self, id: OpId, payload: String) {
        let Some(active) = self.active.as_mut().filter(|a| a.id == id) else {
            return;
        };
        if let Some(conn) = &active.ws {
            let ok = conn.raw().send_with_str(&payload).is_ok();
            return self.session.handle_send_done(now(), id, ok);
        }
        let Some(url) = active.send_url.clone() else {
            return self.session.handle_send_done(now(), id, false);
        };
        let sink = &self.sink;
        active.sender = Some(match active.kind {
            TransportKind::XdrStreaming | TransportKind::XdrPolling => {
                http::send(id, url, payload, http::Flavor::Xdr, sink)
            }
            TransportKind::JsonpPolling => jsonp::send(id, url, payload, sink),
            _ => http::send(
                id,
                url,
                payload,
                http::Flavor::Xhr(self.settings.with_credentials),
                sink,
            ),
        });
    }
}

/// Reads inputs until the socket is gone. Holds the state only weakly: dropping the socket
/// frees it, which closes the channel and ends this task.
async fn run(mut rx: UnboundedReceiver<Input>, inner: Weak<RefCell<Inner>>) {
    while let Some(input) = rx.next().await {
        let Some(rc) = inner.upgrade() else {
            return;
        };
        let mut input = Some(input);
        poll_fn(|cx| match rc.try_borrow_mut() {
            Ok(mut state) => {
                if let Some(input) = input.take() {
                    state.handle(input);
                }
                Poll::Ready(())
            }
            // Never expected (inputs do not nest in user calls); retry on the next tick.
            Err(_) => {
                cx.waker().wake_by_ref();
                Poll::Pending
            }
        })
        .await;
    }
}

/// `url` (`…/<server>/<session>/<transport>[?query]`, as the session builds it) with the
/// session segment replaced by `session_id`.
pub(crate) fn with_session_id(url: &str, session_id: &str) -> String {
    // split_once rather than split_at: no panic path.
    let (path, sep, query) = match url.split_once('?') {
        Some((path, query)) => (path, "?", query),
        None => (url, "", ""),
    };
    let transport = path.rfind('/');
    let session = transport
        .and_then(|t| path.get(..t))
        .and_then(|p| p.rfind('/'));
    match (session, transport) {
        (Some(s), Some(t)) => [
            path.get(..=s).unwrap_or_default(),
            session_id,
            path.get(t..).unwrap_or_default(),
            sep,
            query,
        ]
        .concat(),
        _ => url.to_owned(),
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::with_session_id;

    #[test]
    fn session_id_override_replaces_only_the_session_segment() {
        assert_eq!(
            with_session_id("http://h:1/sockjs/echo/123/abcdefgh/xhr_streaming", "mine"),
            "http://h:1/sockjs/echo/123/mine/xhr_streaming"
        );
        assert_eq!(
            with_session_id("ws://h/a/000/x/websocket?t=1/2", "s-1"),
            "ws://h/a/000/s-1/websocket?t=1/2"
        );
        assert_eq!(with_session_id("nonsense", "s"), "nonsense");
    }
}
