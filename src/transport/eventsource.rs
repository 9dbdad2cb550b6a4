//! [`EventSource`](https://developer.mozilla.org/docs/Web/API/EventSource) (Server-Sent Events)
//! as one Rust type over two engines:
//!
//! - **native**: the browser's `EventSource`, with its own reconnection;
//! - **polyfill**: XHR streaming ([`crate::transport::xhr::Request::stream`]) parsed by
//!   [`crate::protocol::sse`], which can do what the native object cannot: custom headers, a
//!   method and body (POST), a starting `Last-Event-ID`, and sending the last event ID as a
//!   query parameter so a cross-origin resume needs no CORS preflight. It reconnects with
//!   [`crate::protocol::backoff`], starting at the server's `retry` time.
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
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use futures_channel::mpsc::{self, UnboundedReceiver, UnboundedSender};
use futures_util::stream::{Stream, StreamExt};
use js_sys::Reflect;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{Event, MessageEvent};

use crate::protocol::backoff::{Backoff, Retries};
use crate::protocol::headers;
use crate::protocol::sse::{self, Output, Parser};
use crate::security::SecureOnly;
use crate::transport::listener::Listener;
use crate::error::HttpResponse;
use crate::transport::xhr::{Body, Request};
use crate::Error;

/// The connection state, as
/// [`EventSource.readyState`](https://developer.mozilla.org/docs/Web/API/EventSource/readyState).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadyState {
    /// 0: connecting, or waiting to reconnect.
    Connecting,
    /// 1: the response is streaming events.
    Open,
    /// 2: closed by [`EventSource::close`] or by a fatal error; no reconnection follows.
    Closed,
}

impl ReadyState {
    /// The numeric value the browser uses (0, 1, 2).
    pub fn as_u16(self) -> u16 {
        match self {
            ReadyState::Connecting => 0,
            ReadyState::Open => 1,
            ReadyState::Closed => 2,
        }
    }

    fn from_u16(n: u16) -> Self {
        match n {
            0 => ReadyState::Connecting,
            1 => ReadyState::Open,
            _ => ReadyState::Closed,
        }
    }
}

/// Which engine to use.
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

/// The polyfill's first reconnection delay when neither the options nor the server set one
/// (what Chromium uses natively).
pub const DEFAULT_RETRY_MS: u32 = 3_000;

/// The polyfill's default upper bound for reconnection delays.
pub const DEFAULT_MAX_RETRY_DELAY_MS: u32 = 30_000;

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
    #[cfg(feature = "js")]
    pub(crate) fn ready_state(&self) -> ReadyState {
        self.state.get()
    }

    /// Closed for good.
    pub(crate) fn close(&self) {
        self.state.set(ReadyState::Closed);
    }

    /// The last event ID (for the JS core).
    #[cfg(feature = "js")]
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
    let has_native =
        Reflect::has(&js_sys::global(), &JsValue::from_str("EventSource")).unwrap_or(false);
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

/// The polyfill at `url` (already resolved by [`prepare`]): connects, streams and
/// reconnects until a fatal error, reporting through `shared` and `out`. Dropping the future
/// aborts its request and clears its timer.
pub(crate) fn polyfill(
    url: String,
    options: EventSourceOptions,
    shared: Rc<Shared>,
    out: Out,
) -> impl Future<Output = ()> {
    for t in &options.event_types {
        shared.add_type(t);
    }
    drive(Config::new(url, options), shared, out)
}

/// The origin of `url` (the polyfill's `MessageEvent.origin`: the request URL's).
pub(crate) fn origin_of(url: &str) -> String {
    web_sys::Url::new(url)
        .map(|u| u.origin())
        .unwrap_or_default()
}

/// An open EventSource; see the module docs. Read events with [`EventSource::next`]. Dropping it closes the
/// connection and removes its listeners.
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
    /// The driver future; `None` once it finished.
    Polyfill(Option<Pin<Box<dyn Future<Output = ()>>>>),
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
            Engine::Polyfill(Some(Box::pin(self::polyfill(
                url.clone(),
                options,
                shared.clone(),
                out,
            ))))
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
    /// fatal error). The polyfill makes progress only while it is being polled, so keep
    /// reading.
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
        self.shared.state.set(ReadyState::Closed);
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
        if let Engine::Polyfill(slot) = &mut this.engine {
            if let Some(driver) = slot {
                if driver.as_mut().poll(cx).is_ready() {
                    *slot = None;
                }
            }
        }
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
// Polyfill engine

/// Everything one (re)connection of the polyfill needs.
struct Config {
    url: String,
    /// The origin reported on messages: the request URL's (the XHR stream does not expose
    /// the URL after redirects).
    origin: String,
    method: String,
    headers: Vec<(String, String)>,
    body: Option<String>,
    with_credentials: bool,
    last_event_id: Option<String>,
    param: Option<String>,
    backoff: Backoff,
    max_retries: Option<u32>,
    secure_only: SecureOnly,
}

impl Config {
    fn new(url: String, o: EventSourceOptions) -> Config {
        let retry = o.retry.unwrap_or(DEFAULT_RETRY_MS);
        let origin = origin_of(&url);
        Config {
            url,
            origin,
            method: o.method.unwrap_or_else(|| "GET".to_owned()),
            headers: o.headers,
            body: o.body,
            with_credentials: o.with_credentials,
            last_event_id: o.last_event_id,
            param: o.last_event_id_param,
            backoff: Backoff {
                min: retry,
                max: o
                    .max_retry_delay
                    .unwrap_or(DEFAULT_MAX_RETRY_DELAY_MS)
                    .max(retry),
                factor: 2.0,
                jitter: 0.5,
            },
            max_retries: o.max_retries,
            secure_only: o.secure_only.unwrap_or_default(),
        }
    }

