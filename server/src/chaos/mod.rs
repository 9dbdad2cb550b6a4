//! Fault injection for SockJS clients: echo endpoints whose network misbehaves on demand, so
//! tests (and the demo page's buttons) can prove a client falls back, reconnects and keeps
//! message order when WebSockets are blocked or killed, streaming is buffered by a proxy,
//! CORS is refused, or the server restarts.
//!
//! Faults are set per *key*, a name the caller picks (`[A-Za-z0-9_-]`, at most 64 bytes), so
//! concurrent tests do not disturb each other. [`routes`] serves, for every key:
//!
//! - `/chaos/<key>/echo`: a SockJS echo endpoint (as `/sockjs/echo`), behind the faults;
//! - `GET|POST /chaos/<key>/set?ws=ok|block|kill&stream=ok|buffer|cut&poll=ok|cut&cut_every=N&cors=on|off&kill_after=MS&response_limit=BYTES`:
//!   changes the parameters given (all are checked first: anything invalid or unknown is a
//!   400 and changes nothing), answers the state;
//! - `GET /chaos/<key>/state`: the state as JSON: `{"key", "ws", "stream", "cors",
//!   "kill_after", "response_limit", "poll", "cut_every", "restarts", "sessions", "websockets",
//!   "killed", "polls_cut"}` (`sessions`: sessions of the endpoint, HTTP and resumable; `websockets`:
//!   WebSockets open now; `killed`: WebSockets killed so far; `polls_cut`: answers broken off
//!   by `poll=cut` so far);
//! - `GET /chaos/<key>/received`: `{"messages": [...], "dropped": n}`, the messages the
//!   key's echo received, in arrival order, across restarts (the oldest beyond 4096 messages
//!   or 256 KiB are dropped and counted), so a test can check that nothing sent was lost;
//! - `GET|POST /chaos/<key>/restart`: a server restart. Every connection of the key is cut
//!   (no close frames, streaming responses broken off) and a fresh endpoint replaces the old
//!   one, so every session is forgotten: the next `xhr_send` gets 404, the next poll a new
//!   `o`. The faults stay.
//!
//! The control endpoints answer CORS for any origin and are never cached. The faults:
//!
//! - `ws=block`: `/info` says `"websocket": false` and WebSocket URLs answer 404, as a server
//!   with WebSockets disabled.
//! - `ws=kill`: WebSockets open normally through a proxy (the session opens, `o` arrives),
//!   which cuts the TCP connection `kill_after` ms (default 200) later without a close frame.
//!   Switching to `kill` also kills the sockets already open, `kill_after` after the switch.
//! - `stream=buffer`: `xhr_streaming`, `eventsource` and `htmlfile` responses are held back
//!   whole, as a buffering proxy does: nothing (not even the status line) reaches the client
//!   until the response ends, at `response_limit` bytes or when the session closes. Polling
//!   is unaffected in effect.
//! - `stream=cut`: `xhr_streaming`, `eventsource` and `htmlfile` responses are cut off
//!   `kill_after` ms after they start, without a restart: the session survives, so the server
//!   sees its receiving request cut and answers the session's next receiver with
//!   `c[1002,"Connection interrupted"]` (what a native EventSource meets when it reconnects by
//!   itself), as on a flaky network.
//! - `poll=cut`: one in every `cut_every` (default 4) answers to polls (`xhr`, `jsonp`) and
//!   sends (`xhr_send`, `jsonp_send`) is broken off after the server handled it: the server
//!   took the frames it carried, or received the messages posted, but the client sees a
//!   network error, as when a connection drops while the answer is on its way. Plain SockJS
//!   loses those frames and sends the messages again; the resume extension loses nothing.
//! - `cors=off`: every `Access-Control-*` header is stripped from the endpoint's answers,
//!   preflights included, so cross-origin XHR and EventSource fail while `<script>` JSONP and
//!   no-CORS posts still work (the endpoint's answers always carry
//!   `Cross-Origin-Resource-Policy: cross-origin`, so they do even in cross-origin-isolated
//!   pages such as the test runner's). WebSockets are not subject to CORS: combine with `ws=block` to
//!   leave only JSONP.
//! - `response_limit`: bytes after which a streaming response ends (default 128 KiB, or the
//!   `response_limit` of the [`Options`] given to [`routes_with`]). Changing it restarts the
//!   key's endpoint.
//!
//! At most [`MAX_KEYS`] keys are kept: the least recently used one is forgotten (as by a
//! restart) to make room, so a public demo server cannot be grown without limit.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use axum::Router;
use tokio::sync::watch;
use tower::ServiceExt;

