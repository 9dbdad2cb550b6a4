//! The server's side of one SockJS session, as a state machine without I/O or clock: what a
//! SockJS server keeps between the requests (or the socket) of one client connection, for
//! plain SockJS and for cometkit's [resume extension](crate::resume).
//!
//! A driver (cometkit-server's tokio wrapper, or a deterministic simulation) owns the sockets
//! and one timer per session, and calls in with the time as `now` (milliseconds on any
//! monotonic scale):
//!
//! * a receiving request (or socket) [`attach`](ServerSession::attach)es and gets a
//!   [`ReceiverId`]; it then [`pull`](ServerSession::pull)s what it must carry, one frame at a
//!   time, and waits to be woken on [`Pull::Wait`]. A frame leaves the session in the same call
//!   that decides the receiver may carry it, so a receiver that stops (response limit, one
//!   frame per poll) never loses a message: what it did not take stays for the next one. When
//!   it ends, it [`detach`](ServerSession::detach)es, saying whether it
//!   [finished](Detach::Finished) its response or its connection was [cut](Detach::Aborted).
//! * client payloads go through [`receive`](ServerSession::receive), which returns the new
//!   messages for the application, in order; the application's messages go in through
//!   [`send`](ServerSession::send) and [`close`](ServerSession::close).
//! * [`poll_timeout`](ServerSession::poll_timeout) gives the next deadline; at that time the
//!   driver calls [`handle_timeout`](ServerSession::handle_timeout) and wakes the receiver.
//!
//! After any call that may produce output (`attach`, `receive`, `send`, `close`,
//! `handle_timeout`) the driver wakes the attached receiver.
//!
//! # Plain sessions
//!
//! As sockjs-node serves them: the first receiver gets `o` (once per session), then `a[...]`
//! frames batching whatever the application sent. One receiver at a time: a second one is
//! refused ([`AttachError::Busy`]: answer `c[2010,"Another connection still open"]`,
//! [`BUSY`]). A receiving request cut by the network ends the session: it is *interrupted*
//! and every later receiver is served `c[1002,"Connection interrupted"]` ([`INTERRUPTED`]),
//! as it is served the application's close frame after [`close`](ServerSession::close),
//! until the session expires `disconnect_delay_ms` after its last receiver left. A session
//! that is not open refuses client payloads ([`Refused::NotOpen`]: answer 404, so the client
//! sends them again rather than counting them delivered). A WebSocket session
//! ([`Config::websocket`]) lives exactly as long as its one socket; a raw one
//! (`framed: false`) gets no `o` and carries the application's messages as they are
//! ([`Pull::Raw`]).
//!
//! # Resumable sessions
//!
//! Made with a token (and [`Config::resume`]): every transport connection starts with `o`
//! then `r["<token>",<ack>]`, data go out as `q[<ack>,<seq>,...]`, client payloads are
//! numbered ([`resume::decode_payload`]). The session keeps every message it sent until the
//! client acknowledges it, within [`ResumeConfig::max_messages`] and
//! [`ResumeConfig::max_bytes`]; a send beyond them means exactly-once can no longer be kept, so
//! the session closes with `c[2011,"Resume buffer overflow"]` and drops its buffer. A cut
//! connection does not interrupt the session: it waits [`ResumeConfig::grace_ms`] for a new
//! connection ([`attach`](ServerSession::attach) with the client's ack), which replaces any
//! receiver still attached and gets every message after that ack again. Client messages are
//! delivered once each: duplicates (a payload sent again) are dropped by sequence, a gap is
//! refused. The server's acknowledgement rides on every data frame; when none goes out within
//! [`ResumeConfig::ack_delay_ms`] of new client messages, an ack-only `q[<ack>]` does.
//!
//! ```
//! use cometkit_protocol::server::{Config, Detach, Pull, ResumeConfig, ServerSession};
//!
//! let config = Config::http(5_000).with_resume(ResumeConfig::default());
//! let mut s = ServerSession::new(0, config, Some("tok".into()));
//! let rx = s.attach(0, None).unwrap();
//! assert_eq!(s.pull(0, rx), Pull::Frame("o".into()));
//! assert_eq!(s.pull(0, rx), Pull::Frame(r#"r["tok",0]"#.into()));
//! s.send("hi".into()).unwrap();
//! assert_eq!(s.pull(0, rx), Pull::Frame(r#"q[0,1,"hi"]"#.into()));
//! s.detach(10, rx, Detach::Aborted); // the connection is cut: "hi" may be lost...
//! let rx = s.attach(20, Some(0)).unwrap(); // ...so the client takes the session back
//! assert_eq!(s.pull(20, rx), Pull::Frame("o".into()));
//! assert_eq!(s.pull(20, rx), Pull::Frame(r#"r["tok",0]"#.into()));
//! assert_eq!(s.pull(20, rx), Pull::Frame(r#"q[0,1,"hi"]"#.into()));
//! assert_eq!(s.receive(20, r#"[1,1,"yo"]"#, false), Ok(vec!["yo".to_string()]));
//! assert_eq!(s.receive(21, r#"[1,1,"yo"]"#, false), Ok(vec![])); // sent again: dropped
//! ```

use std::collections::VecDeque;

use crate::resume::{self, CODE_RESUME_FAILED};
use crate::sockjs::{self, PayloadError};

/// The close served after a receiving request of a plain session was cut.
pub const INTERRUPTED: (u16, &str) = (1002, "Connection interrupted");

/// The close a second receiver of a plain session is answered with ([`AttachError::Busy`]).
pub const BUSY: (u16, &str) = (2010, "Another connection still open");

/// The reason of the close ([`CODE_RESUME_FAILED`]) of a resumable session whose buffer
/// overflowed.
pub const OVERFLOW_REASON: &str = "Resume buffer overflow";

