//! The Engine.IO v4 client machine driven by scripted servers, with simulated time.

use cometkit_protocol::backoff::Backoff;
use cometkit_protocol::engineio::{
    base64_decode, base64_encode, decode_frame, decode_packet, decode_payload, encode_frame,
    encode_payload, jsonp_post_body, jsonp_response_payload, Action, CloseReason, Config, Data,
    Engine, Event, Frame, Handshake, Message, Packet, Transport, TransportId,
};
use cometkit_protocol::session::Reconnect;
use cometkit_protocol::ErrorKind;

const OPEN_WS: &str = r#"0{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#;
const OPEN_NO_UPGRADE: &str =
    r#"0{"sid":"s1","upgrades":[],"pingInterval":300,"pingTimeout":200,"maxPayload":1000000}"#;

fn text(s: &str) -> Packet {
    Packet::Message(Data::from(s))
}

fn open_packet(json: &str) -> Packet {
    decode_packet(json).unwrap()
}

fn config(transports: &[Transport]) -> Config {
    Config {
        transports: transports.to_vec(),
        reconnect: Some(Reconnect {
            backoff: Backoff {
                min: 1_000,
                max: 5_000,
                factor: 2.0,
                jitter: 0.0,
            },
            max_attempts: Some(3),
        }),
        ..Config::default()
    }
}

fn engine(config: Config) -> Engine {
    Engine::new("http://localhost:3000/socket.io/", config, Box::new(|| 0)).unwrap()
}

fn actions<M: Message>(e: &mut Engine<M>) -> Vec<Action<M>> {
    std::iter::from_fn(|| e.poll_action()).collect()
}

fn events<M: Message>(e: &mut Engine<M>) -> Vec<Event<M>> {
    std::iter::from_fn(|| e.poll_event()).collect()
}

fn only_poll(actions: &[Action]) -> (TransportId, Transport, String) {
    match actions {
        [Action::Poll { id, transport, url }] => (*id, *transport, url.clone()),
        other => panic!("expected one poll, got {other:?}"),
    }
}

/// Connects over XHR polling and answers the handshake; returns the transport id.
fn opened(e: &mut Engine, open: &str) -> TransportId {
    e.connect(0);
    let (id, transport, _) = only_poll(&actions(e));
    assert_eq!(transport, Transport::XhrPolling);
    e.handle_poll(10, id, vec![open_packet(open)]);
    id
}

/// Connects a WebSocket-only engine; returns the id of the WebSocket it opens.
fn websocket_id<M: Message + std::fmt::Debug>(e: &mut Engine<M>) -> TransportId {
    e.connect(0);
    let acts = actions(e);
    let [Action::OpenWebSocket { id, .. }] = acts[..] else {
        panic!("expected one WebSocket, got {acts:?}")
    };
    id
}

// --- codec ---------------------------------------------------------------------------------

#[test]
fn codec_vectors_from_the_protocol_docs() {
    let h = Handshake::parse(OPEN_WS.get(1..).unwrap()).unwrap();
    assert_eq!(h.sid, "lv_VI97HAXpY6yYWAAAC");
    assert_eq!(h.upgrades, ["websocket"]);
    assert_eq!((h.ping_interval, h.ping_timeout), (25_000, 20_000));
    assert_eq!(h.max_payload, 1_000_000);
    // Payload examples: text with a non-ASCII character, text and binary, the probe.
    assert_eq!(
        decode_payload("4hello\x1e4€").unwrap(),
        [text("hello"), text("€")]
    );
    let mixed = [
        text("hello"),
        Packet::Message(Data::Binary(vec![1, 2, 3, 4])),
    ];
    assert_eq!(encode_payload(&mixed), "4hello\x1ebAQIDBA==");
    assert_eq!(decode_payload("4hello\x1ebAQIDBA==").unwrap(), mixed);
    for (wire, packet) in [
        ("2probe", Packet::Ping(true)),
        ("3probe", Packet::Pong(true)),
        ("2", Packet::Ping(false)),
        ("3", Packet::Pong(false)),
        ("5", Packet::Upgrade),
        ("6", Packet::Noop),
        ("1", Packet::Close),
        ("4", text("")),
    ] {
        assert_eq!(decode_packet(wire).unwrap(), packet, "{wire}");
        assert_eq!(encode_payload(std::slice::from_ref(&packet)), wire);
    }
    // WebSocket: binary messages are raw binary frames, everything else text.
    assert_eq!(
        encode_frame(&Packet::Message(Data::Binary(vec![1, 2, 3, 4]))),
        Frame::Binary(vec![1, 2, 3, 4])
    );
    assert_eq!(encode_frame(&text("hello")), Frame::Text("4hello".into()));
    assert_eq!(
        decode_frame(Frame::Binary(vec![9])).unwrap(),
        Packet::Message(Data::Binary(vec![9]))
    );
    assert_eq!(
        decode_frame(Frame::Text("2probe".into())).unwrap(),
        Packet::Ping(true)
    );
}

#[test]
fn base64_matches_rfc_4648_and_round_trips() {
    for (plain, encoded) in [
        ("", ""),
        ("f", "Zg=="),
        ("fo", "Zm8="),
        ("foo", "Zm9v"),
        ("foob", "Zm9vYg=="),
        ("fooba", "Zm9vYmE="),
        ("foobar", "Zm9vYmFy"),
    ] {
        let mut s = String::new();
        base64_encode(plain.as_bytes(), &mut s);
        assert_eq!(s, encoded);
        assert_eq!(base64_decode(encoded).unwrap(), plain.as_bytes());
    }
    for len in 0..300usize {
        let bytes: Vec<u8> = (0..len).map(|i| (i * 37 + len) as u8).collect();
        let mut s = String::new();
        base64_encode(&bytes, &mut s);
        assert_eq!(s.len(), cometkit_protocol::engineio::base64_len(len));
        assert_eq!(base64_decode(&s).unwrap(), bytes);
    }
    for bad in ["Z", "Zg===", "Zm9v!", "Zm 9v", "Zm9vY", "=", "é"] {
        let err = base64_decode(bad).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Protocol, "{bad}");
    }
}