use crate::sockjs::{Options, Session, SockJs};

mod body;
mod websocket;

/// How many keys are kept at most.
pub const MAX_KEYS: usize = 256;

/// Longest accepted key.
const MAX_KEY_LEN: usize = 64;

/// Longest `kill_after`.
const MAX_KILL_AFTER: Duration = Duration::from_secs(600);

/// Most messages kept per key for `/received`.
const RECEIVED_MAX_MESSAGES: usize = 4096;

/// Most message bytes kept per key for `/received`.
const RECEIVED_MAX_BYTES: usize = 256 * 1024;

/// Largest `response_limit` that may be set.
const MAX_RESPONSE_LIMIT: usize = 16 << 20;

/// Beyond the response limit, what a buffered response may hold (the frame that crosses the
/// limit, which a large message can make big) before the connection is broken instead.
const BUFFER_SLACK: usize = 8 << 20;

/// The endpoint's path under a key.
const ECHO: &str = "/echo";

/// What happens to WebSockets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WsMode {
    Ok,
    Block,
    Kill,
}

/// What happens to polls and sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PollMode {
    Ok,
    Cut,
}

/// What happens to streaming responses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StreamMode {
    Ok,
    Buffer,
    Cut,
}

/// The faults of one key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Faults {
    ws: WsMode,
    stream: StreamMode,
    poll: PollMode,
    cut_every: u64,
    cors: bool,
    kill_after: Duration,
    response_limit: usize,
}

impl Faults {
    fn new(response_limit: usize) -> Self {
        Faults {
            ws: WsMode::Ok,
            stream: StreamMode::Ok,
            poll: PollMode::Ok,
            cut_every: 4,
            cors: true,
            kill_after: Duration::from_millis(200),
            response_limit,
        }
    }

    /// `self` with the query's changes, or what is wrong with the query.
    fn apply(mut self, query: &[(String, String)]) -> Result<Self, String> {
        for (name, value) in query {
            let bad = || Err(["invalid ", name, ": ", value].concat());
            match name.as_str() {
                "ws" => {
                    self.ws = match value.as_str() {
                        "ok" => WsMode::Ok,
                        "block" => WsMode::Block,
                        "kill" => WsMode::Kill,
                        _ => return bad(),
                    }
                }
                "stream" => {
                    self.stream = match value.as_str() {
                        "ok" => StreamMode::Ok,
                        "buffer" => StreamMode::Buffer,
                        "cut" => StreamMode::Cut,
                        _ => return bad(),
                    }
                }
                "poll" => {
                    self.poll = match value.as_str() {
                        "ok" => PollMode::Ok,
                        "cut" => PollMode::Cut,
                        _ => return bad(),
                    }
                }
                "cut_every" => match value.parse::<u64>() {
                    Ok(n) if (1..=1000).contains(&n) => self.cut_every = n,
                    _ => return bad(),
                },
                "cors" => {
                    self.cors = match value.as_str() {
                        "on" => true,
                        "off" => false,
                        _ => return bad(),
                    }
                }
                "kill_after" => match value.parse::<u64>().map(Duration::from_millis) {
                    Ok(d) if d <= MAX_KILL_AFTER => self.kill_after = d,
                    _ => return bad(),
                },
                "response_limit" => match value.parse::<usize>() {
                    Ok(n) if (1..=MAX_RESPONSE_LIMIT).contains(&n) => self.response_limit = n,
                    _ => return bad(),
                },
                _ => return Err(["unknown parameter: ", name].concat()),
            }
        }
        Ok(self)
    }
}