/// How a session behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// SockJS framing (`o`, `a[...]`, `c[...]`). `false` only for a raw WebSocket: no `o`, the
    /// application's messages as they are ([`Pull::Raw`]).
    pub framed: bool,
    /// The session ends with its first receiver (a plain WebSocket session). Ignored by
    /// resumable sessions, which outlive any connection.
    pub single_connection: bool,
    /// How long a plain session without a receiver survives.
    pub disconnect_delay_ms: u64,
    /// The bounds of a resumable session (used when [`ServerSession::new`] gets a token).
    pub resume: Option<ResumeConfig>,
}

impl Config {
    /// A session of the HTTP transports, expiring `disconnect_delay_ms` after its last
    /// receiver left.
    pub fn http(disconnect_delay_ms: u64) -> Self {
        Config {
            framed: true,
            single_connection: false,
            disconnect_delay_ms,
            resume: None,
        }
    }

    /// A plain WebSocket session (raw when `framed` is false), over when its socket is.
    pub fn websocket(framed: bool) -> Self {
        Config {
            framed,
            single_connection: true,
            disconnect_delay_ms: 0,
            resume: None,
        }
    }

    /// This configuration with the resume extension's bounds.
    pub fn with_resume(self, resume: ResumeConfig) -> Self {
        Config {
            resume: Some(resume),
            ..self
        }
    }
}

/// The bounds of a resumable session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResumeConfig {
    /// How long the session waits for a connection after its last receiver left.
    pub grace_ms: u64,
    /// Most messages kept unacknowledged.
    pub max_messages: usize,
    /// Most bytes of messages (their UTF-8 length) kept unacknowledged.
    pub max_bytes: usize,
    /// How long an acknowledgement of client messages may wait for a data frame to ride on.
    pub ack_delay_ms: u64,
}

impl Default for ResumeConfig {
    /// 120 s of grace, 1024 messages, 1 MiB, acks within 50 ms. The grace period must outlast
    /// the time a client takes to notice a dead connection and come back: with the client's
    /// defaults, up to 62.5 s of heartbeat silence plus a backoff of up to 45 s.
    fn default() -> Self {
        ResumeConfig {
            grace_ms: 120_000,
            max_messages: 1024,
            max_bytes: 1 << 20,
            ack_delay_ms: 50,
        }
    }
}

/// Names the receiver an [`attach`](ServerSession::attach) made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ReceiverId(u64);

/// Why a receiver cannot attach.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AttachError {
    /// Another receiver is attached and this one does not take the session back: answer
    /// `c[2010,"Another connection still open"]` ([`BUSY`]).
    Busy,
    /// The session expired.
    Closed,
    /// The client acknowledges messages the session never sent, or forgot messages it had
    /// acknowledged: it cannot be served exactly once.
    BadAck,
    /// Taking a session back is for resumable sessions only.
    NotResumable,
}

/// What a receiver must do next ([`ServerSession::pull`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pull {
    /// Carry this frame (`o`, `r[...]`, `a[...]` or `q[...]`).
    Frame(String),
    /// Carry these messages as they are, one WebSocket message each (raw WebSocket).
    Raw(Vec<String>),
    /// Carry this close frame and stop: the receiver has been detached. (A raw WebSocket
    /// closes with [`ServerSession::close_status`] instead.)
    Last(String),
    /// Nothing yet: wait to be woken.
    Wait,
    /// The receiver is not attached (replaced, detached, or the session is over): stop.
    Gone,
}

/// How a receiver lets go of its session ([`ServerSession::detach`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detach {
    /// It ended its response on its own terms (response limit, one frame per poll): the
    /// session waits for the next request.
    Finished,
    /// Its connection was cut: a plain session is interrupted, a resumable one waits for the
    /// client to take it back.
    Aborted,
}

/// Why a client payload was refused ([`ServerSession::receive`]); nothing of it was taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Refused {
    /// The session is not open (interrupted, closing, over): answer 404, so the client sends
    /// the messages again on another session instead of counting them delivered.
    NotOpen,
    /// The payload does not decode: answer 500 with [`PayloadError::message`].
    Payload(PayloadError),
    /// The messages start after the next expected sequence: some were lost in between.
    Gap,
    /// The payload acknowledges messages the session never sent.
    BadAck,
}

/// Why a message was not taken ([`ServerSession::send`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SendError {
    /// The session is closing or over.
    Closed,
    /// The resume buffer would exceed its bounds: the session has closed with
    /// [`CODE_RESUME_FAILED`].
    Overflow,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ready {
    Open,
    /// Closed by the application, interrupted or overflowed: the close frame is served to
    /// every receiver until the session expires.
    Closing,
    /// Expired.
    Closed,
}

/// The server's state of one SockJS session. See the [module docs](self).
#[derive(Debug)]
pub struct ServerSession {
    config: Config,
    /// `Some` for a resumable session.
    resume: Option<(String, ResumeConfig)>,
    ready: Ready,
    close: Option<(u16, String)>,
    /// `o` is due on the attached (or next) receiver.
    need_open: bool,
    /// `r[...]` is due after `o` (resumable sessions).
    need_resumed: bool,
    /// Plain: messages no receiver has taken. Resumable: messages from `first_seq` on, sent
    /// or not, until the client acknowledges them.
    out: VecDeque<String>,
    out_bytes: usize,
    first_seq: u64,
    /// The first message not yet carried on the current connection.
    unsent: u64,
    /// The highest sequence ever carried to a client.
    sent: u64,
    /// The last client sequence handed to the application.
    received: u64,
    /// A `q` frame should tell the client about `received`.
    ack_owed: bool,
    /// ... by this time, if no data frame carried it before.
    ack_due: Option<u64>,
    /// `ack_due` passed ([`handle_timeout`](Self::handle_timeout)).
    ack_ready: bool,
    receiver: Option<u64>,
    next_receiver: u64,
    /// When a session without receiver expires.
    expires: Option<u64>,
}