#[test]
fn jsonp_bodies() {
    // Newlines survive the server's unescaping; escaped newlines stay escaped.
    assert_eq!(jsonp_post_body("4a\nb"), "d=4a%5Cnb");
    assert_eq!(jsonp_post_body("4a\\nb"), "d=4a%5C%5Cnb");
    assert_eq!(jsonp_post_body("4x\x1e4y"), "d=4x%1E4y");
    assert_eq!(jsonp_post_body("4\\"), "d=4%5C");
    assert_eq!(
        jsonp_response_payload("___eio[0](\"4hello\\u001e4\\u2028\");", 0).unwrap(),
        "4hello\x1e4\u{2028}"
    );
    for bad in [
        "___eio[0](4hello);",
        "___eio[0](\"4hello\"",
        "alert(1)",
        "___eio[0](\"a\" + x);",
        "",
    ] {
        assert!(
            jsonp_response_payload(bad, 0).unwrap_err().is_protocol(),
            "{bad}"
        );
    }
}

#[test]
fn malformed_input_gives_typed_errors_never_panics() {
    for bad in ["", "7", "x", "bA", "b!!!!", "4ok\x1e", "\x1e"] {
        let err = decode_payload(bad).unwrap_err();
        assert!(err.is_protocol(), "{bad:?}");
    }
    for (json, needle) in [
        ("", "expected a JSON object"),
        ("[]", "expected a JSON object"),
        (
            r#"{"pingInterval":1,"pingTimeout":1}"#,
            "\"sid\" is missing",
        ),
        (r#"{"sid":"","pingInterval":1,"pingTimeout":1}"#, "empty"),
        (
            r#"{"sid":1,"pingInterval":1,"pingTimeout":1}"#,
            "\"sid\" must be",
        ),
        (
            r#"{"sid":"a","pingTimeout":1}"#,
            "\"pingInterval\" is missing",
        ),
        (
            r#"{"sid":"a","pingInterval":-1,"pingTimeout":1}"#,
            "\"pingInterval\" must",
        ),
        (
            r#"{"sid":"a","pingInterval":1}"#,
            "\"pingTimeout\" is missing",
        ),
        (
            r#"{"sid":"a","pingInterval":1,"pingTimeout":1,"upgrades":"websocket"}"#,
            "\"upgrades\"",
        ),
        (
            r#"{"sid":"a","pingInterval":1,"pingTimeout":1,"maxPayload":1.5}"#,
            "\"maxPayload\"",
        ),
        (
            r#"{"sid":"a","pingInterval":1,"pingTimeout":1} x"#,
            "after the JSON value",
        ),
        (r#"{"sid":"a""#, "expected"),
    ] {
        let err = Handshake::parse(json).unwrap_err();
        assert!(err.is_protocol());
        assert!(err.message().contains(needle), "{json}: {}", err.message());
    }
    // Unknown fields are skipped and maxPayload is optional.
    let h = Handshake::parse(r#"{"x":{"y":[1,null]},"sid":"a","pingInterval":1,"pingTimeout":2}"#)
        .unwrap();
    assert_eq!(h.max_payload, u64::MAX);
    assert!(!h.can_upgrade_to_websocket());
    // Every prefix and every byte mutation of valid input: an answer, never a panic.
    let samples = [
        OPEN_WS,
        "4hello\x1ebAQIDBA==\x1e2probe",
        "___eio[1](\"4a\");",
    ];
    for sample in samples {
        let bytes = sample.as_bytes();
        for cut in 0..=bytes.len() {
            if let Ok(s) = std::str::from_utf8(&bytes[..cut]) {
                let _ = decode_payload(s);
                let _ = Handshake::parse(s.get(1..).unwrap_or(""));
                let _ = jsonp_response_payload(s, 1);
            }
        }
        for i in 0..bytes.len() {
            for b in [b'"', b'\\', b'{', b'}', b'0', b'\x1e', b'=', 0xff] {
                let mut m = bytes.to_vec();
                m[i] = b;
                let s = String::from_utf8_lossy(&m);
                let _ = decode_payload(&s);
                let _ = Handshake::parse(s.get(1..).unwrap_or(""));
                let _ = jsonp_response_payload(&s, 1);
            }
        }
    }
}

// --- URLs and configuration ------------------------------------------------------------------

#[test]
fn urls_carry_the_engine_query_user_query_and_a_fresh_cache_buster() {
    let mut c = config(&[Transport::JsonpPolling, Transport::WebSocket]);
    c.query = vec![("token".into(), "a b".into())];
    c.jsonp_index = 7;
    let mut e = Engine::new("https://h.example/socket.io/?x=1", c, Box::new(|| 0)).unwrap();
    e.connect(0);
    let (id, transport, url) = only_poll(&actions(&mut e));
    assert_eq!(transport, Transport::JsonpPolling);
    assert_eq!(
        url,
        "https://h.example/socket.io/?x=1&token=a%20b&EIO=4&transport=polling&j=7&t=0"
    );
    e.handle_poll(0, id, vec![open_packet(OPEN_WS)]);
    let acts = actions(&mut e);
    // The probe WebSocket and the next poll, both with the sid; two requests in the same
    // millisecond get different cache busters.
    let [Action::OpenWebSocket { url: ws, .. }, Action::Poll { url: poll, .. }] = &acts[..] else {
        panic!("{acts:?}")
    };
    assert_eq!(
        ws,
        "wss://h.example/socket.io/?x=1&token=a%20b&EIO=4&transport=websocket&sid=lv_VI97HAXpY6yYWAAAC"
    );
    assert!(
        poll.ends_with("&sid=lv_VI97HAXpY6yYWAAAC&j=7&t=0.1"),
        "{poll}"
    );
}

#[test]
fn bad_configuration_is_refused() {
    let c = Config {
        query: vec![("sid".into(), "x".into())],
        ..Config::default()
    };
    let err = Engine::<Data>::new("http://h/", c, Box::new(|| 0))
        .err()
        .unwrap();
    assert!(err.is_invalid());
    let c = Config {
        transports: vec![],
        ..Config::default()
    };
    assert!(Engine::<Data>::new("http://h/", c, Box::new(|| 0)).is_err());
    assert!(Engine::<Data>::new("ftp://h/", Config::default(), Box::new(|| 0)).is_err());
    assert!(Engine::<Data>::new("/relative", Config::default(), Box::new(|| 0)).is_err());
    assert!(Transport::parse("flashsocket").unwrap_err().is_invalid());
}

// --- handshake, heartbeat ------------------------------------------------------------------

#[test]
fn handshake_ping_pong_and_ping_timeout() {
    let mut e = engine(config(&[Transport::XhrPolling]));
    assert_eq!(e.poll_timeout(), None);
    let id = opened(&mut e, OPEN_NO_UPGRADE);
    let evs = events(&mut e);
    assert!(
        matches!(&evs[..], [Event::Open { handshake, transport: Transport::XhrPolling }] if handshake.sid == "s1")
    );
    assert_eq!(e.handshake().map(|h| h.sid.as_str()), Some("s1"));
    assert_eq!(e.transport(), Some(Transport::XhrPolling));
    let (_, _, url) = only_poll(&actions(&mut e));
    assert!(url.contains("sid=s1"));
    // Silence allowed: pingInterval + pingTimeout after the last packet.
    assert_eq!(e.poll_timeout(), Some(10 + 500));
    // The server pings; the engine answers with a pong and re-polls.
    e.handle_poll(300, id, vec![Packet::Ping(false)]);
    let acts = actions(&mut e);
    assert!(matches!(&acts[0], Action::Send { packets, .. } if packets == &[Packet::Pong(false)]));
    assert!(matches!(&acts[1], Action::Poll { .. }));
    assert_eq!(e.poll_timeout(), Some(800));
    e.handle_send_done(301, id, Ok(()));
    // Any packet counts as life.
    e.handle_poll(700, id, vec![text("x")]);
    assert_eq!(e.poll_timeout(), Some(1_200));
    // Early timer: nothing.
    e.handle_timeout(1_199);
    assert!(e.is_open());
    // Then silence: a drop, and a reconnection after the backoff.
    events(&mut e);
    actions(&mut e);
    e.handle_timeout(1_200);
    let evs = events(&mut e);
    assert!(
        matches!(
            &evs[..],
            [
                Event::Disconnected {
                    reason: CloseReason::PingTimeout,
                    error: None,
                    ..
                },
                Event::Reconnecting {
                    delay_ms: 1_000,
                    attempt: 1
                }
            ]
        ),
        "{evs:?}"
    );
    assert_eq!(CloseReason::PingTimeout.as_str(), "ping timeout");
    assert_eq!(actions(&mut e), [Action::CloseTransport { id }]);
    assert_eq!(e.poll_timeout(), Some(2_200));
    e.handle_timeout(2_200);
    let (_, _, url) = only_poll(&actions(&mut e));
    assert!(!url.contains("sid="), "a new handshake: {url}");
}

#[test]
fn messages_in_the_handshake_response_and_server_close() {
    let mut e = engine(config(&[Transport::XhrPolling]));
    e.connect(0);
    let (id, _, _) = only_poll(&actions(&mut e));
    e.handle_poll_body(5, id, &[OPEN_NO_UPGRADE, "\x1e40\x1ebAQ=="].concat());
    let evs = events(&mut e);
    assert!(matches!(evs[0], Event::Open { .. }));
    assert_eq!(evs[1], Event::Message(Data::from("0")));
    assert_eq!(evs[2], Event::Message(Data::Binary(vec![1])));
    actions(&mut e);
    // A close packet from the server: a drop that reconnects.
    e.handle_poll_body(6, id, "1");
    let evs = events(&mut e);
    assert!(matches!(
        evs[0],
        Event::Disconnected {
            reason: CloseReason::Server,
            ..
        }
    ));
    assert!(matches!(evs[1], Event::Reconnecting { .. }));
}

#[test]
fn handshake_failures_move_to_the_next_transport() {
    // Not an open packet, a broken JSON, an empty body: each fails the attempt.
    for body in ["4hello", "0{\"sid\":", "", "zzz"] {
        let mut e = engine(config(&[Transport::XhrPolling, Transport::XdrPolling]));
        e.connect(0);
        let (id, _, _) = only_poll(&actions(&mut e));
        e.handle_poll_body(5, id, body);
        let evs = events(&mut e);
        assert!(
            matches!(&evs[..], [Event::Error(err)] if err.is_protocol()),
            "{body:?}: {evs:?}"
        );
        let acts = actions(&mut e);
        assert_eq!(acts[0], Action::CloseTransport { id });
        assert!(matches!(
            &acts[1],
            Action::Poll {
                transport: Transport::XdrPolling,
                ..
            }
        ));
    }
}

// --- fallback and reconnection ---------------------------------------------------------------

#[test]
fn cors_refusal_falls_back_to_jsonp_then_xdr_and_rounds_back_off() {
    let mut e = engine(config(&[
        Transport::XhrPolling,
        Transport::JsonpPolling,
        Transport::XdrPolling,
    ]));
    e.connect(0);
    let (xhr, _, _) = only_poll(&actions(&mut e));
    e.handle_poll_failed(3, xhr, cometkit_protocol::Error::network("CORS refused"));
    let evs = events(&mut e);
    assert!(matches!(&evs[..], [Event::Error(err)] if err.is_network()));
    let acts = actions(&mut e);
    assert_eq!(acts[0], Action::CloseTransport { id: xhr });
    let Action::Poll {
        id: jsonp,
        transport: Transport::JsonpPolling,
        url,
    } = &acts[1]
    else {
        panic!("{acts:?}")
    };
    assert!(url.contains("&j=0&"));
    let jsonp = *jsonp;
    // Late news from the abandoned XHR is ignored.
    e.handle_poll(4, xhr, vec![open_packet(OPEN_NO_UPGRADE)]);
    assert!(events(&mut e).is_empty());
    // JSONP times out too, then XDR: the round failed; the next one comes after the backoff.
    e.handle_timeout(20_003);
    let (xdr, t, _) = {
        let acts = actions(&mut e);
        assert_eq!(acts[0], Action::CloseTransport { id: jsonp });
        only_poll(&acts[1..])
    };
    assert_eq!(t, Transport::XdrPolling);
    e.handle_poll_failed(20_010, xdr, cometkit_protocol::Error::network("refused"));
    let evs = events(&mut e);
    assert!(matches!(evs[0], Event::Error(ref err) if err.is_timeout()));
    assert!(matches!(evs[1], Event::Error(_)));
    assert_eq!(
        evs[2],
        Event::Reconnecting {
            delay_ms: 1_000,
            attempt: 1
        }
    );
    actions(&mut e);
    // Backoff doubles while rounds keep failing, then the engine gives up.
    let mut now = 21_010;
    for expected in [Some(2_000), Some(4_000), None] {
        e.handle_timeout(now);
        for _ in 0..3 {
            let acts = actions(&mut e);
            let Some(Action::Poll { id, .. }) = acts.last() else {
                panic!("{acts:?}")
            };
            e.handle_poll_failed(now, *id, cometkit_protocol::Error::network("refused"));
        }
        let evs = events(&mut e);
        match expected {
            Some(delay) => {
                assert!(
                    matches!(evs.last(), Some(Event::Reconnecting { delay_ms, .. }) if *delay_ms == delay)
                );
                now += u64::from(delay);
            }
            None => {
                assert!(matches!(
                    evs.last(),
                    Some(Event::Closed {
                        reason: CloseReason::ConnectFailed,
                        ..
                    })
                ));
            }
        }
    }
    assert!(e.is_closed());
    assert_eq!(e.poll_timeout(), None);
    assert!(e.send(Data::from("late")).unwrap_err().is_invalid());
}

#[test]
fn websocket_first_when_it_worked_before_and_falls_back_to_polling() {
    let mut c = config(&[Transport::XhrPolling, Transport::WebSocket]);
    c.websocket_first = true;
    let mut e = engine(c);
    assert_eq!(e.ladder(), [Transport::WebSocket, Transport::XhrPolling]);
    e.connect(0);
    let acts = actions(&mut e);
    let [Action::OpenWebSocket { id, url }] = &acts[..] else {
        panic!("{acts:?}")
    };
    assert_eq!(
        url,
        "ws://localhost:3000/socket.io/?EIO=4&transport=websocket"
    );
    // The WebSocket is blocked (closed before any frame): polling next.
    e.handle_transport_closed(5, *id, None);
    assert!(matches!(&events(&mut e)[..], [Event::Error(_)]));
    let acts = actions(&mut e);
    assert!(matches!(
        acts[1],
        Action::Poll {
            transport: Transport::XhrPolling,
            ..
        }
    ));
}

#[test]
fn websocket_only_connection_sends_frames_without_batching() {
    let mut e = engine(config(&[Transport::WebSocket]));
    let id = websocket_id(&mut e);
    e.handle_ws_open(1, id);
    e.handle_frame(2, id, Frame::Text(OPEN_NO_UPGRADE.into()));
    assert!(e.is_open());
    assert_eq!(e.transport(), Some(Transport::WebSocket));
    for m in ["a", "b"] {
        e.send(Data::from(m)).unwrap();
    }
    e.send(Data::Binary(vec![0; 3])).unwrap();
    // Everything queued since the last poll goes in one Send: one frame each, no size budget.
    let acts = actions(&mut e);
    assert_eq!(
        acts,
        [Action::Send {
            id,
            transport: Transport::WebSocket,
            url: None,
            packets: vec![
                text("a"),
                text("b"),
                Packet::Message(Data::Binary(vec![0; 3]))
            ]
        }]
    );
    // The next waits for that one's confirmation.
    e.send(Data::from("c")).unwrap();
    assert!(actions(&mut e).is_empty());
    e.handle_send_done(3, id, Ok(()));
    assert!(
        matches!(&actions(&mut e)[..], [Action::Send { packets, .. }] if packets == &[text("c")])
    );
    e.handle_send_done(3, id, Ok(()));
    // A frame that is no packet: a parse error, and the connection is lost.
    e.handle_frame(4, id, Frame::Text("z".into()));
    let evs = events(&mut e);
    assert!(evs.iter().any(|ev| matches!(
        ev,
        Event::Disconnected {
            reason: CloseReason::ParseError,
            error: Some(_),
            ..
        }
    )));
}

// --- batching --------------------------------------------------------------------------------

#[test]
fn polling_batches_within_max_payload_one_post_at_a_time() {
    let mut e = engine(config(&[Transport::XhrPolling]));
    // Queued before the handshake: the limit is not known yet.
    e.send(Data::from("0123456789")).unwrap(); // 11 bytes encoded
    e.send(Data::from("x".repeat(40))).unwrap(); // 41 bytes: over the limit below
    let id = opened(
        &mut e,
        r#"0{"sid":"s","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":30}"#,
    );
    let evs = events(&mut e);
    assert!(
        matches!(&evs[1], Event::Rejected { message, error } if message.size() == 40 && error.is_invalid())
    );
    let acts = actions(&mut e);
    assert!(
        matches!(&acts[0], Action::Send { packets, url: Some(_), .. } if packets == &[text("0123456789")])
    );
    // Too large for the limit now that it is known: refused at once.
    let err = e.send(Data::from("y".repeat(30))).unwrap_err();
    assert!(err.is_invalid() && err.message().contains("maxPayload"));
    // Binary counts as base64 on polling: 21 bytes -> 1 + 28 = 29, fits alone.
    e.send(Data::Binary(vec![7; 21])).unwrap();
    assert!(e.send(Data::Binary(vec![7; 22])).is_err()); // 1 + 32
    for m in ["aaaa", "bbbb", "cccc", "dddd", "eeee", "ffff", "gggg"] {
        e.send(Data::from(m)).unwrap();
    }
    // Nothing more goes out while the first POST is in flight.
    assert!(!actions(&mut e)
        .iter()
        .any(|a| matches!(a, Action::Send { .. })));
    let mut batches = Vec::new();
    for _ in 0..4 {
        e.handle_send_done(20, id, Ok(()));
        for a in actions(&mut e) {
            if let Action::Send { packets, .. } = a {
                let body = encode_payload(&packets);
                assert!(body.len() <= 30, "{body:?}");
                batches.push(packets.len());
            }
        }
    }
    // 29 alone; then 5-byte packets joined by 1-byte separators: 5 fit in 29 <= 30, then 2.
    assert_eq!(batches, [1, 5, 2]);
    assert_eq!(e.queued_bytes(), 0);
}

#[test]
fn queue_bounds_are_errors() {
    let mut c = config(&[Transport::XhrPolling]);
    c.max_queued_messages = 2;
    c.max_queued_bytes = 10;
    let mut e = engine(c);
    e.send(Data::from("12345")).unwrap();
    assert!(e.send(Data::from("1234567")).unwrap_err().is_invalid()); // bytes
    e.send(Data::from("1")).unwrap();
    assert!(e.send(Data::from("1")).unwrap_err().is_invalid()); // count
    assert_eq!(e.queued_bytes(), 6);
    // Closing before any connection hands the queue back.
    e.close(0);
    let evs = events(&mut e);
    assert!(
        matches!(&evs[..], [Event::Closed { reason: CloseReason::Client, unsent }] if unsent.len() == 2)
    );
}

// --- upgrade ---------------------------------------------------------------------------------

/// Opens on polling with the upgrade offered; returns (polling id, probe id).
fn probing() -> (Engine, TransportId, TransportId) {
    let mut e = engine(config(&[Transport::XhrPolling, Transport::WebSocket]));
    let poll = opened(&mut e, OPEN_WS);
    events(&mut e);
    let acts = actions(&mut e);
    let [Action::OpenWebSocket { id: probe, url }, Action::Poll { .. }] = &acts[..] else {
        panic!("{acts:?}")
    };
    assert!(url.contains("transport=websocket&sid=lv_VI97HAXpY6yYWAAAC"));
    (e, poll, *probe)
}

#[test]
fn upgrade_by_probe_pauses_polling_then_moves_to_websocket() {
    let (mut e, poll, ws) = probing();
    e.handle_ws_open(20, ws);
    assert_eq!(
        actions(&mut e),
        [Action::Send {
            id: ws,
            transport: Transport::WebSocket,
            url: None,
            packets: vec![Packet::Ping(true)]
        }]
    );
    e.handle_send_done(20, ws, Ok(())); // not a link yet: ignored
                                        // Traffic still flows on polling while probing.
    e.send(Data::from("before")).unwrap();
    assert!(matches!(&actions(&mut e)[..], [Action::Send { id, .. }] if *id == poll));
    e.handle_packet(30, ws, Packet::Pong(true));
    // Paused: the POST and the GET in flight must finish first; new sends wait.
    e.send(Data::from("during")).unwrap();
    assert!(actions(&mut e).is_empty());
    e.handle_send_done(31, poll, Ok(()));
    assert!(actions(&mut e).is_empty(), "still paused, the GET is out");
    // The server releases the GET with a noop: no new poll, and the switch happens.
    e.handle_poll(40, poll, vec![Packet::Noop]);
    let acts = actions(&mut e);
    assert_eq!(
        acts,
        [
            Action::CloseTransport { id: poll },
            Action::Send {
                id: ws,
                transport: Transport::WebSocket,
                url: None,
                packets: vec![Packet::Upgrade]
            },
        ]
    );
    assert_eq!(events(&mut e), [Event::Upgraded(Transport::WebSocket)]);
    assert_eq!(e.transport(), Some(Transport::WebSocket));
    e.handle_send_done(41, ws, Ok(()));
    assert_eq!(
        actions(&mut e),
        [Action::Send {
            id: ws,
            transport: Transport::WebSocket,
            url: None,
            packets: vec![text("during")]
        }]
    );
    // Messages now come on the WebSocket; late polling news is ignored.
    e.handle_poll(42, poll, vec![text("stale")]);
    e.handle_packet(43, ws, text("hi"));
    assert_eq!(events(&mut e), [Event::Message(Data::from("hi"))]);
}

#[test]
fn failed_probe_keeps_polling() {
    // The WebSocket is refused.
    let (mut e, poll, ws) = probing();
    e.handle_transport_closed(5, ws, Some(cometkit_protocol::Error::network("blocked")));
    assert!(matches!(&events(&mut e)[..], [Event::UpgradeFailed(err)] if err.is_network()));
    assert_eq!(actions(&mut e), [Action::CloseTransport { id: ws }]);
    assert!(e.is_open());
    e.send(Data::from("x")).unwrap();
    assert!(matches!(&actions(&mut e)[..], [Action::Send { id, .. }] if *id == poll));

    // A wrong answer to the probe.
    let (mut e, _, ws) = probing();
    e.handle_ws_open(5, ws);
    actions(&mut e);
    e.handle_packet(6, ws, Packet::Pong(false));
    assert!(matches!(&events(&mut e)[..], [Event::UpgradeFailed(err)] if err.is_protocol()));

    // Silence: the probe times out (before the ping timeout), polling goes on.
    let (mut e, poll, ws) = probing();
    e.handle_ws_open(5, ws);
    actions(&mut e);
    assert_eq!(e.poll_timeout(), Some(10 + 10_000));
    e.handle_timeout(10_010);
    assert!(matches!(&events(&mut e)[..], [Event::UpgradeFailed(err)] if err.is_timeout()));
    assert_eq!(actions(&mut e), [Action::CloseTransport { id: ws }]);
    assert_eq!(e.poll_timeout(), Some(10 + 45_000));
    assert!(e.is_open());
    e.handle_poll(10_011, poll, vec![]);
    assert!(matches!(&actions(&mut e)[..], [Action::Poll { .. }]));

    // A GET that comes back empty while paused completes the switch as well as a noop.
    let (mut e, poll, ws) = probing();
    e.handle_ws_open(5, ws);
    e.handle_packet(6, ws, Packet::Pong(true));
    actions(&mut e);
    e.handle_poll(7, poll, vec![]);
    assert_eq!(events(&mut e), [Event::Upgraded(Transport::WebSocket)]);
}

#[test]
fn probe_failing_while_paused_resumes_polling() {
    let (mut e, poll, ws) = probing();
    e.handle_ws_open(5, ws);
    e.send(Data::from("queued")).unwrap();
    actions(&mut e);
    e.handle_packet(6, ws, Packet::Pong(true));
    // Paused, waiting for the POST; then the WebSocket dies.
    e.handle_transport_closed(7, ws, None);
    assert!(matches!(&events(&mut e)[..], [Event::UpgradeFailed(_)]));
    e.handle_send_done(8, poll, Ok(()));
    e.send(Data::from("after")).unwrap();
    let acts = actions(&mut e);
    assert!(acts.iter().any(|a| matches!(a, Action::Send { id, packets, .. } if *id == poll && packets == &[text("after")])), "{acts:?}");
    // The GET still pending: once it returns, polling goes on.
    e.handle_poll(9, poll, vec![]);
    assert!(actions(&mut e)
        .iter()
        .any(|a| matches!(a, Action::Poll { .. })));
}

#[test]
fn no_upgrade_when_disabled_or_not_offered() {
    let mut c = config(&[Transport::XhrPolling, Transport::WebSocket]);
    c.upgrade = false;
    let mut e = engine(c);
    opened(&mut e, OPEN_WS);
    assert!(!actions(&mut e)
        .iter()
        .any(|a| matches!(a, Action::OpenWebSocket { .. })));
    let mut e = engine(config(&[Transport::XhrPolling]));
    opened(&mut e, OPEN_WS);
    assert!(!actions(&mut e)
        .iter()
        .any(|a| matches!(a, Action::OpenWebSocket { .. })));
}

// --- close -----------------------------------------------------------------------------------

#[test]
fn close_sends_queued_messages_and_a_close_packet() {
    let mut e = engine(config(&[Transport::XhrPolling]));
    let id = opened(&mut e, OPEN_NO_UPGRADE);
    actions(&mut e);
    e.send(Data::from("a")).unwrap();
    assert!(
        matches!(&actions(&mut e)[..], [Action::Send { packets, .. }] if packets == &[text("a")])
    );
    e.send(Data::from("b")).unwrap();
    e.close(50);
    e.close(51); // twice: nothing more
                 // "a" is in flight; "b" and the close packet follow once it is done.
    assert!(actions(&mut e).is_empty());
    e.handle_send_done(60, id, Ok(()));
    assert!(
        matches!(&actions(&mut e)[..], [Action::Send { packets, .. }] if packets == &[text("b"), Packet::Close])
    );
    assert!(e.send(Data::from("c")).is_err());
    e.handle_send_done(61, id, Ok(()));
    assert_eq!(actions(&mut e), [Action::CloseTransport { id }]);
    let evs = events(&mut e);
    assert!(matches!(
        evs.last(),
        Some(Event::Closed {
            reason: CloseReason::Client,
            ..
        })
    ));
    assert!(e.is_closed());
}

#[test]
fn retune_changes_the_reconnection_and_open_deadline_of_a_running_engine() {
    let mut e = engine(config(&[Transport::XhrPolling]));
    opened(&mut e, OPEN_NO_UPGRADE);
    events(&mut e);
    actions(&mut e);
    let quick = Reconnect {
        backoff: Backoff {
            min: 50,
            max: 50,
            factor: 2.0,
            jitter: 0.0,
        },
        max_attempts: Some(3),
    };
    e.retune(Some(quick), 7_000);
    // Silence: the drop waits the new delay, not the 1 s the engine started with.
    e.handle_timeout(510);
    let evs = events(&mut e);
    assert!(
        matches!(
            &evs[..],
            [
                Event::Disconnected { .. },
                Event::Reconnecting {
                    delay_ms: 50,
                    attempt: 1
                }
            ]
        ),
        "{evs:?}"
    );
    actions(&mut e);
    e.handle_timeout(560);
    let (id, _, _) = only_poll(&actions(&mut e));
    // The new attempt has the new open deadline.
    assert_eq!(e.poll_timeout(), Some(7_560));
    // Reconnection off: the failed attempt ends the engine.
    e.retune(None, 7_000);
    e.handle_poll_failed(600, id, cometkit_protocol::Error::network("refused"));
    let evs = events(&mut e);
    assert!(
        matches!(
            &evs[..],
            [
                Event::Error(_),
                Event::Closed {
                    reason: CloseReason::ConnectFailed,
                    ..
                }
            ]
        ),
        "{evs:?}"
    );
    assert!(e.is_closed());
}

#[test]
fn losing_the_connection_returns_unsent_messages() {
    let mut c = config(&[Transport::XhrPolling]);
    c.reconnect = None;
    let mut e = engine(c);
    let id = opened(&mut e, OPEN_NO_UPGRADE);
    events(&mut e);
    e.send(Data::from("in flight")).unwrap();
    actions(&mut e);
    e.send(Data::from("queued")).unwrap();
    e.handle_send_done(20, id, Err(cometkit_protocol::Error::network("reset")));
    let evs = events(&mut e);
    assert!(
        matches!(
            &evs[..],
            [
                Event::Disconnected { reason: CloseReason::TransportError, error: Some(_), unsent },
                Event::Closed { reason: CloseReason::TransportError, .. }
            ] if unsent == &[Data::from("queued")]
        ),
        "{evs:?}"
    );
}

#[test]
fn broken_poll_bodies_and_stale_news() {
    let mut e = engine(config(&[Transport::XhrPolling]));
    let id = opened(&mut e, OPEN_NO_UPGRADE);
    events(&mut e);
    actions(&mut e);
    // A confirmation with no send in flight: ignored.
    e.handle_send_done(20, id, Ok(()));
    e.handle_send_done(21, id, Err(cometkit_protocol::Error::network("x")));
    assert!(e.is_open());
    assert!(events(&mut e).is_empty() && actions(&mut e).is_empty());
    let mut e = engine(config(&[Transport::XhrPolling]));
    let id = opened(&mut e, OPEN_NO_UPGRADE);
    events(&mut e);
    actions(&mut e);
    // A second handshake, then an undecodable body: parse errors that end the connection.
    e.handle_poll(20, id, vec![open_packet(OPEN_NO_UPGRADE)]);
    let evs = events(&mut e);
    assert!(
        matches!(&evs[0], Event::Disconnected { reason: CloseReason::ParseError, error: Some(err), .. } if err.is_protocol())
    );
    assert_eq!(CloseReason::ParseError.as_str(), "parse error");
    let mut e = engine(config(&[Transport::XhrPolling]));
    let id = opened(&mut e, OPEN_NO_UPGRADE);
    events(&mut e);
    actions(&mut e);
    e.handle_poll_body(20, id, "4ok\x1ebA");
    let evs = events(&mut e);
    assert!(
        matches!(
            &evs[0],
            Event::Disconnected {
                reason: CloseReason::ParseError,
                ..
            }
        ),
        "{evs:?}"
    );
    // A broken probe answer only abandons the probe.
    let (mut e, _, ws) = probing();
    e.handle_ws_open(5, ws);
    e.handle_frame(6, ws, Frame::Text("".into()));
    assert!(matches!(&events(&mut e)[..], [Event::UpgradeFailed(err)] if err.is_protocol()));
    assert!(e.is_open());
}

// --- sizes counted only when needed -------------------------------------------------------

/// A message whose exact size costs a count (as a JavaScript string's UTF-8 length does): the
/// bound is 3 bytes per character, and every count is recorded.
#[derive(Debug, Clone)]
struct Counted {
    text: String,
    counts: std::rc::Rc<std::cell::Cell<u32>>,
}

impl Message for Counted {
    fn is_binary(&self) -> bool {
        false
    }
    fn size(&self) -> usize {
        self.counts.set(self.counts.get() + 1);
        self.text.len()
    }
    fn size_at_most(&self) -> usize {
        3 * self.text.chars().count()
    }
}

#[test]
fn exact_sizes_are_counted_only_when_a_bound_would_break_a_limit() {
    let counts = std::rc::Rc::new(std::cell::Cell::new(0));
    let msg = |n: usize| Counted {
        text: "x".repeat(n),
        counts: counts.clone(),
    };
    let mut c = config(&[Transport::WebSocket]);
    c.max_queued_bytes = 5_000;
    let mut e: Engine<Counted> =
        Engine::new("http://localhost:3000/socket.io/", c, Box::new(|| 0)).unwrap();
    // Queued before the connection: 1,000 bytes each, bounded by 3,000.
    e.send(msg(1_000)).unwrap(); // charged 3,000: no count
    assert_eq!(counts.get(), 0);
    e.send(msg(1_000)).unwrap(); // 6,000 by bounds: both counted, 2,000 exactly
    assert_eq!(counts.get(), 2);
    e.send(msg(1_000)).unwrap(); // 2,000 + 3,000 fits by its bound
    e.send(msg(1_000)).unwrap(); // counted again: 3,000 + 1,000
    e.send(msg(1_000)).unwrap(); // 4,000 + 1,000 = the bound exactly
    let err = e.send(msg(1)).unwrap_err(); // 5,001: full whichever way it is counted
    assert!(
        err.is_invalid() && err.message().contains("queue is full"),
        "{err}"
    );
    assert_eq!(e.queued_bytes(), 5_000);

    // Open on WebSocket with a maxPayload of 100.
    let id = websocket_id(&mut e);
    e.handle_ws_open(1, id);
    e.handle_packet(
        2,
        id,
        Packet::Open(
            r#"{"sid":"s","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":100}"#
                .into(),
        ),
    );
    assert!(e.is_open());
    // The five queued messages (1,001 bytes framed) are each over maxPayload: rejected, and
    // the queue is empty after.
    let rejected = events(&mut e)
        .iter()
        .filter(|ev| matches!(ev, Event::Rejected { .. }))
        .count();
    assert_eq!(rejected, 5);
    assert_eq!(e.queued_bytes(), 0);
    actions(&mut e);

    // On the open WebSocket: a bound within maxPayload sends without a count.
    let before = counts.get();
    e.send(msg(30)).unwrap(); // framed at most 91
    let acts = actions(&mut e);
    assert!(
        matches!(&acts[..], [Action::Send { packets, .. }] if packets.len() == 1),
        "{acts:?}"
    );
    assert_eq!(counts.get(), before);
    e.handle_send_done(3, id, Ok(()));
    // A bound over maxPayload is counted: 60 fits (61 framed), 100 does not (101).
    e.send(msg(60)).unwrap();
    assert!(counts.get() > before);
    let err = e.send(msg(100)).unwrap_err();
    assert!(
        err.is_invalid() && err.message().contains("maxPayload"),
        "{err}"
    );
}

#[test]
fn a_message_taken_without_the_time_keeps_the_connection_alive_one_more_period() {
    let mut e = engine(config(&[Transport::WebSocket]));
    let id = websocket_id(&mut e);
    // Not open yet: the message comes back, to be given with the time.
    assert_eq!(
        e.handle_message(id, Data::from("early")),
        Err(Data::from("early"))
    );
    e.handle_ws_open(1, id);
    e.handle_frame(10, id, Frame::Text(OPEN_NO_UPGRADE.into())); // silence allowed: 300 + 200
    events(&mut e);
    assert_eq!(e.poll_timeout(), Some(510));
    e.handle_message(id, Data::from("hello")).unwrap();
    assert_eq!(events(&mut e), [Event::Message(Data::from("hello"))]);
    // At the deadline the message counts: one more period from then, not a ping timeout.
    e.handle_timeout(510);
    assert!(e.is_open());
    assert_eq!(e.poll_timeout(), Some(1_010));
    assert!(events(&mut e).is_empty());
    // Nothing more: the connection is lost at the next deadline.
    e.handle_timeout(1_010);
    assert!(
        matches!(
            &events(&mut e)[..],
            [
                Event::Disconnected {
                    reason: CloseReason::PingTimeout,
                    ..
                },
                ..
            ]
        ),
        "ping timeout expected"
    );
}

#[test]
fn bounds_then_exact_counts_decide_as_exact_sizes_alone_would() {
    // A small xorshift: the same scripts every run.
    let mut seed = 0x2545_f491_u32;
    let mut rand = move |n: u32| {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        seed % n
    };
    for round in 0..200 {
        let mut c = config(&[Transport::XhrPolling]);
        c.max_queued_bytes = 20 + rand(400) as usize;
        c.max_queued_messages = 2 + rand(40) as usize;
        let counts = std::rc::Rc::new(std::cell::Cell::new(0));
        let mut exact = engine(c.clone());
        let mut bounded: Engine<Counted> =
            Engine::new("http://localhost:3000/socket.io/", c, Box::new(|| 0)).unwrap();
        for _ in 0..60 {
            // 1-, 2- and 3-byte characters: the bound (3 per character) is loose for most.
            let text: String = (0..rand(50))
                .map(|_| ['a', 'é', '€'][rand(3) as usize])
                .collect();
            let a = exact.send(Data::from(text.as_str()));
            let b = bounded.send(Counted {
                text: text.clone(),
                counts: counts.clone(),
            });
            assert_eq!(
                a.is_ok(),
                b.is_ok(),
                "round {round}: {text:?}: {a:?} vs {b:?}"
            );
            assert_eq!(
                exact.queued_bytes(),
                bounded.queued_bytes(),
                "round {round}"
            );
        }
        exact.close(0);
        bounded.close(0);
        let a = match &events(&mut exact)[..] {
            [Event::Closed { unsent, .. }] => unsent.len(),
            other => panic!("round {round}: {other:?}"),
        };
        let b = match &events(&mut bounded)[..] {
            [Event::Closed { unsent, .. }] => unsent.len(),
            other => panic!("round {round}: {other:?}"),
        };
        assert_eq!(a, b, "round {round}: messages handed back");
    }
}
