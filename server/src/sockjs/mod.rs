//! A SockJS server: the server side of the realtime protocol cometkit's client speaks.
//!
//! [SockJS](https://github.com/sockjs/sockjs-protocol) gives a browser a WebSocket-like,
//! message-oriented connection that works whatever the network lets through: native
//! WebSocket, or HTTP streaming (XHR streaming, EventSource, htmlfile), or HTTP polling (XHR,
//! JSONP). This module implements protocol 0.3.3 as sockjs-node does, as a library: build a
//! [`SockJs`] endpoint from [`Options`] and an application callback, mount its
//! [`router`](SockJs::router) at a prefix of an axum app, and the callback receives a
//! [`Session`] for every client connection:
//!
//! ```no_run
//! use cometkit_server::sockjs::{Options, SockJs};
//!
//! let echo = SockJs::new(Options::default(), |mut session| async move {
//!     while let Some(message) = session.recv().await {
//!         session.send(message);
//!     }
//! });
//! let app: axum::Router = echo.router("/echo");
//! ```
//!
//! Endpoints under the prefix: `GET /` (greeting), `GET|OPTIONS /info`, `GET /iframe*.html`,
//! `<server>/<session>/{xhr, xhr_send, xhr_streaming, eventsource, htmlfile, jsonp,
//! jsonp_send, websocket}` and the raw (unframed) `GET /websocket`. Every HTTP answer carries its
//! own CORS headers (the request's `Origin` echoed with credentials allowed, or `*` without an
//! Origin), so do not mount a SockJS router under another CORS layer.
//!
//! The endpoint also offers cometkit's resume extension
//! ([`cometkit_protocol::resume`]; `"resume":1` in `/info`, [`Options::resume`]): a client that
//! asks for it (`resume=new` in its receiving URL's query) gets a *resumable* session, which a
//! cut connection does not end. The session keeps every message until the client acknowledges
//! it, waits [`Options::resume_grace`] for the client to come back on a new connection of any
//! transport (`resume=<token>&ack=<n>`), sends it again what it missed, and drops what the
//! client sends twice: the application sees one continuous [`Session`], and every message in
//! both directions is delivered exactly once. What a session may buffer is bounded per session
//! and per endpoint; a session that would exceed a bound is closed with
//! `c[2011,"Resume buffer overflow"]`. Plain SockJS clients are served as if the extension
//! did not exist.
//!
//! Departures from sockjs-node, all allowed by the protocol: a receiving request cut off by the
//! network closes the session with `c[1002,"Connection interrupted"]` (served to the next
//! requests until it times out) instead of forgetting it; WebSocket heartbeats are `h` frames
//! rather than pings; the htmlfile transport also escapes `<`, `>` and `&` so a message cannot
//! end its `<script>`; client payloads with lone UTF-16 surrogates decode them as U+FFFD.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use cometkit_protocol::resume;
use cometkit_protocol::server::{AttachError, Config, ReceiverId, ResumeConfig};
use tokio::sync::{mpsc, Notify};

mod http;
mod receiver;
mod session;
mod websocket;

pub mod demo;

use session::{lock, SessionCore, Sessions};