impl ServerSession {
    /// A new open session. `token` makes it resumable (with `config.resume`, or
    /// [`ResumeConfig::default`] if that is `None`); without one it is a plain session.
    /// Until a receiver attaches, it expires as if one had just left.
    pub fn new(now: u64, config: Config, token: Option<String>) -> Self {
        let resume = token.map(|t| (t, config.resume.unwrap_or_default()));
        let mut s = ServerSession {
            need_open: config.framed,
            need_resumed: resume.is_some(),
            resume,
            config,
            ready: Ready::Open,
            close: None,
            out: VecDeque::new(),
            out_bytes: 0,
            first_seq: 1,
            unsent: 1,
            sent: 0,
            received: 0,
            ack_owed: false,
            ack_due: None,
            ack_ready: false,
            receiver: None,
            next_receiver: 1,
            expires: None,
        };
        s.expires = Some(now.saturating_add(s.linger_ms()));
        s
    }

    /// The session's token, for a resumable session.
    pub fn token(&self) -> Option<&str> {
        self.resume.as_ref().map(|(t, _)| t.as_str())
    }

    /// Whether the session is resumable.
    pub fn is_resumable(&self) -> bool {
        self.resume.is_some()
    }

    /// Attaches a receiver. `resume_ack` is `None` for the first request of the session or the
    /// next request of the same transport connection (refused with [`AttachError::Busy`]
    /// while another receiver is attached), and `Some(ack)` for a new transport connection
    /// taking a resumable session back, `ack` being the last server sequence the client
    /// received: it replaces any attached receiver (which then pulls [`Pull::Gone`]), gets
    /// `o` and `r[token, ack of client messages]`, then every message after `ack` again.
    ///
    /// Fails with [`AttachError::Closed`] once the session expired, [`AttachError::BadAck`]
    /// for an `ack` beyond the last sequence sent (or before one the client acknowledged
    /// already), and [`AttachError::NotResumable`] for `Some` on a plain session.
    pub fn attach(&mut self, now: u64, resume_ack: Option<u64>) -> Result<ReceiverId, AttachError> {
        let _ = now;
        if self.ready == Ready::Closed {
            return Err(AttachError::Closed);
        }
        match resume_ack {
            None if self.receiver.is_some() => return Err(AttachError::Busy),
            None => {}
            Some(_) if self.resume.is_none() => return Err(AttachError::NotResumable),
            Some(ack) => {
                if ack > self.sent || ack.saturating_add(1) < self.first_seq {
                    return Err(AttachError::BadAck);
                }
                self.acknowledge(ack);
                self.unsent = self.first_seq;
                self.need_open = true;
                self.need_resumed = true;
            }
        }
        Ok(self.new_receiver())
    }

    /// Attaches the next receiving request of a resumable session's current transport
    /// connection (the next poll, or a new streaming response), which says the client received
    /// server messages up to `ack` (the `ack` of its query). Everything after `ack` goes out
    /// again: a response can be lost without the client seeing an error (a browser sends a
    /// request again by itself when a reused connection dies before the answer), and the
    /// client drops what it already has. An `ack` older than one already received is harmless
    /// (a request sent again with its old query). Any receiver still attached is replaced, as
    /// the client is evidently no longer reading it.
    ///
    /// Fails with [`AttachError::Closed`] once the session expired, [`AttachError::BadAck`]
    /// for an `ack` beyond the last sequence sent, [`AttachError::NotResumable`] on a plain
    /// session.
    pub fn attach_next(&mut self, now: u64, ack: u64) -> Result<ReceiverId, AttachError> {
        let _ = now;
        if self.ready == Ready::Closed {
            return Err(AttachError::Closed);
        }
        if self.resume.is_none() {
            return Err(AttachError::NotResumable);
        }
        if ack > self.sent {
            return Err(AttachError::BadAck);
        }
        self.acknowledge(ack);
        self.unsent = self.first_seq;
        Ok(self.new_receiver())
    }

    /// Makes a new receiver the attached one (any other is replaced) and stops the expiry.
    fn new_receiver(&mut self) -> ReceiverId {
        let id = self.next_receiver;
        self.next_receiver += 1;
        self.receiver = Some(id);
        self.expires = None;
        ReceiverId(id)
    }

    /// What receiver `rid` must do next. Taking the close frame ([`Pull::Last`]) detaches it.
    pub fn pull(&mut self, now: u64, rid: ReceiverId) -> Pull {
        if self.receiver != Some(rid.0) || self.ready == Ready::Closed {
            return Pull::Gone;
        }
        if self.need_open {
            self.need_open = false;
            return Pull::Frame("o".to_owned());
        }
        if let Some((token, _)) = &self.resume {
            if self.need_resumed {
                self.need_resumed = false;
                let frame = resume::encode_resumed_frame(token, self.received);
                self.ack_carried();
                return Pull::Frame(frame);
            }
            let next_seq = self.next_seq();
            if self.unsent < next_seq {
                let skip = usize::try_from(self.unsent - self.first_seq).unwrap_or(usize::MAX);
                let messages: Vec<String> = self.out.iter().skip(skip).cloned().collect();
                let frame = resume::encode_data_frame(self.received, self.unsent, &messages);
                self.unsent = next_seq;
                self.sent = self.sent.max(next_seq - 1);
                self.ack_carried();
                return Pull::Frame(frame);
            }
            let due = self.ack_ready || self.ack_due.is_some_and(|d| d <= now);
            if self.ack_owed && (due || self.ready != Ready::Open) {
                self.ack_carried();
                return Pull::Frame(resume::encode_data_frame(self.received, 0, &[]));
            }
        } else if !self.out.is_empty() {
            let messages: Vec<String> = self.out.drain(..).collect();
            self.out_bytes = 0;
            if !self.config.framed {
                return Pull::Raw(messages);
            }
            return Pull::Frame(sockjs::encode_message_frame(&messages));
        }
        if self.ready != Ready::Open {
            let (code, reason) = self.close_status().unwrap_or(INTERRUPTED);
            let frame = sockjs::encode_close_frame(code, reason);
            self.detach_now(now, Detach::Finished);
            return Pull::Last(frame);
        }
        Pull::Wait
    }

