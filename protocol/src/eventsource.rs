//! The EventSource polyfill's connection policy as a sans-IO state machine: when to connect,
//! which responses are accepted, when to reconnect and after how long, what the last event ID
//! sent on a reconnection is, when to give up, and the `readyState` that results.
//!
//! It follows quinn-proto's model, like [`crate::session`]. The driver (the XHR polyfill in the
//! browser crate's `transport::eventsource`) calls [`Machine::connect`] once, then carries out
//! [`Machine::poll_action`] (open a request, abort it), reports what the request does through
//! `handle_*` calls given the current time in ms, tells the user [`Machine::poll_event`], and
//! arms one timer at [`Machine::poll_timeout`], calling [`Machine::handle_timeout`] when it
//! fires. Randomness (the backoff jitter) comes from a function the driver injects.
//!
//! # Rules
//!
//! * A response opens the source only with status **200** and a `Content-Type` that
//!   [`sse::is_event_stream`] accepts. Any other status (204, the WHATWG way for a server to say
//!   "stop", other 2xx, 3xx such as 304, 4xx, 5xx) is fatal with an [`Error`] of kind `http`
//!   holding the response; a wrong `Content-Type` is fatal with kind `protocol`. Fatal means
//!   closed: no reconnection follows.
//! * A request that fails before its response with a **network** error (status 0: refused,
//!   reset, CORS) is retried; any other failure before the response (refused by secure-only
//!   mode, for example) is fatal. Once the response has opened, its end or any error while
//!   streaming schedules a reconnection.
//! * Reconnections wait an exponential backoff ([`Backoff`]) that starts at the retry time
//!   (the option, then each `retry:` field the server sends), doubles per failed attempt up to
//!   the maximum delay (never below the retry time), with up to 50 % added at random. A
//!   successful open resets the attempt count. After `max_retries` attempts in a row the source
//!   closes with a fatal error naming the last failure.
//! * Every request carries the last event ID (the starting one from the config, then the
//!   server's `id:` fields, including an `id` sent without data): as the `Last-Event-ID` header
//!   when it is not empty, or as a query parameter when one is configured.
//! * `readyState`: `Connecting` while a request is under way or a reconnection is waiting,
//!   `Open` once a response was accepted, `Closed` after a fatal error or [`Machine::close`]
//!   (final: nothing reopens it). There is no idle timeout: like a native `EventSource`, an
//!   open stream stays open until the server or the network ends it.

use std::collections::VecDeque;

use crate::backoff::{Backoff, Retries};
use crate::error::{concat, HttpResponse};
use crate::sse::{self, Output, Parser};
use crate::Error;

/// The first reconnection delay when neither the config nor the server set one (what Chromium
/// uses natively).
pub const DEFAULT_RETRY_MS: u32 = 3_000;

/// The default upper bound for reconnection delays.
pub const DEFAULT_MAX_RETRY_DELAY_MS: u32 = 30_000;

/// The connection state, numbered like
/// [`EventSource.readyState`](https://developer.mozilla.org/docs/Web/API/EventSource/readyState).
///
/// ```
/// use cometkit_protocol::eventsource::ReadyState;
///
/// assert_eq!(ReadyState::Open.as_u16(), 1);
/// assert_eq!(ReadyState::from_u16(2), ReadyState::Closed);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadyState {
    /// 0: connecting, or waiting to reconnect.
    Connecting,
    /// 1: the response is streaming events.
    Open,
    /// 2: closed by `close()` or by a fatal error; no reconnection follows.
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

    /// The state for a browser's numeric value; anything above 1 is `Closed`.
    pub fn from_u16(n: u16) -> Self {
        match n {
            0 => ReadyState::Connecting,
            1 => ReadyState::Open,
            _ => ReadyState::Closed,
        }
    }
}

