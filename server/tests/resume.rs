//! The server side of cometkit's resume extension, end to end through the axum router: HTTP
//! requests are served in process (so tests can run on paused time and cut a response by
//! dropping it), WebSockets over a real socket on 127.0.0.1.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use cometkit_protocol::resume::Numbered;
use cometkit_protocol::sockjs::{decode_frame, Frame};
use cometkit_server::sockjs::{Options, Session, SockJs};
use futures_util::{SinkExt, StreamExt};
use http_body_util::BodyExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tower::ServiceExt;

/// Bound on every single wait (on paused time, a wait that nothing ends fails at once).
const LIMIT: Duration = Duration::from_secs(10);

async fn within<F: Future>(what: &str, f: F) -> F::Output {
    match tokio::time::timeout(LIMIT, f).await {
        Ok(v) => v,
        Err(_) => panic!("timed out: {what}"),
    }
}

fn sid() -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    format!("k{}", N.fetch_add(1, Ordering::Relaxed))
}

#[derive(Debug, PartialEq, Eq)]
enum Event {
    Open,
    Message(String),
    End,
}

/// An endpoint at `/t` whose application answers `m` with `echo:m` (unless `silent`) and
/// reports to the test.
fn observed(options: Options, silent: bool) -> (SockJs, Router, mpsc::UnboundedReceiver<Event>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let endpoint = SockJs::new(options, move |mut session: Session| {
        let tx = tx.clone();
        async move {
            let _ = tx.send(Event::Open);
            while let Some(m) = session.recv().await {
                if !silent {
                    session.send(["echo:", &m].concat());
                }
                let _ = tx.send(Event::Message(m));
            }
            let _ = tx.send(Event::End);
        }
    });
    let router = endpoint.router("/t");
    (endpoint, router, rx)
}

async fn event(rx: &mut mpsc::UnboundedReceiver<Event>) -> Event {
    within("session event", rx.recv())
        .await
        .expect("event channel open")
}

/// No event is waiting (after letting the server's tasks run).
async fn no_event(rx: &mut mpsc::UnboundedReceiver<Event>) {
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    assert_eq!(rx.try_recv().ok(), None);
}

/// A response being read frame by frame.
struct Resp {
    status: StatusCode,
    body: Body,
    buf: Vec<u8>,
}

impl Resp {
    /// The next `\n`-terminated line, `None` at the end of the body.
    async fn line(&mut self) -> Option<String> {
        loop {
            if let Some(i) = self.buf.iter().position(|&b| b == b'\n') {
                let rest = self.buf.split_off(i + 1);
                let mut line = std::mem::replace(&mut self.buf, rest);
                line.pop();
                return Some(String::from_utf8(line).expect("utf-8"));
            }
            match within("body data", self.body.frame()).await {
                None => return None,
                Some(Err(e)) => panic!("body error: {e}"),
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        self.buf.extend_from_slice(&data);
                    }
                }
            }
        }
    }

    /// The next SockJS frame, skipping the xhr-streaming prelude and heartbeats.
    async fn frame(&mut self) -> String {
        loop {
            let line = self.line().await.expect("a frame before the body ends");
            if !line.is_empty() && line.bytes().all(|b| b == b'h') {
                continue;
            }
            return line;
        }
    }

    async fn text(mut self) -> String {
        let mut all = std::mem::take(&mut self.buf);
        while let Some(Ok(frame)) = within("body", self.body.frame()).await {
            if let Ok(data) = frame.into_data() {
                all.extend_from_slice(&data);
            }
        }
        String::from_utf8(all).expect("utf-8")
    }
}

async fn post(router: &Router, uri: &str, body: &str) -> Resp {
    let req = Request::builder()
        .method("POST")
        .uri(uri)
        .body(Body::from(body.to_owned()))
        .expect("request");
    let res = within("response", router.clone().oneshot(req))
        .await
        .expect("infallible");
    let (parts, body) = res.into_parts();
    Resp {
        status: parts.status,
        body,
        buf: Vec::new(),
    }
}