    /// Lets go of receiver `rid` (nothing happens if it is not the attached one). A plain HTTP
    /// session whose receiver was cut ([`Detach::Aborted`]) is interrupted; a WebSocket one
    /// ends; a resumable one waits `grace_ms` for the client to come back.
    pub fn detach(&mut self, now: u64, rid: ReceiverId, how: Detach) {
        if self.receiver == Some(rid.0) {
            self.detach_now(now, how);
        }
    }

    fn detach_now(&mut self, now: u64, how: Detach) {
        self.receiver = None;
        if self.resume.is_none() {
            if self.config.single_connection || !self.config.framed {
                self.end();
                return;
            }
            if how == Detach::Aborted && self.ready == Ready::Open {
                self.ready = Ready::Closing;
                self.close = Some((INTERRUPTED.0, INTERRUPTED.1.to_owned()));
            }
        }
        if self.ready != Ready::Closed {
            self.expires = Some(now.saturating_add(self.linger_ms()));
        }
    }

    /// A client payload: an `xhr_send` body, a `jsonp_send` `d` field, or one WebSocket
    /// message (`websocket`: a plain session then also takes one JSON string, and an empty
    /// message; a raw WebSocket session takes any text as one message). Returns the messages the application has not had yet, in order; on a
    /// resumable session the payload's acknowledgement frees what it covers, and messages
    /// already received (the client sent them again) are dropped.
    ///
    /// Refused, with nothing taken, when the payload does not decode
    /// ([`Refused::Payload`]), when the session is not open ([`Refused::NotOpen`]), and on a
    /// resumable session when the messages skip sequences ([`Refused::Gap`]) or the
    /// acknowledgement goes beyond what was sent ([`Refused::BadAck`]).
    pub fn receive(
        &mut self,
        now: u64,
        payload: &str,
        websocket: bool,
    ) -> Result<Vec<String>, Refused> {
        if !self.config.framed {
            // A raw WebSocket message is one application message, whatever it holds.
            if self.ready != Ready::Open {
                return Err(Refused::NotOpen);
            }
            return Ok(vec![payload.to_owned()]);
        }
        if self.resume.is_none() {
            let messages = if websocket {
                sockjs::decode_ws_message(payload)
            } else {
                sockjs::decode_payload(payload)
            }
            .map_err(Refused::Payload)?;
            if self.ready != Ready::Open {
                return Err(Refused::NotOpen);
            }
            return Ok(messages);
        }
        let numbered = resume::decode_payload(payload).map_err(Refused::Payload)?;
        if self.ready != Ready::Open {
            return Err(Refused::NotOpen);
        }
        if numbered.ack > self.sent {
            return Err(Refused::BadAck);
        }
        let count = numbered.messages.len();
        let skip =
            resume::fresh_part(self.received, numbered.seq, count).map_err(|()| Refused::Gap)?;
        self.acknowledge(numbered.ack);
        if count > 0 {
            // New messages, or ones sent again because our ack did not arrive: either way the
            // client needs to hear about `received`.
            self.received += (count - skip) as u64;
            self.ack_owed = true;
            if self.ack_due.is_none() {
                let delay = self.resume.as_ref().map_or(0, |(_, c)| c.ack_delay_ms);
                self.ack_due = Some(now.saturating_add(delay));
            }
        }
        let mut messages = numbered.messages;
        messages.drain(..skip);
        Ok(messages)
    }

    /// Queues `message` for the client. Fails with [`SendError::Closed`] unless the session
    /// is open, and on a resumable session with [`SendError::Overflow`] when keeping it would
    /// exceed `max_messages` or `max_bytes`: the session then closes with
    /// `c[2011,"Resume buffer overflow"]` and drops its buffer.
    pub fn send(&mut self, message: String) -> Result<(), SendError> {
        if self.ready != Ready::Open {
            return Err(SendError::Closed);
        }
        if let Some((_, c)) = &self.resume {
            if self.out.len() >= c.max_messages
                || self.out_bytes.saturating_add(message.len()) > c.max_bytes
            {
                self.overflow();
                return Err(SendError::Overflow);
            }
        }
        self.out_bytes += message.len();
        self.out.push_back(message);
        Ok(())
    }

    /// Closes a resumable session as an overflowing [`send`](Self::send) does (for a bound
    /// the session does not know, such as a total over many sessions): close frame
    /// `c[2011,"Resume buffer overflow"]`, buffer dropped. False if it was not open.
    pub fn overflow(&mut self) -> bool {
        if self.ready != Ready::Open {
            return false;
        }
        self.ready = Ready::Closing;
        self.close = Some((CODE_RESUME_FAILED, OVERFLOW_REASON.to_owned()));
        self.drop_buffer();
        true
    }

    /// Closes the session: receivers get `c[code,"reason"]` after the messages already
    /// queued. False if it was not open.
    pub fn close(&mut self, code: u16, reason: &str) -> bool {
        if self.ready != Ready::Open {
            return false;
        }
        self.ready = Ready::Closing;
        self.close = Some((code, reason.to_owned()));
        true
    }

    /// The close code and reason, once the session is closing.
    pub fn close_status(&self) -> Option<(u16, &str)> {
        self.close.as_ref().map(|(c, r)| (*c, r.as_str()))
    }

