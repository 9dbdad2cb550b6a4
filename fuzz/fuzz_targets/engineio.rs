//! What an Engine.IO / Socket.IO client reads from the network: Engine.IO packets, polling
//! payloads, `b` base64 messages, the handshake, JSONP answers, and Socket.IO packet headers,
//! packets and binary reassembly. The input is up to four `0xFF`-separated strings: the first
//! is read by every parser, all of them go through one Socket.IO `Decoder` in order (a piece
//! starting with `\x00` as binary).
//!
//! Properties besides "no panic": a decoded packet or payload encodes to text that decodes to
//! the same; base64 round-trips any bytes and decodes only what re-encodes the same way; an
//! encoded Socket.IO header parses back to itself and is consumed whole; every failure is a
//! protocol error with a message.
#![no_main]

use cometkit_fuzz::{all_fields, text};
use cometkit_protocol::engineio::{self, Data, Handshake};
use cometkit_protocol::socketio::{self, Decoder};
use cometkit_protocol::{Error, ErrorKind};
use libfuzzer_sys::fuzz_target;

fn protocol_error(e: &Error) {
    assert_eq!(e.kind(), ErrorKind::Protocol, "{e}");
    assert!(!e.message().is_empty());
}

fuzz_target!(|data: &[u8]| {
    let pieces = all_fields(data, 4);
    let body = pieces.first().cloned().unwrap_or_else(|| text(data));

    match engineio::decode_packet(&body) {
        Ok(packet) => {
            let mut again = String::new();
            engineio::encode_packet(&packet, &mut again);
            assert_eq!(engineio::decode_packet(&again).as_ref(), Ok(&packet));
        }
        Err(e) => protocol_error(&e),
    }
    match engineio::decode_payload(&body) {
        Ok(packets) => {
            let again = engineio::encode_payload(&packets);
            assert_eq!(engineio::decode_payload(&again), Ok(packets));
        }
        Err(e) => protocol_error(&e),
    }

    let mut b64 = String::new();
    engineio::base64_encode(data, &mut b64);
    assert_eq!(b64.len(), engineio::base64_len(data.len()));
    assert_eq!(engineio::base64_decode(&b64).as_deref(), Ok(data));
    match engineio::base64_decode(&body) {
        Ok(bytes) => {
            let mut again = String::new();
            engineio::base64_encode(&bytes, &mut again);
            assert_eq!(engineio::base64_decode(&again), Ok(bytes));
        }
        Err(e) => protocol_error(&e),
    }

    if let Err(e) = Handshake::parse(&body) {
        protocol_error(&e);
    }
    if let Err(e) = engineio::jsonp_response_payload(&body, data.len() as u32 % 3) {
        protocol_error(&e);
    }
    let _ = engineio::jsonp_post_body(&body);

    match socketio::parse_header(&body) {
        Ok((header, start)) => {
            assert!(start <= body.len() && body.is_char_boundary(start));
            let mut encoded = String::new();
            header.encode(&mut encoded);
            let (again, end) = socketio::parse_header(&encoded).expect("an encoded header parses");
            assert_eq!(again, header);
            assert_eq!(end, encoded.len());
        }
        Err(e) => protocol_error(&e),
    }
    if let Err(e) = socketio::decode(&body) {
        protocol_error(&e);
    }
    let mut decoder = Decoder::default();
    for piece in &pieces {
        let message = match piece.strip_prefix('\0') {
            Some(rest) => Data::Binary(rest.as_bytes().to_vec()),
            None => Data::Text(piece.clone()),
        };
        if let Err(e) = decoder.decode(message) {
            protocol_error(&e);
        }
    }
});
