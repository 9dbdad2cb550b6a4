//! [`EventSource`](https://developer.mozilla.org/docs/Web/API/EventSource) (Server-Sent Events)
//! as one Rust type over two engines:
//!
//! - **native**: the browser's `EventSource`, with its own reconnection;
//! - **polyfill**: an XHR's streamed response ([`crate::transport::exchange`]) parsed by
//!   [`crate::protocol::sse`], which can do what the native object cannot: custom headers, a
//!   method and body (POST), a starting `Last-Event-ID`, and sending the last event ID as a
//!   query parameter so a cross-origin resume needs no CORS preflight. Its connection policy
//!   (which responses are accepted, reconnection with backoff from the server's `retry` time,
//!   the last event ID sent, giving up after `max_retries`, `readyState`) is the sans-IO
//!   [`crate::protocol::eventsource::Machine`], tested natively with simulated time; this
//!   module only carries out its decisions with an XHR, a timer and `performance.now()`.
//!
//! Both deliver the same [`SseEvent`]s through [`EventSource::next`] (or the [`Stream`]
//! impl): `Open`, `Message` and `Error { fatal }`. A non-fatal error means the connection
//! dropped and a reconnection is scheduled (`readyState` is `Connecting`); a fatal one (a status
//! other than 200, a `Content-Type` other than `text/event-stream`, or the polyfill giving up
//! after `max_retries`) ends the stream with `readyState` `Closed`.
//!
//! Dropping the handle (or [`EventSource::close`]) closes everything: the native object is
//! closed and its listeners removed; the polyfill's XHR is aborted and its reconnection timer
//! cleared.
//!
//! Limitation of the polyfill: XHR keeps the whole response text in memory for as long as a
//! response lasts, so a server should end very long-lived streams now and then (the client
//! resumes with `Last-Event-ID`).

use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::task::{Context, Poll, Waker};

use futures_channel::mpsc::{self, UnboundedReceiver, UnboundedSender};
use futures_util::stream::{Stream, StreamExt};
use gloo_timers::callback::Timeout;
use js_sys::Reflect;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{Event, MessageEvent};

use crate::protocol::eventsource::{Action, Config, Event as MachineEvent, Machine, RequestId};
use crate::protocol::headers;
use crate::security::SecureOnly;
use crate::transport::exchange::Exchange;
use crate::transport::listener::Listener;
use crate::transport::pending::Pending;
use crate::Error;

pub use crate::protocol::eventsource::{ReadyState, DEFAULT_MAX_RETRY_DELAY_MS, DEFAULT_RETRY_MS};

/// Which engine to use.
///
/// ```no_run
/// use cometkit::transport::eventsource::{EventSource, EventSourceOptions, Polyfill};
/// let es = EventSource::open("/events", EventSourceOptions::default().polyfill(Polyfill::Always))?;
/// assert!(es.is_polyfill());
/// # Ok::<(), cometkit::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Polyfill {
    /// The native `EventSource`, unless an option only the polyfill supports was given
    /// (headers, a method other than GET, a body, a starting last event ID, the last-event-ID
    /// query parameter) or the browser has no `EventSource`.
    #[default]
    Auto,
    /// Always the XHR polyfill.
    Always,
    /// Always the native object; polyfill-only options are then rejected as invalid.
    Never,
}

/// Options of [`EventSource::open`], built with chained setters from
/// `EventSourceOptions::default()`.
///
/// ```no_run
/// use cometkit::transport::eventsource::{EventSource, EventSourceOptions};
/// let options = EventSourceOptions::default()
///     .header("Authorization", "Bearer t0k3n")
///     .last_event_id("42")
///     .retry(1_000)
///     .max_retries(5);
/// let es = EventSource::open("https://api.example.com/stream", options)?;
/// # let _ = es; Ok::<(), cometkit::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct EventSourceOptions {
    polyfill: Polyfill,
    pub(crate) with_credentials: bool,
    headers: Vec<(String, String)>,
    method: Option<String>,
    body: Option<String>,
    last_event_id: Option<String>,
    last_event_id_param: Option<String>,
    event_types: Vec<String>,
    retry: Option<u32>,
    max_retry_delay: Option<u32>,
    max_retries: Option<u32>,
    secure_only: Option<SecureOnly>,
}

/// The query parameter [`EventSourceOptions::last_event_id_query`] uses by default.
pub const DEFAULT_LAST_EVENT_ID_PARAM: &str = "lastEventId";

impl EventSourceOptions {
    /// Chooses the engine (default [`Polyfill::Auto`]).
    pub fn polyfill(mut self, polyfill: Polyfill) -> Self {
        self.polyfill = polyfill;
        self
    }

