//! The SockJS server against the essential cases of the sockjs-protocol 0.3.3 test suite (and
//! a few of our own), over real sockets on 127.0.0.1.
//!
//! Most tests use the demo endpoints of `cometkit_server::app` (`/sockjs/echo`, `/sockjs/close`,
//! ...); tests of timing build their own endpoint with short delays. Every wait is bounded.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use bytes::Bytes;
use cometkit_server::sockjs::{Options, Session, SessionHandle, SockJs};
use futures_util::{SinkExt, StreamExt};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::HeaderMap;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

/// Bound on every single wait.
const LIMIT: Duration = Duration::from_secs(10);
const NO_CACHE: &str = "no-store, no-cache, no-transform, must-revalidate, max-age=0";

async fn within<F: Future>(what: &str, f: F) -> F::Output {
    match tokio::time::timeout(LIMIT, f).await {
        Ok(v) => v,
        Err(_) => panic!("timed out: {what}"),
    }
}

/// A session id no other test uses.
fn sid() -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("s{}-{nanos}", N.fetch_add(1, Ordering::Relaxed))
}

async fn serve(router: Router) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    addr
}

/// The whole application, with the demo SockJS endpoints.
async fn demo() -> SocketAddr {
    serve(cometkit_server::app(None)).await
}

// ---------------------------------------------------------------------------------------------
// A small HTTP/1.1 client that can read a streaming body piece by piece.

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
    /// The connection; dropping the response drops it (the client "goes away").
    _conn: AbortOnDrop,
}

impl Resp {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    fn content_type(&self) -> String {
        self.header("content-type").unwrap_or("").replace(' ', "")
    }

    /// Pulls one more piece of body; `false` at the end of the body.
    async fn fill(&mut self) -> bool {
        loop {
            match within("body data", self.body.frame()).await {
                None => return false,
                Some(Err(e)) => panic!("body error: {e}"),
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        self.buf.extend_from_slice(&data);
                        return true;
                    }
                }
            }
        }
    }

    async fn read_exact(&mut self, n: usize) -> String {
        while self.buf.len() < n {
            assert!(
                self.fill().await,
                "body ended after {:?}",
                String::from_utf8_lossy(&self.buf)
            );
        }
        let rest = self.buf.split_off(n);
        let head = std::mem::replace(&mut self.buf, rest);
        String::from_utf8(head).expect("utf-8 body")
    }

    /// Reads exactly `expected.len()` bytes and compares.
    async fn expect(&mut self, expected: &str) {
        let got = self.read_exact(expected.len()).await;
        assert_eq!(got, expected);
    }

    async fn read_until(&mut self, delim: &str) -> String {
        loop {
            if let Some(i) = self
                .buf
                .windows(delim.len())
                .position(|w| w == delim.as_bytes())
            {
                return self.read_exact(i + delim.len()).await;
            }
            assert!(
                self.fill().await,
                "body ended before {delim:?}: {:?}",
                String::from_utf8_lossy(&self.buf)
            );
        }
    }

    /// Whether the body ends here (no more bytes).
    async fn ended(&mut self) -> bool {
        self.buf.is_empty() && !self.fill().await
    }

    async fn text(mut self) -> String {
        while self.fill().await {}
        String::from_utf8(std::mem::take(&mut self.buf)).expect("utf-8 body")
    }
}

async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Resp {
    let stream = within("connect", TcpStream::connect(addr))
        .await
        .expect("connect");
    let (mut send, conn) = within(
        "handshake",
        hyper::client::conn::http1::handshake(TokioIo::new(stream)),
    )
    .await
    .expect("handshake");
    let conn = AbortOnDrop(tokio::spawn(async move {
        let _ = conn.await;
    }));
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
    let res = within("response head", send.send_request(req))
        .await
        .expect("response");
    let (parts, body) = res.into_parts();
    Resp {
        status: parts.status.as_u16(),
        headers: parts.headers,
        body,
        buf: Vec::new(),
        _conn: conn,
    }
}

async fn get(addr: SocketAddr, path: &str) -> Resp {
    request(addr, "GET", path, &[], "").await
}

async fn post(addr: SocketAddr, path: &str, body: &str) -> Resp {
    request(addr, "POST", path, &[], body).await
}

async fn form(addr: SocketAddr, path: &str, body: &str) -> Resp {
    request(
        addr,
        "POST",
        path,
        &[("content-type", "application/x-www-form-urlencoded")],
        body,
    )
    .await
}

/// POSTs and returns (status, body).
async fn post_text(addr: SocketAddr, path: &str, body: &str) -> (u16, String) {
    let r = post(addr, path, body).await;
    (r.status, r.text().await)
}

fn assert_not_cached(r: &Resp) {
    assert_eq!(r.header("cache-control"), Some(NO_CACHE));
    assert_eq!(r.header("expires"), None);
    assert_eq!(r.header("last-modified"), None);
}

fn assert_cors(r: &Resp, origin: Option<&str>) {
    match origin {
        Some(origin) => {
            assert_eq!(r.header("access-control-allow-origin"), Some(origin));
            assert_eq!(r.header("access-control-allow-credentials"), Some("true"));
        }
        None => {
            assert_eq!(r.header("access-control-allow-origin"), Some("*"));
            assert_eq!(r.header("access-control-allow-credentials"), None);
        }
    }
}

/// A preflight answer: cacheable for long, methods allowed, CORS for the origin, no body.
async fn verify_options(addr: SocketAddr, path: &str, methods: &str) {
    for origin in ["test", "null"] {
        let r = request(
            addr,
            "OPTIONS",
            path,
            &[
                ("access-control-request-method", methods),
                ("origin", origin),
            ],
            "",
        )
        .await;
        assert!(r.status == 204 || r.status == 200, "{path}: {}", r.status);
        let cache = r.header("cache-control").unwrap_or("").to_owned();
        assert!(cache.contains("public"), "{cache}");
        let max_age: u64 = cache
            .split("max-age=")
            .nth(1)
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        assert!(max_age >= 1_000_000, "{cache}");
        assert!(r.header("expires").is_some_and(|e| e.ends_with(" GMT")));
        let acma: u64 = r
            .header("access-control-max-age")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        assert!(acma > 1_000_000);
        let allowed = r
            .header("access-control-allow-methods")
            .unwrap_or("")
            .to_owned();
        for m in methods.split(',') {
            assert!(allowed.contains(m.trim()), "{allowed} lacks {m}");
        }
        assert_cors(&r, Some(origin));
        assert_eq!(r.text().await, "");
    }
}

// ---------------------------------------------------------------------------------------------
// WebSocket client.

type Ws = WebSocketStream<TcpStream>;

async fn ws_connect(addr: SocketAddr, path: &str) -> Ws {
    let stream = within("connect", TcpStream::connect(addr))
        .await
        .expect("connect");
    let (ws, _) = within(
        "ws handshake",
        tokio_tungstenite::client_async(format!("ws://{addr}{path}"), stream),
    )
    .await
    .expect("ws handshake");
    ws
}

