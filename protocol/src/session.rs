//! The SockJS session state machine: the whole behaviour of the negotiating socket, with no I/O
//! and no clock.
//!
//! It follows quinn-proto's model. The driver (the browser glue in `src/client/`) feeds inputs
//! through `handle_*` methods, each given the current time in milliseconds, then drains
//! [`Session::poll_action`] (requests to make: fetch `/info`, open or close a transport, post a
//! payload), [`Session::poll_event`] (what to tell the user) and arms one timer at
//! [`Session::poll_timeout`], calling [`Session::handle_timeout`] when it fires. Randomness
//! (session ids, backoff jitter) comes from a function the driver injects.
//!
//! # Behaviour
//!
//! * **Connecting**: `GET <base>/info`, then the transports from [`ladder::candidates`] in order,
//!   each at `<base>/<server_id>/<session_id>/<transport>` with a fresh session id and a deadline
//!   of `max(timeout, RTO × round trips)`. An error or a missed deadline moves to the next rung;
//!   when none is left the socket closes with 2000 "All transports failed" (an `/info` failure
//!   closes it with 1002 "Cannot connect to server"). A session opens on the server's `o` frame.
//! * **No CORS**: with [`Config::cors_fallback`], an `/info` that fails with a network error
//!   (in a browser, also what a server refusing CORS looks like) is reported as an
//!   [`Event::Error`] and the ladder goes on with only the transports that need no CORS
//!   ([`ladder::candidates_without_cors`]: websocket, jsonp-polling) instead of closing.
//! * **Transport failures**: a driver reports a transport's end either with its close code
//!   ([`Session::handle_transport_closed`], a WebSocket close) or with the error that ended it
//!   ([`Session::handle_transport_failed`]), from which the session chooses the code: 1002 for
//!   a protocol error, 1006 for anything else, the error's message as the reason.
//! * **Demotion**: a transport that opens but dies within `demote_window_ms` is demoted for this
//!   socket (tried last from then on) and the socket moves straight on to the next rung with a
//!   new session instead of failing.
//! * **Reconnection**: once a session has been open, losing it (transport error, a broken
//!   frame, heartbeat silence beyond `heartbeat_timeout_ms`, an `o` frame on an open session, a
//!   `c` frame whose code is not an application's) schedules a new session after an exponential
//!   backoff with jitter, up to `max_attempts` in a row; the first connection never retries (a
//!   wrong URL or server fails fast, as in sockjs-client). A server `c` frame with an
//!   application code (1000 or 3000-4999) is final: the server's application chose to end the
//!   session; other codes (1002 "Connection interrupted" once a receiving request was cut, 2010
//!   "Another connection still open", 1011) report the server losing the session and reconnect.
//!   A `c` frame before the session opened is the server refusing it, which is final. A
//!   transport closing with an application code ends the socket too.
//! * **Sending**: messages sent while connecting or reconnecting are queued (bounded by count
//!   and bytes; overflow is an error from [`Session::send`], never a silent drop) and flushed in
//!   order, batched in one payload, when a session opens. One payload is in flight at a time;
//!   the driver confirms it with [`Session::handle_send_done`], or reports its failure with
//!   [`Session::handle_send_failed`]: a payload the server refuses as too large (HTTP 413) goes
//!   again in smaller batches, and a single message it refuses ends the socket with
//!   [`CODE_MESSAGE_TOO_BIG`] (as does a transport closing with that code), the message kept for
//!   [`Session::take_unsent`].
//!
//! # Messages are opaque
//!
//! The session never looks inside a message: it holds each as an opaque [`Message`] handle and
//! only asks for its size (for the queue bounds and batching) and for one payload encoding a
//! batch. Natively and on servers the handle is a `String`; the browser driver uses a
//! JavaScript string, so payloads never cross into wasm memory. Received `a[...]` frames reach
//! the session already decoded by the driver into a [`Message::Batch`], which it passes on
//! unopened in [`Event::Messages`].
//!
//! # Delivery guarantee
//!
//! A payload whose delivery is not confirmed (its `xhr_send` failed, or the transport died
//! first) goes back to the front of the queue and is sent again on the next session: delivery
//! is **at least once**. A server that received a payload whose answer was lost sees it twice
//! (once per session). A WebSocket confirms a payload once the browser accepts it; data the
//! browser had buffered when the connection dropped is lost, as with any WebSocket. Messages
//! still unconfirmed when the socket closes for good are returned by [`Session::take_unsent`].

use std::collections::VecDeque;

use crate::backoff::{Backoff, Retries};
use crate::info::{self, Info};
use crate::ladder::{self, Capabilities, Demotions, TransportKind};
use crate::resume;
use crate::sockjs::{self, Frame};
use crate::Error;

/// A message as the session holds it: an opaque handle whose size the session counts and a
/// batch of which it can encode as one client payload. See the [module docs](self).
///
/// ```
/// use cometkit_protocol::session::Message;
///
/// let batch = ["a".to_string(), r#"say "hi""#.to_string()];
/// assert_eq!(batch[0].size(), 1);
/// assert_eq!(String::encode(&batch), r#"["a","say \"hi\""]"#);
/// ```
pub trait Message: Sized {
    /// The messages of one received `a[...]` frame, as the driver decoded them.
    type Batch;
    /// The size counted against [`Config::max_queued_bytes`] and
    /// [`Session::buffered_amount`] (bytes for `String`; UTF-16 code units for a JS string).
    fn size(&self) -> usize;
    /// The size this message adds to an encoded payload, for batching (an estimate is fine:
    /// batches are bounded softly).
    fn encoded_size(&self) -> usize {
        self.size() + 3
    }
    /// `batch` as one client payload: a JSON array of strings with the SockJS escapes.
    fn encode(batch: &[Self]) -> Self;
    /// `batch` as a payload of the [resume extension](crate::resume): `[ack,seq,"m1",...]`,
    /// or `[ack]` when `batch` is empty.
    fn encode_numbered(ack: u64, seq: u64, batch: &[Self]) -> Self;
    /// How many messages a received batch holds.
    fn batch_len(batch: &Self::Batch) -> usize;
    /// `batch` without its first `n` messages (already delivered: a resumed server sends
    /// again what it has not seen acknowledged).
    fn batch_skip(batch: Self::Batch, n: usize) -> Self::Batch;
}

impl Message for String {
    type Batch = Vec<String>;
    fn size(&self) -> usize {
        self.len()
    }
    fn encoded_size(&self) -> usize {
        sockjs::quoted_len(self) + 1
    }
    fn encode(batch: &[String]) -> String {
        sockjs::encode_payload(batch)
    }
    fn encode_numbered(ack: u64, seq: u64, batch: &[String]) -> String {
        resume::encode_payload(ack, seq, batch)
    }
    fn batch_len(batch: &Vec<String>) -> usize {
        batch.len()
    }
    fn batch_skip(mut batch: Vec<String>, n: usize) -> Vec<String> {
        batch.drain(..n.min(batch.len()));
        batch
    }
}

/// Heartbeat silence that counts as a lost connection: 2.5 × the server's 25 s interval.
pub const DEFAULT_HEARTBEAT_TIMEOUT_MS: u32 = 62_500;
/// A transport dying sooner than this after opening is demoted.
pub const DEFAULT_DEMOTE_WINDOW_MS: u32 = 5_000;
/// Default bound on messages waiting to be sent (queued or in flight).
pub const DEFAULT_MAX_QUEUED_MESSAGES: usize = 1_024;
/// Default bound on bytes waiting to be sent (queued or in flight).
pub const DEFAULT_MAX_QUEUED_BYTES: usize = 1 << 20;
/// Default session id length (sockjs-client's).
pub const DEFAULT_SESSION_ID_LENGTH: usize = 8;
/// Default delay before received messages are acknowledged on their own (resume extension),
/// when no payload carried the acknowledgement sooner.
pub const DEFAULT_ACK_DELAY_MS: u32 = 100;
/// Received messages after which an acknowledgement goes out at once (resume extension).
const ACK_EVERY: u64 = 128;

/// Close code: every transport failed.
pub const CODE_ALL_TRANSPORTS_FAILED: u16 = 2000;
/// Close code: `/info` failed.
pub const CODE_CANNOT_CONNECT: u16 = 1002;
/// Close code: a transport failed with a protocol error (or sent a broken frame).
pub const CODE_PROTOCOL_ERROR: u16 = 1002;
/// Close code: a transport failed for any other reason (network, HTTP status, timeout, ...).
pub const CODE_TRANSPORT_FAILED: u16 = 1006;
/// Close code: the server refused a message as too large (a POST answered 413, or the
/// WebSocket closed with this code). Final, as sending it again would fail again.
pub const CODE_MESSAGE_TOO_BIG: u16 = 1009;
const TOO_BIG: &str = "Message too big: the server refused it (HTTP 413 or close 1009)";

/// The [`Event::Error`] of the no-CORS fallback ([`Config::cors_fallback`]).
const NO_CORS_ERROR: &str = "SockJS /info failed (network error or CORS refused): trying only \
                             the transports that need no CORS (websocket, jsonp-polling)";

/// The socket's state, numbered like `WebSocket.readyState`.
///
/// ```
/// use cometkit_protocol::ladder::Capabilities;
/// use cometkit_protocol::session::{Config, ReadyState, Session};
///
/// let config = Config::new(Capabilities::modern(true, true));
/// let s: Session = Session::new("http://127.0.0.1:8080/echo", config, Box::new(|| 4))?;
/// assert_eq!(s.ready_state(), ReadyState::Connecting);
/// assert_eq!(ReadyState::Open as u16, 1); // as WebSocket.OPEN
/// # Ok::<(), cometkit_protocol::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadyState {
    /// Connecting, or reconnecting after a lost session.
    Connecting = 0,
    /// A session is open.
    Open = 1,
    /// Closed, but the close event has not been taken with [`Session::poll_event`] yet.
    Closing = 2,
    /// Closed for good.
    Closed = 3,
}

/// Reconnection policy.
///
/// ```
/// use cometkit_protocol::backoff::Backoff;
/// use cometkit_protocol::session::Reconnect;
///
/// // Every 2 s, at most 10 times in a row, then the socket closes.
/// let policy = Reconnect { backoff: Backoff::constant(2_000), max_attempts: Some(10) };
/// assert_eq!(Reconnect::default().max_attempts, None); // the default never gives up
/// # let _ = policy;
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Reconnect {
    /// Delays between attempts.
    pub backoff: Backoff,
    /// Attempts in a row before giving up (`None`: never give up).
    pub max_attempts: Option<u32>,
}

impl Default for Reconnect {
    /// [`Backoff::default`] (1 s doubling to 30 s, up to 50 % jitter), unlimited attempts.
    fn default() -> Self {
        Reconnect {
            backoff: Backoff::default(),
            max_attempts: None,
        }
    }
}

/// Session options.
///
/// ```
/// use cometkit_protocol::ladder::{parse_whitelist, Capabilities};
/// use cometkit_protocol::session::Config;
///
/// let mut config = Config::new(Capabilities::modern(true, true));
/// config.transports = parse_whitelist(&["websocket", "xhr-polling"])?;
/// config.reconnect = None; // one connection cycle, then close
/// config.max_queued_messages = 100;
/// # Ok::<(), cometkit_protocol::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Transports allowed, in the order to try them; empty: all, in the default order.
    /// Build it from names with [`ladder::parse_whitelist`].
    pub transports: Vec<TransportKind>,
    /// What the browser offers.
    pub capabilities: Capabilities,
    /// Minimum time allowed to open each transport, in ms (sockjs-client's `timeout`).
    pub timeout_ms: u32,
    /// Time allowed for `/info`, in ms.
    pub info_timeout_ms: u32,
    /// Silence on an open session (no frame at all) that counts as a lost connection, in ms;
    /// 0 disables the check.
    pub heartbeat_timeout_ms: u32,
    /// A transport that dies sooner than this after opening is demoted, in ms.
    pub demote_window_ms: u32,
    /// Reconnection after a lost session; `None` closes the socket instead.
    pub reconnect: Option<Reconnect>,
    /// Bound on messages waiting to be sent (at least 1).
    pub max_queued_messages: usize,
    /// Bound on bytes waiting to be sent (at least 1).
    pub max_queued_bytes: usize,
    /// The server id path segment; `None`: three random digits.
    pub server_id: Option<String>,
    /// Length of the random session ids (1 to 64).
    pub session_id_length: usize,
    /// One session id for every attempt instead of a random one per attempt (tests and
    /// debugging; a retry on the same id meets the server's closed session); 1-64 ASCII
    /// letters, digits, `-`, `_` and `~`.
    pub session_id: Option<String>,
    /// Take a network error on `/info` for a server refusing CORS (browsers report both
    /// alike) and try the transports that need none instead of closing with 1002; see the
    /// [module docs](self). Off by default (sockjs-client gives up there); the browser client
    /// turns it on.
    pub cors_fallback: bool,
    /// Use cometkit's [resume extension](crate::resume) when the server offers it (exactly
    /// once across dropped connections); on by default. Plain SockJS servers never offer it.
    pub resume: bool,
    /// Resume extension: how long received messages may wait to be acknowledged when no
    /// payload to send carries the acknowledgement, in ms.
    pub ack_delay_ms: u32,
}

impl Config {
    /// The defaults, for a browser with these capabilities.
    pub fn new(capabilities: Capabilities) -> Self {
        Config {
            transports: Vec::new(),
            capabilities,
            timeout_ms: 0,
            info_timeout_ms: info::DEFAULT_INFO_TIMEOUT_MS,
            heartbeat_timeout_ms: DEFAULT_HEARTBEAT_TIMEOUT_MS,
            demote_window_ms: DEFAULT_DEMOTE_WINDOW_MS,
            reconnect: Some(Reconnect::default()),
            max_queued_messages: DEFAULT_MAX_QUEUED_MESSAGES,
            max_queued_bytes: DEFAULT_MAX_QUEUED_BYTES,
            server_id: None,
            session_id_length: DEFAULT_SESSION_ID_LENGTH,
            session_id: None,
            cors_fallback: false,
            resume: true,
            ack_delay_ms: DEFAULT_ACK_DELAY_MS,
        }
    }
}

/// Names one request or transport the session asked for; the driver passes it back with every
/// input about that operation, so late news from an abandoned one is ignored.
///
/// ```
/// use cometkit_protocol::ladder::Capabilities;
/// use cometkit_protocol::session::{Action, Config, Session};
///
/// let mut s: Session = Session::new("http://h/echo", Config::new(Capabilities::modern(true, true)), Box::new(|| 9))?;
/// s.connect(0);
/// let Some(Action::FetchInfo { id, .. }) = s.poll_action() else { unreachable!() };
/// s.handle_info_failed(5, id, cometkit_protocol::Error::network("refused"));
/// s.handle_info(6, id, "{}"); // news about a finished request: ignored
/// # Ok::<(), cometkit_protocol::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OpId(u32);

impl OpId {
    /// The number behind the id (for the driver's maps and logs).
    pub fn get(self) -> u32 {
        self.0
    }
}