    /// Sends cookies and HTTP authentication cross-origin
    /// ([`withCredentials`](https://developer.mozilla.org/docs/Web/API/EventSource/withCredentials)).
    pub fn with_credentials(mut self, yes: bool) -> Self {
        self.with_credentials = yes;
        self
    }

    /// Secure-only mode for this stream, instead of the page-wide default of
    /// [`crate::security::set_defaults`]: an `http:` URL it refuses fails [`EventSource::open`]
    /// as invalid. Applies to both engines and to every reconnection.
    pub fn secure_only(mut self, policy: SecureOnly) -> Self {
        self.secure_only = Some(policy);
        self
    }

    /// Adds a request header (polyfill only). Any header other than `Accept`,
    /// `Accept-Language`, `Content-Language` and a simple `Content-Type` makes a cross-origin
    /// request preflighted.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// The request method (polyfill only; default GET).
    pub fn method(mut self, method: impl Into<String>) -> Self {
        self.method = Some(method.into());
        self
    }

    /// A request body, sent on every (re)connection (polyfill only; not with GET or HEAD).
    pub fn body(mut self, body: impl Into<String>) -> Self {
        self.body = Some(body.into());
        self
    }

    /// Starts as if this event ID had been received: the first request already carries it
    /// (polyfill only).
    pub fn last_event_id(mut self, id: impl Into<String>) -> Self {
        self.last_event_id = Some(id.into());
        self
    }

    /// Sends the last event ID as the query parameter `name` instead of the `Last-Event-ID`
    /// header, which a cross-origin request could only send after a CORS preflight (polyfill
    /// only). [`DEFAULT_LAST_EVENT_ID_PARAM`] is the usual name.
    pub fn last_event_id_query(mut self, name: impl Into<String>) -> Self {
        self.last_event_id_param = Some(name.into());
        self
    }

    /// Also delivers events of this type (`event:` field). `message` events (and a server's
    /// `open`/`error` events) always arrive; other types only once asked for, like listeners
    /// on a native `EventSource`. See also [`EventSource::add_event_type`].
    pub fn event_type(mut self, event_type: impl Into<String>) -> Self {
        self.event_types.push(event_type.into());
        self
    }

    /// The polyfill's first reconnection delay in ms until the server sends `retry`
    /// (default [`DEFAULT_RETRY_MS`]). The native engine uses the browser's own default.
    pub fn retry(mut self, ms: u32) -> Self {
        self.retry = Some(ms);
        self
    }

    /// The polyfill's largest reconnection delay in ms (default
    /// [`DEFAULT_MAX_RETRY_DELAY_MS`], never below the retry time). Delays double from the
    /// retry time after each failed attempt, with up to 50 % added at random.
    pub fn max_retry_delay(mut self, ms: u32) -> Self {
        self.max_retry_delay = Some(ms);
        self
    }

    /// How many reconnection attempts in a row the polyfill makes before giving up with a
    /// fatal error (default: no limit). A successful connection resets the count.
    pub fn max_retries(mut self, n: u32) -> Self {
        self.max_retries = Some(n);
        self
    }

    /// Whether any option only the polyfill can honour was given.
    fn needs_polyfill(&self) -> bool {
        !self.headers.is_empty()
            || self
                .method
                .as_deref()
                .is_some_and(|m| !m.eq_ignore_ascii_case("GET"))
            || self.body.is_some()
            || self.last_event_id.is_some()
            || self.last_event_id_param.is_some()
    }
}

/// A message event.
///
/// ```no_run
/// # async fn demo() -> Result<(), cometkit::Error> {
/// use cometkit::transport::eventsource::{EventSource, EventSourceOptions, SseEvent};
/// let mut es = EventSource::open("/events", EventSourceOptions::default().event_type("tick"))?;
/// while let Some(event) = es.next().await {
///     if let SseEvent::Message(m) = event {
///         println!("{} #{}: {}", m.event_type, m.last_event_id, m.data);
///     }
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseMessage {
    /// The event type: `message` unless the server named it with `event:`.
    pub event_type: String,
    /// The data (`data:` lines joined with LF).
    pub data: String,
    /// The last event ID in force for this event.
    pub last_event_id: String,
    /// The origin of the URL the events came from (after redirects).
    pub origin: String,
}

/// One event from an [`EventSource`].
///
/// ```no_run
/// # async fn demo() -> Result<(), cometkit::Error> {
/// use cometkit::transport::eventsource::{EventSource, EventSourceOptions, SseEvent};
/// let mut es = EventSource::open("/events", EventSourceOptions::default())?;
/// while let Some(event) = es.next().await {
///     match event {
///         SseEvent::Open => println!("open"),
///         SseEvent::Message(m) => println!("{}", m.data),
///         SseEvent::Error { fatal: true, error } => return Err(error.unwrap_or_else(|| {
///             cometkit::Error::network("the event source closed")
///         })),
///         _ => {} // a non-fatal error: reconnecting
///     }
/// }
/// # Ok(()) }
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum SseEvent {
    /// A response started streaming (after each (re)connection).
    Open,
    /// An event arrived.
    Message(SseMessage),
    /// The connection failed or dropped. When `fatal`, the source is closed and the stream
    /// ends after this event; otherwise a reconnection is scheduled. `error` says why when the
    /// engine knows (the native engine never does): an [`Error`] of kind `http` (status other
    /// than 200, with the response), `protocol` (wrong `Content-Type`), or `network`.
    Error {
        /// True when no reconnection follows.
        fatal: bool,
        /// The cause, when known.
        error: Option<Error>,
    },
}

