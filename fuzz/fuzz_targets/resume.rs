//! cometkit's resume extension: what either side reads from the other.
//!
//! The first byte picks the input:
//! 0. a client payload (`resume::decode_payload`, the server's request bodies); a decoded one,
//!    encoded again by the client's encoder, decodes the same.
//! 1. a receiving request's query (`resume::parse_query`); a parsed take-back, written again
//!    by `resume_query`, parses the same.
//! 2. a server control frame (`q...` or `r...` through `sockjs::decode_frame`); a decoded one,
//!    written again by the server's encoders, decodes the same.
//! 3. the server's session machine (`server::ServerSession`, resumable, small bounds) driven by
//!    a script of attaches, pulls, detaches, client payloads (fuzzer text), sends, closes and
//!    timeouts: it never panics, its buffer never exceeds its bounds, and the application gets
//!    exactly as many messages as the session says it received.
//! 4. the client's session machine (`session::Session`, the server offering the extension) fed
//!    fuzzer frames, sends, send results and timeouts: it never panics and its queue never
//!    exceeds its bounds.
#![no_main]

use cometkit_fuzz::{all_fields, text, Bytes};
use cometkit_protocol::ladder::{Capabilities, TransportKind};
use cometkit_protocol::resume::{self, Numbered, Request};
use cometkit_protocol::server::{self, Detach, ServerSession};
use cometkit_protocol::session::{Action, Config, Session};
use cometkit_protocol::sockjs::{decode_frame, Frame};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    match mode % 5 {
        0 => payload(&text(rest)),
        1 => query(&text(rest)),
        2 => control_frame(rest),
        3 => server_machine(rest),
        _ => client_machine(rest),
    }
});

fn payload(s: &str) {
    if let Ok(n) = resume::decode_payload(s) {
        let again = resume::encode_payload(n.ack, n.seq, &n.messages);
        assert_eq!(resume::decode_payload(&again), Ok(n));
    }
}

fn query(s: &str) {
    match resume::parse_query(s) {
        Some(Ok(Request::Resume { token, ack })) => {
            assert!(resume::is_token(&token));
            let again = resume::resume_query(&token, ack);
            assert_eq!(
                resume::parse_query(&again),
                Some(Ok(Request::Resume { token, ack }))
            );
        }
        Some(Ok(Request::New)) | Some(Err(_)) | None => {}
    }
}

fn control_frame(rest: &[u8]) {
    let Some((&kind, body)) = rest.split_first() else {
        return;
    };
    let frame = [if kind % 2 == 0 { "q" } else { "r" }, &text(body)].concat();
    match decode_frame(&frame) {
        Ok(Frame::Numbered(Numbered { ack, seq, messages })) => {
            let again = resume::encode_data_frame(ack, seq, &messages);
            let back = decode_frame(&again).ok();
            let seq = if messages.is_empty() { 0 } else { seq };
            assert_eq!(back, Some(Frame::Numbered(Numbered { ack, seq, messages })));
        }
        Ok(Frame::Resumed { token, ack }) => {
            let again = resume::encode_resumed_frame(&token, ack);
            assert_eq!(decode_frame(&again).ok(), Some(Frame::Resumed { token, ack }));
        }
        Ok(other) => panic!("{frame:?} decoded as {other:?}"),
        Err(_) => {}
    }
}

fn server_machine(rest: &[u8]) {
    let bounds = server::ResumeConfig {
        grace_ms: 1_000,
        max_messages: 8,
        max_bytes: 64,
        ack_delay_ms: 5,
    };
    let config = server::Config::http(500).with_resume(bounds);
    let mut s = ServerSession::new(0, config, Some("tok".into()));
    // The script's bytes, then the payloads' texts after a 0xFF.
    let (script, texts) = match rest.iter().position(|&b| b == 0xFF) {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, &[][..]),
    };
    let texts = all_fields(texts, 64);
    let mut texts = texts.iter();
    let mut b = Bytes::new(script);
    let mut now = 0u64;
    let mut rid = None;
    let mut delivered = 0u64;
    for _ in 0..script.len().min(256) {
        now += u64::from(b.u8() % 50);
        match b.u8() % 9 {
            0 => rid = s.attach(now, None).ok().or(rid),
            1 => rid = s.attach(now, Some(u64::from(b.u8()))).ok().or(rid),
            2 => rid = s.attach_next(now, u64::from(b.u8())).ok().or(rid),
            3 | 4 => {
                if let Some(r) = rid {
                    let _ = s.pull(now, r);
                }
            }
            5 => {
                if let Some(r) = rid.take() {
                    let how = if b.u8() % 2 == 0 { Detach::Finished } else { Detach::Aborted };
                    s.detach(now, r, how);
                }
            }
            6 => {
                let payload = texts.next().map_or("", String::as_str);
                if let Ok(messages) = s.receive(now, payload, b.u8() % 2 == 0) {
                    delivered += messages.len() as u64;
                }
            }
            7 => {
                let _ = s.send("m".repeat(usize::from(b.u8() % 20)));
            }
            _ => {
                if b.u8() % 8 == 0 {
                    s.close(3000, "bye");
                }
                s.handle_timeout(now);
            }
        }
        assert!(s.buffered_bytes() <= 64, "server buffer over its bound");
        assert_eq!(s.received(), delivered, "application messages != received sequence");
    }
}

fn client_machine(rest: &[u8]) {
    let mut config = Config::new(Capabilities::modern(true, true));
    config.transports = vec![TransportKind::XhrPolling];
    config.max_queued_messages = 8;
    config.max_queued_bytes = 64;
    let mut seed = 1u32;
    let random = Box::new(move || {
        seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        seed
    });
    let Ok(mut s) = Session::<String>::new("http://h/echo", config, random) else {
        return;
    };
    let frames = all_fields(rest, 64);
    let mut now = 0u64;
    s.connect(now);
    let mut transport = None;
    for (i, frame) in frames.iter().enumerate() {
        now += 7;
        while let Some(action) = s.poll_action() {
            match action {
                Action::FetchInfo { id, .. } => s.handle_info(
                    now,
                    id,
                    r#"{"websocket":false,"cookie_needed":false,"resume":1}"#,
                ),
                Action::OpenTransport { id, .. } => transport = Some(id),
                Action::Send { id, .. } => s.handle_send_done(now, id, i % 3 != 0),
                _ => {}
            }
        }
        if let Some(id) = transport {
            let _ = s.receive_url(id);
            s.handle_text(now, id, frame);
        }
        let _ = s.send(frame.chars().take(16).collect());
        if i % 5 == 4 {
            s.handle_timeout(now + 200);
        }
        while s.poll_event().is_some() {}
        assert!(s.buffered_amount() <= 64, "client queue over its bound");
    }
}
