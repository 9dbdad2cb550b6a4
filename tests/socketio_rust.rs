//! The Rust API of the Socket.IO client (`cometkit::socketio`) against the npm `socket.io` 4.8
//! server (tests/socketio/server.cjs, connection state recovery on), in the browser: emits and
//! acks both ways with unicode, ack timeouts, namespaces and auth refusal, binary attachments
//! both ways, 250 events in order, reconnection after a cut, recovery of missed events, a
//! server disconnect, bad input, extra headers, an unreachable server, and release of
//! everything on drop.
//! Needs only the `socketio` feature (no `js`).
#![cfg(all(target_arch = "wasm32", feature = "socketio"))]

use std::future::Future;

use cometkit::socketio::{
    io, placeholder, Args, Backoff, CloseReason, DisconnectReason, Event, Manager, Options,
    Reconnect, Socket, Transport,
};
use cometkit::ErrorKind;
use futures_util::future::{select, Either, FutureExt};
use gloo_timers::future::TimeoutFuture;
use js_sys::{Array, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const URL: &str = match option_env!("COMETKIT_SOCKETIO_URL") {
    Some(url) => url,
    None => "http://127.0.0.1:18096",
};

#[wasm_bindgen(inline_js = r#"
// Counts the XHRs, WebSockets and iframes the page makes from now on (installed once).
export function tracker() {
  const g = globalThis;
  if (g.__sioTracker) return g.__sioTracker;
  const t = { xhrs: [], wss: [] };
  const open = XMLHttpRequest.prototype.open;
  XMLHttpRequest.prototype.open = function () {
    t.xhrs.push(this);
    return open.apply(this, arguments);
  };
  const WS = g.WebSocket;
  g.WebSocket = class extends WS {
    constructor(url, p) {
      super(url, p);
      t.wss.push(this);
    }
  };
  // Requests made so far (a number that grows while anything still polls or connects).
  t.made = () => t.xhrs.length + t.wss.length;
  // What is still alive: XHRs in flight, WebSockets open or opening, iframes in the document.
  t.alive = () => {
    const out = [];
    for (const x of t.xhrs) if (x.readyState !== 0 && x.readyState !== 4) out.push("xhr in state " + x.readyState);
    for (const w of t.wss) if (w.readyState < 2) out.push("websocket in state " + w.readyState);
    const frames = document.querySelectorAll("iframe").length;
    if (frames) out.push(frames + " iframes");
    return out;
  };
  g.__sioTracker = t;
  return t;
}
"#)]
extern "C" {
    type Tracker;
    fn tracker() -> Tracker;
    #[wasm_bindgen(method)]
    fn made(this: &Tracker) -> u32;
    #[wasm_bindgen(method)]
    fn alive(this: &Tracker) -> Array;
}

/// Quick reconnection, and the transports given (all, in the default order, when empty).
fn options(transports: &[Transport]) -> Options {
    let options = Options::new().timeout(5_000).reconnect(Some(Reconnect {
        backoff: Backoff {
            min: 100,
            max: 400,
            ..Backoff::default()
        },
        max_attempts: None,
    }));
    if transports.is_empty() {
        options
    } else {
        options.transports(transports)
    }
}

/// `future`, or a panic naming `what` after 10 s.
async fn within<T>(what: &str, future: impl Future<Output = T>) -> T {
    let future = std::pin::pin!(future);
    match select(future, TimeoutFuture::new(10_000)).await {
        Either::Left((value, _)) => value,
        Either::Right(_) => panic!("{what}: nothing within 10 s"),
    }
}

/// The socket's next event.
async fn next(socket: &mut Socket, what: &str) -> Event {
    match within(what, socket.next()).await {
        Some(event) => event,
        None => panic!("{what}: the socket ended"),
    }
}

/// Reads events until one `pick` takes; the others go to `skipped`.
async fn until<T>(
    socket: &mut Socket,
    what: &str,
    skipped: &mut Vec<Event>,
    mut pick: impl FnMut(&mut Event) -> Option<T>,
) -> T {
    // Bounded: a misbehaving stream cannot spin for ever.
    for _ in 0..10_000 {
        let mut event = next(socket, what).await;
        if let Some(found) = pick(&mut event) {
            return found;
        }
        match event {
            Event::ConnectError { message, .. } => panic!("{what}: refused: {message}"),
            Event::Closed { reason } => panic!("{what}: closed: {reason:?}"),
            other => skipped.push(other),
        }
    }
    panic!("{what}: too many other events");
}

/// Waits for the namespace to connect; its id, and the transports announced meanwhile.
async fn connected(socket: &mut Socket) -> (String, Vec<Transport>) {
    let mut skipped = Vec::new();
    let id = until(socket, "connect", &mut skipped, |e| match e {
        Event::Connect { id, .. } => Some(id.clone()),
        _ => None,
    })
    .await;
    let transports = skipped
        .iter()
        .filter_map(|e| match e {
            Event::Transport(t) => Some(*t),
            _ => None,
        })
        .collect();
    (id, transports)
}

/// The next server event named `name`: its arguments and reply handle.
async fn message(socket: &mut Socket, name: &str) -> (Args, Option<cometkit::socketio::Reply>) {
    until(socket, name, &mut Vec::new(), |e| match e {
        Event::Message { event, args, reply } if event == name => {
            Some((std::mem::replace(args, Args::new("")), reply.take()))
        }
        _ => None,
    })
    .await
}

/// The arguments, parsed (by the browser's `JSON.parse`).
fn parsed(args: &Args) -> Array {
    js_sys::JSON::parse(&args.json)
        .unwrap_or_else(|_| panic!("not JSON: {}", args.json))
        .dyn_into()
        .unwrap_or_else(|_| panic!("not an array: {}", args.json))
}

fn field(v: &JsValue, name: &str) -> JsValue {
    Reflect::get(v, &name.into()).unwrap()
}

const FORCED: [Transport; 4] = [
    Transport::WebSocket,
    Transport::XhrPolling,
    Transport::JsonpPolling,
    Transport::XdrPolling,
];

#[wasm_bindgen_test]
async fn emit_ack_and_server_acks_on_each_transport() {
    for t in FORCED {
        let what = t.name();
        let mut socket = io(URL, options(&[t])).unwrap();
        let (id, _) = connected(&mut socket).await;
        assert!(!id.is_empty(), "{what}");
        assert_eq!(socket.id().as_deref(), Some(id.as_str()), "{what}");
        assert!(socket.connected() && !socket.recovered(), "{what}");
        assert_eq!(socket.nsp(), "/");

        // Our ack: the server answers with the arguments, unicode and nesting intact.
        let args = r#"[1,"two é€😀 \"q\" \n",{"3":[4,null,true,-5.5]}]"#;
        let answer = within(what, socket.emit_with_ack("ack", args).unwrap()).await;
        assert_eq!(answer.unwrap(), Args::new(args), "{what}");
        let transport = within(what, socket.emit_with_ack("transport", "[]").unwrap()).await;
        assert_eq!(
            transport.unwrap().json,
            format!(r#"["{}"]"#, t.query_name())
        );

        // A plain emit and its echo.
        socket.emit("echo", r#"["hi ✓"]"#).unwrap();
        let (echo, reply) = message(&mut socket, "echo").await;
        assert_eq!(parsed(&echo).get(0), "hi ✓", "{what}: {}", echo.json);
        assert!(reply.is_none(), "{what}: the server asked for no ack");

        // The server's ack: it asks, we reply, it reports what it got.
        socket.emit("ask", r#"["question?"]"#).unwrap();
        let (question, reply) = message(&mut socket, "question").await;
        assert_eq!(parsed(&question).get(0), "question?");
        reply
            .expect("the server asked for an ack")
            .send(r#"["answer ☺"]"#)
            .unwrap();
        let (answered, _) = message(&mut socket, "answered").await;
        assert_eq!(parsed(&answered).get(0), "answer ☺", "{what}");

        // An ack deadline.
        let silent = socket.timeout(300).emit_with_ack("silent", "[]").unwrap();
        let error = within(what, silent).await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Timeout, "{what}: {error:?}");
    }
}

#[wasm_bindgen_test]
async fn auto_mode_upgrades_to_websocket() {
    let mut socket = io(URL, options(&[])).unwrap();
    let (_, mut seen) = connected(&mut socket).await;
    if !seen.contains(&Transport::WebSocket) {
        let mut skipped = Vec::new();
        until(&mut socket, "upgrade", &mut skipped, |e| match e {
            Event::Transport(Transport::WebSocket) => Some(()),
            _ => None,
        })
        .await;
        seen.push(Transport::WebSocket);
    }
    assert_eq!(seen.first(), Some(&Transport::XhrPolling), "{seen:?}");
    assert_eq!(socket.manager().transport(), Some(Transport::WebSocket));
    let answer = within("ack", socket.emit_with_ack("transport", "[]").unwrap()).await;
    assert_eq!(answer.unwrap().json, r#"["websocket"]"#);
}

#[wasm_bindgen_test]
async fn namespaces_share_a_connection_and_auth_refusal_is_a_connect_error() {
    let manager = Manager::new(URL, options(&[Transport::WebSocket])).unwrap();
    let mut main = manager.socket("/", None).unwrap();
    connected(&mut main).await;

    // Refused: the server's message and data, then the socket ends; the others go on.
    let mut denied = manager
        .socket("/admin", Some(r#"{"token":"wrong"}"#))
        .unwrap();
    let mut skipped = Vec::new();
    let (text, data) = until(&mut denied, "refusal", &mut skipped, |e| match e {
        Event::ConnectError { message, data } => Some((message.clone(), data.clone())),
        _ => None,
    })
    .await;
    assert_eq!(text, "not authorized");
    assert_eq!(data.as_deref(), Some(r#"{"code":401}"#));
    assert!(
        skipped.iter().all(|e| matches!(e, Event::Transport(_))),
        "{skipped:?}"
    );
    assert!(within("end", denied.next()).await.is_none());
    assert!(!denied.connected());
    let error = denied.emit("ack", "[]").unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Invalid, "{error:?}");

    // The right auth, on the same connection, while the refused socket is still held.
    let mut admin = manager
        .socket("/admin", Some(r#"{"token":"secret"}"#))
        .unwrap();
    connected(&mut admin).await;
    assert_eq!(admin.nsp(), "/admin");
    let (welcome, _) = message(&mut admin, "welcome").await;
    assert_eq!(parsed(&welcome).get(0), "secret");
    let answer = within(
        "admin ack",
        admin.emit_with_ack("ack", r#"["adm"]"#).unwrap(),
    )
    .await;
    assert_eq!(answer.unwrap().json, r#"["adm"]"#);
    drop(denied);

    // One live socket per namespace and manager.
    let twice = manager.socket("/admin", None).unwrap_err();
    assert_eq!(twice.kind(), ErrorKind::Invalid, "{twice:?}");

    // The main namespace was never disturbed.
    let answer = within(
        "main ack",
        main.emit_with_ack("ack", r#"["main"]"#).unwrap(),
    )
    .await;
    assert_eq!(answer.unwrap().json, r#"["main"]"#);
    assert!(
        std::iter::from_fn(|| main.next().now_or_never().flatten())
            .all(|e| !matches!(e, Event::Disconnect { .. } | Event::Reconnecting { .. })),
        "the main namespace saw a disconnection"
    );
}

#[wasm_bindgen_test]
async fn binary_attachments_both_ways() {
    for t in [Transport::WebSocket, Transport::XhrPolling] {
        let what = t.name();
        let mut socket = io(URL, options(&[t])).unwrap();
        connected(&mut socket).await;

        let bytes: Vec<u8> = (0..=255).rev().collect();
        let json = format!(
            r#"["file",{},{{"nested":[{}]}}]"#,
            placeholder(0),
            placeholder(1)
        );
        let args = Args::new(json.clone()).attach(bytes.clone()).attach(vec![]);
        let answer = within(what, socket.emit_with_ack("ack", args).unwrap()).await;
        let answer = answer.unwrap();
        assert_eq!(answer.json, json, "{what}");
        assert_eq!(answer.attachments, vec![bytes, vec![]], "{what}");

        socket.emit("bytes", "[300]").unwrap();
        let (got, _) = message(&mut socket, "bytes").await;
        let value = parsed(&got);
        let first = value.get(0);
        assert_eq!(
            field(&field(&first, "data"), "num"),
            0,
            "{what}: {}",
            got.json
        );
        let list: Array = field(&first, "list").dyn_into().unwrap();
        assert_eq!(field(&list.get(0), "num"), 1, "{what}: {}", got.json);
        assert_eq!(value.get(1), "after");
        let expected: Vec<u8> = (0..300u32).map(|i| (i & 0xff) as u8).collect();
        assert_eq!(got.attachments, vec![expected, vec![0, 1]], "{what}");
    }
}

#[wasm_bindgen_test]
async fn two_hundred_fifty_events_in_order() {
    for t in [
        Transport::WebSocket,
        Transport::XhrPolling,
        Transport::JsonpPolling,
    ] {
        let what = t.name();
        let mut socket = io(URL, options(&[t])).unwrap();
        connected(&mut socket).await;
        socket.emit("burst", "[250]").unwrap();
        for i in 0..250 {
            let (args, _) = message(&mut socket, "seq").await;
            // With connection state recovery on, the server appends its offset.
            assert_eq!(parsed(&args).get(0), i, "{what}: {}", args.json);
        }
        // Our own 250, in order, each acknowledged.
        let acks: Vec<_> = (0..250)
            .map(|i| socket.emit_with_ack("ack", format!("[{i}]")).unwrap())
            .collect();
        for (i, ack) in acks.into_iter().enumerate() {
            assert_eq!(within(what, ack).await.unwrap().json, format!("[{i}]"));
        }
    }
}

#[wasm_bindgen_test]
async fn reconnects_after_a_cut_and_sends_what_was_buffered() {
    for t in FORCED {
        let what = t.name();
        let mut socket = io(URL, options(&[t])).unwrap();
        connected(&mut socket).await;
        socket.emit("cut", "[]").unwrap();
        let mut skipped = Vec::new();
        let reason = until(&mut socket, "disconnect", &mut skipped, |e| match e {
            Event::Disconnect { reason } => Some(*reason),
            _ => None,
        })
        .await;
        assert!(
            matches!(reason, DisconnectReason::Engine(_)),
            "{what}: {reason:?}"
        );
        assert!(!socket.connected());
        // Emitted while disconnected: buffered, sent once connected again.
        let late = socket.emit_with_ack("ack", r#"["buffered"]"#).unwrap();
        let mut skipped = Vec::new();
        until(&mut socket, "reconnect", &mut skipped, |e| match e {
            Event::Connect { .. } => Some(()),
            _ => None,
        })
        .await;
        assert!(
            skipped
                .iter()
                .any(|e| matches!(e, Event::Reconnecting { attempt: 1.. })),
            "{what}: {skipped:?}"
        );
        assert!(socket.connected());
        assert_eq!(within(what, late).await.unwrap().json, r#"["buffered"]"#);
    }
}

#[wasm_bindgen_test]
async fn recovers_the_events_missed_during_a_short_cut() {
    for t in [Transport::WebSocket, Transport::XhrPolling] {
        let what = t.name();
        let mut socket = io(URL, options(&[t])).unwrap();
        connected(&mut socket).await;
        // An event gives the client an offset to recover from.
        socket.emit("echo", r#"["before"]"#).unwrap();
        message(&mut socket, "echo").await;
        socket.emit("cut", "[3]").unwrap();
        let mut skipped = Vec::new();
        let recovered = until(&mut socket, "reconnect", &mut skipped, |e| match e {
            Event::Connect { recovered, .. } => Some(*recovered),
            _ => None,
        })
        .await;
        assert!(recovered && socket.recovered(), "{what}: {skipped:?}");
        for i in 0..3 {
            let (args, _) = message(&mut socket, "missed").await;
            assert_eq!(parsed(&args).get(0), i, "{what}: {}", args.json);
        }
    }
}

#[wasm_bindgen_test]
async fn a_server_disconnect_ends_the_socket() {
    let mut socket = io(URL, options(&[Transport::WebSocket])).unwrap();
    connected(&mut socket).await;
    let pending = socket.emit_with_ack("silent", "[]").unwrap();
    socket.emit("kick", "[]").unwrap();
    let mut skipped = Vec::new();
    let reason = until(&mut socket, "kick", &mut skipped, |e| match e {
        Event::Disconnect { reason } => Some(*reason),
        _ => None,
    })
    .await;
    assert_eq!(reason, DisconnectReason::Server);
    assert_eq!(reason.as_str(), "io server disconnect");
    assert!(within("end", socket.next()).await.is_none());
    let error = within("pending ack", pending).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Network, "{error:?}");
    // The same namespace again, by hand, on the same manager.
    let mut again = socket.manager().socket("/", None).unwrap();
    connected(&mut again).await;
    let answer = within("ack", again.emit_with_ack("ack", r#"["again"]"#).unwrap()).await;
    assert_eq!(answer.unwrap().json, r#"["again"]"#);
    // Our own disconnect: the event, then the end.
    again.disconnect();
    match within("disconnect", again.next()).await {
        Some(Event::Disconnect { reason }) => assert_eq!(reason, DisconnectReason::Client),
        other => panic!("{other:?}"),
    }
    assert!(within("end", again.next()).await.is_none());
}

#[wasm_bindgen_test]
async fn bad_input_is_a_clear_error() {
    let invalid = |r: Result<(), cometkit::Error>, what: &str| {
        let e = r.expect_err(what);
        assert_eq!(e.kind(), ErrorKind::Invalid, "{what}: {e:?}");
        e.message().to_owned()
    };
    invalid(Manager::new("", Options::new()).map(drop), "empty URL");
    invalid(Manager::new("ftp://x/", Options::new()).map(drop), "ftp");
    let m = invalid(
        Manager::new(&format!("{URL}/admin"), Options::new()).map(drop),
        "path",
    );
    assert!(m.contains("Manager::socket"), "{m}");
    invalid(
        Manager::new(URL, Options::new().transports(&[])).map(drop),
        "no transport",
    );
    invalid(
        Manager::new(URL, Options::new().path("socket.io")).map(drop),
        "relative path",
    );
    invalid(
        Manager::new(URL, Options::new().query("EIO", "3")).map(drop),
        "reserved query",
    );
    invalid(
        io(URL, Options::new().auth("[1]")).map(drop),
        "auth not an object",
    );

    let manager = Manager::new(URL, options(&[Transport::WebSocket])).unwrap();
    invalid(
        manager.socket("admin", None).map(drop),
        "namespace without /",
    );
    invalid(manager.socket("/a,b", None).map(drop), "namespace with ,");
    let mut socket = manager.socket("/", None).unwrap();
    let m = invalid(socket.emit("connect", "[]"), "reserved name");
    assert!(m.contains("reserved"), "{m}");
    invalid(socket.emit("", "[]"), "empty name");
    invalid(socket.emit("ev", r#"{"a":1}"#), "not an array");
    invalid(socket.emit("ev", "[1,]"), "not JSON");
    invalid(socket.emit("ev", "[1] [2]"), "two values");
    let m = invalid(
        socket.emit(
            "ev",
            Args::new(format!("[{}]", placeholder(1))).attach(vec![1]),
        ),
        "a missing attachment",
    );
    assert!(m.contains("attachment"), "{m}");
    // Larger than the server's maxPayload (100000 bytes), once its limit is known.
    connected(&mut socket).await;
    let big = format!(r#"["{}"]"#, "x".repeat(150_000));
    let m = invalid(socket.emit("echo", big.as_str()), "too large");
    assert!(m.contains("maxPayload"), "{m}");
    let big = Args::new(format!("[{}]", placeholder(0))).attach(vec![7; 150_000]);
    invalid(socket.emit("echo", big), "attachment too large");
    // Still usable.
    let answer = within("ack", socket.emit_with_ack("ack", "[true]").unwrap()).await;
    assert_eq!(answer.unwrap().json, "[true]");
}

#[wasm_bindgen_test]
async fn extra_headers_go_on_every_polling_request() {
    let options = options(&[Transport::XhrPolling]).extra_header("X-Cometkit-Test", "from rust");
    let mut socket = io(URL, options).unwrap();
    connected(&mut socket).await;
    for i in 0..3 {
        let answer = within(
            "ack",
            socket.emit_with_ack("ack", format!("[{i}]")).unwrap(),
        )
        .await;
        assert_eq!(answer.unwrap().json, format!("[{i}]"));
    }
    let seen = within("headers", socket.emit_with_ack("headers", "[]").unwrap())
        .await
        .unwrap()
        .json;
    assert!(seen.contains(r#""handshake":"from rust""#), "{seen}");
    assert!(seen.contains(r#""missing":0,"#), "{seen}");
    assert!(
        !seen.contains(r#""POST":0"#) && !seen.contains(r#""GET":0"#),
        "{seen}"
    );

    let invalid = |options: Options, what: &str| match Manager::new(URL, options) {
        Ok(_) => panic!("{what}: accepted"),
        Err(e) => {
            assert_eq!(e.kind(), ErrorKind::Invalid, "{what}: {e:?}");
            e.message().to_owned()
        }
    };
    let m = invalid(Options::new().extra_header("bad name", "x"), "name");
    assert!(m.contains("extraHeaders"), "{m}");
    invalid(Options::new().extra_header("x-a", "a\r\nb"), "CR LF");
    let m = invalid(
        Options::new()
            .transports(&[Transport::JsonpPolling])
            .extra_header("x-a", "1"),
        "JSONP only",
    );
    assert!(m.contains("jsonp-polling"), "{m}");
}

#[wasm_bindgen_test]
async fn an_unreachable_server_ends_with_closed() {
    // Nothing listens on port 1: each attempt fails at once.
    let options = Options::new()
        .transports(&[Transport::WebSocket, Transport::XhrPolling])
        .reconnect(Some(Reconnect {
            backoff: Backoff::constant(50),
            max_attempts: Some(2),
        }));
    let mut socket = io("http://127.0.0.1:1/", options).unwrap();
    let mut events = Vec::new();
    // Bounded: the stream must end.
    for _ in 0..100 {
        match within("closing", socket.next()).await {
            Some(event) => events.push(event),
            None => break,
        }
    }
    assert!(
        matches!(events.first(), Some(Event::Error(e)) if e.kind() == ErrorKind::Network),
        "{events:?}"
    );
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::Reconnecting { attempt: 2 })),
        "{events:?}"
    );
    assert!(
        matches!(
            events.last(),
            Some(Event::Closed {
                reason: CloseReason::ConnectFailed
            })
        ),
        "{events:?}"
    );
    assert!(!events.iter().any(|e| matches!(e, Event::Connect { .. })));
}

#[wasm_bindgen_test]
async fn dropping_releases_every_request_socket_and_frame() {
    let t = tracker();
    for transport in [
        Transport::WebSocket,
        Transport::XhrPolling,
        Transport::JsonpPolling,
    ] {
        let what = transport.name();
        let mut socket = io(URL, options(&[transport])).unwrap();
        connected(&mut socket).await;
        let pending = socket.emit_with_ack("silent", "[]").unwrap();
        // A sender keeps the namespace joined after the socket is gone.
        let sender = socket.sender();
        drop(socket);
        let answer = sender.emit_with_ack("ack", r#"["still here"]"#).unwrap();
        assert_eq!(
            within(what, answer).await.unwrap().json,
            r#"["still here"]"#
        );
        assert!(t.made() > 0);
        // The last handle: the namespace is left, the ack awaited fails, and everything goes.
        drop(sender);
        let error = within(what, pending).await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Abort, "{what}: {error:?}");
        // Aborted tasks end on the browser's next turns.
        quiet(&t, what).await;
    }
    // A socket the server disconnected has left its namespace already; the connection is
    // released when the last handle goes.
    for transport in [Transport::WebSocket, Transport::XhrPolling] {
        let what = transport.name();
        let mut socket = io(URL, options(&[transport])).unwrap();
        connected(&mut socket).await;
        socket.emit("kick", "[]").unwrap();
        while within(what, socket.next()).await.is_some() {}
        drop(socket);
        quiet(&t, what).await;
    }
}

/// Waits (bounded) until nothing the tracker saw is alive, then checks that nothing new is
/// requested: a leaked poller would poll again at once, a leaked engine would reconnect
/// within its 100-400 ms backoff or ping within 2 s.
async fn quiet(t: &Tracker, what: &str) {
    let mut alive = t.alive();
    for _ in 0..100 {
        if alive.length() == 0 {
            break;
        }
        TimeoutFuture::new(20).await;
        alive = t.alive();
    }
    assert_eq!(alive.length(), 0, "{what}: {alive:?}");
    let made = t.made();
    TimeoutFuture::new(600).await;
    assert_eq!(t.made(), made, "{what}: requests after the drop");
}