/// State shared with the event sources (native listeners, polyfill driver) and, for the
/// polyfill, with the JS `CometEventSource`'s core.
pub(crate) struct Shared {
    state: Cell<ReadyState>,
    last_event_id: RefCell<String>,
    /// Types delivered besides message/open/error (the polyfill filters with it).
    types: RefCell<Vec<String>>,
}

impl Shared {
    /// Fresh state: connecting, with the options' starting last event ID.
    pub(crate) fn new(options: &EventSourceOptions) -> Rc<Shared> {
        Rc::new(Shared {
            state: Cell::new(ReadyState::Connecting),
            last_event_id: RefCell::new(options.last_event_id.clone().unwrap_or_default()),
            types: RefCell::new(Vec::new()),
        })
    }

    fn wants(&self, event_type: &str) -> bool {
        matches!(event_type, "message" | "open" | "error")
            || self.types.borrow().iter().any(|t| t == event_type)
    }

    /// Moves to `state`, unless closed: closing is final, even when a driver still running
    /// up the stack (a listener closed the source) would move on.
    fn set(&self, state: ReadyState) {
        if self.state.get() != ReadyState::Closed {
            self.state.set(state);
        }
    }

    /// The polyfill's state (for the JS core).
    #[cfg(all(feature = "js", feature = "eventsource"))]
    pub(crate) fn ready_state(&self) -> ReadyState {
        self.state.get()
    }

    /// Closed for good.
    pub(crate) fn close(&self) {
        self.state.set(ReadyState::Closed);
    }

    /// The last event ID (for the JS core).
    #[cfg(all(feature = "js", feature = "eventsource"))]
    pub(crate) fn last_event_id(&self) -> String {
        self.last_event_id.borrow().clone()
    }

    /// Also deliver events of `event_type` (polyfill: the driver filters with it).
    pub(crate) fn add_type(&self, event_type: &str) {
        add_type(&mut self.types.borrow_mut(), event_type);
    }
}

/// Where the polyfill's events go, called once per event as the driver produces them.
pub(crate) type Out = Rc<dyn Fn(SseEvent)>;

/// The checks and the engine choice of [`EventSource::open`]: the absolute URL, and `true`
/// when the polyfill is to run.
pub(crate) fn prepare(
    url: &str,
    options: &mut EventSourceOptions,
) -> Result<(String, bool), Error> {
    let url = resolve_url(url)?;
    check_options(options)?;
    // Decided once: reconnections keep the policy the stream was opened under.
    let secure_only = crate::security::effective_secure_only(options.secure_only);
    crate::security::check_url(&url, Some(secure_only))?;
    options.secure_only = Some(secure_only);
    let has_native = Reflect::has(
        &crate::transport::page::global(),
        &JsValue::from_str("EventSource"),
    )
    .unwrap_or(false);
    let polyfill = match options.polyfill {
        Polyfill::Always => true,
        Polyfill::Never if options.needs_polyfill() => {
            return Err(Error::invalid(
                "headers, method, body, lastEventId and the last-event-ID query parameter \
                 need the polyfill, but polyfill is \"never\"",
            ))
        }
        Polyfill::Never if !has_native => {
            return Err(Error::invalid("this browser has no native EventSource"))
        }
        Polyfill::Never => false,
        Polyfill::Auto => options.needs_polyfill() || !has_native,
    };
    Ok((url, polyfill))
}

/// The browser's `EventSource` at `url` with a `message` and an `error` listener, as the
/// SockJS socket's eventsource receiver uses it: message data (a JS string) goes to
/// `on_data` untouched, never copied into wasm, errors to `on_error`. Closed, listeners
/// removed, when dropped.
#[cfg(feature = "_socket")]
pub(crate) struct RawSource {
    es: web_sys::EventSource,
    _listeners: [Listener; 2],
}