/// How a [`SockJs`] endpoint behaves. Build with struct update syntax:
/// `Options { response_limit: 4096, ..Options::default() }`.
#[derive(Debug, Clone)]
pub struct Options {
    /// Bytes of frames after which a streaming response (XHR streaming, EventSource,
    /// htmlfile) is ended so the browser can free it; the client then opens a new one on the
    /// same session. Default 128 KiB.
    pub response_limit: usize,
    /// Offer the WebSocket transports (framed `<server>/<session>/websocket` and raw
    /// `/websocket`). Default `true`; when `false` they answer 404 and `/info` says so.
    pub websocket: bool,
    /// Set a `JSESSIONID` cookie (the client's, or `dummy`) on every transport answer, for load
    /// balancers with cookie-based sticky sessions. Default `false`.
    pub cookie_needed: bool,
    /// Idle time after which a receiving connection gets an `h` heartbeat frame. Default 25 s.
    pub heartbeat_delay: Duration,
    /// How long a session without a receiving connection survives. Default 5 s.
    pub disconnect_delay: Duration,
    /// The sockjs-client script the `/iframe.html` page loads.
    pub sockjs_url: String,
    /// Largest request body `xhr_send`/`jsonp_send` accept (413 beyond). Default 1 MiB.
    pub max_payload: usize,
    /// Offer cometkit's resume extension (`"resume":1` in `/info`). Default `true`; when
    /// `false`, `resume` query parameters are ignored and every session is a plain one.
    pub resume: bool,
    /// How long a resumable session waits for its client to come back after its last
    /// connection ended. Default 120 s: it must outlast the time a client takes to notice a
    /// dead connection (cometkit's: up to 62.5 s of heartbeat silence) plus its reconnection
    /// backoff (up to 45 s).
    pub resume_grace: Duration,
    /// Most messages a resumable session keeps unacknowledged. Default 1024.
    pub resume_max_messages: usize,
    /// Most bytes of messages a resumable session keeps unacknowledged. Default 1 MiB.
    pub resume_max_bytes: usize,
    /// Most bytes of unacknowledged messages all resumable sessions of the endpoint keep
    /// together. A send that would exceed it closes its session as an overflow does. Default
    /// 64 MiB.
    pub resume_max_total_bytes: usize,
    /// How long the acknowledgement of client messages may wait for a data frame to carry
    /// it before it is sent alone. Default 50 ms.
    pub resume_ack_delay: Duration,
}

impl Options {
    /// The machine configuration of an HTTP session (resumable ones use the resume fields).
    fn session_config(&self) -> Config {
        let ms = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        Config::http(ms(self.disconnect_delay)).with_resume(ResumeConfig {
            grace_ms: ms(self.resume_grace),
            max_messages: self.resume_max_messages,
            max_bytes: self.resume_max_bytes,
            ack_delay_ms: ms(self.resume_ack_delay),
        })
    }
}

impl Default for Options {
    fn default() -> Self {
        Options {
            response_limit: 128 * 1024,
            websocket: true,
            cookie_needed: false,
            heartbeat_delay: Duration::from_secs(25),
            disconnect_delay: Duration::from_secs(5),
            sockjs_url: "https://cdn.jsdelivr.net/npm/sockjs-client@1/dist/sockjs.min.js".into(),
            max_payload: 1 << 20,
            resume: true,
            resume_grace: Duration::from_secs(120),
            resume_max_messages: 1024,
            resume_max_bytes: 1 << 20,
            resume_max_total_bytes: 64 << 20,
            resume_ack_delay: Duration::from_millis(50),
        }
    }
}

type Handler = dyn Fn(Session) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync;

/// State shared by all requests of one endpoint.
pub(crate) struct Shared {
    pub(crate) options: Options,
    handler: Box<Handler>,
    sessions: Sessions,
    pub(crate) iframe: http::Iframe,
}

/// A receiver attached to a session, or why not.
pub(crate) type Attached = Result<(ReceiverId, Arc<Notify>), AttachError>;

impl Shared {
    /// Finds or creates the session of receiving URL `key` and attaches a receiver to it.
    /// `resume` is what the request's query asks of the resume extension: on a URL key the
    /// endpoint knows, it is the next request of the same transport connection whatever it
    /// asks; on a new one, `New` starts a resumable session and `Resume` takes the session of
    /// its token back (moving it to this key) if it is open, or starts a fresh resumable
    /// session whose other token tells the client its session was lost. A new session's
    /// application callback is started.
    pub(crate) fn register(
        &self,
        key: &str,
        protocol: &'static str,
        resume: Option<resume::Request>,
    ) -> (Arc<SessionCore>, Attached) {
        let mut map = lock(&self.sessions.registry);
        if let Some(core) = map.by_key(key).cloned() {
            // The next request of the same connection. A resumable one says what it received:
            // whatever it missed goes out again.
            let attached = match &resume {
                Some(resume::Request::Resume { token, ack }) if core.token() == Some(token) => {
                    core.attach_next(*ack)
                }
                _ => core.attach(None),
            };
            return (core, attached);
        }
        let token = match resume {
            None => None,
            Some(resume::Request::New) => Some(new_token()),
            Some(resume::Request::Resume { token, ack }) => {
                if let Some(core) = map.open_by_token(&token).cloned() {
                    // An ack the session cannot honour (beyond what it sent, or before what
                    // the client acknowledged) loses the session as an unknown token does.
                    if let Ok(attached) = core.attach(Some(ack)) {
                        map.alias(&core, key);
                        return (core, Ok(attached));
                    }
                }
                Some(new_token())
            }
        };
        let (core, rx, attached) =
            SessionCore::new(&self.sessions, self.options.session_config(), token);
        map.insert(&core, Some(key));
        drop(map);
        self.start(core.clone(), rx, protocol);
        (core, Ok(attached))
    }