async fn get(router: &Router, uri: &str) -> Resp {
    let req = Request::builder()
        .uri(uri)
        .body(Body::empty())
        .expect("request");
    let res = within("response", router.clone().oneshot(req))
        .await
        .expect("infallible");
    let (parts, body) = res.into_parts();
    Resp {
        status: parts.status,
        body,
        buf: Vec::new(),
    }
}

/// `(token, ack)` of an `r` frame.
fn resumed(frame: &str) -> (String, u64) {
    match decode_frame(frame) {
        Ok(Frame::Resumed { token, ack }) => (token, ack),
        other => panic!("expected an r frame, got {frame:?}: {other:?}"),
    }
}

fn numbered(frame: &str) -> Numbered {
    match decode_frame(frame) {
        Ok(Frame::Numbered(n)) => n,
        other => panic!("expected a q frame, got {frame:?}: {other:?}"),
    }
}

/// Reads `q` frames until `count` messages came; returns (first seq, messages, last ack).
async fn messages(r: &mut Resp, count: usize) -> (u64, Vec<String>, u64) {
    let (mut first, mut all, mut ack) = (0, Vec::new(), 0);
    while all.len() < count {
        let n = numbered(&r.frame().await);
        if n.messages.is_empty() {
            continue;
        }
        if all.is_empty() {
            first = n.seq;
        }
        assert_eq!(n.seq, first + all.len() as u64, "in order, no gap");
        all.extend(n.messages);
        ack = n.ack;
    }
    (first, all, ack)
}

#[tokio::test(start_paused = true)]
async fn info_offers_resume_unless_disabled() {
    let (_, router, _) = observed(Options::default(), false);
    let info: serde_json::Value =
        serde_json::from_str(&get(&router, "/t/info").await.text().await).expect("json");
    assert_eq!(info["resume"], 1);
    let (_, router, _) = observed(
        Options {
            resume: false,
            ..Options::default()
        },
        false,
    );
    let info: serde_json::Value =
        serde_json::from_str(&get(&router, "/t/info").await.text().await).expect("json");
    assert_eq!(info.get("resume"), None);
}