#[cfg(feature = "_socket")]
impl RawSource {
    /// Opens `url` (already resolved). Fails as [`create_native`] does.
    pub(crate) fn open(
        url: &str,
        with_credentials: bool,
        on_data: impl Fn(js_sys::JsString) + 'static,
        on_error: impl Fn() + 'static,
    ) -> Result<RawSource, Error> {
        let es = create_native(url, with_credentials)?;
        let listeners = [
            Listener::new(&es, "message", move |e: Event| {
                if let Some(data) = e
                    .dyn_ref::<MessageEvent>()
                    .and_then(|m| m.data().dyn_into::<js_sys::JsString>().ok())
                {
                    on_data(data);
                }
            }),
            Listener::new(&es, "error", move |_: Event| on_error()),
        ];
        Ok(RawSource {
            es,
            _listeners: listeners,
        })
    }

    /// True when the browser is about to reconnect by itself (not closed for good).
    pub(crate) fn retrying(&self) -> bool {
        self.es.ready_state() != web_sys::EventSource::CLOSED
    }
}

#[cfg(feature = "_socket")]
impl Drop for RawSource {
    fn drop(&mut self) {
        self.es.close();
    }
}

/// The browser's `EventSource` at `url` (already resolved), without listeners.
pub(crate) fn create_native(
    url: &str,
    with_credentials: bool,
) -> Result<web_sys::EventSource, Error> {
    let init = web_sys::EventSourceInit::new();
    init.set_with_credentials(with_credentials);
    web_sys::EventSource::new_with_event_source_init_dict(url, &init)
        .map_err(|_| Error::invalid("the browser refused the EventSource URL"))
}

/// The polyfill at `url` (already resolved by [`prepare`]): once [started](PolyfillDriver::start)
/// it connects, streams and reconnects until a fatal error, reporting through `shared` and
/// `out`. Dropping it aborts its request and clears its timer.
pub(crate) fn polyfill(
    url: String,
    options: EventSourceOptions,
    shared: Rc<Shared>,
    out: Out,
) -> PolyfillDriver {
    for t in &options.event_types {
        shared.add_type(t);
    }
    let origin = origin_of(&url);
    let (config, machine) = split_options(url, options);
    PolyfillDriver(Rc::new_cyclic(|me| Poly {
        config,
        origin,
        shared,
        out,
        st: RefCell::new(PolyState {
            machine,
            conn: None,
            timer: None,
            done: false,
        }),
        inbox: RefCell::default(),
        busy: Cell::new(false),
        again: Cell::new(false),
        timer_fired: Cell::new(false),
        me: me.clone(),
    }))
}

/// The origin of `url` (the polyfill's `MessageEvent.origin`: the request URL's).
pub(crate) fn origin_of(url: &str) -> String {
    web_sys::Url::new(url)
        .map(|u| u.origin())
        .unwrap_or_default()
}

/// An open EventSource; see the module docs. Read events with [`EventSource::next`] (or the
/// [`Stream`] impl). Dropping it closes the connection and removes its listeners.
///
/// ```no_run
/// # async fn demo() -> Result<(), cometkit::Error> {
/// use cometkit::transport::eventsource::{EventSource, EventSourceOptions, ReadyState, SseEvent};
/// let mut es = EventSource::open("/events", EventSourceOptions::default())?;
/// assert_eq!(es.ready_state(), ReadyState::Connecting);
/// if let Some(SseEvent::Message(m)) = es.next().await {
///     println!("{} (resume from {:?})", m.data, es.last_event_id());
/// }
/// es.close();
/// # Ok(()) }
/// ```
#[must_use = "dropping the EventSource closes it"]
pub struct EventSource {
    url: String,
    with_credentials: bool,
    polyfill: bool,
    shared: Rc<Shared>,
    rx: UnboundedReceiver<SseEvent>,
    engine: Engine,
    /// The task last polling the stream, woken by `close` so it sees the end at once.
    waker: Option<Waker>,
}

enum Engine {
    Native(Native),
    /// The polyfill's driver, which runs on the browser's callbacks (held: dropping it stops
    /// the polyfill).
    Polyfill(#[allow(dead_code)] PolyfillDriver),
    Closed,
}

impl std::fmt::Debug for EventSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventSource")
            .field("url", &self.url)
            .field("ready_state", &self.ready_state())
            .field("polyfill", &self.is_polyfill())
            .finish()
    }
}