/// The SockJS endpoint of a key as it is now; replaced whole by a restart.
struct Instance {
    endpoint: SockJs,
    router: Router,
    /// Set (or dropped) when this instance is replaced: every connection it serves is cut.
    cut: watch::Sender<bool>,
}

impl Instance {
    fn new(base: &Options, response_limit: usize, received: &Arc<Mutex<Received>>) -> Self {
        let received = received.clone();
        let endpoint = SockJs::new(
            Options {
                response_limit,
                websocket: true,
                cookie_needed: false,
                ..base.clone()
            },
            move |session| echo(session, received.clone()),
        );
        let router = endpoint.service();
        Instance {
            endpoint,
            router,
            cut: watch::channel(false).0,
        }
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.cut.send_replace(true);
    }
}

async fn echo(mut session: Session, received: Arc<Mutex<Received>>) {
    while let Some(message) = session.recv().await {
        lock(&received).push(&message);
        session.send(message);
    }
}

/// The messages a key's echo received, across restarts, oldest first, within
/// [`RECEIVED_MAX_MESSAGES`] and [`RECEIVED_MAX_BYTES`] (the oldest are dropped).
#[derive(Default)]
struct Received {
    messages: VecDeque<String>,
    bytes: usize,
    dropped: u64,
}

impl Received {
    fn push(&mut self, message: &str) {
        self.messages.push_back(message.to_owned());
        self.bytes += message.len();
        while self.messages.len() > RECEIVED_MAX_MESSAGES
            || (self.bytes > RECEIVED_MAX_BYTES && self.messages.len() > 1)
        {
            if let Some(old) = self.messages.pop_front() {
                self.bytes -= old.len();
                self.dropped += 1;
            }
        }
    }
}