/// What the [`Machine`] needs to know: where to connect and the reconnection policy. The
/// request's method, headers, body and credentials are the driver's business.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The absolute URL of the event stream.
    pub url: String,
    /// The last event ID to start from, as if the server had sent it (`None`: none).
    pub last_event_id: Option<String>,
    /// Send the last event ID as this query parameter instead of the `Last-Event-ID` header.
    pub last_event_id_param: Option<String>,
    /// The first reconnection delay in ms until the server sends `retry`.
    pub retry_ms: u32,
    /// The largest reconnection delay in ms (raised to the retry time when below it).
    pub max_retry_delay_ms: u32,
    /// Reconnection attempts in a row before giving up (`None`: no limit).
    pub max_retries: Option<u32>,
}

impl Config {
    /// A config for `url` with the defaults: no starting ID, the `Last-Event-ID` header,
    /// [`DEFAULT_RETRY_MS`], [`DEFAULT_MAX_RETRY_DELAY_MS`], no retry limit.
    pub fn new(url: impl Into<String>) -> Self {
        Config {
            url: url.into(),
            last_event_id: None,
            last_event_id_param: None,
            retry_ms: DEFAULT_RETRY_MS,
            max_retry_delay_ms: DEFAULT_MAX_RETRY_DELAY_MS,
            max_retries: None,
        }
    }
}

/// Names one request the machine asked for; the driver passes it back with every input about
/// that request, so late news from an abandoned one is ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RequestId(u32);

impl RequestId {
    /// The number behind the id (for logs).
    pub fn get(self) -> u32 {
        self.0
    }
}

/// Something the driver must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Start a streaming request (with the driver's method, headers, body, `Accept:
    /// text/event-stream`). Report its response with [`Machine::handle_response`], its text
    /// with [`Machine::handle_chunk`], and its end with [`Machine::handle_end`] or
    /// [`Machine::handle_error`].
    Open {
        /// The request's id.
        id: RequestId,
        /// The URL, with the last event ID as a query parameter when so configured.
        url: String,
        /// The `Last-Event-ID` header to send, already as a byte string
        /// ([`sse::utf8_as_byte_string`]); `None`: send none.
        last_event_id_header: Option<String>,
    },
    /// Abort the request and release it; the machine wants nothing more from it.
    Abort {
        /// The request's id.
        id: RequestId,
    },
}

/// Something to tell the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A response was accepted (after each (re)connection).
    Open,
    /// An event arrived (all types: filtering by type is the driver's).
    Message(sse::Event),
    /// The connection failed or dropped. When `fatal` the source is closed and this is the last
    /// event; otherwise a reconnection is scheduled.
    Error {
        /// True when no reconnection follows.
        fatal: bool,
        /// The cause, when there was one (a response that just ended has none).
        error: Option<Error>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// [`Machine::connect`] not called yet.
    Idle,
    /// A request is under way; no response yet.
    Requesting(RequestId),
    /// The response was accepted and is streaming.
    Open(RequestId),
    /// Waiting out a reconnection delay.
    Waiting { until: u64 },
    /// Closed for good.
    Closed,
}

/// The EventSource polyfill's state machine. See the [module docs](self).
///
/// ```
/// use cometkit_protocol::eventsource::{Action, Config, Event, Machine, ReadyState};
/// use cometkit_protocol::{Error, HttpResponse};
/// use cometkit_protocol::headers::Headers;
///
/// let mut config = Config::new("https://example.com/events");
/// config.retry_ms = 1_000;
/// let mut es = Machine::new(config, Box::new(|| 0.0));
/// es.connect(0);
/// let Some(Action::Open { id, .. }) = es.poll_action() else { panic!() };
///
/// let mut headers = Headers::default();
/// headers.append("content-type", "text/event-stream");
/// es.handle_response(5, id, HttpResponse::new(200, "OK", headers, "", None));
/// assert_eq!(es.poll_event(), Some(Event::Open));
/// es.handle_chunk(6, id, "id: 7\ndata: hi\n\n");
/// assert!(matches!(es.poll_event(), Some(Event::Message(m)) if m.data == "hi"));
///
/// // The network drops: a reconnection after the retry time, resuming from id 7.
/// es.handle_error(10, id, Error::network("reset"));
/// assert!(matches!(es.poll_event(), Some(Event::Error { fatal: false, .. })));
/// assert_eq!(es.ready_state(), ReadyState::Connecting);
/// assert_eq!(es.poll_timeout(), Some(1_010));
/// es.handle_timeout(1_010);
/// assert!(matches!(
///     es.poll_action(),
///     Some(Action::Open { last_event_id_header: Some(h), .. }) if h == "7"
/// ));
/// ```
pub struct Machine {
    url: String,
    param: Option<String>,
    parser: Parser,
    retries: Retries,
    random: Box<dyn FnMut() -> f64>,
    phase: Phase,
    next_id: u32,
    actions: VecDeque<Action>,
    events: VecDeque<Event>,
}