impl EventSource {
    /// Opens an event stream at `url` (relative URLs resolve against the page).
    ///
    /// Fails with [`ErrorKind::Invalid`](crate::ErrorKind::Invalid), before anything is sent,
    /// when the URL does not parse or is not http(s), when secure-only mode (the option or the
    /// page-wide default) refuses it, when a header name or value, the method
    /// or the query-parameter name is malformed, when a body is given with GET/HEAD, when
    /// [`Polyfill::Never`] is combined with a polyfill-only option, or when `Never` is asked
    /// for and the browser has no `EventSource`. Connection failures are not errors here:
    /// they arrive as [`SseEvent::Error`].
    pub fn open(url: &str, options: EventSourceOptions) -> Result<EventSource, Error> {
        let mut options = options;
        let (url, polyfill) = prepare(url, &mut options)?;
        let shared = Shared::new(&options);
        let (tx, rx) = mpsc::unbounded();
        let with_credentials = options.with_credentials;
        let engine = if polyfill {
            let out: Out = Rc::new(move |event| {
                let last = matches!(event, SseEvent::Error { fatal: true, .. });
                let _ = tx.unbounded_send(event);
                if last {
                    tx.close_channel();
                }
            });
            let driver = self::polyfill(url.clone(), options, shared.clone(), out);
            // Its events go to the channel, which exists already.
            driver.start();
            Engine::Polyfill(driver)
        } else {
            Engine::Native(Native::open(&url, &options, shared.clone(), tx)?)
        };
        let url = match &engine {
            Engine::Native(n) => n.es.url(),
            _ => url,
        };
        Ok(EventSource {
            url,
            with_credentials,
            polyfill,
            shared,
            rx,
            engine,
            waker: None,
        })
    }

    /// The next event; `None` once the source is closed (by [`close`](Self::close) or after a
    /// fatal error). Both engines run on the browser's callbacks; events wait here until read.
    pub async fn next(&mut self) -> Option<SseEvent> {
        StreamExt::next(self).await
    }

    /// The state (`readyState`).
    pub fn ready_state(&self) -> ReadyState {
        match &self.engine {
            Engine::Native(n) => ReadyState::from_u16(n.es.ready_state()),
            Engine::Polyfill(_) => self.shared.state.get(),
            Engine::Closed => ReadyState::Closed,
        }
    }

    /// The last event ID (what a reconnection sends). With the native engine it is known
    /// only from delivered messages; an `id` sent without data is seen by the polyfill only.
    pub fn last_event_id(&self) -> String {
        self.shared.last_event_id.borrow().clone()
    }

    /// The absolute URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Whether credentials are sent cross-origin.
    pub fn with_credentials(&self) -> bool {
        self.with_credentials
    }

    /// True when the XHR polyfill (not the native object) is in use.
    pub fn is_polyfill(&self) -> bool {
        self.polyfill
    }

    /// Also delivers events of type `event_type` from now on (see
    /// [`EventSourceOptions::event_type`]).
    pub fn add_event_type(&mut self, event_type: &str) {
        match &mut self.engine {
            Engine::Native(n) => n.add_type(event_type, &self.shared),
            Engine::Polyfill(_) => self.shared.add_type(event_type),
            Engine::Closed => {}
        }
    }

    /// Closes the source: no more events or reconnections; the stream ends. Idempotent.
    pub fn close(&mut self) {
        self.engine = Engine::Closed;
        self.shared.close();
        self.rx.close();
        // Events already queued are dropped, as a closed native EventSource fires none.
        while self.rx.try_recv().is_ok() {}
        if let Some(waker) = self.waker.take() {
            waker.wake();
        }
    }
}

impl Stream for EventSource {
    type Item = SseEvent;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<SseEvent>> {
        let this = self.get_mut();
        let poll = this.rx.poll_next_unpin(cx);
        if poll.is_pending() && !this.waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
            this.waker = Some(cx.waker().clone());
        }
        poll
    }
}

impl Drop for EventSource {
    fn drop(&mut self) {
        self.close();
    }
}

fn add_type(types: &mut Vec<String>, event_type: &str) {
    if !matches!(event_type, "message" | "open" | "error") && !types.iter().any(|t| t == event_type)
    {
        types.push(event_type.to_owned());
    }
}

/// Resolves `url` against the page; only http(s) URLs are accepted.
fn resolve_url(url: &str) -> Result<String, Error> {
    Ok(crate::transport::page::resolve_http_url(url, "EventSource")?.href())
}