/// One key: its faults, its endpoint and counters.
struct KeyState {
    name: String,
    faults: watch::Sender<Faults>,
    instance: Mutex<Instance>,
    received: Arc<Mutex<Received>>,
    restarts: AtomicU64,
    websockets: AtomicUsize,
    killed: AtomicU64,
    /// Polls and sends answered (counted for `poll=cut`), and how many were broken off.
    polls: AtomicU64,
    polls_cut: AtomicU64,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl KeyState {
    fn faults(&self) -> Faults {
        *self.faults.borrow()
    }

    /// The endpoint's router and the signal that cuts its connections.
    fn current(&self) -> (Router, watch::Receiver<bool>) {
        let instance = lock(&self.instance);
        (instance.router.clone(), instance.cut.subscribe())
    }

    fn restart(&self, base: &Options) {
        let fresh = Instance::new(base, self.faults().response_limit, &self.received);
        let old = std::mem::replace(&mut *lock(&self.instance), fresh);
        self.restarts.fetch_add(1, Ordering::Relaxed);
        drop(old);
    }

    /// Cuts every connection, as the key is forgotten (requests still holding it reach an
    /// endpoint nobody can find again).
    fn forget(&self) {
        lock(&self.instance).cut.send_replace(true);
    }

    fn state(&self) -> serde_json::Value {
        let f = self.faults();
        let sessions = lock(&self.instance).endpoint.session_count();
        serde_json::json!({
            "key": self.name,
            "ws": match f.ws { WsMode::Ok => "ok", WsMode::Block => "block", WsMode::Kill => "kill" },
            "stream": match f.stream {
                StreamMode::Ok => "ok",
                StreamMode::Buffer => "buffer",
                StreamMode::Cut => "cut",
            },
            "cors": if f.cors { "on" } else { "off" },
            "poll": match f.poll { PollMode::Ok => "ok", PollMode::Cut => "cut" },
            "cut_every": f.cut_every,
            "kill_after": u64::try_from(f.kill_after.as_millis()).unwrap_or(u64::MAX),
            "response_limit": f.response_limit,
            "restarts": self.restarts.load(Ordering::Relaxed),
            "sessions": sessions,
            "websockets": self.websockets.load(Ordering::Relaxed),
            "killed": self.killed.load(Ordering::Relaxed),
            "polls_cut": self.polls_cut.load(Ordering::Relaxed),
        })
    }
}

/// All keys, least recently used forgotten first.
struct Keys {
    base: Options,
    map: Mutex<Lru>,
}

#[derive(Default)]
struct Lru {
    tick: u64,
    keys: HashMap<String, (u64, Arc<KeyState>)>,
}

impl Keys {
    /// The key `name` (created with default faults if new), or `None` if `name` is not a
    /// valid key.
    fn get(&self, name: &str) -> Option<Arc<KeyState>> {
        let valid = !name.is_empty()
            && name.len() <= MAX_KEY_LEN
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if !valid {
            return None;
        }
        let mut lru = lock(&self.map);
        lru.tick += 1;
        let tick = lru.tick;
        if let Some((used, key)) = lru.keys.get_mut(name) {
            *used = tick;
            return Some(key.clone());
        }
        let mut evicted = None;
        if lru.keys.len() >= MAX_KEYS {
            let oldest = lru
                .keys
                .iter()
                .min_by_key(|(_, (used, _))| *used)
                .map(|(name, _)| name.clone());
            evicted = oldest.and_then(|name| lru.keys.remove(&name));
        }
        let faults = Faults::new(self.base.response_limit);
        let received = Arc::default();
        let key = Arc::new(KeyState {
            name: name.to_owned(),
            faults: watch::channel(faults).0,
            instance: Mutex::new(Instance::new(&self.base, faults.response_limit, &received)),
            received,
            restarts: AtomicU64::new(0),
            websockets: AtomicUsize::new(0),
            killed: AtomicU64::new(0),
            polls: AtomicU64::new(0),
            polls_cut: AtomicU64::new(0),
        });
        lru.keys.insert(name.to_owned(), (tick, key.clone()));
        drop(lru);
        if let Some((_, old)) = evicted {
            old.forget();
        }
        Some(key)
    }
}

type Chaos = Arc<Keys>;

/// The chaos endpoints (see the [module docs](self)), with a 128 KiB response limit and the
/// SockJS defaults otherwise. Merge them outside any CORS layer: they answer their own.
pub fn routes() -> Router {
    routes_with(Options::default())
}

/// The chaos endpoints with the endpoints' [`Options`] taken from `base` (tests shorten the
/// delays with it); `base.response_limit` is the keys' default response limit. WebSockets
/// are always offered (the faults block them) and no cookie is set.
pub fn routes_with(base: Options) -> Router {
    let chaos: Chaos = Arc::new(Keys {
        base,
        map: Mutex::default(),
    });
    Router::new()
        .route("/chaos/{key}/set", get(set).post(set).options(preflight))
        .route("/chaos/{key}/state", get(state).options(preflight))
        .route("/chaos/{key}/received", get(received).options(preflight))
        .route(
            "/chaos/{key}/restart",
            get(restart).post(restart).options(preflight),
        )
        .route(&["/chaos/{key}", ECHO].concat(), any(endpoint))
        .route(&["/chaos/{key}", ECHO, "/"].concat(), any(endpoint))
        .route(&["/chaos/{key}", ECHO, "/{*rest}"].concat(), any(endpoint))
        .with_state(chaos)
}

// ---------------------------------------------------------------------------------------------
// Control endpoints.

/// CORS for the control endpoints: any origin, with credentials.
fn control_cors(req: &HeaderMap, res: &mut Response) {
    let h = res.headers_mut();
    match req.get(header::ORIGIN) {
        Some(origin) => {
            h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
            h.insert(
                header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
            h.append(header::VARY, HeaderValue::from_static("Origin"));
        }
        None => {
            h.insert(
                header::ACCESS_CONTROL_ALLOW_ORIGIN,
                HeaderValue::from_static("*"),
            );
        }
    }
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-store, max-age=0"),
    );
}

fn control(req: &HeaderMap, status: StatusCode, body: Response) -> Response {
    let mut res = body;
    *res.status_mut() = status;
    control_cors(req, &mut res);
    res
}

fn invalid_key(req: &HeaderMap) -> Response {
    control(
        req,
        StatusCode::BAD_REQUEST,
        "invalid key: 1 to 64 of [A-Za-z0-9_-]\n".into_response(),
    )
}

async fn preflight(headers: HeaderMap) -> Response {
    let mut res = control(&headers, StatusCode::NO_CONTENT, Response::default());
    let h = res.headers_mut();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, POST, OPTIONS"),
    );
    if let Some(requested) = headers.get(header::ACCESS_CONTROL_REQUEST_HEADERS) {
        h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, requested.clone());
    }
    res
}

