//! The fault-injecting endpoints (`/chaos/<key>/...`) over real sockets on 127.0.0.1: every
//! fault as a client sees it, restarts, and the control endpoints.
//!
//! Most tests use `cometkit_server::app`; tests of session lifetimes build the chaos routes
//! with short delays. Every wait is bounded; every test uses keys of its own.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use bytes::Bytes;
use cometkit_server::sockjs::Options;
use futures_util::{SinkExt, StreamExt};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::HeaderMap;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::WebSocketStream;

/// Bound on every single wait.
const LIMIT: Duration = Duration::from_secs(10);
/// How long "nothing arrives" is watched for.
const QUIET: Duration = Duration::from_millis(600);

async fn within<F: Future>(what: &str, f: F) -> F::Output {
    match tokio::time::timeout(LIMIT, f).await {
        Ok(v) => v,
        Err(_) => panic!("timed out: {what}"),
    }
}

/// A key (or session id) no other test uses.
fn unique(prefix: &str) -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("{prefix}{}-{nanos}", N.fetch_add(1, Ordering::Relaxed))
}

async fn serve(router: Router) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    addr
}

async fn app() -> SocketAddr {
    serve(cometkit_server::app(None)).await
}

// ---------------------------------------------------------------------------------------------
// HTTP client.

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

struct Resp {
    status: u16,
    headers: HeaderMap,
    body: Incoming,
    buf: Vec<u8>,
    _conn: AbortOnDrop,
}

impl Resp {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    fn has_cors(&self) -> bool {
        self.headers
            .keys()
            .any(|name| name.as_str().starts_with("access-control-"))
    }

    /// One more piece of body: `Ok(false)` at its end, `Err` if it broke off.
    async fn fill(&mut self) -> Result<bool, String> {
        loop {
            match within("body data", self.body.frame()).await {
                None => return Ok(false),
                Some(Err(e)) => return Err(e.to_string()),
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        self.buf.extend_from_slice(&data);
                        return Ok(true);
                    }
                }
            }
        }
    }

    async fn expect(&mut self, expected: &str) {
        while self.buf.len() < expected.len() {
            assert_eq!(self.fill().await, Ok(true), "body ended early");
        }
        let rest = self.buf.split_off(expected.len());
        let head = std::mem::replace(&mut self.buf, rest);
        assert_eq!(String::from_utf8_lossy(&head), expected);
    }

    /// The rest of the body, or how it broke off.
    async fn rest(mut self) -> Result<String, String> {
        while self.fill().await? {}
        Ok(String::from_utf8_lossy(&self.buf).into_owned())
    }

    async fn text(self) -> String {
        self.rest().await.expect("a complete body")
    }

    async fn json(self) -> serde_json::Value {
        let text = self.text().await;
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
    }
}

/// Sends a request; the future resolves when the response head has arrived.
fn send(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> impl Future<Output = Resp> + Send + 'static {
    let mut req = hyper::Request::builder()
        .method(method)
        .uri(path)
        .header("host", addr.to_string());
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let req = req
        .body(Full::new(Bytes::from(body.to_owned())))
        .expect("request");
    async move {
        let stream = within("connect", TcpStream::connect(addr))
            .await
            .expect("connect");
        let (mut sender, conn) = within(
            "handshake",
            hyper::client::conn::http1::handshake(TokioIo::new(stream)),
        )
        .await
        .expect("handshake");
        let conn = AbortOnDrop(tokio::spawn(async move {
            let _ = conn.await;
        }));
        let res = sender.send_request(req).await.expect("response");
        let (parts, body) = res.into_parts();
        Resp {
            status: parts.status.as_u16(),
            headers: parts.headers,
            body,
            buf: Vec::new(),
            _conn: conn,
        }
    }
}

async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Resp {
    within("response head", send(addr, method, path, headers, body)).await
}

async fn get(addr: SocketAddr, path: &str) -> Resp {
    request(addr, "GET", path, &[], "").await
}

async fn post(addr: SocketAddr, path: &str, body: &str) -> Resp {
    request(addr, "POST", path, &[], body).await
}

