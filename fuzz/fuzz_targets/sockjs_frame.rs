//! What a SockJS client reads from the server: frames (`decode_frame`), the xhr-streaming and
//! xhr-polling response text (`XhrStreamReader`), EventSource event data (`eventsource_frame`)
//! and JSONP response bodies (`jsonp_body_frame`).
//!
//! The first byte picks the parser:
//! 0. `decode_frame(text)`; a decoded frame, encoded again by the server's encoder, decodes
//!    to the same frame.
//! 1. `XhrStreamReader` over a response text that grows at each `0xFF` of the input; the frames
//!    it returns equal those of an independent line splitter over the final text.
//! 2. `eventsource_frame(text)`; the server's percent-escaping of any text comes back intact.
//! 3. `jsonp_body_frame(body, callback)` (`callback 0xFF body`); a frame read out of a body,
//!    written again by the server's JSONP framing, reads the same.
#![no_main]

use cometkit_fuzz::{fields, text};
use cometkit_protocol::sockjs::{
    decode_frame, encode_close_frame, encode_message_frame, eventsource_frame, jsonp_body_frame,
    quote_server_into, Frame, XhrStreamReader,
};
use cometkit_protocol::ErrorKind;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    match mode % 4 {
        0 => frame(&text(rest)),
        1 => xhr_stream(rest),
        2 => eventsource(&text(rest)),
        _ => {
            let f = fields(rest, 2);
            jsonp(&f[1], &f[0]);
        }
    }
});

fn frame(s: &str) {
    match decode_frame(s) {
        Ok(Frame::Open) => assert_eq!(s, "o"),
        Ok(Frame::Heartbeat) => assert_eq!(s, "h"),
        Ok(Frame::Messages(messages)) => {
            let again = encode_message_frame(&messages);
            assert_eq!(decode_frame(&again).ok(), Some(Frame::Messages(messages)));
        }
        Ok(Frame::Close { code, reason }) => {
            let again = encode_close_frame(code, &reason);
            assert_eq!(
                decode_frame(&again).ok(),
                Some(Frame::Close { code, reason })
            );
        }
        // The resume extension's frames (the `resume` target checks them in depth).
        Ok(Frame::Resumed { token, ack }) => {
            let again = cometkit_protocol::resume::encode_resumed_frame(&token, ack);
            assert_eq!(decode_frame(&again).ok(), Some(Frame::Resumed { token, ack }));
        }
        Ok(Frame::Numbered(n)) => {
            let again = cometkit_protocol::resume::encode_data_frame(n.ack, n.seq, &n.messages);
            assert_eq!(decode_frame(&again).ok(), Some(Frame::Numbered(n)));
        }
        Err(e) => {
            assert_eq!(e.kind(), ErrorKind::Protocol);
            assert!(!e.message().is_empty());
        }
    }
}

/// The frames of a complete response text, by the rules `XhrStreamReader` documents, written
/// independently: `\n`-terminated lines, empty ones skipped, and a first line of two or more
/// `h` (the streaming prelude) skipped.
fn expected_frames(text: &str) -> Vec<&str> {
    let mut lines: Vec<&str> = text.split('\n').collect();
    lines.pop(); // the unterminated tail (empty when the text ends with `\n`)
    let mut out = Vec::new();
    for (i, line) in lines.into_iter().enumerate() {
        let prelude = i == 0 && line.len() > 1 && line.chars().all(|c| c == 'h');
        if !line.is_empty() && !prelude {
            out.push(line);
        }
    }
    out
}

fn xhr_stream(data: &[u8]) {
    // The response text as it grows: each 0xFF-separated piece is one `progress` event.
    let mut response = String::new();
    let mut reader = XhrStreamReader::new();
    let mut got: Vec<String> = Vec::new();
    let drain = |reader: &mut XhrStreamReader, response: &str, got: &mut Vec<String>| {
        while let Some(frame) = reader.next_frame(response) {
            assert!(!frame.contains('\n'));
            let _ = decode_frame(frame);
            got.push(frame.to_owned());
        }
        assert!(reader.consumed() <= response.len());
    };
    for piece in data.split(|&b| b == 0xFF) {
        response.push_str(&text(piece));
        drain(&mut reader, &response, &mut got);
    }
    // A second call without new text finds nothing.
    assert_eq!(reader.next_frame(&response), None);
    assert_eq!(got, expected_frames(&response));
    // The same text in one piece gives the same frames.
    let mut once = XhrStreamReader::new();
    let mut all = Vec::new();
    drain(&mut once, &response, &mut all);
    assert_eq!(all, got);
    assert_eq!(once.consumed(), reader.consumed());
    once.reset();
    assert_eq!(once.consumed(), 0);
}

/// The server's EventSource escaping (cometkit-server's `Kind::EventSource`, like sockjs-node).
fn server_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '%' => out.push_str("%25"),
            '\r' => out.push_str("%0D"),
            '\n' => out.push_str("%0A"),
            '\0' => out.push_str("%00"),
            c => out.push(c),
        }
    }
    out
}

fn eventsource(s: &str) {
    let decoded = eventsource_frame(s);
    if !s.contains('%') {
        assert_eq!(decoded, s);
    }
    assert!(decoded.len() <= s.len());
    let _ = decode_frame(&decoded);
    assert_eq!(eventsource_frame(&server_escape(s)), s);
}

fn jsonp(body: &str, callback: &str) {
    let Ok(frame) = jsonp_body_frame(body, callback) else {
        return;
    };
    let _ = decode_frame(&frame);
    // What the server writes for this frame (`/**/cb("<frame>");` + CRLF) reads the same.
    let mut again = ["/**/", callback, "("].concat();
    quote_server_into(&mut again, &frame);
    again.push_str(");\r\n");
    assert_eq!(
        jsonp_body_frame(&again, callback).ok().as_deref(),
        Some(&*frame)
    );
}