async fn set(
    State(chaos): State<Chaos>,
    Path(name): Path<String>,
    headers: HeaderMap,
    Query(query): Query<Vec<(String, String)>>,
) -> Response {
    let Some(key) = chaos.get(&name) else {
        return invalid_key(&headers);
    };
    let before = key.faults();
    let after = match before.apply(&query) {
        Ok(after) => after,
        Err(message) => {
            return control(
                &headers,
                StatusCode::BAD_REQUEST,
                [message, "\n".into()].concat().into_response(),
            )
        }
    };
    key.faults.send_replace(after);
    if after.response_limit != before.response_limit {
        key.restart(&chaos.base);
    }
    control(
        &headers,
        StatusCode::OK,
        axum::Json(key.state()).into_response(),
    )
}

async fn state(
    State(chaos): State<Chaos>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Response {
    match chaos.get(&name) {
        Some(key) => control(
            &headers,
            StatusCode::OK,
            axum::Json(key.state()).into_response(),
        ),
        None => invalid_key(&headers),
    }
}

async fn received(
    State(chaos): State<Chaos>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Response {
    let Some(key) = chaos.get(&name) else {
        return invalid_key(&headers);
    };
    let body = {
        let received = lock(&key.received);
        serde_json::json!({
            "messages": received.messages,
            "dropped": received.dropped,
        })
    };
    control(&headers, StatusCode::OK, axum::Json(body).into_response())
}

async fn restart(
    State(chaos): State<Chaos>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Response {
    match chaos.get(&name) {
        Some(key) => {
            key.restart(&chaos.base);
            control(
                &headers,
                StatusCode::OK,
                axum::Json(key.state()).into_response(),
            )
        }
        None => invalid_key(&headers),
    }
}

// ---------------------------------------------------------------------------------------------
// The endpoint behind the faults.

/// Which SockJS URL a path (relative to the endpoint) is, as far as the faults care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Info,
    WebSocket,
    Streaming,
    /// A poll or a send (`xhr`, `jsonp`, `xhr_send`, `jsonp_send`).
    Polling,
    Other,
}

fn kind(rest: &str) -> Kind {
    let path = rest.strip_suffix('/').unwrap_or(rest);
    if path == "/info" {
        return Kind::Info;
    }
    if path == "/websocket" {
        return Kind::WebSocket;
    }
    let mut parts = path.split('/').skip(1);
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(_), Some(_), Some(transport), None) => match transport {
            "websocket" => Kind::WebSocket,
            "xhr_streaming" | "eventsource" | "htmlfile" => Kind::Streaming,
            "xhr" | "jsonp" | "xhr_send" | "jsonp_send" => Kind::Polling,
            _ => Kind::Other,
        },
        _ => Kind::Other,
    }
}

fn not_found() -> Response {
    let mut res = Response::new(Body::from("404 Error: Page not found\n"));
    *res.status_mut() = StatusCode::NOT_FOUND;
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=UTF-8"),
    );
    res
}

/// `/info` as a server with WebSockets off answers it.
async fn without_websocket(res: Response) -> Response {
    let (mut parts, body) = res.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 64 * 1024).await else {
        return body::broken();
    };
    let mut info: serde_json::Value = match serde_json::from_slice(&bytes) {
        Ok(info) => info,
        Err(_) => return Response::from_parts(parts, Body::from(bytes)),
    };
    if let Some(fields) = info.as_object_mut() {
        fields.insert("websocket".into(), serde_json::Value::Bool(false));
    }
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(info.to_string()))
}