    /// The URL of the next request: with the last event ID as a query parameter if asked.
    fn request_url(&self, last_event_id: &str) -> String {
        match &self.param {
            Some(name) => sse::url_with_last_event_id(&self.url, name, last_event_id),
            None => self.url.clone(),
        }
    }
}

/// How one connection ended.
enum Ended {
    /// Reconnect (the stream ended or dropped); the cause if it was an error.
    Reconnect(Option<Error>),
    /// Give up.
    Fatal(Error),
}

/// The polyfill: connect, stream, reconnect, until a fatal error (or until dropped).
async fn drive(cfg: Config, shared: Rc<Shared>, out: Out) {
    let mut parser = Parser::for_text();
    if let Some(id) = &cfg.last_event_id {
        parser.set_last_event_id(id);
    }
    let mut retries = Retries::new(cfg.backoff, cfg.max_retries);
    loop {
        shared.set(ReadyState::Connecting);
        let ended = connect(&cfg, &shared, &out, &mut parser, &mut retries).await;
        parser.finish();
        let cause = match ended {
            Ended::Fatal(error) => {
                shared.close();
                return out(SseEvent::Error {
                    fatal: true,
                    error: Some(error),
                });
            }
            Ended::Reconnect(cause) => cause,
        };
        shared.set(ReadyState::Connecting);
        let Some(delay) = retries.next(js_sys::Math::random()) else {
            shared.close();
            let error = cause.unwrap_or_else(|| Error::network("the event stream ended"));
            let error = Error::new(
                error.kind(),
                [
                    "gave up reconnecting (maxRetries reached); last failure: ",
                    error.message(),
                ]
                .concat(),
            );
            return out(SseEvent::Error {
                fatal: true,
                error: Some(error),
            });
        };
        out(SseEvent::Error {
            fatal: false,
            error: cause,
        });
        gloo_timers::future::TimeoutFuture::new(delay).await;
    }
}

/// One connection: request, check the response, stream events until the response ends.
async fn connect(
    cfg: &Config,
    shared: &Shared,
    out: &Out,
    parser: &mut Parser,
    retries: &mut Retries,
) -> Ended {
    let last_event_id = parser.last_event_id().to_owned();
    let mut request = Request::new(&cfg.method, &cfg.request_url(&last_event_id))
        .header("Accept", "text/event-stream")
        .with_credentials(cfg.with_credentials)
        .secure_only(cfg.secure_only)
        // The event stream is UTF-8 whatever its charset parameter says.
        .override_mime_type("text/event-stream; charset=utf-8");
    for (name, value) in &cfg.headers {
        request = request.header(name, value);
    }
    if cfg.param.is_none() && !last_event_id.is_empty() {
        request = request.header("Last-Event-ID", &sse::utf8_as_byte_string(&last_event_id));
    }
    if let Some(body) = &cfg.body {
        request = request.body(Body::Text(body.clone()));
    }
    let mut stream = match request.stream().await {
        Ok(stream) => stream,
        // Only a network failure (status 0: refused, reset, CORS) is worth retrying.
        Err(e) if e.is_network() => return Ended::Reconnect(Some(e)),
        Err(e) => return Ended::Fatal(e),
    };
    let status = stream.status();
    if status != 200 {
        // 2xx other than 200 (204 is how a server says "stop") and 304 are fatal too.
        let response = HttpResponse::new(
            status,
            stream.status_text(),
            stream.headers().clone(),
            "",
            None,
        );
        return Ended::Fatal(Error::http(response));
    }
    let content_type = stream.headers().get("content-type").unwrap_or_default();
    if !sse::is_event_stream(content_type) {
        let shown = if content_type.is_empty() {
            "none"
        } else {
            content_type
        };
        return Ended::Fatal(Error::protocol(
            [
                "EventSource response has Content-Type ",
                shown,
                ", not text/event-stream",
            ]
            .concat(),
        ));
    }
    shared.set(ReadyState::Open);
    retries.reset();
    out(SseEvent::Open);
    while let Some(chunk) = stream.next().await {
        let text = match chunk {
            Ok(text) => text,
            Err(e) => return Ended::Reconnect(Some(e)),
        };
        parser.feed_str(&text);
        while let Some(output) = parser.poll() {
            match output {
                Output::Retry(ms) => {
                    retries.backoff.min = ms;
                    retries.backoff.max = retries.backoff.max.max(ms);
                }
                Output::Event(event) => {
                    shared
                        .last_event_id
                        .borrow_mut()
                        .clone_from(&event.last_event_id);
                    if shared.wants(&event.event_type) {
                        out(SseEvent::Message(SseMessage {
                            event_type: event.event_type,
                            data: event.data,
                            last_event_id: event.last_event_id,
                            origin: cfg.origin.clone(),
                        }));
                    }
                }
            }
        }
        // An id sent without data still moves the last event ID.
        let id = parser.last_event_id();
        if *shared.last_event_id.borrow() != id {
            shared.last_event_id.borrow_mut().replace_range(.., id);
        }
    }
    Ended::Reconnect(None)
}