    /// The session `key` reaches, if any.
    pub(crate) fn find(&self, key: &str) -> Option<Arc<SessionCore>> {
        lock(&self.sessions.registry).by_key(key).cloned()
    }

    /// A WebSocket session: a plain one lives as long as its socket (and is not in the
    /// registry); with `resume` it is a resumable one, taken back or started as
    /// [`register`](Self::register) does but reached by its token only.
    pub(crate) fn open_socket_session(
        &self,
        framed: bool,
        resume: Option<resume::Request>,
    ) -> (Arc<SessionCore>, Attached) {
        let protocol = if framed { "websocket" } else { "websocket-raw" };
        let Some(resume) = resume.filter(|_| framed) else {
            let (core, rx, attached) =
                SessionCore::new(&self.sessions, Config::websocket(framed), None);
            self.start(core.clone(), rx, protocol);
            return (core, Ok(attached));
        };
        let mut map = lock(&self.sessions.registry);
        if let resume::Request::Resume { token, ack } = &resume {
            if let Some(core) = map.open_by_token(token).cloned() {
                if let Ok(attached) = core.attach(Some(*ack)) {
                    map.unalias(&core);
                    return (core, Ok(attached));
                }
            }
        }
        let config = self.options.session_config();
        let (core, rx, attached) = SessionCore::new(&self.sessions, config, Some(new_token()));
        map.insert(&core, None);
        drop(map);
        self.start(core.clone(), rx, protocol);
        (core, Ok(attached))
    }

    fn start(
        &self,
        core: Arc<SessionCore>,
        incoming: mpsc::UnboundedReceiver<String>,
        protocol: &'static str,
    ) {
        let session = Session {
            handle: SessionHandle { core, protocol },
            incoming,
        };
        tokio::spawn((self.handler)(session));
    }
}

/// A fresh session token (132 random bits).
fn new_token() -> String {
    resume::token_from([
        session::random_u64(),
        session::random_u64(),
        session::random_u64(),
    ])
}

/// One SockJS endpoint: its options, its application callback and its sessions.
///
/// Cloning is cheap and shares the sessions.
#[derive(Clone)]
pub struct SockJs {
    shared: Arc<Shared>,
}

impl fmt::Debug for SockJs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SockJs")
            .field("options", &self.shared.options)
            .field("sessions", &self.session_count())
            .finish()
    }
}

impl SockJs {
    /// An endpoint calling `handler` with every new [`Session`] (on a task of its own). The
    /// session stays open when the callback returns; close it with [`SessionHandle::close`].
    pub fn new<F, Fut>(options: Options, handler: F) -> Self
    where
        F: Fn(Session) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let iframe = http::Iframe::new(&options.sockjs_url);
        let handler: Box<Handler> = Box::new(move |session| Box::pin(handler(session)));
        SockJs {
            shared: Arc::new(Shared {
                handler,
                sessions: Sessions::new(options.resume_max_total_bytes),
                options,
                iframe,
            }),
        }
    }

    /// A router serving this endpoint under `prefix`, a literal path such as `"/echo"` (`""`
    /// or `"/"` for the root), to [`merge`](Router::merge) into an application.
    ///
    /// # Panics
    /// As [`Router::route`] does, if `prefix` is not a valid axum path: it must not contain
    /// `{` or `}`.
    pub fn router(&self, prefix: &str) -> Router {
        let prefix = prefix.trim_end_matches('/');
        if prefix.is_empty() {
            return self.service();
        }
        let prefix = if prefix.starts_with('/') {
            prefix.to_owned()
        } else {
            ["/", prefix].concat()
        };
        let endpoint = http::Endpoint {
            shared: self.shared.clone(),
            prefix: prefix.as_str().into(),
        };
        let any = || axum::routing::any(http::dispatch);
        Router::new()
            .route(&prefix, any())
            .route(&[prefix.as_str(), "/"].concat(), any())
            .route(&[prefix.as_str(), "/{*sockjs_path}"].concat(), any())
            .with_state(endpoint)
    }

    /// The endpoint as a router that takes the request path as relative to the endpoint, for
    /// [`Router::fallback_service`] or [`Router::nest_service`]. (Note that `nest_service`
    /// hides an empty segment right after its prefix: `/echo//` is seen as `/`. Prefer
    /// [`router`](Self::router).)
    pub fn service(&self) -> Router {
        let endpoint = http::Endpoint {
            shared: self.shared.clone(),
            prefix: "".into(),
        };
        Router::new().fallback(http::dispatch).with_state(endpoint)
    }

    /// How many sessions the endpoint keeps (open, or closed but not yet timed out): those of
    /// the HTTP transports and every resumable one, each counted once however many times it
    /// was resumed. Plain WebSocket sessions, which end with their socket, are not counted.
    pub fn session_count(&self) -> usize {
        lock(&self.shared.sessions.registry).len()
    }

    /// Bytes of messages the endpoint's resumable sessions hold until their clients
    /// acknowledge them (at most [`Options::resume_max_total_bytes`]).
    pub fn resume_buffered_bytes(&self) -> usize {
        self.shared.sessions.budget.used()
    }
}

