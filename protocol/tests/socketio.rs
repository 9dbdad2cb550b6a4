//! Socket.IO v5: codec vectors, the client machine's namespaces, acks, buffer and recovery,
//! and one run of the whole stack (client over engine) against a scripted server.

use cometkit_protocol::engineio::{self, CloseReason, Data, Engine, Transport};
use cometkit_protocol::socketio::{
    check_array, check_object, check_payload, decode, encode, event_json, find_placeholders,
    last_string_arg, parse_header, placeholder, split_event, Client, Config, Decoder,
    DisconnectReason, Emit, Emitted, Event, Header, Incoming, Outgoing, PacketType, Payload,
    Reassembly,
};

fn p(json: &str) -> Payload {
    Payload::text(json)
}

fn enc(packet: Outgoing<Payload>) -> String {
    match encode(&packet).unwrap().remove(0) {
        Data::Text(s) => s,
        Data::Binary(_) => panic!("text first"),
    }
}

fn transmits(c: &mut Client<Payload>) -> Vec<String> {
    std::iter::from_fn(|| c.poll_transmit()).map(enc).collect()
}

fn events(c: &mut Client<Payload>) -> Vec<Event<Payload>> {
    std::iter::from_fn(|| c.poll_event()).collect()
}

/// `_at`: when the packet arrives, for the reader of the scenario; the client takes no time.
fn feed(c: &mut Client<Payload>, _at: u64, wire: &str) {
    let mut d = Decoder::default();
    let packet = d.decode(Data::from(wire)).unwrap().unwrap();
    c.handle_packet(packet);
}

const ACK: Emit = Emit {
    ack: true,
    timeout_ms: None,
    volatile: false,
};
const PLAIN: Emit = Emit {
    ack: false,
    timeout_ms: None,
    volatile: false,
};

// --- codec -----------------------------------------------------------------------------------