impl Machine {
    /// A machine for `config`, idle until [`connect`](Self::connect). `random` returns uniform
    /// numbers in `[0, 1)` for the backoff jitter (`Math.random` in a browser).
    pub fn new(config: Config, random: Box<dyn FnMut() -> f64>) -> Self {
        let mut parser = Parser::for_text();
        if let Some(id) = &config.last_event_id {
            parser.set_last_event_id(id);
        }
        let backoff = Backoff {
            min: config.retry_ms,
            max: config.max_retry_delay_ms.max(config.retry_ms),
            factor: 2.0,
            jitter: 0.5,
        };
        Machine {
            url: config.url,
            param: config.last_event_id_param,
            parser,
            retries: Retries::new(backoff, config.max_retries),
            random,
            phase: Phase::Idle,
            next_id: 0,
            actions: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    /// Starts the first request. Only the first call does anything.
    pub fn connect(&mut self, _now: u64) {
        if self.phase == Phase::Idle {
            self.open_request();
        }
    }

    /// Closes the source for good: aborts a request under way, cancels a waiting
    /// reconnection, and reports nothing more (no event: the user asked for it). Idempotent.
    pub fn close(&mut self) {
        if let Phase::Requesting(id) | Phase::Open(id) = self.phase {
            self.actions.push_back(Action::Abort { id });
        }
        self.phase = Phase::Closed;
        self.events.clear();
    }

    /// The request `id` got its response headers. Accepted (status 200 and an event-stream
    /// `Content-Type`), the source opens; otherwise it closes with a fatal error and the
    /// request is to be aborted.
    pub fn handle_response(&mut self, _now: u64, id: RequestId, response: HttpResponse) {
        if self.phase != Phase::Requesting(id) {
            return;
        }
        if response.status() != 200 {
            // 2xx other than 200 (204 is how a server says "stop") and 304 are fatal too.
            self.actions.push_back(Action::Abort { id });
            return self.fail(Error::http(response));
        }
        let content_type = response.headers().get("content-type").unwrap_or_default();
        if !sse::is_event_stream(content_type) {
            let shown = if content_type.is_empty() {
                "none"
            } else {
                content_type
            };
            let error = Error::protocol(concat(&[
                "EventSource response has Content-Type ",
                shown,
                ", not text/event-stream",
            ]));
            self.actions.push_back(Action::Abort { id });
            return self.fail(error);
        }
        self.phase = Phase::Open(id);
        self.retries.reset();
        self.events.push_back(Event::Open);
    }

    /// The next piece of the response text of request `id` (decoded text, split anywhere).
    /// Queues its events; `retry` fields change the reconnection delay and `id` fields the
    /// last event ID.
    pub fn handle_chunk(&mut self, _now: u64, id: RequestId, text: &str) {
        if self.phase != Phase::Open(id) {
            return;
        }
        self.parser.feed_str(text);
        while let Some(output) = self.parser.poll() {
            match output {
                Output::Retry(ms) => {
                    let backoff = &mut self.retries.backoff;
                    backoff.min = ms;
                    backoff.max = backoff.max.max(ms);
                }
                Output::Event(event) => self.events.push_back(Event::Message(event)),
            }
        }
    }

    /// The response of request `id` ended normally: reconnect after the delay.
    pub fn handle_end(&mut self, now: u64, id: RequestId) {
        if let Phase::Requesting(current) | Phase::Open(current) = self.phase {
            if current == id {
                self.reconnect(now, None);
            }
        }
    }

    /// Request `id` failed. Before its response only a network error is retried (anything
    /// else is fatal); once open, any error schedules a reconnection.
    pub fn handle_error(&mut self, now: u64, id: RequestId, error: Error) {
        match self.phase {
            Phase::Requesting(current) if current == id => {
                if error.is_network() {
                    self.reconnect(now, Some(error));
                } else {
                    self.fail(error);
                }
            }
            Phase::Open(current) if current == id => self.reconnect(now, Some(error)),
            _ => {}
        }
    }

    /// The timer armed at [`poll_timeout`](Self::poll_timeout) fired (early or late calls
    /// are fine: nothing happens before the deadline).
    pub fn handle_timeout(&mut self, now: u64) {
        if let Phase::Waiting { until } = self.phase {
            if now >= until {
                self.open_request();
            }
        }
    }

    /// When to call [`handle_timeout`](Self::handle_timeout), in ms; `None`: no timer.
    pub fn poll_timeout(&self) -> Option<u64> {
        match self.phase {
            Phase::Waiting { until } => Some(until),
            _ => None,
        }
    }

    /// The next thing for the driver to do, oldest first.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// The next thing to tell the user, oldest first.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// The current state.
    pub fn ready_state(&self) -> ReadyState {
        match self.phase {
            Phase::Open(_) => ReadyState::Open,
            Phase::Closed => ReadyState::Closed,
            Phase::Idle | Phase::Requesting(_) | Phase::Waiting { .. } => ReadyState::Connecting,
        }
    }

    /// The last event ID: what the next request sends. It moves with every `id` field,
    /// including one sent without data.
    pub fn last_event_id(&self) -> &str {
        self.parser.last_event_id()
    }

    /// The first reconnection delay in force (the config's, or the server's last `retry`).
    pub fn retry_ms(&self) -> u32 {
        self.retries.backoff.min
    }

    fn open_request(&mut self) {
        self.next_id = self.next_id.wrapping_add(1);
        let id = RequestId(self.next_id);
        let last_event_id = self.parser.last_event_id();
        let (url, last_event_id_header) = match &self.param {
            Some(name) => (
                sse::url_with_last_event_id(&self.url, name, last_event_id),
                None,
            ),
            None if last_event_id.is_empty() => (self.url.clone(), None),
            None => (
                self.url.clone(),
                Some(sse::utf8_as_byte_string(last_event_id)),
            ),
        };
        self.phase = Phase::Requesting(id);
        self.actions.push_back(Action::Open {
            id,
            url,
            last_event_id_header,
        });
    }

    /// Closed by a fatal error.
    fn fail(&mut self, error: Error) {
        self.parser.finish();
        self.phase = Phase::Closed;
        self.events.push_back(Event::Error {
            fatal: true,
            error: Some(error),
        });
    }

    /// The connection is lost: wait and reconnect, or give up after `max_retries`.
    fn reconnect(&mut self, now: u64, cause: Option<Error>) {
        self.parser.finish();
        let random01 = (self.random)();
        let Some(delay) = self.retries.next(random01) else {
            let error = cause.unwrap_or_else(|| Error::network("the event stream ended"));
            let error = Error::new(
                error.kind(),
                concat(&[
                    "gave up reconnecting (maxRetries reached); last failure: ",
                    error.message(),
                ]),
            );
            self.phase = Phase::Closed;
            self.events.push_back(Event::Error {
                fatal: true,
                error: Some(error),
            });
            return;
        };
        self.phase = Phase::Waiting {
            until: now.saturating_add(u64::from(delay)),
        };
        self.events.push_back(Event::Error {
            fatal: false,
            error: cause,
        });
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::headers::Headers;
    use crate::ErrorKind;

    fn response(status: u16, content_type: Option<&str>) -> HttpResponse {
        let mut headers = Headers::default();
        if let Some(ct) = content_type {
            headers.append("Content-Type", ct);
        }
        HttpResponse::new(status, "Status", headers, "", None)
    }

    fn ok() -> HttpResponse {
        response(200, Some("text/event-stream"))
    }

    /// A machine with a simulated clock and a scripted random source.
    struct Sim {
        m: Machine,
        now: u64,
    }

    impl Sim {
        fn new(config: Config, random: f64) -> Sim {
            Sim {
                m: Machine::new(config, Box::new(move || random)),
                now: 0,
            }
        }

        fn with_random(config: Config, random: Box<dyn FnMut() -> f64>) -> Sim {
            Sim {
                m: Machine::new(config, random),
                now: 0,
            }
        }

        /// The `Open` action the machine must have asked for.
        fn expect_open(&mut self) -> (RequestId, String, Option<String>) {
            match self.m.poll_action() {
                Some(Action::Open {
                    id,
                    url,
                    last_event_id_header,
                }) => (id, url, last_event_id_header),
                other => panic!("expected Open, got {other:?}"),
            }
        }

        /// Connects and opens a stream; returns its id.
        fn open(&mut self) -> RequestId {
            self.m.connect(self.now);
            let (id, ..) = self.expect_open();
            self.accept(id)
        }

        fn accept(&mut self, id: RequestId) -> RequestId {
            self.now += 5;
            self.m.handle_response(self.now, id, ok());
            assert_eq!(self.m.poll_event(), Some(Event::Open));
            assert_eq!(self.m.ready_state(), ReadyState::Open);
            id
        }

        fn events(&mut self) -> Vec<Event> {
            std::iter::from_fn(|| self.m.poll_event()).collect()
        }

        /// Advances the clock to the timer and fires it.
        fn fire(&mut self) {
            let at = self.m.poll_timeout().expect("a timer");
            assert!(at >= self.now);
            self.now = at;
            self.m.handle_timeout(self.now);
        }

        fn expect_fatal(&mut self) -> Error {
            match self.events().as_slice() {
                [Event::Error {
                    fatal: true,
                    error: Some(e),
                }] => {
                    assert_eq!(self.m.ready_state(), ReadyState::Closed);
                    assert_eq!(self.m.poll_timeout(), None);
                    e.clone()
                }
                other => panic!("expected one fatal error, got {other:?}"),
            }
        }
    }

    fn config() -> Config {
        Config::new("http://h/events?x=1")
    }

    #[test]
    fn starts_connecting_and_opens_on_200_event_stream() {
        let mut s = Sim::new(config(), 0.0);
        assert_eq!(s.m.ready_state(), ReadyState::Connecting);
        assert_eq!(s.m.poll_action(), None, "nothing before connect");
        s.m.connect(0);
        let (id, url, header) = s.expect_open();
        assert_eq!((url.as_str(), header), ("http://h/events?x=1", None));
        s.m.connect(1);
        assert_eq!(s.m.poll_action(), None, "connect is once");
        assert_eq!(s.m.ready_state(), ReadyState::Connecting);
        s.accept(id);
        assert_eq!(s.m.poll_timeout(), None);
        assert_eq!(s.m.poll_action(), None);
    }

    #[test]
    fn every_status_but_200_is_fatal_with_the_response() {
        for status in [
            201, 202, 204, 206, 299, 301, 302, 304, 400, 401, 404, 500, 502, 503,
        ] {
            let mut s = Sim::new(config(), 0.0);
            s.m.connect(0);
            let (id, ..) = s.expect_open();
            s.m.handle_response(1, id, response(status, Some("text/event-stream")));
            assert_eq!(s.m.poll_action(), Some(Action::Abort { id }));
            let e = s.expect_fatal();
            assert_eq!(e.kind(), ErrorKind::Http, "{status}");
            assert_eq!(e.status(), Some(status));
            assert_eq!(
                e.response().and_then(|r| r.headers().get("content-type")),
                Some("text/event-stream")
            );
            // Nothing more: no reconnection, late news ignored.
            s.m.handle_end(2, id);
            s.m.handle_timeout(1_000_000);
            assert_eq!(s.m.poll_action(), None);
            assert_eq!(s.m.poll_event(), None);
        }
    }

    #[test]
    fn wrong_or_missing_content_type_is_fatal() {
        for (ct, shown) in [
            (Some("text/plain"), "text/plain"),
            (Some("text/event-streams"), "text/event-streams"),
            (None, "none"),
            (Some(""), "none"),
        ] {
            let mut s = Sim::new(config(), 0.0);
            s.m.connect(0);
            let (id, ..) = s.expect_open();
            s.m.handle_response(1, id, response(200, ct));
            assert_eq!(s.m.poll_action(), Some(Action::Abort { id }));
            let e = s.expect_fatal();
            assert_eq!(e.kind(), ErrorKind::Protocol);
            assert_eq!(
                e.message(),
                concat(&[
                    "EventSource response has Content-Type ",
                    shown,
                    ", not text/event-stream"
                ])
            );
        }
        for ct in ["text/event-stream; charset=utf-8", "TEXT/Event-Stream;"] {
            let mut s = Sim::new(config(), 0.0);
            s.m.connect(0);
            let (id, ..) = s.expect_open();
            s.m.handle_response(1, id, response(200, Some(ct)));
            assert_eq!(s.m.poll_event(), Some(Event::Open), "{ct}");
        }
    }

    #[test]
    fn non_network_failure_before_the_response_is_fatal() {
        let mut s = Sim::new(config(), 0.0);
        s.m.connect(0);
        let (id, ..) = s.expect_open();
        s.m.handle_error(1, id, Error::invalid("secure-only refuses http:"));
        assert_eq!(s.expect_fatal().kind(), ErrorKind::Invalid);
        assert_eq!(s.m.poll_action(), None, "the failed request needs no abort");
    }

    #[test]
    fn network_errors_reconnect_with_backoff_within_jitter_bounds() {
        let mut c = config();
        c.retry_ms = 1_000;
        c.max_retry_delay_ms = 10_000;
        // Random numbers cycle through the whole [0, 1) range.
        let mut k = 0u32;
        let random = Box::new(move || {
            k += 1;
            f64::from(k % 10) / 10.0
        });
        let mut s = Sim::with_random(c, random);
        s.m.connect(0);
        let mut delays = Vec::new();
        for attempt in 0..8u32 {
            let (id, ..) = s.expect_open();
            s.now += 3;
            s.m.handle_error(s.now, id, Error::network("refused"));
            match s.events().as_slice() {
                [Event::Error {
                    fatal: false,
                    error: Some(e),
                }] => assert!(e.is_network()),
                other => panic!("{other:?}"),
            }
            assert_eq!(s.m.ready_state(), ReadyState::Connecting);
            assert_eq!(s.m.poll_action(), None, "no request while waiting");
            let at = s.m.poll_timeout().unwrap();
            let delay = at - s.now;
            let base = (1_000u64 << attempt).min(10_000);
            assert!(
                (base..=(base + base / 2).min(10_000)).contains(&delay),
                "attempt {attempt}: {delay} not within [{base}, 1.5 x {base}]"
            );
            delays.push(delay);
            // Early timer: nothing yet.
            s.m.handle_timeout(at - 1);
            assert_eq!(s.m.poll_action(), None);
            s.fire();
        }
        assert!(delays.windows(2).all(|w| w[0] <= w[1]), "{delays:?}");
        assert_eq!(*delays.last().unwrap(), 10_000);
    }

    #[test]
    fn an_open_resets_the_backoff_and_stream_errors_of_any_kind_reconnect() {
        let mut c = config();
        c.retry_ms = 100;
        let mut s = Sim::new(c, 0.0);
        s.m.connect(0);
        for _ in 0..3 {
            let (id, ..) = s.expect_open();
            s.m.handle_error(s.now, id, Error::network("refused"));
            s.events();
            s.fire();
        }
        let (id, ..) = s.expect_open();
        s.accept(id);
        s.m.handle_error(s.now, id, Error::timeout("stalled"));
        match s.events().as_slice() {
            [Event::Error {
                fatal: false,
                error: Some(e),
            }] => assert!(e.is_timeout()),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            s.m.poll_timeout(),
            Some(s.now + 100),
            "back to the first delay"
        );
        // A clean end reconnects too, without a cause.
        s.fire();
        let (id, ..) = s.expect_open();
        s.accept(id);
        s.m.handle_end(s.now, id);
        assert_eq!(
            s.events(),
            vec![Event::Error {
                fatal: false,
                error: None
            }]
        );
        assert_eq!(s.m.poll_timeout(), Some(s.now + 100));
    }

    #[test]
    fn server_retry_sets_the_delay_and_raises_the_maximum() {
        let mut c = config();
        c.retry_ms = 1_000;
        c.max_retry_delay_ms = 2_000;
        let mut s = Sim::new(c, 0.0);
        let id = s.open();
        s.m.handle_chunk(s.now, id, "retry: 50\n\n");
        assert_eq!(s.m.retry_ms(), 50);
        s.m.handle_end(s.now, id);
        s.events();
        assert_eq!(s.m.poll_timeout(), Some(s.now + 50));
        s.fire();
        let (id, ..) = s.expect_open();
        s.accept(id);
        // Bogus retry values are ignored; a large one lifts the maximum.
        s.m.handle_chunk(s.now, id, "retry: 7x\n\nretry: 5000\n\n");
        assert_eq!(s.m.retry_ms(), 5_000);
        s.m.handle_end(s.now, id);
        s.events();
        assert_eq!(s.m.poll_timeout(), Some(s.now + 5_000));
        s.fire();
        let (id, ..) = s.expect_open();
        s.m.handle_error(s.now, id, Error::network("refused"));
        s.events();
        assert_eq!(
            s.m.poll_timeout(),
            Some(s.now + 5_000),
            "capped at the raised max"
        );
    }

    #[test]
    fn messages_and_the_last_event_id_carry_into_the_reconnect_header() {
        let mut c = config();
        c.last_event_id = Some("start".into());
        let mut s = Sim::new(c, 0.0);
        s.m.connect(0);
        let (id, _, header) = s.expect_open();
        assert_eq!(
            header.as_deref(),
            Some("start"),
            "the starting id is sent at once"
        );
        s.accept(id);
        s.m.handle_chunk(s.now, id, "id: 1\ndata: a\n\nevent: x\nda");
        s.m.handle_chunk(s.now, id, "ta: b\n\nid: é\n\n");
        let got: Vec<(String, String, String)> = s
            .events()
            .into_iter()
            .map(|e| match e {
                Event::Message(m) => (m.event_type, m.data, m.last_event_id),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("message".into(), "a".into(), "1".into()),
                ("x".into(), "b".into(), "1".into()),
            ]
        );
        // The id without data still moved the last event ID.
        assert_eq!(s.m.last_event_id(), "é");
        // An unfinished event is dropped when the stream ends.
        s.m.handle_chunk(s.now, id, "id: 9\ndata: lost");
        s.m.handle_end(s.now, id);
        s.events();
        s.fire();
        let (_, url, header) = s.expect_open();
        assert_eq!(url, "http://h/events?x=1");
        // UTF-8 bytes one per char, as XHR's ByteString header puts them on the wire.
        assert_eq!(header.as_deref(), Some("\u{c3}\u{a9}"));
        assert_eq!(s.m.last_event_id(), "é");
    }

    #[test]
    fn last_event_id_query_parameter_replaces_the_header() {
        let mut c = config();
        c.last_event_id_param = Some("lastEventId".into());
        let mut s = Sim::new(c, 0.0);
        s.m.connect(0);
        let (id, url, header) = s.expect_open();
        assert_eq!((url.as_str(), header), ("http://h/events?x=1", None));
        s.accept(id);
        s.m.handle_chunk(s.now, id, "id: a b\ndata: x\n\n");
        s.m.handle_error(s.now, id, Error::network("reset"));
        s.events();
        s.fire();
        let (_, url, header) = s.expect_open();
        assert_eq!(url, "http://h/events?x=1&lastEventId=a%20b");
        assert_eq!(header, None);
        // An empty id resets it: no parameter at all.
        let id = s.accept(RequestId(s.m.next_id));
        s.m.handle_chunk(s.now, id, "id\n\n");
        s.m.handle_end(s.now, id);
        s.events();
        s.fire();
        assert_eq!(s.expect_open().1, "http://h/events?x=1");
    }

    #[test]
    fn max_retries_gives_up_with_the_last_failure() {
        let mut c = config();
        c.max_retries = Some(2);
        c.retry_ms = 10;
        let mut s = Sim::new(c, 0.5);
        s.m.connect(0);
        for _ in 0..2 {
            let (id, ..) = s.expect_open();
            s.m.handle_error(s.now, id, Error::network("refused"));
            assert!(matches!(
                s.events().as_slice(),
                [Event::Error { fatal: false, .. }]
            ));
            s.fire();
        }
        let (id, ..) = s.expect_open();
        s.m.handle_error(s.now, id, Error::network("refused"));
        let e = s.expect_fatal();
        assert_eq!(e.kind(), ErrorKind::Network);
        assert_eq!(
            e.message(),
            "gave up reconnecting (maxRetries reached); last failure: refused"
        );
        assert_eq!(s.m.poll_action(), None);

        // A stream that just ended is reported as a network failure.
        let mut c = config();
        c.max_retries = Some(0);
        let mut s = Sim::new(c, 0.0);
        let id = s.open();
        s.m.handle_end(s.now, id);
        assert_eq!(
            s.expect_fatal().message(),
            "gave up reconnecting (maxRetries reached); last failure: the event stream ended"
        );
    }

    #[test]
    fn close_while_waiting_cancels_the_timer_and_close_while_open_aborts() {
        let mut s = Sim::new(config(), 0.0);
        s.m.connect(0);
        let (id, ..) = s.expect_open();
        s.m.handle_error(s.now, id, Error::network("refused"));
        assert!(s.m.poll_timeout().is_some());
        s.m.close();
        assert_eq!(s.m.ready_state(), ReadyState::Closed);
        assert_eq!(s.m.poll_timeout(), None);
        assert_eq!(s.m.poll_event(), None, "queued events are dropped on close");
        s.m.handle_timeout(u64::MAX);
        assert_eq!(s.m.poll_action(), None, "no reconnection after close");

        let mut s = Sim::new(config(), 0.0);
        let id = s.open();
        s.m.handle_chunk(s.now, id, "data: queued\n\n");
        s.m.close();
        assert_eq!(s.m.poll_action(), Some(Action::Abort { id }));
        assert_eq!(s.m.poll_event(), None);
        s.m.close();
        assert_eq!(s.m.poll_action(), None, "close is idempotent");
        // Late news from the aborted request is ignored.
        s.m.handle_chunk(s.now, id, "data: late\n\n");
        s.m.handle_end(s.now, id);
        s.m.handle_error(s.now, id, Error::network("x"));
        assert_eq!((s.m.poll_event(), s.m.poll_action()), (None, None));
        assert_eq!(s.m.ready_state(), ReadyState::Closed);
    }

    #[test]
    fn no_reconnect_after_a_fatal_response_and_stale_ids_are_ignored() {
        let mut s = Sim::new(config(), 0.0);
        s.m.connect(0);
        let (old, ..) = s.expect_open();
        s.m.handle_error(s.now, old, Error::network("refused"));
        s.events();
        s.fire();
        let (id, ..) = s.expect_open();
        // News about the first request changes nothing.
        s.m.handle_response(s.now, old, ok());
        s.m.handle_error(s.now, old, Error::invalid("late"));
        assert_eq!(s.m.poll_event(), None);
        assert_eq!(s.m.ready_state(), ReadyState::Connecting);
        // A chunk before the response is not taken either.
        s.m.handle_chunk(s.now, id, "data: early\n\n");
        assert_eq!(s.m.poll_event(), None);
        s.m.handle_response(s.now, id, response(503, None));
        assert_eq!(s.expect_fatal().status(), Some(503));
        s.m.handle_timeout(u64::MAX);
        s.m.connect(u64::MAX);
        assert_eq!(s.m.poll_action(), Some(Action::Abort { id }));
        assert_eq!(s.m.poll_action(), None);
    }

    #[test]
    fn ready_state_numbers() {
        for (s, n) in [
            (ReadyState::Connecting, 0),
            (ReadyState::Open, 1),
            (ReadyState::Closed, 2),
        ] {
            assert_eq!(s.as_u16(), n);
            assert_eq!(ReadyState::from_u16(n), s);
        }
        assert_eq!(ReadyState::from_u16(9), ReadyState::Closed);
    }
}