/// Sets faults on `key` and returns the state.
async fn set(addr: SocketAddr, key: &str, query: &str) -> serde_json::Value {
    let r = get(addr, &format!("/chaos/{key}/set?{query}")).await;
    assert_eq!(r.status, 200, "set {query}");
    r.json().await
}

async fn state(addr: SocketAddr, key: &str) -> serde_json::Value {
    let r = get(addr, &format!("/chaos/{key}/state")).await;
    assert_eq!(r.status, 200);
    r.json().await
}

/// `xhr_send`s `body` to the session `url` as soon as it exists (a receiving request opens it).
async fn send_when_open(addr: SocketAddr, url: &str, body: &str) {
    for _ in 0..200 {
        match post(addr, &format!("{url}/xhr_send"), body).await.status {
            204 => return,
            404 => tokio::time::sleep(Duration::from_millis(25)).await,
            other => panic!("xhr_send: {other}"),
        }
    }
    panic!("the session never opened");
}

async fn info(addr: SocketAddr, key: &str) -> serde_json::Value {
    let r = get(addr, &format!("/chaos/{key}/echo/info")).await;
    assert_eq!(r.status, 200);
    r.json().await
}

// ---------------------------------------------------------------------------------------------
// WebSocket client.

type Ws = WebSocketStream<TcpStream>;

async fn ws_try(addr: SocketAddr, path: &str) -> Result<Ws, tungstenite::Error> {
    let stream = within("connect", TcpStream::connect(addr))
        .await
        .expect("connect");
    within(
        "ws handshake",
        tokio_tungstenite::client_async(format!("ws://{addr}{path}"), stream),
    )
    .await
    .map(|(ws, _)| ws)
}

async fn ws_connect(addr: SocketAddr, path: &str) -> Ws {
    ws_try(addr, path).await.expect("ws handshake")
}

async fn ws_text(ws: &mut Ws) -> String {
    loop {
        match within("ws message", ws.next()).await {
            Some(Ok(Message::Text(t))) => return t.as_str().to_owned(),
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            other => panic!("expected a text message, got {other:?}"),
        }
    }
}

async fn ws_send(ws: &mut Ws, text: &str) {
    within("ws send", ws.send(Message::text(text)))
        .await
        .expect("ws send");
}

/// How the socket ended: `None` if cut without a close frame, else the close frame's code.
async fn ws_end(ws: &mut Ws) -> Option<u16> {
    loop {
        match within("ws end", ws.next()).await {
            Some(Ok(Message::Close(frame))) => return Some(frame.map_or(1005, |f| f.code.into())),
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            Some(Ok(other)) => panic!("expected the socket to end, got {other:?}"),
            Some(Err(_)) | None => return None,
        }
    }
}

fn ws_refused_with(result: Result<Ws, tungstenite::Error>) -> u16 {
    match result {
        Err(tungstenite::Error::Http(res)) => res.status().as_u16(),
        Err(other) => panic!("expected an HTTP refusal, got {other}"),
        Ok(_) => panic!("expected the upgrade to be refused"),
    }
}

// ---------------------------------------------------------------------------------------------
// The echo endpoint without faults.