    /// Acts on the deadlines that passed by `now`: the session expires when it has been
    /// without a receiver for its delay (`disconnect_delay_ms`, or `grace_ms` when
    /// resumable); a delayed acknowledgement becomes due for the next [`pull`](Self::pull).
    pub fn handle_timeout(&mut self, now: u64) {
        if self.ready == Ready::Closed {
            return;
        }
        if self.receiver.is_none() && self.expires.is_some_and(|t| t <= now) {
            self.end();
            return;
        }
        if self.ack_due.is_some_and(|t| t <= now) {
            self.ack_due = None;
            self.ack_ready = true;
        }
    }

    /// The next time [`handle_timeout`](Self::handle_timeout) has something to do.
    pub fn poll_timeout(&self) -> Option<u64> {
        match (self.ready, self.receiver) {
            (Ready::Closed, _) => None,
            (_, None) => self.expires,
            (_, Some(_)) if self.ack_owed => self.ack_due,
            (_, Some(_)) => None,
        }
    }

    /// Whether the application may send (not closing, interrupted or expired).
    pub fn is_open(&self) -> bool {
        self.ready == Ready::Open
    }

    /// Whether the session is over: it expired, or its WebSocket closed.
    pub fn is_expired(&self) -> bool {
        self.ready == Ready::Closed
    }

    /// Whether a receiver is attached.
    pub fn is_attached(&self) -> bool {
        self.receiver.is_some()
    }

    /// Bytes of messages held for the client (queued, or unacknowledged when resumable).
    pub fn buffered_bytes(&self) -> usize {
        self.out_bytes
    }

    /// The last client sequence the application received (resumable sessions).
    pub fn received(&self) -> u64 {
        self.received
    }

    fn next_seq(&self) -> u64 {
        self.first_seq + self.out.len() as u64
    }

    fn linger_ms(&self) -> u64 {
        match &self.resume {
            Some((_, c)) => c.grace_ms,
            None => self.config.disconnect_delay_ms,
        }
    }

    /// The client has every message up to `ack`.
    fn acknowledge(&mut self, ack: u64) {
        while self.first_seq <= ack {
            let Some(m) = self.out.pop_front() else { break };
            self.out_bytes -= m.len();
            self.first_seq += 1;
        }
        self.unsent = self.unsent.max(self.first_seq);
    }

    fn ack_carried(&mut self) {
        self.ack_owed = false;
        self.ack_due = None;
        self.ack_ready = false;
    }

    fn drop_buffer(&mut self) {
        let next = self.next_seq();
        self.out = VecDeque::new();
        self.out_bytes = 0;
        self.first_seq = next;
        self.unsent = next;
    }