/// Something the driver must do (see the example on [`Session`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action<M = String> {
    /// `GET url` (uncached); answer with [`Session::handle_info`] or
    /// [`Session::handle_info_failed`].
    FetchInfo {
        /// The request's id.
        id: OpId,
        /// `<base>/info`.
        url: String,
    },
    /// Abort the `/info` request (it timed out or the socket closed).
    CancelInfo {
        /// The request's id.
        id: OpId,
    },
    /// Open a transport. Report each frame with [`Session::handle_frame`] and its end with
    /// [`Session::handle_transport_closed`]. Polling and streaming transports re-issue their
    /// receiving request on the same URL after each complete response. There is no separate
    /// "opened" input: the session opens on the server's `o` frame.
    OpenTransport {
        /// The transport's id.
        id: OpId,
        /// Which transport.
        transport: TransportKind,
        /// Where it receives (for WebSocket a `ws:`/`wss:` URL; for JSONP add the `c=`
        /// callback parameter with [`ladder::add_query`]).
        url: String,
        /// Where it POSTs payloads (`None` for WebSocket).
        send_url: Option<String>,
        /// The attempt's deadline in ms. The session enforces it through
        /// [`Session::poll_timeout`]; the driver needs no timer of its own.
        timeout_ms: u32,
    },
    /// Close the transport and release everything it holds. Ids already closed are ignored.
    CloseTransport {
        /// The transport's id.
        id: OpId,
    },
    /// Send `payload` (a JSON array of strings) on the transport: as one WebSocket message, or
    /// as a text/plain POST body to its `send_url`. Confirm with [`Session::handle_send_done`].
    Send {
        /// The transport's id.
        id: OpId,
        /// The encoded payload ([`Message::encode`]).
        payload: M,
    },
}

/// Something to tell the user (see the example on [`Session`]).
#[derive(Debug)]
pub enum Event<M: Message = String> {
    /// A session is about to open on a different transport than the previous one (also before
    /// the first open).
    TransportChanged(TransportKind),
    /// A session opened: the first one, or a new one after a reconnection.
    Open,
    /// Messages from the server: one `a[...]` frame, in order.
    Messages(M::Batch),
    /// The server's heartbeat.
    Heartbeat,
    /// The session was lost and a new one will be tried in `delay_ms`. `attempt` counts the
    /// backoff retries in a row (1 for the first); 0 means an immediate move to the next
    /// transport after a demotion. Server-side session state is gone: the new session starts
    /// fresh.
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
    /// The lost session could not be resumed (resume extension only): the server no longer had
    /// it (grace period over, its buffer overflowed, the server restarted) or stopped offering
    /// the extension. The socket goes on with a fresh session, which the next
    /// [`Event::Open`] opens ([`Session::recovered`] is false). Messages the server sent
    /// since the last one received are lost; the messages in `unconfirmed` had been sent but
    /// not acknowledged, so the server's application may or may not have them: they are not
    /// sent again. Messages never sent yet go out on the fresh session.
    ResumeFailed {
        /// [`resume::CODE_RESUME_FAILED`].
        code: u16,
        /// What happened.
        reason: String,
        /// Sent, unacknowledged messages, in order.
        unconfirmed: Vec<M>,
    },
    /// Something went wrong that the socket is handling (a failed `/info`, a malformed frame);
    /// informational, the next events say what happens next.
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

#[derive(Debug, Clone, Copy)]
enum Phase {
    /// Not started.
    Idle,
    /// Waiting for `/info`.
    Info {
        id: OpId,
        started: u64,
        deadline: u64,
    },
    /// A transport was asked to open; waiting for its `o` frame.
    Attempt {
        id: OpId,
        kind: TransportKind,
        deadline: u64,
    },
    /// A session is open.
    Open {
        id: OpId,
        kind: TransportKind,
        opened_at: u64,
        silent_deadline: Option<u64>,
    },
    /// Waiting out a backoff delay.
    Waiting { until: u64 },
    /// Closed for good.
    Closed,
}

/// The SockJS session state machine. See the [module docs](self).
///
/// A driver feeds it what happened (with the time in ms) and carries out its actions; here a
/// scripted server answers `/info`, opens the WebSocket transport and echoes one message:
///
/// ```
/// use cometkit_protocol::ladder::{Capabilities, TransportKind};
/// use cometkit_protocol::session::{Action, Config, Event, Session};
///
/// let config = Config::new(Capabilities::modern(true, true));
/// let mut seed = 7u32;
/// let random = Box::new(move || { seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345); seed });
/// let mut s: Session = Session::new("http://127.0.0.1:8080/echo", config, random)?;
/// s.connect(0);
/// s.send("hello".to_string())?; // queued until a session opens
/// let mut now = 0;
/// while let Some(action) = s.poll_action() {
///     now += 1;
///     match action {
///         Action::FetchInfo { id, .. } => s.handle_info(now, id, r#"{"websocket":true,"cookie_needed":false,"origins":["*:*"],"entropy":1}"#),
///         Action::OpenTransport { id, transport, .. } => {
///             assert_eq!(transport, TransportKind::WebSocket);
///             s.handle_text(now, id, "o");
///         }
///         Action::Send { id, payload } => {
///             assert_eq!(payload, r#"["hello"]"#);
///             s.handle_send_done(now, id, true);
///             s.handle_text(now, id, r#"a["hello"]"#); // the echo
///         }
///         _ => {}
///     }
/// }
/// let mut got = Vec::new();
/// while let Some(event) = s.poll_event() {
///     if let Event::Messages(batch) = event {
///         got.extend(batch);
///     }
/// }
/// assert_eq!(got, ["hello"]);
/// # Ok::<(), cometkit_protocol::Error>(())
/// ```
pub struct Session<M: Message = String> {
    base: String,
    config: Config,
    random: Box<dyn FnMut() -> u32>,
    server_id: String,
    phase: Phase,
    next_id: u32,
    rto: u32,
    cycle: Vec<TransportKind>,
    rung: usize,
    demotions: Demotions,
    retries: Option<Retries>,
    ever_open: bool,
    recovered: bool,
    last_transport: Option<TransportKind>,
    /// Accepted messages not yet confirmed, in order: the first `sent` went out on the current
    /// connection, the last `inflight` of those in the payload in flight. With the resume
    /// extension the first one's sequence is `resume.acked + 1`.
    pending: VecDeque<M>,
    sent: usize,
    inflight: usize,
    /// A payload is in flight (an acknowledgement alone has no messages).
    busy: bool,
    /// Payloads are held back until [`release_sends`](Session::release_sends).
    held: bool,
    buffered: usize,
    /// The bound on one HTTP payload: [`MAX_BATCH_BYTES`], halved each time the server refuses
    /// a batch of several messages as too large.
    http_limit: usize,
    resume: ResumeState,
    /// The current attempt's receiving URL, before the resume extension's query.
    receive_base: String,
    actions: VecDeque<Action<M>>,
    events: VecDeque<Event<M>>,
    close_pending: bool,
}

/// The client's side of the [resume extension](crate::resume).
#[derive(Debug, Default)]
struct ResumeState {
    /// The current connection cycle uses it (the server offered it, the config allows it).
    active: bool,
    /// The session's token, once a server gave one.
    token: Option<String>,
    /// Server messages received, in order, up to this sequence.
    recv_upto: u64,
    /// The server acknowledged our messages up to this sequence.
    acked: u64,
    /// Our messages were sent (at some point) up to this sequence.
    sent_upto: u64,
    /// The acknowledgement last sent to the server.
    ack_sent: u64,
    /// When received messages must be acknowledged by a payload of their own.
    ack_due: Option<u64>,
    /// An `o` frame arrived; the `r` frame opens the session.
    awaiting_r: bool,
}

const SESSION_ID_CHARS: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz012345";

impl<M: Message> Session<M> {
    /// A session for the SockJS service at `base_url`, not started yet ([`connect`](Self::connect)).
    ///
    /// `random` supplies uniformly random `u32`s (for session ids, the server id when not
    /// configured, and backoff jitter); the browser driver backs it with
    /// `crypto.getRandomValues`.
    ///
    /// Fails with [`Error::invalid`] when `base_url` is not an absolute `http:`/`https:` URL
    /// without a fragment or whitespace, the server id or the fixed session id is empty,
    /// longer than 64 bytes or holds anything but ASCII letters, digits, `-`, `_` and `~`, the
    /// session id length is not 1-64, or a queue bound is 0.
    pub fn new(
        base_url: &str,
        config: Config,
        mut random: Box<dyn FnMut() -> u32>,
    ) -> Result<Session<M>, Error> {
        let base = normalize_base(base_url)?;
        if !(1..=64).contains(&config.session_id_length) {
            return Err(Error::invalid("session_id_length must be between 1 and 64"));
        }
        if config.max_queued_messages == 0 || config.max_queued_bytes == 0 {
            return Err(Error::invalid("the send queue bounds must be at least 1"));
        }
        if config
            .session_id
            .as_deref()
            .is_some_and(|id| !is_path_id(id))
        {
            return Err(Error::invalid(
                "session_id must be 1-64 ASCII letters, digits, '-', '_' or '~'",
            ));
        }
        let server_id = match &config.server_id {
            Some(id) if is_path_id(id) => id.clone(),
            Some(_) => {
                return Err(Error::invalid(
                    "server_id must be 1-64 ASCII letters, digits, '-', '_' or '~'",
                ))
            }
            None => three_digits(random() % 1000),
        };
        let retries = config
            .reconnect
            .as_ref()
            .map(|r| Retries::new(r.backoff, r.max_attempts));
        Ok(Session {
            base,
            config,
            random,
            server_id,
            phase: Phase::Idle,
            next_id: 0,
            rto: 0,
            cycle: Vec::new(),
            rung: 0,
            demotions: Demotions::new(),
            retries,
            ever_open: false,
            recovered: false,
            last_transport: None,
            pending: VecDeque::new(),
            sent: 0,
            inflight: 0,
            busy: false,
            held: false,
            buffered: 0,
            http_limit: MAX_BATCH_BYTES,
            resume: ResumeState::default(),
            receive_base: String::new(),
            actions: VecDeque::new(),
            events: VecDeque::new(),
            close_pending: false,
        })
    }

    /// The normalised base URL (trailing slashes removed).
    pub fn url(&self) -> &str {
        &self.base
    }

    /// The server id used in session URLs.
    pub fn server_id(&self) -> &str {
        &self.server_id
    }

    /// The socket's state.
    pub fn ready_state(&self) -> ReadyState {
        match self.phase {
            Phase::Open { .. } => ReadyState::Open,
            Phase::Closed if self.close_pending => ReadyState::Closing,
            Phase::Closed => ReadyState::Closed,
            _ => ReadyState::Connecting,
        }
    }

    /// Whether the open session continues the one before a drop, nothing lost (resume
    /// extension), rather than being the first or a fresh one; as socket.io's `recovered`.
    pub fn recovered(&self) -> bool {
        self.recovered && matches!(self.phase, Phase::Open { .. })
    }

    /// The URL of the next receiving request of transport `id`, for the polling and streaming
    /// transports, which ask before each request. With the resume extension it tells the
    /// server what was received so far (an acknowledgement), so the server sends again
    /// whatever a lost response held, even one whose loss the browser hid. `None` when `id` is
    /// not the current transport.
    pub fn receive_url(&mut self, id: OpId) -> Option<String> {
        match self.phase {
            Phase::Attempt { id: current, .. } | Phase::Open { id: current, .. }
                if current == id => {}
            _ => return None,
        }
        Some(self.next_receive_url())
    }

    /// The current attempt's receiving URL with the resume extension's query: `resume=new`,
    /// or the token and what was received (which counts as an acknowledgement).
    fn next_receive_url(&mut self) -> String {
        if !self.resume.active {
            return self.receive_base.clone();
        }
        match &self.resume.token {
            Some(token) => {
                self.resume.ack_sent = self.resume.ack_sent.max(self.resume.recv_upto);
                ladder::add_query(
                    &self.receive_base,
                    &resume::resume_query(token, self.resume.recv_upto),
                )
            }
            None => ladder::add_query(&self.receive_base, resume::open_query()),
        }
    }

    /// The transport of the open session.
    pub fn transport(&self) -> Option<TransportKind> {
        match self.phase {
            Phase::Open { kind, .. } => Some(kind),
            _ => None,
        }
    }

    /// Bytes of messages accepted by [`send`](Self::send) and not yet confirmed delivered.
    pub fn buffered_amount(&self) -> usize {
        self.buffered
    }

    /// [`send`](Self::send) would accept one more message of up to `size` (the socket is not
    /// closed and the queue bounds leave room).
    pub fn has_room(&self, size: usize) -> bool {
        !matches!(self.phase, Phase::Closed)
            && self.pending.len() < self.config.max_queued_messages
            && self.buffered.saturating_add(size) <= self.config.max_queued_bytes
    }

    /// The transports being tried or used, best first, after demotions (empty before `/info`).
    pub fn candidates(&self) -> &[TransportKind] {
        &self.cycle
    }

    /// Starts connecting (once; later calls and calls after a close do nothing).
    pub fn connect(&mut self, now: u64) {
        if matches!(self.phase, Phase::Idle) {
            self.start_cycle(now);
        }
    }

    /// Queues `message` for the server; it goes out as soon as a session is open.
    ///
    /// Fails with [`Error::invalid`] when the socket is closed, when the message alone is
    /// larger than [`Config::max_queued_bytes`] (it could never be accepted), or when accepting
    /// it would exceed [`Config::max_queued_messages`] or [`Config::max_queued_bytes`] (the
    /// message is then not queued: retry after [`buffered_amount`](Self::buffered_amount)
    /// drops).
    pub fn send(&mut self, message: M) -> Result<(), Error> {
        if matches!(self.phase, Phase::Closed) {
            return Err(Error::invalid("send: the socket is closed"));
        }
        let size = message.size();
        if size > self.config.max_queued_bytes {
            return Err(Error::invalid(
                "send: the message is larger than the send queue's byte bound (maxQueuedBytes)",
            ));
        }
        if self.pending.len() >= self.config.max_queued_messages {
            return Err(Error::invalid(
                "send: the send queue is full (too many messages waiting to be sent)",
            ));
        }
        if self.buffered.saturating_add(size) > self.config.max_queued_bytes {
            return Err(Error::invalid(
                "send: the send queue is full (too many bytes waiting to be sent)",
            ));
        }
        self.buffered += size;
        self.pending.push_back(message);
        self.flush(None);
        Ok(())
    }

    /// Holds payloads back until [`release_sends`](Self::release_sends), as `TCP_CORK` holds
    /// segments: a driver holds them while it handles one browser callback (a frame and the
    /// events it causes), so that what the listeners send meanwhile leaves as one payload
    /// rather than one each. Messages are accepted, bounded and counted as ever.
    pub fn hold_sends(&mut self) {
        self.held = true;
    }

    /// Ends [`hold_sends`](Self::hold_sends): what was queued meanwhile goes out (in as few
    /// payloads as the batch bound allows), with an acknowledgement that fell due.
    pub fn release_sends(&mut self, now: u64) {
        if self.held {
            self.held = false;
            self.flush(Some(now));
        }
    }

    /// Payloads are held back ([`hold_sends`](Self::hold_sends)).
    pub fn holding_sends(&self) -> bool {
        self.held
    }

    /// Closes the socket for good with `code` (default 1000) and `reason` (default
    /// "Normal closure"). Closing a closed socket does nothing.
    ///
    /// Fails with [`Error::invalid`], changing nothing, when `code` is not 1000 or 3000-4999 or
    /// `reason` is longer than 123 bytes of UTF-8.
    pub fn close(&mut self, code: Option<u16>, reason: &str) -> Result<(), Error> {
        let code = code.unwrap_or(1000);
        if !is_application_code(code) {
            return Err(Error::invalid(
                "close code must be 1000 or in 3000-4999 (1001-2999 are reserved to the protocol)",
            ));
        }
        if reason.len() > 123 {
            return Err(Error::invalid(
                "close reason must be at most 123 bytes of UTF-8",
            ));
        }
        if matches!(self.phase, Phase::Closed) {
            return Ok(());
        }
        if self.held {
            // What was sent before the close goes out before it.
            self.held = false;
            self.flush(None);
        }
        self.release();
        let reason = if reason.is_empty() {
            "Normal closure"
        } else {
            reason
        };
        self.finish(code, reason, true);
        Ok(())
    }