/// The next data or close message (`None`: the stream ended or failed).
async fn ws_next(ws: &mut Ws) -> Option<Message> {
    loop {
        match within("ws message", ws.next()).await {
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            Some(Ok(m)) => return Some(m),
            Some(Err(_)) | None => return None,
        }
    }
}

async fn ws_text(ws: &mut Ws) -> String {
    match ws_next(ws).await {
        Some(Message::Text(t)) => t.as_str().to_owned(),
        other => panic!("expected a text message, got {other:?}"),
    }
}

async fn ws_send(ws: &mut Ws, text: &str) {
    within("ws send", ws.send(Message::text(text)))
        .await
        .expect("ws send");
}

/// The socket closes without sending any further data message.
async fn ws_closes(ws: &mut Ws) -> Option<(u16, String)> {
    match ws_next(ws).await {
        Some(Message::Close(frame)) => {
            frame.map(|f| (u16::from(f.code), f.reason.as_str().to_owned()))
        }
        None => None,
        Some(other) => panic!("expected the socket to close, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// An endpoint whose sessions report to the test.

#[derive(Debug)]
enum Event {
    Open(SessionHandle),
    Message(String),
    End,
}

async fn observed(options: Options) -> (SocketAddr, mpsc::UnboundedReceiver<Event>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let endpoint = SockJs::new(options, move |mut session: Session| {
        let tx = tx.clone();
        async move {
            let _ = tx.send(Event::Open(session.handle()));
            while let Some(m) = session.recv().await {
                session.send(m.clone());
                let _ = tx.send(Event::Message(m));
            }
            let _ = tx.send(Event::End);
        }
    });
    (serve(endpoint.router("/t")).await, rx)
}

async fn event(rx: &mut mpsc::UnboundedReceiver<Event>) -> Event {
    within("session event", rx.recv())
        .await
        .expect("event channel open")
}

fn fast(heartbeat_ms: u64, disconnect_ms: u64) -> Options {
    Options {
        heartbeat_delay: Duration::from_millis(heartbeat_ms),
        disconnect_delay: Duration::from_millis(disconnect_ms),
        response_limit: 4096,
        ..Options::default()
    }
}

// ---------------------------------------------------------------------------------------------
// Static URLs.

#[tokio::test]
async fn greeting() {
    let addr = demo().await;
    for path in ["/sockjs/echo", "/sockjs/echo/"] {
        let r = get(addr, path).await;
        assert_eq!(r.status, 200);
        assert_eq!(r.content_type(), "text/plain;charset=UTF-8");
        assert_eq!(r.header("set-cookie"), None);
        assert_eq!(r.text().await, "Welcome to SockJS!\n");
    }
    for suffix in ["/a", "/a.html", "//", "///", "/a/a", "/a/a/", "/a/"] {
        assert_eq!(
            get(addr, &format!("/sockjs/echo{suffix}")).await.status,
            404,
            "{suffix}"
        );
    }
    let r = post(addr, "/sockjs/echo", "").await;
    assert_eq!(r.status, 405);
    assert_eq!(r.header("allow"), Some("GET"));
    assert_eq!(r.header("content-type"), None);
    assert_eq!(r.text().await, "");
}

#[tokio::test]
async fn iframe_page() {
    let addr = demo().await;
    let mut etag = String::new();
    for suffix in [
        "/iframe.html",
        "/iframe-a.html",
        "/iframe-.html",
        "/iframe-0.1.2.html",
        "/iframe-0.1.2abc-dirty.2144.html",
        "/iframe-a.html?t=1234",
    ] {
        let r = get(addr, &format!("/sockjs/echo{suffix}")).await;
        assert_eq!(r.status, 200, "{suffix}");
        assert_eq!(r.content_type(), "text/html;charset=UTF-8");
        let cache = r.header("cache-control").unwrap_or("");
        assert!(
            cache.contains("public") && cache.contains("max-age=31536000"),
            "{cache}"
        );
        assert!(r.header("expires").is_some());
        assert_eq!(r.header("last-modified"), None);
        assert_eq!(r.header("set-cookie"), None);
        etag = r.header("etag").expect("etag").to_owned();
        let body = r.text().await;
        assert!(
            body.starts_with("<!DOCTYPE html>\n<html>\n<head>\n"),
            "{body}"
        );
        assert!(body.contains("<script src=\"https://"));
        assert!(body.contains("    SockJS.bootstrap_iframe();\n"));
        assert!(body.ends_with("</body>\n</html>"));
    }
    let r = request(
        addr,
        "GET",
        "/sockjs/echo/iframe.html",
        &[("if-none-match", &etag)],
        "",
    )
    .await;
    assert_eq!(r.status, 304);
    assert_eq!(r.header("content-type"), None);
    assert_eq!(r.text().await, "");
    for suffix in [
        "/iframe.htm",
        "/iframe",
        "/IFRAME.HTML",
        "/IFRAME",
        "/iframe.HTML",
        "/iframe.xml",
        "/iframe-/.html",
    ] {
        assert_eq!(
            get(addr, &format!("/sockjs/echo{suffix}")).await.status,
            404,
            "{suffix}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// /info

#[tokio::test]
async fn info() {
    let addr = demo().await;
    let r = request(addr, "GET", "/sockjs/echo/info", &[("origin", "test")], "").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.content_type(), "application/json;charset=UTF-8");
    assert_eq!(r.header("set-cookie"), None);
    assert_not_cached(&r);
    assert_cors(&r, Some("test"));
    let data: serde_json::Value = serde_json::from_str(&r.text().await).expect("json");
    assert_eq!(data["websocket"], true);
    assert_eq!(data["cookie_needed"], false);
    assert_eq!(data["origins"], serde_json::json!(["*:*"]));
    assert!(data["entropy"]
        .as_u64()
        .is_some_and(|e| e <= u64::from(u32::MAX)));

    let wsoff: serde_json::Value = serde_json::from_str(
        &get(addr, "/sockjs/disabled_websocket_echo/info")
            .await
            .text()
            .await,
    )
    .expect("json");
    assert_eq!(wsoff["websocket"], false);

    let r = get(addr, "/sockjs/cookie_needed_echo/info").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("set-cookie"), None);
    let cookie: serde_json::Value = serde_json::from_str(&r.text().await).expect("json");
    assert_eq!(cookie["cookie_needed"], true);
}

#[tokio::test]
async fn info_entropy_varies() {
    let addr = demo().await;
    let mut seen = std::collections::HashSet::new();
    for _ in 0..5 {
        let data: serde_json::Value =
            serde_json::from_str(&get(addr, "/sockjs/echo/info").await.text().await).expect("json");
        seen.insert(data["entropy"].as_u64().expect("entropy is an integer"));
    }
    // Five draws of 32 bits: a repeat would mean the source is not random.
    assert_eq!(seen.len(), 5);
}

#[tokio::test]
async fn info_options() {
    let addr = demo().await;
    verify_options(addr, "/sockjs/echo/info", "OPTIONS, GET").await;
    // A file:// page sends Origin "null": echo it.
    let r = request(
        addr,
        "OPTIONS",
        "/sockjs/echo/info",
        &[
            ("origin", "null"),
            ("access-control-request-method", "POST"),
        ],
        "",
    )
    .await;
    assert_eq!(r.status, 204);
    assert_eq!(r.header("access-control-allow-origin"), Some("null"));
    assert_eq!(r.text().await, "");
}

// ---------------------------------------------------------------------------------------------
// Session URLs and the protocol over XHR polling.

#[tokio::test]
async fn session_urls() {
    let addr = demo().await;
    let r = sid();
    for part in [
        format!("/a/a{r}"),
        format!("/_/_{r}"),
        format!("/1/{r}"),
        format!("/abcdefgh_i-j%20/abcdefg_i-j%20{r}"),
    ] {
        assert_eq!(
            post_text(addr, &format!("/sockjs/echo{part}/xhr"), "").await,
            (200, "o\n".into()),
            "{part}"
        );
    }
    for suffix in ["//", "/a./a", "/a/a.", "/./.", "/", "///"] {
        let path = format!("/sockjs/echo{suffix}/xhr");
        assert_eq!(get(addr, &path).await.status, 404, "GET {path}");
        assert_eq!(post(addr, &path, "").await.status, 404, "POST {path}");
    }
}

#[tokio::test]
async fn server_id_is_ignored() {
    let addr = demo().await;
    let s = sid();
    assert_eq!(
        post_text(addr, &format!("/sockjs/echo/000/{s}/xhr"), "").await,
        (200, "o\n".into())
    );
    assert_eq!(
        post_text(addr, &format!("/sockjs/echo/000/{s}/xhr_send"), r#"["a"]"#).await,
        (204, String::new())
    );
    assert_eq!(
        post_text(addr, &format!("/sockjs/echo/999/{s}/xhr"), "").await,
        (200, "a[\"a\"]\n".into())
    );
}

#[tokio::test]
async fn simple_session_and_second_receiver() {
    let addr = demo().await;
    let url = format!("/sockjs/echo/000/{}", sid());
    assert_eq!(
        post_text(addr, &format!("{url}/xhr"), "").await,
        (200, "o\n".into())
    );
    assert_eq!(
        post_text(addr, &format!("{url}/xhr_send"), r#"["a"]"#).await,
        (204, String::new())
    );
    assert_eq!(
        post_text(addr, &format!("{url}/xhr"), "").await,
        (200, "a[\"a\"]\n".into())
    );
    assert_eq!(
        post(addr, "/sockjs/echo/000/bad_session/xhr_send", r#"["a"]"#)
            .await
            .status,
        404
    );

    // A poll is waiting (its headers are out, its body pending): a second one is refused.
    let mut first = post(addr, &format!("{url}/xhr"), "").await;
    assert_eq!(first.status, 200);
    assert_eq!(
        post_text(addr, &format!("{url}/xhr"), "").await,
        (200, "c[2010,\"Another connection still open\"]\n".into())
    );
    // The first poll still works.
    assert_eq!(
        post_text(addr, &format!("{url}/xhr_send"), r#"["b"]"#)
            .await
            .0,
        204
    );
    first.expect("a[\"b\"]\n").await;
    assert!(first.ended().await);
}

#[tokio::test]
async fn close_frame_is_repeated() {
    let addr = demo().await;
    let url = format!("/sockjs/close/000/{}", sid());
    assert_eq!(
        post_text(addr, &format!("{url}/xhr"), "").await,
        (200, "o\n".into())
    );
    for _ in 0..2 {
        assert_eq!(
            post_text(addr, &format!("{url}/xhr"), "").await,
            (200, "c[3000,\"Go away!\"]\n".into())
        );
    }
}

#[tokio::test]
async fn xhr_headers() {
    let addr = demo().await;
    let url = format!("/sockjs/echo/000/{}", sid());
    let r = request(
        addr,
        "POST",
        &format!("{url}/xhr"),
        &[("origin", "test")],
        "",
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.content_type(), "application/javascript;charset=UTF-8");
    assert_cors(&r, Some("test"));
    assert_not_cached(&r);
    assert_eq!(r.text().await, "o\n");

    let r = request(
        addr,
        "POST",
        &format!("{url}/xhr_send"),
        &[("origin", "test")],
        r#"["x"]"#,
    )
    .await;
    assert_eq!(r.status, 204);
    assert_eq!(r.content_type(), "text/plain;charset=UTF-8");
    assert_cors(&r, Some("test"));
    assert_not_cached(&r);
    assert_eq!(r.text().await, "");
    assert_eq!(
        post_text(addr, &format!("{url}/xhr"), "").await,
        (200, "a[\"x\"]\n".into())
    );

    // Without an Origin: `*`, and no credentials.
    let r = post(addr, &format!("{url}/xhr_send"), "[]").await;
    assert_cors(&r, None);
    // Errors carry CORS headers too, so a cross-origin page can read them.
    let r = request(
        addr,
        "POST",
        "/sockjs/echo/000/nobody/xhr_send",
        &[("origin", "http://x.test")],
        "[]",
    )
    .await;
    assert_eq!(r.status, 404);
    assert_cors(&r, Some("http://x.test"));
    // Wrong method.
    let r = get(addr, &format!("{url}/xhr")).await;
    assert_eq!(r.status, 405);
    assert_eq!(r.header("allow"), Some("OPTIONS, POST"));
}

#[tokio::test]
async fn xhr_send_errors() {
    let addr = demo().await;
    let url = format!("/sockjs/echo/000/{}", sid());
    // Unknown session.
    assert_eq!(
        post(addr, &format!("{url}/xhr_send"), r#"["x"]"#)
            .await
            .status,
        404
    );
    assert_eq!(
        post_text(addr, &format!("{url}/xhr"), "").await,
        (200, "o\n".into())
    );
    let (status, body) = post_text(addr, &format!("{url}/xhr_send"), r#"["x"#).await;
    assert_eq!(status, 500);
    assert!(body.contains("Broken JSON encoding."), "{body}");
    for payload in ["", r#"{"a":1}"#, "[1]", r#""x""#] {
        let (status, body) = post_text(addr, &format!("{url}/xhr_send"), payload).await;
        assert_eq!(status, 500, "{payload}");
        assert!(body.contains("Payload expected."), "{payload}: {body}");
    }
    assert_eq!(
        post_text(addr, &format!("{url}/xhr_send"), r#"["a"]"#).await,
        (204, String::new())
    );
    assert_eq!(
        post_text(addr, &format!("{url}/xhr"), "").await,
        (200, "a[\"a\"]\n".into())
    );
}

#[tokio::test]
async fn xhr_send_content_types_are_batched() {
    let addr = demo().await;
    let url = format!("/sockjs/echo/000/{}", sid());
    assert_eq!(post_text(addr, &format!("{url}/xhr"), "").await.1, "o\n");
    let types = [
        "text/plain",
        "T",
        "application/json",
        "application/xml",
        "",
        "application/json; charset=utf-8",
        "text/xml; charset=utf-8",
        "text/xml",
    ];
    for ct in types {
        let r = request(
            addr,
            "POST",
            &format!("{url}/xhr_send"),
            &[("content-type", ct)],
            r#"["a"]"#,
        )
        .await;
        assert_eq!(r.status, 204, "{ct}");
        assert_eq!(r.text().await, "");
    }
    let expected = format!("a[{}]\n", vec![r#""a""#; types.len()].join(","));
    assert_eq!(
        post_text(addr, &format!("{url}/xhr"), "").await,
        (200, expected)
    );
}

#[tokio::test]
async fn empty_frames_are_accepted() {
    let addr = demo().await;
    let url = format!("/sockjs/echo/000/{}", sid());
    assert_eq!(post_text(addr, &format!("{url}/xhr"), "").await.1, "o\n");
    assert_eq!(
        post(addr, &format!("{url}/xhr_send"), "[]").await.status,
        204
    );
    assert_eq!(
        post(addr, &format!("{url}/xhr_send"), r#"["a"]"#)
            .await
            .status,
        204
    );
    assert_eq!(
        post_text(addr, &format!("{url}/xhr"), "").await,
        (200, "a[\"a\"]\n".into())
    );
}

#[tokio::test]
async fn transport_preflights() {
    let addr = demo().await;
    for suffix in ["xhr", "xhr_send", "xhr_streaming", "jsonp_send"] {
        verify_options(
            addr,
            &format!("/sockjs/echo/abc/abc/{suffix}"),
            "OPTIONS, POST",
        )
        .await;
    }
    for suffix in ["eventsource", "jsonp", "htmlfile"] {
        verify_options(
            addr,
            &format!("/sockjs/echo/abc/abc/{suffix}"),
            "OPTIONS, GET",
        )
        .await;
    }
    // Requested headers are echoed, and only when there are some.
    let url = format!("/sockjs/echo/000/{}/xhr", sid());
    let pre = |h: Option<&'static str>| {
        let url = url.clone();
        async move {
            let mut headers = vec![
                ("origin", "test"),
                ("access-control-request-method", "POST"),
            ];
            if let Some(h) = h {
                headers.push(("access-control-request-headers", h));
            }
            request(addr, "OPTIONS", &url, &headers, "").await
        }
    };
    let r = pre(Some("a, b, c")).await;
    assert_cors(&r, Some("test"));
    assert_eq!(r.header("access-control-allow-headers"), Some("a, b, c"));
    for h in [Some(""), None] {
        let r = pre(h).await;
        assert!(r.status == 204 || r.status == 200);
        assert_cors(&r, Some("test"));
        assert_eq!(r.header("access-control-allow-headers"), None);
    }
    // Preflights do not open sessions.
    assert_eq!(
        post(addr, &url.replace("/xhr", "/xhr_send"), "[]")
            .await
            .status,
        404
    );
}

// ---------------------------------------------------------------------------------------------
// Streaming transports.

#[tokio::test]
async fn xhr_streaming() {
    let addr = demo().await;
    let url = format!("/sockjs/echo/000/{}", sid());
    let mut r = request(
        addr,
        "POST",
        &format!("{url}/xhr_streaming"),
        &[("origin", "test")],
        "",
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.content_type(), "application/javascript;charset=UTF-8");
    assert_cors(&r, Some("test"));
    assert_not_cached(&r);
    assert_eq!(r.header("content-length"), None);
    r.expect(&format!("{}\n", "h".repeat(2048))).await;
    r.expect("o\n").await;
    assert_eq!(
        post_text(addr, &format!("{url}/xhr_send"), r#"["x"]"#).await,
        (204, String::new())
    );
    r.expect("a[\"x\"]\n").await;
}

#[tokio::test]
async fn xhr_streaming_response_limit_and_reconnect() {
    let addr = demo().await;
    let url = format!("/sockjs/echo/000/{}", sid());
    let mut r = post(addr, &format!("{url}/xhr_streaming"), "").await;
    assert_eq!(r.status, 200);
    r.read_exact(2049).await;
    r.expect("o\n").await;
    // The demo endpoints end a streaming response after 4096 bytes of frames.
    let msg = format!("\"{}\"", "x".repeat(128));
    for _ in 0..31 {
        assert_eq!(
            post(addr, &format!("{url}/xhr_send"), &format!("[{msg}]"))
                .await
                .status,
            204
        );
        r.expect(&format!("a[{msg}]\n")).await;
    }
    assert!(r.ended().await, "the response ends after the limit");
    // The session goes on in a new request, without a second `o`.
    assert_eq!(
        post(addr, &format!("{url}/xhr_send"), r#"["next"]"#)
            .await
            .status,
        204
    );
    let mut r = post(addr, &format!("{url}/xhr_streaming"), "").await;
    r.read_exact(2049).await;
    r.expect("a[\"next\"]\n").await;
}

#[tokio::test]
async fn eventsource() {
    let addr = demo().await;
    let url = format!("/sockjs/echo/000/{}", sid());
    let mut r = get(addr, &format!("{url}/eventsource")).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.content_type(), "text/event-stream");
    assert_not_cached(&r);
    r.expect("\r\n").await;
    r.expect("data: o\r\n\r\n").await;
    assert_eq!(
        post_text(addr, &format!("{url}/xhr_send"), r#"["x"]"#).await,
        (204, String::new())
    );
    r.expect("data: a[\"x\"]\r\n\r\n").await;
    // Control characters arrive JSON-escaped, never raw in the event stream.
    assert_eq!(
        post(addr, &format!("{url}/xhr_send"), r#"["  \u0000\n\r "]"#)
            .await
            .status,
        204
    );
    r.expect("data: a[\"  \\u0000\\n\\r \"]\r\n\r\n").await;
    // sockjs-client `decodeURI`s event data, so `%` is sent as `%25`.
    assert_eq!(
        post(addr, &format!("{url}/xhr_send"), r#"["100%"]"#)
            .await
            .status,
        204
    );
    r.expect("data: a[\"100%25\"]\r\n\r\n").await;
}

#[tokio::test]
async fn eventsource_response_limit() {
    let addr = demo().await;
    let url = format!("/sockjs/echo/000/{}", sid());
    let mut r = get(addr, &format!("{url}/eventsource")).await;
    r.expect("\r\n").await;
    r.expect("data: o\r\n\r\n").await;
    let msg = format!("\"{}\"", "x".repeat(4096));
    assert_eq!(
        post(addr, &format!("{url}/xhr_send"), &format!("[{msg}]"))
            .await
            .status,
        204
    );
    r.expect(&format!("data: a[{msg}]\r\n\r\n")).await;
    assert!(r.ended().await);
}

#[tokio::test]
async fn htmlfile() {
    let addr = demo().await;
    let url = format!("/sockjs/echo/000/{}", sid());
    let mut r = get(addr, &format!("{url}/htmlfile?c=%63allback")).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.content_type(), "text/html;charset=UTF-8");
    assert_not_cached(&r);
    let head = r.read_until("\r\n\r\n").await;
    assert!(head.len() > 1024);
    assert!(head.starts_with("<!doctype html>\n<html><head>\n"));
    assert!(head.contains("    var c = parent.callback;\n    c.start();\n"));
    r.expect("<script>\np(\"o\");\n</script>\r\n").await;
    assert_eq!(
        post(addr, &format!("{url}/xhr_send"), r#"["x"]"#)
            .await
            .status,
        204
    );
    r.expect("<script>\np(\"a[\\\"x\\\"]\");\n</script>\r\n")
        .await;
    // A message cannot close the script element.
    assert_eq!(
        post(addr, &format!("{url}/xhr_send"), r#"["</script>"]"#)
            .await
            .status,
        204
    );
    r.expect("<script>\np(\"a[\\\"\\u003c/script\\u003e\\\"]\");\n</script>\r\n")
        .await;

    let r = get(addr, "/sockjs/echo/a/a/htmlfile").await;
    assert_eq!(r.status, 500);
    assert!(r.text().await.contains("\"callback\" parameter required"));
    for cb in ["%20", "*", "abc(", "abc%28"] {
        let r = get(addr, &format!("/sockjs/echo/a/a/htmlfile?c={cb}")).await;
        assert_eq!(r.status, 500, "{cb}");
        assert!(r.text().await.contains("invalid \"callback\" parameter"));
    }
}

#[tokio::test]
async fn htmlfile_response_limit() {
    let addr = demo().await;
    let url = format!("/sockjs/echo/000/{}", sid());
    let mut r = get(addr, &format!("{url}/htmlfile?c=callback")).await;
    r.read_until("\r\n\r\n").await;
    r.expect("<script>\np(\"o\");\n</script>\r\n").await;
    let msg = "x".repeat(4096);
    assert_eq!(
        post(addr, &format!("{url}/xhr_send"), &format!("[\"{msg}\"]"))
            .await
            .status,
        204
    );
    r.expect(&format!(
        "<script>\np(\"a[\\\"{msg}\\\"]\");\n</script>\r\n"
    ))
    .await;
    assert!(r.ended().await);
}

// ---------------------------------------------------------------------------------------------
// JSONP polling.

#[tokio::test]
async fn jsonp() {
    let addr = demo().await;
    let url = format!("/sockjs/echo/000/{}", sid());
    let r = get(addr, &format!("{url}/jsonp?c=%63allback")).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.content_type(), "application/javascript;charset=UTF-8");
    assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
    assert_not_cached(&r);
    assert_eq!(r.text().await, "/**/callback(\"o\");\r\n");

    let r = form(addr, &format!("{url}/jsonp_send"), "d=%5B%22x%22%5D").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.content_type(), "text/plain;charset=UTF-8");
    assert_not_cached(&r);
    assert_eq!(r.text().await, "ok");

    let r = get(addr, &format!("{url}/jsonp?callback=callback")).await;
    assert_eq!(r.text().await, "/**/callback(\"a[\\\"x\\\"]\");\r\n");
}

#[tokio::test]
async fn jsonp_callback_validation() {
    let addr = demo().await;
    let r = get(addr, "/sockjs/echo/a/a/jsonp").await;
    assert_eq!(r.status, 500);
    assert!(r.text().await.contains("\"callback\" parameter required"));
    for cb in ["%20", "*", "abc(", "abc%28", "a%0A", &"a".repeat(33)] {
        let r = get(addr, &format!("/sockjs/echo/a/a/jsonp?c={cb}")).await;
        assert_eq!(r.status, 500, "{cb}");
        assert!(
            r.text().await.contains("invalid \"callback\" parameter"),
            "{cb}"
        );
    }
}

#[tokio::test]
async fn jsonp_send_errors() {
    let addr = demo().await;
    let url = format!("/sockjs/echo/000/{}", sid());
    assert_eq!(
        get(addr, &format!("{url}/jsonp?c=x")).await.text().await,
        "/**/x(\"o\");\r\n"
    );
    let r = form(addr, &format!("{url}/jsonp_send"), "d=%5B%22x").await;
    assert_eq!(r.status, 500);
    assert!(r.text().await.contains("Broken JSON encoding."));
    for data in ["", "d=", "p=p"] {
        let r = form(addr, &format!("{url}/jsonp_send"), data).await;
        assert_eq!(r.status, 500, "{data:?}");
        assert!(r.text().await.contains("Payload expected."), "{data:?}");
    }
    assert_eq!(
        form(addr, &format!("{url}/jsonp_send"), "d=%5B%22b%22%5D")
            .await
            .text()
            .await,
        "ok"
    );
    assert_eq!(
        get(addr, &format!("{url}/jsonp?c=x")).await.text().await,
        "/**/x(\"a[\\\"b\\\"]\");\r\n"
    );
    // Unknown session.
    assert_eq!(
        form(addr, "/sockjs/echo/000/nobody/jsonp_send", "d=%5B%5D")
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn jsonp_send_encodings_and_empty_frames() {
    let addr = demo().await;
    let url = format!("/sockjs/echo/000/{}", sid());
    assert_eq!(
        get(addr, &format!("{url}/jsonp?c=x")).await.text().await,
        "/**/x(\"o\");\r\n"
    );
    assert_eq!(
        form(addr, &format!("{url}/jsonp_send"), "d=%5B%5D")
            .await
            .text()
            .await,
        "ok"
    );
    assert_eq!(
        form(addr, &format!("{url}/jsonp_send"), "d=%5B%22abc%22%5D")
            .await
            .text()
            .await,
        "ok"
    );
    let r = request(
        addr,
        "POST",
        &format!("{url}/jsonp_send"),
        &[("content-type", "text/plain")],
        r#"["%61bc"]"#,
    )
    .await;
    assert_eq!(r.text().await, "ok");
    assert_eq!(
        get(addr, &format!("{url}/jsonp?c=x")).await.text().await,
        "/**/x(\"a[\\\"abc\\\",\\\"%61bc\\\"]\");\r\n"
    );
}

#[tokio::test]
async fn jsonp_close() {
    let addr = demo().await;
    let url = format!("/sockjs/close/000/{}", sid());
    assert_eq!(
        get(addr, &format!("{url}/jsonp?c=x")).await.text().await,
        "/**/x(\"o\");\r\n"
    );
    for _ in 0..2 {
        assert_eq!(
            get(addr, &format!("{url}/jsonp?c=x")).await.text().await,
            "/**/x(\"c[3000,\\\"Go away!\\\"]\");\r\n"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// WebSocket.

#[tokio::test]
async fn websocket_framed() {
    let addr = demo().await;
    let mut ws = ws_connect(addr, &format!("/sockjs/echo/000/{}/websocket", sid())).await;
    assert_eq!(ws_text(&mut ws).await, "o");
    ws_send(&mut ws, r#"["a"]"#).await;
    assert_eq!(ws_text(&mut ws).await, r#"a["a"]"#);
    // Empty messages and empty arrays are ignored; a lone JSON string is one message.
    ws_send(&mut ws, "").await;
    ws_send(&mut ws, "[]").await;
    ws_send(&mut ws, r#""b""#).await;
    assert_eq!(ws_text(&mut ws).await, r#"a["b"]"#);
    ws_send(&mut ws, r#"["c","d"]"#).await;
    let mut got = Vec::new();
    while got.len() < 2 {
        let frame = ws_text(&mut ws).await;
        let body = frame.strip_prefix('a').expect("a message frame");
        got.extend(serde_json::from_str::<Vec<String>>(body).expect("json"));
    }
    assert_eq!(got, ["c", "d"]);
}

#[tokio::test]
async fn websocket_close() {
    let addr = demo().await;
    let mut ws = ws_connect(addr, &format!("/sockjs/close/000/{}/websocket", sid())).await;
    assert_eq!(ws_text(&mut ws).await, "o");
    assert_eq!(ws_text(&mut ws).await, r#"c[3000,"Go away!"]"#);
    assert_eq!(
        ws_closes(&mut ws).await,
        Some((1000, "Normal closure".into()))
    );
}

#[tokio::test]
async fn websocket_broken_json_closes() {
    let addr = demo().await;
    let mut ws = ws_connect(addr, &format!("/sockjs/echo/000/{}/websocket", sid())).await;
    assert_eq!(ws_text(&mut ws).await, "o");
    ws_send(&mut ws, r#"["a"#).await;
    assert_eq!(
        ws_closes(&mut ws).await,
        Some((3000, "Broken framing.".into()))
    );
}

#[tokio::test]
async fn websocket_sessions_may_share_an_id() {
    let addr = demo().await;
    let path = format!("/sockjs/echo/000/{}/websocket", sid());
    let mut ws1 = ws_connect(addr, &path).await;
    assert_eq!(ws_text(&mut ws1).await, "o");
    let mut ws2 = ws_connect(addr, &path).await;
    assert_eq!(ws_text(&mut ws2).await, "o");
    ws_send(&mut ws1, r#"["a"]"#).await;
    assert_eq!(ws_text(&mut ws1).await, r#"a["a"]"#);
    ws_send(&mut ws2, r#"["b"]"#).await;
    assert_eq!(ws_text(&mut ws2).await, r#"a["b"]"#);
    within("close", ws1.close(None)).await.ok();
    within("close", ws2.close(None)).await.ok();
    let mut ws = ws_connect(addr, &path).await;
    assert_eq!(ws_text(&mut ws).await, "o");
    ws_send(&mut ws, r#"["c"]"#).await;
    assert_eq!(ws_text(&mut ws).await, r#"a["c"]"#);
}

#[tokio::test]
async fn websocket_http_errors() {
    let addr = demo().await;
    assert_eq!(get(addr, "/sockjs/echo/0/0/websocket").await.status, 400);
    let r = request(
        addr,
        "GET",
        "/sockjs/echo/0/0/websocket",
        &[("upgrade", "WebSocket"), ("connection", "close")],
        "",
    )
    .await;
    assert_eq!(r.status, 400);
    assert!(r.text().await.contains("Not a valid websocket request"));
    for headers in [
        &[("upgrade", "WebSocket"), ("connection", "Upgrade")][..],
        &[],
    ] {
        let r = request(addr, "POST", "/sockjs/echo/0/0/websocket", headers, "").await;
        assert_eq!(r.status, 405);
        assert_eq!(r.header("allow"), Some("GET"));
        assert_eq!(r.header("content-type"), None);
        assert_eq!(r.text().await, "");
    }
    // Switched off: not there at all.
    assert_eq!(
        get(addr, "/sockjs/disabled_websocket_echo/0/0/websocket")
            .await
            .status,
        404
    );
    assert_eq!(
        get(addr, "/sockjs/disabled_websocket_echo/websocket")
            .await
            .status,
        404
    );
    // The other transports of that endpoint work.
    assert_eq!(
        post_text(
            addr,
            &format!("/sockjs/disabled_websocket_echo/0/{}/xhr", sid()),
            ""
        )
        .await
        .1,
        "o\n"
    );
}

#[tokio::test]
async fn raw_websocket() {
    let addr = demo().await;
    let mut ws = ws_connect(addr, "/sockjs/echo/websocket").await;
    ws_send(&mut ws, "Hello world!\u{ffff}").await;
    assert_eq!(ws_text(&mut ws).await, "Hello world!\u{ffff}");
    // Not SockJS frames: sent and received as they are.
    ws_send(&mut ws, r#"["a"#).await;
    assert_eq!(ws_text(&mut ws).await, r#"["a"#);

    let mut ws = ws_connect(addr, "/sockjs/close/websocket").await;
    assert_eq!(ws_closes(&mut ws).await, Some((3000, "Go away!".into())));
}

// ---------------------------------------------------------------------------------------------
// JSON encoding.

#[tokio::test]
async fn server_escapes_what_clients_mangle() {
    let addr = demo().await;
    let url = format!("/sockjs/echo/000/{}", sid());
    assert_eq!(post_text(addr, &format!("{url}/xhr"), "").await.1, "o\n");
    let escapable =
        |c: u32| matches!(c, 0x200c..=0x200f | 0x2028..=0x202f | 0x2060..=0x206f | 0xfff0..=0xffff);
    let chars: Vec<char> = (255u32..65536)
        .filter(|&c| escapable(c))
        .filter_map(char::from_u32)
        .collect();
    let raw: String = chars.iter().collect();
    let escaped: String = chars
        .iter()
        .map(|&c| format!("\\u{:04x}", c as u32))
        .collect();
    assert_eq!(
        post(addr, &format!("{url}/xhr_send"), &format!("[\"{raw}\"]"))
            .await
            .status,
        204
    );
    let (status, body) = post_text(addr, &format!("{url}/xhr"), "").await;
    assert_eq!(status, 200);
    assert_eq!(body, format!("a[\"{escaped}\"]\n"));
}

#[tokio::test]
async fn server_decodes_what_clients_escape() {
    let addr = demo().await;
    let url = format!("/sockjs/echo/000/{}", sid());
    assert_eq!(post_text(addr, &format!("{url}/xhr"), "").await.1, "o\n");
    // sockjs-client escapes these (a sample of its list) as \uXXXX, plus an astral pair.
    let units: Vec<u32> = (0x00..=0x1f)
        .chain(0x7f..=0x9f)
        .chain([
            0xad, 0x22, 0x5c, 0x0600, 0x0604, 0x070f, 0x17b4, 0x17b5, 0xfeff,
        ])
        .chain(0x2000..=0x20ff)
        .chain(0xfff0..=0xffff)
        .chain(0x0300..=0x0333)
        .chain(0xf900..=0xfa0d)
        .collect();
    let mut escaped: String = units.iter().map(|u| format!("\\u{u:04x}")).collect();
    escaped.push_str("\\ud83d\\ude00");
    let expected: String = units
        .iter()
        .filter_map(|&u| char::from_u32(u))
        .chain(std::iter::once('\u{1f600}'))
        .collect();
    assert_eq!(
        post(
            addr,
            &format!("{url}/xhr_send"),
            &format!("[\"{escaped}\"]")
        )
        .await
        .status,
        204
    );
    let body = post_text(addr, &format!("{url}/xhr"), "").await.1;
    let array = body.trim_end().strip_prefix('a').expect("a message frame");
    assert_eq!(
        serde_json::from_str::<Vec<String>>(array).expect("json"),
        vec![expected]
    );
}

// ---------------------------------------------------------------------------------------------
// Heartbeats, timeouts, interrupted requests.

#[tokio::test]
async fn heartbeats() {
    let (addr, _events) = observed(fast(100, 5_000)).await;
    let url = format!("/t/000/{}", sid());
    assert_eq!(post_text(addr, &format!("{url}/xhr"), "").await.1, "o\n");
    // An idle poll is answered with a heartbeat.
    assert_eq!(
        post_text(addr, &format!("{url}/xhr"), "").await,
        (200, "h\n".into())
    );

    let url = format!("/t/000/{}", sid());
    let mut r = post(addr, &format!("{url}/xhr_streaming"), "").await;
    r.read_exact(2049).await;
    r.expect("o\n").await;
    r.expect("h\n").await;
    r.expect("h\n").await;

    let mut es = get(addr, &format!("/t/000/{}/eventsource", sid())).await;
    es.expect("\r\ndata: o\r\n\r\n").await;
    es.expect("data: h\r\n\r\n").await;

    let mut ws = ws_connect(addr, &format!("/t/000/{}/websocket", sid())).await;
    assert_eq!(ws_text(&mut ws).await, "o");
    assert_eq!(ws_text(&mut ws).await, "h");
}

#[tokio::test]
async fn session_times_out_without_receiver() {
    let (addr, mut events) = observed(fast(25_000, 200)).await;
    let url = format!("/t/000/{}", sid());
    assert_eq!(post_text(addr, &format!("{url}/xhr"), "").await.1, "o\n");
    assert!(matches!(event(&mut events).await, Event::Open(_)));
    // Nobody polls: the application's stream ends, and the session is forgotten.
    assert!(matches!(event(&mut events).await, Event::End));
    assert_eq!(
        post(addr, &format!("{url}/xhr_send"), r#"["x"]"#)
            .await
            .status,
        404
    );
    // The same id starts a new session.
    assert_eq!(post_text(addr, &format!("{url}/xhr"), "").await.1, "o\n");
    assert!(matches!(event(&mut events).await, Event::Open(_)));
}

#[tokio::test]
async fn session_survives_while_a_request_receives() {
    let (addr, mut events) = observed(fast(25_000, 100)).await;
    let url = format!("/t/000/{}", sid());
    assert_eq!(post_text(addr, &format!("{url}/xhr"), "").await.1, "o\n");
    let mut poll = post(addr, &format!("{url}/xhr"), "").await;
    // Several disconnect delays pass while the poll waits.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        post(addr, &format!("{url}/xhr_send"), r#"["still here"]"#)
            .await
            .status,
        204
    );
    poll.expect("a[\"still here\"]\n").await;
    assert!(matches!(event(&mut events).await, Event::Open(_)));
    assert!(matches!(event(&mut events).await, Event::Message(m) if m == "still here"));
}

/// Polls `path` until the server has noticed the previous receiver is gone (it answers 2010
/// until then), returning the first other answer.
async fn after_abort(addr: SocketAddr, path: &str, streaming: bool) -> String {
    for _ in 0..200 {
        let mut r = post(addr, path, "").await;
        if streaming {
            r.read_exact(2049).await;
        }
        let frame = r.read_until("\n").await;
        if frame != "c[2010,\"Another connection still open\"]\n" {
            return frame;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("the server never noticed the aborted request");
}

#[tokio::test]
async fn aborted_streaming_request_interrupts_the_session() {
    let (addr, mut events) = observed(fast(25_000, 5_000)).await;
    let url = format!("/t/000/{}", sid());
    let mut r1 = post(addr, &format!("{url}/xhr_streaming"), "").await;
    r1.read_exact(2049).await;
    r1.expect("o\n").await;
    assert!(matches!(event(&mut events).await, Event::Open(_)));
    let mut r2 = post(addr, &format!("{url}/xhr_streaming"), "").await;
    r2.read_exact(2049).await;
    r2.expect("c[2010,\"Another connection still open\"]\n")
        .await;
    assert!(r2.ended().await);
    drop(r1);
    assert_eq!(
        after_abort(addr, &format!("{url}/xhr_streaming"), true).await,
        "c[1002,\"Connection interrupted\"]\n"
    );
    assert!(matches!(event(&mut events).await, Event::End));
}

#[tokio::test]
async fn aborted_poll_interrupts_the_session() {
    let addr = demo().await;
    let url = format!("/sockjs/echo/000/{}", sid());
    assert_eq!(post_text(addr, &format!("{url}/xhr"), "").await.1, "o\n");
    let r1 = post(addr, &format!("{url}/xhr"), "").await;
    assert_eq!(
        post_text(addr, &format!("{url}/xhr"), "").await.1,
        "c[2010,\"Another connection still open\"]\n"
    );
    drop(r1);
    let next = after_abort(addr, &format!("{url}/xhr"), false).await;
    assert_eq!(next, "c[1002,\"Connection interrupted\"]\n");
    // The interrupted session takes no more messages, and says so: a 204 here would let the
    // client count them delivered while the application never sees them.
    assert_eq!(
        post(addr, &format!("{url}/xhr_send"), r#"["late"]"#)
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn close_frames_end_streaming_responses() {
    let addr = demo().await;
    let url = format!("/sockjs/close/000/{}", sid());
    let mut r1 = post(addr, &format!("{url}/xhr_streaming"), "").await;
    r1.read_exact(2049).await;
    r1.expect("o\n").await;
    r1.expect("c[3000,\"Go away!\"]\n").await;
    assert!(r1.ended().await);
    let mut r2 = post(addr, &format!("{url}/xhr_streaming"), "").await;
    r2.read_exact(2049).await;
    r2.expect("c[3000,\"Go away!\"]\n").await;
    assert!(r2.ended().await);
}

// ---------------------------------------------------------------------------------------------
// JSESSIONID.

#[tokio::test]
async fn jsessionid_cookie() {
    let addr = demo().await;
    let base = "/sockjs/cookie_needed_echo/000";
    let cookie = |r: &Resp| r.header("set-cookie").map(str::to_owned);
    let url = format!("{base}/{}", sid());
    let r = post(addr, &format!("{url}/xhr"), "").await;
    assert_eq!(cookie(&r).as_deref(), Some("JSESSIONID=dummy; path=/"));
    assert_eq!(r.text().await, "o\n");
    // The client's cookie is echoed back.
    let r = request(
        addr,
        "POST",
        &format!("{base}/{}/xhr", sid()),
        &[("cookie", "JSESSIONID=abcdef")],
        "",
    )
    .await;
    assert_eq!(cookie(&r).as_deref(), Some("JSESSIONID=abcdef; path=/"));
    assert_eq!(r.text().await, "o\n");

    for (method, suffix) in [
        ("POST", "xhr_streaming"),
        ("GET", "eventsource"),
        ("GET", "htmlfile?c=cb"),
        ("GET", "jsonp?c=cb"),
    ] {
        let r = request(addr, method, &format!("{base}/{}/{suffix}", sid()), &[], "").await;
        assert_eq!(r.status, 200, "{suffix}");
        assert_eq!(
            cookie(&r).as_deref(),
            Some("JSESSIONID=dummy; path=/"),
            "{suffix}"
        );
    }
    let r = post(addr, &format!("{url}/xhr_send"), r#"["x"]"#).await;
    assert_eq!(r.status, 204);
    assert_eq!(cookie(&r).as_deref(), Some("JSESSIONID=dummy; path=/"));
    let r = form(addr, &format!("{url}/jsonp_send"), "d=%5B%22x%22%5D").await;
    assert_eq!(cookie(&r).as_deref(), Some("JSESSIONID=dummy; path=/"));
    assert_eq!(r.text().await, "ok");

    // Endpoints without the option set no cookie.
    let r = post(addr, &format!("/sockjs/echo/000/{}/xhr", sid()), "").await;
    assert_eq!(cookie(&r), None);
}

// ---------------------------------------------------------------------------------------------
// Demo applications and the library API.

#[tokio::test]
async fn broadcast() {
    let addr = demo().await;
    let mut a = ws_connect(addr, &format!("/sockjs/broadcast/000/{}/websocket", sid())).await;
    assert_eq!(ws_text(&mut a).await, "o");
    let mut b = ws_connect(addr, &format!("/sockjs/broadcast/000/{}/websocket", sid())).await;
    assert_eq!(ws_text(&mut b).await, "o");
    // `b`'s session is registered once its `o` is out; an echo round trip on `b` proves the
    // application saw it before `a` speaks.
    ws_send(&mut b, r#"["ready"]"#).await;
    assert_eq!(ws_text(&mut b).await, r#"a["ready"]"#);
    assert_eq!(ws_text(&mut a).await, r#"a["ready"]"#);
    ws_send(&mut a, r#"["hello"]"#).await;
    assert_eq!(ws_text(&mut a).await, r#"a["hello"]"#);
    assert_eq!(ws_text(&mut b).await, r#"a["hello"]"#);
}

#[tokio::test]
async fn amplify() {
    let addr = demo().await;
    let mut ws = ws_connect(addr, &format!("/sockjs/amplify/000/{}/websocket", sid())).await;
    assert_eq!(ws_text(&mut ws).await, "o");
    for (n, len) in [("3", 8), ("0", 2), ("nope", 2), ("25", 1 << 19)] {
        ws_send(&mut ws, &format!("[\"{n}\"]")).await;
        let frame = ws_text(&mut ws).await;
        assert_eq!(frame, format!("a[\"{}\"]", "x".repeat(len)), "{n}");
    }
}

#[tokio::test]
async fn session_handles() {
    let (addr, mut events) = observed(fast(25_000, 5_000)).await;
    let s = sid();
    assert_eq!(
        post_text(addr, &format!("/t/000/{s}/xhr"), "").await.1,
        "o\n"
    );
    let Event::Open(polling) = event(&mut events).await else {
        panic!("expected a session")
    };
    let mut ws = ws_connect(addr, &format!("/t/000/{s}/websocket")).await;
    assert_eq!(ws_text(&mut ws).await, "o");
    let Event::Open(socket) = event(&mut events).await else {
        panic!("expected a session")
    };
    assert_eq!(polling.protocol(), "xhr-polling");
    assert_eq!(socket.protocol(), "websocket");
    assert_ne!(polling.id(), socket.id());
    assert!(
        !polling.id().contains(&s),
        "the URL session id is not exposed"
    );

    // Sending from outside the callback, to both.
    assert!(polling.send("pushed"));
    assert_eq!(
        post_text(addr, &format!("/t/000/{s}/xhr"), "").await.1,
        "a[\"pushed\"]\n"
    );
    assert!(socket.send("pushed"));
    assert_eq!(ws_text(&mut ws).await, r#"a["pushed"]"#);

    // Closing: queued messages first, then the close frame; nothing is accepted after.
    assert!(polling.send("last"));
    assert!(polling.close(3001, "done"));
    assert!(!polling.is_open());
    assert!(!polling.send("too late"));
    assert!(!polling.close(3002, "twice"));
    assert_eq!(
        post_text(addr, &format!("/t/000/{s}/xhr"), "").await.1,
        "a[\"last\"]\n"
    );
    assert_eq!(
        post_text(addr, &format!("/t/000/{s}/xhr"), "").await.1,
        "c[3001,\"done\"]\n"
    );
    assert!(matches!(event(&mut events).await, Event::End));

    assert!(socket.close(3003, "bye"));
    assert_eq!(ws_text(&mut ws).await, r#"c[3003,"bye"]"#);
    assert!(ws_closes(&mut ws).await.is_some());
    assert!(matches!(event(&mut events).await, Event::End));

    // A WebSocket session ends when the client closes the socket.
    let mut ws = ws_connect(addr, &format!("/t/000/{s}/websocket")).await;
    assert_eq!(ws_text(&mut ws).await, "o");
    let Event::Open(socket) = event(&mut events).await else {
        panic!("expected a session")
    };
    within("close", ws.close(None)).await.ok();
    assert!(matches!(event(&mut events).await, Event::End));
    assert!(!socket.is_open());
}

#[tokio::test]
async fn mounts_at_any_prefix() {
    let echo = |mut s: Session| async move {
        while let Some(m) = s.recv().await {
            s.send(m);
        }
    };
    let root = SockJs::new(Options::default(), echo);
    let nested = SockJs::new(Options::default(), echo);
    let app = Router::new()
        .merge(nested.router("/a/b/c/"))
        .merge(root.router("/"));
    let addr = serve(app).await;
    for path in ["/", "/a/b/c", "/a/b/c/"] {
        assert_eq!(
            get(addr, path).await.text().await,
            "Welcome to SockJS!\n",
            "{path}"
        );
    }
    let s = sid();
    assert_eq!(
        post_text(addr, &format!("/a/b/c/0/{s}/xhr"), "").await.1,
        "o\n"
    );
    assert_eq!(nested.session_count(), 1);
    assert_eq!(root.session_count(), 0);
    assert_eq!(post_text(addr, &format!("/0/{s}/xhr"), "").await.1, "o\n");
    assert_eq!(root.session_count(), 1);
}

#[tokio::test]
async fn demo_is_outside_the_fixture_cors_layer() {
    let addr = demo().await;
    // The fixtures' CORS layer would answer this preflight itself, without a max-age.
    let r = request(
        addr,
        "OPTIONS",
        "/sockjs/echo/info",
        &[
            ("origin", "http://x.test"),
            ("access-control-request-method", "GET"),
        ],
        "",
    )
    .await;
    assert_eq!(r.header("access-control-max-age"), Some("31536000"));
    assert_eq!(r.header("access-control-expose-headers"), None);
    // And the fixtures still work beside it.
    assert_eq!(get(addr, "/health").await.text().await, "ok");
}