#[tokio::test]
async fn echo_endpoint_without_faults() {
    let addr = app().await;
    let key = unique("plain");
    for path in ["", "/"] {
        let r = get(addr, &format!("/chaos/{key}/echo{path}")).await;
        assert_eq!(r.status, 200);
        assert_eq!(r.text().await, "Welcome to SockJS!\n");
    }
    let i = info(addr, &key).await;
    assert_eq!(i["websocket"], true);
    assert_eq!(i["cookie_needed"], false);
    let url = format!("/chaos/{key}/echo/000/{}", unique("s"));
    assert_eq!(
        post(addr, &format!("{url}/xhr"), "").await.text().await,
        "o\n"
    );
    assert_eq!(
        post(addr, &format!("{url}/xhr_send"), r#"["hi"]"#)
            .await
            .status,
        204
    );
    assert_eq!(
        post(addr, &format!("{url}/xhr"), "").await.text().await,
        "a[\"hi\"]\n"
    );
    // WebSockets pass through the proxy, close frames included.
    let mut ws = ws_connect(
        addr,
        &format!("/chaos/{key}/echo/0/{}/websocket", unique("w")),
    )
    .await;
    assert_eq!(ws_text(&mut ws).await, "o");
    ws_send(&mut ws, r#"["x"]"#).await;
    assert_eq!(ws_text(&mut ws).await, r#"a["x"]"#);
    ws_send(&mut ws, r#"["broken"#).await;
    assert_eq!(ws_end(&mut ws).await, Some(3000));
    let mut raw = ws_connect(addr, &format!("/chaos/{key}/echo/websocket")).await;
    ws_send(&mut raw, "raw").await;
    assert_eq!(ws_text(&mut raw).await, "raw");
    // Streaming is not held back.
    let mut r = post(
        addr,
        &format!("/chaos/{key}/echo/0/{}/xhr_streaming", unique("s")),
        "",
    )
    .await;
    assert_eq!(r.header("content-length"), None);
    r.expect(&format!("{}\n", "h".repeat(2048))).await;
    r.expect("o\n").await;
    // Invalid keys and other paths under /chaos are not endpoints.
    assert_eq!(get(addr, "/chaos/a.b/echo/info").await.status, 404);
    assert_eq!(get(addr, &format!("/chaos/{key}/echo//")).await.status, 404);
    assert_eq!(get(addr, &format!("/chaos/{key}/nope")).await.status, 404);
}

// ---------------------------------------------------------------------------------------------
// ws=block

#[tokio::test]
async fn ws_block_says_so_in_info_and_refuses_upgrades() {
    let addr = app().await;
    let key = unique("block");
    let before = info(addr, &key).await;
    assert_eq!(before["websocket"], true);
    assert_eq!(set(addr, &key, "ws=block").await["ws"], "block");
    let after = info(addr, &key).await;
    assert_eq!(after["websocket"], false);
    // The rest of /info is the endpoint's.
    assert_eq!(after["cookie_needed"], false);
    assert_eq!(after["origins"], serde_json::json!(["*:*"]));
    assert!(after["entropy"].is_u64());
    for path in ["/0/s/websocket", "/websocket"] {
        let refused = ws_try(addr, &format!("/chaos/{key}/echo{path}")).await;
        assert_eq!(ws_refused_with(refused), 404, "{path}");
    }
    assert_eq!(
        get(addr, &format!("/chaos/{key}/echo/0/s/websocket"))
            .await
            .status,
        404
    );
    // Other transports work.
    let url = format!("/chaos/{key}/echo/000/{}", unique("s"));
    assert_eq!(
        post(addr, &format!("{url}/xhr"), "").await.text().await,
        "o\n"
    );
    // Switched back at run time.
    set(addr, &key, "ws=ok").await;
    assert_eq!(info(addr, &key).await["websocket"], true);
    let mut ws = ws_connect(addr, &format!("/chaos/{key}/echo/0/s/websocket")).await;
    assert_eq!(ws_text(&mut ws).await, "o");
}

// ---------------------------------------------------------------------------------------------
// ws=kill

#[tokio::test]
async fn ws_kill_opens_then_cuts_without_close_frame() {
    let addr = app().await;
    let key = unique("kill");
    let s = set(addr, &key, "ws=kill&kill_after=1000").await;
    assert_eq!(s["ws"], "kill");
    assert_eq!(s["kill_after"], 1000);
    // The server still offers WebSockets.
    assert_eq!(info(addr, &key).await["websocket"], true);
    let path = format!("/chaos/{key}/echo/0/{}/websocket", unique("w"));
    let mut ws = ws_connect(addr, &path).await;
    assert_eq!(ws_text(&mut ws).await, "o");
    ws_send(&mut ws, r#"["before the kill"]"#).await;
    assert_eq!(ws_text(&mut ws).await, r#"a["before the kill"]"#);
    assert_eq!(state(addr, &key).await["websockets"], 1);
    assert_eq!(ws_end(&mut ws).await, None, "cut without a close frame");
    // Every new socket of the key is killed the same way (the default delay is 200 ms).
    set(addr, &key, "kill_after=200").await;
    let mut ws = ws_connect(addr, &path).await;
    assert_eq!(ws_text(&mut ws).await, "o");
    assert_eq!(ws_end(&mut ws).await, None);
    let s = state(addr, &key).await;
    assert_eq!(s["killed"], 2);
    assert_eq!(s["websockets"], 0);
    // Other keys are not affected.
    let other = unique("calm");
    let mut ws = ws_connect(addr, &format!("/chaos/{other}/echo/0/s/websocket")).await;
    assert_eq!(ws_text(&mut ws).await, "o");
    assert!(
        tokio::time::timeout(QUIET, ws.next()).await.is_err(),
        "a socket of another key ended"
    );
}

#[tokio::test]
async fn ws_kill_switched_on_kills_open_sockets() {
    let addr = app().await;
    let key = unique("killnow");
    let mut ws = ws_connect(addr, &format!("/chaos/{key}/echo/0/s/websocket")).await;
    assert_eq!(ws_text(&mut ws).await, "o");
    let mut raw = ws_connect(addr, &format!("/chaos/{key}/echo/websocket")).await;
    set(addr, &key, "ws=kill&kill_after=0").await;
    assert_eq!(ws_end(&mut ws).await, None);
    assert_eq!(ws_end(&mut raw).await, None);
    assert_eq!(state(addr, &key).await["killed"], 2);
}

// ---------------------------------------------------------------------------------------------
// stream=buffer

#[tokio::test]
async fn buffered_streaming_arrives_whole_at_the_end() {
    let addr = app().await;
    let key = unique("buffer");
    let s = set(addr, &key, "stream=buffer&response_limit=4096").await;
    assert_eq!(s["stream"], "buffer");
    assert_eq!(s["response_limit"], 4096);
    let big = "x".repeat(5000);
    for (method, transport, prelude, open, message) in [
        (
            "POST",
            "xhr_streaming",
            format!("{}\n", "h".repeat(2048)),
            "o\n".to_owned(),
            format!("a[\"{big}\"]\n"),
        ),
        (
            "GET",
            "eventsource",
            "\r\n".to_owned(),
            "data: o\r\n\r\n".to_owned(),
            format!("data: a[\"{big}\"]\r\n\r\n"),
        ),
        (
            "GET",
            "htmlfile?c=cb",
            String::new(),
            "<script>\np(\"o\");\n</script>\r\n".to_owned(),
            format!("<script>\np(\"a[\\\"{big}\\\"]\");\n</script>\r\n"),
        ),
    ] {
        let url = format!("/chaos/{key}/echo/000/{}", unique("s"));
        let mut pending = tokio::spawn(send(addr, method, &format!("{url}/{transport}"), &[], ""));
        assert!(
            tokio::time::timeout(QUIET, &mut pending).await.is_err(),
            "{transport}: something arrived before the response ended"
        );
        // The session is open behind the proxy: a big echo ends the response.
        send_when_open(addr, &url, &format!("[\"{big}\"]")).await;
        let r = within("buffered response", pending).await.expect("task");
        assert_eq!(r.status, 200, "{transport}");
        let body = r.text().await;
        if transport.starts_with("htmlfile") {
            let (_, frames) = body.split_once("</script>").expect("htmlfile head");
            let frames = frames.trim_start_matches([' ', '\r', '\n']);
            assert_eq!(frames, format!("{open}{message}"), "{transport}");
        } else {
            assert_eq!(body, format!("{prelude}{open}{message}"), "{transport}");
        }
    }
}

#[tokio::test]
async fn buffered_streaming_sends_content_length_and_polling_is_unaffected() {
    let addr = app().await;
    let key = unique("buffer2");
    set(addr, &key, "stream=buffer&response_limit=100").await;
    let url = format!("/chaos/{key}/echo/000/{}", unique("s"));
    // A poll is answered at once (the frames of a poll end its response anyway).
    let r = post(addr, &format!("{url}/xhr"), "").await;
    assert_eq!(r.text().await, "o\n");
    // A streaming response over its 100-byte limit ends at once and arrives whole.
    let url = format!("/chaos/{key}/echo/000/{}", unique("s"));
    let pending = tokio::spawn(send(addr, "POST", &format!("{url}/xhr_streaming"), &[], ""));
    let message = "y".repeat(100);
    send_when_open(addr, &url, &format!("[\"{message}\"]")).await;
    let r = within("buffered response", pending).await.expect("task");
    let expected = format!("{}\no\na[\"{message}\"]\n", "h".repeat(2048));
    let length = expected.len().to_string();
    assert_eq!(r.header("content-length"), Some(length.as_str()));
    assert_eq!(r.text().await, expected);
    // Preflights are not held.
    let r = request(
        addr,
        "OPTIONS",
        &format!("{url}/xhr_streaming"),
        &[
            ("origin", "http://o"),
            ("access-control-request-method", "POST"),
        ],
        "",
    )
    .await;
    assert_eq!(r.status, 204);
}

#[tokio::test]
async fn buffered_response_held_by_a_gone_client_is_released() {
    let addr = serve(cometkit_server::chaos::routes_with(Options {
        disconnect_delay: Duration::from_millis(300),
        ..Options::default()
    }))
    .await;
    let key = unique("gone");
    set(addr, &key, "stream=buffer").await;
    let url = format!("/chaos/{key}/echo/000/{}", unique("s"));
    let mut pending = tokio::spawn(send(addr, "POST", &format!("{url}/xhr_streaming"), &[], ""));
    assert!(tokio::time::timeout(QUIET, &mut pending).await.is_err());
    assert_eq!(state(addr, &key).await["sessions"], 1);
    // The client goes away: the proxy lets go of the response, the session ends and is
    // forgotten after the disconnect delay.
    pending.abort();
    let mut sessions = serde_json::Value::Null;
    for _ in 0..100 {
        sessions = state(addr, &key).await["sessions"].clone();
        if sessions == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(sessions, 0);
}

// ---------------------------------------------------------------------------------------------
// cors=off

#[tokio::test]
async fn cors_off_strips_every_cors_header() {
    let addr = app().await;
    let key = unique("cors");
    let origin = [("origin", "http://elsewhere.test")];
    let url = format!("/chaos/{key}/echo/000/{}", unique("s"));
    // On: the endpoint answers CORS.
    let r = request(addr, "GET", &format!("/chaos/{key}/echo/info"), &origin, "").await;
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("http://elsewhere.test")
    );
    assert_eq!(set(addr, &key, "cors=off").await["cors"], "off");
    let r = request(addr, "GET", &format!("/chaos/{key}/echo/info"), &origin, "").await;
    assert_eq!(r.status, 200);
    assert!(!r.has_cors(), "{:?}", r.headers);
    for path in [
        "/info",
        "/000/s/xhr",
        "/000/s/xhr_send",
        "/000/s/xhr_streaming",
    ] {
        let r = request(
            addr,
            "OPTIONS",
            &format!("/chaos/{key}/echo{path}"),
            &[
                origin[0],
                ("access-control-request-method", "POST"),
                ("access-control-request-headers", "content-type"),
            ],
            "",
        )
        .await;
        assert!(!r.has_cors(), "{path}: {:?}", r.headers);
    }
    let r = request(addr, "POST", &format!("{url}/xhr"), &origin, "").await;
    assert!(!r.has_cors());
    assert_eq!(r.text().await, "o\n");
    let url = format!("/chaos/{key}/echo/000/{}", unique("s"));
    let mut r = request(addr, "GET", &format!("{url}/eventsource"), &origin, "").await;
    assert!(!r.has_cors());
    r.expect("\r\ndata: o\r\n\r\n").await;
    drop(r);
    // JSONP needs no CORS: it works (in cross-origin-isolated pages too).
    let url = format!("/chaos/{key}/echo/000/{}", unique("s"));
    let r = request(addr, "GET", &format!("{url}/jsonp?c=cb"), &origin, "").await;
    assert!(!r.has_cors());
    assert_eq!(
        r.header("cross-origin-resource-policy"),
        Some("cross-origin")
    );
    assert_eq!(r.text().await, "/**/cb(\"o\");\r\n");
    let r = request(
        addr,
        "POST",
        &format!("{url}/jsonp_send"),
        &[
            origin[0],
            ("content-type", "application/x-www-form-urlencoded"),
        ],
        "d=%5B%22j%22%5D",
    )
    .await;
    assert_eq!(r.status, 200);
    assert!(!r.has_cors());
    let r = get(addr, &format!("{url}/jsonp?c=cb")).await;
    assert_eq!(r.text().await, "/**/cb(\"a[\\\"j\\\"]\");\r\n");
    // The control endpoints keep answering CORS, and the key can be switched back.
    let r = request(
        addr,
        "GET",
        &format!("/chaos/{key}/set?cors=on"),
        &origin,
        "",
    )
    .await;
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("http://elsewhere.test")
    );
    let r = request(addr, "GET", &format!("/chaos/{key}/echo/info"), &origin, "").await;
    assert!(r.has_cors());
}

// ---------------------------------------------------------------------------------------------
// restart

#[tokio::test]
async fn restart_forgets_sessions() {
    let addr = app().await;
    let key = unique("restart");
    let url = format!("/chaos/{key}/echo/000/{}", unique("s"));
    assert_eq!(
        post(addr, &format!("{url}/xhr"), "").await.text().await,
        "o\n"
    );
    assert_eq!(
        post(addr, &format!("{url}/xhr_send"), r#"["a"]"#)
            .await
            .status,
        204
    );
    assert_eq!(state(addr, &key).await["sessions"], 1);
    let r = post(addr, &format!("/chaos/{key}/restart"), "").await;
    assert_eq!(r.status, 200);
    let s = r.json().await;
    assert_eq!(s["restarts"], 1);
    assert_eq!(s["sessions"], 0);
    // The session is unknown: sends are refused and a poll opens a new session.
    assert_eq!(
        post(addr, &format!("{url}/xhr_send"), r#"["b"]"#)
            .await
            .status,
        404
    );
    assert_eq!(
        post(addr, &format!("{url}/xhr"), "").await.text().await,
        "o\n"
    );
    assert_eq!(
        post(addr, &format!("{url}/xhr_send"), r#"["c"]"#)
            .await
            .status,
        204
    );
    assert_eq!(
        post(addr, &format!("{url}/xhr"), "").await.text().await,
        "a[\"c\"]\n"
    );
    // The key's log of received messages spans the restart.
    let r = get(addr, &format!("/chaos/{key}/received")).await;
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    assert_eq!(
        r.json().await,
        serde_json::json!({"messages": ["a", "c"], "dropped": 0})
    );
    // GET restarts too; faults survive a restart.
    set(addr, &key, "ws=block").await;
    let s = get(addr, &format!("/chaos/{key}/restart"))
        .await
        .json()
        .await;
    assert_eq!(s["restarts"], 2);
    assert_eq!(s["ws"], "block");
}

#[tokio::test]
async fn restart_cuts_every_connection() {
    let addr = app().await;
    let key = unique("cut");
    let url = format!("/chaos/{key}/echo/000/{}", unique("s"));
    let mut streaming = post(addr, &format!("{url}/xhr_streaming"), "").await;
    streaming
        .expect(&format!("{}\no\n", "h".repeat(2048)))
        .await;
    let poll_url = format!("/chaos/{key}/echo/000/{}", unique("s"));
    assert_eq!(
        post(addr, &format!("{poll_url}/xhr"), "")
            .await
            .text()
            .await,
        "o\n"
    );
    let poll = post(addr, &format!("{poll_url}/xhr"), "").await;
    let mut ws = ws_connect(addr, &format!("/chaos/{key}/echo/0/w/websocket")).await;
    assert_eq!(ws_text(&mut ws).await, "o");
    // A buffered response in the making is cut too.
    set(addr, &key, "stream=buffer").await;
    let buffered = tokio::spawn(send(addr, "GET", &format!("{url}2/eventsource"), &[], ""));
    tokio::time::sleep(Duration::from_millis(100)).await;
    post(addr, &format!("/chaos/{key}/restart"), "").await;
    // No close frames anywhere: the responses break off, the socket is cut.
    assert!(streaming.rest().await.is_err(), "streaming ended cleanly");
    assert!(poll.rest().await.is_err(), "poll ended cleanly");
    assert_eq!(ws_end(&mut ws).await, None);
    let broken = within("buffered", buffered).await;
    assert!(
        match broken {
            Err(_) => true,
            Ok(r) => r.rest().await.is_err(),
        },
        "the buffered response was delivered"
    );
    // The key works on.
    let mut ws = ws_connect(addr, &format!("/chaos/{key}/echo/0/w/websocket")).await;
    assert_eq!(ws_text(&mut ws).await, "o");
}

#[tokio::test]
async fn poll_cut_breaks_one_answer_in_n_after_the_server_handled_it() {
    let addr = app().await;
    let key = unique("pollcut");
    set(addr, &key, "poll=cut&cut_every=2").await;
    let url = format!("/chaos/{key}/echo/000/{}", unique("s"));
    // 1st answer: delivered.
    assert_eq!(
        post(addr, &format!("{url}/xhr"), "").await.text().await,
        "o\n"
    );
    // 2nd: the server takes the message, the answer breaks off.
    let sent = tokio::spawn(send(
        addr,
        "POST",
        &format!("{url}/xhr_send"),
        &[],
        r#"["a"]"#,
    ));
    let broken = match within("xhr_send", sent).await {
        Err(_) => true,
        Ok(r) => r.status != 204 || r.rest().await.is_err(),
    };
    assert!(broken, "the second answer arrived");
    // 3rd: delivered, with the echo of the message whose answer was lost.
    assert_eq!(
        post(addr, &format!("{url}/xhr"), "").await.text().await,
        "a[\"a\"]\n"
    );
    assert_eq!(state(addr, &key).await["polls_cut"], 1);
}

// ---------------------------------------------------------------------------------------------
// Control endpoints.

#[tokio::test]
async fn control_endpoints() {
    let addr = app().await;
    let key = unique("ctl");
    let s = state(addr, &key).await;
    assert_eq!(
        s,
        serde_json::json!({
            "key": key, "ws": "ok", "stream": "ok", "cors": "on", "kill_after": 200,
            "response_limit": 131072, "restarts": 0, "sessions": 0, "websockets": 0,
            "killed": 0, "poll": "ok", "cut_every": 4, "polls_cut": 0,
        })
    );
    // POST works like GET; changes accumulate.
    let r = post(addr, &format!("/chaos/{key}/set?ws=kill&kill_after=50"), "").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("cache-control"), Some("no-store, max-age=0"));
    let s = set(addr, &key, "stream=buffer").await;
    assert_eq!(
        (s["ws"].as_str(), s["kill_after"].as_u64()),
        (Some("kill"), Some(50))
    );
    assert_eq!(s["stream"], "buffer");
    // Anything invalid is refused and changes nothing.
    for bad in [
        "ws=maybe",
        "stream=ok&cors=sideways",
        "kill_after=-5",
        "kill_after=999999999",
        "response_limit=0",
        "websocket=off",
    ] {
        let r = get(addr, &format!("/chaos/{key}/set?{bad}")).await;
        assert_eq!(r.status, 400, "{bad}");
        assert!(r.text().await.contains("invalid") || bad.starts_with("websocket"));
    }
    assert_eq!(state(addr, &key).await["stream"], "buffer");
    for bad_key in ["a.b", "a%20b", &"k".repeat(65)] {
        assert_eq!(
            get(addr, &format!("/chaos/{bad_key}/state")).await.status,
            400
        );
    }
    // Any origin may call them, preflights included.
    let r = request(
        addr,
        "OPTIONS",
        &format!("/chaos/{key}/set"),
        &[
            ("origin", "http://page.test"),
            ("access-control-request-method", "POST"),
            ("access-control-request-headers", "x-test"),
        ],
        "",
    )
    .await;
    assert_eq!(r.status, 204);
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("http://page.test")
    );
    assert_eq!(r.header("access-control-allow-headers"), Some("x-test"));
    let r = get(addr, &format!("/chaos/{key}/state")).await;
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    // A new response limit takes a fresh endpoint.
    let url = format!("/chaos/{key}/echo/000/{}", unique("s"));
    assert_eq!(
        post(addr, &format!("{url}/xhr"), "").await.text().await,
        "o\n"
    );
    let s = set(addr, &key, "response_limit=8192").await;
    assert_eq!(
        (s["restarts"].as_u64(), s["sessions"].as_u64()),
        (Some(1), Some(0))
    );
    let s = set(addr, &key, "response_limit=8192").await;
    assert_eq!(s["restarts"], 1);
}