#[tokio::test(start_paused = true)]
async fn xhr_streaming_cut_resumed_on_a_new_key_exactly_once() {
    let (endpoint, router, mut events) = observed(Options::default(), false);
    let k1 = sid();
    let mut s1 = post(&router, &format!("/t/0/{k1}/xhr_streaming?resume=new"), "").await;
    assert_eq!(s1.frame().await, "o");
    let (token, ack) = resumed(&s1.frame().await);
    assert_eq!(ack, 0);
    assert_eq!(event(&mut events).await, Event::Open);

    let send = |key: &str, payload: &str| {
        let (router, uri, payload) = (
            router.clone(),
            format!("/t/0/{key}/xhr_send"),
            payload.to_owned(),
        );
        async move { post(&router, &uri, &payload).await.status }
    };
    assert_eq!(send(&k1, r#"[0,1,"a","b"]"#).await, StatusCode::NO_CONTENT);
    assert_eq!(event(&mut events).await, Event::Message("a".into()));
    assert_eq!(event(&mut events).await, Event::Message("b".into()));
    let (first, got, ack) = messages(&mut s1, 2).await;
    assert_eq!((first, ack), (1, 2));
    assert_eq!(got, ["echo:a", "echo:b"]);
    // The answer to that send was lost: the client sends it again, and nothing is delivered
    // twice.
    assert_eq!(send(&k1, r#"[0,1,"a","b"]"#).await, StatusCode::NO_CONTENT);
    no_event(&mut events).await;

    // The stream is cut; the session is not interrupted and still takes messages.
    drop(s1);
    assert_eq!(send(&k1, r#"[1,3,"c"]"#).await, StatusCode::NO_CONTENT);
    assert_eq!(event(&mut events).await, Event::Message("c".into()));

    // The client got echo:a only; it takes the session back on a new URL.
    let k2 = sid();
    let mut s2 = post(
        &router,
        &format!("/t/0/{k2}/xhr_streaming?resume={token}&ack=1"),
        "",
    )
    .await;
    assert_eq!(s2.frame().await, "o");
    assert_eq!(resumed(&s2.frame().await), (token.clone(), 3));
    let (first, got, ack) = messages(&mut s2, 2).await;
    assert_eq!((first, ack), (2, 3));
    assert_eq!(got, ["echo:b", "echo:c"]);
    // The old URL no longer reaches the session; the new one does.
    assert_eq!(send(&k1, r#"[3,4,"d"]"#).await, StatusCode::NOT_FOUND);
    assert_eq!(send(&k2, r#"[3,4,"d"]"#).await, StatusCode::NO_CONTENT);
    assert_eq!(event(&mut events).await, Event::Message("d".into()));
    assert_eq!(messages(&mut s2, 1).await, (4, vec!["echo:d".into()], 4));
    // One session all along.
    no_event(&mut events).await;
    assert_eq!(endpoint.session_count(), 1);
    // Protocol errors are refused without touching the session.
    assert_eq!(send(&k2, r#"[3,9,"x"]"#).await, StatusCode::BAD_REQUEST);
    assert_eq!(send(&k2, r#"[99]"#).await, StatusCode::BAD_REQUEST);
    assert_eq!(
        send(&k2, r#"["plain"]"#).await,
        StatusCode::INTERNAL_SERVER_ERROR
    );
    no_event(&mut events).await;
}

#[tokio::test(start_paused = true)]
async fn polling_gets_its_greeting_and_a_delayed_ack() {
    let (_, router, mut events) = observed(Options::default(), true);
    let k = sid();
    let uri = format!("/t/0/{k}/xhr?resume=new");
    let poll = || post(&router, &uri, "");
    // The `o` and `r` frames of a new resumable session come in one answer.
    let greeting = poll().await.text().await;
    let (open, r) = greeting.split_once('\n').expect("two frames");
    assert_eq!(open, "o");
    let (token, _) = resumed(r.trim_end());
    assert_eq!(event(&mut events).await, Event::Open);
    let sent = post(&router, &format!("/t/0/{k}/xhr_send"), r#"[0,1,"x"]"#).await;
    assert_eq!(sent.status, StatusCode::NO_CONTENT);
    // The application answers nothing: the ack goes alone after the ack delay.
    let start = tokio::time::Instant::now();
    assert_eq!(poll().await.text().await, "q[1]\n");
    assert!(start.elapsed() >= Duration::from_millis(50));
    // The same connection's next polls carry the same query and go on with the same session.
    let mut p = poll().await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(event(&mut events).await, Event::Message("x".into()));
    drop(p.body);
    // A second receiver of the same URL is refused as on a plain session.
    p = poll().await;
    let busy = poll().await.text().await;
    assert_eq!(busy, "c[2010,\"Another connection still open\"]\n");
    drop(p);
    assert!(!token.is_empty());
}

#[tokio::test(start_paused = true)]
async fn unknown_or_expired_token_starts_a_fresh_session() {
    let options = Options {
        resume_grace: Duration::from_secs(5),
        ..Options::default()
    };
    let (endpoint, router, mut events) = observed(options, false);
    let mut s = post(
        &router,
        &format!("/t/0/{}/xhr_streaming?resume=NoSuchToken&ack=5", sid()),
        "",
    )
    .await;
    assert_eq!(s.frame().await, "o");
    let (token, ack) = resumed(&s.frame().await);
    assert_ne!(token, "NoSuchToken");
    assert_eq!(ack, 0);
    assert_eq!(event(&mut events).await, Event::Open);
    drop(s);
    // The grace period passes without the client: the session is over.
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert_eq!(event(&mut events).await, Event::End);
    assert_eq!(endpoint.session_count(), 0);
    let mut s = post(
        &router,
        &format!("/t/0/{}/xhr_streaming?resume={token}&ack=0", sid()),
        "",
    )
    .await;
    assert_eq!(s.frame().await, "o");
    let (live, _) = resumed(&s.frame().await);
    assert_ne!(live, token);
    assert_eq!(event(&mut events).await, Event::Open);
    // An ack beyond what the session sent loses it too.
    drop(s);
    let mut again = post(
        &router,
        &format!("/t/0/{}/xhr_streaming?resume={live}&ack=1", sid()),
        "",
    )
    .await;
    assert_eq!(again.frame().await, "o");
    let (fresh, _) = resumed(&again.frame().await);
    assert_ne!(fresh, live);
    // The expired one is gone; the one the bad ack could not take back waits out its grace.
    assert_eq!(endpoint.session_count(), 2);
}

#[tokio::test(start_paused = true)]
async fn malformed_resume_parameters_are_refused() {
    let (_, router, _) = observed(Options::default(), false);
    for query in [
        "resume=",
        "resume=tok",
        "resume=a%20b&ack=1",
        "resume=tok&ack=x",
    ] {
        let r = post(&router, &format!("/t/0/{}/xhr?{query}", sid()), "").await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{query}");
        assert!(r.text().await.contains("resume=new"), "{query}");
    }
    // Without the extension, the parameters mean nothing: a plain session.
    let (_, router, _) = observed(
        Options {
            resume: false,
            ..Options::default()
        },
        false,
    );
    let k = sid();
    let r = post(&router, &format!("/t/0/{k}/xhr?resume=tok"), "").await;
    assert_eq!(r.text().await, "o\n");
    let r = post(&router, &format!("/t/0/{k}/xhr_send"), r#"["x"]"#).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = post(&router, &format!("/t/0/{k}/xhr?resume=new"), "").await;
    assert_eq!(r.text().await, "a[\"echo:x\"]\n");
}

#[tokio::test(start_paused = true)]
async fn plain_sessions_are_unchanged_beside_resumable_ones() {
    let (endpoint, router, mut events) = observed(Options::default(), false);
    let k = sid();
    let mut s = post(&router, &format!("/t/0/{k}/xhr_streaming"), "").await;
    assert_eq!(s.frame().await, "o");
    assert_eq!(event(&mut events).await, Event::Open);
    let sent = post(&router, &format!("/t/0/{k}/xhr_send"), r#"["x"]"#).await;
    assert_eq!(sent.status, StatusCode::NO_CONTENT);
    assert_eq!(s.frame().await, r#"a["echo:x"]"#);
    drop(s);
    // A cut interrupts a plain session.
    let mut next = post(&router, &format!("/t/0/{k}/xhr_streaming"), "").await;
    assert_eq!(next.frame().await, r#"c[1002,"Connection interrupted"]"#);
    assert_eq!(event(&mut events).await, Event::Message("x".into()));
    assert_eq!(event(&mut events).await, Event::End);
    assert_eq!(endpoint.resume_buffered_bytes(), 0);
}

#[tokio::test(start_paused = true)]
async fn overflow_closes_with_2011() {
    let options = Options {
        resume_max_messages: 3,
        ..Options::default()
    };
    let (_, router, mut events) = observed(options, false);
    let k = sid();
    let mut s = post(&router, &format!("/t/0/{k}/xhr_streaming?resume=new"), "").await;
    s.frame().await;
    s.frame().await;
    // Four echoes the client never acknowledges: the fourth cannot be kept.
    let sent = post(
        &router,
        &format!("/t/0/{k}/xhr_send"),
        r#"[0,1,"a","b","c","d"]"#,
    )
    .await;
    assert_eq!(sent.status, StatusCode::NO_CONTENT);
    let mut frames = Vec::new();
    loop {
        let f = s.frame().await;
        if f.starts_with('c') {
            assert_eq!(f, r#"c[2011,"Resume buffer overflow"]"#);
            break;
        }
        frames.push(f);
    }
    assert!(s.line().await.is_none());
    assert_eq!(event(&mut events).await, Event::Open);
    let mut seen = Vec::new();
    while let Event::Message(m) = event(&mut events).await {
        seen.push(m);
    }
    assert_eq!(seen, ["a", "b", "c", "d"]);
}

// ---------------------------------------------------------------------------------------------
// WebSocket.

type Ws = tokio_tungstenite::WebSocketStream<TcpStream>;

async fn ws_text(ws: &mut Ws) -> String {
    loop {
        match within("ws message", ws.next()).await {
            Some(Ok(Message::Text(t))) if t.as_str() == "h" => continue,
            Some(Ok(Message::Text(t))) => return t.as_str().to_owned(),
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            other => panic!("expected a text message, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn websocket_session_resumed_over_xhr_streaming() {
    let (endpoint, router, mut events) = observed(Options::default(), false);
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let served = router.clone();
    tokio::spawn(async move {
        let _ = axum::serve(listener, served).await;
    });
    let stream = within("connect", TcpStream::connect(addr))
        .await
        .expect("connect");
    let url = format!("ws://{addr}/t/0/{}/websocket?resume=new", sid());
    let (mut ws, _) = within("handshake", tokio_tungstenite::client_async(url, stream))
        .await
        .expect("ws handshake");
    assert_eq!(ws_text(&mut ws).await, "o");
    let (token, _) = resumed(&ws_text(&mut ws).await);
    assert_eq!(event(&mut events).await, Event::Open);
    within("send", ws.send(Message::text(r#"[0,1,"hello"]"#)))
        .await
        .expect("send");
    assert_eq!(event(&mut events).await, Event::Message("hello".into()));
    assert_eq!(
        numbered(&ws_text(&mut ws).await),
        Numbered {
            ack: 1,
            seq: 1,
            messages: vec!["echo:hello".into()]
        }
    );
    // The socket dies without a close handshake; the session outlives it.
    drop(ws);
    let k = sid();
    let mut s = post(
        &router,
        &format!("/t/0/{k}/xhr_streaming?resume={token}&ack=0"),
        "",
    )
    .await;
    assert_eq!(s.frame().await, "o");
    assert_eq!(resumed(&s.frame().await), (token, 1));
    assert_eq!(messages(&mut s, 1).await, (1, vec!["echo:hello".into()], 1));
    let sent = post(&router, &format!("/t/0/{k}/xhr_send"), r#"[1,2,"again"]"#).await;
    assert_eq!(sent.status, StatusCode::NO_CONTENT);
    assert_eq!(event(&mut events).await, Event::Message("again".into()));
    assert_eq!(messages(&mut s, 1).await, (2, vec!["echo:again".into()], 2));
    assert_eq!(endpoint.session_count(), 1);
    no_event(&mut events).await;
}

// ---------------------------------------------------------------------------------------------
// Memory.

/// A flood of abandoned resumable sessions, each with messages its client never
/// acknowledges: the endpoint never holds more than its budget, and after the grace period
/// nothing is left.
#[tokio::test(start_paused = true)]
async fn abandoned_sessions_stay_within_budget_and_are_freed() {
    const SESSIONS: usize = 10_000;
    const BUDGET: usize = 1 << 20;
    let options = Options {
        resume_grace: Duration::from_secs(30),
        resume_max_total_bytes: BUDGET,
        ..Options::default()
    };
    let endpoint = SockJs::new(options, |session: Session| async move {
        // 8 KiB per session: 80 MB if nothing bounded it.
        for _ in 0..8 {
            if !session.send("x".repeat(1024)) {
                break;
            }
        }
    });
    let router = endpoint.router("/t");
    let mut peak = 0;
    for i in 0..SESSIONS {
        let r = post(&router, &format!("/t/0/flood{i}/xhr?resume=new"), "").await;
        assert!(r.text().await.starts_with("o\nr["));
        if i % 100 == 0 {
            tokio::task::yield_now().await;
        }
        peak = peak.max(endpoint.resume_buffered_bytes());
        assert!(endpoint.resume_buffered_bytes() <= BUDGET);
    }
    for _ in 0..100 {
        tokio::task::yield_now().await;
    }
    assert_eq!(endpoint.session_count(), SESSIONS);
    assert!(endpoint.resume_buffered_bytes() <= BUDGET);
    // The budget was used: bounded, not merely unused.
    assert!(peak.max(endpoint.resume_buffered_bytes()) > BUDGET / 2);
    tokio::time::sleep(Duration::from_secs(31)).await;
    for _ in 0..100 {
        tokio::task::yield_now().await;
    }
    assert_eq!(endpoint.session_count(), 0);
    assert_eq!(endpoint.resume_buffered_bytes(), 0);
}