fn check_options(o: &EventSourceOptions) -> Result<(), Error> {
    for (name, value) in &o.headers {
        headers::validate_header(name, value)?;
    }
    if let Some(method) = &o.method {
        headers::validate_method(method)?;
        let bodiless = method.eq_ignore_ascii_case("GET") || method.eq_ignore_ascii_case("HEAD");
        if bodiless && o.body.is_some() {
            return Err(Error::invalid("a GET or HEAD request cannot have a body"));
        }
    } else if o.body.is_some() {
        return Err(Error::invalid(
            "a body needs a method such as POST (GET cannot have one)",
        ));
    }
    if let Some(param) = &o.last_event_id_param {
        if param.is_empty() || param.contains(['&', '=', '#']) {
            return Err(Error::invalid(
                "the last-event-ID query parameter name must be non-empty without & = #",
            ));
        }
    }
    if o.last_event_id
        .as_deref()
        .is_some_and(|id| id.contains(['\0', '\r', '\n']))
    {
        return Err(Error::invalid("lastEventId cannot contain NUL, CR or LF"));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Native engine

struct Native {
    es: web_sys::EventSource,
    tx: UnboundedSender<SseEvent>,
    listeners: Vec<Listener>,
}

#[derive(Clone, Copy)]
enum Kind {
    Open,
    Error,
    Message,
}

impl Native {
    fn open(
        url: &str,
        options: &EventSourceOptions,
        shared: Rc<Shared>,
        tx: UnboundedSender<SseEvent>,
    ) -> Result<Native, Error> {
        let es = create_native(url, options.with_credentials)?;
        let mut native = Native {
            es,
            tx,
            listeners: Vec::with_capacity(3),
        };
        native.listen(Cow::Borrowed("open"), Kind::Open, &shared);
        native.listen(Cow::Borrowed("error"), Kind::Error, &shared);
        native.listen(Cow::Borrowed("message"), Kind::Message, &shared);
        for t in &options.event_types {
            native.add_type(t, &shared);
        }
        Ok(native)
    }

    fn add_type(&mut self, event_type: &str, shared: &Rc<Shared>) {
        let mut types = shared.types.borrow_mut();
        let before = types.len();
        add_type(&mut types, event_type);
        if types.len() > before {
            drop(types);
            self.listen(Cow::Owned(event_type.to_owned()), Kind::Message, shared);
        }
    }

    /// One listener; a single closure type for all kinds keeps the wasm small.
    fn listen(&mut self, name: Cow<'static, str>, kind: Kind, shared: &Rc<Shared>) {
        let tx = self.tx.clone();
        let es = self.es.clone();
        let shared = shared.clone();
        let listener = Listener::new(&self.es, name, move |e: Event| {
            // A server may name its events "open" or "error": those arrive as MessageEvents.
            if let Some(m) = e.dyn_ref::<MessageEvent>() {
                let last_event_id = m.last_event_id();
                shared.last_event_id.borrow_mut().clone_from(&last_event_id);
                let message = SseMessage {
                    event_type: e.type_(),
                    data: m.data().as_string().unwrap_or_default(),
                    last_event_id,
                    origin: m.origin(),
                };
                let _ = tx.unbounded_send(SseEvent::Message(message));
                return;
            }
            match kind {
                Kind::Open => {
                    let _ = tx.unbounded_send(SseEvent::Open);
                }
                Kind::Error => {
                    let fatal = es.ready_state() == 2;
                    let _ = tx.unbounded_send(SseEvent::Error { fatal, error: None });
                    if fatal {
                        tx.close_channel();
                    }
                }
                Kind::Message => {}
            }
        });
        self.listeners.push(listener);
    }
}

impl Drop for Native {
    fn drop(&mut self) {
        self.es.close();
        // The listeners remove themselves as the Vec drops.
    }
}

// ---------------------------------------------------------------------------------------------
// Polyfill engine: a driver that carries out what `protocol::eventsource::Machine` decides
// (which responses open the source, when and where to reconnect, when to give up). It owns the
// request, the one timer and the clock; the policy and its tests live in the protocol crate.

use crate::transport::page::now_ms as now;

/// What every request of the polyfill carries besides what the machine decides (the URL and
/// the `Last-Event-ID` header). The URL's scheme was checked against the secure-only policy once,
/// by [`prepare`]: every request goes to that URL, at most with another query.
struct RequestConfig {
    method: String,
    headers: Vec<(String, String)>,
    body: Option<String>,
    with_credentials: bool,
}

impl RequestConfig {
    /// Starts the request of `url`: each piece of its response text (the first, `""`, once the
    /// status and headers are in) goes to `on_text`. `Invalid` for a `Last-Event-ID` that cannot
    /// be a header value (NUL, CR or LF), nothing sent then.
    fn start(
        &self,
        url: &str,
        last_event_id: Option<&str>,
        on_text: &js_sys::Function,
    ) -> Result<Exchange, Error> {
        // Checked by `check_options` but for the ID, which the server chose; the machine gives
        // it as a byte string already (its UTF-8, as the native EventSource sends it).
        if let Some(id) = last_event_id {
            headers::validate_header("Last-Event-ID", id)?;
        }
        let list = js_sys::Array::new();
        let add = |name: &str, value: &str| {
            list.push(&JsValue::from_str(name));
            list.push(&JsValue::from_str(value));
        };
        add("Accept", "text/event-stream");
        for (name, value) in &self.headers {
            add(name, value);
        }
        if let Some(id) = last_event_id {
            add("Last-Event-ID", id);
        }
        let body = self
            .body
            .as_deref()
            .map_or(JsValue::UNDEFINED, JsValue::from_str);
        Exchange::event_stream(
            &self.method,
            url,
            &body,
            self.with_credentials,
            &list,
            on_text,
        )
    }
}

/// The polyfill's request config and state machine for `url` under options `o`.
fn split_options(url: String, o: EventSourceOptions) -> (RequestConfig, Machine) {
    let config = Config {
        url,
        last_event_id: o.last_event_id,
        last_event_id_param: o.last_event_id_param,
        retry_ms: o.retry.unwrap_or(DEFAULT_RETRY_MS),
        max_retry_delay_ms: o.max_retry_delay.unwrap_or(DEFAULT_MAX_RETRY_DELAY_MS),
        max_retries: o.max_retries,
    };
    let request = RequestConfig {
        method: o.method.unwrap_or_else(|| "GET".to_owned()),
        headers: o.headers,
        body: o.body,
        with_credentials: o.with_credentials,
    };
    (
        request,
        Machine::new(config, Box::new(js_sys::Math::random)),
    )
}

/// The polyfill at work: the machine, the request in flight and the one timer, driven by the
/// request's and the timer's callbacks (no future; see [`Poly::turn`]). Dropping it aborts the
/// request and clears the timer.
pub(crate) struct PolyfillDriver(Rc<Poly>);

impl PolyfillDriver {
    /// Connects. Events may follow at once (a request the browser refuses to start), so the
    /// caller sets up where they go first.
    pub(crate) fn start(&self) {
        if let Ok(mut st) = self.0.st.try_borrow_mut() {
            st.machine.connect(now());
        }
        self.0.turn();
    }
}

/// See [`PolyfillDriver`].
struct Poly {
    config: RequestConfig,
    /// `MessageEvent.origin`: the request URL's (the XHR stream does not expose the URL after
    /// redirects).
    origin: String,
    shared: Rc<Shared>,
    out: Out,
    st: RefCell<PolyState>,
    /// What the requests did since the last turn, in order.
    inbox: RefCell<std::collections::VecDeque<(RequestId, Inbound)>>,
    /// A turn is running up the stack ([`Poly::turn`]).
    busy: Cell<bool>,
    /// Something happened during that turn: it goes round again.
    again: Cell<bool>,
    /// The timer fired.
    timer_fired: Cell<bool>,
    me: Weak<Poly>,
}

struct PolyState {
    machine: Machine,
    /// The request under way.
    conn: Option<Conn>,
    /// The armed timer and the machine deadline it stands for.
    timer: Option<(u64, Timeout)>,
    /// Closed: nothing runs any more.
    done: bool,
}

/// A request of the polyfill. Dropping it aborts the request; its callbacks then find nothing.
struct Conn {
    id: RequestId,
    // Dropped first: aborting the request detaches its handlers before the callbacks go.
    exchange: Exchange,
    _done: Pending,
    _on_text: Closure<dyn Fn(JsValue)>,
    /// The machine was told the status and headers.
    head: bool,
}

/// What a request did, queued for the next turn.
enum Inbound {
    /// A piece of the response text; the first (`""` or more) comes once the headers are in.
    Text(String),
    /// The request ended: what its `done` promise resolved to ([`Exchange::outcome`]).
    Done(JsValue),
}

/// What one step of [`Poly::turn`] hands over for delivery, outside the state's borrow.
struct Turned {
    events: Vec<MachineEvent>,
    last_event_id: String,
    closed: bool,
    /// Finished or aborted requests, dropped with no borrow held.
    _released: Vec<Conn>,
}

impl Poly {
    /// Queues what request `id` did and turns.
    fn push(&self, id: RequestId, inbound: Inbound) {
        if let Ok(mut inbox) = self.inbox.try_borrow_mut() {
            inbox.push_back((id, inbound));
        }
        self.turn();
    }

    /// Feeds the machine what the request and the timer did, carries out its actions,
    /// delivers its events and re-arms the timer, until nothing is left. Called by every
    /// callback; a call while a turn runs up the stack (a listener's doing) only asks that turn
    /// to go round again, so events never nest or reorder.
    fn turn(&self) {
        if self.busy.replace(true) {
            self.again.set(true);
            return;
        }
        loop {
            self.again.set(false);
            let Some(turned) = self.step() else {
                break;
            };
            let stopped = self.deliver(turned.events, turned.closed);
            // An id sent without data still moves the last event ID.
            if !stopped {
                let mut id = self.shared.last_event_id.borrow_mut();
                if *id != turned.last_event_id {
                    *id = turned.last_event_id;
                }
            }
            if stopped || turned.closed || self.shared.state.get() == ReadyState::Closed {
                self.stop();
                break;
            }
            if !self.again.get() {
                break;
            }
        }
        self.busy.set(false);
    }

    /// One pass under the state's borrow; `None` once closed.
    fn step(&self) -> Option<Turned> {
        let mut guard = self.st.try_borrow_mut().ok()?;
        let st = &mut *guard;
        if st.done {
            return None;
        }
        let now = now();
        let mut released = Vec::new();
        if self.timer_fired.replace(false) {
            st.timer = None;
            st.machine.handle_timeout(now);
        }
        while let Some((id, inbound)) = self
            .inbox
            .try_borrow_mut()
            .ok()
            .and_then(|mut inbox| inbox.pop_front())
        {
            // A request replaced or aborted since: what it did no longer counts.
            let Some(conn) = st.conn.as_mut().filter(|c| c.id == id) else {
                continue;
            };
            if !conn.head {
                let head = conn.exchange.head();
                // No status: the request failed before a response (its end tells how).
                if head.status() != 0 {
                    conn.head = true;
                    st.machine.handle_response(now, id, head);
                }
            }
            match inbound {
                Inbound::Text(text) => {
                    if !text.is_empty() {
                        st.machine.handle_chunk(now, id, &text);
                    }
                }
                Inbound::Done(outcome) => {
                    let result = conn.exchange.outcome(&outcome);
                    released.extend(st.conn.take());
                    match result {
                        Ok(_) => st.machine.handle_end(now, id),
                        Err(error) => st.machine.handle_error(now, id, error),
                    }
                }
            }
        }
        while let Some(action) = st.machine.poll_action() {
            match action {
                Action::Open {
                    id,
                    url,
                    last_event_id_header,
                } => {
                    released.extend(st.conn.take());
                    match self.open(id, &url, last_event_id_header.as_deref()) {
                        Ok(conn) => st.conn = Some(conn),
                        Err(error) => st.machine.handle_error(now, id, error),
                    }
                }
                Action::Abort { id } => {
                    if st.conn.as_ref().is_some_and(|c| c.id == id) {
                        released.extend(st.conn.take());
                    }
                }
            }
        }
        self.shared.set(st.machine.ready_state());
        let events = std::iter::from_fn(|| st.machine.poll_event()).collect();
        let closed = st.machine.ready_state() == ReadyState::Closed;
        match st.machine.poll_timeout() {
            Some(due) if !st.timer.as_ref().is_some_and(|(at, _)| *at == due) => {
                // +1: a timer that fires a fraction early would find the deadline not reached.
                let ms =
                    u32::try_from(due.saturating_sub(now).saturating_add(1)).unwrap_or(u32::MAX);
                let me = self.me.clone();
                st.timer = Some((
                    due,
                    Timeout::new(ms, move || {
                        if let Some(poly) = me.upgrade() {
                            poly.timer_fired.set(true);
                            poly.turn();
                        }
                    }),
                ));
            }
            Some(_) => {}
            None => st.timer = None,
        }
        Some(Turned {
            events,
            last_event_id: st.machine.last_event_id().to_owned(),
            closed,
            _released: released,
        })
    }

    /// Starts request `id` of `url`, its text and its end queued for the turns.
    fn open(&self, id: RequestId, url: &str, last_event_id: Option<&str>) -> Result<Conn, Error> {
        let me = self.me.clone();
        let on_text = Closure::<dyn Fn(JsValue)>::new(move |text: JsValue| {
            if let Some(poly) = me.upgrade() {
                poly.push(id, Inbound::Text(text.as_string().unwrap_or_default()));
            }
        });
        let exchange = self
            .config
            .start(url, last_event_id, on_text.as_ref().unchecked_ref())?;
        let me = self.me.clone();
        let done = exchange.when_done(move |outcome| {
            if let Some(poly) = me.upgrade() {
                poly.push(id, Inbound::Done(outcome));
            }
        });
        Ok(Conn {
            id,
            exchange,
            _done: done,
            _on_text: on_text,
            head: false,
        })
    }

    /// Delivers `events` in order; `true` when a listener closed the source (nothing more is
    /// delivered, not even the rest of these).
    fn deliver(&self, events: Vec<MachineEvent>, machine_closed: bool) -> bool {
        for event in events {
            if self.shared.state.get() == ReadyState::Closed && !machine_closed {
                return true;
            }
            (self.out)(match event {
                MachineEvent::Open => SseEvent::Open,
                MachineEvent::Error { fatal, error } => SseEvent::Error { fatal, error },
                MachineEvent::Message(event) => {
                    self.shared
                        .last_event_id
                        .borrow_mut()
                        .clone_from(&event.last_event_id);
                    if !self.shared.wants(&event.event_type) {
                        continue;
                    }
                    SseEvent::Message(SseMessage {
                        event_type: event.event_type,
                        data: event.data,
                        last_event_id: event.last_event_id,
                        origin: self.origin.clone(),
                    })
                }
            });
        }
        false
    }

    /// Closed for good: the machine, the request and the timer are done with.
    fn stop(&self) {
        let released = match self.st.try_borrow_mut() {
            Ok(mut st) => {
                st.done = true;
                st.machine.close();
                (st.conn.take(), st.timer.take())
            }
            Err(_) => (None, None),
        };
        drop(released);
    }
}