fn strip_cors(res: &mut Response) {
    let headers = res.headers_mut();
    let names: Vec<_> = headers
        .keys()
        .filter(|name| name.as_str().starts_with("access-control-"))
        .cloned()
        .collect();
    for name in names {
        headers.remove(name);
    }
}

/// Every request under `/chaos/<key>/echo`.
async fn endpoint(
    State(chaos): State<Chaos>,
    Path(params): Path<Vec<(String, String)>>,
    req: Request,
) -> Response {
    let name = params
        .iter()
        .find(|(param, _)| param == "key")
        .map(|(_, value)| value.as_str())
        .unwrap_or("");
    let Some(key) = chaos.get(name) else {
        return not_found();
    };
    let faults = key.faults();
    let (router, cut) = key.current();
    // The path relative to the endpoint, as the SockJS service wants it.
    let rest = req
        .uri()
        .path()
        .strip_prefix("/chaos/")
        .and_then(|p| p.strip_prefix(name))
        .and_then(|p| p.strip_prefix(ECHO))
        .unwrap_or("/.");
    let kind = kind(rest);
    let relative = [
        if rest.is_empty() { "/" } else { rest },
        req.uri().query().map_or("", |_| "?"),
        req.uri().query().unwrap_or(""),
    ]
    .concat();
    let Ok(relative) = relative.parse::<Uri>() else {
        return not_found();
    };
    let (mut parts, body) = req.into_parts();
    parts.uri = relative;
    let req = Request::from_parts(parts, body);
    let method = req.method().clone();

    let mut res = match kind {
        Kind::WebSocket if faults.ws == WsMode::Block => not_found(),
        Kind::WebSocket if websocket::is_upgrade(&req) => {
            websocket::proxy(key.clone(), router, cut.clone(), req).await
        }
        _ => match router.oneshot(req).await {
            Ok(res) => res,
            Err(never) => match never {},
        },
    };
    if res.status() == StatusCode::SWITCHING_PROTOCOLS {
        return res;
    }
    let ok = res.status() == StatusCode::OK && method != Method::OPTIONS;
    let answered = res.status().is_success() && method != Method::OPTIONS;
    if answered && kind == Kind::Polling && faults.poll == PollMode::Cut {
        let n = key.polls.fetch_add(1, Ordering::Relaxed) + 1;
        if n % faults.cut_every == 0 {
            key.polls_cut.fetch_add(1, Ordering::Relaxed);
            // The server handled the request; its answer never arrives. (Drained first, so a
            // poll's frames are taken from the session as they would be on the wire.)
            let _ = axum::body::to_bytes(res.into_body(), MAX_RESPONSE_LIMIT).await;
            return body::broken();
        }
    }
    if ok && kind == Kind::Info && faults.ws == WsMode::Block {
        res = without_websocket(res).await;
    }
    if ok && kind == Kind::Streaming && faults.stream == StreamMode::Buffer {
        res = body::buffered(res, faults.response_limit + BUFFER_SLACK, cut).await;
    } else if ok && kind == Kind::Streaming && faults.stream == StreamMode::Cut {
        let (parts, body) = res.into_parts();
        res = Response::from_parts(parts, body::cut_after(body, cut, faults.kill_after));
    } else if axum::body::HttpBody::size_hint(res.body())
        .exact()
        .is_none()
    {
        // A body that is still being written: cut it on restart.
        let (parts, body) = res.into_parts();
        res = Response::from_parts(parts, body::cuttable(body, cut));
    }
    if !faults.cors {
        strip_cors(&mut res);
    }
    // Browser-test pages run cross-origin isolated (wasm-bindgen-test-runner serves them with
    // `Cross-Origin-Embedder-Policy: require-corp`): without this, their no-CORS loads (JSONP
    // scripts, `jsonp_send` posts) are blocked whatever the faults. Not a CORS header, so
    // `cors=off` keeps it.
    res.headers_mut()
        .entry(HeaderName::from_static("cross-origin-resource-policy"))
        .or_insert(HeaderValue::from_static("cross-origin"));
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn faults_from_queries() {
        let f = Faults::new(100);
        let g = f
            .apply(&q(&[
                ("ws", "kill"),
                ("kill_after", "50"),
                ("stream", "buffer"),
                ("cors", "off"),
                ("response_limit", "4096"),
                ("poll", "cut"),
                ("cut_every", "3"),
            ]))
            .unwrap_or(f);
        assert_eq!(g.ws, WsMode::Kill);
        assert_eq!(g.kill_after, Duration::from_millis(50));
        assert!(g.stream == StreamMode::Buffer && !g.cors);
        assert_eq!(g.response_limit, 4096);
        assert!(g.poll == PollMode::Cut && g.cut_every == 3);
        assert_eq!(f.apply(&[]), Ok(f));
        for bad in [
            ("ws", "nope"),
            ("stream", ""),
            ("cors", "yes"),
            ("kill_after", "-1"),
            ("kill_after", "600001"),
            ("response_limit", "0"),
            ("poll", "drop"),
            ("cut_every", "0"),
            ("wss", "ok"),
        ] {
            assert!(f.apply(&q(&[("ws", "block"), bad])).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn received_is_bounded() {
        let mut r = Received::default();
        for i in 0..RECEIVED_MAX_MESSAGES + 3 {
            r.push(&i.to_string());
        }
        assert_eq!(r.messages.len(), RECEIVED_MAX_MESSAGES);
        assert_eq!(r.dropped, 3);
        assert_eq!(r.messages.front().map(String::as_str), Some("3"));
        let big = "b".repeat(RECEIVED_MAX_BYTES / 2 + 1);
        r.push(&big);
        r.push(&big);
        // Only the newest fits; a single message over the bound is still kept.
        assert_eq!(r.messages.len(), 1);
        assert_eq!(r.bytes, big.len());
        r.push(&"c".repeat(RECEIVED_MAX_BYTES + 1));
        assert_eq!(r.messages.len(), 1);
        assert_eq!(r.bytes, RECEIVED_MAX_BYTES + 1);
    }

    #[test]
    fn kinds() {
        assert_eq!(kind("/info"), Kind::Info);
        assert_eq!(kind("/info/"), Kind::Info);
        assert_eq!(kind("/websocket"), Kind::WebSocket);
        assert_eq!(kind("/0/a/websocket"), Kind::WebSocket);
        assert_eq!(kind("/0/a/websocket/"), Kind::WebSocket);
        assert_eq!(kind("/0/a/xhr_streaming"), Kind::Streaming);
        assert_eq!(kind("/0/a/eventsource"), Kind::Streaming);
        assert_eq!(kind("/0/a/htmlfile"), Kind::Streaming);
        assert_eq!(kind("/0/a/xhr"), Kind::Polling);
        assert_eq!(kind("/0/a/jsonp_send"), Kind::Polling);
        assert_eq!(kind("/0/a/xhr_sendx"), Kind::Other);
        assert_eq!(kind("/a/websocket"), Kind::Other);
        assert_eq!(kind(""), Kind::Other);
    }

    #[test]
    fn keys_are_bounded_and_validated() {
        let keys = Keys {
            base: Options::default(),
            map: Mutex::default(),
        };
        assert!(keys.get("").is_none());
        assert!(keys.get("a/b").is_none());
        assert!(keys.get(&"k".repeat(65)).is_none());
        let first = keys.get("first");
        assert!(first.is_some());
        for i in 0..MAX_KEYS {
            assert!(keys.get(&format!("k{i}")).is_some());
            // Keep `first` the most recently used for a while.
            if i < 10 {
                assert!(keys.get("first").is_some());
            }
        }
        let lru = lock(&keys.map);
        assert_eq!(lru.keys.len(), MAX_KEYS);
        // The least recently used went, not the oldest.
        assert!(lru.keys.contains_key("first"));
        assert!(!lru.keys.contains_key("k0"));
        assert!(lru.keys.contains_key("k1"));
        assert!(lru.keys.contains_key(&format!("k{}", MAX_KEYS - 1)));
    }
}