    /// Messages accepted by [`send`](Self::send) that were never confirmed delivered, once the
    /// socket is closed (empty before). Some of them may have reached the server.
    pub fn take_unsent(&mut self) -> Vec<M> {
        if !matches!(self.phase, Phase::Closed) {
            return Vec::new();
        }
        self.sent = 0;
        self.inflight = 0;
        self.buffered = 0;
        Vec::from(std::mem::take(&mut self.pending))
    }

    /// The `/info` request `id` answered 200 with `body`.
    pub fn handle_info(&mut self, now: u64, id: OpId, body: &str) {
        let started = match self.phase {
            Phase::Info {
                id: current,
                started,
                ..
            } if current == id => started,
            _ => return,
        };
        self.phase = Phase::Idle;
        let info = match Info::parse(body) {
            Ok(info) => info,
            Err(e) => {
                self.events.push_back(Event::Error(e));
                return self.cycle_failed(now, CODE_CANNOT_CONNECT, "Cannot connect to server");
            }
        };
        let cycle = ladder::candidates(&self.config.capabilities, &info, &self.config.transports);
        self.resume.active = self.config.resume && info.resume == resume::VERSION;
        self.climb(now, started, cycle);
    }

    /// The `/info` request `id` failed (network error, non-200 status, ...): the socket closes
    /// with 1002 "Cannot connect to server" (or waits to reconnect), unless it is a network
    /// error and [`Config::cors_fallback`] is on: then the ladder goes on with the transports
    /// that need no CORS ([`ladder::candidates_without_cors`]). Either way an
    /// [`Event::Error`] says what happened.
    pub fn handle_info_failed(&mut self, now: u64, id: OpId, error: Error) {
        let started = match self.phase {
            Phase::Info {
                id: current,
                started,
                ..
            } if current == id => started,
            _ => return,
        };
        self.phase = Phase::Idle;
        if self.config.cors_fallback && error.is_network() {
            // sockjs-client would give up here. A network error on /info usually means the
            // server refuses CORS, which WebSocket and JSONP do not need.
            self.events
                .push_back(Event::Error(Error::network(NO_CORS_ERROR)));
            let cycle =
                ladder::candidates_without_cors(&self.config.capabilities, &self.config.transports);
            self.resume.active = false;
            return self.climb(now, started, cycle);
        }
        self.events.push_back(Event::Error(error));
        self.cycle_failed(now, CODE_CANNOT_CONNECT, "Cannot connect to server");
    }

    /// Transport `id` delivered `frame`: one SockJS frame, unwrapped from its transport with
    /// the helpers in [`sockjs`] and decoded by the driver, or the error decoding it (a broken
    /// frame fails the transport).
    pub fn handle_frame(&mut self, now: u64, id: OpId, frame: Result<Frame<M::Batch>, Error>) {
        let open = match self.phase {
            Phase::Attempt { id: current, .. } if current == id => false,
            Phase::Open { id: current, .. } if current == id => true,
            _ => return,
        };
        let frame = match frame {
            Ok(frame) => frame,
            Err(e) => {
                self.events.push_back(Event::Error(e));
                return self.transport_failed(now, 1002, "Broken framing");
            }
        };
        let resuming = self.resume.active;
        match frame {
            Frame::Open if open || self.resume.awaiting_r => {
                self.transport_failed(now, 1006, "Server lost session")
            }
            // A resumable session opens on the `r` frame that follows.
            Frame::Open if resuming => self.resume.awaiting_r = true,
            Frame::Open => self.opened(now),
            Frame::Resumed { token, ack } if resuming && self.resume.awaiting_r => {
                self.resume.awaiting_r = false;
                self.resumed(now, token, ack);
            }
            Frame::Numbered(numbered) if resuming && open => {
                self.touch(now);
                self.numbered(now, numbered);
            }
            Frame::Messages(_) if resuming => {
                self.events.push_back(Event::Error(Error::protocol(
                    "SockJS server sent plain messages on a resumable session",
                )));
                self.transport_failed(now, 1002, "Broken framing");
            }
            Frame::Heartbeat => {
                if open {
                    self.touch(now);
                    self.events.push_back(Event::Heartbeat);
                }
            }
            Frame::Messages(messages) if open => {
                self.touch(now);
                self.events.push_back(Event::Messages(messages));
            }
            Frame::Messages(_) => {
                self.events.push_back(Event::Error(Error::protocol(
                    "SockJS server sent messages before opening the session",
                )));
                self.transport_failed(now, 1002, "Broken framing");
            }
            // On an open session, a code outside the application's range is the server
            // reporting its own loss of the session (1002 "Connection interrupted" after a
            // receiving request was cut, 2010 "Another connection still open", 1011 ...), not
            // an end chosen by the application: reconnect as for any other drop. Before the
            // session opened, any close frame is the server refusing it, which is final.
            Frame::Close { code, reason } if open && !is_application_code(code) => {
                self.transport_failed(now, code, &reason);
            }
            // Taking a resumable session back, a close the application did not choose (2011:
            // its buffer overflowed meanwhile) means that session is gone, not that the server
            // refuses us: the next attempt gets a fresh one.
            Frame::Close { code, reason }
                if resuming && self.resume.token.is_some() && !is_application_code(code) =>
            {
                self.transport_failed(now, code, &reason);
            }
            Frame::Close { code, reason } => {
                self.release();
                self.finish(code, &reason, true);
            }
            Frame::Resumed { .. } | Frame::Numbered(_) => {
                self.events.push_back(Event::Error(Error::protocol(
                    "SockJS server sent a resume frame out of place",
                )));
                self.transport_failed(now, 1002, "Broken framing");
            }
        }
    }

    /// Transport `id` ended without a `c` frame: network error, refused connection, non-2xx
    /// answer, WebSocket close, ... `code` and `reason` describe it (1006 for a network
    /// failure). An application code (1000, 3000-4999) ends the socket for good, as does
    /// [`CODE_MESSAGE_TOO_BIG`] (the server refused a message it would be sent again); any
    /// other moves to the next transport or reconnects.
    pub fn handle_transport_closed(&mut self, now: u64, id: OpId, code: u16, reason: &str) {
        let current = match self.phase {
            Phase::Attempt { id, .. } | Phase::Open { id, .. } => id,
            _ => return,
        };
        if current != id {
            return;
        }
        if is_application_code(code) || code == CODE_MESSAGE_TOO_BIG {
            self.release();
            return self.finish(code, reason, false);
        }
        self.transport_failed(now, code, reason);
    }

    /// Transport `id` failed with `error` (it could not open, a request failed, a response
    /// was not SockJS, ...): [`handle_transport_closed`](Self::handle_transport_closed) with
    /// [`CODE_PROTOCOL_ERROR`] for a protocol error, [`CODE_TRANSPORT_FAILED`] for any other
    /// kind, and the error's message as the reason.
    pub fn handle_transport_failed(&mut self, now: u64, id: OpId, error: Error) {
        let code = if error.is_protocol() {
            CODE_PROTOCOL_ERROR
        } else {
            CODE_TRANSPORT_FAILED
        };
        self.handle_transport_closed(now, id, code, error.message());
    }

    /// The payload last sent on transport `id` was delivered (`ok`: 2xx answer, or accepted by
    /// the WebSocket) or not (the transport is then treated as broken and the payload is sent
    /// again on the next session).
    pub fn handle_send_done(&mut self, now: u64, id: OpId, ok: bool) {
        if !matches!(self.phase, Phase::Open { id: current, .. } if current == id) || !self.busy {
            return;
        }
        if ok {
            self.busy = false;
            if !self.resume.active {
                // Plain SockJS: a delivered payload is confirmed.
                self.confirm(self.inflight);
            }
            self.inflight = 0;
            self.flush(Some(now));
        } else {
            self.transport_failed(now, 1006, "Sending failed");
        }
    }

    /// The payload last sent on transport `id` was not delivered; `error` says why. An HTTP
    /// 413 (payload too large) is the server's answer to the payload, not a broken transport:
    /// a batch of several messages is sent again in smaller batches, on the same connection;
    /// a single message the server refuses ends the socket with [`CODE_MESSAGE_TOO_BIG`], that
    /// message first in [`take_unsent`](Self::take_unsent), so nothing is lost unseen and
    /// nothing is sent again and again. Any other error is
    /// [`handle_send_done`](Self::handle_send_done) with `ok` false.
    pub fn handle_send_failed(&mut self, now: u64, id: OpId, error: &Error) {
        if error.status() != Some(413)
            || !matches!(self.phase, Phase::Open { id: current, .. } if current == id)
            || !self.busy
            || self.inflight == 0
        {
            return self.handle_send_done(now, id, false);
        }
        let first = self.sent - self.inflight;
        if self.inflight == 1 {
            self.release();
            return self.finish(CODE_MESSAGE_TOO_BIG, TOO_BIG, false);
        }
        let size: usize = (first..self.sent)
            .filter_map(|i| self.pending.get(i))
            .map(M::encoded_size)
            .sum();
        self.http_limit = self.http_limit.min(size / 2).max(1);
        self.sent = first;
        self.inflight = 0;
        self.busy = false;
        self.flush(Some(now));
    }

    /// The timer armed at [`poll_timeout`](Self::poll_timeout) fired (early calls do nothing).
    pub fn handle_timeout(&mut self, now: u64) {
        match self.phase {
            Phase::Info { id, deadline, .. } if now >= deadline => {
                self.actions.push_back(Action::CancelInfo { id });
                self.phase = Phase::Idle;
                self.events.push_back(Event::Error(Error::timeout(
                    "SockJS /info request timed out",
                )));
                self.cycle_failed(now, CODE_CANNOT_CONNECT, "Cannot connect to server");
            }
            Phase::Attempt { deadline, .. } if now >= deadline => {
                self.transport_failed(now, 2007, "Transport timed out");
            }
            Phase::Open {
                silent_deadline: Some(deadline),
                ..
            } if now >= deadline => {
                self.transport_failed(now, 1006, "Server heartbeat timed out");
            }
            Phase::Open { .. } => self.flush(Some(now)),
            Phase::Waiting { until } if now >= until => self.start_cycle(now),
            _ => {}
        }
    }

    /// When [`handle_timeout`](Self::handle_timeout) is next due, in the driver's ms clock.
    pub fn poll_timeout(&self) -> Option<u64> {
        match self.phase {
            Phase::Info { deadline, .. } | Phase::Attempt { deadline, .. } => Some(deadline),
            Phase::Open {
                silent_deadline, ..
            } => match (silent_deadline, self.resume.ack_due.filter(|_| !self.busy)) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            },
            Phase::Waiting { until } => Some(until),
            Phase::Idle | Phase::Closed => None,
        }
    }

    /// The next thing the driver must do.
    pub fn poll_action(&mut self) -> Option<Action<M>> {
        self.actions.pop_front()
    }

    /// The next event for the user. Taking the close event moves the state from
    /// [`ReadyState::Closing`] to [`ReadyState::Closed`].
    pub fn poll_event(&mut self) -> Option<Event<M>> {
        let event = self.events.pop_front();
        if matches!(event, Some(Event::Close { .. })) {
            self.close_pending = false;
        }
        event
    }

    // -----------------------------------------------------------------------------------------

    fn new_id(&mut self) -> OpId {
        self.next_id = self.next_id.wrapping_add(1);
        OpId(self.next_id)
    }

    fn random01(&mut self) -> f64 {
        f64::from((self.random)()) / 4_294_967_296.0
    }

    fn session_id(&mut self) -> String {
        if let Some(id) = &self.config.session_id {
            return id.clone();
        }
        let mut id = String::with_capacity(self.config.session_id_length);
        let (mut bits, mut left) = (0u32, 0);
        for _ in 0..self.config.session_id_length {
            if left == 0 {
                bits = (self.random)();
                left = 6;
            }
            let c = SESSION_ID_CHARS.get((bits & 31) as usize).copied();
            id.push(char::from(c.unwrap_or(b'a')));
            bits >>= 5;
            left -= 1;
        }
        id
    }

    /// Emits the action that releases what the current phase holds.
    fn release(&mut self) {
        match self.phase {
            Phase::Info { id, .. } => self.actions.push_back(Action::CancelInfo { id }),
            Phase::Attempt { id, .. } | Phase::Open { id, .. } => {
                self.actions.push_back(Action::CloseTransport { id })
            }
            Phase::Idle | Phase::Waiting { .. } | Phase::Closed => {}
        }
    }

    fn start_cycle(&mut self, now: u64) {
        let id = self.new_id();
        self.phase = Phase::Info {
            id,
            started: now,
            deadline: now.saturating_add(u64::from(self.config.info_timeout_ms)),
        };
        self.actions.push_back(Action::FetchInfo {
            id,
            url: ladder::add_path(&self.base, "/info"),
        });
    }

    /// Starts up the ladder `cycle` (demoted transports moved last), the `/info` request
    /// having started at `started`: its round trip sets the RTO.
    fn climb(&mut self, now: u64, started: u64, mut cycle: Vec<TransportKind>) {
        let rtt = u32::try_from(now.saturating_sub(started)).unwrap_or(u32::MAX);
        self.rto = info::rto(rtt);
        self.demotions.apply(&mut cycle);
        self.cycle = cycle;
        self.rung = 0;
        self.try_rung(now);
    }

    /// Opens the transport at `self.rung`, or fails the cycle when none is left.
    fn try_rung(&mut self, now: u64) {
        let Some(&kind) = self.cycle.get(self.rung) else {
            self.phase = Phase::Idle;
            return self.cycle_failed(now, CODE_ALL_TRANSPORTS_FAILED, "All transports failed");
        };
        let session_id = self.session_id();
        let session_url = ladder::add_path(
            &self.base,
            &crate::error::concat(&["/", &self.server_id, "/", &session_id]),
        );
        let timeout_ms =
            ladder::attempt_timeout(self.config.timeout_ms, self.rto, kind.spec().round_trips);
        let id = self.new_id();
        self.phase = Phase::Attempt {
            id,
            kind,
            deadline: now.saturating_add(u64::from(timeout_ms)),
        };
        self.receive_base = ladder::receive_url(kind, &session_url);
        self.resume.awaiting_r = false;
        let url = self.next_receive_url();
        self.actions.push_back(Action::OpenTransport {
            id,
            transport: kind,
            url,
            send_url: ladder::send_url(kind, &session_url),
            timeout_ms,
        });
    }

    /// The current transport failed: next rung while connecting; demotion and next rung for a
    /// young open transport; reconnection (or the end) for an established one.
    fn transport_failed(&mut self, now: u64, code: u16, reason: &str) {
        match self.phase {
            Phase::Attempt { .. } => {
                self.release();
                self.rung += 1;
                self.try_rung(now);
            }
            Phase::Open {
                kind, opened_at, ..
            } => {
                self.release();
                self.phase = Phase::Idle;
                self.requeue_inflight();
                if ladder::died_young(opened_at, now, self.config.demote_window_ms) {
                    self.demotions.demote(kind);
                    self.rung += 1;
                    if self.rung < self.cycle.len() {
                        self.events.push_back(Event::Reconnecting {
                            code,
                            reason: reason.to_owned(),
                            delay_ms: 0,
                            attempt: 0,
                        });
                    }
                    self.try_rung(now);
                } else {
                    // The session was stable: a new run of retries starts.
                    if let Some(retries) = self.retries.as_mut() {
                        retries.reset();
                    }
                    self.cycle_failed(now, code, reason);
                }
            }
            _ => {}
        }
    }