/// A client connection, given to the application callback: receive with [`recv`](Self::recv),
/// and send or close through the [`SessionHandle`] it dereferences to.
pub struct Session {
    handle: SessionHandle,
    incoming: mpsc::UnboundedReceiver<String>,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("handle", &self.handle)
            .finish()
    }
}

impl Session {
    /// The next message from the client, in order. `None` once the session is over: closed by
    /// the application, interrupted, timed out (`disconnect_delay` without a receiving
    /// request, `resume_grace` for a resumable session), overflowed, or, for plain WebSockets,
    /// when the socket closed. A resumable session goes on through the client's reconnections.
    pub async fn recv(&mut self) -> Option<String> {
        self.incoming.recv().await
    }

    /// A clonable handle for sending from elsewhere (broadcasting, other tasks).
    pub fn handle(&self) -> SessionHandle {
        self.handle.clone()
    }
}

impl std::ops::Deref for Session {
    type Target = SessionHandle;

    fn deref(&self) -> &SessionHandle {
        &self.handle
    }
}

/// Sends to and closes a session; clonable, so an application can keep handles of all its
/// sessions (to broadcast, for example).
#[derive(Clone)]
pub struct SessionHandle {
    core: Arc<SessionCore>,
    protocol: &'static str,
}

impl fmt::Debug for SessionHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionHandle")
            .field("id", &self.core.id)
            .field("protocol", &self.protocol)
            .field("open", &self.core.is_open())
            .finish()
    }
}

impl SessionHandle {
    /// A unique id for this connection, generated by the server. (It is not the session id of
    /// the URL, which the protocol keeps from the application.)
    pub fn id(&self) -> &str {
        &self.core.id
    }

    /// The transport that opened the session: `websocket`, `websocket-raw`, `xhr-polling`,
    /// `xhr-streaming`, `eventsource`, `htmlfile` or `jsonp-polling`. (A resumable session
    /// may go on over others.)
    pub fn protocol(&self) -> &'static str {
        self.protocol
    }

    /// Queues `message` for the client. Messages queued while no request is receiving are
    /// delivered together, in order, by the next one. Returns `false` (and drops the message)
    /// if the session is no longer open, or if keeping it would exceed a resumable session's
    /// bounds: the session is then closed with `2011 "Resume buffer overflow"`.
    pub fn send(&self, message: impl Into<String>) -> bool {
        self.core.send(message.into())
    }

    /// Closes the session: the client gets `c[code,"reason"]` after the messages already
    /// queued (a raw WebSocket gets a close frame with `code` if it is a valid WebSocket close
    /// code, 1000 otherwise). SockJS reserves 1000 and 3000–4999 for applications. Returns
    /// `false` if the session was not open.
    pub fn close(&self, code: u16, reason: &str) -> bool {
        self.core.close(code, reason)
    }

    /// Whether the session is open (messages can be sent).
    pub fn is_open(&self) -> bool {
        self.core.is_open()
    }

    /// Whether the session is resumable (the client asked for the resume extension).
    pub fn is_resumable(&self) -> bool {
        self.core.token().is_some()
    }
}