    fn end(&mut self) {
        self.ready = Ready::Closed;
        self.receiver = None;
        self.expires = None;
        self.ack_carried();
        self.drop_buffer();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(s: &str) -> Pull {
        Pull::Frame(s.to_owned())
    }

    fn plain() -> ServerSession {
        ServerSession::new(0, Config::http(5_000), None)
    }

    fn resumable(c: ResumeConfig) -> ServerSession {
        ServerSession::new(0, Config::http(5_000).with_resume(c), Some("tok".into()))
    }

    fn rc() -> ResumeConfig {
        ResumeConfig {
            grace_ms: 30_000,
            max_messages: 8,
            max_bytes: 64,
            ack_delay_ms: 50,
        }
    }

    /// Attaches and takes `o` and `r`.
    fn greeted(s: &mut ServerSession, now: u64, ack: Option<u64>) -> ReceiverId {
        let rx = s.attach(now, ack).expect("attach");
        assert_eq!(s.pull(now, rx), frame("o"));
        assert!(matches!(s.pull(now, rx), Pull::Frame(r) if r.starts_with("r[\"tok\",")));
        rx
    }

    #[test]
    fn plain_open_batches_then_close_repeated_until_expiry() {
        let mut s = plain();
        let rx = s.attach(0, None).unwrap();
        assert_eq!(s.pull(0, rx), frame("o"));
        assert_eq!(s.pull(0, rx), Pull::Wait);
        s.send("a".into()).unwrap();
        s.send("b".into()).unwrap();
        assert_eq!(s.buffered_bytes(), 2);
        assert_eq!(s.pull(0, rx), frame(r#"a["a","b"]"#));
        assert_eq!(s.buffered_bytes(), 0);
        assert!(s.close(3000, "Go away!"));
        assert_eq!(s.send("late".into()), Err(SendError::Closed));
        assert!(!s.close(3001, "again"));
        assert_eq!(s.pull(1, rx), Pull::Last(r#"c[3000,"Go away!"]"#.into()));
        assert_eq!(s.pull(1, rx), Pull::Gone);
        assert_eq!(s.poll_timeout(), Some(5_001));
        let rx2 = s.attach(2, None).unwrap();
        assert_eq!(s.pull(2, rx2), Pull::Last(r#"c[3000,"Go away!"]"#.into()));
        assert_eq!(s.poll_timeout(), Some(5_002));
        s.handle_timeout(5_001);
        assert!(!s.is_expired());
        s.handle_timeout(5_002);
        assert!(s.is_expired());
        assert_eq!(s.attach(5_003, None), Err(AttachError::Closed));
        assert_eq!(s.poll_timeout(), None);
    }

    #[test]
    fn plain_one_receiver_at_a_time_and_nothing_lost_on_finish() {
        let mut s = plain();
        let rx = s.attach(0, None).unwrap();
        assert_eq!(s.attach(0, None), Err(AttachError::Busy));
        assert_eq!(s.attach(0, Some(0)), Err(AttachError::NotResumable));
        assert_eq!(s.pull(0, rx), frame("o"));
        s.send("kept".into()).unwrap();
        s.detach(1, rx, Detach::Finished);
        assert_eq!(s.pull(1, rx), Pull::Gone);
        assert!(s.is_open());
        let rx2 = s.attach(2, None).unwrap();
        // `o` is sent once per session.
        assert_eq!(s.pull(2, rx2), frame(r#"a["kept"]"#));
    }

    #[test]
    fn plain_cut_interrupts_and_refuses_payloads() {
        let mut s = plain();
        let rx = s.attach(0, None).unwrap();
        assert_eq!(s.receive(0, r#"["x"]"#, false), Ok(vec!["x".into()]));
        assert_eq!(
            s.receive(0, r#"["x"#, false),
            Err(Refused::Payload(PayloadError::Broken))
        );
        assert_eq!(
            s.receive(0, "[1]", false),
            Err(Refused::Payload(PayloadError::NotStrings))
        );
        s.detach(1, rx, Detach::Aborted);
        assert!(!s.is_open());
        assert_eq!(s.receive(1, r#"["lost?"]"#, false), Err(Refused::NotOpen));
        // `o` was never taken: the next receiver gets it, then the interruption.
        let rx2 = s.attach(2, None).unwrap();
        assert_eq!(s.pull(2, rx2), frame("o"));
        assert_eq!(
            s.pull(2, rx2),
            Pull::Last(r#"c[1002,"Connection interrupted"]"#.into())
        );
        s.handle_timeout(5_002);
        assert!(s.is_expired());
    }

    #[test]
    fn websocket_sessions_end_with_their_socket() {
        let mut s = ServerSession::new(0, Config::websocket(true), None);
        let rx = s.attach(0, None).unwrap();
        assert_eq!(s.pull(0, rx), frame("o"));
        assert_eq!(s.receive(0, r#""one""#, true), Ok(vec!["one".into()]));
        assert_eq!(s.receive(0, "", true), Ok(vec![]));
        s.detach(1, rx, Detach::Finished);
        assert!(s.is_expired());
        assert_eq!(s.attach(1, None), Err(AttachError::Closed));

        let mut raw = ServerSession::new(0, Config::websocket(false), None);
        let rx = raw.attach(0, None).unwrap();
        assert_eq!(raw.pull(0, rx), Pull::Wait);
        assert_eq!(
            raw.receive(0, "not [json", true),
            Ok(vec!["not [json".into()])
        );
        raw.send("m1".into()).unwrap();
        raw.send("m2".into()).unwrap();
        assert_eq!(raw.pull(0, rx), Pull::Raw(vec!["m1".into(), "m2".into()]));
        raw.close(4000, "bye");
        assert!(matches!(raw.pull(0, rx), Pull::Last(_)));
        assert_eq!(raw.close_status(), Some((4000, "bye")));
        assert!(raw.is_expired());
    }

    #[test]
    fn unattached_session_expires_after_its_delay() {
        let mut s = plain();
        assert_eq!(s.poll_timeout(), Some(5_000));
        let mut r = resumable(rc());
        assert_eq!(r.poll_timeout(), Some(30_000));
        r.handle_timeout(30_000);
        assert!(r.is_expired());
        s.handle_timeout(5_000);
        assert!(s.is_expired());
    }

    #[test]
    fn resume_replays_after_a_cut() {
        let mut s = resumable(rc());
        let rx = s.attach(0, None).unwrap();
        assert_eq!(s.pull(0, rx), frame("o"));
        assert_eq!(s.pull(0, rx), frame(r#"r["tok",0]"#));
        assert_eq!(s.pull(0, rx), Pull::Wait);
        for m in ["a", "b", "c"] {
            s.send(m.into()).unwrap();
        }
        assert_eq!(s.pull(0, rx), frame(r#"q[0,1,"a","b","c"]"#));
        s.detach(5, rx, Detach::Aborted);
        // A resumable session is not interrupted by a cut.
        assert!(s.is_open());
        assert_eq!(s.poll_timeout(), Some(30_005));
        s.send("d".into()).unwrap();
        assert_eq!(s.attach(6, Some(4)), Err(AttachError::BadAck));
        // The client got "a" only.
        let rx = s.attach(6, Some(1)).unwrap();
        assert_eq!(s.poll_timeout(), None);
        assert_eq!(s.pull(6, rx), frame("o"));
        assert_eq!(s.pull(6, rx), frame(r#"r["tok",0]"#));
        assert_eq!(s.pull(6, rx), frame(r#"q[0,2,"b","c","d"]"#));
        assert_eq!(s.buffered_bytes(), 3);
        // Acknowledged messages are freed; a stale ack changes nothing.
        assert_eq!(s.receive(7, "[3]", false), Ok(vec![]));
        assert_eq!(s.buffered_bytes(), 1);
        assert_eq!(s.receive(7, "[2]", false), Ok(vec![]));
        assert_eq!(s.buffered_bytes(), 1);
        // The client cannot forget what it acknowledged.
        s.detach(8, rx, Detach::Aborted);
        assert_eq!(s.attach(9, Some(1)), Err(AttachError::BadAck));
        let rx = s.attach(9, Some(4)).unwrap();
        assert_eq!(s.pull(9, rx), frame("o"));
        assert_eq!(s.pull(9, rx), frame(r#"r["tok",0]"#));
        assert_eq!(s.pull(9, rx), Pull::Wait);
        assert_eq!(s.buffered_bytes(), 0);
    }

    #[test]
    fn finished_requests_continue_the_connection() {
        let mut s = resumable(rc());
        let rx = greeted(&mut s, 0, None);
        s.send("a".into()).unwrap();
        assert_eq!(s.pull(0, rx), frame(r#"q[0,1,"a"]"#));
        s.detach(1, rx, Detach::Finished);
        s.send("b".into()).unwrap();
        // The next poll of the same connection: no greeting, no replay.
        let rx = s.attach(2, None).unwrap();
        assert_eq!(s.attach(2, None), Err(AttachError::Busy));
        assert_eq!(s.pull(2, rx), frame(r#"q[0,2,"b"]"#));
        assert_eq!(s.buffered_bytes(), 2);
    }

    #[test]
    fn next_request_with_an_ack_gets_what_a_lost_response_held() {
        let mut s = resumable(rc());
        let rx = greeted(&mut s, 0, None);
        s.send("a".into()).unwrap();
        s.send("b".into()).unwrap();
        assert_eq!(s.pull(0, rx), frame(r#"q[0,1,"a","b"]"#));
        // The poll's answer is lost; the browser sends the same request again (ack 0).
        s.detach(1, rx, Detach::Finished);
        let rx = s.attach_next(2, 0).unwrap();
        assert_eq!(s.pull(2, rx), frame(r#"q[0,1,"a","b"]"#));
        s.detach(3, rx, Detach::Finished);
        // The next poll says "a" arrived: only "b" is still held, and "c" follows it.
        s.send("c".into()).unwrap();
        let rx = s.attach_next(4, 1).unwrap();
        assert_eq!(s.pull(4, rx), frame(r#"q[0,2,"b","c"]"#));
        assert_eq!(s.buffered_bytes(), 2);
        // A stale ack (a request sent again with its old query) is harmless; one beyond what
        // was sent is refused; a plain session has no such request.
        let rx2 = s.attach_next(5, 0).unwrap();
        assert_eq!(s.pull(5, rx), Pull::Gone, "the newer request replaced it");
        assert_eq!(s.pull(5, rx2), frame(r#"q[0,2,"b","c"]"#));
        assert_eq!(s.attach_next(6, 9), Err(AttachError::BadAck));
        assert_eq!(plain().attach_next(6, 0), Err(AttachError::NotResumable));
    }

    #[test]
    fn replaced_receiver_is_gone() {
        let mut s = resumable(rc());
        let old = greeted(&mut s, 0, None);
        let new = s.attach(1, Some(0)).unwrap();
        assert_eq!(s.pull(1, old), Pull::Gone);
        // The old one's late detach does not touch the new one.
        s.detach(2, old, Detach::Aborted);
        assert!(s.is_attached());
        assert_eq!(s.pull(2, new), frame("o"));
    }

    #[test]
    fn duplicates_are_dropped_and_gaps_refused() {
        let mut s = resumable(rc());
        let rx = greeted(&mut s, 0, None);
        assert_eq!(
            s.receive(0, r#"[0,1,"x","y"]"#, false),
            Ok(vec!["x".into(), "y".into()])
        );
        // The same payload again (its answer was lost): nothing new.
        assert_eq!(s.receive(1, r#"[0,1,"x","y"]"#, false), Ok(vec![]));
        // Overlapping: only the new part.
        assert_eq!(
            s.receive(2, r#"[0,2,"y","z"]"#, false),
            Ok(vec!["z".into()])
        );
        assert_eq!(s.receive(3, r#"[0,5,"w"]"#, false), Err(Refused::Gap));
        assert_eq!(s.receive(3, r#"[1]"#, false), Err(Refused::BadAck));
        assert_eq!(
            s.receive(3, r#"["plain"]"#, false),
            Err(Refused::Payload(PayloadError::NotStrings))
        );
        assert_eq!(s.received(), 3);
        // On a WebSocket the payload has the same shape.
        assert_eq!(s.receive(4, r#"[0,4,"w"]"#, true), Ok(vec!["w".into()]));
        s.send("out".into()).unwrap();
        assert_eq!(s.pull(4, rx), frame(r#"q[4,1,"out"]"#));
    }

    #[test]
    fn acks_wait_for_a_data_frame_then_go_alone() {
        let mut s = resumable(rc());
        let rx = greeted(&mut s, 0, None);
        assert_eq!(s.poll_timeout(), None);
        s.receive(100, r#"[0,1,"x"]"#, false).unwrap();
        assert_eq!(s.poll_timeout(), Some(150));
        assert_eq!(s.pull(120, rx), Pull::Wait);
        // A data frame within the delay carries the ack.
        s.send("a".into()).unwrap();
        assert_eq!(s.pull(130, rx), frame(r#"q[1,1,"a"]"#));
        assert_eq!(s.poll_timeout(), None);
        assert_eq!(s.pull(200, rx), Pull::Wait);
        // None does: the ack goes alone once the delay passed.
        s.receive(300, r#"[1,2,"y"]"#, false).unwrap();
        s.receive(320, r#"[1,3,"z"]"#, false).unwrap();
        assert_eq!(s.poll_timeout(), Some(350));
        s.handle_timeout(349);
        assert_eq!(s.pull(349, rx), Pull::Wait);
        s.handle_timeout(350);
        assert_eq!(s.poll_timeout(), None);
        assert_eq!(s.pull(350, rx), frame("q[3]"));
        assert_eq!(s.pull(350, rx), Pull::Wait);
        // Duplicates are acknowledged again: the client evidently missed the ack.
        s.receive(400, r#"[1,3,"z"]"#, false).unwrap();
        assert_eq!(s.poll_timeout(), Some(450));
    }

    #[test]
    fn overflow_closes_with_2011_and_drops_the_buffer() {
        let mut s = resumable(rc());
        let rx = greeted(&mut s, 0, None);
        for _ in 0..8 {
            s.send("m".into()).unwrap();
        }
        assert_eq!(s.send("m".into()), Err(SendError::Overflow));
        assert_eq!(s.buffered_bytes(), 0);
        assert!(!s.is_open());
        assert_eq!(s.send("m".into()), Err(SendError::Closed));
        assert_eq!(
            s.pull(1, rx),
            Pull::Last(r#"c[2011,"Resume buffer overflow"]"#.into())
        );
        assert_eq!(s.receive(1, r#"[0,1,"x"]"#, false), Err(Refused::NotOpen));
        assert_eq!(s.poll_timeout(), Some(30_001));

        // By bytes too.
        let mut s = resumable(rc());
        s.send("x".repeat(60)).unwrap();
        assert_eq!(s.send("x".repeat(5)), Err(SendError::Overflow));
        assert_eq!(s.close_status(), Some((2011, OVERFLOW_REASON)));
        // A known bound over many sessions.
        let mut s = resumable(rc());
        s.send("x".into()).unwrap();
        assert!(s.overflow());
        assert_eq!(s.buffered_bytes(), 0);
        assert!(!s.overflow());
    }

    #[test]
    fn grace_expiry_frees_everything() {
        let mut s = resumable(rc());
        let rx = greeted(&mut s, 0, None);
        s.send("a".into()).unwrap();
        assert_eq!(s.pull(0, rx), frame(r#"q[0,1,"a"]"#));
        s.detach(1_000, rx, Detach::Aborted);
        assert_eq!(s.poll_timeout(), Some(31_000));
        s.handle_timeout(30_999);
        assert!(s.is_open());
        s.handle_timeout(31_000);
        assert!(s.is_expired());
        assert!(!s.is_open());
        assert_eq!(s.buffered_bytes(), 0);
        assert_eq!(s.attach(31_001, Some(1)), Err(AttachError::Closed));
        assert_eq!(s.poll_timeout(), None);
    }

    #[test]
    fn closing_resumable_session_flushes_then_closes() {
        let mut s = resumable(rc());
        let rx = greeted(&mut s, 0, None);
        s.receive(0, r#"[0,1,"x"]"#, false).unwrap();
        s.send("bye".into()).unwrap();
        assert!(s.close(3000, "done"));
        assert_eq!(s.pull(0, rx), frame(r#"q[1,1,"bye"]"#));
        assert_eq!(s.pull(0, rx), Pull::Last(r#"c[3000,"done"]"#.into()));
        let rx = s.attach(1, None).unwrap();
        assert_eq!(s.pull(1, rx), Pull::Last(r#"c[3000,"done"]"#.into()));
        // An ack owed when the application closed goes before the close frame.
        let mut s = resumable(rc());
        let rx = greeted(&mut s, 0, None);
        s.receive(0, r#"[0,1,"x"]"#, false).unwrap();
        s.close(3000, "done");
        assert_eq!(s.pull(0, rx), frame("q[1]"));
        assert!(matches!(s.pull(0, rx), Pull::Last(_)));
    }

    /// A client that keeps its session through random cuts: every server message arrives once,
    /// in order, and every client message reaches the application once, in order.
    #[test]
    fn exactly_once_through_random_cuts() {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut rand = move |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        let mut s = resumable(ResumeConfig {
            max_messages: 10_000,
            max_bytes: 1 << 20,
            ..rc()
        });
        let (mut got, mut delivered) = (Vec::new(), Vec::new());
        let (mut client_ack, mut client_sent) = (0u64, 0u64);
        let mut rx = s.attach(0, None).unwrap();
        let mut next_out = 0;
        for now in 0..3_000u64 {
            match rand(10) {
                0..=2 => {
                    s.send(format!("s{next_out}")).unwrap();
                    next_out += 1;
                }
                3 | 4 => {
                    // The client sends everything it has not seen acknowledged, from there.
                    client_sent += 1;
                    let from = s.received() + 1 - rand(2).min(s.received());
                    let msgs: Vec<String> = (from..=client_sent).map(|i| format!("c{i}")).collect();
                    let payload = [
                        "[",
                        &client_ack.to_string(),
                        ",",
                        &from.to_string(),
                        ",",
                        &sockjs::encode_payload(&msgs)[1..],
                    ]
                    .concat();
                    if let Ok(new) = s.receive(now, &payload, false) {
                        delivered.extend(new);
                    }
                }
                5 => {
                    s.detach(now, rx, Detach::Aborted);
                    rx = s.attach(now, Some(client_ack)).unwrap();
                }
                _ => {
                    s.handle_timeout(now);
                    // Frames pulled but lost with a cut are not seen by the client.
                    let lost = rand(4) == 0;
                    while let Pull::Frame(f) = s.pull(now, rx) {
                        if lost {
                            continue;
                        }
                        if let Ok(sockjs::Frame::Numbered(n)) = sockjs::decode_frame(&f) {
                            let skip = resume::fresh_part(client_ack, n.seq, n.messages.len())
                                .expect("no gap");
                            client_ack += (n.messages.len() - skip) as u64;
                            got.extend(n.messages.into_iter().skip(skip));
                        }
                    }
                    if lost {
                        s.detach(now, rx, Detach::Aborted);
                        rx = s.attach(now, Some(client_ack)).unwrap();
                    }
                }
            }
        }
        s.detach(3_000, rx, Detach::Aborted);
        let rx = s.attach(3_000, Some(client_ack)).unwrap();
        while let Pull::Frame(f) = s.pull(3_000, rx) {
            if let Ok(sockjs::Frame::Numbered(n)) = sockjs::decode_frame(&f) {
                let skip = resume::fresh_part(client_ack, n.seq, n.messages.len()).expect("gap");
                client_ack += (n.messages.len() - skip) as u64;
                got.extend(n.messages.into_iter().skip(skip));
            }
        }
        let expected: Vec<String> = (0..next_out).map(|i| format!("s{i}")).collect();
        assert_eq!(got, expected);
        let expected: Vec<String> = (1..=client_sent).map(|i| format!("c{i}")).collect();
        assert_eq!(delivered, expected);
        assert!(next_out > 500 && client_sent > 300);
    }
}