    /// A connection cycle ended without an open session (or a stable one was lost): retry
    /// after a backoff when the socket has been open before and retries are left, else close.
    fn cycle_failed(&mut self, now: u64, code: u16, reason: &str) {
        if self.ever_open && self.retries.is_some() {
            let random01 = self.random01();
            if let Some(retries) = self.retries.as_mut() {
                if let Some(delay_ms) = retries.next(random01) {
                    let attempt = retries.attempt();
                    self.phase = Phase::Waiting {
                        until: now.saturating_add(u64::from(delay_ms)),
                    };
                    self.events.push_back(Event::Reconnecting {
                        code,
                        reason: reason.to_owned(),
                        delay_ms,
                        attempt,
                    });
                    return;
                }
            }
        }
        self.finish(code, reason, false);
    }

    fn opened(&mut self, now: u64) {
        let Phase::Attempt { id, kind, .. } = self.phase else {
            return;
        };
        self.phase = Phase::Open {
            id,
            kind,
            opened_at: now,
            silent_deadline: None,
        };
        self.touch(now);
        self.ever_open = true;
        if self.last_transport != Some(kind) {
            self.events.push_back(Event::TransportChanged(kind));
            self.last_transport = Some(kind);
        }
        if !self.resume.active && self.resume.token.is_some() {
            self.resume_failed("Session cannot be resumed: the server no longer offers resuming");
        }
        self.recovered = false;
        self.events.push_back(Event::Open);
        self.flush(None);
    }

    /// The `r` frame of a resumable session's new connection: a fresh session, the old one
    /// taken back, or (another token) a fresh one where the old could not be resumed.
    fn resumed(&mut self, now: u64, token: String, ack: u64) {
        let recovered = self.resume.token.as_deref() == Some(token.as_str());
        if !recovered && self.resume.token.is_some() {
            self.resume_failed(
                "Session cannot be resumed: the server no longer has it (grace period over, \
                 buffer overflow or server restart)",
            );
        }
        if !recovered && ack != 0 {
            self.events.push_back(Event::Error(Error::protocol(
                "SockJS resume: a new session acknowledged messages",
            )));
            return self.transport_failed(now, 1002, "Broken framing");
        }
        self.resume.token = Some(token);
        if let Err(e) = self.acknowledge(ack) {
            self.events.push_back(Event::Error(e));
            return self.transport_failed(now, 1002, "Broken framing");
        }
        self.opened(now);
        self.recovered = recovered;
    }

    /// A resumable session's old state is gone: hand back what may or may not have been
    /// delivered, renumber the rest from 1.
    fn resume_failed(&mut self, reason: &str) {
        let uncertain = usize::try_from(self.resume.sent_upto.saturating_sub(self.resume.acked))
            .unwrap_or(usize::MAX)
            .min(self.pending.len());
        // Popped one by one: `VecDeque::drain` costs a kilobyte of wasm.
        let unconfirmed: Vec<M> = (0..uncertain)
            .filter_map(|_| self.pending.pop_front())
            .collect();
        let size: usize = unconfirmed.iter().map(M::size).sum();
        self.buffered = self.buffered.saturating_sub(size);
        self.resume = ResumeState {
            active: self.resume.active,
            ..ResumeState::default()
        };
        self.events.push_back(Event::ResumeFailed {
            code: resume::CODE_RESUME_FAILED,
            reason: reason.to_owned(),
            unconfirmed,
        });
    }

    /// Numbered messages (and an acknowledgement) from a resumable session's server.
    fn numbered(&mut self, now: u64, numbered: resume::Numbered<M::Batch>) {
        if let Err(e) = self.acknowledge(numbered.ack) {
            self.events.push_back(Event::Error(e));
            return self.transport_failed(now, 1002, "Broken framing");
        }
        let count = M::batch_len(&numbered.messages);
        let Ok(skip) = resume::fresh_part(self.resume.recv_upto, numbered.seq, count) else {
            self.events.push_back(Event::Error(Error::protocol(
                "SockJS resume: messages missing before the ones received",
            )));
            return self.transport_failed(now, 1002, "Broken framing");
        };
        if skip < count {
            self.resume.recv_upto += (count - skip) as u64;
            self.events
                .push_back(Event::Messages(M::batch_skip(numbered.messages, skip)));
            if self.resume.ack_due.is_none() {
                self.resume.ack_due = Some(now.saturating_add(u64::from(self.config.ack_delay_ms)));
            }
        }
        self.flush(Some(now));
    }

    /// The server acknowledged our messages up to `ack`: forget them.
    fn acknowledge(&mut self, ack: u64) -> Result<(), Error> {
        if ack <= self.resume.acked {
            return Ok(());
        }
        if ack > self.resume.sent_upto {
            return Err(Error::protocol(
                "SockJS resume: the server acknowledged messages never sent",
            ));
        }
        let n = usize::try_from(ack - self.resume.acked).unwrap_or(usize::MAX);
        self.resume.acked = ack;
        self.confirm(n);
        Ok(())
    }

    /// The first `n` pending messages are delivered.
    fn confirm(&mut self, n: usize) {
        let n = n.min(self.pending.len());
        let size: usize = (0..n)
            .filter_map(|_| self.pending.pop_front())
            .map(|m| m.size())
            .sum();
        self.buffered = self.buffered.saturating_sub(size);
        self.sent = self.sent.saturating_sub(n);
        self.inflight = self.inflight.min(self.sent);
    }

    /// Restarts the heartbeat clock.
    fn touch(&mut self, now: u64) {
        let timeout = self.config.heartbeat_timeout_ms;
        if let Phase::Open {
            silent_deadline, ..
        } = &mut self.phase
        {
            *silent_deadline = (timeout > 0).then(|| now.saturating_add(u64::from(timeout)));
        }
    }

    /// Sends what is queued as one payload, when a session is open and nothing is in flight;
    /// with the resume extension, an acknowledgement alone when one is due (`now` past its
    /// delay, or many messages unacknowledged).
    fn flush(&mut self, now: Option<u64>) {
        let Phase::Open { id, kind, .. } = self.phase else {
            return;
        };
        if self.busy || self.held {
            // The acknowledgement goes with the next payload, after this one's answer (or
            // when the hold ends).
            return;
        }
        if self.resume.recv_upto <= self.resume.ack_sent {
            self.resume.ack_due = None;
        }
        let r = &self.resume;
        let ack_wanted = r.active
            && r.recv_upto > r.ack_sent
            && (r.recv_upto - r.ack_sent >= ACK_EVERY
                || now.zip(r.ack_due).is_some_and(|(now, due)| now >= due));
        if self.sent >= self.pending.len() && !ack_wanted {
            return;
        }
        // Batch what is queued, but keep each payload bounded so a long backlog never becomes
        // one request a server refuses as too large (a single larger message still goes alone).
        let first = self.sent;
        let limit = if kind == TransportKind::WebSocket {
            MAX_FRAME_BYTES
        } else {
            self.http_limit
        };
        let mut size = 2;
        while let Some(message) = self.pending.get(self.sent) {
            let len = message.encoded_size();
            if self.sent > first && size + len > limit {
                break;
            }
            size += len;
            self.sent += 1;
        }
        self.inflight = self.sent - first;
        self.busy = true;
        let batch = &self.pending.make_contiguous()[first..self.sent];
        let payload = if self.resume.active {
            let seq = self.resume.acked + first as u64 + 1;
            let r = &mut self.resume;
            r.sent_upto = r.sent_upto.max(seq + batch.len() as u64 - 1);
            r.ack_sent = r.recv_upto;
            r.ack_due = None;
            M::encode_numbered(r.recv_upto, seq, batch)
        } else {
            M::encode(batch)
        };
        self.actions.push_back(Action::Send { id, payload });
    }

    /// The connection is gone: whatever it sent is sent again on the next one (plain SockJS:
    /// it was not confirmed; resume extension: it is not acknowledged).
    fn requeue_inflight(&mut self) {
        self.sent = 0;
        self.inflight = 0;
        self.busy = false;
        self.resume.ack_due = None;
    }

    fn finish(&mut self, code: u16, reason: &str, was_clean: bool) {
        self.requeue_inflight();
        self.phase = Phase::Closed;
        self.close_pending = true;
        self.events.push_back(Event::Close {
            code,
            reason: reason.to_owned(),
            was_clean,
        });
    }
}

impl Session<String> {
    /// [`handle_frame`](Self::handle_frame) for a frame as text, decoded with
    /// [`sockjs::decode_frame`] (servers, native drivers and tests).
    pub fn handle_text(&mut self, now: u64, id: OpId, frame: &str) {
        self.handle_frame(now, id, sockjs::decode_frame(frame));
    }
}

/// 1-64 ASCII letters, digits, `-`, `_` and `~`: a server or session id path segment.
fn is_path_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'~'))
}

/// 1000 or 3000-4999: codes an application (user or server) chooses.
fn is_application_code(code: u16) -> bool {
    code == 1000 || (3000..=4999).contains(&code)
}

/// Upper bound on one batched HTTP payload, so a long backlog never becomes one request a server
/// or proxy refuses. It counts [`Message::encoded_size`]: escaped bytes for a `String`, UTF-16
/// code units (plus the quotes) for a JS string, whose UTF-8 on the wire can be three times as
/// many bytes; 256 K of them stay under 768 KiB, within the 1 MiB that nginx
/// (`client_max_body_size`) and cometkit-server (`max_payload`) accept by default. One POST is in
/// flight at a time, so each POST is a round trip: with the former 64 KiB bound every 64 KiB
/// message went in a POST of its own, and a window of eight such messages took eight round trips
/// where sockjs-client, which batches without a bound, takes one.
const MAX_BATCH_BYTES: usize = 256 * 1024;

/// The bound on a WebSocket frame's payload: a send there costs no round trip, so smaller
/// frames lose nothing (a larger bound measured slower: bigger strings for both sides to parse)
/// and stay within the message limits servers set on WebSocket frames.
const MAX_FRAME_BYTES: usize = 64 * 1024;

fn three_digits(n: u32) -> String {
    let digit = |d: u32| char::from(b'0' + (d % 10) as u8);
    [digit(n / 100), digit(n / 10), digit(n)].iter().collect()
}