#[test]
fn server_packets_from_the_protocol_docs() {
    let cases: Vec<(&str, Incoming<String>)> = vec![
        (
            r#"0{"sid":"oSO0OpakMV_3jnilAAAA"}"#,
            Incoming::Connect {
                nsp: "/".into(),
                sid: "oSO0OpakMV_3jnilAAAA".into(),
                pid: None,
            },
        ),
        (
            r#"0/admin,{"sid":"oSO0OpakMV_3jnilAAAA","pid":"y2hJ"}"#,
            Incoming::Connect {
                nsp: "/admin".into(),
                sid: "oSO0OpakMV_3jnilAAAA".into(),
                pid: Some("y2hJ".into()),
            },
        ),
        (
            r#"4{"message":"Not authorized"}"#,
            Incoming::ConnectError {
                nsp: "/".into(),
                message: "Not authorized".into(),
                data: None,
            },
        ),
        (
            r#"4/admin,{"data":{"code":"E1","n":[1,"}"]},"message":"Not authorized"}"#,
            Incoming::ConnectError {
                nsp: "/admin".into(),
                message: "Not authorized".into(),
                data: Some(r#"{"code":"E1","n":[1,"}"]}"#.into()),
            },
        ),
        (
            r#"4"old style""#,
            Incoming::ConnectError {
                nsp: "/".into(),
                message: "old style".into(),
                data: None,
            },
        ),
        ("1", Incoming::Disconnect { nsp: "/".into() }),
        (
            "1/admin,",
            Incoming::Disconnect {
                nsp: "/admin".into(),
            },
        ),
        (
            r#"2["foo"]"#,
            Incoming::Event {
                nsp: "/".into(),
                id: None,
                args: r#"["foo"]"#.into(),
            },
        ),
        (
            r#"2/admin,["bar"]"#,
            Incoming::Event {
                nsp: "/admin".into(),
                id: None,
                args: r#"["bar"]"#.into(),
            },
        ),
        (
            r#"212["foo"]"#,
            Incoming::Event {
                nsp: "/".into(),
                id: Some(12),
                args: r#"["foo"]"#.into(),
            },
        ),
        (
            r#"3/admin,13["bar"]"#,
            Incoming::Ack {
                nsp: "/admin".into(),
                id: 13,
                args: r#"["bar"]"#.into(),
            },
        ),
        (
            r#"30[]"#,
            Incoming::Ack {
                nsp: "/".into(),
                id: 0,
                args: "[]".into(),
            },
        ),
    ];
    for (wire, expected) in cases {
        assert_eq!(decode(wire).unwrap(), expected, "{wire}");
    }
    // Binary packets: the header says how many attachments follow.
    let (h, start) = parse_header(
        r#"52-/admin,["baz",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#,
    )
    .unwrap();
    assert_eq!(
        h,
        Header {
            kind: PacketType::BinaryEvent,
            attachments: 2,
            nsp: "/admin".into(),
            id: None
        }
    );
    assert_eq!(start, 10);
    assert!(decode(r#"51-["baz",{"_placeholder":true,"num":0}]"#)
        .unwrap_err()
        .is_protocol());
}

#[test]
fn client_packets_encode_like_the_protocol_docs() {
    let connect = |nsp: &str, auth: Option<&str>| Outgoing::Connect {
        nsp: nsp.into(),
        auth: auth.map(p),
        recovery: None,
    };
    assert_eq!(enc(connect("/", None)), "0");
    assert_eq!(enc(connect("/admin", None)), "0/admin,");
    assert_eq!(
        enc(connect("/", Some(r#"{"token":"123"}"#))),
        r#"0{"token":"123"}"#
    );
    assert_eq!(
        enc(connect("/admin", Some(r#"{"token":"123"}"#))),
        r#"0/admin,{"token":"123"}"#
    );
    assert_eq!(
        enc(Outgoing::Disconnect {
            nsp: "/admin".into()
        }),
        "1/admin,"
    );
    assert_eq!(
        enc(Outgoing::Event {
            nsp: "/".into(),
            id: None,
            args: p(r#"["hello",1]"#)
        }),
        r#"2["hello",1]"#
    );
    assert_eq!(
        enc(Outgoing::Event {
            nsp: "/admin".into(),
            id: Some(456),
            args: p(r#"["project:delete",123]"#)
        }),
        r#"2/admin,456["project:delete",123]"#
    );
    assert_eq!(
        enc(Outgoing::Ack {
            nsp: "/admin".into(),
            id: 456,
            args: p("[]")
        }),
        "3/admin,456[]"
    );
    // Binary: the placeholders stay in the JSON, the bytes follow as binary messages.
    let args = Payload::new(["[", &placeholder(0), "]"].concat(), vec![vec![1, 2, 3]]);
    assert_eq!(
        encode(&Outgoing::Ack {
            nsp: "/admin".into(),
            id: 15,
            args
        })
        .unwrap(),
        [
            Data::from(r#"61-/admin,15[{"_placeholder":true,"num":0}]"#),
            Data::Binary(vec![1, 2, 3])
        ]
    );
    // Recovery merges pid and offset into auth.
    let recovering = |auth: Option<&str>, offset: Option<&str>| {
        enc(Outgoing::Connect {
            nsp: "/".into(),
            auth: auth.map(p),
            recovery: Some(("p1".into(), offset.map(str::to_owned))),
        })
    };
    assert_eq!(recovering(None, None), r#"0{"pid":"p1"}"#);
    assert_eq!(
        recovering(Some("{}"), Some("o\"1")),
        r#"0{"pid":"p1","offset":"o\"1"}"#
    );
    assert_eq!(
        recovering(Some(r#"{ "token":"x"}"#), Some("o1")),
        r#"0{"pid":"p1","offset":"o1","token":"x"}"#
    );
    // Bad input from the caller: typed errors.
    assert!(encode(&connect("/", Some("[1]"))).unwrap_err().is_invalid());
    assert!(encode(&connect("/", Some("{"))).unwrap_err().is_invalid());
    let missing = Outgoing::Event {
        nsp: "/".into(),
        id: None,
        args: p(&["[\"x\",", &placeholder(1), "]"].concat()),
    };
    assert!(encode(&missing).unwrap_err().is_invalid());
}

#[test]
fn malformed_packets_are_protocol_errors_never_panics() {
    for bad in [
        "",
        "7",
        "x",
        "5-[]",
        "51[\"a\"]",
        "5a-[]",
        "3[]",
        "3/admin,[]",
        "299999999999999999999999[\"a\"]",
        "599999999999-[]",
    ] {
        let err = parse_header(bad)
            .and_then(|_| decode(bad).map(|_| ()))
            .unwrap_err();
        assert!(err.is_protocol(), "{bad:?}");
    }
    for (kind, json) in [
        (PacketType::Event, "{}"),
        (PacketType::Event, "[]"),
        (PacketType::Event, "[true]"),
        (PacketType::Event, "[1.5]"),
        (PacketType::Event, r#"["a",]"#),
        (PacketType::Event, r#"["a"] x"#),
        (PacketType::Ack, "{}"),
        (PacketType::Ack, ""),
        (PacketType::Connect, "[]"),
        (PacketType::Connect, r#"{"sid":1}"#),
        (PacketType::Disconnect, "{}"),
        (PacketType::ConnectError, "1"),
        (PacketType::ConnectError, r#"{"data":1}"#),
    ] {
        let header = Header::new(kind, "/");
        let mut wire = String::new();
        let mut h = header.clone();
        h.id = matches!(kind, PacketType::Ack).then_some(1);
        h.encode(&mut wire);
        wire.push_str(json);
        assert!(decode(&wire).unwrap_err().is_protocol(), "{wire:?}");
    }
    assert!(check_payload(PacketType::Event, r#"[7,"x"]"#).is_ok());
    // Mutations of valid packets: always an answer.
    for sample in [
        r#"0/admin,{"sid":"oSO0","pid":"y2hJ"}"#,
        r#"4/admin,{"data":{"code":"E1"},"message":"No"}"#,
        r#"52-/admin,15["baz",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#,
    ] {
        let bytes = sample.as_bytes();
        for cut in 0..=bytes.len() {
            if let Ok(s) = std::str::from_utf8(&bytes[..cut]) {
                let _ = decode(s);
                let _ = last_string_arg(s);
                let _ = find_placeholders(s);
            }
        }
        for i in 0..bytes.len() {
            for b in [b'"', b'\\', b'{', b'}', b',', b'/', b'-', b'9', 0xc3] {
                let mut m = bytes.to_vec();
                m[i] = b;
                let s = String::from_utf8_lossy(&m);
                let _ = decode(&s);
                let mut d = Decoder::default();
                let _ = d.decode(Data::Text(s.to_string()));
                let _ = d.decode(Data::Binary(vec![1]));
                let _ = last_string_arg(&s);
            }
        }
    }
}

#[test]
fn placeholders_and_reassembly() {
    let json = r#"["a","{\"_placeholder\":true,\"num\":5}",{"_placeholder":true,"num":1},{"x":{"_placeholder":true,"num":0}}]"#;
    let found = find_placeholders(json);
    assert_eq!(found.iter().map(|(_, n)| *n).collect::<Vec<_>>(), [1, 0]);
    for (range, num) in &found {
        assert_eq!(&json[range.clone()], placeholder(*num));
    }
    assert!(Payload::new(json, vec![vec![0]]).placeholders().is_err());
    assert!(Payload::new(json, vec![vec![0], vec![1]])
        .placeholders()
        .is_ok());

    let mut d = Decoder::default();
    assert_eq!(
        d.decode(Data::from(
            r#"52-/admin,["baz",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#
        ))
        .unwrap(),
        None
    );
    assert_eq!(d.decode(Data::Binary(vec![1])).unwrap(), None);
    let Some(Incoming::Event { nsp, args, .. }) = d.decode(Data::Binary(vec![2, 3])).unwrap()
    else {
        panic!()
    };
    assert_eq!(nsp, "/admin");
    assert_eq!(args.attachments, [vec![1], vec![2, 3]]);
    // A text packet where an attachment was due, a stray binary, too many attachments.
    assert!(d
        .decode(Data::from("51-[\"a\",{\"_placeholder\":true,\"num\":0}]"))
        .unwrap()
        .is_none());
    assert!(d.decode(Data::from("2[\"b\"]")).unwrap_err().is_protocol());
    assert!(d.decode(Data::Binary(vec![1])).unwrap_err().is_protocol());
    assert!(d
        .decode(Data::from("51001-[\"a\"]"))
        .unwrap_err()
        .is_protocol());
    // A placeholder beyond the attachments received.
    assert!(d
        .decode(Data::from("51-[\"a\",{\"_placeholder\":true,\"num\":3}]"))
        .unwrap()
        .is_none());
    assert!(d.decode(Data::Binary(vec![1])).unwrap_err().is_protocol());
    // Generic over handles.
    let mut r: Reassembly<u32, u8> = Reassembly::new(2);
    let h = Header {
        attachments: 2,
        ..Header::new(PacketType::BinaryAck, "/")
    };
    assert_eq!(r.text(h.clone(), 7).unwrap(), None);
    assert!(r.is_waiting());
    assert_eq!(r.binary(1).unwrap(), None);
    assert_eq!(r.binary(2).unwrap(), Some((h, 7, vec![1, 2])));
}

// --- the client machine ----------------------------------------------------------------------

/// A client with `/` connected (sid s1) at time 0.
fn connected(config: Config) -> Client<Payload> {
    let mut c = Client::new(config);
    c.connect("/", None).unwrap();
    c.handle_engine_open(0);
    assert_eq!(transmits(&mut c), ["0"]);
    feed(&mut c, 0, r#"0{"sid":"s1"}"#);
    assert_eq!(
        events(&mut c),
        [Event::Connect {
            nsp: "/".into(),
            sid: "s1".into(),
            recovered: false
        }]
    );
    c
}

#[test]
fn namespaces_multiplex_and_auth_refusal_is_a_connect_error() {
    let mut c: Client<Payload> = Client::new(Config::default());
    assert!(c.connect("admin", None).unwrap_err().is_invalid());
    c.connect("/", None).unwrap();
    c.connect("/admin", Some(p(r#"{"token":"bad"}"#))).unwrap();
    assert!(transmits(&mut c).is_empty(), "engine not open yet");
    c.handle_engine_open(0);
    assert_eq!(transmits(&mut c), ["0", r#"0/admin,{"token":"bad"}"#]);
    feed(&mut c, 1, r#"0{"sid":"main"}"#);
    feed(
        &mut c,
        1,
        r#"4/admin,{"message":"Not authorized","data":{"reason":"token"}}"#,
    );
    assert_eq!(
        events(&mut c),
        [
            Event::Connect {
                nsp: "/".into(),
                sid: "main".into(),
                recovered: false
            },
            Event::ConnectError {
                nsp: "/admin".into(),
                message: "Not authorized".into(),
                data: Some(r#"{"reason":"token"}"#.into()),
            },
        ]
    );
    assert_eq!(c.sid("/"), Some("main"));
    assert!(!c.is_connected("/admin"));
    assert!(c
        .emit(2, "/admin", p(r#"["x"]"#), PLAIN)
        .unwrap_err()
        .is_invalid());
    // Connecting again with good credentials.
    c.connect("/admin", Some(p(r#"{"token":"good"}"#))).unwrap();
    assert_eq!(transmits(&mut c), [r#"0/admin,{"token":"good"}"#]);
    feed(&mut c, 3, r#"0/admin,{"sid":"adm"}"#);
    // Events are routed by namespace; packets for unknown namespaces are ignored.
    feed(&mut c, 4, r#"2/admin,["tick",1]"#);
    feed(&mut c, 4, r#"2/other,["tick",2]"#);
    feed(&mut c, 4, r#"2["tick",3]"#);
    let evs = events(&mut c);
    assert_eq!(evs.len(), 3);
    assert!(
        matches!(&evs[1], Event::Event { nsp, args, ack: None } if nsp == "/admin" && args.json == r#"["tick",1]"#)
    );
    assert!(matches!(&evs[2], Event::Event { nsp, .. } if nsp == "/"));
    assert_eq!(
        c.emit(5, "/admin", p(r#"["hi"]"#), PLAIN).unwrap(),
        Emitted::Sent(None)
    );
    assert_eq!(transmits(&mut c), [r#"2/admin,["hi"]"#]);
}

#[test]
fn acks_complete_time_out_and_ignore_late_answers() {
    let mut c = connected(Config {
        ack_timeout_ms: Some(1_000),
        ..Config::default()
    });
    assert_eq!(
        c.emit(10, "/", p(r#"["a"]"#), ACK).unwrap(),
        Emitted::Sent(Some(0))
    );
    let fast = Emit {
        timeout_ms: Some(100),
        ..ACK
    };
    assert_eq!(
        c.emit(20, "/", p(r#"["b"]"#), fast).unwrap(),
        Emitted::Sent(Some(1))
    );
    assert_eq!(transmits(&mut c), [r#"20["a"]"#, r#"21["b"]"#]);
    assert_eq!(c.poll_timeout(), Some(120));
    c.handle_timeout(119);
    assert!(events(&mut c).is_empty());
    c.handle_timeout(120);
    assert!(matches!(
        &events(&mut c)[..],
        [Event::AckFailed { id: 1, error, .. }] if error.is_timeout() && error.message() == "operation has timed out"
    ));
    // The late answer is ignored; the other completes once, a duplicate is ignored.
    feed(&mut c, 130, r#"31["late"]"#);
    feed(&mut c, 140, r#"30["ok",{"n":1}]"#);
    feed(&mut c, 141, r#"30["again"]"#);
    let evs = events(&mut c);
    assert!(
        matches!(&evs[..], [Event::Ack { id: 0, args, .. }] if args.json == r#"["ok",{"n":1}]"#)
    );
    assert_eq!(c.poll_timeout(), None);
    // Answering the server's ack request, with binary.
    feed(&mut c, 150, r#"27["question"]"#);
    let evs = events(&mut c);
    assert!(matches!(&evs[..], [Event::Event { ack: Some(7), .. }]));
    c.ack(
        "/",
        7,
        Payload::new(["[", &placeholder(0), "]"].concat(), vec![vec![9]]),
    )
    .unwrap();
    let out = encode(&c.poll_transmit().unwrap()).unwrap();
    assert_eq!(
        out,
        [
            Data::from(r#"61-7[{"_placeholder":true,"num":0}]"#),
            Data::Binary(vec![9])
        ]
    );
    assert!(c.ack("/nope", 1, p("[]")).unwrap_err().is_invalid());
}

#[test]
fn emits_buffer_while_disconnected_within_bounds_and_flush_in_order() {
    let mut c = connected(Config {
        max_buffered_packets: 3,
        max_buffered_bytes: 30,
        ack_timeout_ms: None,
    });
    // A sent event waiting for its ack, then the engine drops.
    c.emit(1, "/", p(r#"["sent"]"#), ACK).unwrap();
    transmits(&mut c);
    c.handle_engine_closed(2, CloseReason::TransportClose, false);
    let evs = events(&mut c);
    assert_eq!(
        evs[0],
        Event::Disconnect {
            nsp: "/".into(),
            reason: DisconnectReason::Engine(CloseReason::TransportClose)
        }
    );
    assert_eq!(
        DisconnectReason::Engine(CloseReason::TransportClose).as_str(),
        "transport close"
    );
    assert!(matches!(&evs[1], Event::AckFailed { id: 0, error, .. } if error.is_network()));
    // Volatile: dropped while disconnected.
    let volatile = Emit {
        volatile: true,
        ..PLAIN
    };
    assert_eq!(
        c.emit(3, "/", p(r#"["v"]"#), volatile).unwrap(),
        Emitted::Dropped
    );
    // Buffered, bounded by bytes then by count.
    assert_eq!(
        c.emit(3, "/", p(r#"["one"]"#), PLAIN).unwrap(),
        Emitted::Buffered(None)
    );
    assert_eq!(
        c.emit(3, "/", p(r#"["two"]"#), ACK).unwrap(),
        Emitted::Buffered(Some(1))
    );
    let big = p(r#"["a long event name here"]"#);
    assert!(c.emit(3, "/", big, PLAIN).unwrap_err().is_invalid());
    assert_eq!(
        c.emit(3, "/", p(r#"["3"]"#), PLAIN).unwrap(),
        Emitted::Buffered(None)
    );
    let err = c.emit(3, "/", p(r#"["4"]"#), PLAIN).unwrap_err();
    assert!(err.is_invalid() && err.message().contains("buffer is full"));
    assert_eq!(c.buffered(), 3);
    assert!(transmits(&mut c).is_empty());
    // The engine comes back: CONNECT, then on the answer the buffer in order.
    c.handle_engine_open(10);
    assert_eq!(transmits(&mut c), ["0"]);
    feed(&mut c, 11, r#"0{"sid":"s2"}"#);
    assert_eq!(
        transmits(&mut c),
        [r#"2["one"]"#, r#"21["two"]"#, r#"2["3"]"#]
    );
    assert_eq!(c.buffered(), 0);
    // Volatile goes out when connected.
    assert_eq!(
        c.emit(12, "/", p(r#"["v"]"#), volatile).unwrap(),
        Emitted::Sent(None)
    );
}

#[test]
fn ack_timeout_removes_the_buffered_event() {
    let mut c = connected(Config::default());
    c.handle_engine_closed(1, CloseReason::PingTimeout, false);
    events(&mut c);
    let timed = Emit {
        timeout_ms: Some(50),
        ..ACK
    };
    assert_eq!(
        c.emit(2, "/", p(r#"["a"]"#), PLAIN).unwrap(),
        Emitted::Buffered(None)
    );
    assert_eq!(
        c.emit(2, "/", p(r#"["x"]"#), timed).unwrap(),
        Emitted::Buffered(Some(0))
    );
    assert_eq!(
        c.emit(3, "/", p(r#"["b"]"#), ACK).unwrap(),
        Emitted::Buffered(Some(1))
    );
    c.handle_timeout(52);
    assert!(
        matches!(&events(&mut c)[..], [Event::AckFailed { id: 0, error, .. }] if error.is_timeout())
    );
    assert_eq!(
        c.buffered(),
        2,
        "only the timed-out event leaves the buffer"
    );
    c.handle_engine_open(60);
    feed(&mut c, 60, r#"0{"sid":"s"}"#);
    assert_eq!(
        transmits(&mut c),
        ["0", r#"2["a"]"#, r#"21["b"]"#],
        "the others, in order: the timed-out event is not sent"
    );
    assert_eq!(c.buffered(), 0);
}

#[test]
fn leaving_a_namespace_drops_only_its_buffered_events() {
    let mut c = connected(Config::default());
    c.connect("/admin", None).unwrap();
    feed(&mut c, 1, r#"0/admin,{"sid":"s2"}"#);
    transmits(&mut c);
    events(&mut c);
    c.handle_engine_closed(2, CloseReason::PingTimeout, false);
    events(&mut c);
    for (nsp, json) in [("/", r#"["a"]"#), ("/admin", r#"["x"]"#), ("/", r#"["b"]"#)] {
        assert_eq!(
            c.emit(3, nsp, p(json), PLAIN).unwrap(),
            Emitted::Buffered(None)
        );
    }
    c.disconnect("/admin");
    assert_eq!(c.buffered(), 2);
    c.handle_engine_open(10);
    feed(&mut c, 11, r#"0{"sid":"s3"}"#);
    assert_eq!(transmits(&mut c), ["0", r#"2["a"]"#, r#"2["b"]"#]);
    assert_eq!(c.buffered(), 0);
}

#[test]
fn connection_state_recovery_sends_pid_and_offset() {
    let mut c: Client<Payload> = Client::new(Config::default());
    c.connect("/", Some(p(r#"{"token":"t"}"#))).unwrap();
    c.handle_engine_open(0);
    assert_eq!(transmits(&mut c), [r#"0{"token":"t"}"#]);
    feed(&mut c, 1, r#"0{"sid":"s1","pid":"P"}"#);
    feed(&mut c, 2, r#"2["chat","hi","MzUP-0"]"#);
    feed(&mut c, 3, r#"2["chat","there","MzUP-1"]"#);
    feed(&mut c, 4, r#"2["chat",{"no":"offset"}]"#); // not a string last: offset kept
    events(&mut c);
    c.handle_engine_closed(5, CloseReason::TransportError, false);
    c.handle_engine_open(6);
    assert_eq!(
        transmits(&mut c),
        [r#"0{"pid":"P","offset":"MzUP-1","token":"t"}"#]
    );
    feed(&mut c, 7, r#"0{"sid":"s2","pid":"P"}"#);
    let evs = events(&mut c);
    assert!(matches!(evs.last(), Some(Event::Connect { recovered: true, sid, .. }) if sid == "s2"));
    // The server could not recover: a new pid, not recovered, the offset starts over.
    c.handle_engine_closed(8, CloseReason::TransportError, false);
    c.handle_engine_open(9);
    transmits(&mut c);
    feed(&mut c, 10, r#"0{"sid":"s3","pid":"Q"}"#);
    assert!(matches!(
        events(&mut c).last(),
        Some(Event::Connect {
            recovered: false,
            ..
        })
    ));
    c.handle_engine_closed(11, CloseReason::TransportError, false);
    c.handle_engine_open(12);
    assert_eq!(transmits(&mut c), [r#"0{"pid":"Q","token":"t"}"#]);
    // Without recovery on the server no offsets are tracked.
    let mut plain = connected(Config::default());
    feed(&mut plain, 1, r#"2["chat","x"]"#);
    plain.handle_engine_closed(2, CloseReason::TransportError, false);
    plain.handle_engine_open(3);
    assert_eq!(transmits(&mut plain), ["0"]);
}

#[test]
fn missed_events_sent_before_the_connect_answer_follow_it() {
    // socket.io 4.8 writes a recovered session's missed events before its CONNECT answer.
    let mut c: Client<Payload> = Client::new(Config::default());
    c.connect("/", None).unwrap();
    c.handle_engine_open(0);
    transmits(&mut c);
    feed(&mut c, 1, r#"0{"sid":"s1","pid":"P"}"#);
    feed(&mut c, 2, r#"2["chat","a","o1"]"#);
    events(&mut c);
    c.handle_engine_closed(3, CloseReason::TransportClose, false);
    c.handle_engine_open(4);
    assert_eq!(transmits(&mut c), [r#"0{"pid":"P","offset":"o1"}"#]);
    events(&mut c); // the disconnect
    feed(&mut c, 5, r#"2["missed",0,"o2"]"#);
    feed(&mut c, 6, r#"2["missed",1,"o3"]"#);
    assert!(
        events(&mut c).is_empty(),
        "held until the namespace is connected"
    );
    feed(&mut c, 7, r#"0{"sid":"s1","pid":"P"}"#);
    let evs = events(&mut c);
    assert!(matches!(
        &evs[0],
        Event::Connect {
            recovered: true,
            ..
        }
    ));
    let args: Vec<_> = evs[1..]
        .iter()
        .map(|e| match e {
            Event::Event { args, .. } => args.json.clone(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(args, [r#"["missed",0,"o2"]"#, r#"["missed",1,"o3"]"#]);
    // The offset moved to the last of them.
    c.handle_engine_closed(8, CloseReason::TransportClose, false);
    c.handle_engine_open(9);
    assert_eq!(transmits(&mut c), [r#"0{"pid":"P","offset":"o3"}"#]);
    // Events held for a connection that is lost before its answer are dropped.
    feed(&mut c, 10, r#"2["stale"]"#);
    c.handle_engine_closed(11, CloseReason::TransportClose, false);
    c.handle_engine_open(12);
    transmits(&mut c);
    events(&mut c);
    feed(&mut c, 13, r#"0{"sid":"s2","pid":"P"}"#);
    assert_eq!(events(&mut c).len(), 1, "only the Connect");
}

#[test]
fn server_and_client_disconnects() {
    let mut c = connected(Config::default());
    c.emit(1, "/", p(r#"["q"]"#), ACK).unwrap();
    transmits(&mut c);
    feed(&mut c, 2, "1");
    let evs = events(&mut c);
    assert!(matches!(&evs[0], Event::AckFailed { id: 0, .. }));
    assert_eq!(
        evs[1],
        Event::Disconnect {
            nsp: "/".into(),
            reason: DisconnectReason::Server
        }
    );
    assert_eq!(DisconnectReason::Server.as_str(), "io server disconnect");
    assert!(c.is_idle());
    assert!(c.emit(3, "/", p(r#"["x"]"#), PLAIN).is_err());
    // The engine reopening does not bring a server-disconnected namespace back.
    c.handle_engine_closed(4, CloseReason::TransportClose, false);
    c.handle_engine_open(5);
    assert!(transmits(&mut c).is_empty());

    let mut c = connected(Config::default());
    c.emit(1, "/", p(r#"["q"]"#), ACK).unwrap();
    transmits(&mut c);
    c.disconnect("/");
    assert_eq!(transmits(&mut c), ["1"]);
    let evs = events(&mut c);
    assert!(matches!(&evs[0], Event::AckFailed { error, .. } if error.is_abort()));
    assert_eq!(
        evs[1],
        Event::Disconnect {
            nsp: "/".into(),
            reason: DisconnectReason::Client
        }
    );
    // The engine closing for good forgets everything.
    let mut c = connected(Config::default());
    c.handle_engine_closed(1, CloseReason::TransportClose, false);
    c.emit(2, "/", p(r#"["q"]"#), ACK).unwrap();
    c.handle_engine_closed(3, CloseReason::ConnectFailed, true);
    assert!(matches!(
        events(&mut c).last(),
        Some(Event::AckFailed { id: 0, .. })
    ));
    assert!(c.is_idle() && c.buffered() == 0);
}

// --- the whole stack -------------------------------------------------------------------------

#[test]
fn client_over_engine_over_polling_with_binary() {
    let mut engine: Engine = Engine::new(
        "http://localhost:3000/socket.io/",
        engineio::Config {
            transports: vec![Transport::XhrPolling],
            ..engineio::Config::default()
        },
        Box::new(|| 0),
    )
    .unwrap();
    let mut client: Client<Payload> = Client::new(Config::default());
    let mut decoder = Decoder::default();
    client.connect("/", None).unwrap();
    client
        .emit(
            0,
            "/",
            Payload::new(
                ["[\"upload\",", &placeholder(0), "]"].concat(),
                vec![vec![0xde, 0xad]],
            ),
            ACK,
        )
        .unwrap();
    engine.connect(0);
    // The scripted server: each poll answer waits until the server has received the POSTs it
    // answers (the handshake none, the CONNECT answer one, the ack two).
    let mut answers: Vec<(usize, String)> = vec![
        (0, r#"0{"sid":"e1","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#.into()),
        (1, r#"40{"sid":"s1"}"#.into()),
        (2, "430[\"stored\"]\x1e2".into()),
    ];
    answers.reverse();
    let mut posted = Vec::new();
    let mut got = Vec::new();
    let mut pending_poll = None;
    for now in 1..20u64 {
        while let Some(action) = engine.poll_action() {
            match action {
                engineio::Action::Poll { id, .. } => pending_poll = Some(id),
                engineio::Action::Send { id, packets, .. } => {
                    posted.push(engineio::encode_payload(&packets));
                    engine.handle_send_done(now, id, Ok(()));
                }
                _ => {}
            }
        }
        if let (Some(id), Some((needs, _))) = (pending_poll, answers.last()) {
            if posted.len() >= *needs {
                let (_, body) = answers.pop().unwrap();
                pending_poll = None;
                engine.handle_poll_body(now, id, &body);
            }
        }
        while let Some(ev) = engine.poll_event() {
            match ev {
                engineio::Event::Open { .. } => client.handle_engine_open(now),
                engineio::Event::Message(m) => {
                    if let Some(packet) = decoder.decode(m).unwrap() {
                        client.handle_packet(packet);
                    }
                }
                engineio::Event::Disconnected { reason, .. } => {
                    client.handle_engine_closed(now, reason, false)
                }
                _ => {}
            }
        }
        while let Some(out) = client.poll_transmit() {
            for m in encode(&out).unwrap() {
                engine.send(m).unwrap();
            }
        }
        got.extend(std::iter::from_fn(|| client.poll_event()));
    }
    assert_eq!(
        posted,
        [
            "40".to_string(),
            "451-0[\"upload\",{\"_placeholder\":true,\"num\":0}]\x1eb3q0=".to_string(),
            "3".to_string(),
        ]
    );
    assert!(matches!(&got[0], Event::Connect { sid, .. } if sid == "s1"));
    assert!(matches!(&got[1], Event::Ack { id: 0, args, .. } if args.json == r#"["stored"]"#));
}

#[test]
fn every_ack_resolves_exactly_once_under_random_operations() {
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut rand = move |n: u64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % n
    };
    for _round in 0..200 {
        let mut c: Client<Payload> = Client::new(Config {
            max_buffered_packets: 8,
            max_buffered_bytes: 1 << 20,
            ack_timeout_ms: Some(500),
        });
        c.connect("/", None).unwrap();
        c.connect("/b", None).unwrap();
        let mut wanted: Vec<(String, u64)> = Vec::new();
        let mut resolved: Vec<(String, u64)> = Vec::new();
        let mut sent_ids: Vec<(String, u64)> = Vec::new();
        let mut engine_open = false;
        let mut now = 0;
        for _ in 0..300 {
            now += rand(50);
            match rand(10) {
                0 if !engine_open => {
                    engine_open = true;
                    c.handle_engine_open(now);
                }
                1 if engine_open => {
                    engine_open = false;
                    c.handle_engine_closed(now, CloseReason::TransportError, false);
                }
                2 | 3 => {
                    let nsp = if rand(2) == 0 { "/" } else { "/b" };
                    let how = Emit {
                        ack: rand(3) > 0,
                        timeout_ms: None,
                        volatile: rand(5) == 0,
                    };
                    if let Ok(Emitted::Sent(Some(id)) | Emitted::Buffered(Some(id))) =
                        c.emit(now, nsp, p(r#"["e"]"#), how)
                    {
                        wanted.push((nsp.to_owned(), id));
                    }
                }
                4 if !sent_ids.is_empty() => {
                    // The server answers a sent event (sometimes twice, sometimes late).
                    let (nsp, id) = sent_ids[rand(sent_ids.len() as u64) as usize].clone();
                    let args = p("[]");
                    c.handle_packet(Incoming::Ack { nsp, id, args });
                }
                _ => {}
            }
            // The server side: CONNECT answers.
            while let Some(out) = c.poll_transmit() {
                match out {
                    Outgoing::Connect { nsp, .. } => c.handle_packet(Incoming::Connect {
                        nsp,
                        sid: "x".into(),
                        pid: None,
                    }),
                    Outgoing::Event {
                        nsp, id: Some(id), ..
                    } => sent_ids.push((nsp, id)),
                    _ => {}
                }
            }
            if c.poll_timeout().is_some_and(|t| t <= now) {
                c.handle_timeout(now);
            }
            for ev in std::iter::from_fn(|| c.poll_event()) {
                if let Event::Ack { nsp, id, .. } | Event::AckFailed { nsp, id, .. } = ev {
                    assert!(!resolved.contains(&(nsp.clone(), id)), "resolved twice");
                    assert!(wanted.contains(&(nsp.clone(), id)), "never asked");
                    resolved.push((nsp, id));
                }
            }
        }
        // Closing for good resolves whatever is left.
        c.handle_engine_closed(now, CloseReason::Client, true);
        for ev in std::iter::from_fn(|| c.poll_event()) {
            if let Event::Ack { nsp, id, .. } | Event::AckFailed { nsp, id, .. } = ev {
                assert!(!resolved.contains(&(nsp.clone(), id)), "resolved twice");
                resolved.push((nsp, id));
            }
        }
        resolved.sort();
        wanted.sort();
        assert_eq!(resolved, wanted);
        assert_eq!(c.poll_timeout(), None);
    }
}

#[test]
fn event_json_joins_and_split_event_splits_what_the_rust_api_exchanges() {
    // Out: a name and an arguments array become the wire array, whitespace kept inside.
    assert_eq!(event_json("chat", "[]").unwrap(), r#"["chat"]"#);
    assert_eq!(event_json("chat", " [ ] ").unwrap(), r#"["chat"]"#);
    assert_eq!(
        event_json("chat", r#"[1, "two", {"3":[4]}]"#).unwrap(),
        r#"["chat",1, "two", {"3":[4]}]"#
    );
    assert_eq!(event_json("é\"\n", "[null]").unwrap(), r#"["é\"\n",null]"#);
    for bad in ["", "{}", "1", "[1", "[1]]", "[1] x", "\"[]\"", "[01]"] {
        let e = event_json("chat", bad).unwrap_err();
        assert!(e.is_invalid(), "{bad:?}: {e:?}");
    }
    assert!(event_json("", "[]").unwrap_err().is_invalid());
    for name in [
        "connect",
        "connect_error",
        "disconnect",
        "disconnecting",
        "newListener",
        "removeListener",
    ] {
        let e = event_json(name, "[]").unwrap_err();
        assert!(e.message().contains(name), "{e:?}");
    }
    // In: the name (a number name as text) and the rest as sent.
    assert_eq!(
        split_event(r#"["chat"]"#).unwrap(),
        ("chat".into(), "[]".into())
    );
    assert_eq!(
        split_event(r#"[ "chat" , 1 ,"x" ] "#).unwrap(),
        ("chat".into(), r#"[ 1 ,"x" ]"#.into())
    );
    assert_eq!(
        split_event(r#"["a\u00e9\"",{"_placeholder":true,"num":0}]"#).unwrap(),
        ("aé\"".into(), r#"[{"_placeholder":true,"num":0}]"#.into())
    );
    assert_eq!(
        split_event("[42,true]").unwrap(),
        ("42".into(), "[true]".into())
    );
    for bad in [
        "", "[]", "[1.5]", "[null]", "{}", "[\"a\",]", "[\"a\"", "[\"a\"]x",
    ] {
        assert!(split_event(bad).unwrap_err().is_protocol(), "{bad:?}");
    }
    // Round trip.
    let (name, rest) = split_event(&event_json("ev", r#"[1,[2],"3"]"#).unwrap()).unwrap();
    assert_eq!((name.as_str(), rest.as_str()), ("ev", r#"[1,[2],"3"]"#));
    // Auth and ack arguments.
    assert!(check_object(r#" {"token":"x"} "#).is_ok());
    for bad in ["", "[]", "{", "{} {}", "\"{}\""] {
        assert!(check_object(bad).unwrap_err().is_invalid(), "{bad:?}");
    }
    assert!(check_array(" [1, {}] ").is_ok());
    for bad in ["", "{}", "[", "[] []", "\"[]\""] {
        assert!(check_array(bad).unwrap_err().is_invalid(), "{bad:?}");
    }
}