/// Checks the base URL and removes trailing slashes from its path.
fn normalize_base(url: &str) -> Result<String, Error> {
    let after_scheme = ["http://", "https://"].iter().find_map(|scheme| {
        url.get(..scheme.len())
            .filter(|s| s.eq_ignore_ascii_case(scheme))
            .map(|_| scheme.len())
    });
    let Some(after_scheme) = after_scheme else {
        return Err(Error::invalid("url: the scheme must be http: or https:"));
    };
    if url.as_bytes().contains(&b'#') {
        return Err(Error::invalid("url must not contain a fragment"));
    }
    if url.bytes().any(|b| b <= b' ' || b == 0x7f) {
        return Err(Error::invalid(
            "url must not contain whitespace or control characters",
        ));
    }
    let rest = url.get(after_scheme..).unwrap_or_default();
    let host_end = rest
        .bytes()
        .position(|b| b == b'/' || b == b'?')
        .unwrap_or(rest.len());
    if host_end == 0 {
        return Err(Error::invalid("url has no host"));
    }
    // A byte split, not find + split_at (a panic path) or split_once(char) (a char searcher).
    let (path, sep, query) = match crate::url::split_byte(url, b'?') {
        Some((path, query)) => (path, "?", query),
        None => (url, "", ""),
    };
    // The host holds no '/', so trimming never reaches into it.
    Ok(crate::error::concat(&[
        path.trim_end_matches('/'),
        sep,
        query,
    ]))
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::ladder::TransportKind::*;
    use std::collections::HashMap;

    const INFO: &str = r#"{"websocket":true,"cookie_needed":false,"origins":["*:*"],"entropy":7}"#;

    fn fixed_random(v: u32) -> Box<dyn FnMut() -> u32> {
        Box::new(move || v)
    }

    fn counter_random() -> Box<dyn FnMut() -> u32> {
        let mut n = 0;
        Box::new(move || {
            n += 1;
            n
        })
    }

    fn config() -> Config {
        let mut c = Config::new(Capabilities::modern(false, true));
        c.server_id = Some("000".into());
        c
    }

    fn describe(e: Event) -> String {
        match e {
            Event::TransportChanged(k) => ["transport ", k.name()].concat(),
            Event::Open => "open".into(),
            Event::Messages(_) => unreachable!("split by events()"),
            Event::Heartbeat => "heartbeat".into(),
            Event::Reconnecting {
                code,
                reason,
                delay_ms,
                attempt,
            } => format!("reconnecting {code} {reason} delay={delay_ms} attempt={attempt}"),
            Event::Error(e) => ["error ", e.kind().as_str()].concat(),
            Event::ResumeFailed {
                code,
                reason,
                unconfirmed,
            } => format!("resume failed {code} {reason} unconfirmed={unconfirmed:?}"),
            Event::Close {
                code,
                reason,
                was_clean,
            } => format!("close {code} {reason} clean={was_clean}"),
        }
    }

    fn events(s: &mut Session) -> Vec<String> {
        std::iter::from_fn(|| s.poll_event())
            .flat_map(|e| match e {
                Event::Messages(m) => m.iter().map(|m| ["message ", m].concat()).collect(),
                other => vec![describe(other)],
            })
            .collect()
    }

    fn actions(s: &mut Session) -> Vec<Action> {
        std::iter::from_fn(|| s.poll_action()).collect()
    }

    /// Connects a bare session and answers `/info` (rtt 50 ms), returning the first attempt.
    fn to_first_attempt(s: &mut Session) -> (OpId, TransportKind, String, u32) {
        s.connect(1_000);
        let Some(Action::FetchInfo { id, .. }) = s.poll_action() else {
            panic!("no FetchInfo")
        };
        s.handle_info(1_050, id, INFO);
        match s.poll_action() {
            Some(Action::OpenTransport {
                id,
                transport,
                url,
                timeout_ms,
                ..
            }) => (id, transport, url, timeout_ms),
            other => panic!("{other:?}"),
        }
    }

    // -----------------------------------------------------------------------------------------
    // Resume extension.

    const RESUME_INFO: &str = r#"{"websocket":true,"cookie_needed":false,"resume":1}"#;

    /// A WebSocket-only session against a server offering the resume extension; returns it
    /// with the first attempt's id and URL.
    fn resumable() -> (Session, OpId, String) {
        let mut c = config();
        c.transports = vec![TransportKind::WebSocket];
        let mut s: Session = Session::new("http://h/echo", c, counter_random()).unwrap();
        s.connect(0);
        let Some(Action::FetchInfo { id, .. }) = s.poll_action() else {
            panic!()
        };
        s.handle_info(10, id, RESUME_INFO);
        let Some(Action::OpenTransport { id, url, .. }) = s.poll_action() else {
            panic!()
        };
        (s, id, url)
    }

    fn sends(s: &mut Session) -> Vec<String> {
        actions(s)
            .into_iter()
            .filter_map(|a| match a {
                Action::Send { payload, .. } => Some(payload),
                _ => None,
            })
            .collect()
    }

    fn reopen(s: &mut Session, now: u64) -> (OpId, String) {
        for a in actions(s) {
            if let Action::OpenTransport { id, url, .. } = a {
                return (id, url);
            }
        }
        s.handle_timeout(now);
        let _ = s.poll_action(); // FetchInfo
        let id = OpId(s.next_id);
        s.handle_info(now + 1, id, RESUME_INFO);
        match s.poll_action() {
            Some(Action::OpenTransport { id, url, .. }) => (id, url),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn resume_numbers_acknowledges_and_acks_on_a_timer() {
        let (mut s, id, url) = resumable();
        assert!(url.ends_with("/websocket?resume=new"), "{url}");
        s.handle_text(20, id, "o");
        assert_eq!(
            s.ready_state(),
            ReadyState::Connecting,
            "opens on the r frame"
        );
        s.handle_text(20, id, r#"r["T1",0]"#);
        assert_eq!(s.ready_state(), ReadyState::Open);
        assert!(!s.recovered());
        s.send("a".into()).unwrap();
        assert_eq!(sends(&mut s), [r#"[0,1,"a"]"#]);
        s.handle_send_done(21, id, true);
        assert_eq!(s.buffered_amount(), 1, "kept until acknowledged");
        s.send("b".into()).unwrap();
        assert_eq!(sends(&mut s), [r#"[0,2,"b"]"#]);
        s.handle_send_done(22, id, true);
        s.handle_text(30, id, r#"q[1,1,"x","y"]"#);
        assert_eq!(s.buffered_amount(), 1);
        assert_eq!(s.poll_timeout(), Some(130), "the ack delay");
        s.handle_timeout(130);
        assert_eq!(sends(&mut s), ["[2]"]);
        s.handle_send_done(131, id, true);
        s.handle_text(140, id, "q[2]");
        assert_eq!(s.buffered_amount(), 0);
        let got = events(&mut s);
        assert_eq!(&got[got.len() - 2..], ["message x", "message y"]);
        // An acknowledgement of something never sent is a broken server.
        s.handle_text(150, id, "q[3]");
        assert_eq!(s.ready_state(), ReadyState::Connecting);
    }

    #[test]
    fn held_sends_leave_as_one_payload_and_before_a_close() {
        let (mut s, id, _) = resumable();
        s.handle_text(20, id, "o");
        s.handle_text(20, id, r#"r["T1",0]"#);
        s.hold_sends();
        assert!(s.holding_sends());
        s.handle_text(30, id, r#"q[0,1,"x"]"#);
        s.send("a".into()).unwrap();
        s.send("b".into()).unwrap();
        assert_eq!(sends(&mut s), Vec::<String>::new(), "held");
        assert_eq!(s.buffered_amount(), 2, "accepted and counted");
        s.release_sends(31);
        assert!(!s.holding_sends());
        assert_eq!(
            sends(&mut s),
            [r#"[1,1,"a","b"]"#],
            "one payload, with the ack"
        );
        s.handle_send_done(31, id, true);
        // An acknowledgement that fell due while held goes out on release.
        s.handle_text(40, id, r#"q[2,2,"y"]"#);
        s.hold_sends();
        s.handle_timeout(140);
        assert_eq!(sends(&mut s), Vec::<String>::new());
        s.release_sends(141);
        assert_eq!(sends(&mut s), ["[2]"]);
        s.handle_send_done(141, id, true);
        // A close sends what was held first.
        s.hold_sends();
        s.send("c".into()).unwrap();
        s.close(None, "").unwrap();
        let got = actions(&mut s);
        assert!(
            matches!(&got[..], [Action::Send { payload, .. }, Action::CloseTransport { .. }] if payload == r#"[2,3,"c"]"#),
            "{got:?}"
        );
    }

    #[test]
    fn held_sends_wait_for_the_session_to_open() {
        let (mut s, id, _, _) = to_first_attempt_plain();
        s.hold_sends();
        s.send("a".into()).unwrap();
        s.handle_text(20, id, "o");
        assert_eq!(sends(&mut s), Vec::<String>::new());
        s.release_sends(21);
        assert_eq!(sends(&mut s), [r#"["a"]"#]);
        // Released before it opens: sent on open.
        let (mut s, id, _, _) = to_first_attempt_plain();
        s.hold_sends();
        s.send("b".into()).unwrap();
        s.release_sends(15);
        s.handle_text(20, id, "o");
        assert_eq!(sends(&mut s), [r#"["b"]"#]);
    }

    fn to_first_attempt_plain() -> (Session, OpId, TransportKind, String) {
        let mut c = config();
        c.transports = vec![TransportKind::WebSocket];
        let mut s: Session = Session::new("http://h/echo", c, counter_random()).unwrap();
        let (id, kind, url, _) = to_first_attempt(&mut s);
        (s, id, kind, url)
    }

    #[test]
    fn resume_after_a_drop_resends_unacknowledged_and_drops_duplicates() {
        let (mut s, id, _) = resumable();
        s.handle_text(20, id, "o");
        s.handle_text(20, id, r#"r["T1",0]"#);
        s.send("a".into()).unwrap();
        s.send("b".into()).unwrap();
        assert_eq!(sends(&mut s), [r#"[0,1,"a"]"#]);
        s.handle_send_done(21, id, true);
        assert_eq!(sends(&mut s), [r#"[0,2,"b"]"#]);
        s.handle_text(25, id, r#"q[1,1,"x"]"#);
        // The connection drops before "b" is acknowledged.
        s.handle_transport_closed(10_000, id, 1006, "gone");
        let (id, url) = reopen(&mut s, 20_000);
        assert!(url.ends_with("?resume=T1&ack=1"), "{url}");
        s.handle_text(20_010, id, "o");
        s.handle_text(20_010, id, r#"r["T1",1]"#);
        assert!(s.recovered());
        assert_eq!(sends(&mut s), [r#"[1,2,"b"]"#]);
        // The server replays what it had not seen acknowledged: "x" again, then "z".
        s.handle_text(20_020, id, r#"q[2,1,"x","z"]"#);
        assert_eq!(s.buffered_amount(), 0);
        let got: Vec<_> = events(&mut s)
            .into_iter()
            .filter(|e| e.starts_with("message"))
            .collect();
        assert_eq!(got, ["message x", "message z"]);
        // Each next receiving request says what arrived (and counts as an acknowledgement).
        let next = s.receive_url(id).unwrap();
        assert!(next.ends_with("/websocket?resume=T1&ack=2"), "{next}");
        assert_eq!(s.receive_url(OpId(999)), None);
        // A gap means something was lost: the connection is given up.
        s.handle_text(20_030, id, r#"q[2,9,"late"]"#);
        assert_eq!(s.ready_state(), ReadyState::Connecting);
    }

    #[test]
    fn failed_resume_hands_back_unconfirmed_and_sends_the_rest_fresh() {
        let (mut s, id, _) = resumable();
        s.handle_text(20, id, "o");
        s.handle_text(20, id, r#"r["T1",0]"#);
        s.send("a".into()).unwrap();
        assert_eq!(sends(&mut s), [r#"[0,1,"a"]"#]);
        s.handle_send_done(21, id, true);
        s.handle_transport_closed(10_000, id, 1006, "gone");
        s.send("b".into()).unwrap(); // never sent before the drop
        let (id, _) = reopen(&mut s, 20_000);
        events(&mut s);
        s.handle_text(20_010, id, "o");
        s.handle_text(20_010, id, r#"r["T2",0]"#);
        assert!(!s.recovered());
        let got = events(&mut s);
        assert!(
            got.iter().any(
                |e| e.starts_with("resume failed 2011 Session cannot be resumed")
                    && e.ends_with(r#"unconfirmed=["a"]"#)
            ),
            "{got:?}"
        );
        assert_eq!(sends(&mut s), [r#"[0,1,"b"]"#]);
        assert_eq!(s.buffered_amount(), 1);
    }

    #[test]
    fn plain_servers_get_plain_sockjs() {
        let (mut s, id, _, _) = {
            let mut s: Session = Session::new("http://h/echo", config(), counter_random()).unwrap();
            let (id, kind, url, t) = to_first_attempt(&mut s);
            assert!(!url.contains("resume"));
            (s, id, kind, t)
        };
        s.handle_text(20, id, "o");
        assert_eq!(s.ready_state(), ReadyState::Open);
        s.handle_text(21, id, "q[0]");
        assert_eq!(
            s.ready_state(),
            ReadyState::Connecting,
            "q frames are out of place"
        );
        // With the extension turned off, an offering server is used plainly.
        let mut c = config();
        c.resume = false;
        let mut s: Session = Session::new("http://h/echo", c, counter_random()).unwrap();
        s.connect(0);
        let Some(Action::FetchInfo { id, .. }) = s.poll_action() else {
            panic!()
        };
        s.handle_info(10, id, RESUME_INFO);
        let Some(Action::OpenTransport { url, .. }) = s.poll_action() else {
            panic!()
        };
        assert!(!url.contains("resume"));
    }

    // -----------------------------------------------------------------------------------------
    // A pure simulated SockJS server and driver.

    #[derive(Clone, Copy, PartialEq, Debug)]
    enum Behaviour {
        /// Answers `o` at once.
        Accept,
        /// Fails at once (connection refused).
        Refuse,
        /// Never answers.
        Silent,
    }

    #[derive(Clone, PartialEq, Debug)]
    enum InfoMode {
        Answer(String),
        Fail,
        Silent,
    }

    struct Sim {
        s: Session,
        now: u64,
        info: InfoMode,
        info_rtt: u64,
        behaviour: HashMap<TransportKind, Behaviour>,
        echo: bool,
        /// The next `fail_sends` payloads fail.
        fail_sends: u32,
        /// Payloads are received but never confirmed.
        hold_sends: bool,
        /// Every message the server received, in order (duplicates included).
        received: Vec<String>,
        /// Every transport the driver opened: kind and URL.
        opened: Vec<(TransportKind, String)>,
        /// Transports the driver holds open.
        live: Vec<(OpId, TransportKind)>,
        /// The server sends `h` every 25 s on answering transports (only during `advance`).
        heartbeats: bool,
        answering: Vec<OpId>,
        cancelled_info: u32,
        log: Vec<String>,
    }

    impl Sim {
        fn new(config: Config, random: Box<dyn FnMut() -> u32>) -> Sim {
            Sim {
                s: Session::<String>::new("http://127.0.0.1:9/echo", config, random).unwrap(),
                now: 1_000,
                info: InfoMode::Answer(INFO.into()),
                info_rtt: 20,
                behaviour: HashMap::new(),
                echo: true,
                fail_sends: 0,
                hold_sends: false,
                received: Vec::new(),
                opened: Vec::new(),
                live: Vec::new(),
                heartbeats: false,
                answering: Vec::new(),
                cancelled_info: 0,
                log: Vec::new(),
            }
        }

        fn start(config: Config) -> Sim {
            let mut sim = Sim::new(config, counter_random());
            sim.connect();
            sim
        }

        fn connect(&mut self) {
            self.s.connect(self.now);
            self.pump();
        }

        fn behave(&mut self, kind: TransportKind, b: Behaviour) {
            self.behaviour.insert(kind, b);
        }

        fn behave_all(&mut self, b: Behaviour) {
            for k in TransportKind::ALL {
                self.behave(k, b);
            }
        }

        fn pump(&mut self) {
            while let Some(action) = self.s.poll_action() {
                match action {
                    Action::FetchInfo { id, url } => {
                        assert_eq!(url, "http://127.0.0.1:9/echo/info");
                        match self.info.clone() {
                            InfoMode::Answer(body) => {
                                self.now += self.info_rtt;
                                self.s.handle_info(self.now, id, &body);
                            }
                            InfoMode::Fail => self.s.handle_info_failed(
                                self.now,
                                id,
                                Error::network("connection refused"),
                            ),
                            InfoMode::Silent => {}
                        }
                    }
                    Action::CancelInfo { .. } => self.cancelled_info += 1,
                    Action::OpenTransport {
                        id, transport, url, ..
                    } => {
                        self.opened.push((transport, url));
                        match self
                            .behaviour
                            .get(&transport)
                            .copied()
                            .unwrap_or(Behaviour::Accept)
                        {
                            Behaviour::Accept => {
                                self.live.push((id, transport));
                                self.answering.push(id);
                                self.s.handle_text(self.now, id, "o");
                            }
                            Behaviour::Refuse => self
                                .s
                                .handle_transport_closed(self.now, id, 1006, "refused"),
                            Behaviour::Silent => self.live.push((id, transport)),
                        }
                    }
                    Action::CloseTransport { id } => {
                        self.live.retain(|&(l, _)| l != id);
                        self.answering.retain(|&l| l != id);
                    }
                    Action::Send { id, payload } => {
                        assert!(
                            self.live.iter().any(|&(l, _)| l == id),
                            "send on a dead transport"
                        );
                        if self.fail_sends > 0 {
                            self.fail_sends -= 1;
                            self.s.handle_send_done(self.now, id, false);
                            continue;
                        }
                        let Ok(Frame::Messages(messages)) =
                            sockjs::decode_frame(&["a", &payload].concat())
                        else {
                            panic!("bad payload {payload}")
                        };
                        self.received.extend(messages.iter().cloned());
                        if self.hold_sends {
                            continue;
                        }
                        self.s.handle_send_done(self.now, id, true);
                        if self.echo {
                            let frame = ["a", &sockjs::encode_payload(&messages)].concat();
                            self.s.handle_text(self.now, id, &frame);
                        }
                    }
                }
            }
            let log = events(&mut self.s);
            self.log.extend(log);
        }

        /// Lets simulated time pass, firing every timer due on the way (and sending
        /// heartbeats every 25 s when `heartbeats` is on).
        fn advance(&mut self, mut ms: u64) {
            while self.heartbeats && ms >= 25_000 {
                self.advance_quietly(25_000);
                ms -= 25_000;
                if let Some(&id) = self.answering.last() {
                    self.s.handle_text(self.now, id, "h");
                    self.pump();
                }
            }
            self.advance_quietly(ms);
        }

        fn advance_quietly(&mut self, ms: u64) {
            let target = self.now + ms;
            while let Some(t) = self.s.poll_timeout() {
                if t > target {
                    break;
                }
                self.now = self.now.max(t);
                self.s.handle_timeout(self.now);
                self.pump();
            }
            // Inputs may have moved the clock past the target (the simulated /info rtt).
            self.now = self.now.max(target);
        }

        fn current(&self) -> OpId {
            self.live.last().expect("no live transport").0
        }

        fn frame(&mut self, frame: &str) {
            let id = self.current();
            self.s.handle_text(self.now, id, frame);
            self.pump();
        }

        /// The live transport drops (network failure).
        fn drop_transport(&mut self) {
            let id = self.current();
            self.live.retain(|&(l, _)| l != id);
            self.answering.retain(|&l| l != id);
            self.s.handle_transport_closed(self.now, id, 1006, "gone");
            self.pump();
        }

        fn send(&mut self, m: &str) {
            self.s.send(m.to_string()).unwrap();
            self.pump();
        }

        fn take_log(&mut self) -> Vec<String> {
            std::mem::take(&mut self.log)
        }

        fn kinds_opened(&self) -> Vec<TransportKind> {
            self.opened.iter().map(|(k, _)| *k).collect()
        }
    }

    // -----------------------------------------------------------------------------------------

    #[test]
    fn happy_open_send_receive() {
        let mut s = Session::<String>::new("http://h:1/echo/", config(), fixed_random(0)).unwrap();
        assert_eq!(s.url(), "http://h:1/echo");
        assert_eq!(s.ready_state(), ReadyState::Connecting);
        assert_eq!(s.poll_action(), None);
        assert_eq!(s.poll_timeout(), None);
        s.connect(1_000);
        let Some(Action::FetchInfo { id, url }) = s.poll_action() else {
            panic!()
        };
        assert_eq!(url, "http://h:1/echo/info");
        assert_eq!(s.poll_timeout(), Some(9_000));
        s.connect(1_001); // a second connect does nothing
        assert_eq!(s.poll_action(), None);
        // rtt 50 -> RTO 350 -> websocket (2 round trips) gets 700 ms.
        s.handle_info(1_050, id, INFO);
        let a = s.poll_action().unwrap();
        let Action::OpenTransport { id: t, .. } = a else {
            panic!("{a:?}")
        };
        assert_eq!(
            a,
            Action::OpenTransport {
                id: t,
                transport: WebSocket,
                url: "ws://h:1/echo/000/aaaaaaaa/websocket".into(),
                send_url: None,
                timeout_ms: 700,
            }
        );
        assert_eq!(s.poll_timeout(), Some(1_750));
        assert!(events(&mut s).is_empty());
        s.handle_text(1_100, t, "o");
        assert_eq!(events(&mut s), ["transport websocket", "open"]);
        assert_eq!(s.ready_state(), ReadyState::Open);
        assert_eq!(s.transport(), Some(WebSocket));
        assert_eq!(s.poll_timeout(), Some(1_100 + 62_500));
        s.send("hi \"there\"".into()).unwrap();
        assert_eq!(
            actions(&mut s),
            [Action::Send {
                id: t,
                payload: r#"["hi \"there\""]"#.into()
            }]
        );
        // One payload in flight at a time: the next waits for the confirmation.
        s.send("x".into()).unwrap();
        s.send("y".into()).unwrap();
        assert_eq!(s.poll_action(), None);
        assert_eq!(s.buffered_amount(), 12);
        s.handle_send_done(1_110, t, true);
        assert_eq!(
            actions(&mut s),
            [Action::Send {
                id: t,
                payload: r#"["x","y"]"#.into()
            }]
        );
        s.handle_send_done(1_120, t, true);
        assert_eq!(s.buffered_amount(), 0);
        s.handle_text(1_130, t, r#"a["one","😀"]"#);
        s.handle_text(1_140, t, "h");
        assert_eq!(events(&mut s), ["message one", "message 😀", "heartbeat"]);
        assert_eq!(s.poll_timeout(), Some(1_140 + 62_500));
    }

    #[test]
    fn ids_come_from_the_injected_random_source() {
        // counter: 1 -> server id "001"; 2 -> "c" + "aaaaa", 3 -> "d" + "a".
        let mut c = config();
        c.server_id = None;
        let mut s = Session::<String>::new("https://h/echo?x=1", c, counter_random()).unwrap();
        assert_eq!(s.server_id(), "001");
        let (_, kind, url, _) = to_first_attempt(&mut s);
        assert_eq!(kind, WebSocket);
        assert_eq!(url, "wss://h/echo/001/caaaaada/websocket?x=1");
        let mut c = config();
        c.server_id = Some("node-7".into());
        c.session_id_length = 3;
        c.transports = vec![XhrStreaming];
        let mut s =
            Session::<String>::new("http://h/echo", c, fixed_random(31 | (1 << 5))).unwrap();
        let (_, kind, url, _) = to_first_attempt(&mut s);
        assert_eq!(kind, XhrStreaming);
        assert_eq!(url, "http://h/echo/node-7/5ba/xhr_streaming");
    }

    #[test]
    fn invalid_urls_and_options_are_rejected() {
        for url in [
            "",
            "ftp://h/x",
            "ws://h/echo",
            "//h/echo",
            "http://",
            "http:///echo",
            "http://?x",
            "http://h/echo#frag",
            "http://h/ echo",
            "http://h/\necho",
        ] {
            let e = Session::<String>::new(url, config(), fixed_random(0))
                .err()
                .unwrap();
            assert!(e.is_invalid(), "{url}");
        }
        assert_eq!(
            Session::<String>::new("HTTPS://h//", config(), fixed_random(0))
                .unwrap()
                .url(),
            "HTTPS://h"
        );
        for id in ["", "a.b", "a/b", "é", &"x".repeat(65)] {
            let mut c = config();
            c.server_id = Some(id.to_string());
            let e = Session::<String>::new("http://h", c, fixed_random(0))
                .err()
                .unwrap();
            assert!(e.is_invalid() && e.message().contains("server_id"), "{id}");
        }
        for len in [0, 65] {
            let mut c = config();
            c.session_id_length = len;
            assert!(Session::<String>::new("http://h", c, fixed_random(0))
                .err()
                .unwrap()
                .is_invalid());
        }
        let mut c = config();
        c.max_queued_bytes = 0;
        assert!(Session::<String>::new("http://h", c, fixed_random(0))
            .err()
            .unwrap()
            .is_invalid());
    }

    #[test]
    fn falls_back_rung_by_rung_on_timeouts_then_closes_2000() {
        let mut sim = Sim::new(config(), counter_random());
        sim.info_rtt = 0; // RTO 300
        sim.behave_all(Behaviour::Silent);
        sim.connect();
        for (i, kind) in TransportKind::ALL.iter().enumerate() {
            assert_eq!(sim.kinds_opened().len(), i + 1);
            assert_eq!(sim.kinds_opened()[i], *kind);
            let timeout = 300 * u64::from(kind.spec().round_trips);
            assert_eq!(sim.s.poll_timeout(), Some(sim.now + timeout));
            // An early timer does nothing.
            sim.s.handle_timeout(sim.now + timeout - 1);
            sim.pump();
            assert_eq!(sim.kinds_opened().len(), i + 1);
            sim.advance(timeout);
        }
        assert_eq!(
            sim.take_log(),
            ["close 2000 All transports failed clean=false"]
        );
        assert!(sim.live.is_empty(), "every abandoned transport was closed");
        assert_eq!(sim.s.ready_state(), ReadyState::Closed);
        // Every attempt used a new session id.
        let mut urls: Vec<&String> = sim.opened.iter().map(|(_, u)| u).collect();
        urls.sort();
        urls.dedup();
        assert_eq!(urls.len(), 7);
    }

    #[test]
    fn configured_timeout_is_a_minimum() {
        let mut c = config();
        c.timeout_ms = 5_000;
        let mut s = Session::<String>::new("http://h", c, fixed_random(0)).unwrap();
        let (_, _, _, timeout) = to_first_attempt(&mut s);
        assert_eq!(timeout, 5_000);
    }

    #[test]
    fn falls_back_rung_by_rung_on_errors() {
        let mut sim = Sim::new(config(), counter_random());
        sim.behave_all(Behaviour::Refuse);
        sim.behave(JsonpPolling, Behaviour::Accept);
        sim.connect();
        assert_eq!(sim.kinds_opened(), TransportKind::ALL.to_vec());
        assert_eq!(sim.take_log(), ["transport jsonp-polling", "open"]);
        assert!(sim.opened[6].1.ends_with("/jsonp"));
        sim.send("m");
        assert_eq!(sim.take_log(), ["message m"]);
    }

    #[test]
    fn whitelist_order_is_followed_and_unavailable_rungs_skipped() {
        let mut c = config();
        c.transports = vec![EventSource, WebSocket, XhrPolling];
        let mut sim = Sim::new(c, counter_random());
        sim.info = InfoMode::Answer(
            r#"{"websocket":false,"cookie_needed":true,"origins":[],"entropy":0}"#.into(),
        );
        sim.behave(EventSource, Behaviour::Refuse);
        sim.connect();
        assert_eq!(sim.kinds_opened(), [EventSource, XhrPolling]);
        assert_eq!(sim.s.candidates(), [EventSource, XhrPolling]);
        assert_eq!(sim.take_log(), ["transport xhr-polling", "open"]);
    }

    #[test]
    fn no_candidate_at_all_closes_2000() {
        let mut c = config();
        c.transports = vec![WebSocket];
        let mut sim = Sim::new(c, counter_random());
        sim.info = InfoMode::Answer(r#"{"websocket":false,"cookie_needed":false}"#.into());
        sim.connect();
        assert!(sim.opened.is_empty());
        assert_eq!(
            sim.take_log(),
            ["close 2000 All transports failed clean=false"]
        );
    }

    #[test]
    fn info_failures_close_1002() {
        // Network failure.
        let mut sim = Sim::new(config(), counter_random());
        sim.info = InfoMode::Fail;
        sim.connect();
        assert_eq!(
            sim.take_log(),
            [
                "error network",
                "close 1002 Cannot connect to server clean=false"
            ]
        );
        // Malformed body.
        let mut sim = Sim::new(config(), counter_random());
        sim.info = InfoMode::Answer("<html>".into());
        sim.connect();
        assert_eq!(
            sim.take_log(),
            [
                "error protocol",
                "close 1002 Cannot connect to server clean=false"
            ]
        );
        // No answer: the info deadline cancels the request.
        let mut sim = Sim::new(config(), counter_random());
        sim.info = InfoMode::Silent;
        sim.connect();
        sim.advance(7_999);
        assert!(sim.take_log().is_empty());
        sim.advance(1);
        assert_eq!(sim.cancelled_info, 1);
        assert_eq!(
            sim.take_log(),
            [
                "error timeout",
                "close 1002 Cannot connect to server clean=false"
            ]
        );
        assert_eq!(sim.s.poll_timeout(), None);
    }

    fn no_cors_config() -> Config {
        let mut c = config();
        c.cors_fallback = true;
        c
    }

    #[test]
    fn info_network_error_with_cors_fallback_tries_only_transports_needing_no_cors() {
        // A bare session: the event, and the attempt's timeout from the failed /info's rtt.
        let mut s =
            Session::<String>::new("http://h/echo", no_cors_config(), fixed_random(0)).unwrap();
        s.connect(1_000);
        let Some(Action::FetchInfo { id, .. }) = s.poll_action() else {
            panic!("no FetchInfo")
        };
        s.handle_info_failed(1_050, id, Error::network("XHR failed"));
        let Some(Event::Error(e)) = s.poll_event() else {
            panic!("no error event")
        };
        assert!(e.is_network());
        assert_eq!(e.message(), NO_CORS_ERROR);
        assert!(s.poll_event().is_none());
        assert_eq!(s.candidates(), [WebSocket, JsonpPolling]);
        let Some(Action::OpenTransport {
            transport,
            url,
            timeout_ms,
            ..
        }) = s.poll_action()
        else {
            panic!("no OpenTransport")
        };
        assert_eq!(
            (transport, url.as_str(), timeout_ms),
            (WebSocket, "ws://h/echo/000/aaaaaaaa/websocket", 700)
        );
        // The server refuses WebSocket: jsonp-polling, never a transport that needs CORS.
        let mut sim = Sim::new(no_cors_config(), counter_random());
        sim.info = InfoMode::Fail;
        sim.behave(WebSocket, Behaviour::Refuse);
        sim.connect();
        assert_eq!(sim.kinds_opened(), [WebSocket, JsonpPolling]);
        assert_eq!(
            sim.take_log(),
            ["error network", "transport jsonp-polling", "open"]
        );
        sim.send("m");
        assert_eq!(sim.take_log(), ["message m"]);
        // Nothing answers at all (an unreachable server): 2000 once both failed.
        let mut sim = Sim::new(no_cors_config(), counter_random());
        sim.info = InfoMode::Fail;
        sim.behave_all(Behaviour::Refuse);
        sim.connect();
        assert_eq!(sim.kinds_opened(), [WebSocket, JsonpPolling]);
        assert_eq!(
            sim.take_log(),
            [
                "error network",
                "close 2000 All transports failed clean=false"
            ]
        );
        // A whitelist of transports that all need CORS: nothing to try.
        let mut c = no_cors_config();
        c.transports = vec![XhrStreaming, EventSource];
        let mut sim = Sim::new(c, counter_random());
        sim.info = InfoMode::Fail;
        sim.connect();
        assert!(sim.opened.is_empty());
        assert_eq!(
            sim.take_log(),
            [
                "error network",
                "close 2000 All transports failed clean=false"
            ]
        );
        // Other /info failures close as without the fallback.
        for error in [
            Error::new(crate::ErrorKind::Http, "HTTP status 500"),
            Error::protocol("not SockJS"),
        ] {
            let kind = error.kind().as_str();
            let mut s =
                Session::<String>::new("http://h", no_cors_config(), fixed_random(0)).unwrap();
            s.connect(0);
            let Some(Action::FetchInfo { id, .. }) = s.poll_action() else {
                panic!()
            };
            s.handle_info_failed(10, id, error);
            assert!(actions(&mut s).is_empty(), "{kind}");
            assert_eq!(
                events(&mut s),
                [
                    ["error ", kind].concat(),
                    "close 1002 Cannot connect to server clean=false".into()
                ]
            );
        }
    }

    #[test]
    fn cors_fallback_holds_for_each_reconnection_cycle() {
        let mut c = no_cors_config();
        c.reconnect = Some(Reconnect {
            backoff: Backoff {
                min: 1_000,
                max: 1_000,
                factor: 2.0,
                jitter: 0.0,
            },
            max_attempts: None,
        });
        let mut sim = Sim::new(c, counter_random());
        sim.connect();
        sim.advance(10_000);
        // A stable session is lost and /info now fails with a network error: the new cycle
        // takes the no-CORS path (websocket opens again).
        sim.info = InfoMode::Fail;
        sim.drop_transport();
        sim.advance(1_000);
        assert_eq!(
            sim.take_log(),
            [
                "transport websocket",
                "open",
                "reconnecting 1006 gone delay=1000 attempt=1",
                "error network",
                "open"
            ]
        );
        // /info answers again: the whole ladder is back.
        sim.info = InfoMode::Answer(INFO.into());
        sim.advance(10_000);
        sim.drop_transport();
        sim.advance(1_000);
        assert_eq!(sim.s.candidates().len(), TransportKind::ALL.len());
    }

    #[test]
    fn transport_failures_choose_close_code_and_reason_by_kind() {
        let cases = [
            (Error::protocol("no SockJS frame in the response"), 1002),
            (Error::network("XHR failed"), 1006),
            (
                Error::new(crate::ErrorKind::Http, "HTTP status 404 Not Found"),
                1006,
            ),
            (Error::timeout("request timed out"), 1006),
            (Error::abort("aborted"), 1006),
            (Error::invalid("the browser refused the URL"), 1006),
        ];
        for (error, code) in cases {
            let reason = error.message().to_owned();
            // A stable open session: reconnection with the chosen code and reason.
            let mut sim = Sim::start(config());
            sim.advance(10_000);
            sim.take_log();
            let id = sim.current();
            sim.s.handle_transport_failed(sim.now, id, error.clone());
            sim.pump();
            assert_eq!(
                sim.take_log(),
                [format!("reconnecting {code} {reason} delay=1000 attempt=1")]
            );
            // Without reconnection the socket closes with them.
            let mut c = config();
            c.reconnect = None;
            let mut sim = Sim::start(c);
            sim.advance(10_000);
            let id = sim.current();
            sim.s.handle_transport_failed(sim.now, id, error.clone());
            sim.s.handle_transport_failed(sim.now, id, error.clone()); // stale: ignored
            sim.pump();
            assert_eq!(
                sim.take_log(),
                [
                    "transport websocket".to_owned(),
                    "open".into(),
                    format!("close {code} {reason} clean=false")
                ]
            );
            // While connecting: the next rung, silently.
            let mut sim = Sim::new(config(), counter_random());
            sim.behave(WebSocket, Behaviour::Silent);
            sim.connect();
            let id = sim.current();
            sim.s.handle_transport_failed(sim.now, id, error);
            sim.pump();
            assert_eq!(sim.kinds_opened(), [WebSocket, XhrStreaming]);
            assert_eq!(sim.take_log(), ["transport xhr-streaming", "open"]);
        }
    }

    #[test]
    fn fixed_session_id_goes_into_every_url() {
        let mut c = config();
        c.session_id = Some("fixed-id_1".into());
        let mut sim = Sim::new(c.clone(), counter_random());
        sim.behave(WebSocket, Behaviour::Refuse);
        sim.behave(XhrStreaming, Behaviour::Refuse);
        sim.connect();
        assert_eq!(
            sim.opened,
            [
                (
                    WebSocket,
                    "ws://127.0.0.1:9/echo/000/fixed-id_1/websocket".into()
                ),
                (
                    XhrStreaming,
                    "http://127.0.0.1:9/echo/000/fixed-id_1/xhr_streaming".into()
                ),
                (
                    XdrStreaming,
                    "http://127.0.0.1:9/echo/000/fixed-id_1/xhr_streaming".into()
                ),
            ]
        );
        // The send URL too, and a query string stays after the path.
        c.transports = vec![XhrPolling];
        let mut s = Session::<String>::new("http://h/echo?t=1", c, fixed_random(0)).unwrap();
        s.connect(0);
        let Some(Action::FetchInfo { id, .. }) = s.poll_action() else {
            panic!()
        };
        s.handle_info(10, id, INFO);
        let Some(Action::OpenTransport { url, send_url, .. }) = s.poll_action() else {
            panic!()
        };
        assert_eq!(url, "http://h/echo/000/fixed-id_1/xhr?t=1");
        assert_eq!(
            send_url.as_deref(),
            Some("http://h/echo/000/fixed-id_1/xhr_send?t=1")
        );
        // Ids that cannot be a path segment are refused.
        for id in ["", "a/b", "a.b", "é", &"s".repeat(65)] {
            let mut c = config();
            c.session_id = Some(id.to_string());
            let e = Session::<String>::new("http://h", c, fixed_random(0))
                .err()
                .unwrap();
            assert!(e.is_invalid() && e.message().contains("session_id"), "{id}");
        }
    }

    #[test]
    fn transport_dying_young_is_demoted_and_the_ladder_continues() {
        let mut sim = Sim::start(config());
        assert_eq!(sim.take_log(), ["transport websocket", "open"]);
        sim.advance(1_000);
        sim.drop_transport();
        assert_eq!(
            sim.take_log(),
            [
                "reconnecting 1006 gone delay=0 attempt=0",
                "transport xhr-streaming",
                "open"
            ]
        );
        assert_eq!(sim.kinds_opened(), [WebSocket, XhrStreaming]);
        assert_ne!(sim.opened[0].1, sim.opened[1].1);
        // Later reconnections put websocket last.
        sim.advance(10_000);
        sim.drop_transport();
        let log = sim.take_log();
        assert_eq!(log.len(), 1);
        assert!(
            log[0].starts_with("reconnecting 1006 gone delay="),
            "{log:?}"
        );
        sim.advance(60_000);
        assert_eq!(sim.take_log(), ["open"]);
        assert_eq!(sim.kinds_opened()[2], XhrStreaming);
        assert_eq!(sim.s.candidates().last(), Some(&WebSocket));
        assert_eq!(sim.s.candidates().first(), Some(&XhrStreaming));
    }

    #[test]
    fn young_deaths_through_the_whole_ladder_close_2000_without_reconnect() {
        let mut c = config();
        c.reconnect = None;
        c.transports = vec![WebSocket, XhrPolling];
        let mut sim = Sim::start(c);
        sim.advance(100);
        sim.drop_transport();
        sim.advance(100);
        sim.drop_transport();
        assert_eq!(
            sim.take_log(),
            [
                "transport websocket",
                "open",
                "reconnecting 1006 gone delay=0 attempt=0",
                "transport xhr-polling",
                "open",
                "close 2000 All transports failed clean=false"
            ]
        );
    }

    #[test]
    fn stable_drop_without_reconnect_closes_with_the_transport_code() {
        let mut c = config();
        c.reconnect = None;
        let mut sim = Sim::start(c);
        sim.advance(10_000);
        sim.drop_transport();
        assert_eq!(
            sim.take_log(),
            ["transport websocket", "open", "close 1006 gone clean=false"]
        );
    }

    fn backoff_config(max_attempts: Option<u32>) -> Config {
        let mut c = config();
        c.reconnect = Some(Reconnect {
            backoff: Backoff {
                min: 1_000,
                max: 8_000,
                factor: 2.0,
                jitter: 0.5,
            },
            max_attempts,
        });
        c
    }

    #[test]
    fn reconnects_with_exponential_backoff_and_gives_up_after_max_attempts() {
        // random01 = 0.5 -> each delay is base × 1.25.
        let mut sim = Sim::new(backoff_config(Some(3)), fixed_random(1 << 31));
        sim.connect();
        sim.advance(10_000);
        sim.info = InfoMode::Fail;
        sim.drop_transport();
        let dropped_at = sim.now;
        assert_eq!(
            sim.take_log(),
            [
                "transport websocket",
                "open",
                "reconnecting 1006 gone delay=1250 attempt=1"
            ]
        );
        assert_eq!(sim.s.ready_state(), ReadyState::Connecting);
        assert_eq!(sim.s.poll_timeout(), Some(dropped_at + 1_250));
        sim.advance(1_249);
        assert!(sim.take_log().is_empty());
        sim.advance(1);
        assert_eq!(
            sim.take_log(),
            [
                "error network",
                "reconnecting 1002 Cannot connect to server delay=2500 attempt=2"
            ]
        );
        sim.advance(2_500);
        assert_eq!(
            sim.take_log(),
            [
                "error network",
                "reconnecting 1002 Cannot connect to server delay=5000 attempt=3"
            ]
        );
        sim.advance(5_000);
        assert_eq!(
            sim.take_log(),
            [
                "error network",
                "close 1002 Cannot connect to server clean=false"
            ]
        );
        assert_eq!(sim.s.poll_timeout(), None);
    }

    #[test]
    fn backoff_caps_at_max_and_resets_after_a_stable_session() {
        let mut sim = Sim::new(backoff_config(None), fixed_random(0));
        sim.connect();
        sim.advance(10_000);
        sim.behave_all(Behaviour::Refuse);
        sim.drop_transport();
        let mut delays = Vec::new();
        for _ in 0..6 {
            let log = sim.take_log();
            let last = log.last().unwrap().clone();
            let delay: u64 = last
                .split("delay=")
                .nth(1)
                .unwrap()
                .split(' ')
                .next()
                .unwrap()
                .parse()
                .unwrap();
            delays.push(delay);
            sim.advance(delay);
        }
        assert_eq!(delays, [1_000, 2_000, 4_000, 8_000, 8_000, 8_000]);
        // The server comes back: the next attempt opens; a later drop starts at 1 s again.
        sim.behave_all(Behaviour::Accept);
        sim.advance(8_000);
        assert_eq!(sim.take_log().last().unwrap(), "open");
        sim.advance(10_000);
        sim.drop_transport();
        assert_eq!(
            sim.take_log(),
            ["reconnecting 1006 gone delay=1000 attempt=1"]
        );
    }

    #[test]
    fn long_backlog_goes_out_in_bounded_payloads_in_order() {
        // HTTP transports batch up to MAX_BATCH_BYTES per POST, WebSocket up to MAX_FRAME_BYTES
        // per frame.
        for (kind, limit) in [
            (TransportKind::XhrStreaming, MAX_BATCH_BYTES),
            (TransportKind::WebSocket, MAX_FRAME_BYTES),
        ] {
            backlog_in_bounded_payloads(kind, limit);
        }
    }

    fn backlog_in_bounded_payloads(kind: TransportKind, limit: usize) {
        let mut c = config();
        c.transports = vec![kind];
        c.max_queued_bytes = 8 * limit;
        // Two fit in one payload, three do not.
        let big = |c: char| c.to_string().repeat(limit * 15 / 32);
        let huge = "z".repeat(limit * 3 / 2);
        let queued = "abcde".chars().map(big).chain([huge.clone()]);
        let (mut s, t) = open_session(c, queued);
        assert_eq!(s.transport(), Some(kind));
        let mut batches = Vec::new();
        for now in 30..40 {
            match s.poll_action() {
                Some(Action::Send { payload, .. }) => {
                    let Ok(Frame::Messages(m)) = sockjs::decode_frame(&["a", &payload].concat())
                    else {
                        panic!("payload is not a JSON string array")
                    };
                    assert!(payload.len() <= limit || m.len() == 1);
                    batches.push(m);
                    s.handle_send_done(now, t, true);
                }
                None => break,
                Some(other) => panic!("{other:?}"),
            }
        }
        let sizes: Vec<usize> = batches.iter().map(Vec::len).collect();
        assert_eq!(
            sizes,
            [2, 2, 1, 1],
            "{kind:?}: messages just under half the bound pair up; one over it goes alone"
        );
        let all: Vec<String> = batches.into_iter().flatten().collect();
        let expected: Vec<String> = "abcde".chars().map(big).chain([huge]).collect();
        assert_eq!(all, expected);
        assert_eq!(s.buffered_amount(), 0);
    }

    fn too_large() -> Error {
        Error::http(crate::error::HttpResponse::new(
            413,
            "Payload Too Large",
            crate::headers::Headers::default(),
            "http://h:1/echo/000/s/xhr_send",
            None,
        ))
    }

    /// An open session on `kind` with `messages` queued before it opened.
    fn opened(kind: TransportKind, messages: &[&str]) -> (Session, OpId) {
        let mut c = config();
        c.transports = vec![kind];
        let (mut s, t) = open_session(c, messages.iter().map(|m| (*m).to_owned()));
        assert_eq!(events(&mut s).last().map(String::as_str), Some("open"));
        (s, t)
    }

    /// A session under `c`, `messages` queued, connected up to its transport's `o` frame.
    fn open_session(c: Config, messages: impl IntoIterator<Item = String>) -> (Session, OpId) {
        let mut s = Session::<String>::new("http://h:1/echo", c, fixed_random(0)).unwrap();
        for m in messages {
            s.send(m).unwrap();
        }
        s.connect(0);
        let Some(Action::FetchInfo { id, .. }) = s.poll_action() else {
            panic!()
        };
        s.handle_info(10, id, INFO);
        let Some(Action::OpenTransport { id: t, .. }) = s.poll_action() else {
            panic!()
        };
        s.handle_text(20, t, "o");
        (s, t)
    }

    #[test]
    fn a_batch_the_server_refuses_as_too_large_goes_again_in_smaller_ones() {
        let messages = [
            "aaaaaaaaaa",
            "bbbbbbbbbb",
            "cccccccccc",
            "dddddddddd",
            "eeeeeeeeee",
        ];
        let (mut s, t) = opened(TransportKind::XhrStreaming, &messages);
        // The server takes at most 30 bytes per POST: two of these messages (27 bytes).
        let mut delivered = Vec::new();
        let mut refused = 0;
        for now in 30..60 {
            match s.poll_action() {
                Some(Action::Send { id, payload }) => {
                    assert_eq!(id, t);
                    if payload.len() > 30 {
                        refused += 1;
                        s.handle_send_failed(now, t, &too_large());
                    } else {
                        let Ok(Frame::Messages(m)) =
                            sockjs::decode_frame(&["a", &payload].concat())
                        else {
                            panic!("payload is not a JSON string array")
                        };
                        delivered.extend(m);
                        s.handle_send_done(now, t, true);
                    }
                }
                None => break,
                Some(other) => panic!("the connection is kept: {other:?}"),
            }
        }
        assert_eq!(delivered, messages, "every message, once, in order");
        assert!((1..=3).contains(&refused), "{refused} refusals");
        assert_eq!(events(&mut s), Vec::<String>::new(), "no reconnection");
        assert_eq!(s.ready_state(), ReadyState::Open);
        assert_eq!(s.buffered_amount(), 0);
    }

    #[test]
    fn a_single_message_the_server_refuses_as_too_large_ends_the_socket_unsent() {
        let (mut s, t) = opened(TransportKind::XhrPolling, &[]);
        s.send("small".into()).unwrap();
        let Some(Action::Send { .. }) = s.poll_action() else {
            panic!()
        };
        s.handle_send_done(30, t, true);
        let big = "x".repeat(5_000);
        s.send(big.clone()).unwrap();
        let Some(Action::Send { payload, .. }) = s.poll_action() else {
            panic!()
        };
        assert!(payload.contains(&big));
        s.send("after".into()).unwrap();
        s.handle_send_failed(40, t, &too_large());
        assert!(matches!(s.poll_action(), Some(Action::CloseTransport { id }) if id == t));
        assert_eq!(s.poll_action(), None, "not sent again");
        let log = events(&mut s);
        assert_eq!(log.len(), 1);
        assert!(log[0].starts_with("close 1009 Message too big"), "{log:?}");
        assert!(log[0].ends_with("clean=false"));
        assert_eq!(s.take_unsent(), [big, "after".to_owned()]);
        // Any other failure of a send is a broken transport, as before: the socket reconnects.
        let (mut s, t) = opened(TransportKind::XhrPolling, &["m"]);
        let Some(Action::Send { .. }) = s.poll_action() else {
            panic!()
        };
        s.handle_send_failed(50, t, &Error::network("reset"));
        assert!(matches!(
            s.poll_action(),
            Some(Action::CloseTransport { .. })
        ));
        let log = events(&mut s);
        assert!(log[0].starts_with("reconnecting "), "{log:?}");
    }

    #[test]
    fn a_websocket_closed_as_message_too_big_ends_the_socket_unsent() {
        let (mut s, t) = opened(TransportKind::WebSocket, &["first"]);
        let Some(Action::Send { .. }) = s.poll_action() else {
            panic!()
        };
        s.handle_transport_closed(30, t, CODE_MESSAGE_TOO_BIG, "too big");
        assert!(matches!(
            s.poll_action(),
            Some(Action::CloseTransport { .. })
        ));
        assert_eq!(s.poll_action(), None, "no reconnection");
        assert_eq!(events(&mut s), ["close 1009 too big clean=false"]);
        assert_eq!(s.take_unsent(), ["first"]);
    }

    #[test]
    fn queue_is_flushed_in_order_and_bounded_by_count() {
        let mut c = config();
        c.max_queued_messages = 3;
        let mut sim = Sim::new(c, counter_random());
        sim.behave_all(Behaviour::Silent);
        sim.send("a");
        sim.send("bb");
        sim.connect();
        sim.send("ccc");
        let e = sim.s.send("d".into()).unwrap_err();
        assert!(e.is_invalid() && e.message().contains("too many messages"));
        assert_eq!(sim.s.buffered_amount(), 6);
        // Opening flushes all three, in order, in one payload.
        sim.frame("o");
        assert_eq!(sim.received, ["a", "bb", "ccc"]);
        assert_eq!(
            sim.take_log(),
            [
                "transport websocket",
                "open",
                "message a",
                "message bb",
                "message ccc"
            ]
        );
        assert_eq!(sim.s.buffered_amount(), 0);
        sim.send("d");
        assert_eq!(sim.received, ["a", "bb", "ccc", "d"]);
    }

    #[test]
    fn queue_is_bounded_by_bytes_in_flight_too() {
        let mut c = config();
        c.max_queued_bytes = 5;
        let mut sim = Sim::new(c, counter_random());
        sim.hold_sends = true;
        sim.connect();
        sim.send("abc");
        assert_eq!(sim.received, ["abc"]);
        let e = sim.s.send("def".into()).unwrap_err();
        assert!(e.is_invalid() && e.message().contains("too many bytes"));
        sim.send("de");
        let e = sim.s.send("".into()).err();
        assert!(e.is_none(), "an empty message fits");
        assert_eq!(sim.s.buffered_amount(), 5);
        assert!(sim.s.has_room(0) && !sim.s.has_room(1));
        let big = "x".repeat(6);
        let e = sim.s.send(big).unwrap_err();
        assert!(e.is_invalid() && e.message().contains("larger than"), "{e}");
    }

    #[test]
    fn a_message_larger_than_the_byte_bound_says_so_on_an_empty_queue() {
        let mut c = config();
        c.max_queued_bytes = 4;
        c.max_queued_messages = 2;
        let mut s = Session::<String>::new("http://h/x", c, fixed_random(0)).unwrap();
        assert!(s.has_room(4) && !s.has_room(5));
        let e = s.send("12345".into()).unwrap_err();
        assert!(e.is_invalid() && e.message().contains("larger than"), "{e}");
        assert_eq!(s.buffered_amount(), 0);
        s.send("1234".into()).unwrap();
        assert!(!s.has_room(1) && s.has_room(0));
        s.send(String::new()).unwrap();
        assert!(!s.has_room(0), "the message count bound is reached");
        s.close(None, "").unwrap();
        assert!(!s.has_room(0), "nothing fits a closed socket");
    }

    #[test]
    fn failed_send_is_requeued_before_newer_messages() {
        let mut sim = Sim::start(config());
        sim.advance(10_000);
        sim.fail_sends = 1;
        sim.send("1");
        sim.s.send("2".into()).unwrap();
        assert!(sim.received.is_empty());
        assert_eq!(sim.s.ready_state(), ReadyState::Connecting);
        let log = sim.take_log();
        assert!(
            log.last()
                .unwrap()
                .starts_with("reconnecting 1006 Sending failed"),
            "{log:?}"
        );
        sim.send("3");
        assert_eq!(sim.s.buffered_amount(), 3);
        sim.advance(60_000);
        assert_eq!(sim.received, ["1", "2", "3"]);
        assert_eq!(sim.s.buffered_amount(), 0);
    }

    #[test]
    fn unconfirmed_payload_is_sent_again_at_least_once() {
        let mut sim = Sim::start(config());
        sim.advance(10_000);
        sim.hold_sends = true;
        sim.send("m");
        sim.hold_sends = false;
        sim.drop_transport();
        sim.advance(60_000);
        // The server got it on the dead session and again on the new one.
        assert_eq!(sim.received, ["m", "m"]);
        assert_eq!(sim.s.buffered_amount(), 0);
    }

    #[test]
    fn heartbeat_silence_counts_as_a_drop() {
        let mut sim = Sim::new(backoff_config(None), fixed_random(0));
        sim.connect();
        let opened = sim.now;
        assert_eq!(sim.s.poll_timeout(), Some(opened + 62_500));
        sim.advance(60_000);
        sim.frame("h");
        assert_eq!(sim.s.poll_timeout(), Some(sim.now + 62_500));
        sim.advance(30_000);
        sim.frame(r#"a["still here"]"#);
        sim.advance(62_499);
        assert_eq!(
            sim.take_log(),
            [
                "transport websocket",
                "open",
                "heartbeat",
                "message still here"
            ]
        );
        sim.advance(1);
        assert_eq!(
            sim.take_log(),
            ["reconnecting 1006 Server heartbeat timed out delay=1000 attempt=1"]
        );
        assert!(sim.live.is_empty());
        // 0 disables the check.
        let mut c = config();
        c.heartbeat_timeout_ms = 0;
        let sim = Sim::start(c);
        assert_eq!(sim.s.poll_timeout(), None);
    }

    #[test]
    fn server_close_frame_is_final() {
        let mut sim = Sim::start(config());
        sim.send("unanswered");
        sim.echo = false;
        sim.hold_sends = true;
        sim.send("pending");
        let id = sim.current();
        sim.s.handle_text(sim.now, id, r#"c[3000,"Go away!"]"#);
        assert_eq!(sim.s.ready_state(), ReadyState::Closing);
        sim.pump();
        assert_eq!(
            sim.take_log(),
            [
                "transport websocket",
                "open",
                "message unanswered",
                "close 3000 Go away! clean=true"
            ]
        );
        assert_eq!(sim.s.ready_state(), ReadyState::Closed);
        assert!(sim.live.is_empty());
        assert_eq!(sim.s.poll_timeout(), None);
        sim.advance(100_000);
        assert!(
            sim.opened.len() == 1 && sim.take_log().is_empty(),
            "no reconnection"
        );
        assert!(sim.s.send("late".into()).unwrap_err().is_invalid());
        assert_eq!(sim.s.take_unsent(), ["pending"]);
        // A close frame while connecting is final too.
        let mut sim = Sim::new(config(), counter_random());
        sim.behave_all(Behaviour::Silent);
        sim.connect();
        sim.frame(r#"c[2010,"Another connection still open"]"#);
        assert_eq!(
            sim.take_log(),
            ["close 2010 Another connection still open clean=true"]
        );
    }

    #[test]
    fn server_fault_close_frames_on_an_open_session_reconnect() {
        // sockjs-node and cometkit-server answer `c[1002,"Connection interrupted"]` once a
        // receiving request was cut (a native EventSource reconnecting by itself meets it);
        // 2010 and 1011 are the server's faults too. None ends the socket.
        for (code, reason) in [
            (1002, "Connection interrupted"),
            (2010, "Another connection still open"),
            (1011, "Internal error"),
        ] {
            let mut sim = Sim::start(config());
            sim.send("before");
            sim.echo = false;
            sim.hold_sends = true;
            sim.send("unconfirmed");
            // A stable session (one that just opened would be demoted to the next transport).
            sim.heartbeats = true;
            sim.advance(60_000);
            sim.take_log();
            sim.frame(&format!(r#"c[{code},"{reason}"]"#));
            assert_eq!(
                sim.take_log(),
                [format!("reconnecting {code} {reason} delay=1000 attempt=1")],
                "{code}"
            );
            assert_eq!(sim.s.ready_state(), ReadyState::Connecting);
            assert!(sim.live.is_empty(), "{code}: the old transport is released");
            sim.hold_sends = false;
            sim.echo = true;
            sim.advance(1_000);
            assert_eq!(
                sim.take_log(),
                ["open", "message unconfirmed"],
                "{code}: a new session, and the unconfirmed message sent again"
            );
            assert_eq!(sim.s.ready_state(), ReadyState::Open);
            assert_eq!(sim.opened.len(), 2, "{code}");
            // Each attempt used a fresh session id.
            assert_ne!(sim.opened[0].1, sim.opened[1].1, "{code}");
        }
    }

    #[test]
    fn user_close_in_each_state() {
        // Idle.
        let mut s = Session::<String>::new("http://h", config(), fixed_random(0)).unwrap();
        s.close(None, "").unwrap();
        assert!(actions(&mut s).is_empty());
        assert_eq!(s.ready_state(), ReadyState::Closing);
        assert_eq!(events(&mut s), ["close 1000 Normal closure clean=true"]);
        assert_eq!(s.ready_state(), ReadyState::Closed);
        s.connect(0);
        assert!(actions(&mut s).is_empty());
        // Fetching /info.
        let mut s = Session::<String>::new("http://h", config(), fixed_random(0)).unwrap();
        s.connect(0);
        let Some(Action::FetchInfo { id, .. }) = s.poll_action() else {
            panic!()
        };
        s.close(Some(3001), "bye").unwrap();
        assert_eq!(actions(&mut s), [Action::CancelInfo { id }]);
        assert_eq!(events(&mut s), ["close 3001 bye clean=true"]);
        s.handle_info(10, id, INFO); // late answer: ignored
        assert!(actions(&mut s).is_empty() && events(&mut s).is_empty());
        // Attempting a transport.
        let mut s = Session::<String>::new("http://h", config(), fixed_random(0)).unwrap();
        let (t, ..) = to_first_attempt(&mut s);
        s.close(Some(4999), "").unwrap();
        assert_eq!(actions(&mut s), [Action::CloseTransport { id: t }]);
        assert_eq!(events(&mut s), ["close 4999 Normal closure clean=true"]);
        // Open, with a message queued behind one in flight.
        let mut s = Session::<String>::new("http://h", config(), fixed_random(0)).unwrap();
        let (t, ..) = to_first_attempt(&mut s);
        s.handle_text(2_000, t, "o");
        s.send("in flight".into()).unwrap();
        s.send("queued".into()).unwrap();
        actions(&mut s);
        assert!(s.take_unsent().is_empty(), "nothing taken while open");
        s.close(None, "done").unwrap();
        assert_eq!(actions(&mut s), [Action::CloseTransport { id: t }]);
        assert_eq!(
            events(&mut s),
            ["transport websocket", "open", "close 1000 done clean=true"]
        );
        assert_eq!(s.take_unsent(), ["in flight", "queued"]);
        assert_eq!(s.buffered_amount(), 0);
        s.handle_text(2_100, t, r#"a["late"]"#);
        s.handle_transport_closed(2_100, t, 1006, "x");
        assert!(events(&mut s).is_empty());
        // Waiting to reconnect.
        let mut sim = Sim::start(config());
        sim.advance(10_000);
        sim.drop_transport();
        assert!(sim.s.poll_timeout().is_some());
        sim.s.close(None, "").unwrap();
        sim.pump();
        assert_eq!(sim.s.poll_timeout(), None);
        assert_eq!(
            sim.take_log().last().unwrap(),
            "close 1000 Normal closure clean=true"
        );
        // Already closed: nothing happens.
        sim.s.close(Some(3000), "again").unwrap();
        sim.pump();
        assert!(sim.take_log().is_empty());
    }

    #[test]
    fn user_close_validates_code_and_reason() {
        let mut s = Session::<String>::new("http://h", config(), fixed_random(0)).unwrap();
        for code in [0, 999, 1001, 1006, 2000, 2999, 5000, u16::MAX] {
            let e = s.close(Some(code), "").unwrap_err();
            assert!(e.is_invalid(), "{code}");
        }
        assert!(s
            .close(Some(1000), &"é".repeat(62))
            .unwrap_err()
            .is_invalid());
        assert_eq!(s.ready_state(), ReadyState::Connecting, "nothing changed");
        s.close(Some(3000), &"x".repeat(123)).unwrap();
        assert_eq!(s.ready_state(), ReadyState::Closing);
    }

    #[test]
    fn open_frame_on_an_open_session_means_the_server_lost_it() {
        let mut sim = Sim::start(config());
        sim.advance(10_000);
        sim.frame("o");
        let log = sim.take_log();
        assert!(log
            .last()
            .unwrap()
            .starts_with("reconnecting 1006 Server lost session"));
    }

    #[test]
    fn malformed_frames_break_the_transport() {
        // While open: an error event, then a reconnection.
        let mut sim = Sim::start(config());
        sim.advance(10_000);
        sim.frame("a[\"broken");
        let log = sim.take_log();
        assert_eq!(log[2], "error protocol");
        assert!(
            log[3].starts_with("reconnecting 1002 Broken framing"),
            "{log:?}"
        );
        // Messages before `o`: an error and the next rung.
        let mut sim = Sim::new(config(), counter_random());
        sim.behave(WebSocket, Behaviour::Silent);
        sim.connect();
        sim.frame(r#"a["early"]"#);
        assert_eq!(
            sim.take_log(),
            ["error protocol", "transport xhr-streaming", "open"]
        );
    }

    #[test]
    fn application_close_codes_from_a_transport_are_final() {
        let mut sim = Sim::new(config(), counter_random());
        sim.behave_all(Behaviour::Silent);
        sim.connect();
        let id = sim.current();
        sim.s
            .handle_transport_closed(sim.now, id, 3003, "forbidden");
        sim.pump();
        assert_eq!(sim.take_log(), ["close 3003 forbidden clean=false"]);
        assert!(sim.live.is_empty());
        let mut sim = Sim::start(config());
        sim.advance(10_000);
        let id = sim.current();
        sim.s.handle_transport_closed(sim.now, id, 1000, "bye");
        sim.pump();
        assert_eq!(sim.take_log().last().unwrap(), "close 1000 bye clean=false");
    }

    #[test]
    fn news_from_abandoned_operations_is_ignored() {
        let mut sim = Sim::new(config(), counter_random());
        sim.behave(WebSocket, Behaviour::Silent);
        sim.behave(XhrStreaming, Behaviour::Silent);
        sim.connect();
        let old = sim.current();
        sim.advance(10_000); // websocket times out, xhr-streaming too, xdr-streaming opens
        assert_eq!(sim.kinds_opened(), [WebSocket, XhrStreaming, XdrStreaming]);
        sim.take_log();
        sim.s.handle_text(sim.now, old, "o");
        sim.s.handle_text(sim.now, old, r#"a["ghost"]"#);
        sim.s.handle_transport_closed(sim.now, old, 1006, "late");
        sim.s.handle_send_done(sim.now, old, false);
        sim.s.handle_info(sim.now, OpId(1), INFO);
        sim.s
            .handle_info_failed(sim.now, OpId(1), Error::network("x"));
        sim.pump();
        assert!(sim.take_log().is_empty());
        assert_eq!(sim.s.transport(), Some(XdrStreaming));
        assert_eq!(sim.opened.len(), 3);
    }

    #[test]
    fn full_sessions_over_every_transport() {
        for kind in TransportKind::ALL {
            let mut c = config();
            c.transports = vec![kind];
            let mut sim = Sim::start(c);
            let (_, url) = sim.opened[0].clone();
            assert!(url.ends_with(kind.spec().receive_path), "{url}");
            let sent: Vec<String> = (0..20).map(|i| format!("{}-{i}", kind.name())).collect();
            for m in &sent {
                sim.send(m);
            }
            sim.frame("h");
            sim.s.close(None, "").unwrap();
            sim.pump();
            let mut want = vec![["transport ", kind.name()].concat(), "open".into()];
            want.extend(sent.iter().map(|m| ["message ", m].concat()));
            want.push("heartbeat".into());
            want.push("close 1000 Normal closure clean=true".into());
            assert_eq!(sim.take_log(), want);
            assert_eq!(sim.received, sent);
            assert!(sim.live.is_empty());
        }
    }

    /// Random sends, drops, failed sends, silences and outages against the simulated server:
    /// once the network heals, every message has reached the server, first copies in order.
    #[test]
    fn chaos_never_loses_or_reorders_messages() {
        for seed in 1..=30u64 {
            let mut state = seed;
            let mut rnd = move || {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state >> 16) as u32
            };
            let mut c = config();
            c.max_queued_messages = 100_000;
            c.max_queued_bytes = 1 << 30;
            let mut sim = Sim::new(c, fixed_random(12345));
            sim.heartbeats = true;
            sim.connect();
            let mut sent = Vec::new();
            for step in 0..300 {
                match rnd() % 10 {
                    0..=3 => {
                        let m = format!("{seed}/{step}");
                        sim.send(&m);
                        sent.push(m);
                    }
                    4 if !sim.live.is_empty() => sim.drop_transport(),
                    5 => sim.fail_sends = rnd() % 2,
                    6 => {
                        let b = match rnd() % 3 {
                            0 => Behaviour::Accept,
                            1 => Behaviour::Refuse,
                            _ => Behaviour::Silent,
                        };
                        let k = TransportKind::ALL[(rnd() % 7) as usize];
                        sim.behave(k, b);
                    }
                    7 => {
                        sim.info = match rnd() % 4 {
                            0 => InfoMode::Fail,
                            1 => InfoMode::Silent,
                            _ => InfoMode::Answer(INFO.into()),
                        }
                    }
                    _ => sim.advance(u64::from(rnd() % 20_000)),
                }
                assert_ne!(sim.s.ready_state(), ReadyState::Closed, "seed {seed}");
            }
            // Heal everything and let it settle.
            sim.behave_all(Behaviour::Accept);
            sim.info = InfoMode::Answer(INFO.into());
            sim.fail_sends = 0;
            sim.advance(200_000);
            assert_eq!(sim.s.ready_state(), ReadyState::Open, "seed {seed}");
            assert_eq!(sim.s.buffered_amount(), 0, "seed {seed}");
            let mut first = Vec::new();
            for m in &sim.received {
                if !first.contains(m) {
                    first.push(m.clone());
                }
            }
            assert_eq!(first, sent, "seed {seed}");
        }
    }
}
